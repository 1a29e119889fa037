"""The Kafka sink: the only module that talks to librdkafka.

Messages are produced asynchronously; a thread serves delivery reports all the
time, so acknowledgements and failures are counted as they happen rather than
at the next produce or at exit. A full local queue makes produce wait and
retry: back-pressure slows the replay, it never drops a batch.
"""

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from itertools import repeat
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from pydantic import SecretStr

from runner.errors import BrokerError, ScenarioError
from runner.scenario import Kafka

log = logging.getLogger(__name__)
client_log = logging.getLogger(f"{__name__}.librdkafka")


class _Seldom(logging.Filter):
    """Lets each kind of librdkafka line through once in a while.

    While a broker is down librdkafka logs every reconnect attempt, several a
    second; lines that differ only in their numbers are one kind.
    """

    def __init__(self, every_s: float) -> None:
        super().__init__()
        self._every_s = every_s
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        kind = re.sub(r"\d+", "#", record.getMessage())[:120]
        now = time.monotonic()
        if now - self._last.get(kind, -self._every_s) < self._every_s:
            return False
        self._last[kind] = now
        return True


# Defaults chosen for "never lose a record": every replica acknowledges, and
# idempotence keeps order and prevents duplicates when librdkafka retries.
# lz4 costs the client almost nothing and saves the broker CPU. The scenario's
# kafka.config overrides any of them by the same librdkafka names.
PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 5,
    "compression.type": "lz4",
}

# How long a produce waits for room in a full queue before trying again; the
# delivery thread frees room meanwhile.
_QUEUE_FULL_WAIT = 0.05
# One repeated client error is logged at most this often.
_CLIENT_ERROR_EVERY = 30.0
client_log.addFilter(_Seldom(_CLIENT_ERROR_EVERY))


DeliveryReport = Callable[[str | None, int], None]
"""Told the error text (None when acknowledged) and partition of each message."""


class KafkaSink:
    """Creates the topic if asked, produces with retry, and flushes at the end."""

    def __init__(self, settings: Kafka, client_id: str) -> None:
        self._settings = settings
        self._config = {
            "bootstrap.servers": settings.bootstrap_servers,
            "client.id": client_id,
            **PRODUCER_DEFAULTS,
            **_plain(settings.config),
            "error_cb": self._client_error,
            "logger": client_log,
        }
        self._producer: Producer | None = None
        self._serving = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error: dict[str, float] = {}
        self.queue_full_waits = 0

    def connect(self, check: Callable[[], None]) -> None:
        """Check the broker answers, make sure the topic exists, start the producer.

        `check` is called about once a second while waiting for the broker and
        may raise to give up (a stop asked for by a key or a signal).
        """
        settings = self._settings
        # The clients check kafka.config as they are made: a misspelt setting
        # is refused before the topic is created or anything is sent.
        try:
            self._producer = Producer(self._config)
            admin = AdminClient(_admin_config(self._config))
        except KafkaException as error:
            raise ScenarioError([f"kafka.config: {error.args[0].str()}"]) from None

        metadata = self._metadata(admin, settings.connect_timeout, check)
        if (
            settings.topic not in metadata.topics
            or metadata.topics[settings.topic].error is not None
        ):
            self._create_topic(admin)
        self._serving.set()
        self._thread = threading.Thread(
            target=self._serve, name=f"deliveries-{settings.topic}", daemon=True
        )
        self._thread.start()

    def produce(
        self,
        keys: list[bytes | None] | None,
        values: list[bytes],
        headers: list[tuple[str, str | bytes | None]],
        report: DeliveryReport,
        wait: Callable[[float], None],
    ) -> None:
        """Queue messages; while the local queue is full, wait and retry.

        `report(error, partition)` is called once per message on the delivery
        thread; `wait` is how to pass the time (it may raise to abandon the rest).
        """
        producer = self._require()
        produce = producer.produce
        topic = self._settings.topic
        extra = headers or None

        def delivered(error: KafkaError | None, message: Any) -> None:
            # A message that never got a partition (the topic vanished, or its
            # metadata never came) reports None.
            partition = message.partition()
            report(
                None if error is None else error.str(),
                -1 if partition is None else partition,
            )

        for key, value in zip(keys or repeat(None), values, strict=False):
            while True:
                try:
                    produce(topic, value, key, on_delivery=delivered, headers=extra)
                    break
                except BufferError:
                    # librdkafka's queue is full (queue.buffering.max.messages
                    # or .kbytes): the delivery thread drains it; wait a moment.
                    self.queue_full_waits += 1
                    wait(_QUEUE_FULL_WAIT)
                except KafkaException as error:
                    # Refused before queueing, e.g. larger than message.max.bytes:
                    # retrying cannot help, so it counts as failed at once.
                    text = error.args[0].str()
                    log.error(
                        "message refused by the client: topic=%s bytes=%d error=%s",
                        topic,
                        len(value),
                        text,
                    )
                    report(text, -1)
                    break

    def flush(self, timeout: float) -> int:
        """Wait for every queued message to be acknowledged or to fail.

        Returns how many were still outstanding after `timeout`; those are
        purged, so their delivery reports arrive as failures before this returns.
        The delivery thread stops first: reports are then served here, so they
        never run on two threads at once.
        """
        producer = self._producer
        if producer is None:
            return 0
        self._stop_serving()
        outstanding: int = producer.flush(timeout)
        if outstanding:
            log.error(
                "flush timed out, purging undelivered messages: topic=%s "
                "outstanding=%d timeout_s=%.1f",
                self._settings.topic,
                outstanding,
                timeout,
            )
            producer.purge(in_queue=True, in_flight=True, blocking=False)
            producer.flush(5.0)
        return outstanding

    def close(self) -> None:
        """Stop serving delivery reports; call after flush."""
        self._stop_serving()

    def _stop_serving(self) -> None:
        self._serving.clear()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._thread = None

    def _require(self) -> Producer:
        if self._producer is None:
            raise RuntimeError("KafkaSink.connect() was not called")
        return self._producer

    def _serve(self) -> None:
        producer = self._require()
        while self._serving.is_set():
            try:
                producer.poll(0.1)
            except Exception:
                # A failing callback must not stop the serving of reports: the
                # next ones would never be counted and the run could hang.
                log.exception(
                    "delivery report handling failed: topic=%s", self._settings.topic
                )

    def _metadata(
        self, admin: AdminClient, timeout: float, check: Callable[[], None]
    ) -> Any:
        address = self._settings.bootstrap_servers
        deadline = time.monotonic() + timeout
        log.info("connecting to Kafka: bootstrap=%s timeout_s=%g", address, timeout)
        while True:
            check()
            attempt = min(1.0, max(0.01, deadline - time.monotonic()))
            try:
                return admin.list_topics(timeout=attempt)
            except KafkaException as error:
                if time.monotonic() >= deadline:
                    raise BrokerError(
                        f"cannot reach Kafka at {address} within {timeout:g}s "
                        f"(kafka.bootstrap_servers, kafka.connect_timeout): "
                        f"{error.args[0].str()}"
                    ) from None

    def _create_topic(self, admin: AdminClient) -> None:
        settings = self._settings
        if not settings.create_topic:
            raise BrokerError(
                f"topic {settings.topic!r} does not exist on "
                f"{settings.bootstrap_servers} and kafka.create_topic is false"
            )
        topic = NewTopic(
            settings.topic,
            num_partitions=settings.partitions,
            replication_factor=settings.replication_factor,
        )
        # librdkafka takes at most an hour here.
        request_timeout = min(settings.connect_timeout, 3600.0)
        future = admin.create_topics([topic], request_timeout=request_timeout)[
            settings.topic
        ]
        try:
            future.result(timeout=settings.connect_timeout)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise BrokerError(
                    f"cannot create topic {settings.topic!r} on "
                    f"{settings.bootstrap_servers}: {error.args[0].str()}"
                ) from None
        log.info(
            "created topic: topic=%s partitions=%d replication_factor=%d",
            settings.topic,
            settings.partitions,
            settings.replication_factor,
        )
        self._await_leaders(admin)

    def _await_leaders(self, admin: AdminClient) -> None:
        # A new topic's partitions get leaders a moment after creation; produce
        # before then would only wait, but waiting here keeps lateness honest.
        deadline = time.monotonic() + self._settings.connect_timeout
        while time.monotonic() < deadline:
            topic = admin.list_topics(self._settings.topic, timeout=5.0).topics.get(
                self._settings.topic
            )
            if (
                topic is not None
                and topic.error is None
                and all(
                    partition.leader >= 0 for partition in topic.partitions.values()
                )
            ):
                return
            time.sleep(0.1)

    def _client_error(self, error: KafkaError) -> None:
        # librdkafka repeats connection errors every second while a broker is
        # down; say each kind once in a while, not once a retry.
        text = error.str()
        now = time.monotonic()
        if (
            now - self._last_error.get(text, -_CLIENT_ERROR_EVERY)
            >= _CLIENT_ERROR_EVERY
        ):
            self._last_error[text] = now
            log.warning(
                "kafka client: %s: bootstrap=%s", text, self._settings.bootstrap_servers
            )


def _plain(config: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: value.get_secret_value() if isinstance(value, SecretStr) else value
        for name, value in config.items()
    }


_PRODUCER_ONLY = (
    "acks",
    "enable.idempotence",
    "linger.ms",
    "compression.type",
    "batch.size",
    "batch.num.messages",
    "queue.buffering.max.messages",
    "queue.buffering.max.kbytes",
    "queue.buffering.max.ms",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "retries",
    "retry.backoff.ms",
    "request.timeout.ms",
    "max.in.flight.requests.per.connection",
    "max.in.flight",
    "compression.codec",
    "compression.level",
    "partitioner",
    "sticky.partitioning.linger.ms",
    "transactional.id",
    "message.send.max.retries",
    "delivery.report.only.error",
    "dr_cb",
    "dr_msg_cb",
    "on_delivery",
)


def _admin_config(config: Mapping[str, Any]) -> dict[str, Any]:
    # The admin client shares connection and security settings with the
    # producer, but librdkafka warns about producer-only ones.
    return {name: value for name, value in config.items() if name not in _PRODUCER_ONLY}
