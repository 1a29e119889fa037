"""One scenario's replay: the one place that wires source, batches, schedule and sink.

Data flows one way: scan and rows from the CSV, batches, a deadline for each,
encoded messages produced to Kafka, delivery reports counted. Listeners hear
about each step; they never change what is sent.
"""

import logging
import threading
import time
from datetime import datetime, timedelta

from runner import source
from runner.batching import Batch, batches
from runner.control import Control, Stopped
from runner.durations import format_duration
from runner.encode import Encoder, Messages
from runner.errors import BrokerError
from runner.events import Acknowledged, BatchInfo, Headers, Listener
from runner.kafka import KafkaSink
from runner.scenario import Scenario, Stage
from runner.schedule import Schedule
from runner.source import Recording
from runner.summary import STOPPED_BY_DURATION, Outcome, Summary, Tally

log = logging.getLogger(__name__)

# A wait longer than this is announced with the time the next batch goes out.
_ANNOUNCE_WAIT_S = 10.0
# Lateness beyond this means the pace asked for cannot be kept: say so.
_BEHIND_S = 1.0
_BEHIND_WARN_EVERY_S = 10.0
# A gap in data time longer than this, with no replay.max_gap, earns a warning.
_OUTLIER_GAP_S = 6 * 3600.0


class Replay:
    """Plays one scenario into Kafka and returns its summary."""

    def __init__(
        self,
        scenario: Scenario,
        control: Control,
        listener: Listener | None = None,
        recording: Recording | None = None,
    ) -> None:
        self.scenario = scenario
        self.control = control
        self.listener = listener or Listener()
        self.tally = Tally()
        self._recording = recording
        self._started = time.monotonic()
        self._error: str | None = None
        self._ended: float | None = None
        self._next_behind_warning = 0.0
        # Encoded once: every message of the run carries them.
        self._static_headers: Headers = [
            (name, value.encode()) for name, value in scenario.kafka.headers.items()
        ]

    def run(self) -> Summary:
        """Scan, connect, replay and flush; errors before sending propagate."""
        scenario = self.scenario
        recording = self._recording or source.scan(scenario)
        self._recording = recording
        _warn_about_gaps(scenario, recording)

        sink = KafkaSink(scenario.kafka, client_id=f"scenario-run-{scenario.name}")
        try:
            sink.connect(self.control.check)
        except Stopped as stop:
            reason = stop.args[0]
            if reason == STOPPED_BY_DURATION:
                raise BrokerError(
                    f"Kafka at {scenario.kafka.bootstrap_servers} did not answer "
                    f"before --duration ended"
                ) from None
            log.info("stopped before Kafka answered: reason=%s", reason)
            return self.summary("interrupted")
        loops = None if scenario.replay.loop == "forever" else scenario.replay.loop
        log.info(
            "replay starting: scenario=%s topic=%s rows=%d selected=%d batches=%d "
            "loops=%s pace=%s",
            scenario.name,
            scenario.kafka.topic,
            recording.rows_read,
            recording.selected,
            recording.batches,
            loops or "forever",
            _pace(scenario),
        )
        self.listener.run_started(recording, loops)

        self._started = time.monotonic()
        outcome: Outcome = "completed"
        try:
            self._play(recording, sink, loops)
        except Stopped as stop:
            outcome = "interrupted"
            log.info("stopping on request, flushing: reason=%s", stop.args[0])
        except BaseException as error:
            outcome = "failed"
            self._error = f"{type(error).__name__}: {error}"
            raise
        finally:
            undelivered = sink.flush(scenario.kafka.flush_timeout)
            sink.close()
            # The run's wall time ends with Kafka's last report, before the
            # listeners flush what they hold (spans to a slow collector).
            self._ended = time.monotonic()
            if sink.queue_full_waits:
                log.info(
                    "back-pressure: produce waited for room in the producer queue: "
                    "scenario=%s waits=%d",
                    scenario.name,
                    sink.queue_full_waits,
                )
            self.listener.run_finished()
            if undelivered:
                self._error = (
                    f"{undelivered} messages not acknowledged within "
                    f"kafka.flush_timeout={scenario.kafka.flush_timeout:g}s"
                )
        return self.summary(outcome)

    def summary(self, outcome: Outcome, error: str | None = None) -> Summary:
        """The counts so far, made to add up; `error` says why a run failed."""
        recording = self._recording
        tally = self.tally
        loops_played = max(tally.loops, 1)
        selected = (recording.selected if recording else 0) * loops_played
        read = (recording.rows_read if recording else 0) * loops_played
        skipped = {
            reason: count * loops_played
            for reason, count in (recording.skipped if recording else {}).items()
        }
        delivered, failed = tally.delivered, tally.failed
        if outcome == "completed" and failed:
            outcome = "failed"
        return Summary(
            scenario=self.scenario.name,
            topic=self.scenario.kafka.topic,
            outcome=outcome,
            read=read,
            selected=selected,
            delivered=delivered,
            failed=failed,
            skipped=skipped,
            unsent=selected - delivered - failed,
            batches=tally.batches_sent,
            loops=tally.loops,
            wall_s=(self._ended or time.monotonic()) - self._started,
            requested=_pace(self.scenario),
            error=error or self._error,
        )

    def _play(self, recording: Recording, sink: KafkaSink, loops: int | None) -> None:
        scenario = self.scenario
        encoder = Encoder(
            recording.layout.fields,
            scenario.message.per,
            recording.layout.timestamp_index,
        )
        schedule: Schedule | None = None
        step_ns = recording.span_ns + max(recording.interval_ns, 1)
        position = 0
        loop = 0

        while loops is None or loop < loops:
            loop += 1
            self.tally.loops = loop
            moved_ns = (loop - 1) * step_ns
            shift_ns = moved_ns if scenario.replay.timestamps == "shifted" else 0
            rows = source.read(recording, scenario, shift_ns)
            for index, batch in enumerate(batches(rows, recording.interval_ns)):
                info = BatchInfo(
                    scenario=scenario.name,
                    topic=scenario.kafka.topic,
                    loop=loop,
                    index=index,
                    position=position,
                    data_ns=batch.start_ns,
                    records=len(batch),
                    messages=1 if scenario.message.per == "batch" else len(batch),
                    batches_per_loop=recording.batches,
                )
                if schedule is None:
                    # Anchored when the first batch is ready, not before the
                    # first chunk is read, so that read does not count as late.
                    schedule = Schedule(scenario.replay, time.monotonic())
                due = schedule.due(
                    position,
                    batch.start_ns - shift_ns + moved_ns,
                    self.tally.records_sent,
                )
                if due is None:
                    log.info("the last stage has ended: scenario=%s", scenario.name)
                    return
                due = self._wait(schedule, due, info)
                self._send(batch, info, encoder, sink, schedule, due)
                position += 1
            if recording.batches == 0:
                log.warning("nothing to replay: scenario=%s", scenario.name)
                break

    def _wait(self, schedule: Schedule, due: float, info: BatchInfo) -> float:
        remaining = due - time.monotonic()
        if remaining > _ANNOUNCE_WAIT_S:
            at = datetime.now() + timedelta(seconds=remaining)
            log.info(
                "next batch in %s at %s: scenario=%s batch=%d",
                format_duration(remaining),
                at.strftime("%Y-%m-%d %H:%M:%S"),
                info.scenario,
                info.position,
            )
            self.listener.waiting(info, remaining)
        while True:
            paused_for = self.control.wait_until(due)
            if not paused_for:
                return due
            # A pause moves the rest of the schedule on: no burst of overdue
            # batches after resume.
            schedule.shift(paused_for)
            due += paused_for

    def _send(
        self,
        batch: Batch,
        info: BatchInfo,
        encoder: Encoder,
        sink: KafkaSink,
        schedule: Schedule,
        due: float,
    ) -> None:
        scenario = self.scenario
        # delay: 0 asks for no schedule at all, so nothing can be late against it.
        as_fast_as_possible = schedule.stage.delay == 0
        lateness = 0.0 if as_fast_as_possible else max(0.0, time.monotonic() - due)
        self._warn_if_behind(lateness)
        moment = None
        if scenario.replay.timestamps == "live" and self._recording is not None:
            now = datetime.now(self._recording.tz)
            moment = now.isoformat(timespec="milliseconds")
        messages = encoder.encode(batch, moment)
        headers = self._static_headers + self.listener.batch_headers(info)

        ticket = _Ticket(info, self.tally, self.listener, messages)
        began = time.monotonic()
        for first, last in self._slices(schedule, len(messages)):
            if first:
                # Records of one batch spread over time at a rate: each slice
                # waits for its own deadline.
                slice_due = schedule.record_due(self.tally.records_sent + first)
                if slice_due is not None:
                    self._wait(schedule, slice_due, info)
            keys = messages.keys[first:last] if messages.keys is not None else None
            sink.produce(
                keys,
                messages.values[first:last],
                headers,
                ticket.settle,
                self.control.sleep,
            )
        produce_s = time.monotonic() - began
        self.tally.batches_sent += 1
        self.tally.records_sent += len(batch)
        self.tally.messages_sent += len(messages)
        self.listener.batch_sent(info, lateness, produce_s)

    def _slices(self, schedule: Schedule, count: int) -> list[tuple[int, int]]:
        rate = schedule.stage.rate
        if rate is None or self.scenario.message.per == "batch" or count <= 1:
            return [(0, count)]
        # Waits shorter than a millisecond cost more than they smooth.
        size = max(1, int(rate / 1000))
        return [(start, min(start + size, count)) for start in range(0, count, size)]

    def _warn_if_behind(self, lateness: float) -> None:
        now = time.monotonic()
        if lateness > _BEHIND_S and now >= self._next_behind_warning:
            self._next_behind_warning = now + _BEHIND_WARN_EVERY_S
            log.warning(
                "falling behind the requested pace: scenario=%s late_s=%.2f pace=%s",
                self.scenario.name,
                lateness,
                _pace(self.scenario),
            )


class _Ticket:
    """Collects the delivery reports of one batch's messages.

    Reports arrive on the sink's delivery thread (or the final flush), and for
    a message the client refuses outright on the replay thread: hence the lock.
    """

    def __init__(
        self, info: BatchInfo, tally: Tally, listener: Listener, messages: Messages
    ) -> None:
        self._info = info
        self._tally = tally
        self._listener = listener
        self._pending = len(messages)
        self._records = messages.records_per_message
        self._delivered = 0
        self._failed = 0
        self._partitions: set[int] = set()
        self._error: str | None = None
        self._began = time.monotonic()
        self._lock = threading.Lock()

    def settle(self, error: str | None, partition: int) -> None:
        """Count one message's delivery report."""
        with self._lock:
            done = self._count(error, partition)
        if done:
            self._finish()

    def _count(self, error: str | None, partition: int) -> bool:
        records = self._records
        if partition >= 0:
            self._partitions.add(partition)
        if error is None:
            self._delivered += records
            self._tally.delivered += records
        else:
            self._failed += records
            with self._tally.failures:
                self._tally.failed += records
            if self._error is None:
                self._error = error
                log.error(
                    "delivery failed: scenario=%s topic=%s partition=%s batch=%d "
                    "loop=%d records=%d error=%s",
                    self._info.scenario,
                    self._info.topic,
                    partition,
                    self._info.index,
                    self._info.loop,
                    records,
                    error,
                )
        self._pending -= 1
        return self._pending == 0

    def _finish(self) -> None:
        if self._failed == 0:
            self._tally.batches_delivered += 1
        self._listener.batch_acknowledged(
            self._info,
            Acknowledged(
                delivered_records=self._delivered,
                failed_records=self._failed,
                partitions=tuple(sorted(self._partitions)),
                latency_s=time.monotonic() - self._began,
                error=self._error,
            ),
        )


def _pace(scenario: Scenario) -> str:
    replay = scenario.replay
    text = ", then ".join(_stage_text(stage) for stage in replay.paces)
    if replay.max_gap is not None:
        text += f", max_gap {format_duration(replay.max_gap)}"
    return text


def _stage_text(stage: Stage) -> str:
    if stage.speed is not None:
        text = f"speed x{stage.speed:g}"
    elif stage.rate is not None:
        text = f"rate {stage.rate:g}/s"
    else:
        text = f"delay {format_duration(stage.delay or 0.0)}"
    if stage.duration != float("inf"):
        text += f" for {format_duration(stage.duration)}"
    return text


def _warn_about_gaps(scenario: Scenario, recording: Recording) -> None:
    replay = scenario.replay
    gap_s = recording.largest_gap_ns / 1e9
    if replay.speed is None or replay.max_gap is not None:
        return
    if gap_s / replay.speed > _OUTLIER_GAP_S:
        log.warning(
            "the recording has a gap of %s of data time, a wait of %s at speed "
            "x%g; set replay.max_gap to cap it: scenario=%s path=%s",
            format_duration(gap_s),
            format_duration(gap_s / replay.speed),
            replay.speed,
            scenario.name,
            recording.path,
        )
