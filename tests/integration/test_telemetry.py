"""Traces, metrics and logs of real replays: the broker, a real OTLP receiver, a scrape.

Nothing stands between the producer and the receiver: spans leave through the
OTLP/HTTP exporter and arrive as protobuf; the trace context travels in the
Kafka headers and a consumer picks it up as a downstream service would.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id
from opentelemetry.trace.propagation.tracecontext import (
    TraceContextTextMapPropagator,
)
from prometheus_client.parser import text_string_to_metric_families

from runner import source
from runner.cli import main
from runner.control import Control
from runner.replay import Replay
from runner.scenario import Scenario
from runner.telemetry import Telemetry
from tests.helpers import BASE_CSV, REPO, base_scenario, unique_topic, write_scenario
from tests.integration.conftest import consume
from tests.integration.otlp_receiver import OtlpReceiver, otlp_receiver


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OTEL_") or name == "METRICS_PORT":
            monkeypatch.delenv(name)


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as running:
        yield running


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int) -> Samples:
    """Every sample of the metrics endpoint, by name and label set."""
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {
        (found.name, frozenset(found.labels.items())): found.value
        for family in text_string_to_metric_families(text)
        for found in family.samples
    }


def series(samples: Samples, name: str, topic: str, **extra: str) -> float:
    labels = {"scenario": "demo-payments", "topic": topic, **extra}
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape_until(port: int, topic: str, name: str, at_least: float) -> Samples:
    """The first scrape in which a series has reached a value."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            samples = scrape(port)
        except OSError:  # not serving yet
            samples = {}
        if series(samples, name, topic) >= at_least:
            return samples
        time.sleep(0.05)
    raise AssertionError(f"{name} never reached {at_least}")


@dataclass(frozen=True)
class Timed:
    """One consumed message with the time the producer stamped on it."""

    timestamp_ms: int
    headers: list[tuple[str, bytes]]


def consume_timed(bootstrap: str, topic: str) -> list[Timed]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"tests-timed-{topic}",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        end = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
        found: list[Timed] = []
        while len(found) < end:
            message = consumer.poll(5.0)
            assert message is not None and not message.error(), "consume stalled"
            headers = list(message.headers() or [])
            assert all(isinstance(v, bytes) for _, v in headers)
            found.append(Timed(message.timestamp()[1], headers))  # type: ignore[arg-type]
        return found
    finally:
        consumer.close()


def topic_exists(bootstrap: str, topic: str) -> bool:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    return topic in admin.list_topics(timeout=10).topics


def continue_trace(
    headers: list[tuple[str, bytes]], topic: str, tracer_provider: TracerProvider
) -> None:
    """What a downstream consumer does: extract the context, start its own span."""
    carrier = {name: value.decode() for name, value in headers}
    parent = TraceContextTextMapPropagator().extract(carrier)
    tracer = tracer_provider.get_tracer("downstream")
    with tracer.start_as_current_span(
        f"{topic} process", context=parent, kind=SpanKind.CONSUMER
    ):
        pass


def in_memory_tracing() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_a_downstream_consumer_continues_each_producer_span_from_the_headers(
    tmp_path: Path,
    kafka_bootstrap: str,
    receiver: OtlpReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    topic = unique_topic("traces")
    scenario = base_scenario(
        kafka={
            "bootstrap_servers": kafka_bootstrap,
            "topic": topic,
            "headers": {"source": "replay", "schema_version": 2, "replayed": True},
        }
    )
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)

    code = main([str(write_scenario(tmp_path, scenario))])
    produced = {span.span_id: span for span in receiver.spans()}  # no wait: flushed
    records = consume(kafka_bootstrap, topic)
    provider, downstream = in_memory_tracing()
    for record in records:
        continue_trace(record.headers, topic, provider)

    assert code == 0, capsys.readouterr().err
    assert len(records) == 2
    assert len(produced) == 2
    for record in records:
        names = [name for name, _ in record.headers]
        assert names == ["source", "schema_version", "replayed", "traceparent"]
        assert all(isinstance(value, bytes) for _, value in record.headers)
        assert dict(record.headers)["schema_version"] == b"2"
        assert dict(record.headers)["replayed"] == b"true"
    consumed = downstream.get_finished_spans()
    parents = []
    for span in consumed:
        assert span.parent is not None and span.parent.is_remote
        trace_id = format_trace_id(span.context.trace_id)
        producer = produced[format_span_id(span.parent.span_id)]
        assert producer.trace_id == trace_id
        parents.append(producer)
    assert len({p.span_id for p in parents}) == 2
    first, second = parents
    for index, producer in enumerate(parents):
        assert producer.name == f"{topic} publish"
        assert producer.kind == 4  # PRODUCER
        assert producer.parent_span_id == ""
        assert producer.status_code == 0
        attributes = producer.attributes
        assert attributes["messaging.system"] == "kafka"
        assert attributes["messaging.destination.name"] == topic
        assert attributes["messaging.operation.type"] == "send"
        assert attributes["messaging.batch.message_count"] == 1
        assert attributes["messaging.destination.partition.id"] == "0"
        assert attributes["scenario_run.scenario"] == "demo-payments"
        assert attributes["scenario_run.loop"] == 1
        assert attributes["scenario_run.batch.index"] == index
        assert attributes["scenario_run.batch.records"] == 2 - index
        assert attributes["scenario_run.progress"] == (index + 1) / 2
        assert attributes["scenario_run.lateness_s"] >= 0
        assert producer.resource["service.name"] == "scenario-run"
    assert first.attributes["scenario_run.data_time"] == "2024-05-06T10:00:00+00:00"
    assert second.attributes["scenario_run.data_time"] == "2024-05-06T10:01:00+00:00"


def test_in_record_mode_the_messages_of_a_batch_share_its_span(
    tmp_path: Path,
    kafka_bootstrap: str,
    receiver: OtlpReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    topic = unique_topic("traces-record")
    scenario = base_scenario(
        kafka={"bootstrap_servers": kafka_bootstrap, "topic": topic, "partitions": 3},
        message={"per": "record", "key": "card_token"},
    )
    # The traces variable is the full URL and wins over the general one.
    traces_url = f"{receiver.endpoint}/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces_url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")

    code = main([str(write_scenario(tmp_path, scenario))])
    spans = {span.span_id: span for span in receiver.spans()}
    records = consume(kafka_bootstrap, topic)

    assert code == 0
    assert len(records) == 3
    assert len(spans) == 2
    by_span: dict[str, list[int]] = {}
    for record in records:
        [traceparent] = [v for k, v in record.headers if k == "traceparent"]
        span_id = traceparent.decode().split("-")[2]
        by_span.setdefault(span_id, []).append(record.partition)
    assert sorted(len(p) for p in by_span.values()) == [1, 2]
    for span_id, partitions in by_span.items():
        attributes = spans[span_id].attributes
        assert attributes["messaging.batch.message_count"] == len(partitions)
        if len(set(partitions)) == 1:
            assert attributes["messaging.destination.partition.id"] == str(
                partitions[0]
            )
        else:
            assert attributes["scenario_run.partitions"] == sorted(set(partitions))


def test_scraped_counters_during_and_after_a_run_match_the_topic(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    rows = ["transaction_id,event_time,amount"] + [
        f"tx-{i},2024-05-06 10:{i // 2:02d}:{(i % 2) * 30:02d},{i}.50"
        for i in range(11)
    ]
    (tmp_path / "tx.csv").write_text("\n".join(rows) + "\n")
    topic = unique_topic("metrics")
    port = free_port()
    scenario = Scenario.model_validate(
        base_scenario(
            str(tmp_path / "tx.csv"),
            kafka={"bootstrap_servers": kafka_bootstrap, "topic": topic},
            replay={"delay": "400ms"},
            telemetry={"metrics_port": port},
        )
    )
    telemetry = Telemetry([scenario])
    replay = Replay(
        scenario,
        Control(),
        listener=telemetry.listener(scenario),
        recording=source.scan(scenario),
    )
    runner = threading.Thread(target=replay.run)

    try:
        runner.start()
        during = scrape_until(port, topic, "batches_delivered_total", 2)
        runner.join(timeout=30)
        after = scrape(port)
    finally:
        telemetry.stop()
    records = consume(kafka_bootstrap, topic)
    batches = [json.loads(record.value) for record in records]

    def value(name: str, **extra: str) -> float:
        return series(after, name, topic, **extra)

    assert series(during, "replay_state", topic, replay_state="running") == 1
    assert 0 < series(during, "replay_progress_ratio", topic) < 1
    assert series(during, "batches_produced_total", topic) < 6
    assert len(batches) == 6
    assert value("batches_produced_total") == len(records)
    assert value("messages_produced_total") == len(records)
    assert value("batches_delivered_total") == len(records)
    assert value("records_produced_total") == sum(len(b) for b in batches) == 11
    assert value("records_delivered_total") == 11
    assert value("records_failed_total") == 0
    assert value("batches_failed_total") == 0
    for histogram in (
        "produce_duration_seconds",
        "delivery_latency_seconds",
        "batch_lateness_seconds",
    ):
        assert value(f"{histogram}_count") == 6
    assert value("replay_progress_ratio") == 1
    assert value("replay_loop") == 1
    assert value("replay_data_time_seconds") == 1_714_989_900  # 10:05 UTC
    assert value("replay_state", replay_state="finished") == 1
    assert value("rows_skipped_total", reason="bad_timestamp") == 0
    for _, labels in after:
        assert {("scenario", "demo-payments"), ("topic", topic)} <= labels
    with pytest.raises(OSError):
        scrape(port)


def start(path: Path, *options: str) -> subprocess.Popen[str]:
    """The command as a process of its own, from this checkout."""
    return subprocess.Popen(
        [sys.executable, "-m", "runner", str(path), *options],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_delivery_counts_while_the_runner_sleeps_and_sigterm_flushes_its_span(
    tmp_path: Path, kafka_bootstrap: str, receiver: OtlpReceiver
) -> None:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    topic = unique_topic("sleeping")
    port = free_port()
    scenario = base_scenario(
        kafka={"bootstrap_servers": kafka_bootstrap, "topic": topic},
        replay={"speed": 1},
        telemetry={"metrics_port": port, "otlp_endpoint": receiver.endpoint},
    )
    del scenario["replay"]["delay"]
    process = start(write_scenario(tmp_path, scenario))

    try:
        produced = scrape_until(port, topic, "batches_produced_total", 1)
        produced_at = time.monotonic()
        delivered = scrape_until(port, topic, "batches_delivered_total", 1)
        delivered_after_s = time.monotonic() - produced_at
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
    finally:
        process.kill()
    spans = receiver.spans()

    assert series(produced, "batches_produced_total", topic) == 1
    assert delivered_after_s < 2.0
    # The next batch is a minute away: the count moved while the runner slept.
    assert series(delivered, "batches_produced_total", topic) == 1
    assert series(delivered, "records_delivered_total", topic) == 2
    assert process.returncode == 130, err
    assert "Traceback" not in err
    [span] = spans
    assert span.attributes["scenario_run.batch.index"] == 0
    assert span.status_code == 0


def test_a_closed_collector_port_keeps_the_schedule_and_a_bounded_exit(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    rows = ["transaction_id,event_time,amount"] + [
        f"tx-{i},2024-05-06 10:00:{i:02d},{i}.00" for i in range(20)
    ]
    (tmp_path / "tx.csv").write_text("\n".join(rows) + "\n")
    topic = unique_topic("closed-otlp")
    scenario = base_scenario(
        kafka={"bootstrap_servers": kafka_bootstrap, "topic": topic},
        batch={"interval": "1s"},
        replay={"delay": "250ms"},
        telemetry={
            "metrics_port": 0,
            "otlp_endpoint": f"http://127.0.0.1:{free_port()}",
        },
    )
    process = start(write_scenario(tmp_path, scenario))

    out, err = process.communicate(timeout=60)
    exited_ms = time.time() * 1000
    messages = consume_timed(kafka_bootstrap, topic)

    assert process.returncode == 0, err
    assert len(messages) == 20
    first = messages[0].timestamp_ms
    for index, message in enumerate(messages):
        assert abs(message.timestamp_ms - first - index * 250) < 500, index
        assert [k for k, _ in message.headers].count("traceparent") == 1
    last = messages[-1].timestamp_ms
    assert 4250 <= last - first <= 5250
    assert exited_ms - last < 5000
    warnings = [line for line in err.splitlines() if " WARNING " in line]
    assert 1 <= len(warnings) <= 3, err
    assert all("runner.telemetry" in line for line in warnings)
    assert "Traceback" not in err
    assert "delivered=20" in out


def test_a_metrics_port_in_use_fails_before_anything_is_produced(
    tmp_path: Path, kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    topic = unique_topic("port-in-use")

    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        scenario = base_scenario(
            kafka={"bootstrap_servers": kafka_bootstrap, "topic": topic},
            telemetry={"metrics_port": port},
        )
        code = main([str(write_scenario(tmp_path, scenario))])

    err = capsys.readouterr().err
    assert code == 3
    assert f"metrics port 127.0.0.1:{port} is already in use" in err
    assert "telemetry.metrics_port" in err
    assert "Traceback" not in err
    assert not topic_exists(kafka_bootstrap, topic)


def test_failed_deliveries_end_their_spans_as_errors_and_log_their_trace_ids(
    tmp_path: Path,
    kafka_bootstrap: str,
    receiver: OtlpReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The broker refuses record batches over the topic's max.message.bytes;
    # random text does not compress below it.
    topic = unique_topic("refused")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    created = NewTopic(topic, 1, 1, config={"max.message.bytes": "1000"})
    admin.create_topics([created])[topic].result(timeout=30)
    (tmp_path / "tx.csv").write_text(
        "transaction_id,event_time,note\n"
        f"tx-1,2024-05-06 10:00:05,{os.urandom(1500).hex()}\n"
        f"tx-2,2024-05-06 10:01:05,{os.urandom(1500).hex()}\n"
    )
    scenario = base_scenario(
        kafka={"bootstrap_servers": kafka_bootstrap, "topic": topic},
        telemetry={"metrics_port": 0, "otlp_endpoint": receiver.endpoint},
    )

    code = main([str(write_scenario(tmp_path, scenario)), "--log-format", "json"])
    spans = receiver.spans()
    err = capsys.readouterr().err

    assert code == 1
    assert len(spans) == 2
    assert all(span.status_code == 2 for span in spans)
    assert all("too large" in str(span.attributes["error.type"]) for span in spans)
    entries = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    failures = [e for e in entries if "batch not delivered" in e["message"]]
    assert len(failures) == 2
    assert all(
        e["level"] == "ERROR" and f"topic={topic}" in e["message"] for e in failures
    )
    assert {(e["trace_id"], e["span_id"]) for e in failures} == {
        (span.trace_id, span.span_id) for span in spans
    }
    assert all(re.search(r"partition=0 batch=\d", e["message"]) for e in failures)


def test_json_log_lines_are_json_and_say_when_tracing_is_off(
    tmp_path: Path, kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    topic = unique_topic("json-logs")
    scenario = base_scenario(
        kafka={"bootstrap_servers": kafka_bootstrap, "topic": topic}
    )

    code = main([str(write_scenario(tmp_path, scenario)), "--log-format", "json"])
    err = capsys.readouterr().err
    entries: list[dict[str, Any]] = [json.loads(line) for line in err.splitlines()]
    records = consume(kafka_bootstrap, topic)

    assert code == 0
    assert any(e["message"].startswith("tracing off") for e in entries)
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
    assert all("trace_id" not in e for e in entries)
    assert all(name != "traceparent" for r in records for name, _ in r.headers)
