"""When each batch is due: absolute deadlines on the monotonic clock.

Every deadline is computed from the start of the run, never by adding up
waits, so the small lateness of one batch does not push back the next ones.
A pause moves the whole schedule on by its length.

The pace comes in stages (one open-ended stage unless `replay.stages` is
given). Within a stage a batch is due after the stage's start by its count of
batches times the delay, its data time over the speed, or the records sent
before it over the rate. A batch that would be due after its stage ends opens
the next stage and goes out at that stage's start.
"""

from runner.scenario import Replay, Stage


class Schedule:
    """Deadlines by fixed delay, multiple of recorded pace, or records per second."""

    def __init__(self, replay: Replay, start: float) -> None:
        self._stages = replay.paces
        self._max_gap = replay.max_gap
        self._anchor = start
        self._index = 0
        # Where the current stage began: wall offset, batch, data time, records.
        self._stage_wall = 0.0
        self._stage_position = 0
        self._stage_ns: int | None = None
        self._stage_records = 0
        self._previous_ns: int | None = None
        self._skipped = 0.0  # wait taken out of the current stage by max_gap

    @property
    def stage(self) -> Stage:
        return self._stages[min(self._index, len(self._stages) - 1)]

    def shift(self, seconds: float) -> None:
        """Move every later deadline on, for example by the length of a pause."""
        self._anchor += seconds

    def due(self, position: int, data_ns: int, records_before: int = 0) -> float | None:
        """The deadline of the batch at `position` (from 0); None past the last stage.

        `data_ns` is the batch's data time and `records_before` the records
        sent before it. Call it once per batch, in order: max_gap is applied
        gap by gap.
        """
        if self._stage_ns is None:
            self._stage_ns = data_ns
        if self._previous_ns is not None and self._max_gap is not None:
            speed = self.stage.speed
            if speed is not None:
                gap = (data_ns - self._previous_ns) / 1e9 / speed
                self._skipped += max(0.0, gap - self._max_gap)
        self._previous_ns = data_ns

        while True:
            offset = self._offset(position, data_ns, records_before)
            if offset < self._stage_wall + self.stage.duration:
                return self._anchor + offset
            if self._index + 1 >= len(self._stages):
                return None
            self._next_stage(position, data_ns, records_before)

    def record_due(self, records_before: int) -> float | None:
        """In a rate stage, when the record after `records_before` records is due."""
        rate = self.stage.rate
        if rate is None:
            return None
        return (
            self._anchor
            + self._stage_wall
            + (records_before - self._stage_records) / rate
        )

    def _offset(self, position: int, data_ns: int, records_before: int) -> float:
        stage = self.stage
        if stage.delay is not None:
            return self._stage_wall + (position - self._stage_position) * stage.delay
        if stage.rate is not None:
            return (
                self._stage_wall + (records_before - self._stage_records) / stage.rate
            )
        assert stage.speed is not None and self._stage_ns is not None
        elapsed = (data_ns - self._stage_ns) / 1e9 / stage.speed
        return self._stage_wall + elapsed - self._skipped

    def _next_stage(self, position: int, data_ns: int, records_before: int) -> None:
        self._stage_wall += self.stage.duration
        self._index += 1
        self._stage_position = position
        self._stage_ns = data_ns
        self._stage_records = records_before
        self._skipped = 0.0
