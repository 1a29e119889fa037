"""CI mode against the real broker: thresholds decide the exit code, reports say why."""

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from runner.cli import main
from tests.helpers import BASE_CSV, REPO, base_scenario, unique_topic, write_scenario
from tests.integration.conftest import count_messages

SAMPLE = REPO / "sample_data" / "transactions.csv"


def failures(junit: Path) -> dict[str, str]:
    """Each failed test case's name and its failure message."""
    return {
        case.attrib["name"]: failure.attrib["message"]
        for case in ET.parse(junit).getroot().iter("testcase")
        for failure in case.iter("failure")
    }


def verdicts(report: Path) -> dict[str, dict[str, Any]]:
    scenario = json.loads(report.read_text())["scenarios"][0]
    return {verdict["metric"]: verdict for verdict in scenario["thresholds"]}


def test_an_unreachable_threshold_exits_1_and_both_reports_name_it(
    tmp_path: Path, kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    scenario = base_scenario(
        kafka={"bootstrap_servers": kafka_bootstrap, "topic": unique_topic("ci")},
        thresholds={
            "delivery_failures": 0,
            "records_delivered": ">= 10000000",
            "delivery_latency_p99": "< 1us",
        },
    )
    report, junit = tmp_path / "out" / "report.json", tmp_path / "out" / "junit.xml"
    path = write_scenario(tmp_path, scenario)

    code = main([str(path), "--report", str(report), "--junit", str(junit)])

    err = capsys.readouterr().err
    assert code == 1
    assert (
        "threshold missed: scenario demo-payments: records_delivered = 3, "
        "wanted >= 10000000\n" in err
    )
    assert "threshold missed: scenario demo-payments: delivery_latency_p99 = " in err
    data = json.loads(report.read_text())
    assert data["passed"] is False
    assert data["scenarios"][0]["records"]["delivered"] == 3
    found = verdicts(report)
    assert found["delivery_failures"]["passed"] is True
    assert found["records_delivered"] == {
        "metric": "records_delivered",
        "condition": ">= 10000000",
        "observed": 3,
        "observed_text": "3",
        "passed": False,
    }
    assert found["delivery_latency_p99"]["passed"] is False
    assert found["delivery_latency_p99"]["observed"] > 1e-6
    failed = failures(junit)
    assert set(failed) == {
        "threshold records_delivered >= 10000000",
        "threshold delivery_latency_p99 < 1us",
    }
    assert failed["threshold records_delivered >= 10000000"] == (
        "records_delivered = 3, wanted >= 10000000"
    )
    assert failed["threshold delivery_latency_p99 < 1us"].endswith(", wanted < 1us")


def test_the_ci_smoke_scenario_meets_its_thresholds_and_exits_0(
    tmp_path: Path,
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = unique_topic("ci-smoke")
    monkeypatch.setenv("KAFKA_TOPIC", topic)
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    reports = ["--report", str(report), "--junit", str(junit)]

    code = main(["--duration", "60s", *reports, str(REPO / "scenarios/ci-smoke.yaml")])

    err = capsys.readouterr().err
    assert code == 0, err
    assert "threshold missed" not in err
    data = json.loads(report.read_text())
    scenario = data["scenarios"][0]
    assert data["passed"] is True
    assert scenario["outcome"] == "completed"
    assert scenario["stop_reason"] is None
    assert scenario["records"]["delivered"] == 1500
    assert scenario["rate"]["requested_records_per_second"] > 0
    assert scenario["delivery_latency_seconds"]["count"] == 120
    assert scenario["errors_by_kind"] == {}
    assert len(found := verdicts(report)) >= 5
    assert all(verdict["passed"] for verdict in found.values())
    root = ET.parse(junit).getroot()
    assert root.attrib["failures"] == "0"
    assert root.attrib["tests"] == str(1 + len(found))
    assert count_messages(kafka_bootstrap, topic) == 120


def test_duration_stops_a_long_run_which_then_counts_as_completed(
    tmp_path: Path, kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = base_scenario(
        csv_path=str(SAMPLE),
        kafka={"bootstrap_servers": kafka_bootstrap, "topic": unique_topic("ci")},
        source={
            "path": str(SAMPLE),
            "timestamp": {"column": "timestamp", "format": "iso8601"},
        },
        replay={"delay": None, "speed": 10},  # two hours of data: 12 minutes
        thresholds={"delivery_failures": 0, "lateness_p99": "< 1s"},
    )
    report = tmp_path / "report.json"
    path = write_scenario(tmp_path, scenario)
    began = time.monotonic()

    code = main(["--duration", "2s", "--report", str(report), str(path)])

    elapsed = time.monotonic() - began
    out = capsys.readouterr().out
    assert code == 0
    assert 1.5 < elapsed < 15
    assert ": completed (reached --duration)" in out
    scenario_report = json.loads(report.read_text())["scenarios"][0]
    assert scenario_report["outcome"] == "completed"
    assert scenario_report["stop_reason"] == "duration"
    records = scenario_report["records"]
    assert records["delivered"] > 0
    assert records["failed"] == 0
    assert records["unsent"] > 1000
    assert all(verdict["passed"] for verdict in verdicts(report).values())


def test_errors_are_reported_by_their_librdkafka_code(
    tmp_path: Path, kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # One record too large for message.max.bytes: the client refuses it outright.
    (tmp_path / "tx.csv").write_text(BASE_CSV.replace("tok_b2", "tok_" + "b" * 2000))
    scenario = base_scenario(
        kafka={
            "bootstrap_servers": kafka_bootstrap,
            "topic": unique_topic("ci"),
            "config": {"message.max.bytes": 1000},
        },
        message={"per": "record"},
        thresholds={"delivery_failures": 0},
    )
    path = write_scenario(tmp_path, scenario)
    report = tmp_path / "report.json"

    code = main([str(path), "--report", str(report)])

    err = capsys.readouterr().err
    assert code == 1
    assert "threshold missed: scenario demo-payments: delivery_failures = 1" in err
    scenario_report = json.loads(report.read_text())["scenarios"][0]
    assert scenario_report["errors_by_kind"] == {"MSG_SIZE_TOO_LARGE": 1}
    assert scenario_report["records"]["delivered"] == 2
