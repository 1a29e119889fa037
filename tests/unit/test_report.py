"""The JSON report, the JUnit file and the summary's words for a stopped run."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from runner import report
from runner.errors import ScenarioError
from runner.stats import Measured, Percentiles
from runner.summary import STOPPED_BY_DURATION, Summary
from runner.thresholds import judge, parse_condition

MEASURED = Measured(
    delivery_latency=Percentiles(120, 0.0054, 0.0061, 0.412, 0.5),
    lateness=Percentiles(120, 0.000115, 0.0002, 0.00158, 0.0021),
    errors={"_MSG_TIMED_OUT": 3},
    requested_rate=100.0,
)


def summary(thresholds: dict[str, Any] | None = None, **changes: Any) -> Summary:
    fields: dict[str, Any] = {
        "scenario": "ci-smoke",
        "topic": "ci.smoke",
        "outcome": "completed",
        "read": 1500,
        "selected": 1500,
        "delivered": 1500,
        "failed": 0,
        "skipped": {"bad_timestamp": 0, "outside_window": 0},
        "unsent": 0,
        "batches": 120,
        "loops": 1,
        "wall_s": 15.5,
        "requested": "speed x450",
        "measured": MEASURED,
    }
    made = Summary(**{**fields, **changes})
    conditions = {
        metric: parse_condition(written)
        for metric, written in (thresholds or {}).items()
    }
    return Summary(**{**fields, **changes, "verdicts": tuple(judge(conditions, made))})


def test_the_json_report_holds_the_summary_rates_percentiles_and_errors() -> None:
    data = report.as_json([summary()])

    scenario = data["scenarios"][0]
    assert data["passed"] is True
    assert scenario["records"] == {
        "read": 1500,
        "selected": 1500,
        "delivered": 1500,
        "failed": 0,
        "skipped": 0,
        "unsent": 0,
    }
    assert scenario["outcome"] == "completed"
    assert scenario["stop_reason"] is None
    assert scenario["rate"] == {
        "requested_records_per_second": 100.0,
        "achieved_records_per_second": 96.8,
        "achieved_ratio": 0.9677,
    }
    assert scenario["delivery_latency_seconds"] == {
        "count": 120,
        "p50": 0.0054,
        "p95": 0.0061,
        "p99": 0.412,
        "max": 0.5,
    }
    assert scenario["lateness_seconds"] == {
        "count": 120,
        "p50": 0.000115,
        "p99": 0.00158,
        "max": 0.0021,
    }
    assert scenario["errors_by_kind"] == {"_MSG_TIMED_OUT": 3}
    assert scenario["thresholds"] == []
    json.dumps(data, allow_nan=False)


def test_the_json_report_gives_each_threshold_its_value_and_verdict() -> None:
    thresholds = {"delivery_failures": 0, "delivery_latency_p99": "< 250ms"}

    data = report.as_json([summary(thresholds)])

    assert data["passed"] is False
    assert data["scenarios"][0]["thresholds"] == [
        {
            "metric": "delivery_failures",
            "condition": "== 0",
            "observed": 0,
            "observed_text": "0",
            "passed": True,
        },
        {
            "metric": "delivery_latency_p99",
            "condition": "< 250ms",
            "observed": 0.412,
            "observed_text": "412ms",
            "passed": False,
        },
    ]


def test_an_unpaced_run_reports_no_requested_rate() -> None:
    unpaced = Measured(MEASURED.delivery_latency, MEASURED.lateness)

    data = report.as_json([summary(measured=unpaced)])

    assert data["scenarios"][0]["rate"]["requested_records_per_second"] is None
    assert data["scenarios"][0]["rate"]["achieved_ratio"] is None


def junit(*summaries: Summary) -> ET.Element:
    return ET.fromstring(ET.tostring(report.as_junit(summaries)))


def test_junit_has_a_case_per_scenario_and_per_threshold() -> None:
    thresholds = {"delivery_failures": 0, "delivery_latency_p99": "< 250ms"}

    root = junit(summary(thresholds), summary(scenario="burst"))

    suites = root.findall("testsuite")
    assert root.tag == "testsuites"
    assert len(suites) == 1
    assert suites[0].attrib["tests"] == "4"
    assert suites[0].attrib["failures"] == "1"
    assert root.attrib["failures"] == "1"
    cases = [
        (case.attrib["classname"], case.attrib["name"])
        for case in suites[0].iter("testcase")
    ]
    assert cases == [
        ("ci-smoke", "completed and delivered"),
        ("ci-smoke", "threshold delivery_failures == 0"),
        ("ci-smoke", "threshold delivery_latency_p99 < 250ms"),
        ("burst", "completed and delivered"),
    ]
    failures = [
        (case.attrib["name"], failure.attrib["message"])
        for case in suites[0].iter("testcase")
        for failure in case.iter("failure")
    ]
    assert failures == [
        (
            "threshold delivery_latency_p99 < 250ms",
            "delivery_latency_p99 = 412ms, wanted < 250ms",
        )
    ]


def test_junit_fails_the_scenario_case_when_records_failed() -> None:
    failed = summary(outcome="failed", delivered=1497, failed=3)

    root = junit(failed)

    case = root.find("testsuite/testcase")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None
    assert failure.attrib["message"] == (
        "outcome failed: delivered=1497 failed=3 unsent=0 (_MSG_TIMED_OUT=3)"
    )
    assert "records   read=1500" in (case.findtext("system-out") or "")


def test_reports_are_written_to_files_in_folders_made_for_them(
    tmp_path: Path,
) -> None:
    json_path = tmp_path / "out" / "deep" / "report.json"
    junit_path = tmp_path / "out" / "junit.xml"
    report.prepare(json_path, "--report")
    report.prepare(junit_path, "--junit")
    report.prepare(None, "--junit")

    report.write_json(json_path, [summary()])
    report.write_junit(junit_path, [summary()])

    assert json.loads(json_path.read_text())["scenarios"][0]["scenario"] == "ci-smoke"
    assert junit_path.read_text().startswith("<?xml version='1.0' encoding='utf-8'?>")
    assert ET.parse(junit_path).getroot().attrib["tests"] == "1"


def test_a_report_path_that_cannot_be_written_is_a_usage_error(
    tmp_path: Path,
) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")

    with pytest.raises(ScenarioError) as blocked:
        report.prepare(tmp_path / "taken" / "report.json", "--report")
    with pytest.raises(ScenarioError) as folder:
        report.prepare(tmp_path, "--junit")

    assert blocked.value.problems == [
        f"--report {tmp_path}/taken/report.json: cannot create its folder: File exists"
    ]
    assert folder.value.problems == [f"--junit {tmp_path}: is a folder, not a file"]


def test_a_run_stopped_by_its_duration_completed() -> None:
    stopped = summary(outcome="interrupted", delivered=700, unsent=800)

    reached = stopped.stopped_by(STOPPED_BY_DURATION)

    assert reached.outcome == "completed"
    assert reached.stop_reason == "duration"
    assert reached.delivered_all
    assert reached.render().startswith(
        "scenario ci-smoke -> ci.smoke: completed (reached --duration)\n"
    )


def test_a_run_stopped_otherwise_stays_interrupted_or_failed() -> None:
    interrupted = summary(outcome="interrupted")
    failing = summary(outcome="interrupted", failed=2, delivered=1498)

    assert interrupted.stopped_by("SIGTERM") is interrupted
    assert interrupted.stopped_by(None) is interrupted
    assert failing.stopped_by(STOPPED_BY_DURATION).outcome == "failed"
    assert summary().stopped_by(STOPPED_BY_DURATION).stop_reason is None


def test_the_human_summary_shows_rates_percentiles_errors_and_thresholds() -> None:
    thresholds = {"delivery_latency_p99": "< 250ms", "delivery_failures": 0}

    text = summary(thresholds).render()

    assert text.splitlines()[3:] == [
        "  time      wall=15.50s rate=97 records/s pace=speed x450 "
        "(asked 100 records/s, achieved 0.97)",
        "  latency   delivery p50=5.4ms p95=6.1ms p99=412ms max=500ms; "
        "lateness p50=115us p99=1.58ms max=2.1ms",
        "  errors    _MSG_TIMED_OUT=3",
        "  threshold delivery_latency_p99 = 412ms, wanted < 250ms: MISSED",
        "  threshold delivery_failures = 0, wanted == 0: met",
    ]
