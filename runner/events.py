"""What a replay tells its listeners (telemetry, progress); listeners never steer it."""

from dataclasses import dataclass

from runner.source import Recording

Headers = list[tuple[str, str | bytes | None]]
"""Kafka headers as the client takes them: (name, value) pairs."""


@dataclass(frozen=True)
class BatchInfo:
    """One batch on its way: where it sits in the run and what it carries."""

    scenario: str
    topic: str
    loop: int  # from 1
    index: int  # within the loop, from 0
    position: int  # within the run, from 0
    data_ns: int  # the batch's interval start, after any shift
    records: int
    messages: int
    batches_per_loop: int

    @property
    def progress(self) -> float:
        """Fraction of the current loop done once this batch is sent, 0 to 1."""
        if not self.batches_per_loop:
            return 1.0
        return (self.index + 1) / self.batches_per_loop


@dataclass(frozen=True)
class Acknowledged:
    """The delivery reports of every message of a batch have arrived."""

    delivered_records: int
    failed_records: int
    partitions: tuple[int, ...]
    latency_s: float  # from the first produce call to the last report
    error: str | None


class Listener:
    """Receives the replay's events; every method does nothing unless overridden.

    `batch_acknowledged` runs on the delivery thread, `paused` on the thread
    that paused or resumed the run (see `Control.on_pause`), the others on the
    replay's thread.
    """

    def run_started(self, recording: Recording, loops: int | None) -> None:
        """The recording is scanned and the broker answers; `loops` None = forever."""

    def batch_headers(self, batch: BatchInfo) -> Headers:
        """Extra headers for the messages of this batch (trace context)."""
        return []

    def batch_sent(self, batch: BatchInfo, lateness_s: float, produce_s: float) -> None:
        """Every message of the batch was handed to the producer."""

    def batch_acknowledged(self, batch: BatchInfo, outcome: Acknowledged) -> None:
        """The broker acknowledged (or refused) every message of the batch."""

    def paused(self, is_paused: bool) -> None:
        """The replay was paused or resumed."""

    def waiting(self, batch: BatchInfo, seconds: float) -> None:
        """The next batch is due in `seconds`, a long wait worth showing."""

    def run_finished(self) -> None:
        """The run ended and was flushed; flush what the listener holds."""


class Listeners(Listener):
    """Fans every event out to several listeners, in order."""

    def __init__(self, *listeners: Listener) -> None:
        self._listeners = listeners

    def run_started(self, recording: Recording, loops: int | None) -> None:
        for listener in self._listeners:
            listener.run_started(recording, loops)

    def batch_headers(self, batch: BatchInfo) -> Headers:
        return [
            h for listener in self._listeners for h in listener.batch_headers(batch)
        ]

    def batch_sent(self, batch: BatchInfo, lateness_s: float, produce_s: float) -> None:
        for listener in self._listeners:
            listener.batch_sent(batch, lateness_s, produce_s)

    def batch_acknowledged(self, batch: BatchInfo, outcome: Acknowledged) -> None:
        for listener in self._listeners:
            listener.batch_acknowledged(batch, outcome)

    def paused(self, is_paused: bool) -> None:
        for listener in self._listeners:
            listener.paused(is_paused)

    def waiting(self, batch: BatchInfo, seconds: float) -> None:
        for listener in self._listeners:
            listener.waiting(batch, seconds)

    def run_finished(self) -> None:
        for listener in self._listeners:
            listener.run_finished()
