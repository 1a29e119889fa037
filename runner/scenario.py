"""The scenario format: strict, frozen pydantic models, one per section of the file."""

import codecs
import difflib
import zoneinfo
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    RootModel,
    SecretStr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from runner import thresholds
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


class FieldProblem(ValueError):
    """A check across fields failed; `path` names the field, relative to the model."""

    def __init__(self, message: str, *path: str) -> None:
        super().__init__(message)
        self.path = path


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

    @field_validator("format")
    @classmethod
    def _check_format(cls, value: str) -> str:
        if value in TIMESTAMP_KEYWORDS:
            return value
        if "%" not in value:
            close = difflib.get_close_matches(value, TIMESTAMP_KEYWORDS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(
                f"unknown format {value!r}; {hint}expected one of "
                f"{', '.join(TIMESTAMP_KEYWORDS)} or a strptime pattern such as "
                f"%Y-%m-%d %H:%M:%S"
            )
        try:
            datetime.strptime("", value)
        except ValueError as error:
            # Only a broken pattern is of interest here: no text matches ''.
            if "does not match format" not in str(error):
                raise ValueError(f"not a strptime pattern: {error}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            known = sorted(zoneinfo.available_timezones())
            close = difflib.get_close_matches(value, known, n=1)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else "; expected an IANA name such as Europe/Berlin"
            )
            raise ValueError(f"unknown time zone {value!r}{hint}") from None
        return value

    @field_validator("column")
    @classmethod
    def _check_column(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not value:
            raise ValueError("the list of columns is empty")
        return value

    @model_validator(mode="after")
    def _check_origin(self) -> "Timestamp":
        if self.format.startswith("elapsed_") and self.origin is None:
            raise FieldProblem(
                f"{self.format} counts from source.timestamp.origin, which is "
                f"not given",
                "format",
            )
        return self

    @property
    def columns(self) -> list[str]:
        return [self.column] if isinstance(self.column, str) else list(self.column)


class Source(Model):
    """The CSV recording."""

    path: str = Field(description="CSV file, relative to the scenario file")
    timestamp: Timestamp
    delimiter: str = Field(
        ",", description="one ASCII character, not a line break or a quote"
    )
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
    chunk_rows: int = Field(20_000, ge=100, description="rows read at a time")

    @field_validator("encoding")
    @classmethod
    def _check_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(
                f"unknown text encoding {value!r} (for example utf-8, latin-1, cp1252)"
            ) from None
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_plain_character(cls, value: str) -> str:
        # The CSV parser splits on one byte; a line break or a quote there
        # would be read as something else.
        if len(value) != 1 or not value.isascii() or value in '\r\n"':
            raise ValueError(
                "must be one ASCII character other than a line break or a "
                f"quote, got {value!r}"
            )
        return value


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

    @model_validator(mode="after")
    def _check_key(self) -> "Message":
        if self.key is not None and self.per == "batch":
            raise FieldProblem(
                "a key needs message.per: record (a batch message has no single "
                "row to take it from)",
                "key",
            )
        return self


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

    @field_validator("headers")
    @classmethod
    def _no_trace_headers(cls, value: dict[str, str]) -> dict[str, str]:
        # The trace context is written by the runner, one per message; a
        # static one would make two, and consumers would pick either.
        taken = [
            name for name in value if name.lower() in ("traceparent", "tracestate")
        ]
        if taken:
            raise ValueError(
                f"{taken[0]!r} is written by the runner from each batch's span; "
                "remove it from kafka.headers"
            )
        return value


class Window(Model):
    """A slice of data time: start inclusive, end exclusive."""

    start: datetime | None = Field(None, strict=False)
    end: datetime | None = Field(None, strict=False)


def _aware(moment: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=zone)


_PACES = ("delay", "speed", "rate")


class Stage(Model):
    """One step of a load shape: for `duration`, one pace."""

    duration: Seconds = Field(gt=0, description="how long this stage lasts")
    delay: Seconds | None = Field(None, ge=0, description="fixed wait between batches")
    speed: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="multiple of recorded pace"
    )
    rate: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="records per second"
    )

    @model_validator(mode="after")
    def _check_pace(self) -> "Stage":
        given = [name for name in _PACES if getattr(self, name) is not None]
        if len(given) != 1:
            raise FieldProblem(
                f"give exactly one of delay, speed or rate, got {len(given)}"
            )
        return self


class Replay(Model):
    """How fast, how often and which slice of the recording to play."""

    delay: Seconds | None = Field(
        None, ge=0, description="fixed wait between batches; 0 = as fast as possible"
    )
    speed: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="multiple of the recorded pace: 10 = ten times faster",
    )
    rate: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="records per second, paced evenly across batches (and within "
        "them in record mode)",
    )
    stages: list[Stage] | None = Field(
        None,
        min_length=1,
        description="a load shape: steps of a duration and a pace each; the run "
        "ends with the last stage",
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
        given = [
            name for name in (*_PACES, "stages") if getattr(self, name) is not None
        ]
        if len(given) > 1:
            raise FieldProblem(
                f"give one of delay, speed, rate or stages, not {' and '.join(given)}",
                given[-1],
            )
        if isinstance(self.loop, int) and self.loop < 1:
            raise FieldProblem(
                f"must be 1 or more, or forever, got {self.loop}", "loop"
            )
        return self

    @property
    def pace_delay(self) -> float | None:
        """Seconds between batches in delay mode; None for the other paces."""
        if self.speed is not None or self.rate is not None or self.stages:
            return None
        return 0.1 if self.delay is None else self.delay

    @property
    def paces(self) -> list[Stage]:
        """The pace as stages: one open-ended stage unless `stages` are given."""
        if self.stages:
            return list(self.stages)
        # Built without validation: an open-ended stage has no duration a
        # scenario could write.
        return [
            Stage.model_construct(
                duration=float("inf"),
                delay=self.pace_delay,
                speed=self.speed,
                rate=self.rate,
            )
        ]


class Telemetry(Model):
    """Prometheus metrics and OpenTelemetry traces."""

    metrics_port: int = Field(8001, ge=0, le=65535, description="0 turns metrics off")
    metrics_host: str = "127.0.0.1"
    otlp_endpoint: str | None = Field(
        None, description="OTLP/HTTP endpoint, e.g. http://localhost:4318; none = off"
    )


_CONDITION_SCHEMA: dict[str, dict[str, Any]] = {
    "count": {
        "anyOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": r"^\s*(<=|>=|==|<|>)\s*\d+\s*$"},
        ]
    },
    "ratio": {
        "type": "string",
        "pattern": r"^\s*(<=|>=|==|<|>)\s*(\d+(\.\d+)?|\.\d+)\s*$",
    },
    "duration": {
        "type": "string",
        "pattern": r"^\s*(<=|>=|==|<|>)\s*(\d+(\.\d+)?|\.\d+|\d+(\.\d+)?(us|µs)"
        r"|(\d+(\.\d+)?(ms|s|m|h|d))+)\s*$",
    },
}


def _thresholds_schema(schema: dict[str, Any]) -> None:
    # Editors complete the metric names and check each condition's form.
    schema.clear()
    schema.update(
        type="object",
        title="Thresholds",
        description="conditions the run must meet, by metric; a missed one gives "
        "exit code 1",
        properties={
            metric.name: {
                **_CONDITION_SCHEMA[metric.kind],
                "description": metric.meaning,
            }
            for metric in thresholds.METRICS.values()
        },
        additionalProperties=False,
    )


MetricName = Annotated[str, AfterValidator(thresholds.check_metric)]
ThresholdCondition = Annotated[
    thresholds.Condition,
    PlainValidator(thresholds.parse_condition),
    PlainSerializer(thresholds.Condition.as_written),
    WithJsonSchema({}),  # the schema of Thresholds describes each metric's form
]


class Thresholds(RootModel[dict[MetricName, ThresholdCondition]]):
    """Conditions on what the run measured: `delivery_latency_p99: "< 250ms"`."""

    model_config = ConfigDict(
        frozen=True, strict=True, json_schema_extra=_thresholds_schema
    )

    @model_validator(mode="after")
    def _check_kinds(self) -> "Thresholds":
        for metric, condition in self.root.items():
            try:
                thresholds.check_kind(metric, condition)
            except ValueError as problem:
                raise FieldProblem(str(problem), metric) from None
        return self


class Scenario(Model):
    """One replay: a recording, its pace and its destination."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    source: Source
    batch: Batch = Field(default_factory=Batch)  # type: ignore[arg-type]
    message: Message = Field(default_factory=Message)  # type: ignore[arg-type]
    kafka: Kafka
    replay: Replay = Field(default_factory=Replay)  # type: ignore[arg-type]
    telemetry: Telemetry = Field(default_factory=Telemetry)  # type: ignore[arg-type]
    thresholds: Thresholds = Field(
        default_factory=lambda: Thresholds({}),
        description="conditions the run must meet; see the README's thresholds table",
    )

    @model_validator(mode="after")
    def _check_window(self) -> "Scenario":
        # Naive window times are in the recording's zone, like its timestamps.
        window = self.replay.window
        if window is None or window.start is None or window.end is None:
            return self
        zone = zoneinfo.ZoneInfo(self.source.timestamp.timezone)
        if _aware(window.end, zone) <= _aware(window.start, zone):
            raise FieldProblem(
                f"must be after start ({window.start}), got {window.end}",
                "replay",
                "window",
                "end",
            )
        return self
