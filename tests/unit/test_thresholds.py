"""Thresholds: how conditions are read, which suit which metric, and the verdicts."""

from pathlib import Path
from typing import Any

import pytest

from runner import config, schema
from runner.stats import Measured, Percentiles
from runner.summary import Summary
from runner.thresholds import (
    METRICS,
    Condition,
    check_kind,
    check_metric,
    conclude,
    judge,
    parse_condition,
)
from tests.helpers import BASE_CSV, base_scenario, write_scenario


def measured(
    latency: tuple[float, float, float, float] | None = (0.004, 0.006, 0.012, 0.04),
    lateness: tuple[float, float, float] | None = (0.0001, 0.0005, 0.002),
    requested_rate: float | None = 100.0,
) -> Measured:
    def percentiles(values: tuple[float, ...] | None, count: int) -> Percentiles:
        if values is None:
            return Percentiles(0, None, None, None, None)
        if len(values) == 3:
            p50, p99, top = values
            return Percentiles(count, p50, p50, p99, top)
        return Percentiles(count, *values)

    return Measured(
        delivery_latency=percentiles(latency, 120),
        lateness=percentiles(lateness, 120),
        requested_rate=requested_rate,
    )


def summary(**changes: Any) -> Summary:
    fields: dict[str, Any] = {
        "scenario": "ci-smoke",
        "topic": "ci-smoke",
        "outcome": "completed",
        "read": 1500,
        "selected": 1500,
        "delivered": 1500,
        "failed": 0,
        "skipped": {"bad_timestamp": 0},
        "unsent": 0,
        "batches": 120,
        "loops": 1,
        "wall_s": 16.0,
        "requested": "speed x450",
        "measured": measured(),
    }
    return Summary(**{**fields, **changes})


@pytest.mark.parametrize(
    ("written", "operator", "bound", "shown"),
    [
        (0, "==", 0.0, "== 0"),
        (1500, "==", 1500.0, "== 1500"),
        (">= 0.95", ">=", 0.95, ">= 0.95"),
        (">=.9", ">=", 0.9, ">= .9"),
        ("< 250ms", "<", 0.25, "< 250ms"),
        ("<=2s", "<=", 2.0, "<= 2s"),
        ("  <  1us ", "<", 1e-6, "< 1us"),
        ("< 500µs", "<", 0.0005, "< 500µs"),
        ("<= 1h30m", "<=", 5400.0, "<= 1h30m"),
        ("> 10", ">", 10.0, "> 10"),
        ("== 3", "==", 3.0, "== 3"),
    ],
)
def test_conditions_are_read_as_written(
    written: int | str, operator: str, bound: float, shown: str
) -> None:
    condition = parse_condition(written)

    assert condition.operator == operator
    assert condition.bound == pytest.approx(bound)
    assert str(condition) == shown


@pytest.mark.parametrize(
    ("written", "complaint"),
    [
        ("about 5", "a condition starts with its operator"),
        ("=> 3", "got '=> 3'"),
        ("< fast", "cannot read 'fast' in '< fast' as a number or a duration"),
        ("< -5s", "cannot read '-5s'"),
        ("< 1e3", "cannot read '1e3'"),
        (0.5, "expected a whole number or a condition such as '>= 0.95'"),
        (-1, "got -1"),
        (True, "got true"),
        (None, "got an empty value"),
        ([1], "got [1]"),
    ],
)
def test_a_bad_condition_says_what_was_expected(written: Any, complaint: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_condition(written)

    assert complaint in str(raised.value)


@pytest.mark.parametrize(
    ("metric", "written"),
    [
        ("delivery_failures", 0),
        ("records_delivered", ">= 1500"),
        ("skipped_records", "<= 10"),
        ("achieved_rate_ratio", ">= 0.95"),
        ("achieved_rate_ratio", "> 1"),
        ("delivery_latency_p99", "< 250ms"),
        ("lateness_max", "< 0.5"),
    ],
)
def test_a_condition_that_suits_its_metric_passes(
    metric: str, written: int | str
) -> None:
    check_kind(metric, parse_condition(written))


@pytest.mark.parametrize(
    ("metric", "written", "complaint"),
    [
        (
            "delivery_failures",
            "< 2s",
            "expected a whole number or a condition on a count such as '<= 10', "
            "got '< 2s'",
        ),
        (
            "records_delivered",
            ">= 10.5",
            "expected a whole number or a condition on a count such as '<= 10', "
            "got '>= 10.5'",
        ),
        (
            "achieved_rate_ratio",
            1,
            "expected a condition on a ratio such as '>= 0.95', got 1",
        ),
        (
            "achieved_rate_ratio",
            ">= 1s",
            "expected a condition on a ratio such as '>= 0.95', got '>= 1s'",
        ),
        (
            "delivery_latency_p99",
            0,
            "expected a condition on a duration such as '< 250ms', got 0",
        ),
    ],
)
def test_a_condition_that_does_not_suit_its_metric_is_refused(
    metric: str, written: int | str, complaint: str
) -> None:
    with pytest.raises(ValueError) as raised:
        check_kind(metric, parse_condition(written))

    assert str(raised.value) == complaint


def test_an_unknown_metric_gets_the_closest_name_or_the_list() -> None:
    assert check_metric("lateness_p99") == "lateness_p99"
    with pytest.raises(ValueError, match="did you mean 'delivery_latency_p99'"):
        check_metric("delivery_latncy_p99")
    with pytest.raises(ValueError, match="known metrics: delivery_failures, "):
        check_metric("throughput")


@pytest.mark.parametrize(
    ("operator", "results"),
    [
        ("<", (True, False, False)),
        ("<=", (True, True, False)),
        (">", (False, False, True)),
        (">=", (False, True, True)),
        ("==", (False, True, False)),
    ],
)
def test_each_operator_compares_the_observed_value_with_the_bound(
    operator: str, results: tuple[bool, bool, bool]
) -> None:
    condition = parse_condition(f"{operator} 5")

    assert (condition.holds(4), condition.holds(5), condition.holds(6)) == results


def test_every_metric_has_a_value_in_a_measured_run() -> None:
    thresholds = {name: parse_condition(">= 0") for name in METRICS}

    verdicts = judge(thresholds, summary(delivered=1400, failed=100))

    observed = {verdict.metric: verdict.observed for verdict in verdicts}
    assert observed == {
        "delivery_failures": 100,
        "records_delivered": 1400,
        "skipped_records": 0,
        "achieved_rate_ratio": pytest.approx(1400 / 16.0 / 100.0),
        "delivery_latency_p50": 0.004,
        "delivery_latency_p95": 0.006,
        "delivery_latency_p99": 0.012,
        "delivery_latency_max": 0.04,
        "lateness_p50": 0.0001,
        "lateness_p99": 0.0005,
        "lateness_max": 0.002,
    }
    assert all(verdict.passed for verdict in verdicts)


def test_a_missed_threshold_says_what_was_observed_and_wanted() -> None:
    thresholds = {
        "delivery_latency_p99": parse_condition("< 250ms"),
        "delivery_failures": parse_condition(0),
        "achieved_rate_ratio": parse_condition(">= 0.95"),
    }
    slow = measured(latency=(0.1, 0.3, 0.412, 0.5))

    verdicts = judge(thresholds, summary(measured=slow, failed=3, delivered=1497))

    assert [(verdict.passed, verdict.describe()) for verdict in verdicts] == [
        (False, "delivery_latency_p99 = 412ms, wanted < 250ms"),
        (False, "delivery_failures = 3, wanted == 0"),
        (False, "achieved_rate_ratio = 0.936, wanted >= 0.95"),
    ]


def test_a_metric_without_a_value_misses_and_says_why() -> None:
    thresholds = {
        "achieved_rate_ratio": parse_condition(">= 0"),
        "delivery_latency_max": parse_condition("< 1h"),
        "lateness_p50": parse_condition("< 1h"),
    }
    nothing = measured(latency=None, lateness=None, requested_rate=None)

    verdicts = judge(thresholds, summary(measured=nothing, delivered=0))

    assert not any(verdict.passed for verdict in verdicts)
    assert [verdict.describe() for verdict in verdicts] == [
        "achieved_rate_ratio = not measured (no rate was asked for: replay.delay 0, "
        "or fewer than two batches sent), wanted >= 0",
        "delivery_latency_max = not measured (no batch was acknowledged), wanted < 1h",
        "lateness_p50 = not measured (no batch was sent), wanted < 1h",
    ]


def test_conclude_puts_the_measures_and_verdicts_in_the_summary() -> None:
    thresholds = {"delivery_latency_max": parse_condition("< 10ms")}
    bare = summary(measured=None)

    concluded = conclude(thresholds, bare, measured())

    assert concluded.measured == measured()
    assert [verdict.describe() for verdict in concluded.missed] == [
        "delivery_latency_max = 40ms, wanted < 10ms"
    ]


def test_thresholds_load_from_a_scenario_in_order_and_render_back(
    tmp_path: Path,
) -> None:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    written = {
        "delivery_failures": 0,
        "achieved_rate_ratio": ">= 0.95",
        "delivery_latency_p99": "< 250ms",
    }
    path = write_scenario(tmp_path, base_scenario(thresholds=written))

    loaded = config.load(path)

    conditions = loaded.scenario.thresholds.root
    assert list(conditions) == list(written)
    assert conditions["delivery_latency_p99"] == Condition(
        "<", 0.25, "250ms", timed=True
    )
    rendered = schema.render(loaded.scenario)
    assert "thresholds:\n  delivery_failures: 0\n" in rendered
    assert "achieved_rate_ratio: '>= 0.95'\n" in rendered
    render_path = tmp_path / "rendered.yaml"
    render_path.write_text(rendered)
    assert config.load(render_path).scenario.thresholds == loaded.scenario.thresholds


def test_an_empty_thresholds_section_is_no_thresholds(tmp_path: Path) -> None:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    path = write_scenario(tmp_path, base_scenario())
    path.write_text(path.read_text() + "thresholds:\n")

    loaded = config.load(path)

    assert loaded.scenario.thresholds.root == {}
