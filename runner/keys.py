"""Single-key controls on a terminal: p pauses, r resumes, q quits."""

import logging
import os
import select
import sys
import termios
import threading
import tty
from types import TracebackType

from runner.control import Control

log = logging.getLogger(__name__)


class Keys:
    """Reads keys from stdin while it is a terminal; restores the terminal on exit."""

    def __init__(self, control: Control) -> None:
        self._control = control
        self._saved: list[int | list[bytes | int]] | None = None
        self._fd: int | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Keys":
        fd = _terminal_fd()
        if fd is None:
            log.info("interactive keys are off: stdin is not a terminal")
            return self
        self._fd = fd
        self._saved = termios.tcgetattr(fd)
        # cbreak: keys arrive one at a time without Enter, Ctrl-C still signals.
        tty.setcbreak(fd)
        self._thread = threading.Thread(target=self._read, name="keys", daemon=True)
        self._thread.start()
        log.info("keys: p pause, r resume, q quit")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        if self._fd is not None and self._saved is not None:
            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)

    def _read(self) -> None:
        fd = self._fd
        assert fd is not None
        while not self._done.is_set():
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            try:
                data = os.read(fd, 32)
            except OSError:
                return
            if not data:  # end of file: no more keys will come
                return
            for key in data.decode(errors="ignore").lower():
                self._press(key)

    def _press(self, key: str) -> None:
        if key == "p" and not self._control.paused:
            log.info("paused (r resumes)")
            self._control.pause()
        elif key == "r" and self._control.paused:
            log.info("resumed")
            self._control.resume()
        elif key == "q":
            self._control.stop("q")


def _terminal_fd() -> int | None:
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return None
    try:
        return fd if os.isatty(fd) else None
    except OSError:
        return None
