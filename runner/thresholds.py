"""Thresholds: conditions on what a run measured, and their verdicts after it.

A scenario's ``thresholds:`` maps a metric to a condition: a bare whole number
means "equal to" and is only for counts (``delivery_failures: 0``); any other
condition is an operator and a bound (``">= 0.95"``, ``"< 250ms"``).
"""

import difflib
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, cast

from runner.durations import parse_duration

if TYPE_CHECKING:
    from runner.stats import Measured
    from runner.summary import Summary

MetricKind = Literal["count", "ratio", "duration"]
Operator = Literal["<", "<=", ">", ">=", "=="]


@dataclass(frozen=True)
class Metric:
    """A value a threshold can test, what kind of value it is, and what it means."""

    name: str
    kind: MetricKind
    meaning: str


METRICS = {
    metric.name: metric
    for metric in (
        Metric("delivery_failures", "count", "records that failed to deliver"),
        Metric("records_delivered", "count", "records the broker acknowledged"),
        Metric(
            "skipped_records",
            "count",
            "rows left out: bad timestamp, outside the window, bad row",
        ),
        Metric(
            "achieved_rate_ratio",
            "ratio",
            "records delivered per second of wall time, over the rate the pace "
            "asked for",
        ),
        Metric(
            "delivery_latency_p50",
            "duration",
            "delivery latency, median: from a batch's first produce to its last "
            "acknowledgement",
        ),
        Metric("delivery_latency_p95", "duration", "delivery latency, 95th percentile"),
        Metric("delivery_latency_p99", "duration", "delivery latency, 99th percentile"),
        Metric("delivery_latency_max", "duration", "delivery latency, the longest"),
        Metric(
            "lateness_p50",
            "duration",
            "lateness, median: how late a batch left against its schedule",
        ),
        Metric("lateness_p99", "duration", "lateness, 99th percentile"),
        Metric("lateness_max", "duration", "lateness, the latest batch"),
    )
}

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}
_CONDITION = re.compile(r"\s*(<=|>=|==|<|>)\s*(\S+)\s*")
_NUMBER = re.compile(r"\d+(\.\d+)?|\.\d+")
_MICROSECONDS = re.compile(r"(\d+(?:\.\d+)?)(?:us|µs)")
_DURATION = re.compile(r"(\d+(\.\d+)?(ms|s|m|h|d))+")
_EXAMPLES = "such as '>= 0.95' or '< 250ms' (operators <, <=, >, >=, ==)"


@dataclass(frozen=True)
class Condition:
    """A threshold's test: the observed value against a bound, e.g. ``< 250ms``."""

    operator: Operator
    bound: float  # seconds, for a duration
    written: str  # the bound as written: 250ms, 0.95, 0
    bare: bool = False  # written as a whole number alone, meaning "equal to"
    timed: bool = False  # the bound has a time unit

    def holds(self, value: float) -> bool:
        return _COMPARE[self.operator](value, self.bound)

    def as_written(self) -> int | str:
        """The condition as a scenario file holds it."""
        return int(self.bound) if self.bare else str(self)

    def __str__(self) -> str:
        return f"{self.operator} {self.written}"


def check_metric(name: str) -> str:
    """The metric name itself, or a ValueError naming the closest known one."""
    if name in METRICS:
        return name
    close = difflib.get_close_matches(name, list(METRICS), n=1, cutoff=0.6)
    if close:
        raise ValueError(f"unknown metric; did you mean {close[0]!r}?")
    raise ValueError(f"unknown metric; known metrics: {', '.join(METRICS)}")


def parse_condition(value: Any) -> Condition:
    """Read a condition as written in a scenario; a ValueError says what is wrong."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return Condition("==", float(value), str(value), bare=True)
    if not isinstance(value, str):
        raise ValueError(
            f"expected a whole number or a condition {_EXAMPLES}, got {_given(value)}"
        )
    found = _CONDITION.fullmatch(value)
    if found is None:
        raise ValueError(
            f"expected a condition {_EXAMPLES}, got {value!r}; a condition starts "
            f"with its operator"
        )
    sign, text = found.group(1), found.group(2)
    bound, timed = _bound(text, value)
    return Condition(cast(Operator, sign), bound, text, timed=timed)


def _bound(text: str, written: str) -> tuple[float, bool]:
    """The bound in seconds or as a number, and whether it has a time unit."""
    if _NUMBER.fullmatch(text):
        return float(text), False
    micro = _MICROSECONDS.fullmatch(text)
    if micro:
        return float(micro.group(1)) * 1e-6, True
    if _DURATION.fullmatch(text):
        return parse_duration(text), True
    raise ValueError(
        f"cannot read {text!r} in {written!r} as a number or a duration such as "
        f"250ms, 2s or 500us"
    )


def check_kind(metric: str, condition: Condition) -> None:
    """Raise a ValueError when a condition does not suit its metric's kind."""
    kind = METRICS[metric].kind
    whole = not condition.timed and condition.bound == int(condition.bound)
    wrong = (
        (kind == "count" and (condition.timed or not whole))
        or (kind == "ratio" and (condition.bare or condition.timed))
        or (kind == "duration" and condition.bare)
    )
    if not wrong:
        return
    expected = {
        "count": "a whole number or a condition on a count such as '<= 10'",
        "ratio": "a condition on a ratio such as '>= 0.95'",
        "duration": "a condition on a duration such as '< 250ms'",
    }[kind]
    raise ValueError(f"expected {expected}, got {_given(condition.as_written())}")


def _given(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Verdict:
    """One threshold after the run: what was observed and whether it held."""

    metric: str
    condition: Condition
    observed: float | None
    passed: bool
    missing: str | None = None  # why there is no observed value

    @property
    def observed_text(self) -> str:
        if self.observed is None:
            return f"not measured ({self.missing})"
        return format_value(self.metric, self.observed)

    def describe(self) -> str:
        """``delivery_latency_p99 = 412ms, wanted < 250ms``."""
        return f"{self.metric} = {self.observed_text}, wanted {self.condition}"


def format_value(metric: str, value: float) -> str:
    """A metric's value the way its conditions are written."""
    kind = METRICS[metric].kind
    if kind == "count":
        return str(round(value))
    if kind == "ratio":
        return f"{value:.3f}"
    return format_seconds(value)


def format_seconds(value: float) -> str:
    """Seconds in the unit that reads best: ``85us``, ``4.12ms``, ``1.5s``."""
    if value < 1e-3:
        return f"{value * 1e6:.0f}us"
    if value < 1:
        return _three_digits(value * 1e3) + "ms"
    return _three_digits(value) + "s"


def _three_digits(value: float) -> str:
    # No exponent: 412, 41.2, 4.12.
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def observe(summary: "Summary") -> dict[str, tuple[float | None, str | None]]:
    """Every metric's value in a finished run, or None and why it has none."""
    measured = summary.measured
    values: dict[str, tuple[float | None, str | None]] = {
        "delivery_failures": (summary.failed, None),
        "records_delivered": (summary.delivered, None),
        "skipped_records": (summary.skipped_total, None),
    }
    ratio = summary.achieved_ratio
    if ratio is not None:
        values["achieved_rate_ratio"] = (ratio, None)
    else:
        values["achieved_rate_ratio"] = (
            None,
            "no rate was asked for: replay.delay 0, or fewer than two batches sent",
        )

    latency = measured.delivery_latency if measured else None
    lateness = measured.lateness if measured else None
    for name, percentiles, missing in (
        ("delivery_latency", latency, "no batch was acknowledged"),
        ("lateness", lateness, "no batch was sent"),
    ):
        for suffix in ("p50", "p95", "p99", "max"):
            value = getattr(percentiles, suffix) if percentiles else None
            values[f"{name}_{suffix}"] = (value, None if value is not None else missing)
    return values


def judge(thresholds: Mapping[str, Condition], summary: "Summary") -> list[Verdict]:
    """The verdict of each threshold on a finished run; no value is a miss."""
    values = observe(summary)
    verdicts = []
    for metric, condition in thresholds.items():
        observed, missing = values[metric]
        passed = (
            observed is not None
            and math.isfinite(observed)
            and condition.holds(observed)
        )
        verdicts.append(Verdict(metric, condition, observed, passed, missing))
    return verdicts


def conclude(
    thresholds: Mapping[str, Condition], summary: "Summary", measured: "Measured"
) -> "Summary":
    """The summary with what was measured and the verdict of each threshold."""
    summary = replace(summary, measured=measured)
    return replace(summary, verdicts=tuple(judge(thresholds, summary)))
