"""Turn a batch into Kafka message values: JSON, written by orjson as it goes."""

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


class Encoder:
    """Encodes a batch as one JSON array, or as one JSON object per record."""

    def __init__(
        self,
        fields: tuple[str, ...],
        per: Literal["batch", "record"],
        timestamp_index: int | None,
    ) -> None:
        self._fields = fields
        self._per = per
        self._timestamp_field = (
            fields[timestamp_index] if timestamp_index is not None else None
        )

    def encode(self, batch: Batch, moment: str | None = None) -> list[Message]:
        """Encode `batch`; `moment` replaces every record's instant (live time)."""
        fields = self._fields
        records = [dict(zip(fields, row, strict=True)) for row in batch.values]
        if moment is not None and self._timestamp_field is not None:
            for record in records:
                record[self._timestamp_field] = moment

        if self._per == "batch":
            return [Message(None, orjson.dumps(records), len(records))]
        keys = batch.keys or [None] * len(records)
        return [
            Message(key, orjson.dumps(record), 1)
            for key, record in zip(keys, records, strict=True)
        ]
