"""Pause, resume and stop a running replay, from keys, signals or code."""

import threading
import time


class Stopped(Exception):
    """Raised inside a wait when the run has been asked to stop."""


class Control:
    """Shared run state; every wait of the replay goes through `wait_until`."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._paused = False
        self._stop_reason: str | None = None

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stop_reason(self) -> str | None:
        """Why the run was asked to stop (`q`, `SIGTERM`, ...), or None."""
        return self._stop_reason

    def pause(self) -> None:
        with self._condition:
            self._paused = True
            self._condition.notify_all()

    def resume(self) -> None:
        with self._condition:
            self._paused = False
            self._condition.notify_all()

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
                    return time.monotonic() - began
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return 0.0
                self._condition.wait(remaining)

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` unless stopped; a pause does not count."""
        if seconds > 0:
            self.wait_until(time.monotonic() + seconds)
