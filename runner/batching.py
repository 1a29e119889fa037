"""Cut time-ordered rows into batches: one per interval of data time."""

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from runner.source import Rows


@dataclass(frozen=True)
class Batch:
    """Rows that share one interval of data time, in the order they were recorded."""

    start_ns: int  # the interval's start (its floor) in UTC nanoseconds
    values: list[tuple[Any, ...]]
    keys: list[bytes | None] | None

    def __len__(self) -> int:
        return len(self.values)


def batches(chunks: Iterable[Rows], interval_ns: int) -> Iterator[Batch]:
    """Yield batches in data-time order; a batch may span two chunks of the file."""
    carry: Batch | None = None
    for rows in chunks:
        starts = rows.instants
        if interval_ns > 0:
            starts = starts - starts % interval_ns
        edges = [0, *(np.flatnonzero(np.diff(starts)) + 1).tolist(), len(starts)]

        for begin, end in itertools.pairwise(edges):
            piece = Batch(
                start_ns=int(starts[begin]),
                values=rows.values[begin:end],
                keys=rows.keys[begin:end] if rows.keys is not None else None,
            )
            if carry is not None and carry.start_ns == piece.start_ns:
                piece = _join(carry, piece)
            elif carry is not None:
                yield carry
            carry = piece

    if carry is not None:
        yield carry


def _join(first: Batch, second: Batch) -> Batch:
    keys = None
    if first.keys is not None and second.keys is not None:
        keys = first.keys + second.keys
    return Batch(first.start_ns, first.values + second.values, keys)
