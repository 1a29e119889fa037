"""A real Kafka broker for the whole session, started by the project's script."""

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.helpers import REPO


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """The broker's address; the session fails, never skips, when none can start."""
    result = subprocess.run(
        [str(REPO / "scripts" / "kafka"), "start"],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"scripts/kafka start failed ({result.returncode}):\n{result.stderr}",
            pytrace=False,
        )
    address = result.stdout.strip().splitlines()[-1]
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = address
    return address


def _record(message: Any) -> "Record":
    headers = message.headers() or []
    return Record(
        key=message.key(),
        value=message.value() or b"",
        headers=[(name, bytes(value or b"")) for name, value in headers],
        partition=int(message.partition()),
        offset=int(message.offset()),
    )


@dataclass(frozen=True)
class Record:
    """One consumed message."""

    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    partition: int
    offset: int


def consume(bootstrap: str, topic: str, idle_s: float = 2.0) -> list[Record]:
    """Every message on `topic`, from the start, in partition then offset order."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"tests-{topic}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = sorted(metadata.topics[topic].partitions)
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p))[1]
            for p in partitions
        }
        records: list[Record] = []
        remaining = sum(ends.values())
        while remaining > 0:
            message = consumer.poll(idle_s)
            if message is None:
                break
            if message.error():
                raise AssertionError(f"consume error: {message.error()}")
            records.append(_record(message))
            remaining -= 1
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()


@dataclass(frozen=True)
class SpareBroker:
    """A broker of the test's own, which the test may freeze or stop."""

    address: str
    run_dir: Path
    environment: dict[str, str]

    @property
    def pid(self) -> int:
        return int((self.run_dir / "broker.pid").read_text().strip())

    def freeze(self) -> None:
        """Stop the broker's process without closing its sockets: a hung broker."""
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.pid, signal.SIGCONT)


def _free_port_pair() -> int:
    # The broker takes the port and the next one (its controller).
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        with socket.socket() as second:
            try:
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no pair of free ports on 127.0.0.1")


@pytest.fixture
def spare_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpareBroker]:
    """A second broker, started for one test and stopped after it."""
    run_dir = tmp_path_factory.mktemp("spare-broker")
    environment = {
        **os.environ,
        "KAFKA_PORT": str(_free_port_pair()),
        "KAFKA_RUN_DIR": str(run_dir),
    }
    environment.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    script = str(REPO / "scripts" / "kafka")
    result = subprocess.run(
        [script, "start"],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"spare broker did not start:\n{result.stderr}", pytrace=False)
    broker = SpareBroker(result.stdout.strip().splitlines()[-1], run_dir, environment)
    try:
        yield broker
    finally:
        with contextlib.suppress(OSError, ValueError):
            broker.thaw()
        subprocess.run(
            [script, "stop"], env=environment, capture_output=True, check=False
        )


def count_messages(bootstrap: str, topic: str) -> int:
    """Messages on `topic` now, from the partitions' high watermarks."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "tests-count"})
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        if topic not in metadata.topics or metadata.topics[topic].error is not None:
            return 0
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in metadata.topics[topic].partitions
        )
    finally:
        consumer.close()
