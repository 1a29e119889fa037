"""Turn a batch into Kafka message values: JSON text assembled from ready cells.

The CSV source hands over every cell already written as JSON (a number's own
text, a quoted and escaped string, true, false or null), so a record is one
`%` format of a template with the field names in place, and a batch is those
joined: no dict per row and no serialiser call per value on the hot path.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import orjson

from runner.batching import Batch


@dataclass(frozen=True)
class Message:
    """One Kafka message: its key, its value and how many records it carries."""

    key: bytes | None
    value: bytes
    records: int


@dataclass(frozen=True)
class Messages:
    """The messages of one batch, as parallel lists of keys and values."""

    keys: list[bytes | None] | None  # None: no message has a key
    values: list[bytes]
    records_per_message: int

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self) -> Iterator[Message]:
        keys = self.keys or [None] * len(self.values)
        for key, value in zip(keys, self.values, strict=True):
            yield Message(key, value, self.records_per_message)


class Encoder:
    """Encodes a batch as one JSON array, or as one JSON object per record."""

    def __init__(
        self,
        fields: tuple[str, ...],
        per: Literal["batch", "record"],
        timestamp_index: int | None,
    ) -> None:
        # Field names are escaped once; `%` in a name must not read as a field.
        names = [orjson.dumps(name).decode().replace("%", "%%") for name in fields]
        self._template = "{" + ",".join(f"{name}:%s" for name in names) + "}"
        self._per = per
        self._timestamp_index = timestamp_index

    def encode(self, batch: Batch, moment: str | None = None) -> Messages:
        """Encode `batch`; `moment` replaces every record's instant (live time)."""
        rows = batch.values
        if moment is not None and self._timestamp_index is not None:
            rows = self._with_moment(rows, orjson.dumps(moment).decode())

        fill = self._template.__mod__
        if self._per == "batch":
            text = "[" + ",".join(map(fill, rows)) + "]"
            return Messages(None, [text.encode()], len(rows))
        values = [text.encode() for text in map(fill, rows)]
        return Messages(batch.keys, values, 1)

    def _with_moment(
        self, rows: list[tuple[str, ...]], moment: str
    ) -> list[tuple[str, ...]]:
        index = self._timestamp_index
        assert index is not None
        return [(*row[:index], moment, *row[index + 1 :]) for row in rows]
