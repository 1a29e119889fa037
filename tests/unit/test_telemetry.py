"""Telemetry without a broker: spans and headers, series, the metrics server, exits."""

import io
import json
import logging
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner import source
from runner.control import Control
from runner.errors import TelemetryError
from runner.events import Acknowledged, BatchInfo
from runner.scenario import Scenario
from runner.telemetry import JsonFormatter, Telemetry, tracing_endpoint
from tests.helpers import BASE_CSV, base_scenario
from tests.integration.otlp_receiver import OtlpReceiver, otlp_receiver

TOPIC = "payments.replay"
LABELS = {"scenario": "demo-payments", "topic": TOPIC}
OK = Acknowledged(
    delivered_records=2, failed_records=0, partitions=(0,), latency_s=0.01, error=None
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_SDK_DISABLED",
        "OTEL_TRACES_EXPORTER",
        "OTEL_TRACES_SAMPLER",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "METRICS_PORT",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as running:
        yield running


@pytest.fixture
def csv_path(tmp_path: Path) -> str:
    path = tmp_path / "tx.csv"
    path.write_text(BASE_CSV)
    return str(path)


def scenario(csv_path: str, **telemetry: Any) -> Scenario:
    """The base scenario; metrics off unless a port is given, None leaves it out."""
    data = base_scenario(csv_path, telemetry={"metrics_port": 0, **telemetry})
    if data["telemetry"]["metrics_port"] is None:
        del data["telemetry"]["metrics_port"]
    return Scenario.model_validate(data)


class Seen(logging.Handler):
    """What reaches the root logger, and so the operator's terminal."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def warnings(self) -> list[logging.LogRecord]:
        return [r for r in self.records if r.levelno >= logging.WARNING]


@pytest.fixture
def seen() -> Iterator[Seen]:
    handler = Seen()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def batch(position: int, records: int = 2, messages: int = 1) -> BatchInfo:
    return BatchInfo(
        scenario="demo-payments",
        topic=TOPIC,
        loop=1,
        index=position,
        position=position,
        data_ns=1_714_989_600_000_000_000 + position * 60_000_000_000,
        records=records,
        messages=messages,
        batches_per_loop=2,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int) -> str:
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def sample(telemetry: Telemetry, name: str, **labels: str) -> float | None:
    return telemetry.registry.get_sample_value(name, {**LABELS, **labels})


def test_a_batch_gets_one_producer_span_and_one_traceparent_in_bytes(
    csv_path: str, receiver: OtlpReceiver
) -> None:
    telemetry = Telemetry([s := scenario(csv_path, otlp_endpoint=receiver.endpoint)])
    listener = telemetry.listener(s)

    headers = listener.batch_headers(batch(0))
    listener.batch_sent(batch(0), lateness_s=0.002, produce_s=0.001)
    listener.batch_acknowledged(batch(0), OK)
    listener.run_finished()
    spans = receiver.spans()
    telemetry.stop()

    assert [name for name, _ in headers] == ["traceparent"]
    value = headers[0][1]
    assert isinstance(value, bytes)
    version, trace_id, span_id, flags = value.decode().split("-")
    assert version == "00"
    assert int(flags, 16) & 1  # sampled
    [span] = spans
    assert (span.trace_id, span.span_id, span.parent_span_id) == (trace_id, span_id, "")
    assert span.name == f"{TOPIC} publish"
    assert span.kind == 4  # PRODUCER
    assert span.status_code == 0
    assert span.attributes == {
        "messaging.system": "kafka",
        "messaging.destination.name": TOPIC,
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.batch.message_count": 1,
        "messaging.destination.partition.id": "0",
        "server.address": "127.0.0.1",
        "server.port": 9092,
        "scenario_run.scenario": "demo-payments",
        "scenario_run.data_time": "2024-05-06T10:00:00+00:00",
        "scenario_run.loop": 1,
        "scenario_run.batch.index": 0,
        "scenario_run.batch.records": 2,
        "scenario_run.progress": 0.5,
        "scenario_run.lateness_s": 0.002,
    }
    assert span.resource["service.name"] == "scenario-run"


def test_no_endpoint_anywhere_means_no_spans_and_no_trace_headers(
    csv_path: str,
) -> None:
    telemetry = Telemetry([s := scenario(csv_path)])
    listener = telemetry.listener(s)

    headers = listener.batch_headers(batch(0))
    telemetry.stop()

    assert headers == []
    assert not listener.tracing


@pytest.mark.parametrize(
    ("setting", "environment", "expected"),
    [
        ("http://a:4318", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://b:4318"}, "a"),
        ("http://a:4318/v1/traces/", {}, "http://a:4318/v1/traces"),
        (None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://b:4318/"}, "b"),
        (
            None,
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://b:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:9/custom",
            },
            "http://c:9/custom",
        ),
        ("http://a:4318", {"OTEL_SDK_DISABLED": "true"}, None),
        ("http://a:4318", {"OTEL_TRACES_EXPORTER": "none"}, None),
        (None, {}, None),
    ],
)
def test_the_endpoint_is_the_scenarios_else_the_standard_variables(
    csv_path: str,
    monkeypatch: pytest.MonkeyPatch,
    setting: str | None,
    environment: dict[str, str],
    expected: str | None,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = scenario(csv_path, otlp_endpoint=setting).telemetry

    found = tracing_endpoint(settings)

    if expected in ("a", "b"):
        expected = f"http://{expected}:4318/v1/traces"
    assert found == expected


def test_standard_variables_name_the_service_and_choose_the_sampler(
    csv_path: str, receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "fraud-feed")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci")
    telemetry = Telemetry([s := scenario(csv_path)])
    listener = telemetry.listener(s)
    listener.batch_headers(batch(0))
    listener.batch_acknowledged(batch(0), OK)
    listener.run_finished()
    telemetry.stop()

    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    unsampled = Telemetry([s])
    quiet = unsampled.listener(s)
    headers = quiet.batch_headers(batch(0))
    quiet.batch_acknowledged(batch(0), OK)
    quiet.run_finished()
    unsampled.stop()

    [span] = receiver.spans()
    assert span.resource["service.name"] == "fraud-feed"
    assert span.resource["deployment.environment"] == "ci"
    # Not sampled: nothing exported, but the consumer still gets the context.
    assert receiver.requests == 1
    assert [name for name, _ in headers] == ["traceparent"]
    value = headers[0][1]
    assert isinstance(value, bytes)
    flags = value.decode().rsplit("-", 1)[1]
    assert not int(flags, 16) & 1  # not sampled


def test_an_unsupported_otlp_protocol_is_refused_at_start(
    csv_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")

    with pytest.raises(TelemetryError, match="'grpc' is not supported"):
        Telemetry([scenario(csv_path, otlp_endpoint="http://127.0.0.1:4317")])


def test_an_acknowledgement_before_batch_sent_ends_the_span_cleanly(
    csv_path: str, receiver: OtlpReceiver, seen: Seen
) -> None:
    telemetry = Telemetry([s := scenario(csv_path, otlp_endpoint=receiver.endpoint)])
    listener = telemetry.listener(s)

    listener.batch_headers(batch(0))
    listener.batch_acknowledged(batch(0), OK)
    listener.batch_sent(batch(0), lateness_s=0.0, produce_s=0.0)
    listener.run_finished()
    telemetry.stop()

    [span] = receiver.spans()
    assert span.attributes["messaging.destination.partition.id"] == "0"
    assert seen.warnings() == []


def test_a_failed_batch_is_an_error_span_and_a_log_line_with_its_ids(
    csv_path: str, receiver: OtlpReceiver
) -> None:
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("runner.telemetry")
    logger.addHandler(handler)
    telemetry = Telemetry([s := scenario(csv_path, otlp_endpoint=receiver.endpoint)])
    listener = telemetry.listener(s)
    failed = Acknowledged(
        delivered_records=0,
        failed_records=2,
        partitions=(3,),
        latency_s=5.0,
        error="Local: Message timed out",
    )

    try:
        listener.batch_headers(batch(0))
        listener.batch_sent(batch(0), lateness_s=0.0, produce_s=0.0)
        listener.batch_acknowledged(batch(0), failed)
        listener.run_finished()
    finally:
        logger.removeHandler(handler)
        telemetry.stop()

    [span] = receiver.spans()
    assert span.status_code == 2
    assert span.status_message == "Local: Message timed out"
    assert span.attributes["error.type"] == "Local: Message timed out"
    [entry] = [
        json.loads(line)
        for line in lines.getvalue().splitlines()
        if "batch not delivered" in line
    ]
    assert entry["level"] == "ERROR"
    assert (entry["trace_id"], entry["span_id"]) == (span.trace_id, span.span_id)
    assert "topic=payments.replay partition=3 batch=0" in entry["message"]


def test_log_lines_carry_the_ids_of_the_batch_being_sent_and_no_others(
    csv_path: str, receiver: OtlpReceiver
) -> None:
    formatter = JsonFormatter()
    telemetry = Telemetry([s := scenario(csv_path, otlp_endpoint=receiver.endpoint)])
    listener = telemetry.listener(s)

    def line() -> dict[str, Any]:
        record = logging.LogRecord("runner.kafka", logging.INFO, "", 0, "x", (), None)
        parsed: dict[str, Any] = json.loads(formatter.format(record))
        return parsed

    before = line()
    listener.batch_headers(batch(0))
    during = line()
    listener.batch_sent(batch(0), lateness_s=0.0, produce_s=0.0)
    after = line()
    listener.batch_acknowledged(batch(0), OK)
    listener.run_finished()
    telemetry.stop()

    [span] = receiver.spans()
    assert "trace_id" not in before
    assert (during["trace_id"], during["span_id"]) == (span.trace_id, span.span_id)
    assert "trace_id" not in after
    assert during["level"] == "INFO"
    assert during["message"] == "x"


def test_a_batch_cut_short_by_a_stop_still_exports_its_span(
    csv_path: str, receiver: OtlpReceiver
) -> None:
    telemetry = Telemetry([s := scenario(csv_path, otlp_endpoint=receiver.endpoint)])
    listener = telemetry.listener(s)

    listener.batch_headers(batch(0))
    listener.run_finished()
    spans = receiver.spans()
    telemetry.stop()

    [span] = spans
    assert span.status_code == 2
    assert span.status_message == "not acknowledged before the end"


def test_every_event_moves_its_series_under_scenario_and_topic_labels(
    csv_path: str,
) -> None:
    control = Control()
    telemetry = Telemetry([s := scenario(csv_path)])
    listener = telemetry.listener(s)
    control.on_pause(listener.paused)
    recording = source.scan(s)
    failed = Acknowledged(
        delivered_records=0, failed_records=1, partitions=(0,), latency_s=30.0,
        error="Local: Message timed out",
    )  # fmt: skip

    listener.run_started(recording, 1)
    running = sample(telemetry, "replay_state", replay_state="running")
    listener.batch_sent(batch(0), lateness_s=0.003, produce_s=0.0004)
    listener.batch_acknowledged(batch(0), OK)
    control.pause()
    paused = sample(telemetry, "replay_state", replay_state="paused")
    control.resume()
    listener.batch_sent(batch(1, records=1), lateness_s=0.2, produce_s=0.0002)
    listener.batch_acknowledged(batch(1, records=1), failed)
    listener.run_finished()

    assert (running, paused) == (1.0, 1.0)
    expected = {
        "batches_produced_total": 2,
        "records_produced_total": 3,
        "messages_produced_total": 2,
        "batches_delivered_total": 1,
        "records_delivered_total": 2,
        "batches_failed_total": 1,
        "records_failed_total": 1,
        "produce_duration_seconds_count": 2,
        "delivery_latency_seconds_count": 2,
        "delivery_latency_seconds_sum": 30.01,
        "batch_lateness_seconds_count": 2,
        "batch_lateness_seconds_sum": 0.203,
        "replay_progress_ratio": 1.0,
        "replay_loop": 1,
        "replay_data_time_seconds": 1_714_989_660.0,
    }
    for name, value in expected.items():
        assert sample(telemetry, name) == pytest.approx(value), name
    assert sample(telemetry, "replay_state", replay_state="finished") == 1.0
    assert sample(telemetry, "replay_state", replay_state="paused") == 0.0
    assert sample(telemetry, "rows_skipped_total", reason="bad_timestamp") == 0.0
    last_batch = sample(telemetry, "replay_last_batch_timestamp_seconds")
    assert last_batch is not None and abs(last_batch - time.time()) < 60
    for metric in telemetry.registry.collect():
        for found in metric.samples:
            assert found.labels.keys() >= {"scenario", "topic"}, found
    telemetry.stop()


def test_two_runs_in_one_process_keep_their_own_series(csv_path: str) -> None:
    first = Telemetry([s := scenario(csv_path)])
    second = Telemetry([s])

    first.listener(s).batch_sent(batch(0), lateness_s=0.0, produce_s=0.0)
    second.listener(s).batch_sent(batch(0), lateness_s=0.0, produce_s=0.0)
    second.listener(s).batch_sent(batch(1), lateness_s=0.0, produce_s=0.0)
    first.stop()
    second.stop()

    assert sample(first, "batches_produced_total") == 1.0
    assert sample(second, "batches_produced_total") == 2.0


def test_metrics_are_served_stopped_and_served_again_on_one_port(
    csv_path: str,
) -> None:
    port = free_port()
    s = scenario(csv_path, metrics_port=port)

    first = Telemetry([s])
    first.listener(s).batch_sent(batch(0), lateness_s=0.0, produce_s=0.0)
    during = scrape(port)
    ports = first.metrics_ports
    first.stop()
    second = Telemetry([s])
    again = scrape(port)
    second.stop()

    assert ports == [port]
    line = 'batches_produced_total{scenario="demo-payments",topic="payments.replay"}'
    assert f"{line} 1.0" in during
    assert "batches_produced_total" in again
    assert f"{line} 1.0" not in again
    with pytest.raises(OSError):
        scrape(port)


def test_a_metrics_port_in_use_is_an_error_that_names_the_setting(
    csv_path: str,
) -> None:
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]

        with pytest.raises(TelemetryError) as raised:
            Telemetry([scenario(csv_path, metrics_port=port)])

    message = str(raised.value)
    assert f"metrics port 127.0.0.1:{port} is already in use" in message
    assert "telemetry.metrics_port" in message


def test_metrics_port_variable_stands_in_for_a_port_the_scenario_leaves_out(
    csv_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("METRICS_PORT", str(port))

    from_variable = Telemetry([scenario(csv_path, metrics_port=None)])
    ports = from_variable.metrics_ports
    from_variable.stop()
    explicit = Telemetry([scenario(csv_path, metrics_port=0)])
    explicit_ports = explicit.metrics_ports
    explicit.stop()
    monkeypatch.setenv("METRICS_PORT", "80a")

    assert ports == [port]
    assert explicit_ports == []
    with pytest.raises(TelemetryError, match="METRICS_PORT: expected a port"):
        Telemetry([scenario(csv_path, metrics_port=None)])


def drive(listener: Any, batches: int) -> None:
    for position in range(batches):
        listener.batch_headers(batch(position))
        listener.batch_sent(batch(position), lateness_s=0.0, produce_s=0.0)
        listener.batch_acknowledged(batch(position), OK)


def test_a_closed_collector_port_costs_a_few_warnings_and_a_bounded_exit(
    csv_path: str, seen: Seen
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    telemetry = Telemetry([s := scenario(csv_path, otlp_endpoint=endpoint)])
    listener = telemetry.listener(s)

    began = time.monotonic()
    drive(listener, 50)
    sending_s = time.monotonic() - began
    listener.run_finished()
    telemetry.stop()
    exit_s = time.monotonic() - began

    assert sending_s < 1.0
    assert exit_s < 4.5
    warnings = seen.warnings()
    assert 1 <= len(warnings) <= 3, [r.getMessage() for r in warnings]
    assert all(r.name == "runner.telemetry" for r in warnings)
    assert "Connection refused" in warnings[0].getMessage()
    assert all(not r.exc_info for r in seen.records)


def test_a_collector_that_never_answers_does_not_hold_the_exit(
    csv_path: str, seen: Seen
) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        telemetry = Telemetry([s := scenario(csv_path, otlp_endpoint=endpoint)])
        listener = telemetry.listener(s)

        began = time.monotonic()
        drive(listener, 20)
        listener.run_finished()
        telemetry.stop()
        exit_s = time.monotonic() - began

    assert exit_s < 5.0
    warnings = seen.warnings()
    assert 1 <= len(warnings) <= 3, [r.getMessage() for r in warnings]
    assert "timeout" in warnings[0].getMessage()


def test_pause_callbacks_hear_each_change_once() -> None:
    control = Control()
    heard: list[bool] = []
    control.on_pause(heard.append)

    control.pause()
    control.pause()
    control.resume()
    control.resume()

    assert heard == [True, False]
    assert not control.paused
