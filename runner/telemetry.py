"""Prometheus metrics, OpenTelemetry spans and JSON log lines for one process run.

The only module that imports the OpenTelemetry and Prometheus SDKs. A
`Telemetry` holds a fresh metrics registry, the HTTP server that exposes it and
one tracer provider per OTLP endpoint; each scenario gets a `ScenarioTelemetry`,
the listener its replay reports to. Telemetry listens and never steers: a
collector that is down costs dropped spans and a few warnings, never a late
batch or a slow exit.
"""

import errno
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from wsgiref.simple_server import WSGIServer

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace.propagation.tracecontext import (
    TraceContextTextMapPropagator,
)
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)

from runner import __version__
from runner.errors import TelemetryError
from runner.events import Acknowledged, BatchInfo, Headers, Listener
from runner.scenario import Scenario
from runner.scenario import Telemetry as TelemetrySettings
from runner.source import Recording

log = logging.getLogger(__name__)

SERVICE = "scenario-run"
"""The spans' service.name, unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say."""

# One export attempt (with the exporter's own retries) gives up after this; the
# flushes below wait a little longer so that one attempt can finish.
_EXPORT_TIMEOUT_S = 2.0
_FLUSH_TIMEOUT_S = 3.0
# After a failed export, spans are dropped for this long instead of each batch
# waiting out its own timeout against a collector that is down.
_EXPORT_PAUSE_S = 10.0
# While exports keep failing, a reminder is logged at most this often.
_REMIND_EVERY_S = 60.0
# The OpenTelemetry SDK logs some problems once per span; each is let through at
# most this often.
_SDK_LOG_EVERY_S = 60.0

_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
_LABELS = ("scenario", "topic")
_STATES = ("starting", "running", "paused", "finished")
_SPAN_LATENESS = "scenario_run.lateness_s"


@dataclass(frozen=True)
class _Address:
    """Where metrics are served, and the setting it came from (for error messages)."""

    host: str
    port: int
    setting: str


class Telemetry:
    """The telemetry of one process run, shared by every scenario in it."""

    def __init__(self, scenarios: Sequence[Scenario]) -> None:
        """Start serving metrics and set up tracing; nothing is produced before this.

        Raises TelemetryError when the metrics port cannot be bound or the
        OTEL_* settings cannot be used.
        """
        # Counters' *_created series only add noise to a scrape.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        _tame_sdk_loggers()
        self.registry = CollectorRegistry(auto_describe=True)
        self._metrics = _Metrics(self.registry)
        self._servers: list[tuple[WSGIServer, threading.Thread]] = []
        self._providers: dict[str, _Tracing] = {}

        try:
            for address in _unique(_metrics_address(s.telemetry) for s in scenarios):
                if address.port:
                    self._serve(address)
            for scenario in scenarios:
                self._tracing(scenario)
        except BaseException:
            self.stop()
            raise
        if not self._providers:
            log.info(
                "tracing off: no OTLP endpoint (telemetry.otlp_endpoint, %s)", _ENV
            )

    @property
    def metrics_ports(self) -> list[int]:
        """The ports metrics are served on, in the order they were bound."""
        return [int(server.server_port) for server, _ in self._servers]

    def listener(self, scenario: Scenario) -> "ScenarioTelemetry":
        """The listener for one scenario's replay."""
        return ScenarioTelemetry(scenario, self._metrics, self._tracing(scenario))

    def stop(self) -> None:
        """Flush and shut down tracing, then stop serving metrics; bounded in time."""
        providers, self._providers = list(self._providers.values()), {}
        for tracing in providers:
            tracing.shutdown()
        servers, self._servers = self._servers, []
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=_FLUSH_TIMEOUT_S)

    def _tracing(self, scenario: Scenario) -> "_Tracing | None":
        endpoint = tracing_endpoint(scenario.telemetry)
        if endpoint is None:
            return None
        if endpoint not in self._providers:
            self._providers[endpoint] = _Tracing(endpoint)
        return self._providers[endpoint]

    def _serve(self, address: _Address) -> None:
        where = f"{address.host}:{address.port}"
        try:
            server, thread = start_http_server(
                address.port, addr=address.host, registry=self.registry
            )
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise TelemetryError(
                    f"metrics port {where} is already in use; set "
                    f"{address.setting} to a free port, or 0 to turn metrics off"
                ) from None
            raise TelemetryError(
                f"cannot serve metrics on {where} (telemetry.metrics_host, "
                f"{address.setting}): {error.strerror or error}"
            ) from None
        self._servers.append((server, thread))
        log.info("serving metrics: url=http://%s/metrics", where)


def tracing_endpoint(settings: TelemetrySettings) -> str | None:
    """The OTLP/HTTP traces URL: the scenario's, else OTEL_* variables; None = off."""
    if _env("OTEL_SDK_DISABLED").lower() == "true":
        return None
    if _env("OTEL_TRACES_EXPORTER").lower() == "none":
        return None
    if settings.otlp_endpoint:
        return _traces_url(settings.otlp_endpoint)
    if traces := _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return traces
    if base := _env("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return _traces_url(base)
    return None


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def _traces_url(base: str) -> str:
    # As the SDK does for OTEL_EXPORTER_OTLP_ENDPOINT: a base URL gets the
    # signal's path; a URL that already names it is taken as it is.
    trimmed = base.rstrip("/")
    return trimmed if trimmed.endswith("/v1/traces") else f"{trimmed}/v1/traces"


def _metrics_address(settings: TelemetrySettings) -> _Address:
    # METRICS_PORT is the seed's variable: it stands in for the default, and a
    # port the scenario sets (or --set) wins over it.
    if "metrics_port" in settings.model_fields_set or not _env("METRICS_PORT"):
        return _Address(
            settings.metrics_host, settings.metrics_port, "telemetry.metrics_port"
        )
    text = _env("METRICS_PORT")
    if not text.isdigit() or int(text) > 65535:
        raise TelemetryError(f"METRICS_PORT: expected a port 0-65535, got {text!r}")
    return _Address(settings.metrics_host, int(text), "METRICS_PORT")


def _unique(addresses: Iterable[_Address]) -> list[_Address]:
    seen: dict[tuple[str, int], _Address] = {}
    for address in addresses:
        seen.setdefault((address.host, address.port), address)
    return list(seen.values())


class _Metrics:
    """Every series of the run, in one registry; children are bound per scenario."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def counter(name: str, text: str) -> Counter:
            return Counter(name, text, _LABELS, registry=registry)

        def gauge(name: str, text: str) -> Gauge:
            return Gauge(name, text, _LABELS, registry=registry)

        def histogram(name: str, text: str, buckets: Sequence[float]) -> Histogram:
            return Histogram(name, text, _LABELS, registry=registry, buckets=buckets)

        self.batches_produced = counter(
            "batches_produced", "Batches whose messages were all handed to Kafka"
        )
        self.records_produced = counter(
            "records_produced", "Records (CSV rows) handed to Kafka"
        )
        self.messages_produced = counter(
            "messages_produced", "Kafka messages handed to the producer"
        )
        self.batches_delivered = counter(
            "batches_delivered", "Batches whose messages were all acknowledged"
        )
        self.records_delivered = counter(
            "records_delivered", "Records acknowledged by the broker"
        )
        self.batches_failed = counter(
            "batches_failed", "Batches with at least one message not delivered"
        )
        self.records_failed = counter(
            "records_failed", "Records whose message the broker refused or timed out"
        )
        self.rows_skipped = Counter(
            "rows_skipped",
            "CSV rows left out, by reason (bad_timestamp, outside_window, bad_row)",
            (*_LABELS, "reason"),
            registry=registry,
        )
        self.produce_duration = histogram(
            "produce_duration_seconds",
            "Time to hand one batch's messages to the producer",
            (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
        )
        self.delivery_latency = histogram(
            "delivery_latency_seconds",
            "From a batch's first produce call to its last acknowledgement",
            (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.lateness = histogram(
            "batch_lateness_seconds",
            "How late each batch left against its schedule",
            (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30),
        )
        self.progress = gauge(
            "replay_progress_ratio", "Fraction of the current loop sent, 0 to 1"
        )
        self.loop = gauge("replay_loop", "Current loop iteration, from 1")
        self.data_time = gauge(
            "replay_data_time_seconds",
            "Data time of the last batch sent (its interval start), Unix seconds",
        )
        self.last_batch = gauge(
            "replay_last_batch_timestamp_seconds",
            "Wall-clock time the last batch was sent, Unix seconds",
        )
        self.state = Enum(
            "replay_state",
            "Whether the replay is starting, running, paused or finished",
            _LABELS,
            registry=registry,
            states=list(_STATES),
        )


class _Series:
    """The children of every metric for one scenario and topic."""

    def __init__(self, metrics: _Metrics, scenario: str, topic: str) -> None:
        labels = (scenario, topic)
        self.batches_produced = metrics.batches_produced.labels(*labels)
        self.records_produced = metrics.records_produced.labels(*labels)
        self.messages_produced = metrics.messages_produced.labels(*labels)
        self.batches_delivered = metrics.batches_delivered.labels(*labels)
        self.records_delivered = metrics.records_delivered.labels(*labels)
        self.batches_failed = metrics.batches_failed.labels(*labels)
        self.records_failed = metrics.records_failed.labels(*labels)
        self.produce_duration = metrics.produce_duration.labels(*labels)
        self.delivery_latency = metrics.delivery_latency.labels(*labels)
        self.lateness = metrics.lateness.labels(*labels)
        self.progress = metrics.progress.labels(*labels)
        self.loop = metrics.loop.labels(*labels)
        self.data_time = metrics.data_time.labels(*labels)
        self.last_batch = metrics.last_batch.labels(*labels)
        self.state = metrics.state.labels(*labels)
        self._rows_skipped = metrics.rows_skipped
        self._labels = labels

    def skip(self, skipped: dict[str, int]) -> None:
        for reason, count in skipped.items():
            # Every reason gets a series, so a zero reads as zero, not as absent.
            self._rows_skipped.labels(*self._labels, reason).inc(count)


class ScenarioTelemetry(Listener):
    """The listener of one scenario's replay: its series, its spans and their headers.

    One span per batch, in both message modes: in record mode every message of
    the batch carries the same trace context.
    """

    def __init__(
        self, scenario: Scenario, metrics: _Metrics, tracing: "_Tracing | None"
    ) -> None:
        self._series = _Series(metrics, scenario.name, scenario.kafka.topic)
        self._tracing = tracing
        self._tracer = tracing.tracer if tracing is not None else None
        self._server = _server_attributes(scenario.kafka.bootstrap_servers)
        self._spans: dict[int, trace.Span] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._skipped: dict[str, int] = {}
        self._loop = 0
        self._series.state.state("starting")

    @property
    def tracing(self) -> bool:
        """Whether this scenario's batches get spans and trace headers."""
        return self._tracer is not None

    def run_started(self, recording: Recording, loops: int | None) -> None:
        self._skipped = dict(recording.skipped)
        self._loop = 1
        self._series.skip(self._skipped)
        self._series.loop.set(1)
        self._series.progress.set(0)
        self._series.state.state("running")

    def batch_headers(self, batch: BatchInfo) -> Headers:
        if self._tracer is None:
            return []
        self._release_context()
        # An empty parent context: each batch is a trace of its own, whatever
        # span happens to be current on this thread.
        span = self._tracer.start_span(
            f"{batch.topic} publish",
            context=otel_context.Context(),
            kind=trace.SpanKind.PRODUCER,
            attributes={**self._server, **_span_attributes(batch)},
        )
        with self._lock:
            self._spans[batch.position] = span
        span_context = trace.set_span_in_context(span)
        # Current until the batch is handed over, so log lines carry its ids.
        self._local.token = otel_context.attach(span_context)

        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier, context=span_context)
        return [(name.lower(), value.encode()) for name, value in carrier.items()]

    def batch_sent(self, batch: BatchInfo, lateness_s: float, produce_s: float) -> None:
        series = self._series
        if batch.loop != self._loop:
            self._loop = batch.loop
            series.skip(self._skipped)
        series.batches_produced.inc()
        series.records_produced.inc(batch.records)
        series.messages_produced.inc(batch.messages)
        series.produce_duration.observe(produce_s)
        series.lateness.observe(lateness_s)
        series.progress.set(batch.progress)
        series.loop.set(batch.loop)
        series.data_time.set(batch.data_ns / 1e9)
        series.last_batch.set(time.time())

        with self._lock:
            span = self._spans.get(batch.position)
            # The acknowledgement may already have ended it on the delivery thread.
            if span is not None:
                span.set_attribute(_SPAN_LATENESS, round(lateness_s, 6))
        self._release_context()

    def batch_acknowledged(self, batch: BatchInfo, outcome: Acknowledged) -> None:
        series = self._series
        series.records_delivered.inc(outcome.delivered_records)
        series.records_failed.inc(outcome.failed_records)
        if outcome.failed_records:
            series.batches_failed.inc()
        else:
            series.batches_delivered.inc()
        series.delivery_latency.observe(outcome.latency_s)

        with self._lock:
            span = self._spans.pop(batch.position, None)
        if span is None:
            return
        if len(outcome.partitions) == 1:
            span.set_attribute(
                "messaging.destination.partition.id", str(outcome.partitions[0])
            )
        elif outcome.partitions:
            span.set_attribute("scenario_run.partitions", list(outcome.partitions))
        if outcome.failed_records:
            span.set_attribute("error.type", outcome.error or "delivery_failed")
            span.set_status(trace.StatusCode.ERROR, outcome.error)
            self._log_failure(span, batch, outcome)
        span.end()

    def paused(self, is_paused: bool) -> None:
        self._series.state.state("paused" if is_paused else "running")

    def run_finished(self) -> None:
        self._release_context()
        with self._lock:
            unacknowledged, self._spans = list(self._spans.values()), {}
        for span in unacknowledged:
            # Stopped mid-batch: the span still goes out, marked as cut short.
            span.set_status(trace.StatusCode.ERROR, "not acknowledged before the end")
            span.end()
        self._series.state.state("finished")
        if self._tracing is not None:
            self._tracing.flush()

    def _release_context(self) -> None:
        token = getattr(self._local, "token", None)
        if token is not None:
            self._local.token = None
            otel_context.detach(token)

    def _log_failure(
        self, span: trace.Span, batch: BatchInfo, outcome: Acknowledged
    ) -> None:
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            log.error(
                "batch not delivered: scenario=%s topic=%s partition=%s batch=%d "
                "loop=%d failed=%d delivered=%d error=%s trace_id=%s",
                batch.scenario,
                batch.topic,
                ",".join(str(p) for p in outcome.partitions) or "none",
                batch.index,
                batch.loop,
                outcome.failed_records,
                outcome.delivered_records,
                outcome.error,
                trace.format_trace_id(span.get_span_context().trace_id),
            )
        finally:
            otel_context.detach(token)


def _span_attributes(batch: BatchInfo) -> dict[str, Any]:
    return {
        "messaging.system": "kafka",
        "messaging.destination.name": batch.topic,
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.batch.message_count": batch.messages,
        "scenario_run.scenario": batch.scenario,
        "scenario_run.data_time": _iso(batch.data_ns),
        "scenario_run.loop": batch.loop,
        "scenario_run.batch.index": batch.index,
        "scenario_run.batch.records": batch.records,
        "scenario_run.progress": round(batch.progress, 6),
    }


def _iso(ns: int) -> str:
    seconds, rest = divmod(ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=rest // 1000)
    return moment.isoformat()


def _server_attributes(bootstrap_servers: str) -> dict[str, Any]:
    first = bootstrap_servers.split(",")[0].strip()
    first = first.rpartition("://")[2]
    host, separator, port = first.rpartition(":")
    if not separator or not port.isdigit():
        return {"server.address": first} if first else {}
    return {"server.address": host.strip("[]"), "server.port": int(port)}


class _Tracing:
    """A tracer provider exporting to one OTLP/HTTP endpoint; flushes are bounded."""

    def __init__(self, endpoint: str) -> None:
        _check_protocol()
        self.endpoint = endpoint
        # Built by hand, not set globally: two runs in one process must not
        # share a provider, and the exit path shuts it down itself.
        self.provider = TracerProvider(resource=_resource(), shutdown_on_exit=False)
        self._exporter = _GuardedExporter(
            OTLPSpanExporter(endpoint=endpoint, timeout=_export_timeout()), endpoint
        )
        self.provider.add_span_processor(BatchSpanProcessor(self._exporter))
        self.tracer = self.provider.get_tracer("runner.telemetry", __version__)
        log.info(
            "tracing on: endpoint=%s protocol=http/protobuf service=%s sampler=%s",
            endpoint,
            self.provider.resource.attributes.get(SERVICE_NAME),
            _env("OTEL_TRACES_SAMPLER") or "parentbased_always_on",
        )

    def flush(self) -> None:
        """Export every ended span, giving up after a few seconds."""
        _bounded(self.provider.force_flush, f"span flush to {self.endpoint}")

    def shutdown(self) -> None:
        """Export what is left and stop the exporter, giving up after a few seconds."""
        _bounded(self.provider.shutdown, f"span export shutdown for {self.endpoint}")
        self._exporter.report_dropped()


def _check_protocol() -> None:
    protocol = _env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or _env(
        "OTEL_EXPORTER_OTLP_PROTOCOL"
    )
    if protocol and protocol.lower() != "http/protobuf":
        raise TelemetryError(
            f"OTLP protocol {protocol!r} is not supported; traces are exported "
            f"as http/protobuf (OTEL_EXPORTER_OTLP_PROTOCOL)"
        )


def _export_timeout() -> float | None:
    # The standard variables win; without them, a short timeout keeps a silent
    # collector from holding spans (and the exit) for the SDK's default 10 s.
    if _env("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or _env("OTEL_EXPORTER_OTLP_TIMEOUT"):
        return None
    return _EXPORT_TIMEOUT_S


def _resource() -> Resource:
    detected = Resource.create()
    attributes = dict(detected.attributes)
    if str(attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        attributes[SERVICE_NAME] = SERVICE
    attributes.setdefault(SERVICE_VERSION, __version__)
    return Resource(attributes, detected.schema_url)


def _bounded(action: Callable[[], object], what: str) -> None:
    done = threading.Event()

    def run() -> None:
        try:
            action()
        except Exception as error:
            log.warning("%s failed: %s", what, error)
        finally:
            done.set()

    threading.Thread(target=run, name=what, daemon=True).start()
    if not done.wait(_FLUSH_TIMEOUT_S):
        log.warning(
            "%s did not finish within %gs; the spans left are dropped",
            what,
            _FLUSH_TIMEOUT_S,
        )


class _GuardedExporter(SpanExporter):
    """Exports through OTLP, and after a failure drops spans for a while.

    A collector that is down then costs one timeout per pause rather than one
    per export, and one warning rather than one per batch.
    """

    def __init__(self, exporter: SpanExporter, endpoint: str) -> None:
        self._exporter = exporter
        self._endpoint = endpoint
        self._lock = threading.Lock()
        self._resume_at = 0.0
        self._failing = False
        self._dropped = 0
        self._reported = 0
        self._next_reminder = 0.0
        self._reason = "unknown"

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            if time.monotonic() < self._resume_at:
                self._dropped += len(spans)
                self._remind()
                return SpanExportResult.FAILURE

        _captured.take()
        try:
            result = self._exporter.export(spans)
            reason = _reason(_captured.take())
        except Exception as error:
            result = SpanExportResult.FAILURE
            reason = f"{type(error).__name__}: {error}"

        with self._lock:
            if result is SpanExportResult.SUCCESS:
                self._recovered()
            else:
                self._failed(len(spans), reason or "unknown")
        return result

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)

    def report_dropped(self) -> None:
        """Say once how many spans never reached the collector, if any."""
        with self._lock:
            unreported = self._dropped - self._reported
            self._reported = self._dropped
        if unreported:
            log.warning(
                "spans not exported: endpoint=%s dropped=%d reason=%s",
                self._endpoint,
                self._dropped,
                self._reason,
            )

    def _failed(self, spans: int, reason: str) -> None:
        self._dropped += spans
        self._reason = reason
        self._resume_at = time.monotonic() + _EXPORT_PAUSE_S
        if not self._failing:
            self._failing = True
            self._reported = self._dropped
            self._next_reminder = time.monotonic() + _REMIND_EVERY_S
            log.warning(
                "span export failed; spans are dropped while the collector does not "
                "answer, retried every %gs: endpoint=%s spans=%d reason=%s",
                _EXPORT_PAUSE_S,
                self._endpoint,
                spans,
                reason,
            )
        else:
            self._remind()

    def _remind(self) -> None:
        if time.monotonic() < self._next_reminder:
            return
        self._next_reminder = time.monotonic() + _REMIND_EVERY_S
        self._reported = self._dropped
        log.warning(
            "span export still failing: endpoint=%s dropped=%d reason=%s",
            self._endpoint,
            self._dropped,
            self._reason,
        )

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            self._reported = self._dropped
            log.info(
                "span export recovered: endpoint=%s dropped=%d",
                self._endpoint,
                self._dropped,
            )


def _reason(complaint: str | None) -> str | None:
    # The exporter wraps the cause in its retry story and urllib3's pool text;
    # the operator needs the cause ("[Errno 111] Connection refused").
    if complaint is None:
        return None
    found = re.search(r"Transient error (.*) encountered while exporting", complaint)
    cause = found.group(1) if found else complaint
    if "[Errno" in cause:
        cause = cause[cause.index("[Errno") :].rstrip("\"')")
    return cause


class _Capture(logging.Handler):
    """Keeps the OTLP exporter's first complaint per thread, for one warning of ours."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        # The first line names the cause; later ones only say the retries ran out.
        if getattr(self._local, "first", None) is None:
            self._local.first = record.getMessage()

    def take(self) -> str | None:
        first: str | None = getattr(self._local, "first", None)
        self._local.first = None
        return first


class _Throttle(logging.Filter):
    """Lets each message through once a minute at most, without its traceback."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(str(record.msg), -_SDK_LOG_EVERY_S) < (
                _SDK_LOG_EVERY_S
            ):
                return False
            self._last[str(record.msg)] = now
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.msg} ({record.exc_info[1]!r})"
        record.exc_info = None
        record.exc_text = None
        return True


_captured = _Capture()
# The exporter's own lines (one per failed attempt and retry) are captured and
# said once by _GuardedExporter; the processor's are throttled.
_CAPTURED_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.common.http",
)
_THROTTLED_LOGGERS = ("opentelemetry.sdk._shared_internal", "opentelemetry.sdk.trace")


def _tame_sdk_loggers() -> None:
    for name in _CAPTURED_LOGGERS:
        logger = logging.getLogger(name)
        if _captured not in logger.handlers:
            logger.addHandler(_captured)
        logger.propagate = False
    for name in _THROTTLED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _Throttle) for f in logger.filters):
            logger.addFilter(_Throttle())


class JsonFormatter(logging.Formatter):
    """One JSON object per line; `trace_id` and `span_id` when a span is current."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created)
            .astimezone()
            .isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "thread": record.threadName,
            "message": record.getMessage(),
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = trace.format_trace_id(span_context.trace_id)
            entry["span_id"] = trace.format_span_id(span_context.span_id)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
