"""What a run measured: lateness and delivery latency percentiles, errors by kind.

Memory stays the same however long the run: values go into a histogram of
logarithmic buckets, each 2 % wider than the one before, so a percentile is
known to within about 1 %; the maximum is kept exactly.
"""

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from runner.events import Acknowledged, BatchInfo, Listener
from runner.scenario import Scenario
from runner.source import Recording

_SMALLEST_S = 1e-6  # below one microsecond every value shares the first bucket
_LARGEST_S = 86_400.0  # a day; longer values share the last bucket
_GROWTH = 1.02  # each bucket is 2 % wider than the one before: about 1 % error
_LOG_GROWTH = math.log(_GROWTH)
_BUCKETS = math.ceil(math.log(_LARGEST_S / _SMALLEST_S) / _LOG_GROWTH) + 2

# librdkafka's text of the errors a delivery report or a refused produce
# carries, and the name of its code. Only the Kafka module may import the
# client, and the report names errors by code: this table is checked against
# the client by the tests. An error not in it is counted under its text.
ERROR_CODES = {
    "Local: Message timed out": "_MSG_TIMED_OUT",
    "Local: Purged in queue": "_PURGE_QUEUE",
    "Local: Purged in flight": "_PURGE_INFLIGHT",
    "Local: Unknown topic": "_UNKNOWN_TOPIC",
    "Local: Unknown partition": "_UNKNOWN_PARTITION",
    "Local: Broker transport failure": "_TRANSPORT",
    "Local: All broker connections are down": "_ALL_BROKERS_DOWN",
    "Local: Queue full": "_QUEUE_FULL",
    "Local: Bad message format": "_BAD_MSG",
    "Local: Invalid argument or configuration": "_INVALID_ARG",
    "Local: Fatal error": "_FATAL",
    "Local: Timed out": "_TIMED_OUT",
    "Local: Broker handle destroyed for termination": "_DESTROY",
    "Broker: Message size too large": "MSG_SIZE_TOO_LARGE",
    "Broker: Invalid message": "INVALID_MSG",
    "Broker: Invalid message size": "INVALID_MSG_SIZE",
    "Broker: Unknown topic or partition": "UNKNOWN_TOPIC_OR_PART",
    "Broker: Not leader for partition": "NOT_LEADER_FOR_PARTITION",
    "Broker: Request timed out": "REQUEST_TIMED_OUT",
    "Broker: Message batch larger than configured server segment size": (
        "RECORD_LIST_TOO_LARGE"
    ),
    "Broker: Not enough in-sync replicas": "NOT_ENOUGH_REPLICAS",
    "Broker: Message(s) written to insufficient number of in-sync replicas": (
        "NOT_ENOUGH_REPLICAS_AFTER_APPEND"
    ),
    "Broker: Invalid required acks value": "INVALID_REQUIRED_ACKS",
    "Broker: Topic authorization failed": "TOPIC_AUTHORIZATION_FAILED",
    "Broker: Cluster authorization failed": "CLUSTER_AUTHORIZATION_FAILED",
    "Broker: Invalid timestamp": "INVALID_TIMESTAMP",
    "Broker: Policy violation": "POLICY_VIOLATION",
    "Broker: Broker received an out of order sequence number": (
        "OUT_OF_ORDER_SEQUENCE_NUMBER"
    ),
    "Broker: Broker received a duplicate sequence number": (
        "DUPLICATE_SEQUENCE_NUMBER"
    ),
    "Broker: Producer attempted an operation with an old epoch": (
        "INVALID_PRODUCER_EPOCH"
    ),
    "Broker: Disk error when trying to access log file on disk": (
        "KAFKA_STORAGE_ERROR"
    ),
    "Broker: Broker failed to validate record": "INVALID_RECORD",
}


def error_kind(text: str) -> str:
    """The librdkafka code name of a delivery error's text, or the text itself."""
    if text in ERROR_CODES:
        return ERROR_CODES[text]
    # A message the client refuses outright says so before the error's text:
    # "Unable to produce message: Broker: Message size too large".
    for known, code in ERROR_CODES.items():
        if text.endswith(f": {known}"):
            return code
    return text


@dataclass(frozen=True)
class Percentiles:
    """Percentiles of a set of durations, in seconds; None when nothing was seen."""

    count: int
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None


class Histogram:
    """Counts of non-negative values in logarithmic buckets; fixed size, not locked."""

    def __init__(self) -> None:
        self._counts = [0] * _BUCKETS
        self.count = 0
        self.min = math.inf
        self.max = 0.0

    def add(self, value: float) -> None:
        value = max(value, 0.0)
        self._counts[_bucket(value)] += 1
        self.count += 1
        self.min = min(self.min, value)
        self.max = max(self.max, value)

    def percentile(self, fraction: float) -> float | None:
        """The value at `fraction` (0 to 1) of the ordered values, nearest rank."""
        if not self.count:
            return None
        if fraction >= 1:
            return self.max
        rank = max(1, math.ceil(fraction * self.count))
        seen = 0
        for index, count in enumerate(self._counts):
            seen += count
            if seen >= rank:
                # Within the bucket nothing is known but its bounds and the
                # extremes seen: its middle, kept inside them.
                return min(max(_middle(index), self.min), self.max)
        return self.max

    def percentiles(self) -> Percentiles:
        return Percentiles(
            count=self.count,
            p50=self.percentile(0.50),
            p95=self.percentile(0.95),
            p99=self.percentile(0.99),
            max=self.max if self.count else None,
        )


def _bucket(value: float) -> int:
    if value < _SMALLEST_S:
        return 0
    index = 1 + int(math.log(value / _SMALLEST_S) / _LOG_GROWTH)
    return min(index, _BUCKETS - 1)


def _middle(index: int) -> float:
    if index == 0:
        return 0.0
    low = _SMALLEST_S * _GROWTH ** (index - 1)
    return low * math.sqrt(_GROWTH)


@dataclass(frozen=True)
class Measured:
    """What the stats of one scenario saw, at the end of its run."""

    delivery_latency: Percentiles
    lateness: Percentiles
    errors: dict[str, int] = field(default_factory=dict)
    requested_rate: float | None = None  # records per second; None = no pace


class Stats(Listener):
    """Listens to one scenario's replay and measures it; safe on any thread.

    The requested rate comes from the schedule itself, whatever the pace: a
    batch's deadline is when it was sent less its lateness, and the rate asked
    for is the records of the batches due from the first deadline up to (not
    including) the last, over the time between the two. A run stopped early
    is measured over the part it played.
    """

    def __init__(
        self, scenario: Scenario, clock: Callable[[], float] = time.monotonic
    ) -> None:
        # A delay of 0 asks for no rate at all: as fast as the broker takes it.
        self._unpaced = scenario.replay.pace_delay == 0
        self._clock = clock
        self._lock = threading.Lock()
        self._latency = Histogram()
        self._lateness = Histogram()
        self._errors: dict[str, int] = {}
        self._first_due: float | None = None
        self._last_due = 0.0
        self._last_records = 0
        self._records_between = 0  # records due from the first deadline to the last

    def run_started(self, recording: Recording, loops: int | None) -> None:
        with self._lock:
            self._first_due = None
            self._records_between = 0

    def batch_sent(self, batch: BatchInfo, lateness_s: float, produce_s: float) -> None:
        due = self._clock() - produce_s - lateness_s
        with self._lock:
            self._lateness.add(lateness_s)
            if self._first_due is None:
                self._first_due = due
            else:
                self._records_between += self._last_records
            self._last_due = due
            self._last_records = batch.records

    def batch_acknowledged(self, batch: BatchInfo, outcome: Acknowledged) -> None:
        with self._lock:
            self._latency.add(outcome.latency_s)
            if outcome.failed_records:
                kind = error_kind(outcome.error or "unknown")
                self._errors[kind] = self._errors.get(kind, 0) + outcome.failed_records

    def measured(self) -> Measured:
        """Percentiles, errors and the requested rate so far."""
        with self._lock:
            return Measured(
                delivery_latency=self._latency.percentiles(),
                lateness=self._lateness.percentiles(),
                errors=dict(sorted(self._errors.items())),
                requested_rate=self._requested_rate(),
            )

    def _requested_rate(self) -> float | None:
        if self._unpaced or self._first_due is None:
            return None
        span = self._last_due - self._first_due
        # Less than a millisecond between deadlines is a single batch, or
        # deadlines that only differ by the time spent encoding.
        if span < 1e-3:
            return None
        return self._records_between / span
