"""Several scenarios in one process: each its own schedule, topic and series."""

import json
import threading
import time
from pathlib import Path

import pytest

from runner.cli import main
from tests.helpers import (
    BASE_CSV,
    base_scenario,
    seconds_csv,
    unique_topic,
    write_scenario,
)
from tests.integration.conftest import consume
from tests.integration.test_telemetry import free_port, scrape

# A scenario whose broker never answers: it fails after a second of trying.
BROKEN = base_scenario(
    name="broken",
    kafka={
        "bootstrap_servers": "127.0.0.1:1",
        "topic": "never",
        "connect_timeout": "1s",
    },
)


def test_three_scenarios_run_side_by_side_with_one_metrics_endpoint(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    port = free_port()
    paths, topics, sizes = [], {}, {"steady": 40, "burst": 300, "spike": 25}
    for name, rows in sizes.items():
        seconds_csv(tmp_path / f"{name}.csv", rows, name)
        topics[name] = unique_topic(name)
        scenario = base_scenario(
            f"{name}.csv",
            name=name,
            batch={"interval": "1s"},
            message={"per": "record"},
            kafka={"bootstrap_servers": kafka_bootstrap, "topic": topics[name]},
            replay={"delay": "50ms"} if name != "burst" else {"delay": "5ms"},
            telemetry={"metrics_port": port},
        )
        paths.append(str(write_scenario(tmp_path, scenario, f"{name}.yaml")))
    report = tmp_path / "report.json"
    codes: list[int] = []

    runner = threading.Thread(
        target=lambda: codes.append(main([*paths, "--report", str(report)]))
    )
    runner.start()
    labels = _scenario_labels_while_running(port, runner)
    runner.join(timeout=60)

    assert codes == [0]
    assert labels == set(sizes)
    summaries = {s["scenario"]: s for s in json.loads(report.read_text())["scenarios"]}
    for name, rows in sizes.items():
        values = [json.loads(r.value) for r in consume(kafka_bootstrap, topics[name])]
        assert [v["transaction_id"] for v in values] == [
            f"{name}-{i:05d}" for i in range(rows)
        ]
        assert summaries[name]["records"]["delivered"] == rows


def test_one_failing_scenario_does_not_stop_the_others(
    tmp_path: Path, kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    good_topic = unique_topic("good")
    good = base_scenario(
        name="good",
        kafka={"bootstrap_servers": kafka_bootstrap, "topic": good_topic},
        replay={"delay": "1s"},
    )
    paths = [
        str(write_scenario(tmp_path, good, "good.yaml")),
        str(write_scenario(tmp_path, BROKEN, "broken.yaml")),
    ]

    code = main(paths)

    out, err = capsys.readouterr()
    assert code == 3
    assert "scenario good -> " in out and "completed" in out
    assert "scenario broken -> never: failed" in out
    assert "error: scenario broken: cannot reach Kafka at 127.0.0.1:1" in err
    assert len(consume(kafka_bootstrap, good_topic)) == 2


def test_fail_fast_stops_the_others(
    tmp_path: Path, kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seconds_csv(tmp_path / "slow.csv", 60, "slow")
    good = base_scenario(
        "slow.csv",
        name="slow",
        batch={"interval": "1s"},
        kafka={"bootstrap_servers": kafka_bootstrap, "topic": unique_topic("slow")},
        replay={"delay": "500ms"},
    )
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    paths = [
        str(write_scenario(tmp_path, good, "slow.yaml")),
        str(write_scenario(tmp_path, BROKEN, "broken.yaml")),
    ]
    began = time.monotonic()

    code = main([*paths, "--fail-fast"])

    out = capsys.readouterr().out
    assert code == 3
    assert time.monotonic() - began < 15  # the slow one alone takes 30 s
    assert "scenario slow -> " in out and "interrupted" in out


def _scenario_labels_while_running(port: int, runner: threading.Thread) -> set[str]:
    seen: set[str] = set()
    deadline = time.monotonic() + 30
    while runner.is_alive() and time.monotonic() < deadline and len(seen) < 3:
        try:
            samples = scrape(port)
        except OSError:
            samples = {}
        seen |= {
            value
            for (name, labels), _ in samples.items()
            if name == "records_produced_total"
            for key, value in labels
            if key == "scenario"
        }
        time.sleep(0.1)
    return seen
