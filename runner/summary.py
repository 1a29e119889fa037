"""The run summary: counts that add up, wall time, and the pace achieved."""

import threading
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from runner.stats import Measured, Percentiles
from runner.thresholds import Verdict, format_seconds

Outcome = Literal["completed", "interrupted", "failed"]

STOPPED_BY_DURATION = "duration"
"""The stop reason of a run that reached its --duration; such a run completed."""


@dataclass
class Tally:
    """Counters of one scenario.

    Each counter has one writer: the replay thread counts what it sends, the
    delivery thread what is acknowledged or failed; others only read them.
    Failures may also be counted by the replay thread (a message the client
    refuses outright), so `failed` changes under `failures`.
    """

    read: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    batches_sent: int = 0
    records_sent: int = 0
    messages_sent: int = 0
    batches_delivered: int = 0
    delivered: int = 0
    failed: int = 0
    loops: int = 0
    failures: threading.Lock = field(default_factory=threading.Lock, repr=False)


@dataclass(frozen=True)
class Summary:
    """How one scenario's run ended; read = delivered + failed + skipped + unsent."""

    scenario: str
    topic: str
    outcome: Outcome
    read: int
    selected: int
    delivered: int
    failed: int
    skipped: dict[str, int]
    unsent: int
    batches: int
    loops: int
    wall_s: float
    requested: str
    error: str | None = None
    stop_reason: str | None = None
    measured: Measured | None = None
    verdicts: tuple[Verdict, ...] = ()

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def rate(self) -> float:
        return self.delivered / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def requested_rate(self) -> float | None:
        """Records per second the pace asked for; None when it asked for none."""
        return self.measured.requested_rate if self.measured else None

    @property
    def achieved_ratio(self) -> float | None:
        """The rate achieved over the rate asked for."""
        requested = self.requested_rate
        return self.rate / requested if requested else None

    @property
    def delivered_all(self) -> bool:
        """Completed, and every record sent was delivered."""
        return self.outcome == "completed" and not self.failed and not self.error

    @property
    def missed(self) -> list[Verdict]:
        return [verdict for verdict in self.verdicts if not verdict.passed]

    def stopped_by(self, reason: str | None) -> "Summary":
        """This summary once the run was asked to stop for `reason`.

        Reaching --duration is how such a run is meant to end: it completed,
        and what it did not get to is unsent, not a failure.
        """
        if reason != STOPPED_BY_DURATION or self.outcome != "interrupted":
            return self
        outcome: Outcome = "failed" if self.failed else "completed"
        return replace(self, outcome=outcome, stop_reason=reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "topic": self.topic,
            "outcome": self.outcome,
            "records": {
                "read": self.read,
                "selected": self.selected,
                "delivered": self.delivered,
                "failed": self.failed,
                "skipped": self.skipped_total,
                "unsent": self.unsent,
            },
            "skipped_by_reason": dict(self.skipped),
            "batches": self.batches,
            "loops": self.loops,
            "wall_seconds": round(self.wall_s, 3),
            "records_per_second": round(self.rate, 1),
            "requested_pace": self.requested,
            "stop_reason": self.stop_reason,
            "error": self.error,
        }

    def render(self) -> str:
        """The human summary, one scenario in a few aligned lines."""
        reasons = ", ".join(f"{k}={v}" for k, v in self.skipped.items() if v)
        stopped = " (reached --duration)" if self.stop_reason else ""
        asked = ""
        if self.requested_rate is not None and self.achieved_ratio is not None:
            asked = (
                f" (asked {self.requested_rate:.0f} records/s, achieved "
                f"{self.achieved_ratio:.2f})"
            )
        lines = [
            f"scenario {self.scenario} -> {self.topic}: {self.outcome}{stopped}",
            f"  records   read={self.read} selected={self.selected} "
            f"delivered={self.delivered} failed={self.failed} "
            f"skipped={self.skipped_total}"
            + (f" ({reasons})" if reasons else "")
            + (f" unsent={self.unsent}" if self.unsent else ""),
            f"  batches   sent={self.batches} loops={self.loops}",
            f"  time      wall={self.wall_s:.2f}s rate={self.rate:.0f} records/s "
            f"pace={self.requested}{asked}",
        ]
        if self.measured is not None:
            lines.extend(_measured_lines(self.measured))
        if self.error:
            lines.append(f"  error     {self.error}")
        for verdict in self.verdicts:
            state = "met" if verdict.passed else "MISSED"
            lines.append(f"  threshold {verdict.describe()}: {state}")
        return "\n".join(lines)


def _measured_lines(measured: Measured) -> list[str]:
    lines = []
    latency, lateness = measured.delivery_latency, measured.lateness
    if latency.count or lateness.count:
        lines.append(
            f"  latency   delivery {_percentiles(latency, p95=True)}; "
            f"lateness {_percentiles(lateness, p95=False)}"
        )
    if measured.errors:
        kinds = " ".join(f"{kind}={count}" for kind, count in measured.errors.items())
        lines.append(f"  errors    {kinds}")
    return lines


def _percentiles(values: Percentiles, p95: bool) -> str:
    shown = [("p50", values.p50), ("p95", values.p95), ("p99", values.p99)]
    if not p95:
        del shown[1]
    shown.append(("max", values.max))
    return " ".join(
        f"{name}={'-' if value is None else format_seconds(value)}"
        for name, value in shown
    )
