"""What lands in Kafka is what the CSV says, or nothing is sent at all."""

import json
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer

from runner.cli import main
from tests.helpers import (
    BASE_CSV,
    DAY_FIRST_CSV,
    MISSING_TIMES_CSV,
    base_scenario,
    unique_topic,
    write_scenario,
)
from tests.integration.conftest import consume

CENTS_CSV = """\
transaction_id,event_time,card_token,amount_cents
tx-0001,2024-05-06 10:00:05,tok_a1,1999
tx-0002,2024-05-06 10:00:40,tok_b2,750
tx-0003,2024-05-06 10:01:10,tok_c3,320
"""
TIME_FIRST_CSV = """\
event_time,transaction_id,card_token,merchant_id,merchant_country,amount,currency
2024-05-06 10:00:05,tx-0001,tok_a1,m-100,DE,19.99,EUR
2024-05-06 10:00:40,tx-0002,tok_b2,m-101,NO,250.00,NOK
2024-05-06 10:01:10,tx-0003,tok_a1,m-100,DE,5.10,EUR
"""


class Replayed:
    """Runs the CLI on one CSV and one scenario, then reads back the topic."""

    def __init__(self, folder: Path, bootstrap: str) -> None:
        self.folder = folder
        self.bootstrap = bootstrap
        self.topic = unique_topic("faithful")
        self.report = folder / "report.json"

    def run(self, text: str, **sections: Any) -> int:
        (self.folder / "tx.csv").write_text(text, encoding="utf-8")
        kafka = {"bootstrap_servers": self.bootstrap, "topic": self.topic}
        scenario = base_scenario(kafka=kafka, **sections)
        path = write_scenario(self.folder, scenario)
        return main([str(path), "--report", str(self.report)])

    def values(self) -> list[bytes]:
        return [record.value for record in consume(self.bootstrap, self.topic)]

    def records(self) -> list[dict[str, Any]]:
        """Every record on the topic, across batches, parsed strictly."""
        found: list[dict[str, Any]] = []
        for value in self.values():
            parsed = strict(value)
            found += parsed if isinstance(parsed, list) else [parsed]
        return found

    def counts(self) -> dict[str, Any]:
        summary = json.loads(self.report.read_text())["scenarios"][0]
        counts: dict[str, Any] = summary["records"]
        counts["by_reason"] = summary["skipped_by_reason"]
        return counts

    def topic_exists(self) -> bool:
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "probe"})
        try:
            return self.topic in consumer.list_topics(timeout=10).topics
        finally:
            consumer.close()


@pytest.fixture
def replayed(tmp_path: Path, kafka_bootstrap: str) -> Replayed:
    return Replayed(tmp_path, kafka_bootstrap)


def refuse_constant(text: str) -> Any:
    raise AssertionError(f"{text} is not JSON")


def strict(value: bytes) -> Any:
    return json.loads(value, parse_constant=refuse_constant)


def timestamp(**fields: Any) -> dict[str, Any]:
    return {"timestamp": {"column": "event_time", "timezone": "UTC", **fields}}


def test_day_first_dates_arrive_on_5_13_and_14_march(replayed: Replayed) -> None:
    code = replayed.run(DAY_FIRST_CSV, source=timestamp(format="%d.%m.%Y %H:%M:%S"))

    assert code == 0
    assert [[row["event_time"] for row in strict(v)] for v in replayed.values()] == [
        ["2024-03-05T10:00:05+00:00"],
        ["2024-03-13T10:00:40+00:00"],
        ["2024-03-14T09:59:59+00:00"],
    ]


def test_iso8601_refuses_day_first_dates_and_sends_nothing(
    replayed: Replayed, capsys: pytest.CaptureFixture[str]
) -> None:
    code = replayed.run(DAY_FIRST_CSV, source=timestamp(format="iso8601"))

    assert code == 2
    error = capsys.readouterr().err
    path = replayed.folder / "tx.csv"
    assert f"error: {path}:2: column 'event_time': cannot read '05.03.2024" in error
    assert not replayed.topic_exists()


def test_a_wrong_pattern_stops_before_sending_naming_line_3(
    replayed: Replayed, capsys: pytest.CaptureFixture[str]
) -> None:
    code = replayed.run(DAY_FIRST_CSV, source=timestamp(format="%m.%d.%Y %H:%M:%S"))

    assert code == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors[0] == (
        f"error: {replayed.folder / 'tx.csv'}:3: column 'event_time': cannot read "
        f"'13.03.2024 10:00:40' as a timestamp (expected %m.%d.%Y %H:%M:%S, zone UTC)"
    )
    assert not replayed.topic_exists()


def test_missing_timestamps_stop_the_run_listing_their_lines(
    replayed: Replayed, capsys: pytest.CaptureFixture[str]
) -> None:
    code = replayed.run(MISSING_TIMES_CSV)

    assert code == 2
    errors = capsys.readouterr().err.splitlines()
    path = replayed.folder / "tx.csv"
    assert errors[0].startswith(f"error: {path}:3: column 'event_time': cannot read ''")
    assert errors[1].startswith(
        f"error: {path}:5: column 'event_time': cannot read '2024-02-30 10:00:00'"
    )
    assert not replayed.topic_exists()


def test_skipped_timestamps_add_up_in_the_summary(replayed: Replayed) -> None:
    code = replayed.run(
        MISSING_TIMES_CSV,
        source=timestamp(format="%Y-%m-%d %H:%M:%S", on_error="skip"),
    )

    assert code == 0
    assert [row["transaction_id"] for row in replayed.records()] == [
        "tx-0001",
        "tx-0003",
        "tx-0005",
    ]
    counts = replayed.counts()
    assert (counts["read"], counts["delivered"], counts["skipped"]) == (5, 3, 2)
    assert counts["by_reason"]["bad_timestamp"] == 2


@pytest.mark.parametrize(
    ("columns", "text", "expected"),
    [
        (["amount_cents"], CENTS_CSV, [1999, 750, 320]),
        (["transaction_id", "event_time", "amount_cents"], CENTS_CSV, [1999, 750, 320]),
        (["amount_cents"], CENTS_CSV.replace(",750\n", ",\n"), [1999, None, 320]),
    ],
    ids=["one-int-column", "three-columns", "nullable-int"],
)
def test_integer_columns_arrive_as_json_numbers(
    replayed: Replayed, columns: list[str], text: str, expected: list[int | None]
) -> None:
    code = replayed.run(text, message={"columns": columns})

    assert code == 0
    found = replayed.records()
    assert [row["amount_cents"] for row in found] == expected
    assert all(type(row["amount_cents"]) in (int, type(None)) for row in found)
    assert [row["event_time"] for row in found] == [
        "2024-05-06T10:00:05+00:00",
        "2024-05-06T10:00:40+00:00",
        "2024-05-06T10:01:10+00:00",
    ]
    wanted = columns if "event_time" in columns else [*columns, "event_time"]
    assert all(list(row) == wanted for row in found)


def test_empty_cells_arrive_as_null_in_strict_json(replayed: Replayed) -> None:
    text = BASE_CSV + "tx-0004,2024-05-06 10:01:30,tok_d4,m-105,,,EUR\n"

    code = replayed.run(text)

    assert code == 0
    values = replayed.values()
    assert len(values) == 2
    last = strict(values[1])
    assert last[1]["transaction_id"] == "tx-0004"
    assert last[1]["merchant_country"] is None
    assert last[1]["amount"] is None
    assert b"NaN" not in values[1]
    assert b'"amount":250.00' in values[0]


@pytest.mark.parametrize("quoted", [False, True], ids=["unquoted", "quoted"])
def test_a_bom_file_arrives_exactly_like_the_plain_one(
    tmp_path: Path, kafka_bootstrap: str, quoted: bool
) -> None:
    header, rest = TIME_FIRST_CSV.split("\n", 1)
    if quoted:
        header = ",".join(f'"{name}"' for name in header.split(","))
    plain = Replayed(tmp_path / "plain", kafka_bootstrap)
    marked = Replayed(tmp_path / "bom", kafka_bootstrap)
    plain.folder.mkdir()
    marked.folder.mkdir()

    assert plain.run(TIME_FIRST_CSV, source=timestamp()) == 0
    assert marked.run(f"\ufeff{header}\n{rest}", source=timestamp()) == 0

    assert marked.values() == plain.values()
    assert list(marked.records()[0]) == TIME_FIRST_CSV.split("\n", 1)[0].split(",")
