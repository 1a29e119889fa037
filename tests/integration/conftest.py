"""A real Kafka broker for the whole session, started by the project's script."""

import os
import subprocess
from dataclasses import dataclass
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
