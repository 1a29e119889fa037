"""Timestamp texts become exact UTC instants or NAT, and are written in ISO 8601."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from runner import timestamps
from runner.scenario import Timestamp
from runner.timestamps import NAT

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def spec(**fields: Any) -> Timestamp:
    return Timestamp.model_validate({"column": "event_time", **fields})


def ns(moment: datetime) -> int:
    """The instant as integer nanoseconds since the epoch, computed exactly."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000


def parse(raw: list[str], **fields: Any) -> list[int]:
    parsed: list[int] = timestamps.parse(raw, spec(**fields)).tolist()
    return parsed


def test_day_first_dates_read_with_their_pattern() -> None:
    raw = ["05.03.2024 10:00:05", "13.03.2024 10:00:40", "14.03.2024 09:59:59"]

    parsed = parse(raw, format="%d.%m.%Y %H:%M:%S")

    assert parsed == [
        ns(datetime(2024, 3, 5, 10, 0, 5, tzinfo=UTC)),
        ns(datetime(2024, 3, 13, 10, 0, 40, tzinfo=UTC)),
        ns(datetime(2024, 3, 14, 9, 59, 59, tzinfo=UTC)),
    ]


def test_iso8601_never_guesses_a_day_first_date() -> None:
    raw = ["05.03.2024 10:00:05", "13.03.2024 10:00:40"]

    assert parse(raw) == [NAT, NAT]


def test_a_month_first_pattern_refuses_day_thirteen() -> None:
    raw = ["05.03.2024 10:00:05", "13.03.2024 10:00:40", "14.03.2024 09:59:59"]

    parsed = parse(raw, format="%m.%d.%Y %H:%M:%S")

    # The first one is a valid May date under this pattern; the scan refuses
    # the column because of the other two.
    assert parsed == [ns(datetime(2024, 5, 3, 10, 0, 5, tzinfo=UTC)), NAT, NAT]


def test_empty_and_impossible_timestamps_are_nat() -> None:
    raw = ["2024-05-06 10:00:05", "", "2024-02-30 10:00:00", "2024-05-06 10:01:05"]

    parsed = parse(raw, format="%Y-%m-%d %H:%M:%S")

    assert parsed[1:3] == [NAT, NAT]
    assert NAT not in (parsed[0], parsed[3])


def test_a_year_beyond_nanoseconds_is_nat_not_a_crash() -> None:
    raw = ["3024-05-06 10:00:00", "1500-01-01 00:00:00", "2024-05-06 10:00:00"]

    parsed = parse(raw, format="%Y-%m-%d %H:%M:%S")

    assert parsed == [NAT, NAT, ns(datetime(2024, 5, 6, 10, tzinfo=UTC))]


def test_an_iso_date_without_time_is_local_midnight() -> None:
    # The -06 of the day is not an offset.
    parsed = parse(["2024-05-06", "2024-05-06T10:00:05-06"], timezone="Europe/Paris")

    assert parsed == [
        ns(datetime(2024, 5, 6, tzinfo=PARIS)),
        ns(datetime(2024, 5, 6, 16, 0, 5, tzinfo=UTC)),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-06T10:00:05Z", datetime(2024, 5, 6, 10, 0, 5, tzinfo=UTC)),
        ("2024-05-06T10:00:05+02:00", datetime(2024, 5, 6, 8, 0, 5, tzinfo=UTC)),
        ("2024-05-06 10:00:05+0200", datetime(2024, 5, 6, 8, 0, 5, tzinfo=UTC)),
        ("2024-05-06T10:00:05", datetime(2024, 5, 6, 10, 0, 5, tzinfo=PARIS)),
        ("2024-05-06 10:00", datetime(2024, 5, 6, 10, 0, tzinfo=PARIS)),
    ],
)
def test_iso8601_keeps_a_given_offset_and_localises_the_rest(
    text: str, expected: datetime
) -> None:
    assert parse([text], timezone="Europe/Paris") == [ns(expected)]


def test_iso8601_keeps_nanoseconds() -> None:
    parsed = parse(["2024-05-06T10:00:05.123456789Z"])

    assert parsed == [ns(datetime(2024, 5, 6, 10, 0, 5, tzinfo=UTC)) + 123_456_789]


@pytest.mark.parametrize(
    ("fmt", "text", "expected_ns"),
    [
        ("epoch_s", "1714989605", 1_714_989_605 * 10**9),
        ("epoch_ms", "1738368059999", 1_738_368_059_999 * 10**6),
        ("epoch_us", "1714989605123456", 1_714_989_605_123_456 * 10**3),
        ("epoch_ns", "1714989605123456789", 1_714_989_605_123_456_789),
        ("epoch_s", "-1", -(10**9)),
        ("epoch_s", "-0.5", -500_000_000),
        ("epoch_s", "1714989605.5", 1_714_989_605_500_000_000),
        ("epoch_ms", "1738368000000.25", 1_738_368_000_000_250_000),
    ],
)
def test_epoch_counts_are_exact_to_the_nanosecond(
    fmt: str, text: str, expected_ns: int
) -> None:
    assert parse([text], format=fmt) == [expected_ns]


@pytest.mark.parametrize(
    "text", ["", "x", "1e3", "1,5", " 12", "١٢", "99999999999999999999", "1_000"]
)
def test_an_epoch_that_is_not_a_plain_count_is_nat(text: str) -> None:
    assert parse([text, "1"], format="epoch_ms") == [NAT, 10**6]


def test_an_epoch_beyond_the_nanosecond_range_is_nat() -> None:
    assert parse(["1738368000000", "99999999999999"], format="epoch_ms")[1] == NAT


def test_elapsed_counts_are_real_time_from_the_origin_across_a_dst_change() -> None:
    # Clocks in Paris jump from 02:00 to 03:00 on 2024-03-31.
    origin = "2024-03-31T01:00:00"

    hours = parse(
        ["0", "1", "2", "2.5"],
        format="elapsed_h",
        origin=origin,
        timezone="Europe/Paris",
    )
    seconds = parse(
        ["7200"], format="elapsed_s", origin=origin, timezone="Europe/Paris"
    )

    start = datetime(2024, 3, 31, 1, tzinfo=PARIS).astimezone(UTC)
    assert hours == [ns(start + timedelta(hours=h)) for h in (0, 1, 2, 2.5)]
    assert seconds == [hours[2]]
    assert timestamps.to_iso(np.array(hours[1:3]), PARIS, "s") == [
        "2024-03-31T03:00:00+02:00",
        "2024-03-31T04:00:00+02:00",
    ]


def test_elapsed_minutes_from_an_origin_with_an_offset() -> None:
    parsed = parse(["90"], format="elapsed_m", origin="2024-01-01T00:00:00+01:00")

    assert parsed == [ns(datetime(2024, 1, 1, 0, 30, tzinfo=UTC))]


def test_split_columns_joined_without_zero_padding() -> None:
    parsed = parse(
        ["2002 9 1 06:21", "2019 12 31 23:59"],
        format="%Y %m %d %H:%M",
        timezone="America/Los_Angeles",
    )

    la = ZoneInfo("America/Los_Angeles")
    assert parsed == [
        ns(datetime(2002, 9, 1, 6, 21, tzinfo=la)),
        ns(datetime(2019, 12, 31, 23, 59, tzinfo=la)),
    ]


def test_a_local_time_skipped_by_dst_is_nat_unless_shifted() -> None:
    raw = ["2019-03-10 01:59:59", "2019-03-10 02:30:00", "2019-03-10 03:00:00"]
    fields = {"format": "%Y-%m-%d %H:%M:%S", "timezone": "America/New_York"}

    refused = parse(raw, **fields)
    shifted = parse(raw, **fields, nonexistent="shift_forward")

    assert refused[1] == NAT
    assert shifted[1] == shifted[2] == ns(datetime(2019, 3, 10, 7, tzinfo=UTC))


def test_a_repeated_local_time_is_nat_unless_a_side_is_chosen() -> None:
    raw = ["2019-11-03 01:30:00"]
    fields = {"format": "%Y-%m-%d %H:%M:%S", "timezone": "America/New_York"}

    assert parse(raw, **fields) == [NAT]
    assert parse(raw, **fields, ambiguous="earliest") == [
        ns(datetime(2019, 11, 3, 5, 30, tzinfo=UTC))
    ]
    assert parse(raw, **fields, ambiguous="latest") == [
        ns(datetime(2019, 11, 3, 6, 30, tzinfo=UTC))
    ]


def test_iso_texts_carry_the_offset_in_force_at_each_instant() -> None:
    before = datetime(2019, 3, 10, 1, 59, 59, tzinfo=NEW_YORK)
    after = datetime(2019, 3, 10, 3, 0, 0, tzinfo=NEW_YORK)

    texts = timestamps.to_iso(np.array([ns(before), ns(after)]), NEW_YORK, "s")

    assert texts == ["2019-03-10T01:59:59-05:00", "2019-03-10T03:00:00-04:00"]
    assert [datetime.fromisoformat(text) for text in texts] == [before, after]


@pytest.mark.parametrize(
    ("extra_ns", "unit", "text"),
    [
        (0, "s", "2024-05-06T10:00:05+00:00"),
        (400_000_000, "ms", "2024-05-06T10:00:05.400+00:00"),
        (123_456_000, "us", "2024-05-06T10:00:05.123456+00:00"),
        (1, "ns", "2024-05-06T10:00:05.000000001+00:00"),
    ],
)
def test_the_coarsest_exact_unit_is_written(
    extra_ns: int, unit: str, text: str
) -> None:
    instants = np.array([ns(datetime(2024, 5, 6, 10, 0, 5, tzinfo=UTC)) + extra_ns])

    assert timestamps.iso_unit(instants) == unit
    assert timestamps.to_iso(instants, ZoneInfo("UTC"), unit) == [text]


def test_an_offset_in_seconds_is_written_whole() -> None:
    # Monrovia kept -00:44:30 until 1972: minutes alone would move the instant.
    instant = np.array([pd.Timestamp("1971-06-01T12:00:00Z").value], dtype=np.int64)

    (text,) = timestamps.to_iso(instant, ZoneInfo("Africa/Monrovia"), "s")

    assert text == "1971-06-01T11:15:30-00:44:30"
    assert datetime.fromisoformat(text) == datetime(1971, 6, 1, 12, tzinfo=UTC)
