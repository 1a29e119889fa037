"""Run statistics: percentiles within 1 %, bounded memory, errors by code, rate."""

import random
import threading
import tracemalloc
from typing import Any

import pytest
from confluent_kafka import KafkaError

from runner.events import Acknowledged, BatchInfo
from runner.scenario import Scenario
from runner.stats import ERROR_CODES, Histogram, Stats, error_kind
from tests.helpers import base_scenario


def scenario(**replay: Any) -> Scenario:
    data = base_scenario()
    data["replay"] = replay
    return Scenario.model_validate(data)


def batch(position: int, records: int = 10) -> BatchInfo:
    return BatchInfo(
        scenario="demo-payments",
        topic="payments.replay",
        loop=1,
        index=position,
        position=position,
        data_ns=position * 60_000_000_000,
        records=records,
        messages=1,
        batches_per_loop=1000,
    )


def acknowledged(
    latency_s: float, failed: int = 0, error: str | None = None
) -> Acknowledged:
    return Acknowledged(
        delivered_records=10 - failed,
        failed_records=failed,
        partitions=(0,),
        latency_s=latency_s,
        error=error,
    )


def exact(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


@pytest.mark.parametrize("fraction", [0.5, 0.95, 0.99])
def test_percentiles_are_within_one_percent_of_the_exact_ones(fraction: float) -> None:
    generator = random.Random(7)
    values = [generator.lognormvariate(-5, 1.5) for _ in range(50_000)]
    histogram = Histogram()
    for value in values:
        histogram.add(value)

    found = histogram.percentile(fraction)

    assert found is not None
    assert found == pytest.approx(exact(values, fraction), rel=0.011)


def test_the_maximum_and_the_count_are_exact() -> None:
    histogram = Histogram()
    for value in (0.0042, 0.0001, 3.25, 0.5):
        histogram.add(value)

    summary = histogram.percentiles()

    assert summary.max == 3.25
    assert summary.count == 4
    assert histogram.percentile(1.0) == 3.25


def test_a_constant_value_comes_back_as_itself() -> None:
    histogram = Histogram()
    for _ in range(100):
        histogram.add(0.000_000_5)  # below the first bucket's bound
    for fraction in (0.5, 0.99):
        assert histogram.percentile(fraction) == 0.000_000_5


def test_nothing_seen_has_no_percentiles() -> None:
    summary = Histogram().percentiles()

    assert summary.count == 0
    assert (summary.p50, summary.p95, summary.p99, summary.max) == (None,) * 4


def test_memory_does_not_grow_with_the_number_of_batches() -> None:
    stats = Stats(scenario(delay="10ms"))
    generator = random.Random(3)

    def feed(count: int, start: int) -> None:
        for position in range(start, start + count):
            stats.batch_sent(batch(position), generator.random() / 100, 0.0001)
            stats.batch_acknowledged(batch(position), acknowledged(generator.random()))

    feed(2_000, 0)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        feed(20_000, 2_000)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()

    assert after - before < 64_000
    assert stats.measured().delivery_latency.count == 22_000


def test_errors_are_counted_by_librdkafka_code_in_records() -> None:
    stats = Stats(scenario())
    reports = [
        acknowledged(0.01, failed=4, error="Local: Message timed out"),
        acknowledged(0.01, failed=6, error="Local: Message timed out"),
        acknowledged(
            0.0,
            failed=10,
            error="Unable to produce message: Broker: Message size too large",
        ),
        acknowledged(0.02, failed=1, error="Something no table knows"),
        acknowledged(0.02),
    ]
    for position, report in enumerate(reports):
        stats.batch_acknowledged(batch(position), report)

    assert stats.measured().errors == {
        "MSG_SIZE_TOO_LARGE": 10,
        "Something no table knows": 1,
        "_MSG_TIMED_OUT": 10,
    }


@pytest.mark.parametrize(("text", "code"), sorted(ERROR_CODES.items()))
def test_every_known_error_text_is_the_clients_text_of_its_code(
    text: str, code: str
) -> None:
    error = KafkaError(getattr(KafkaError, code))

    assert error.str() == text
    assert error.name() == code
    assert error_kind(text) == code


def test_delivery_reports_from_several_threads_are_all_counted() -> None:
    stats = Stats(scenario())

    def report() -> None:
        for position in range(5_000):
            stats.batch_acknowledged(
                batch(position), acknowledged(0.001, failed=1, error="Local: Timed out")
            )

    threads = [threading.Thread(target=report) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    measured = stats.measured()
    assert measured.delivery_latency.count == 20_000
    assert measured.errors == {"_TIMED_OUT": 20_000}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_requested_rate_is_records_over_the_time_between_deadlines() -> None:
    clock = Clock()
    stats = Stats(scenario(delay="100ms"), clock=clock)
    for position in range(11):
        # Each batch leaves 2 ms late and takes 1 ms to hand over.
        clock.now = 100.0 + position * 0.1 + 0.003
        stats.batch_sent(batch(position, records=20), 0.002, 0.001)

    # 10 intervals of 100 ms, each opened by a batch of 20 records.
    assert stats.measured().requested_rate == pytest.approx(200.0)


def test_lateness_does_not_change_the_requested_rate() -> None:
    clock = Clock()
    stats = Stats(scenario(speed=60), clock=clock)
    for position, late in enumerate((0.0, 0.25, 0.0, 0.4, 0.1)):
        clock.now = 100.0 + position * 1.0 + late
        stats.batch_sent(batch(position, records=5), late, 0.0)

    assert stats.measured().requested_rate == pytest.approx(5.0)


def test_no_rate_is_requested_at_delay_0_or_with_one_batch() -> None:
    clock = Clock()
    unpaced = Stats(scenario(delay=0), clock=clock)
    single = Stats(scenario(delay="1s"), clock=clock)
    for position in range(3):
        clock.now += 0.5
        unpaced.batch_sent(batch(position), 0.5 * position, 0.0)
    single.batch_sent(batch(0), 0.0, 0.0)

    assert unpaced.measured().requested_rate is None
    assert single.measured().requested_rate is None
