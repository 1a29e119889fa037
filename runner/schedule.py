"""When each batch is due: absolute deadlines on the monotonic clock.

Every deadline is computed from the start of the run, never by adding up
waits, so the small lateness of one batch does not push back the next ones.
A pause moves the whole schedule on by its length.
"""

from runner.scenario import Replay


class Schedule:
    """Deadlines for a fixed delay between batches, or a multiple of recorded pace."""

    def __init__(self, replay: Replay, start: float) -> None:
        self._delay = replay.pace_delay
        self._speed = replay.speed or 1.0
        self._max_gap = replay.max_gap
        self._anchor = start
        self._first_ns: int | None = None
        self._previous_ns: int | None = None
        self._skipped = 0.0  # wait taken out of the schedule by max_gap

    def shift(self, seconds: float) -> None:
        """Move every later deadline on, for example by the length of a pause."""
        self._anchor += seconds

    def due(self, position: int, data_ns: int) -> float:
        """The deadline of the batch at `position` (from 0) with data time `data_ns`.

        Call it once per batch, in order: max_gap is applied gap by gap.
        """
        if self._delay is not None:
            return self._anchor + position * self._delay

        if self._first_ns is None:
            self._first_ns = data_ns
        if self._previous_ns is not None and self._max_gap is not None:
            gap = (data_ns - self._previous_ns) / 1e9 / self._speed
            self._skipped += max(0.0, gap - self._max_gap)
        self._previous_ns = data_ns
        return (
            self._anchor
            + (data_ns - self._first_ns) / 1e9 / self._speed
            - (self._skipped)
        )
