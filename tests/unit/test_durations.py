"""Durations as people write them, and as the runner writes them back."""

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from runner.durations import Seconds, format_duration, parse_duration


@pytest.mark.parametrize(
    ("given", "seconds"),
    [
        (0, 0.0),
        (5, 5.0),
        (0.25, 0.25),
        ("5", 5.0),
        ("2.5", 2.5),
        ("500ms", 0.5),
        ("30s", 30.0),
        ("1.5s", 1.5),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("1h30m", 5400.0),
        ("1h 30m", 5400.0),
        (" 2m ", 120.0),
        ("1m30s250ms", 90.25),
        ("-1s", -1.0),
    ],
)
def test_numbers_and_duration_texts_become_seconds(given: Any, seconds: float) -> None:
    assert parse_duration(given) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "given",
    [
        "5 minutes",
        "fast",
        "",
        "1x",
        "m5",
        "1h30",
        ".5s",
        "inf",
        "nan",
        float("inf"),
        float("nan"),
        True,
        False,
        None,
        [1],
        {"s": 1},
    ],
)
def test_anything_else_is_refused_as_a_duration(given: Any) -> None:
    with pytest.raises(PydanticCustomError) as refused:
        parse_duration(given)

    assert refused.value.type == "duration_type"
    assert "a duration such as 500ms, 30s, 5m, 1h30m or seconds" in str(refused.value)


def test_the_type_validates_inside_pydantic() -> None:
    adapter = TypeAdapter(Seconds)

    assert adapter.validate_python("1m") == 60.0
    with pytest.raises(ValidationError) as refused:
        adapter.validate_python("soon")
    assert refused.value.errors()[0]["type"] == "duration_type"


def test_the_json_schema_allows_numbers_and_duration_texts() -> None:
    schema = TypeAdapter(Seconds).json_schema()

    kinds = [option["type"] for option in schema["anyOf"]]
    assert kinds == ["number", "string"]
    assert "1h30m" in schema["description"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0ms"),
        (0.25, "250ms"),
        (1.0, "1.0s"),
        (1.5, "1.5s"),
        (59.94, "59.9s"),
        (60.0, "1m00s"),
        (90.0, "1m30s"),
        (3599.0, "59m59s"),
        (3600.0, "1h00m"),
        (22_386.0, "6h13m"),
        (90_000.0, "25h00m"),
    ],
)
def test_durations_are_written_the_short_way(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
