"""Keys on a real pseudo-terminal: p pauses, r resumes, q quits after flushing."""

import os
import pty
import re
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers import base_scenario, seconds_csv, unique_topic, write_scenario
from tests.integration.conftest import consume, count_messages

SCRIPT = str(Path(sys.executable).parent / "scenario-run")


class Terminal:
    """A pseudo-terminal whose output is drained into a buffer as it comes."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.output = bytearray()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            self.output += data

    def press(self, key: str) -> None:
        os.write(self.master, key.encode())

    def text(self) -> str:
        return self.output.decode(errors="replace")

    def run(self, *command: str) -> "subprocess.Popen[bytes]":
        """Start `command` with this terminal as its stdin, stdout and stderr."""
        return subprocess.Popen(
            command,
            stdin=self.slave,
            stdout=self.slave,
            stderr=self.slave,
            start_new_session=True,
        )


def test_pause_resume_and_quit_on_a_terminal(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    seconds_csv(tmp_path / "seconds.csv", 400)
    topic = unique_topic("keys")
    scenario = base_scenario(
        "seconds.csv",
        batch={"interval": "1s"},
        kafka={"bootstrap_servers": kafka_bootstrap, "topic": topic},
        replay={"delay": "50ms"},
    )
    path = write_scenario(tmp_path, scenario)
    terminal = Terminal()
    modes_before = termios.tcgetattr(terminal.slave)

    process = terminal.run(SCRIPT, str(path))
    try:
        _drive(terminal, process, kafka_bootstrap, topic)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    modes_after = termios.tcgetattr(terminal.slave)
    text = terminal.text()

    assert process.returncode == 130, text
    delivered = int(re.findall(r"delivered=(\d+)", text)[-1])
    assert 20 < delivered < 400
    assert len(consume(kafka_bootstrap, topic)) == delivered
    assert modes_after == modes_before
    assert "paused (r resumes)" in text


def _drive(
    terminal: Terminal, process: "subprocess.Popen[bytes]", bootstrap: str, topic: str
) -> None:
    _wait_for(lambda: count_messages(bootstrap, topic) >= 20)

    terminal.press("p")
    time.sleep(0.5)  # the batch in hand when p arrived may still go out
    paused_at = count_messages(bootstrap, topic)
    time.sleep(2.0)
    still = count_messages(bootstrap, topic)

    terminal.press("r")
    time.sleep(0.5)
    after_resume = count_messages(bootstrap, topic)
    _wait_for(lambda: count_messages(bootstrap, topic) >= after_resume + 10)

    terminal.press("q")
    process.wait(timeout=30)
    time.sleep(0.3)

    assert still == paused_at, "messages were sent while paused"
    # Resuming keeps the spacing: no burst of overdue batches.
    assert after_resume - still <= 0.5 / 0.05 + 4


def test_terminal_is_restored_after_sigterm_and_errors(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    seconds_csv(tmp_path / "seconds.csv", 200)
    scenario = base_scenario(
        "seconds.csv",
        batch={"interval": "1s"},
        kafka={"bootstrap_servers": kafka_bootstrap, "topic": unique_topic("term")},
        replay={"delay": "50ms"},
    )
    path = write_scenario(tmp_path, scenario)
    terminal = Terminal()
    modes_before = termios.tcgetattr(terminal.slave)

    process = terminal.run(SCRIPT, str(path))
    time.sleep(2.0)
    process.terminate()
    code = process.wait(timeout=30)

    assert code == 130, terminal.text()
    assert termios.tcgetattr(terminal.slave) == modes_before


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")
