"""The run's reports for machines: a JSON document and a JUnit XML file for CI."""

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.errors import ScenarioError
from runner.stats import Percentiles
from runner.summary import Summary
from runner.thresholds import Verdict

_SUITE = "scenario-run"


def prepare(path: Path | None, option: str) -> None:
    """Make the folder a report goes to, before anything is sent."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ScenarioError(
            [f"{option} {path}: cannot create its folder: {error.strerror or error}"]
        ) from None
    if path.is_dir():
        raise ScenarioError([f"{option} {path}: is a folder, not a file"])


def passed(summaries: Sequence[Summary]) -> bool:
    """Every scenario completed, delivered what it sent and met its thresholds."""
    return all(summary.delivered_all and not summary.missed for summary in summaries)


def as_json(summaries: Sequence[Summary]) -> dict[str, Any]:
    """The JSON report: whether the run passed, and each scenario in full."""
    return {
        "passed": passed(summaries),
        "scenarios": [scenario_report(summary) for summary in summaries],
    }


def scenario_report(summary: Summary) -> dict[str, Any]:
    """Everything the summary says of one scenario, with its thresholds' verdicts."""
    measured = summary.measured
    data = summary.as_dict()
    data["delivered_all"] = summary.delivered_all
    data["rate"] = {
        "requested_records_per_second": _round(summary.requested_rate, 1),
        "achieved_records_per_second": round(summary.rate, 1),
        "achieved_ratio": _round(summary.achieved_ratio, 4),
    }
    if measured is not None:
        data["delivery_latency_seconds"] = _percentiles(measured.delivery_latency)
        data["lateness_seconds"] = _percentiles(measured.lateness, p95=False)
        data["errors_by_kind"] = dict(measured.errors)
    data["thresholds"] = [_verdict(verdict) for verdict in summary.verdicts]
    return data


def _percentiles(values: Percentiles, p95: bool = True) -> dict[str, Any]:
    shown: dict[str, Any] = {"count": values.count, "p50": _round(values.p50)}
    if p95:
        shown["p95"] = _round(values.p95)
    shown["p99"] = _round(values.p99)
    shown["max"] = _round(values.max)
    return shown


def _verdict(verdict: Verdict) -> dict[str, Any]:
    return {
        "metric": verdict.metric,
        "condition": str(verdict.condition),
        "observed": _round(verdict.observed),
        "observed_text": verdict.observed_text,
        "passed": verdict.passed,
    }


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def write_json(path: Path, summaries: Sequence[Summary]) -> None:
    path.write_text(json.dumps(as_json(summaries), indent=2) + "\n", encoding="utf-8")


def as_junit(summaries: Sequence[Summary]) -> ET.Element:
    """One test suite for the run: a case per scenario and one per threshold."""
    cases = [case for summary in summaries for case in _cases(summary)]
    failures = sum(1 for case in cases if case.find("failure") is not None)
    wall = f"{max((summary.wall_s for summary in summaries), default=0.0):.3f}"
    totals = {
        "name": _SUITE,
        "tests": str(len(cases)),
        "failures": str(failures),
        "errors": "0",
        "time": wall,
    }

    root = ET.Element("testsuites", totals)
    suite = ET.SubElement(root, "testsuite", {**totals, "skipped": "0"})
    suite.extend(cases)
    ET.indent(root)
    return root


def _cases(summary: Summary) -> list[ET.Element]:
    run = ET.Element(
        "testcase",
        classname=summary.scenario,
        name="completed and delivered",
        time=f"{summary.wall_s:.3f}",
    )
    if not summary.delivered_all:
        ET.SubElement(run, "failure", message=_run_problem(summary), type="delivery")
    ET.SubElement(run, "system-out").text = summary.render()

    cases = [run]
    for verdict in summary.verdicts:
        case = ET.Element(
            "testcase",
            classname=summary.scenario,
            name=f"threshold {verdict.metric} {verdict.condition}",
            time="0",
        )
        if not verdict.passed:
            ET.SubElement(case, "failure", message=verdict.describe(), type="threshold")
        cases.append(case)
    return cases


def _run_problem(summary: Summary) -> str:
    problem = (
        f"outcome {summary.outcome}: delivered={summary.delivered} "
        f"failed={summary.failed} unsent={summary.unsent}"
    )
    if summary.measured is not None and summary.measured.errors:
        kinds = ", ".join(f"{k}={v}" for k, v in summary.measured.errors.items())
        problem += f" ({kinds})"
    if summary.error:
        problem += f"; {summary.error}"
    return problem


def write_junit(path: Path, summaries: Sequence[Summary]) -> None:
    tree = ET.ElementTree(as_junit(summaries))
    tree.write(path, encoding="utf-8", xml_declaration=True)
