"""Pause, resume and stop as a waiting replay sees them, with short real waits."""

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from runner.control import Control, Stopped

# The machine is small and busy: bounds say "promptly", not "exactly".
SLACK_S = 1.0


def later(seconds: float, action: Callable[[], None]) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


@pytest.fixture
def control() -> Iterator[Control]:
    control = Control()
    yield control
    # Leave no waiting thread behind, whatever the test did.
    control.stop("test over")


def test_a_deadline_in_the_past_returns_at_once(control: Control) -> None:
    began = time.monotonic()

    assert control.wait_until(began - 5.0) == 0.0
    assert time.monotonic() - began < SLACK_S


def test_a_deadline_is_waited_for_and_not_much_longer(control: Control) -> None:
    began = time.monotonic()

    result = control.wait_until(began + 0.3)

    waited = time.monotonic() - began
    assert result == 0.0
    assert 0.3 <= waited < 0.3 + SLACK_S


def test_stop_wakes_a_long_wait_with_its_reason(control: Control) -> None:
    later(0.1, lambda: control.stop("q"))
    began = time.monotonic()

    with pytest.raises(Stopped) as stopped:
        control.wait_until(began + 60.0)

    assert stopped.value.args == ("q",)
    assert time.monotonic() - began < 0.1 + SLACK_S


def test_a_stop_asked_before_the_wait_raises_without_waiting(control: Control) -> None:
    control.stop("SIGTERM")
    began = time.monotonic()

    with pytest.raises(Stopped):
        control.wait_until(began + 60.0)
    assert time.monotonic() - began < SLACK_S


def test_the_first_stop_reason_is_the_one_kept(control: Control) -> None:
    control.stop("q")
    control.stop("SIGTERM")

    assert control.stop_reason == "q"
    with pytest.raises(Stopped, match="q"):
        control.check()


def test_check_passes_while_running(control: Control) -> None:
    control.check()

    assert control.stop_reason is None


def test_a_pause_returns_its_length_when_it_ends(control: Control) -> None:
    control.pause()
    later(0.4, control.resume)
    began = time.monotonic()

    paused_for = control.wait_until(began + 0.05)

    assert control.paused is False
    assert 0.3 <= paused_for < 0.4 + SLACK_S
    assert time.monotonic() - began < 0.4 + SLACK_S


def test_a_pause_during_a_wait_interrupts_it(control: Control) -> None:
    later(0.1, control.pause)
    later(0.5, control.resume)
    began = time.monotonic()

    paused_for = control.wait_until(began + 60.0)

    # The caller moves its deadline on by the pause and waits again.
    assert 0.2 <= paused_for < 0.4 + SLACK_S
    assert time.monotonic() - began < 0.5 + SLACK_S


def test_a_stop_during_a_pause_raises_at_once(control: Control) -> None:
    control.pause()
    later(0.2, lambda: control.stop("q"))
    began = time.monotonic()

    with pytest.raises(Stopped, match="q"):
        control.wait_until(began + 60.0)
    assert time.monotonic() - began < 0.2 + SLACK_S


def test_resume_without_a_pause_changes_nothing(control: Control) -> None:
    control.resume()
    began = time.monotonic()

    assert control.wait_until(began + 0.05) == 0.0
    assert control.paused is False


def test_sleep_does_not_count_the_time_paused(control: Control) -> None:
    later(0.1, control.pause)
    later(0.6, control.resume)
    began = time.monotonic()

    control.sleep(0.4)

    # 0.1 s before the pause, 0.5 s paused, then the 0.3 s still owed.
    assert 0.85 <= time.monotonic() - began < 0.9 + SLACK_S


def test_sleep_of_nothing_returns_at_once(control: Control) -> None:
    began = time.monotonic()

    control.sleep(0.0)
    control.sleep(-1.0)

    assert time.monotonic() - began < SLACK_S


def test_sleep_is_cut_short_by_stop(control: Control) -> None:
    later(0.1, lambda: control.stop("q"))
    began = time.monotonic()

    with pytest.raises(Stopped):
        control.sleep(60.0)
    assert time.monotonic() - began < 0.1 + SLACK_S
