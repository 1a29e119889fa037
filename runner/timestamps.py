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

_EPOCH_UNITS = {"epoch_s": 10**9, "epoch_ms": 10**6, "epoch_us": 10**3, "epoch_ns": 1}
_ELAPSED_UNITS = {
    "elapsed_s": 10**9,
    "elapsed_m": 60 * 10**9,
    "elapsed_h": 3600 * 10**9,
}
# An offset counts only after a time of day: the -06 of 2024-05-06 is a day.
_HAS_OFFSET = re.compile(
    r"[T ][0-9]{2}(?::?[0-9]{2}){0,2}(?:[.,][0-9]+)?"
    r"\s*(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)$"
)
# Sign, whole part and fraction of a count of units.
_NUMBER = re.compile(r"\A(-?)([0-9]{1,19})(?:\.([0-9]+))?\Z")
# A column of whole counts, one per line: checked in one pass over the text.
_WHOLE_COLUMN = re.compile(r"-?[0-9]{1,19}(?:\n-?[0-9]{1,19})*")
_LIMIT = np.iinfo(np.int64).max
_LIMIT_TEXT = str(_LIMIT)
_UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}

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
        return _parse_numbers(raw, _EPOCH_UNITS[spec.format], 0)
    if spec.format in _ELAPSED_UNITS:
        assert spec.origin is not None  # the model requires it for elapsed_*
        origin = pd.Timestamp(spec.origin)
        if origin.tzinfo is None:
            origin = origin.tz_localize(zone(spec.timezone))
        return _parse_numbers(raw, _ELAPSED_UNITS[spec.format], int(origin.value))
    return _parse_texts(raw, spec)


def _parse_numbers(raw: list[str], unit_ns: int, origin_ns: int) -> Instants:
    # Integer arithmetic throughout: a float cannot hold epoch_ns, nor a
    # millisecond epoch times 10**6, to the nanosecond.
    sign, whole, fraction, valid = _counts(raw)
    largest = (_LIMIT - abs(origin_ns) - unit_ns) // unit_ns
    valid = valid & (whole >= 0) & (whole <= largest)
    result = np.where(valid, whole, 0) * unit_ns
    if fraction is not None:
        result += np.rint(fraction * unit_ns).astype(np.int64)
    result = sign * result + origin_ns
    result[~valid] = NAT
    instants: Instants = result
    return instants


def _counts(
    raw: list[str],
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64] | None,
    npt.NDArray[np.bool_],
]:
    """Sign, whole part, fraction (None when all are whole) and validity of counts."""
    texts = pd.Series(raw, dtype=object)
    joined = "\n".join(raw)
    if joined.count("\n") == len(raw) - 1 and _WHOLE_COLUMN.fullmatch(joined):
        numbers = pd.to_numeric(texts)
        if numbers.dtype == np.int64:  # else one is beyond int64: read them apart
            whole = numbers.to_numpy(dtype=np.int64)
            sign = np.where(whole < 0, -1, 1)
            return sign, np.abs(whole), None, np.ones(len(raw), dtype=bool)

    parts = texts.str.extract(_NUMBER)
    digits = parts[1].fillna("")
    fits = (digits.str.len() < len(_LIMIT_TEXT)) | (digits <= _LIMIT_TEXT)
    valid = (parts[1].notna() & fits).to_numpy(dtype=bool)
    whole = pd.to_numeric(digits.where(valid, "0")).to_numpy(dtype=np.int64)
    sign = np.where((parts[0] == "-").to_numpy(dtype=bool), -1, 1)
    fraction = pd.to_numeric("0." + parts[2].where(valid).fillna("0"))
    return sign, whole, fraction.to_numpy(dtype=np.float64), valid


def _parse_texts(raw: list[str], spec: Timestamp) -> Instants:
    texts = pd.Series(raw, dtype=object)
    if spec.format == "iso8601":
        pattern = "ISO8601"
        aware = texts.str.contains(_HAS_OFFSET).fillna(False).to_numpy(dtype=bool)
    else:
        # A pattern says itself whether its texts carry an offset.
        pattern = spec.format
        has_zone = "%z" in pattern or "%Z" in pattern
        aware = np.full(len(raw), has_zone, dtype=bool)

    result = np.full(len(raw), NAT, dtype=np.int64)
    if aware.any():
        parsed = pd.to_datetime(texts[aware], format=pattern, errors="coerce", utc=True)
        result[aware] = _nanoseconds(pd.DatetimeIndex(parsed))
    if (~aware).any():
        naive = pd.DatetimeIndex(
            pd.to_datetime(texts[~aware], format=pattern, errors="coerce")
        )
        local = naive.tz_localize(
            zone(spec.timezone),
            ambiguous=_ambiguous(spec, len(naive)),
            nonexistent="shift_forward"
            if spec.nonexistent == "shift_forward"
            else "NaT",
        )
        result[~aware] = _nanoseconds(local)
    return result


def _ambiguous(spec: Timestamp, count: int) -> Literal["NaT"] | npt.NDArray[np.bool_]:
    # pandas reads True as "the first of the two (summer time)" in its array form.
    if spec.ambiguous == "earliest":
        return np.ones(count, dtype=bool)
    if spec.ambiguous == "latest":
        return np.zeros(count, dtype=bool)
    return "NaT"


def _nanoseconds(index: pd.DatetimeIndex) -> Instants:
    # pandas parses to microseconds or coarser, which reach years that
    # nanoseconds cannot (a typo such as 3024): those become NAT, not a crash.
    values = index.tz_convert("UTC").asi8
    step = _UNIT_NS[index.unit]
    inside = (values != NAT) & (np.abs(values) <= _LIMIT // step)
    result = np.where(inside, values, 0) * step
    result[~inside] = NAT
    instants: Instants = result
    return instants


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
    minutes, seconds = divmod(rest, 60)
    # Zones before about 1970 had offsets in seconds (Amsterdam +00:19:32):
    # they are written in full so the text keeps its instant.
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{seconds:02d}" if seconds else text
