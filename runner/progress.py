"""Live progress: a status line redrawn on a terminal, log lines now and then off it."""

import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from runner.control import Control
from runner.durations import format_duration
from runner.events import Acknowledged, BatchInfo, Listener
from runner.source import Recording

log = logging.getLogger(__name__)

_REDRAW_EVERY_S = 0.5
_LOG_EVERY_S = 5.0
_CLEAR_LINE = "\r\x1b[2K"


@dataclass
class ScenarioProgress(Listener):
    """What one scenario has done so far, as its events tell it."""

    name: str
    total_batches: int = 0
    total_records: int = 0
    loops: int | None = 1
    batches_sent: int = 0
    records_sent: int = 0
    delivered: int = 0
    failed: int = 0
    loop: int = 1
    data_ns: int | None = None
    lateness_s: float = 0.0
    started: float = field(default_factory=time.monotonic)
    finished: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def run_started(self, recording: Recording, loops: int | None) -> None:
        with self.lock:
            self.total_batches = recording.batches
            self.total_records = recording.selected
            self.loops = loops
            self.started = time.monotonic()

    def batch_sent(self, batch: BatchInfo, lateness_s: float, produce_s: float) -> None:
        with self.lock:
            self.batches_sent = batch.index + 1
            self.records_sent += batch.records
            self.loop = batch.loop
            self.data_ns = batch.data_ns
            self.lateness_s = lateness_s

    def batch_acknowledged(self, batch: BatchInfo, outcome: Acknowledged) -> None:
        with self.lock:
            self.delivered += outcome.delivered_records
            self.failed += outcome.failed_records

    def run_finished(self) -> None:
        with self.lock:
            self.finished = True

    def line(self, paused: bool) -> str:
        """One line of text: counts, rate, data time, lateness, ETA, state."""
        with self.lock:
            elapsed = max(time.monotonic() - self.started, 1e-9)
            rate = self.records_sent / elapsed
            done = self.batches_sent / self.total_batches if self.total_batches else 1
            loops = "forever" if self.loops is None else str(self.loops)
            eta = "-"
            if self.loops is not None and done > 0:
                played = (self.loop - 1 + done) / self.loops
                eta = (
                    format_duration(elapsed / played * (1 - played)) if played else "-"
                )
            data_time = "-"
            if self.data_ns is not None:
                moment = datetime.fromtimestamp(self.data_ns / 1e9, UTC)
                data_time = moment.strftime("%Y-%m-%d %H:%M:%S")
            state = "PAUSED" if paused else ("done" if self.finished else "running")
            return (
                f"{self.name}: batch {self.batches_sent}/{self.total_batches} "
                f"({done:.0%}) records sent={self.records_sent} "
                f"delivered={self.delivered} failed={self.failed} "
                f"rate={rate:.0f}/s data={data_time} "
                f"late={self.lateness_s * 1000:.1f}ms "
                f"eta={eta} loop={self.loop}/{loops} {state}"
            )


class Board:
    """Shows every scenario's progress until closed; safe to use as a context."""

    def __init__(self, control: Control, stream: TextIO | None = None) -> None:
        self._control = control
        self._stream = stream or sys.stderr
        self._interactive = _is_terminal(self._stream)
        self._scenarios: list[ScenarioProgress] = []
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._clearer = _ClearStatusLine(self._stream)

    def track(self, name: str) -> ScenarioProgress:
        progress = ScenarioProgress(name)
        self._scenarios.append(progress)
        return progress

    def __enter__(self) -> "Board":
        if self._interactive:
            # A log line clears the status line first; the next redraw brings it
            # back below the log line.
            for handler in logging.getLogger().handlers:
                handler.addFilter(self._clearer)
        self._thread = threading.Thread(target=self._show, name="progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self._interactive:
            for handler in logging.getLogger().handlers:
                handler.removeFilter(self._clearer)
            self._stream.write(_CLEAR_LINE)
            self._stream.flush()

    def _show(self) -> None:
        every = _REDRAW_EVERY_S if self._interactive else _LOG_EVERY_S
        while not self._done.wait(every):
            paused = self._control.paused
            lines = [progress.line(paused) for progress in self._scenarios]
            if self._interactive:
                self._stream.write(_CLEAR_LINE + " | ".join(lines))
                self._stream.flush()
            else:
                for line in lines:
                    log.info("progress: %s", line)


class _ClearStatusLine(logging.Filter):
    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream

    def filter(self, record: logging.LogRecord) -> bool:
        self._stream.write(_CLEAR_LINE)
        return True


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (ValueError, OSError):
        return False
