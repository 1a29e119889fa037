"""The JSON Schema stays in step with the models, and ready scenarios point at it."""

from pathlib import Path

import pytest

from runner import config, schema
from runner.cli import main
from tests.helpers import REPO

SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))


def test_committed_schema_matches_the_models() -> None:
    committed = (REPO / "schemas" / "scenario.schema.json").read_text()
    assert committed == schema.schema_text(), (
        "schemas/scenario.schema.json is stale: "
        "python -m runner.schema > schemas/scenario.schema.json"
    )


def test_schema_forbids_unknown_keys_in_every_section() -> None:
    generated = schema.json_schema()
    assert generated["additionalProperties"] is False
    for name, definition in generated["$defs"].items():
        assert definition.get("additionalProperties") is False, name


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda path: path.name)
def test_ready_scenario_names_the_schema_and_is_valid(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = path.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/scenario.schema.json"
    assert main(["--check", str(path)]) == 0, capsys.readouterr().err


def test_render_fills_defaults_and_masks_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        [
            "--render",
            str(REPO / "scenarios" / "default.yaml"),
            "--set",
            "kafka.config.sasl.password=hunter2",
            "--set",
            "kafka.config.sasl.username=alice",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "hunter2" not in out
    assert "sasl.password: '********'" in out
    assert "sasl.username: alice" in out
    assert "flush_timeout: 30.0" in out


def test_default_scenario_honours_the_seed_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sample = REPO / "sample_data" / "transactions.csv"
    monkeypatch.setenv("CSV_PATH", str(sample))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker-a:19092")
    monkeypatch.setenv("KAFKA_TOPIC", "payments.seed")
    monkeypatch.setenv("STREAM_DELAY", "0.25")
    monkeypatch.setenv("METRICS_PORT", "9911")

    loaded = config.load(REPO / "scenarios" / "default.yaml")

    scenario = loaded.scenario
    assert Path(scenario.source.path) == sample
    assert scenario.kafka.bootstrap_servers == "broker-a:19092"
    assert scenario.kafka.topic == "payments.seed"
    assert scenario.replay.delay == 0.25
    assert scenario.telemetry.metrics_port == 9911
