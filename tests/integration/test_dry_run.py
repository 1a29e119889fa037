"""The dry run's plan matches what a real replay of the same scenario delivers."""

import json
import re
from pathlib import Path

import pytest

from runner.cli import main
from tests.helpers import unique_topic, write_scenario
from tests.integration.conftest import consume
from tests.integration.recordings import FILES, recording_scenario


def plan_figures(out: str) -> dict[str, int]:
    found = re.search(r"records\s+(\d+) selected of (\d+) read", out)
    batches = re.search(r"batches\s+(\d+)", out)
    messages = re.search(r"messages\s+(\d+),", out)
    assert found and batches and messages, out
    return {
        "selected": int(found.group(1)),
        "read": int(found.group(2)),
        "batches": int(batches.group(1)),
        "messages": int(messages.group(1)),
    }


@pytest.mark.parametrize("file", FILES)
def test_plan_counts_match_a_real_replay(
    file: str,
    tmp_path: Path,
    kafka_bootstrap: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = unique_topic("plan")
    path = write_scenario(tmp_path, recording_scenario(file, kafka_bootstrap, topic))
    report = tmp_path / "report.json"

    assert main(["--dry-run", "--show", "2", str(path)]) == 0
    out = capsys.readouterr().out
    planned = plan_figures(out)
    assert main([str(path), "--report", str(report)]) == 0

    summary = json.loads(report.read_text())["scenarios"][0]
    records = consume(kafka_bootstrap, topic)
    assert planned["selected"] == summary["records"]["delivered"]
    assert planned["read"] == summary["records"]["read"]
    assert planned["batches"] == summary["batches"]
    assert planned["messages"] == len(records)
    # The messages shown are the first ones produced, byte for byte.
    shown = [line for line in out.splitlines() if line.startswith(("[", "{"))]
    assert [line.encode() for line in shown] == [r.value for r in records[:2]]
