"""The CSV source: every cell reaches the message as it was written, in time order."""

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from runner import source
from runner.batching import batches
from runner.encode import Encoder
from runner.errors import SourceError
from runner.scenario import Scenario
from tests.helpers import (
    BASE_CSV,
    DAY_FIRST_CSV,
    HEADER,
    MISSING_TIMES_CSV,
    base_scenario,
)

TIME_FIRST_CSV = """\
event_time,transaction_id,card_token,merchant_id,merchant_country,amount,currency
2024-05-06 10:00:05,tx-0001,tok_a1,m-100,DE,19.99,EUR
2024-05-06 10:00:40,tx-0002,tok_b2,m-101,NO,250.00,NOK
2024-05-06 10:01:10,tx-0003,tok_a1,m-100,DE,5.10,EUR
"""
BOM = "\ufeff"


def scenario_for(
    folder: Path, text: str, name: str = "tx.csv", **sections: Any
) -> Scenario:
    """The base scenario over `text` written to `folder/name`, sections merged in."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return Scenario.model_validate(base_scenario(str(path), **sections))


def timestamp(column: str = "event_time", **fields: Any) -> dict[str, Any]:
    return {"timestamp": {"column": column, "timezone": "UTC", **fields}}


def encoded(scenario: Scenario) -> list[bytes]:
    """Every message value one play of the recording produces, in order."""
    recording = source.scan(scenario)
    layout = recording.layout
    encoder = Encoder(layout.fields, scenario.message.per, layout.timestamp_index)
    values = []
    for batch in batches(source.read(recording, scenario), recording.interval_ns):
        values += [message.value for message in encoder.encode(batch)]
    return values


def refuse_constant(text: str) -> Any:
    raise AssertionError(f"{text} is not JSON")


def strict(value: bytes) -> Any:
    """Parse as a strict JSON parser would: NaN and Infinity are refused."""
    return json.loads(value, parse_constant=refuse_constant)


def records(scenario: Scenario) -> list[dict[str, Any]]:
    """Every record of one play, across batches, parsed strictly."""
    found: list[dict[str, Any]] = []
    for value in encoded(scenario):
        parsed = strict(value)
        found += parsed if isinstance(parsed, list) else [parsed]
    return found


def scan_problems(scenario: Scenario) -> list[str]:
    with pytest.raises(SourceError) as caught:
        source.scan(scenario)
    return caught.value.problems


# Date order ambiguity.


def test_iso8601_refuses_day_first_dates_with_their_lines(tmp_path: Path) -> None:
    scenario = scenario_for(tmp_path, DAY_FIRST_CSV, source=timestamp(format="iso8601"))

    problems = scan_problems(scenario)

    path = tmp_path / "tx.csv"
    assert problems[0].startswith(
        f"{path}:2: column 'event_time': cannot read '05.03.2024 10:00:05'"
    )
    assert [problem.split(":")[1] for problem in problems] == ["2", "3", "4"]


def test_day_first_pattern_batches_on_5_13_and_14_march(tmp_path: Path) -> None:
    scenario = scenario_for(
        tmp_path, DAY_FIRST_CSV, source=timestamp(format="%d.%m.%Y %H:%M:%S")
    )

    recording = source.scan(scenario)
    starts = [
        pd.Timestamp(batch.start_ns, unit="ns", tz="UTC").isoformat()
        for batch in batches(source.read(recording, scenario), recording.interval_ns)
    ]

    assert starts == [
        "2024-03-05T10:00:00+00:00",
        "2024-03-13T10:00:00+00:00",
        "2024-03-14T09:59:00+00:00",
    ]
    assert [row["event_time"] for row in records(scenario)] == [
        "2024-03-05T10:00:05+00:00",
        "2024-03-13T10:00:40+00:00",
        "2024-03-14T09:59:59+00:00",
    ]


def test_month_first_pattern_stops_at_line_3_naming_everything(
    tmp_path: Path,
) -> None:
    scenario = scenario_for(
        tmp_path, DAY_FIRST_CSV, source=timestamp(format="%m.%d.%Y %H:%M:%S")
    )

    problems = scan_problems(scenario)

    assert problems[0] == (
        f"{tmp_path / 'tx.csv'}:3: column 'event_time': cannot read "
        f"'13.03.2024 10:00:40' as a timestamp (expected %m.%d.%Y %H:%M:%S, zone UTC)"
    )
    assert problems[1].startswith(f"{tmp_path / 'tx.csv'}:4: ")
    assert len(problems) == 2


# Missing or invalid timestamps.


def test_missing_and_impossible_timestamps_are_listed_with_lines(
    tmp_path: Path,
) -> None:
    problems = scan_problems(scenario_for(tmp_path, MISSING_TIMES_CSV))

    assert len(problems) == 2
    assert problems[0].startswith(f"{tmp_path / 'tx.csv'}:3: column 'event_time': ")
    assert "cannot read '' as a timestamp" in problems[0]
    assert problems[1].startswith(f"{tmp_path / 'tx.csv'}:5: column 'event_time': ")
    assert "cannot read '2024-02-30 10:00:00' as a timestamp" in problems[1]


def test_skipped_timestamps_are_counted_so_the_rows_add_up(tmp_path: Path) -> None:
    scenario = scenario_for(
        tmp_path,
        MISSING_TIMES_CSV,
        source=timestamp(format="%Y-%m-%d %H:%M:%S", on_error="skip"),
    )

    recording = source.scan(scenario)

    assert recording.rows_read == 5
    assert recording.selected == 3
    assert recording.skipped["bad_timestamp"] == 2
    assert recording.rows_read == recording.selected + sum(recording.skipped.values())
    ids = [row["transaction_id"] for row in records(scenario)]
    assert ids == ["tx-0001", "tx-0003", "tx-0005"]


def test_many_bad_timestamps_are_listed_then_counted(tmp_path: Path) -> None:
    rows = "".join(f"tx-{i},not-a-date,t,m,DE,1.00,EUR\n" for i in range(25))

    problems = scan_problems(scenario_for(tmp_path, f"{HEADER}\n{rows}"))

    assert len(problems) == 11
    assert problems[-1] == (
        f"{tmp_path / 'tx.csv'}: 15 more rows with timestamps that do not parse "
        f"(source.timestamp.on_error: skip leaves them out and counts them)"
    )


# Every dtype pandas could make of these columns is sent as plain JSON.

DTYPES_CSV = """\
tx_id,event_time,settled_at,card_token,amount_cents,refund_cents,amount,approved
tx-0001,2024-05-06 10:00:05,2024-05-06T10:00:09+02:00,tok_a1,1999,,19.99,True
tx-0002,2024-05-06 10:00:40,2024-05-06T10:00:44+02:00,tok_b2,750,250,7.50,False
tx-0003,2024-05-06 10:01:10,2024-05-06T10:01:15+02:00,tok_c3,320,,3.20,True
"""


def test_the_dtypes_csv_covers_every_dtype_pandas_reads_from_csv(
    tmp_path: Path,
) -> None:
    path = tmp_path / "dtypes.csv"
    path.write_text(DTYPES_CSV)

    dtypes = pd.read_csv(path, parse_dates=["event_time", "settled_at"]).dtypes
    nullable = pd.read_csv(path, dtype_backend="numpy_nullable").dtypes
    as_object = pd.read_csv(path, dtype={"card_token": object}).dtypes

    assert str(dtypes["amount_cents"]) == "int64"
    assert str(nullable["refund_cents"]) == "Int64"
    assert str(dtypes["refund_cents"]) == str(dtypes["amount"]) == "float64"
    assert str(dtypes["approved"]) == "bool"
    assert str(as_object["card_token"]) == "object"
    assert str(dtypes["event_time"]).startswith("datetime64[")
    assert isinstance(dtypes["settled_at"], pd.DatetimeTZDtype)


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["amount_cents"], [1999, 750, 320]),
        (["refund_cents"], [None, 250, None]),
        (["amount"], [19.99, 7.5, 3.2]),
        (["approved"], [True, False, True]),
        (["card_token"], ["tok_a1", "tok_b2", "tok_c3"]),
        (
            ["settled_at"],
            [
                "2024-05-06T10:00:09+02:00",
                "2024-05-06T10:00:44+02:00",
                "2024-05-06T10:01:15+02:00",
            ],
        ),
    ],
)
def test_a_single_column_selection_is_plain_json(
    tmp_path: Path, columns: list[str], expected: list[Any]
) -> None:
    scenario = scenario_for(tmp_path, DTYPES_CSV, message={"columns": columns})

    found = records(scenario)

    assert [list(record) for record in found] == [[*columns, "event_time"]] * 3
    assert [record[columns[0]] for record in found] == expected
    assert [type(record[columns[0]]) for record in found] == [
        type(value) for value in expected
    ]
    assert found[0]["event_time"] == "2024-05-06T10:00:05+00:00"


def test_a_selection_with_the_timestamp_keeps_its_order(tmp_path: Path) -> None:
    columns = ["tx_id", "event_time", "amount_cents"]
    scenario = scenario_for(tmp_path, DTYPES_CSV, message={"columns": columns})

    found = records(scenario)

    assert found == [
        {
            "tx_id": "tx-0001",
            "event_time": "2024-05-06T10:00:05+00:00",
            "amount_cents": 1999,
        },
        {
            "tx_id": "tx-0002",
            "event_time": "2024-05-06T10:00:40+00:00",
            "amount_cents": 750,
        },
        {
            "tx_id": "tx-0003",
            "event_time": "2024-05-06T10:01:10+00:00",
            "amount_cents": 320,
        },
    ]


def test_numbers_go_on_the_wire_as_written(tmp_path: Path) -> None:
    scenario = scenario_for(
        tmp_path,
        "id,event_time,amount,big,zip,cents,code,digits\n"
        "a,2024-05-06 10:00:05,19.99,9007199254740993,02134,1999,1e5,12\n"
        "b,2024-05-06 10:00:06,250.00,-12345678901234567890,10001,,1e5x,1\u0662\n",
        batch={"interval": "1h"},
    )

    (value,) = encoded(scenario)

    assert value == (
        b'[{"id":"a","event_time":"2024-05-06T10:00:05+00:00","amount":19.99,'
        b'"big":9007199254740993,"zip":"02134","cents":1999,"code":"1e5",'
        b'"digits":"12"},'
        b'{"id":"b","event_time":"2024-05-06T10:00:06+00:00","amount":250.00,'
        b'"big":-12345678901234567890,"zip":"10001","cents":null,"code":"1e5x",'
        b'"digits":"1\xd9\xa2"}]'
    )


# Empty cells become null, never NaN.


def test_empty_cells_are_null_and_the_json_is_strict(tmp_path: Path) -> None:
    text = BASE_CSV + "tx-0004,2024-05-06 10:01:30,tok_d4,m-105,,,EUR\n"
    scenario = scenario_for(tmp_path, text)

    values = encoded(scenario)

    assert len(values) == 2
    assert all(b"NaN" not in value and b"Infinity" not in value for value in values)
    last = strict(values[1])
    assert [row["transaction_id"] for row in last] == ["tx-0003", "tx-0004"]
    assert last[1]["merchant_country"] is None
    assert last[1]["amount"] is None
    assert b'"amount":5.10' in values[1]


def test_declared_null_markers_are_null_too(tmp_path: Path) -> None:
    text = BASE_CSV.replace("NO,250.00", "?,NA")
    scenario = scenario_for(tmp_path, text, source={"null_values": ["?", "NA"]})

    found = records(scenario)

    assert found[1]["merchant_country"] is None
    assert found[1]["amount"] is None
    assert found[0]["amount"] == 19.99


# A byte-order mark never reaches a column name.


@pytest.mark.parametrize(
    "text",
    [
        BOM + TIME_FIRST_CSV,
        BOM
        + TIME_FIRST_CSV.replace(
            TIME_FIRST_CSV.splitlines()[0],
            ",".join(f'"{name}"' for name in TIME_FIRST_CSV.splitlines()[0].split(",")),
        ),
    ],
    ids=["unquoted", "quoted"],
)
def test_a_bom_file_runs_exactly_like_the_plain_one(tmp_path: Path, text: str) -> None:
    plain = scenario_for(tmp_path, TIME_FIRST_CSV, name="plain.csv")
    marked = scenario_for(tmp_path, text, name="bom.csv")

    assert source.scan(marked).header[0] == "event_time"
    assert encoded(marked) == encoded(plain)
    assert strict(encoded(marked)[0])[0]["event_time"] == "2024-05-06T10:00:05+00:00"


def test_a_missing_column_lists_the_header_names_by_repr(tmp_path: Path) -> None:
    scenario = scenario_for(
        tmp_path, BOM + TIME_FIRST_CSV, source=timestamp(column="event_tme")
    )

    (problem,) = scan_problems(scenario)

    assert problem.startswith(
        f"{tmp_path / 'tx.csv'}:1: source.timestamp.column: column 'event_tme' "
        f"is not in the CSV; its columns are 'event_time', 'transaction_id', "
    )
    assert "\ufeff" not in problem


def test_an_invisible_character_in_a_name_is_shown(tmp_path: Path) -> None:
    text = TIME_FIRST_CSV.replace("event_time,", "event_time\u200b,", 1)

    (problem,) = scan_problems(scenario_for(tmp_path, text))

    assert "its columns are 'event_time\\u200b', 'transaction_id'" in problem


# Shapes of real recordings.


def test_an_unnamed_column_is_read_and_can_be_left_out(tmp_path: Path) -> None:
    text = '"","id","event_time","qty"\r\n"1","a","2024-05-06 10:00:05",4\r\n'
    whole = scenario_for(tmp_path, text)
    picked = scenario_for(tmp_path, text, message={"columns": ["id", "qty"]})

    assert records(whole) == [
        {"": 1, "id": "a", "event_time": "2024-05-06T10:00:05+00:00", "qty": 4}
    ]
    assert records(picked) == [
        {"id": "a", "qty": 4, "event_time": "2024-05-06T10:00:05+00:00"}
    ]


def test_a_cut_last_row_stops_the_run_with_its_line(tmp_path: Path) -> None:
    text = BASE_CSV + "tx-0004,2024-05-06 10:01:30,tok_d4,m-10"

    (problem,) = scan_problems(scenario_for(tmp_path, text))

    assert problem.startswith(
        f"{tmp_path / 'tx.csv'}:5: the last row has 4 fields where the header has 7"
    )


def test_a_skipped_cut_row_is_counted_and_does_not_type_its_column(
    tmp_path: Path,
) -> None:
    # Cut inside the amount: "1." alone would make the column text.
    text = BASE_CSV + "tx-0004,2024-05-06 10:01:30,tok_d4,m-105,DE,1."
    scenario = scenario_for(tmp_path, text, source={"on_bad_row": "skip"})

    recording = source.scan(scenario)
    found = records(scenario)

    assert recording.rows_read == 4
    assert recording.selected == 3
    assert recording.skipped["bad_row"] == 1
    assert [row["amount"] for row in found] == [19.99, 250.0, 5.1]


def test_split_date_and_time_columns_with_semicolons_and_markers(
    tmp_path: Path,
) -> None:
    text = (
        "Date;Time;Voltage;Sub_metering_3\r\n"
        "16/12/2006;17:24:00;234.840;17.000\r\n"
        "16/12/2006;17:25:00;?;?\r\n"
    )
    scenario = scenario_for(
        tmp_path,
        text,
        source={
            "delimiter": ";",
            "null_values": ["?"],
            "timestamp": {
                "column": ["Date", "Time"],
                "separator": " ",
                "format": "%d/%m/%Y %H:%M:%S",
                "timezone": "Europe/Paris",
            },
        },
        batch={"interval": "1h"},
    )

    (value,) = encoded(scenario)

    assert value == (
        b'[{"Date":"16/12/2006","Time":"17:24:00","Voltage":234.840,'
        b'"Sub_metering_3":17.000,"timestamp":"2006-12-16T17:24:00+01:00"},'
        b'{"Date":"16/12/2006","Time":"17:25:00","Voltage":null,'
        b'"Sub_metering_3":null,"timestamp":"2006-12-16T17:25:00+01:00"}]'
    )


def test_rows_out_of_order_are_sorted_stably_across_chunks(tmp_path: Path) -> None:
    # 300 rows over three chunks, newest first, each second holding two rows.
    lines = [
        f"tx-{i:03d},2024-05-06 10:{(299 - i) // 2 // 60:02d}:"
        f"{(299 - i) // 2 % 60:02d},t,m,DE,1.00,EUR"
        for i in range(300)
    ]
    text = "\n".join([HEADER, *lines]) + "\n"
    scenario = scenario_for(tmp_path, text, source={"chunk_rows": 100})

    recording = source.scan(scenario)
    found = records(scenario)

    assert not recording.in_order
    expected = sorted(range(300), key=lambda i: (299 - i) // 2)
    assert [row["transaction_id"] for row in found] == [f"tx-{i:03d}" for i in expected]
    assert recording.batches == 3


def test_a_batch_spanning_chunks_is_one_batch(tmp_path: Path) -> None:
    # 180 rows in one minute, read 100 at a time.
    lines = [
        f"tx-{i:03d},2024-05-06 10:00:{i // 3:02d},t,m,DE,1.00,EUR" for i in range(180)
    ]
    text = "\n".join([HEADER, *lines]) + "\n"
    scenario = scenario_for(tmp_path, text, source={"chunk_rows": 100})

    recording = source.scan(scenario)
    values = encoded(scenario)

    assert recording.in_order
    assert recording.batches == 1
    assert len(values) == 1
    assert [row["transaction_id"] for row in strict(values[0])] == [
        f"tx-{i:03d}" for i in range(180)
    ]


def test_record_messages_carry_the_key_and_null_keys(tmp_path: Path) -> None:
    text = BASE_CSV + "tx-0004,2024-05-06 10:01:30,,m-105,DE,1.00,EUR\n"
    scenario = scenario_for(
        tmp_path, text, message={"per": "record", "key": "card_token"}
    )

    recording = source.scan(scenario)
    keys = [
        message.key
        for batch in batches(source.read(recording, scenario), recording.interval_ns)
        for message in Encoder(
            recording.layout.fields, "record", recording.layout.timestamp_index
        ).encode(batch)
    ]

    assert keys == [b"tok_a1", b"tok_b2", b"tok_a1", None]


def test_rows_of_the_wrong_width_are_refused_with_their_lines(tmp_path: Path) -> None:
    text = (
        f"{HEADER}\n"
        "tx-0001,2024-05-06 10:00:05,tok_a1,m-100,DE,19.99,EUR\n"
        "tx-0002,2024-05-06 10:00:40,tok_b2,m-101,NO,250.00\n"
        "\n"
        "tx-0003,2024-05-06 10:01:10,tok_a1,m-100,DE,5.10,EUR,extra\n"
        "tx-0004,2024-05-06 10:01:20,tok_a1,m-100,DE,5.20,EUR\n"
    )

    problems = scan_problems(scenario_for(tmp_path, text))

    path = tmp_path / "tx.csv"
    assert problems == [
        f"{path}:3: 6 fields where the header has 7",
        f"{path}:5: 8 fields where the header has 7",
    ]


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_skipped_rows_of_the_wrong_width_are_counted_and_left_out(
    tmp_path: Path, quoted: bool
) -> None:
    # The quoted variant holds a delimiter and a line break inside a cell, so
    # rows can only be told apart by parsing them.
    merchant = '"m-1,00\nb"' if quoted else "m-100"
    text = (
        f"{HEADER}\n"
        f"tx-0001,2024-05-06 10:00:05,tok_a1,{merchant},DE,19.99,EUR\n"
        "tx-0002,2024-05-06 10:00:40,tok_b2,m-101,NO,250.00\n"
        "tx-0003,2024-05-06 10:01:10,tok_a1,m-100,DE,5.10,EUR,extra\n"
        "tx-0004,2024-05-06 10:01:20,tok_a1,m-100,DE,5.20,EUR\n"
    )
    scenario = scenario_for(tmp_path, text, source={"on_bad_row": "skip"})

    recording = source.scan(scenario)
    found = records(scenario)

    assert recording.rows_read == 4
    assert recording.skipped["bad_row"] == 2
    assert recording.selected == 2
    assert [row["transaction_id"] for row in found] == ["tx-0001", "tx-0004"]
    assert found[0]["merchant_id"] == ("m-1,00\nb" if quoted else "m-100")
    assert [row["amount"] for row in found] == [19.99, 5.2]


def test_skipped_wrong_rows_leave_exactly_the_good_ones_whatever_their_place(
    tmp_path: Path,
) -> None:
    # The parser treats a long first row, and a trailing delimiter, its own
    # ways; the rows left out must still be exactly the wrong ones.
    text = (
        "ts,a,b\n"
        "2024-01-01T00:00:00Z,0,q0,EXTRA\n"
        "2024-01-01T00:00:01Z,1,q1\n"
        "2024-01-01T00:00:02Z,2,q2\n"
        "2024-01-01T00:00:03Z,3\n"
        "2024-01-01T00:00:04Z,4,q4,\n"
        "2024-01-01T00:00:05Z,5,q5\n"
    )
    scenario = scenario_for(
        tmp_path,
        text,
        source={"on_bad_row": "skip", **timestamp("ts")},
        message={"per": "record"},
    )

    recording = source.scan(scenario)
    found = records(scenario)

    assert [row["a"] for row in found] == [1, 2, 5]
    assert recording.rows_read == 6
    assert recording.skipped["bad_row"] == 3


def test_a_changed_file_is_not_sent(tmp_path: Path) -> None:
    scenario = scenario_for(tmp_path, BASE_CSV)
    recording = source.scan(scenario)
    (tmp_path / "tx.csv").write_text(BASE_CSV.replace("19.99", "oops!"))

    with pytest.raises(SourceError) as refused:
        list(source.read(recording, scenario))

    assert refused.value.problems == [
        f"{tmp_path / 'tx.csv'}: the CSV changed since it was checked; stopping"
    ]


def test_a_shift_of_part_of_a_second_shows_in_the_instants(tmp_path: Path) -> None:
    scenario = scenario_for(tmp_path, BASE_CSV)
    recording = source.scan(scenario)

    shifted = next(iter(source.read(recording, scenario, shift_ns=1_500_000_000)))

    assert shifted.values[0][1] == '"2024-05-06T10:00:06.500+00:00"'
