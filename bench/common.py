"""Shared pieces of the benchmarks: a broker address, files, and a timing listener."""

import os
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from runner.events import Acknowledged, BatchInfo, Listener

REPO = Path(__file__).resolve().parent.parent


def broker() -> str:
    """The address of a running broker, started by scripts/kafka when needed."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    started = subprocess.run(
        [str(REPO / "scripts" / "kafka"), "start"],
        capture_output=True,
        text=True,
        check=True,
    )
    return started.stdout.strip().splitlines()[-1]


@dataclass
class Timings(Listener):
    """Records when each batch was handed to the producer, and its lateness."""

    sent_at: list[float] = field(default_factory=list)
    lateness: list[float] = field(default_factory=list)
    acknowledged: int = 0

    def batch_sent(self, batch: BatchInfo, lateness_s: float, produce_s: float) -> None:
        self.sent_at.append(time.monotonic())
        self.lateness.append(lateness_s)

    def batch_acknowledged(self, batch: BatchInfo, outcome: Acknowledged) -> None:
        self.acknowledged += 1


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def create_topic(address: str, topic: str) -> str:
    """Create a one-partition topic (the broker does not create topics itself)."""
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": address})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    return topic
