"""Rows are cut into batches by interval of data time, across chunk boundaries."""

from collections.abc import Iterator

import numpy as np

from runner.batching import Batch, batches
from runner.source import Rows

S = 1_000_000_000
MINUTE = 60 * S


def chunk(seconds: list[float], keyed: bool = False) -> Rows:
    """Rows whose value is their own second, so order can be read back."""
    instants = np.array([round(s * S) for s in seconds], dtype=np.int64)
    values = [(s,) for s in seconds]
    keys: list[bytes | None] | None = None
    if keyed:
        keys = [f"k{s:g}".encode() for s in seconds]
    return Rows(instants=instants, values=values, keys=keys)


def seconds_of(found: list[Batch]) -> list[list[float]]:
    return [[row[0] for row in batch.values] for batch in found]


def test_rows_of_one_minute_form_one_batch_starting_at_its_floor() -> None:
    found = list(batches([chunk([5, 40, 70, 119, 120])], MINUTE))

    assert seconds_of(found) == [[5, 40], [70, 119], [120]]
    assert [batch.start_ns for batch in found] == [0, MINUTE, 2 * MINUTE]
    assert [len(batch) for batch in found] == [2, 2, 1]


def test_a_batch_that_spans_two_chunks_is_sent_once_and_whole() -> None:
    chunks = [chunk([5, 40]), chunk([50, 59]), chunk([61])]

    found = list(batches(chunks, MINUTE))

    assert seconds_of(found) == [[5, 40, 50, 59], [61]]


def test_a_batch_can_span_many_chunks_of_one_row() -> None:
    chunks = [chunk([float(s)]) for s in range(0, 180, 7)]

    found = list(batches(chunks, MINUTE))

    assert [len(batch) for batch in found] == [9, 9, 8]
    played = [second for batch in seconds_of(found) for second in batch]
    assert played == [float(s) for s in range(0, 180, 7)]


def test_a_chunk_boundary_between_minutes_does_not_join_them() -> None:
    found = list(batches([chunk([10, 59]), chunk([60, 61])], MINUTE))

    assert seconds_of(found) == [[10, 59], [60, 61]]


def test_interval_zero_makes_a_batch_of_each_distinct_instant() -> None:
    chunks = [chunk([1, 1, 1.5]), chunk([1.5, 2]), chunk([3])]

    found = list(batches(chunks, 0))

    assert seconds_of(found) == [[1, 1], [1.5, 1.5], [2], [3]]
    assert [batch.start_ns for batch in found] == [S, S * 3 // 2, 2 * S, 3 * S]


def test_rows_keep_their_recorded_order_inside_a_batch() -> None:
    rows = Rows(
        instants=np.array([3 * S, 1 * S, 2 * S, 61 * S], dtype=np.int64),
        values=[("c",), ("a",), ("b",), ("d",)],
        keys=None,
    )

    found = list(batches([rows], MINUTE))

    assert [batch.values for batch in found] == [[("c",), ("a",), ("b",)], [("d",)]]


def test_keys_follow_their_rows_across_chunks() -> None:
    chunks = [chunk([5, 40], keyed=True), chunk([50, 70], keyed=True)]

    found = list(batches(chunks, MINUTE))

    assert [batch.keys for batch in found] == [[b"k5", b"k40", b"k50"], [b"k70"]]


def test_without_keys_a_batch_has_none() -> None:
    found = list(batches([chunk([5]), chunk([6])], MINUTE))

    assert [batch.keys for batch in found] == [None]


def test_no_chunks_no_batches() -> None:
    assert list(batches([], MINUTE)) == []


def test_batches_come_out_while_chunks_are_still_being_read() -> None:
    # Memory must not grow with the file: a finished batch is yielded before
    # the next chunk is asked for.
    asked: list[float] = []

    def chunks() -> Iterator[Rows]:
        for second in (10.0, 70.0, 130.0):
            asked.append(second)
            yield chunk([second])

    found = batches(chunks(), MINUTE)

    first = next(found)
    assert seconds_of([first]) == [[10]]
    assert asked == [10, 70]
