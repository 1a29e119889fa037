"""Parse a timestamp column into UTC nanoseconds, and write instants as ISO 8601."""

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import pandas as pd

from runner.scenario import Timestamp

NAT = np.iinfo(np.int64).min
"""How numpy stores NaT in an int64 view: the mark of a value that did not parse."""

_EPOCH_UNITS = {"epoch_s": "s", "epoch_ms": "ms", "epoch_us": "us", "epoch_ns": "ns"}
_ELAPSED_UNITS = {"elapsed_s": "s", "elapsed_m": "m", "elapsed_h": "h"}
_HAS_OFFSET = re.compile(r"(?:Z|[+-]\d\d(?::?\d\d)?)$")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")

Instants = npt.NDArray[np.int64]


def zone(name: str) -> ZoneInfo:
    """The IANA zone of that name; ValueError names it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def describe_format(spec: Timestamp) -> str:
    """How the expected format reads in an error message."""
    if spec.format.startswith("elapsed_"):
        return f"{spec.format} since {spec.origin}"
    return spec.format


def parse(raw: list[str], spec: Timestamp) -> Instants:
    """Parse texts into int64 UTC nanoseconds; a value that does not parse is NAT."""
    if spec.format in _EPOCH_UNITS:
        return _parse_numbers(raw, _EPOCH_UNITS[spec.format], None)
    if spec.format in _ELAPSED_UNITS:
        assert spec.origin is not None  # the model requires it for elapsed_*
        origin = pd.Timestamp(spec.origin)
        if origin.tzinfo is None:
            origin = origin.tz_localize(zone(spec.timezone))
        return _parse_numbers(raw, _ELAPSED_UNITS[spec.format], origin)
    return _parse_texts(raw, spec)


def _parse_numbers(raw: list[str], unit: str, origin: pd.Timestamp | None) -> Instants:
    texts = pd.Series(raw, dtype=object)
    valid = texts.str.fullmatch(_NUMBER).fillna(False).to_numpy(dtype=bool)
    numbers = pd.to_numeric(texts.where(valid), errors="coerce")
    if (numbers.dropna() % 1 == 0).all():
        # Whole numbers go through int64 so that epoch_ns keeps every digit.
        whole = numbers.fillna(0).astype(np.int64)
        delta = pd.to_timedelta(whole, unit=unit)  # type: ignore[call-overload]
    else:
        delta = pd.to_timedelta(numbers.fillna(0), unit=unit)  # type: ignore[call-overload]
    if origin is None:
        result = delta.to_numpy().astype(np.int64)
    else:
        result = delta.to_numpy().astype(np.int64) + origin.value
    result[~valid] = NAT
    instants: Instants = result.astype(np.int64)
    return instants


def _parse_texts(raw: list[str], spec: Timestamp) -> Instants:
    texts = pd.Series(raw, dtype=object)
    pattern = "ISO8601" if spec.format == "iso8601" else spec.format
    aware = np.fromiter(
        (bool(_HAS_OFFSET.search(text)) for text in raw), dtype=bool, count=len(raw)
    )
    if "%z" in pattern or "%Z" in pattern:
        aware[:] = True

    result = np.full(len(raw), NAT, dtype=np.int64)
    if aware.any():
        parsed = pd.to_datetime(texts[aware], format=pattern, errors="coerce", utc=True)
        result[aware] = _nanoseconds(parsed)
    if (~aware).any():
        naive = pd.to_datetime(texts[~aware], format=pattern, errors="coerce")
        local = pd.DatetimeIndex(naive).tz_localize(
            zone(spec.timezone),
            ambiguous=_ambiguous(spec, int((~aware).sum())),
            nonexistent="shift_forward"
            if spec.nonexistent == "shift_forward"
            else "NaT",
        )
        result[~aware] = _nanoseconds(pd.Series(local))
    return result


def _ambiguous(spec: Timestamp, count: int) -> Literal["NaT"] | npt.NDArray[np.bool_]:
    # pandas reads True as "the first of the two (summer time)" in its array form.
    if spec.ambiguous == "earliest":
        return np.ones(count, dtype=bool)
    if spec.ambiguous == "latest":
        return np.zeros(count, dtype=bool)
    return "NaT"


def _nanoseconds(parsed: "pd.Series[pd.Timestamp]") -> Instants:
    values = pd.DatetimeIndex(parsed).tz_convert("UTC").as_unit("ns")
    return values.asi8.copy()


def iso_unit(instants: Instants) -> str:
    """The coarsest of s, ms, us, ns that writes every instant exactly."""
    valid = instants[instants != NAT]
    for unit, step in (("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if not (valid % step).any():
            return unit
    return "ns"


def to_iso(instants: Instants, tz: ZoneInfo, unit: str) -> list[str]:
    """ISO 8601 texts with the zone's offset at each instant: ...T10:00:05+02:00."""
    if not len(instants):
        return []
    index = pd.DatetimeIndex(instants.astype("datetime64[ns]"), tz="UTC").tz_convert(tz)
    offsets = (index.tz_localize(None).asi8 - instants) // 10**9
    local = instants + offsets * 10**9
    moments: npt.NDArray[np.datetime64] = local.astype("datetime64[ns]")
    texts = np.datetime_as_string(moments, unit=unit)  # type: ignore[call-overload]

    distinct = np.unique(offsets)
    if len(distinct) == 1:
        suffix = _offset_text(int(distinct[0]))
        return [text + suffix for text in texts.tolist()]
    suffixes = {int(o): _offset_text(int(o)) for o in distinct}
    return [
        text + suffixes[offset]
        for text, offset in zip(texts.tolist(), offsets.tolist(), strict=True)
    ]


def _offset_text(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"
