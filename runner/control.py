"""Pause, resume and stop a running replay, from keys, signals or code."""

import threading
import time
from collections.abc import Callable


class Stopped(Exception):
    """Raised inside a wait when the run has been asked to stop."""


class Control:
    """Shared run state; every wait of the replay goes through `wait_until`."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._paused = False
        self._stop_reason: str | None = None
        self._on_pause: list[Callable[[bool], None]] = []

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stop_reason(self) -> str | None:
        """Why the run was asked to stop (`q`, `SIGTERM`, ...), or None."""
        return self._stop_reason

    def on_pause(self, callback: Callable[[bool], None]) -> None:
        """Call `callback(paused)` each time the run is paused or resumed."""
        self._on_pause.append(callback)

    def pause(self) -> None:
        self._set_paused(True)

    def resume(self) -> None:
        self._set_paused(False)

    def _set_paused(self, paused: bool) -> None:
        with self._condition:
            changed = self._paused != paused
            self._paused = paused
            self._condition.notify_all()
        # Outside the lock: a callback that waits on the run cannot deadlock it.
        if changed:
            for callback in self._on_pause:
                callback(paused)

    def stop(self, reason: str) -> None:
        """Ask the run to stop; the first reason given is the one reported."""
        with self._condition:
            if self._stop_reason is None:
                self._stop_reason = reason
            self._condition.notify_all()

    def check(self) -> None:
        """Raise Stopped if a stop was asked for."""
        if self._stop_reason is not None:
            raise Stopped(self._stop_reason)

    def wait_until(self, deadline: float) -> float:
        """Wait for the monotonic `deadline`, or for a pause to end.

        Returns the seconds spent paused, at once when a pause ends, so the
        caller can move its schedule on and wait again; 0.0 means the deadline
        was reached. Raises Stopped as soon as a stop is asked for.
        """
        with self._condition:
            while True:
                if self._stop_reason is not None:
                    raise Stopped(self._stop_reason)
                if self._paused:
                    began = time.monotonic()
                    while self._paused and self._stop_reason is None:
                        self._condition.wait(1.0)
                    if self._stop_reason is not None:
                        raise Stopped(self._stop_reason)
                    return time.monotonic() - began
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return 0.0
                self._condition.wait(remaining)

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of running time unless stopped; time paused does not count."""
        if seconds <= 0:
            return
        deadline = time.monotonic() + seconds
        while paused_for := self.wait_until(deadline):
            deadline += paused_for
