"""The run summary: counts that add up, wall time, and the pace achieved."""

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["completed", "interrupted", "failed"]


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

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def rate(self) -> float:
        return self.delivered / self.wall_s if self.wall_s > 0 else 0.0

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
            "error": self.error,
        }

    def render(self) -> str:
        """The human summary, one scenario in a few aligned lines."""
        reasons = ", ".join(f"{k}={v}" for k, v in self.skipped.items() if v)
        lines = [
            f"scenario {self.scenario} -> {self.topic}: {self.outcome}",
            f"  records   read={self.read} selected={self.selected} "
            f"delivered={self.delivered} failed={self.failed} "
            f"skipped={self.skipped_total}"
            + (f" ({reasons})" if reasons else "")
            + (f" unsent={self.unsent}" if self.unsent else ""),
            f"  batches   sent={self.batches} loops={self.loops}",
            f"  time      wall={self.wall_s:.2f}s rate={self.rate:.0f} records/s "
            f"pace={self.requested}",
        ]
        if self.error:
            lines.append(f"  error     {self.error}")
        return "\n".join(lines)
