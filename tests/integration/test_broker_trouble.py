"""A broker that pushes back, hangs, or is not there: nothing is lost or miscounted."""

import json
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from runner.cli import main
from tests.helpers import BASE_CSV, base_scenario, unique_topic, write_scenario
from tests.integration.conftest import SpareBroker, consume


def big_csv(path: Path, rows: int) -> Path:
    """One row per minute, as the known-failures generator writes it."""
    lines = [
        "transaction_id,event_time,card_token,merchant_id,merchant_country,"
        "amount,currency"
    ]
    for i in range(rows):
        day, minute = divmod(i, 1440)
        moment = (
            f"2024-{1 + day // 28:02d}-{1 + day % 28:02d} "
            f"{minute // 60:02d}:{minute % 60:02d}:00"
        )
        lines.append(
            f"tx-{i:06d},{moment},tok_{i % 50},m-{i % 7},DE,{(i % 9000) / 100:.2f},EUR"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def topic_exists(bootstrap: str, topic: str) -> bool:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    return topic in admin.list_topics(timeout=10).topics


def test_full_producer_queue_waits_instead_of_failing(
    tmp_path: Path, kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    big_csv(tmp_path / "big.csv", 150_000)
    topic = unique_topic("queue-full")
    # A small local queue makes back-pressure certain at this pace.
    scenario = base_scenario(
        "big.csv",
        kafka={
            "bootstrap_servers": kafka_bootstrap,
            "topic": topic,
            "config": {"queue.buffering.max.messages": 500},
        },
    )
    report = tmp_path / "report.json"

    code = main([str(write_scenario(tmp_path, scenario)), "--report", str(report)])

    assert code == 0
    err = capsys.readouterr().err
    assert "BufferError" not in err
    assert "back-pressure: produce waited for room" in err
    records = consume(kafka_bootstrap, topic)
    ids = [json.loads(record.value)[0]["transaction_id"] for record in records]
    assert ids == [f"tx-{i:06d}" for i in range(150_000)]
    counts = json.loads(report.read_text())["scenarios"][0]["records"]
    assert counts["delivered"] == counts["read"] == 150_000
    assert counts["failed"] == counts["unsent"] == 0


def test_error_found_in_the_csv_sends_nothing(
    tmp_path: Path, kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tx.csv").write_text(
        BASE_CSV + "tx-0004,not-a-date,tok_c3,m-100,DE,1.00,EUR\n"
    )
    topic = unique_topic("bad-row")
    scenario = base_scenario(
        kafka={"bootstrap_servers": kafka_bootstrap, "topic": topic}
    )

    code = main([str(write_scenario(tmp_path, scenario))])

    assert code == 2
    assert "tx.csv:5: column 'event_time': cannot read 'not-a-date'" in (
        capsys.readouterr().err
    )
    assert not topic_exists(kafka_bootstrap, topic)


def test_missing_topic_without_create_is_refused_at_start(
    tmp_path: Path, kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    topic = unique_topic("absent")
    scenario = base_scenario(
        kafka={
            "bootstrap_servers": kafka_bootstrap,
            "topic": topic,
            "create_topic": False,
            "config": {"message.timeout.ms": 5000},
        }
    )

    code = main([str(write_scenario(tmp_path, scenario))])

    assert code == 3
    assert (
        f"error: topic '{topic}' does not exist on {kafka_bootstrap} and "
        "kafka.create_topic is false"
    ) in capsys.readouterr().err
    assert not topic_exists(kafka_bootstrap, topic)


def test_no_broker_fails_in_bounded_time_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    scenario = base_scenario(
        kafka={
            "bootstrap_servers": "127.0.0.1:1",
            "topic": "never",
            "connect_timeout": "3s",
        }
    )
    began = time.monotonic()

    code = main([str(write_scenario(tmp_path, scenario))])

    elapsed = time.monotonic() - began
    err = capsys.readouterr().err
    assert code == 3
    assert 2.5 < elapsed < 10
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith(
        "error: cannot reach Kafka at 127.0.0.1:1 within 3s "
        "(kafka.bootstrap_servers, kafka.connect_timeout)"
    )
    # librdkafka retries every second; the log says so once, not every time.
    assert err.count("Connection refused") <= 2


def test_hung_broker_at_the_end_is_reported_after_the_flush_timeout(
    tmp_path: Path, spare_broker: SpareBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    topic = unique_topic("hung")
    scenario = base_scenario(
        kafka={
            "bootstrap_servers": spare_broker.address,
            "topic": topic,
            "flush_timeout": "2s",
        },
        # One second between the batches leaves time to freeze the broker.
        replay={"delay": "1s"},
    )
    report = tmp_path / "report.json"
    path = write_scenario(tmp_path, scenario)

    freezer = threading.Timer(0.5, spare_broker.freeze)
    freezer.start()
    try:
        code = main([str(path), "--report", str(report)])
    finally:
        freezer.cancel()
        spare_broker.thaw()

    err = capsys.readouterr().err
    counts = json.loads(report.read_text())["scenarios"][0]["records"]
    assert code == 1
    assert "messages not acknowledged within kafka.flush_timeout=2s" in (
        capsys.readouterr().out + err + report.read_text()
    )
    assert counts["failed"] >= 1
    assert counts["delivered"] + counts["failed"] == 3
    delivered_on_topic = sum(
        len(json.loads(record.value)) for record in consume(spare_broker.address, topic)
    )
    assert delivered_on_topic >= counts["delivered"]


def test_broker_that_hangs_mid_run_slows_the_replay_and_loses_nothing(
    tmp_path: Path, spare_broker: SpareBroker
) -> None:
    big_csv(tmp_path / "big.csv", 3_000)
    topic = unique_topic("stall")
    scenario = base_scenario(
        "big.csv",
        kafka={"bootstrap_servers": spare_broker.address, "topic": topic},
        replay={"delay": "1ms"},
    )
    path = write_scenario(tmp_path, scenario)

    def stall() -> None:
        spare_broker.freeze()
        time.sleep(3)
        spare_broker.thaw()

    staller = threading.Timer(1.0, stall)
    staller.start()
    code = main([str(path)])
    staller.join()

    assert code == 0
    records = consume(spare_broker.address, topic)
    ids = [json.loads(record.value)[0]["transaction_id"] for record in records]
    assert ids == [f"tx-{i:06d}" for i in range(3_000)]


def test_message_the_client_refuses_counts_as_failed_without_a_traceback(
    tmp_path: Path, kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tx.csv").write_text(
        BASE_CSV.replace(",currency\n", ",currency,note\n", 1)
        .replace(",EUR\n", ",EUR,short\n")
        .replace(",NOK\n", ",NOK," + "ab" * 2000 + "\n")
    )
    topic = unique_topic("too-large")
    scenario = base_scenario(
        kafka={
            "bootstrap_servers": kafka_bootstrap,
            "topic": topic,
            "config": {"message.max.bytes": 1000},
        },
        message={"per": "record"},
    )
    report = tmp_path / "report.json"

    code = main([str(write_scenario(tmp_path, scenario)), "--report", str(report)])

    err = capsys.readouterr().err
    counts = json.loads(report.read_text())["scenarios"][0]["records"]
    assert code == 1
    assert "Traceback" not in err
    assert "message refused by the client" in err
    assert (counts["delivered"], counts["failed"], counts["unsent"]) == (2, 1, 0)
    ids = [
        json.loads(record.value)["transaction_id"]
        for record in consume(kafka_bootstrap, topic)
    ]
    assert ids == ["tx-0001", "tx-0003"]
