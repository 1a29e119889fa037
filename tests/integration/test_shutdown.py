"""Stopping the installed console script: signals flush, and no terminal is needed."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.helpers import BASE_CSV, base_scenario, unique_topic, write_scenario
from tests.integration.conftest import consume
from tests.integration.test_broker_trouble import big_csv

SCRIPT = str(Path(sys.executable).parent / "scenario-run")


def start(path: Path, **options: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [SCRIPT, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,
    )


def delivered_in(summary: str) -> int:
    found = re.search(r"delivered=(\d+)", summary)
    assert found, summary
    return int(found.group(1))


def test_sigterm_flushes_what_was_produced_and_exits_130(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    big_csv(tmp_path / "big.csv", 150_000)
    topic = unique_topic("sigterm")
    scenario = base_scenario(
        "big.csv", kafka={"bootstrap_servers": kafka_bootstrap, "topic": topic}
    )
    process = start(write_scenario(tmp_path, scenario), stdin=subprocess.DEVNULL)
    time.sleep(3)

    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 130, err
    assert "interrupted" in out
    delivered = delivered_in(out)
    assert 0 < delivered < 150_000
    records = consume(kafka_bootstrap, topic)
    assert sum(len(json.loads(record.value)) for record in records) == delivered
    assert "still in queue" not in err
    assert "Traceback" not in err


def test_sigterm_during_a_long_wait_acts_within_a_second(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    (tmp_path / "gap.csv").write_text(
        "transaction_id,event_time,amount\n"
        "tx-1,2024-05-03 17:59:50,1.00\n"
        "tx-2,2024-05-06 08:00:10,2.00\n"
        "tx-3,2024-05-06 08:00:40,3.00\n"
    )
    topic = unique_topic("gap")
    scenario = base_scenario(
        "gap.csv",
        kafka={"bootstrap_servers": kafka_bootstrap, "topic": topic},
        replay={"speed": 10},
    )
    del scenario["replay"]["delay"]
    process = start(write_scenario(tmp_path, scenario), stdin=subprocess.DEVNULL)
    announced = _wait_for_line(process, "next batch in 6h12m")

    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)

    assert announced
    assert time.monotonic() - began < 3.0
    assert process.returncode == 130, err
    assert delivered_in(out) == 1
    assert len(consume(kafka_bootstrap, topic)) == 1


def test_max_gap_caps_the_wait(tmp_path: Path, kafka_bootstrap: str) -> None:
    (tmp_path / "gap.csv").write_text(
        "transaction_id,event_time,amount\n"
        "tx-1,2024-05-03 17:59:50,1.00\n"
        "tx-2,2024-05-06 08:00:10,2.00\n"
    )
    topic = unique_topic("max-gap")
    scenario = base_scenario(
        "gap.csv",
        kafka={"bootstrap_servers": kafka_bootstrap, "topic": topic},
        replay={"speed": 10, "max_gap": "1s"},
    )
    del scenario["replay"]["delay"]
    began = time.monotonic()

    process = start(write_scenario(tmp_path, scenario), stdin=subprocess.DEVNULL)
    out, err = process.communicate(timeout=30)

    assert process.returncode == 0, err
    assert time.monotonic() - began < 15
    assert delivered_in(out) == 2


def test_runs_to_completion_without_a_terminal(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    ways: dict[str, dict[str, Any]] = {
        "devnull": {"stdin": subprocess.DEVNULL},
        "end-of-file": {"stdin": subprocess.PIPE},
        "closed": {"stdin": subprocess.DEVNULL, "preexec_fn": lambda: os.close(0)},
    }
    for name, options in ways.items():
        topic = unique_topic(name)
        scenario = base_scenario(
            kafka={"bootstrap_servers": kafka_bootstrap, "topic": topic}
        )
        process = start(write_scenario(tmp_path, scenario, f"{name}.yaml"), **options)
        # An empty input closes the pipe at once: stdin is at end of file.
        given = "" if process.stdin is not None else None
        out, err = process.communicate(given, timeout=60)

        assert process.returncode == 0, (name, err)
        assert "interactive keys are off" in err, name
        assert err.count("interactive keys are off") == 1
        assert delivered_in(out) == 3, name
        assert len(consume(kafka_bootstrap, topic)) == 2, name


def _wait_for_line(process: subprocess.Popen[str], text: str) -> bool:
    assert process.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            return False
        if text in line:
            return True
    return False
