"""The scenario format: strict, frozen pydantic models, one per section of the file."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    model_validator,
)

from runner.durations import Seconds

TIMESTAMP_KEYWORDS = (
    "iso8601",
    "epoch_s",
    "epoch_ms",
    "epoch_us",
    "epoch_ns",
    "elapsed_s",
    "elapsed_m",
    "elapsed_h",
)
"""Timestamp formats that are not strptime patterns; ``elapsed_*`` need an origin."""


class Model(BaseModel):
    """Base of every section: unknown keys are errors and nothing changes after load."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _header_text(value: Any) -> Any:
    # YAML turns `2` and `true` into int and bool, which the Kafka client refuses
    # as header values mid-run; the wire carries text, so write them as YAML does.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


HeaderValue = Annotated[str, BeforeValidator(_header_text)]
ConfigValue = str | int | float | bool | SecretStr


class Timestamp(Model):
    """Where the data time of each row is and how to read it."""

    column: str | list[str] = Field(
        description="the column, or several joined in order with `separator`"
    )
    format: str = Field(
        "iso8601",
        description="iso8601, epoch_s|ms|us|ns, elapsed_s|m|h (with origin), "
        "or a strptime pattern such as %Y-%m-%d %H:%M:%S",
    )
    timezone: str = Field("UTC", description="IANA zone for values without an offset")
    origin: datetime | None = Field(
        None, strict=False, description="start of the clock for elapsed_* formats"
    )
    separator: str = Field(" ", description="joins several timestamp columns")
    on_error: Literal["fail", "skip"] = Field(
        "fail",
        description="fail: stop before sending; skip: count, report and leave out",
    )
    ambiguous: Literal["fail", "earliest", "latest"] = Field(
        "fail", description="a local time that occurs twice when clocks go back"
    )
    nonexistent: Literal["fail", "shift_forward"] = Field(
        "fail", description="a local time skipped when clocks go forward"
    )

    @model_validator(mode="after")
    def _check_origin(self) -> "Timestamp":
        if self.format.startswith("elapsed_") and self.origin is None:
            raise ValueError(f"format {self.format!r} needs timestamp.origin")
        if self.format not in TIMESTAMP_KEYWORDS and "%" not in self.format:
            raise ValueError(
                f"format must be one of {', '.join(TIMESTAMP_KEYWORDS)} or a "
                f"strptime pattern with % fields, got {self.format!r}"
            )
        if isinstance(self.column, list) and not self.column:
            raise ValueError("column list is empty")
        return self

    @property
    def columns(self) -> list[str]:
        return [self.column] if isinstance(self.column, str) else list(self.column)


class Source(Model):
    """The CSV recording."""

    path: str = Field(description="CSV file, relative to the scenario file")
    timestamp: Timestamp
    delimiter: str = Field(",", min_length=1, max_length=1)
    encoding: str = Field("utf-8", description="a UTF-8 byte-order mark is stripped")
    null_values: list[str] = Field(
        default_factory=list,
        description="cell texts that mean null besides the empty cell, e.g. NA or ?",
    )
    strings: list[str] = Field(
        default_factory=list,
        description="columns always sent as text, even when every cell is a number",
    )
    on_bad_row: Literal["fail", "skip"] = Field(
        "fail", description="a cut last row: fail, or skip it and count it"
    )
    chunk_rows: int = Field(50_000, ge=100, description="rows read at a time")


class Batch(Model):
    """How rows are cut into batches by data time."""

    interval: Seconds = Field(
        60.0, ge=0, description="rows in one interval of data time form a batch"
    )


class Message(Model):
    """What one Kafka message holds."""

    per: Literal["batch", "record"] = Field(
        "batch", description="batch: one JSON array per batch; record: one per row"
    )
    key: str | None = Field(None, description="column whose text is the Kafka key")
    columns: list[str] | None = Field(
        None, description="columns to send, in this order (default: all)"
    )
    timestamp_field: str | None = Field(
        None,
        description="field that carries the ISO 8601 instant (default: the "
        "timestamp column, or `timestamp` when it spans several columns)",
    )


class Kafka(Model):
    """Where the messages go; `config` passes librdkafka settings by their names."""

    bootstrap_servers: str = "localhost:9092"
    topic: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    config: dict[str, ConfigValue] = Field(default_factory=dict)
    headers: dict[str, HeaderValue] = Field(default_factory=dict)
    create_topic: bool = True
    partitions: int = Field(1, ge=1)
    replication_factor: int = Field(1, ge=1)
    connect_timeout: Seconds = Field(15.0, gt=0)
    flush_timeout: Seconds = Field(30.0, gt=0)


class Window(Model):
    """A slice of data time: start inclusive, end exclusive."""

    start: datetime | None = Field(None, strict=False)
    end: datetime | None = Field(None, strict=False)

    @model_validator(mode="after")
    def _check_order(self) -> "Window":
        if self.start and self.end and _naive(self.end) <= _naive(self.start):
            raise ValueError(f"end {self.end} is not after start {self.start}")
        return self


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None) if moment.utcoffset() is None else moment


class Replay(Model):
    """How fast, how often and which slice of the recording to play."""

    delay: Seconds | None = Field(
        None, ge=0, description="fixed wait between batches; 0 = as fast as possible"
    )
    speed: float | None = Field(
        None, gt=0, description="multiple of the recorded pace: 10 = ten times faster"
    )
    max_gap: Seconds | None = Field(
        None, gt=0, description="no single wait between batches is longer than this"
    )
    loop: int | Literal["forever"] = Field(1, description="times to play, or forever")
    window: Window | None = None
    timestamps: Literal["original", "shifted", "live"] = Field(
        "original",
        description="original: as recorded; shifted: each loop moves on by the "
        "recording's span; live: the moment of sending",
    )

    @model_validator(mode="after")
    def _check_pace(self) -> "Replay":
        if self.delay is not None and self.speed is not None:
            raise ValueError("give either delay or speed, not both")
        if isinstance(self.loop, int) and self.loop < 1:
            raise ValueError(f"loop must be 1 or more, or forever, got {self.loop}")
        return self

    @property
    def pace_delay(self) -> float | None:
        """Seconds between batches in delay mode; None when pacing by speed."""
        if self.speed is not None:
            return None
        return 0.1 if self.delay is None else self.delay


class Telemetry(Model):
    """Prometheus metrics and OpenTelemetry traces."""

    metrics_port: int = Field(8001, ge=0, le=65535, description="0 turns metrics off")
    metrics_host: str = "127.0.0.1"
    otlp_endpoint: str | None = Field(
        None, description="OTLP/HTTP endpoint, e.g. http://localhost:4318; none = off"
    )


class Scenario(Model):
    """One replay: a recording, its pace and its destination."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    source: Source
    batch: Batch = Field(default_factory=Batch)  # type: ignore[arg-type]
    message: Message = Field(default_factory=Message)  # type: ignore[arg-type]
    kafka: Kafka
    replay: Replay = Field(default_factory=Replay)  # type: ignore[arg-type]
    telemetry: Telemetry = Field(default_factory=Telemetry)  # type: ignore[arg-type]
