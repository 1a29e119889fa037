"""Durations as people write them: ``500ms``, ``30s``, ``1h30m`` or seconds."""

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WHOLE = re.compile(r"-?(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+")


def parse_duration(value: Any) -> float:
    """Turn a number or a duration text into seconds.

    A sign is kept so that the field's own bound, not the parser, says what
    range is allowed.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _finite(float(value))
    if not isinstance(value, str):
        raise _not_a_duration()

    text = value.strip().replace(" ", "")
    try:
        seconds = float(text)
    except ValueError:
        if not _WHOLE.fullmatch(text):
            raise _not_a_duration() from None
        parts = _PART.findall(text)
        seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in parts)
        seconds = -seconds if text.startswith("-") else seconds
    return _finite(seconds)


def _finite(seconds: float) -> float:
    # inf would be a wait that never ends, nan a wait that compares false.
    if not math.isfinite(seconds):
        raise _not_a_duration()
    return seconds


def _not_a_duration() -> PydanticCustomError:
    return PydanticCustomError(
        "duration_type",
        "Input should be a duration such as 500ms, 30s, 5m, 1h30m or seconds",
    )


def format_duration(seconds: float) -> str:
    """Write seconds the short way people read them: ``6h12m``, ``1.5s``, ``250ms``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s"


_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?(ms|s|m|h|d)?\s*)+$"},
    ],
    "description": "seconds, or a duration such as 500ms, 30s, 5m, 1h, 1h30m",
}

Seconds = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(_SCHEMA)]
"""A non-negative duration in seconds, accepted as a number or a duration text."""
