"""Delivery to the real broker: every selected record arrives once, in order."""

import json
from pathlib import Path

from runner.cli import main
from tests.helpers import BASE_CSV, base_scenario, unique_topic, write_scenario
from tests.integration.conftest import consume


def test_base_scenario_delivers_two_minute_batches(
    tmp_path: Path, kafka_bootstrap: str, capsys: object
) -> None:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    topic = unique_topic()
    scenario = base_scenario(
        kafka={"bootstrap_servers": kafka_bootstrap, "topic": topic}
    )

    code = main([str(write_scenario(tmp_path, scenario))])

    assert code == 0
    records = consume(kafka_bootstrap, topic)
    batches = [json.loads(record.value) for record in records]
    assert [[row["transaction_id"] for row in batch] for batch in batches] == [
        ["tx-0001", "tx-0002"],
        ["tx-0003"],
    ]
    assert batches[0][1]["amount"] == 250.0
    assert records[0].value.count(b'"amount":250.00') == 1
    assert batches[0][0]["event_time"] == "2024-05-06T10:00:05+00:00"
