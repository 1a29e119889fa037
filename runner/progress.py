"""Live progress: a status line redrawn on a terminal, log lines now and then off it."""

import io
import logging
import shutil
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
    ended: float | None = None
    paused_s: float = 0.0  # time spent paused, left out of rate and ETA
    paused_since: float | None = None
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
            self.ended = time.monotonic()

    def line(self, paused: bool) -> str:
        """One line of text: counts, rate, data time, lateness, ETA, state."""
        figures = self._figures(paused)
        return (
            f"{self.name}: batch {self.batches_sent}/{self.total_batches} "
            f"({figures['done']}) records sent={self.records_sent} "
            f"delivered={self.delivered} failed={self.failed} "
            f"rate={figures['rate']}/s data={figures['data']} "
            f"late={figures['late']} eta={figures['eta']} "
            f"loop={self.loop}/{figures['loops']} {figures['state']}"
        )

    def compact(self, paused: bool) -> str:
        """The line in brief, for a terminal row shared with other scenarios."""
        figures = self._figures(paused)
        return (
            f"{self.name} {figures['done']} {self.delivered}/{self.total_records} "
            f"{figures['rate']}/s late {figures['late']} eta {figures['eta']} "
            f"{figures['state']}"
        )

    def _figures(self, paused: bool) -> dict[str, str]:
        with self.lock:
            now = time.monotonic()
            if paused and self.paused_since is None:
                self.paused_since = now
            elif not paused and self.paused_since is not None:
                self.paused_s += now - self.paused_since
                self.paused_since = None
            end = self.ended or now
            pausing = end - self.paused_since if self.paused_since is not None else 0.0
            active = max(end - self.started - self.paused_s - pausing, 1e-9)

            done = self.batches_sent / self.total_batches if self.total_batches else 1
            eta = "-"
            if self.ended is not None:
                eta = "0s"
            elif self.loops is not None and done > 0:
                played = (self.loop - 1 + done) / self.loops
                eta = format_duration(active / played * (1 - played))
            data = "-"
            if self.data_ns is not None:
                moment = datetime.fromtimestamp(self.data_ns / 1e9, UTC)
                data = moment.strftime("%Y-%m-%d %H:%M:%S")
            state = "running"
            if paused:
                state = "PAUSED"
            elif self.ended is not None:
                state = "done"
            return {
                "done": f"{done:.0%}",
                "rate": f"{self.records_sent / active:.0f}",
                "eta": eta,
                "data": data,
                "late": f"{self.lateness_s * 1000:.1f}ms",
                "loops": "forever" if self.loops is None else str(self.loops),
                "state": state,
            }


class Board:
    """Shows every scenario's progress until closed; safe to use as a context."""

    def __init__(self, control: Control, stream: TextIO | None = None) -> None:
        self._control = control
        # stderr may be closed (2>&-): then there is no terminal to draw on.
        self._stream = stream or sys.stderr or io.StringIO()
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
            if self._interactive:
                self._stream.write(_CLEAR_LINE + self._row(paused))
                self._stream.flush()
                continue
            for progress in self._scenarios:
                log.info("progress: %s", progress.line(paused))

    def _row(self, paused: bool) -> str:
        # One terminal row, never wider than the terminal: a wrapped status
        # line could not be cleared and would pile up on every redraw.
        width = shutil.get_terminal_size().columns - 1
        if len(self._scenarios) == 1:
            text = self._scenarios[0].line(paused)
        else:
            text = " | ".join(progress.compact(paused) for progress in self._scenarios)
        return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


class _ClearStatusLine(logging.Filter):
    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream

    def filter(self, record: logging.LogRecord) -> bool:
        self._stream.write(_CLEAR_LINE)
        return True


def _is_terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):
        return False
