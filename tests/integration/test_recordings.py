"""Every real recording replays into Kafka cell for cell, in data-time order.

The expected side is computed here, independently of the runner: the CSV is
read with the standard `csv` module, each row's instant with `datetime` and
`zoneinfo`, and the messages are parsed with numbers kept as their text.
"""

import csv
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from runner.cli import main
from tests.helpers import DATA, unique_topic, write_scenario
from tests.integration.conftest import Record, consume
from tests.integration.recordings import FILES, recording_scenario

_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_BOOLEANS = {"true": True, "false": False, "True": True, "False": False}
_BOOLEANS |= {"TRUE": True, "FALSE": False}
_ISO_WITH_OFFSET = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?[+-]\d\d:\d\d"
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}  # of batch.interval texts
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_PROBLEMS = 10

Row = dict[str, str]


class Number(str):
    """A JSON number as the exact text it was written with."""


@dataclass(frozen=True)
class Reading:
    """How this test reads one recording, without the runner's code."""

    instant: Callable[[Row], datetime]
    zone: ZoneInfo
    delimiter: str = ","
    nulls: frozenset[str] = frozenset({""})
    cut_last_row: bool = False


def _local(text: str, pattern: str, zone: ZoneInfo) -> datetime:
    return datetime.strptime(text, pattern).replace(tzinfo=zone)


def _tabformer(row: Row) -> datetime:
    hour, minute = row["Time"].split(":")
    return datetime(
        int(row["Year"]),
        int(row["Month"]),
        int(row["Day"]),
        int(hour),
        int(minute),
        tzinfo=_LOS_ANGELES,
    )


_BRUSSELS = ZoneInfo("Europe/Brussels")
_LOS_ANGELES = ZoneInfo("America/Los_Angeles")
_NEW_YORK = ZoneInfo("America/New_York")
_PARIS = ZoneInfo("Europe/Paris")
_LONDON = ZoneInfo("Europe/London")
_ZULU = ZoneInfo("UTC")

READINGS: dict[str, Reading] = {
    "ulb_creditcard_head.csv": Reading(
        # Elapsed seconds are real seconds, whatever the wall clock does.
        instant=lambda row: (
            datetime(2013, 9, 1, tzinfo=_BRUSSELS).astimezone(UTC)
            + timedelta(seconds=int(row["Time"]))
        ),
        zone=_BRUSSELS,
    ),
    "paysim_sample.csv": Reading(
        instant=lambda row: (
            datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=int(row["step"]))
        ),
        zone=_ZULU,
    ),
    "tabformer_user0.csv": Reading(instant=_tabformer, zone=_LOS_ANGELES),
    "nyc_taxi_trips_2019_03.csv": Reading(
        instant=lambda row: _local(
            row["tpep_pickup_datetime"], "%Y-%m-%d %H:%M:%S", _NEW_YORK
        ),
        zone=_NEW_YORK,
    ),
    "household_power_head.csv": Reading(
        instant=lambda row: _local(
            f"{row['Date']} {row['Time']}", "%d/%m/%Y %H:%M:%S", _PARIS
        ),
        zone=_PARIS,
        delimiter=";",
        nulls=frozenset({"", "?"}),
        cut_last_row=True,
    ),
    "binance_nearusdt_1m_2025_02.csv": Reading(
        instant=lambda row: _EPOCH + timedelta(milliseconds=int(row["open_time"])),
        zone=_ZULU,
    ),
    "usgs_earthquakes_month.csv": Reading(
        instant=lambda row: datetime.fromisoformat(row["time"]), zone=_ZULU
    ),
    "online_retail_r_sample.csv": Reading(
        instant=lambda row: _local(row["InvoiceDate"], "%m/%d/%Y %H:%M", _LONDON),
        zone=_LONDON,
        nulls=frozenset({"", "NA"}),
    ),
}


@dataclass(frozen=True)
class Table:
    """The CSV as text cells, with the line each data row starts on."""

    header: list[str]
    rows: list[Row]
    lines: list[int]
    cut_rows: int


def _read_csv(path: Path, reading: Reading) -> Table:
    with open(path, encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream, delimiter=reading.delimiter)
        header = next(reader)
        cells: list[list[str]] = []
        lines: list[int] = []
        start = reader.line_num + 1
        for fields in reader:
            cells.append(fields)
            lines.append(start)
            start = reader.line_num + 1

    cut_rows = 0
    if reading.cut_last_row:
        assert len(cells[-1]) < len(header), "the last row is expected to be cut"
        cells, lines, cut_rows = cells[:-1], lines[:-1], 1
    assert all(len(fields) == len(header) for fields in cells)
    rows = [dict(zip(header, fields, strict=True)) for fields in cells]
    return Table(header=header, rows=rows, lines=lines, cut_rows=cut_rows)


@dataclass(frozen=True)
class Expected:
    """The records a replay must deliver, worked out from the CSV alone."""

    reading: Reading
    table: Table
    scenario: dict[str, Any]
    instants: list[datetime]  # of each row, in file order
    order: list[int]  # rows in data-time order, file order among equal times

    @property
    def fields(self) -> list[str]:
        message = self.scenario["message"]
        columns = list(message.get("columns") or self.table.header)
        name = self.instant_field
        return columns if name in columns else [*columns, name]

    @property
    def instant_field(self) -> str:
        column = self.scenario["source"]["timestamp"]["column"]
        named: str | None = self.scenario["message"].get("timestamp_field")
        if named is not None:
            return named
        return column if isinstance(column, str) else "timestamp"

    def problems(
        self, received: list[tuple[bytes | None, dict[str, Any]]]
    ) -> list[str]:
        """Up to a few differences between the records and the CSV's rows."""
        kinds = _kinds(self.table, self.reading.nulls)
        problems: list[str] = []
        for position, (index, (key, record)) in enumerate(
            zip(self.order, received, strict=True)
        ):
            where = f"record {position} (CSV line {self.table.lines[index]})"
            problems += [
                f"{where}: {problem}"
                for problem in self._record_problems(index, key, record, kinds)
            ]
            if len(problems) >= _MAX_PROBLEMS:
                break
        return problems

    def _record_problems(
        self,
        index: int,
        key: bytes | None,
        record: dict[str, Any],
        kinds: dict[str, str],
    ) -> list[str]:
        if list(record) != self.fields:
            return [f"fields {list(record)}, expected {self.fields}"]
        row = self.table.rows[index]
        nulls = self.reading.nulls
        problems = []
        for name, value in record.items():
            if name == self.instant_field:
                problem = _instant_problem(
                    value, self.instants[index], self.reading.zone
                )
            else:
                problem = _cell_problem(value, row[name], kinds[name], nulls)
            if problem:
                problems.append(f"{name}={value!r}: {problem}")

        key_column = self.scenario["message"].get("key")
        if key_column is not None:
            cell = row[key_column]
            wanted = None if cell in nulls else cell.encode()
            if key != wanted:
                problems.append(f"key {key!r}, expected {wanted!r}")
        return problems


def _expect(file: str, scenario: dict[str, Any]) -> Expected:
    reading = READINGS[file]
    table = _read_csv(DATA / file, reading)
    instants = [reading.instant(row) for row in table.rows]
    order = sorted(range(len(instants)), key=lambda index: instants[index])
    return Expected(reading, table, scenario, instants, order)


def _kinds(table: Table, nulls: frozenset[str]) -> dict[str, str]:
    """The JSON type each column should have: number, boolean or string."""
    kinds = {}
    for name in table.header:
        present = [row[name] for row in table.rows if row[name] not in nulls]
        if all(_JSON_NUMBER.fullmatch(cell) for cell in present):
            kinds[name] = "number"
        elif all(cell in _BOOLEANS for cell in present):
            kinds[name] = "boolean"
        else:
            kinds[name] = "string"
    return kinds


def _refuse_constant(text: str) -> Any:
    raise AssertionError(f"{text} is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record = dict(pairs)
    assert len(record) == len(pairs), f"duplicate field in {pairs!r}"
    return record


def _strict_json(value: bytes) -> Any:
    return json.loads(
        value.decode("utf-8"),
        parse_int=Number,
        parse_float=Number,
        parse_constant=_refuse_constant,
        object_pairs_hook=_no_duplicates,
    )


def _messages(
    records: list[Record], per: str
) -> list[tuple[bytes | None, list[dict[str, Any]]]]:
    """Each message's key and the records it carries, in topic order."""
    messages = []
    for record in records:
        payload = _strict_json(record.value)
        if per == "batch":
            assert isinstance(payload, list) and payload, payload
            messages.append((record.key, payload))
        else:
            assert isinstance(payload, dict), payload
            messages.append((record.key, [payload]))
    return messages


def _cell_problem(value: Any, cell: str, kind: str, nulls: frozenset[str]) -> str:
    if cell in nulls:
        return "" if value is None else "expected null"
    if kind == "number":
        ok = isinstance(value, Number) and str(value) == cell
        return "" if ok else "expected the number written as in the CSV"
    if kind == "boolean":
        return "" if value is _BOOLEANS[cell] else "expected a boolean"
    ok = isinstance(value, str) and not isinstance(value, Number) and value == cell
    return "" if ok else "expected the cell's text"


def _instant_problem(value: Any, expected: datetime, zone: ZoneInfo) -> str:
    if not isinstance(value, str) or not _ISO_WITH_OFFSET.fullmatch(value):
        return "expected ISO 8601 with an offset"
    written = datetime.fromisoformat(value)
    local = expected.astimezone(zone)
    if written != expected or written.utcoffset() != local.utcoffset():
        return f"expected {local.isoformat()}"
    return ""


def _batch_intervals(
    messages: list[tuple[bytes | None, list[dict[str, Any]]]],
    expected: Expected,
) -> list[int]:
    """The interval of data time of each batch; each must fall in exactly one."""
    text = expected.scenario["batch"]["interval"]
    interval_s = int(text[:-1]) * _UNIT_SECONDS[text[-1]]
    starts: list[int] = []
    rows = iter(expected.order)
    for _, batch in messages:
        floors = {
            int(expected.instants[next(rows)].timestamp()) // interval_s for _ in batch
        }
        assert len(floors) == 1, f"batch {len(starts)} spans intervals {floors}"
        starts.append(floors.pop())
    return starts


def _replay(
    tmp_path: Path, bootstrap: str, scenario: dict[str, Any]
) -> tuple[list[Record], dict[str, Any]]:
    report = tmp_path / "report.json"

    code = main([str(write_scenario(tmp_path, scenario)), "--report", str(report)])

    assert code == 0
    summary = json.loads(report.read_text())["scenarios"][0]
    return consume(bootstrap, scenario["kafka"]["topic"]), summary


def test_every_recording_has_a_scenario() -> None:
    assert sorted(FILES) == sorted(path.name for path in DATA.glob("*.csv"))
    assert sorted(READINGS) == sorted(FILES)


@pytest.mark.parametrize("file", FILES)
def test_recording_replays_cell_for_cell(
    tmp_path: Path, kafka_bootstrap: str, file: str
) -> None:
    topic = unique_topic(f"recording.{file.removesuffix('.csv')}")
    scenario = recording_scenario(file, kafka_bootstrap, topic)
    expected = _expect(file, scenario)
    rows, cut_rows = len(expected.table.rows), expected.table.cut_rows

    records, summary = _replay(tmp_path, kafka_bootstrap, scenario)

    counts = summary["records"]
    assert summary["outcome"] == "completed"
    assert (counts["read"], counts["delivered"]) == (rows + cut_rows, rows)
    assert counts["read"] == counts["delivered"] + counts["skipped"]
    assert counts["failed"] == counts["unsent"] == 0
    assert summary["skipped_by_reason"].get("bad_row", 0) == cut_rows

    messages = _messages(records, scenario["message"]["per"])
    received = [(key, record) for key, batch in messages for record in batch]
    assert len(received) == rows
    problems = expected.problems(received)
    assert not problems, "\n".join(problems)

    if scenario["message"]["per"] == "batch":
        starts = _batch_intervals(messages, expected)
        assert starts == sorted(set(starts)), "batches out of order or repeated"
