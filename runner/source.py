"""Read a CSV recording: a checking scan first, then typed rows in data-time order.

The scan reads the whole file once, chunk by chunk, before anything is sent: it
finds every timestamp that does not parse, decides each column's JSON type from
all of its cells, and counts the rows and batches the replay will send. The
second pass streams the same chunks as typed rows; only a recording that is not
in time order is held whole in memory, to be sorted.
"""

import codecs
import csv
import logging
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any, Literal, NoReturn
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd

from runner import timestamps
from runner.errors import ScenarioError, SourceError
from runner.scenario import Scenario
from runner.timestamps import NAT, Instants

log = logging.getLogger(__name__)

# The csv module refuses cells over 128 KiB by default; a recording may have
# longer ones (pandas reads them), so only memory limits a cell.
csv.field_size_limit(sys.maxsize)

Kind = Literal["number", "boolean", "string"]

# A cell is sent as a JSON number only when its text already is one, and the
# text itself goes on the wire: 19.99 stays 19.99, 250.00 keeps its zeros and
# integers beyond 2^53 keep every digit. 02134 or 1e5x stay strings, and so do
# digits of other scripts, which a JSON parser refuses (hence [0-9], not \d).
_JSON_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_NUMBERS = re.compile(rf"(?:{_JSON_NUMBER})(?:\n{_JSON_NUMBER})*")
_BOOLEANS = {
    "true": True,
    "false": False,
    "True": True,
    "False": False,
    "TRUE": True,
    "FALSE": False,
}
_BOOLEAN_JSON = {
    text: "true" if value else "false" for text, value in _BOOLEANS.items()
}
# What JSON requires to be escaped inside a string.
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')
# str.translate tables that delete what a number may hold: what is left
# after the first is not part of any number; after the second, not a digit.
_NOT_NUMBER_CHARACTERS = str.maketrans("", "", "0123456789.-+eE\n")
_NOT_DIGITS = str.maketrans("", "", "0123456789\n")
_LEADING_ZERO_OR_EMPTY = re.compile(r"(?:^|\n)(?:0[0-9]|\n|$)|\n$")
_MAX_LISTED = 10
_BLOCK_BYTES = 1 << 24


@dataclass(frozen=True)
class Layout:
    """The fields of a message and where each one comes from in the CSV."""

    fields: tuple[str, ...]
    sources: tuple[str | None, ...]  # CSV column, or None for the instant field
    timestamp_index: int | None
    key_column: str | None


@dataclass(frozen=True)
class Recording:
    """What the scan learnt about a CSV file; counts are per play of the file."""

    path: Path
    header: tuple[str, ...]
    kinds: dict[str, Kind]
    layout: Layout
    unit: str
    tz: ZoneInfo
    in_order: bool
    rows_read: int
    selected: int
    skipped: dict[str, int]
    batches: int
    largest_batch: int
    first_ns: int | None
    last_ns: int | None
    largest_gap_ns: int
    interval_ns: int
    stamp: tuple[int, int] = (0, 0)  # size and mtime when scanned
    bad_rows: frozenset[int] = frozenset()  # positions of rows left out
    widest: int = 0  # fields in the widest row, when wider than the header

    @property
    def span_ns(self) -> int:
        if self.first_ns is None or self.last_ns is None:
            return 0
        return self.last_ns - self.first_ns


@dataclass
class Rows:
    """Typed rows in data-time order, as the second pass yields them."""

    instants: Instants
    values: list[tuple[Any, ...]]
    keys: list[bytes | None] | None


def scan(scenario: Scenario) -> Recording:
    """Read the whole recording once and refuse it, located, if anything is wrong."""
    spec = scenario.source
    path = Path(spec.path)
    header = _read_header(path, spec.delimiter, spec.encoding)
    _check_columns(path, header, scenario)
    tz = _zone(scenario)
    window = _window_ns(scenario, tz)
    interval_ns = round(scenario.batch.interval * 1e9)
    nulls = _null_texts(scenario)
    stamp = _stamp(path)
    shapes = _bad_rows(path, header, scenario)

    candidates: dict[str, set[Kind]] = {
        name: {"number", "boolean"} for name in header if name not in spec.strings
    }
    bad: list[tuple[int, str]] = []
    bad_count = outside = rows = selected = 0
    units: set[str] = set()
    buckets: list[np.ndarray[Any, Any]] = []
    counts: list[np.ndarray[Any, Any]] = []
    in_order = True
    previous = NAT
    first = last = None
    largest_gap = 0

    for position, frame in _chunks(path, header, scenario, shapes.widest):
        rows += len(frame)
        raw = _timestamp_texts(frame, scenario)
        instants = timestamps.parse(raw, spec.timestamp)
        broken = instants == NAT
        left_out = _left_out(shapes.rows, position, len(frame))
        if left_out:
            broken[left_out] = False
            instants[left_out] = NAT
        for index in np.flatnonzero(broken)[: _MAX_LISTED - len(bad)]:
            bad.append((position + int(index) + 2, raw[index]))
        bad_count += int(broken.sum())

        chosen = _select(instants, window)
        outside += int(((instants != NAT) & ~chosen).sum())
        picked = instants[chosen]
        selected += len(picked)
        # A row left out for its shape says nothing about its columns' types.
        typed = frame.drop(frame.index[left_out]) if left_out else frame
        for name in list(candidates):
            _narrow(candidates, name, typed[name].tolist(), nulls)
        if not len(picked):
            continue

        units.add(timestamps.iso_unit(picked))
        if in_order and (picked[0] < previous or (np.diff(picked) < 0).any()):
            in_order = False
        previous = int(picked[-1])
        first = int(picked.min()) if first is None else min(first, int(picked.min()))
        last = int(picked.max()) if last is None else max(last, int(picked.max()))
        keys = _bucket(picked, interval_ns)
        unique, count = np.unique(keys, return_counts=True)
        buckets.append(unique)
        counts.append(count)

    if bad_count and spec.timestamp.on_error == "fail":
        raise SourceError(_bad_timestamp_lines(path, bad, bad_count, scenario))
    if bad_count:
        log.warning(
            "skipping rows whose timestamp does not parse: path=%s rows=%d "
            "first_lines=%s",
            path,
            bad_count,
            ",".join(str(line) for line, _ in bad),
        )

    batches, largest, largest_gap = _batch_shape(buckets, counts, interval_ns)
    kinds = {name: _decide(candidates.get(name, set())) for name in header}
    skipped = {
        "bad_timestamp": bad_count,
        "outside_window": outside,
        "bad_row": len(shapes.rows),
    }
    return Recording(
        path=path,
        header=header,
        kinds=kinds,
        layout=_layout(header, scenario),
        unit=max(units, key=["s", "ms", "us", "ns"].index) if units else "s",
        tz=tz,
        in_order=in_order,
        rows_read=rows,
        selected=selected,
        skipped=skipped,
        batches=batches,
        largest_batch=largest,
        first_ns=first,
        last_ns=last,
        largest_gap_ns=largest_gap,
        interval_ns=interval_ns,
        bad_rows=shapes.rows,
        widest=shapes.widest,
        stamp=stamp,
    )


def read(recording: Recording, scenario: Scenario, shift_ns: int = 0) -> Iterator[Rows]:
    """Yield typed rows in data-time order; `shift_ns` moves every instant on."""
    if _stamp(recording.path) != recording.stamp:
        # What was checked is what is sent: a file rewritten since (a later
        # loop of a long run) could hold anything.
        raise SourceError(
            [f"{recording.path}: the CSV changed since it was checked; stopping"]
        )
    if recording.in_order:
        for position, frame in _chunks(
            recording.path, recording.header, scenario, recording.widest
        ):
            rows = _convert(position, frame, recording, scenario, shift_ns)
            if len(rows.instants):
                yield rows
        return

    log.info(
        "recording is not in time order, sorting it in memory: path=%s rows=%d",
        recording.path,
        recording.selected,
    )
    parts = [
        _convert(position, frame, recording, scenario, shift_ns)
        for position, frame in _chunks(
            recording.path, recording.header, scenario, recording.widest
        )
    ]
    instants = np.concatenate([part.instants for part in parts])
    order = np.argsort(instants, kind="stable")
    values = [row for part in parts for row in part.values]
    keys = None
    if recording.layout.key_column is not None:
        keys = [key for part in parts for key in part.keys or ()]
    yield Rows(
        instants=instants[order],
        values=[values[i] for i in order.tolist()],
        keys=[keys[i] for i in order.tolist()] if keys is not None else None,
    )


def _read_header(path: Path, delimiter: str, encoding: str) -> tuple[str, ...]:
    try:
        with open(path, encoding=_codec(encoding), newline="") as stream:
            header = next(csv.reader(stream, delimiter=delimiter), None)
    except FileNotFoundError:
        raise SourceError(
            [
                f"{path}: CSV file not found (source.path, looked for "
                f"{os.path.abspath(path)})"
            ]
        ) from None
    except UnicodeDecodeError:
        _locate_decoding_error(path, encoding)
    except (OSError, LookupError) as error:
        raise SourceError([f"{path}: cannot read CSV file: {error}"]) from None
    if not header:
        raise SourceError([f"{path}:1: the CSV file has no header row"])

    names = tuple(name.replace("\ufeff", "") for name in header)
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise SourceError(
                [f"{path}:1: column {name!r} appears twice in the header"]
            )
        seen.add(name)
    return names


def _codec(encoding: str) -> str:
    # A UTF-8 byte-order mark is never part of the first column's name.
    return (
        "utf-8-sig"
        if encoding.lower().replace("_", "-") in ("utf-8", "utf8")
        else encoding
    )


def _check_columns(path: Path, header: tuple[str, ...], scenario: Scenario) -> None:
    wanted: list[tuple[str, str]] = [
        ("source.timestamp.column", name) for name in scenario.source.timestamp.columns
    ]
    if scenario.message.key is not None:
        wanted.append(("message.key", scenario.message.key))
    wanted += [("message.columns", name) for name in scenario.message.columns or ()]
    wanted += [("source.strings", name) for name in scenario.source.strings]

    present = ", ".join(repr(name) for name in header)
    problems = [
        f"{path}:1: {field_path}: column {name!r} is not in the CSV; "
        f"its columns are {present}"
        for field_path, name in wanted
        if name not in header
    ]
    if problems:
        raise SourceError(problems)


def _zone(scenario: Scenario) -> ZoneInfo:
    try:
        return timestamps.zone(scenario.source.timestamp.timezone)
    except ValueError as error:
        raise ScenarioError([f"source.timestamp.timezone: {error}"]) from None


def _window_ns(scenario: Scenario, tz: ZoneInfo) -> tuple[int | None, int | None]:
    window = scenario.replay.window
    if window is None:
        return None, None

    def convert(moment: Any) -> int | None:
        if moment is None:
            return None
        stamp = pd.Timestamp(moment)
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize(tz)
        return int(stamp.value)

    return convert(window.start), convert(window.end)


def _null_texts(scenario: Scenario) -> frozenset[str]:
    return frozenset(["", *scenario.source.null_values])


def _chunks(
    path: Path, header: tuple[str, ...], scenario: Scenario, widest: int = 0
) -> Iterator[tuple[int, pd.DataFrame]]:
    spec = scenario.source
    # Names for the fields of rows wider than the header, which are left out.
    extra = [f"\x00field-{i}" for i in range(len(header), widest)]
    try:
        # The header read by the csv module names the columns: pandas would
        # rename an empty name to 'Unnamed: 0' and keep a stray BOM.
        reader = pd.read_csv(
            path,
            sep=spec.delimiter,
            encoding=_codec(spec.encoding),
            # The header line is skipped, not read: pandas would otherwise
            # take its width as every row's and refuse the wider rows.
            header=None,
            skiprows=1,
            names=[*header, *extra],
            index_col=False,
            dtype=object,
            keep_default_na=False,
            na_filter=False,
            chunksize=spec.chunk_rows,
            engine="c",
        )
        position = 0
        with reader:
            for frame in reader:
                yield position, frame
                position += len(frame)
    except pd.errors.ParserError as error:
        raise SourceError([f"{path}: {_parser_problem(error)}"]) from None
    except UnicodeDecodeError:
        _locate_decoding_error(path, spec.encoding)


def _parser_problem(error: Exception) -> str:
    text = str(error).strip().splitlines()[-1]
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if found:
        expected, line, saw = found.groups()
        return f"line {line}: {saw} fields where the header has {expected}"
    return text


@dataclass(frozen=True)
class _Shapes:
    """Rows whose field count differs from the header's, when they are skipped."""

    rows: frozenset[int]  # their positions among the data rows
    widest: int  # the most fields in any row: the parser is given that many names


def _bad_rows(path: Path, header: tuple[str, ...], scenario: Scenario) -> _Shapes:
    """Find rows whose field count differs from the header's, before sending."""
    width = len(header)
    shapes = _row_shapes(path, scenario, width)
    if not shapes:
        return _Shapes(frozenset(), width)

    if scenario.source.on_bad_row == "fail":
        cut_line = None if _ends_with_newline(path) else _line_count(path)
        problems = []
        for _, line, fields in shapes[:_MAX_LISTED]:
            if fields < width and line == cut_line:
                problems.append(
                    f"{path}:{line}: the last row has {fields} fields where the "
                    f"header has {width} (the file looks cut short); set "
                    f"source.on_bad_row: skip to leave it out"
                )
            else:
                problems.append(
                    f"{path}:{line}: {fields} fields where the header has {width}"
                )
        if len(shapes) > _MAX_LISTED:
            problems.append(
                f"{path}: {len(shapes) - _MAX_LISTED} more rows whose field count "
                f"differs from the header's (source.on_bad_row: skip leaves them out)"
            )
        raise SourceError(problems)

    log.warning(
        "leaving out rows whose field count differs from the header's: path=%s "
        "rows=%d lines=%s",
        path,
        len(shapes),
        ",".join(str(line) for _, line, _ in shapes[:_MAX_LISTED]),
    )
    # The parser is given a name for every field of the widest row, so it
    # keeps every row in its place (it would drop some long rows and trim
    # others); the rows left out are then found by position alone.
    widest = max(width, *(fields for _, _, fields in shapes))
    return _Shapes(frozenset(ordinal for ordinal, _, _ in shapes), widest)


def _row_shapes(
    path: Path, scenario: Scenario, width: int
) -> list[tuple[int, int, int]]:
    """(row ordinal, line, field count) of every data row not `width` fields wide."""
    spec = scenario.source
    codec = _codec(spec.encoding)
    # Encoding "" gives what a codec puts first (utf-8-sig's BOM), to cut off.
    delimiter = spec.delimiter.encode(codec, errors="replace")[len("".encode(codec)) :]
    if not _ascii_compatible(codec) or len(delimiter) != 1:
        return _row_shapes_parsed(path, scenario, width)

    # Without quote characters a row is a line and its fields are its
    # delimiters plus one, which bytes.count finds in C.
    found: list[tuple[int, int, int]] = []
    line = 0
    ordinal = -2  # the header takes -1; data rows count from 0
    carry = b""
    decoder = codecs.getincrementaldecoder(codec)()
    with open(path, "rb") as stream:
        while True:
            block = stream.read(_BLOCK_BYTES)
            _check_decoding(decoder, block, path, spec.encoding)
            data = carry + block
            if block:
                cut = data.rfind(b"\n") + 1
                data, carry = data[:cut], data[cut:]
            elif carry:
                data, carry = carry + b"\n", b""
            else:
                break
            if not data:
                continue
            if b'"' in data:
                return _row_shapes_parsed(path, scenario, width)

            rows = data.split(b"\n")[:-1]
            first_line = line + 1
            counts = list(map(bytes.count, rows, repeat(delimiter)))
            line += len(rows)
            if width > 1 and counts.count(width - 1) == len(counts):
                # The common case, every row right (so none blank), in C.
                ordinal += len(rows)
                continue
            for index, count in enumerate(counts):
                row = rows[index]
                if len(row) <= 1 and row in (b"", b"\r"):
                    continue  # the parser skips blank lines
                ordinal += 1
                if count != width - 1 and ordinal >= 0:
                    found.append((ordinal, first_line + index, count + 1))
    return found


def _row_shapes_parsed(
    path: Path, scenario: Scenario, width: int
) -> list[tuple[int, int, int]]:
    # Quoted fields may hold delimiters and line breaks: the csv module reads
    # them as the parser will. Slower, so only for files that need it.
    spec = scenario.source
    found: list[tuple[int, int, int]] = []
    ordinal = -2
    try:
        with open(path, encoding=_codec(spec.encoding), newline="") as stream:
            reader = csv.reader(stream, delimiter=spec.delimiter)
            for row in reader:
                if not row:
                    continue
                ordinal += 1
                if ordinal >= 0 and len(row) != width:
                    found.append((ordinal, reader.line_num, len(row)))
    except UnicodeDecodeError:
        _locate_decoding_error(path, spec.encoding)
    return found


def _left_out(rows: frozenset[int], position: int, length: int) -> list[int]:
    """The rows of a chunk starting at `position` that are left out."""
    return sorted(row - position for row in rows if position <= row < position + length)


def _ascii_compatible(codec: str) -> bool:
    # ASCII characters are single bytes of their own value (utf-8, latin-1,
    # cp1252...), so delimiters and line ends can be counted in the raw bytes.
    # The difference of two lengths ignores a BOM that utf-8-sig prepends.
    try:
        ascii_text = '\n,;|\t"ab'
        return len("ab".encode(codec)) - len(
            "a".encode(codec)
        ) == 1 and ascii_text.encode(codec).endswith(ascii_text.encode("ascii"))
    except LookupError:
        return False


def _check_decoding(
    decoder: codecs.IncrementalDecoder,
    block: bytes,
    path: Path,
    encoding: str,
) -> None:
    try:
        decoder.decode(block, final=not block)
    except UnicodeDecodeError:
        _locate_decoding_error(path, encoding)


def _locate_decoding_error(path: Path, encoding: str) -> NoReturn:
    """Raise the SourceError that names the line of the first undecodable byte."""
    data = path.read_bytes()
    try:
        data.decode(_codec(encoding))
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        byte = data[error.start]
        hint = "for example latin-1" if encoding.lower() != "latin-1" else ""
        raise SourceError(
            [
                f"{path}:{line}: not {encoding} text ({error.reason} 0x{byte:02x}); "
                f"set source.encoding" + (f", {hint}" if hint else "")
            ]
        ) from None
    raise SourceError([f"{path}: not {encoding} text; set source.encoding"])


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as stream:
        stream.seek(0, os.SEEK_END)
        if stream.tell() == 0:
            return True
        stream.seek(-1, os.SEEK_END)
        return stream.read(1) == b"\n"


def _line_count(path: Path) -> int:
    with open(path, "rb") as stream:
        newlines = sum(
            block.count(b"\n") for block in iter(lambda: stream.read(1 << 20), b"")
        )
    return newlines + (0 if _ends_with_newline(path) else 1)


def _timestamp_texts(frame: pd.DataFrame, scenario: Scenario) -> list[str]:
    spec = scenario.source.timestamp
    columns = spec.columns
    if len(columns) == 1:
        return [str(value) for value in frame[columns[0]].tolist()]
    parts = [frame[name].astype(str) for name in columns]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + spec.separator + part
    return joined.tolist()


def _select(
    instants: Instants, window: tuple[int | None, int | None]
) -> npt.NDArray[np.bool_]:
    chosen: npt.NDArray[np.bool_] = instants != NAT
    start, end = window
    if start is not None:
        chosen &= instants >= start
    if end is not None:
        chosen &= instants < end
    return chosen


def _bucket(instants: Instants, interval_ns: int) -> Instants:
    if interval_ns <= 0:
        return instants
    return instants - instants % interval_ns


def _narrow(
    candidates: dict[str, set[Kind]],
    name: str,
    values: list[Any],
    nulls: frozenset[str],
) -> None:
    present = (
        values
        if nulls.isdisjoint(values)
        else [value for value in values if value not in nulls]
    )
    kinds = candidates[name]
    if "number" in kinds:
        text = "\n".join(present)
        # A quoted cell may hold a line break; then the joined text has more of
        # them than cells and it cannot be a column of numbers.
        if text.count("\n") != max(len(present) - 1, 0) or (
            present and not _all_numbers(text)
        ):
            kinds.discard("number")
    if "boolean" in kinds and not all(value in _BOOLEANS for value in present):
        kinds.discard("boolean")
    if not kinds:
        del candidates[name]


def _all_numbers(text: str) -> bool:
    """Whether every line of `text` is a JSON number; cheap tests settle most."""
    if text.translate(_NOT_NUMBER_CHARACTERS):
        return False  # a letter, a space, a comma...: cheaper than the regex
    if not text.translate(_NOT_DIGITS):
        # Digits and line breaks only: integers, unless one has a leading zero
        # (02134 is a code, not a number) or a line is empty.
        return not _LEADING_ZERO_OR_EMPTY.search(text)
    return _NUMBERS.fullmatch(text) is not None


def _decide(kinds: set[Kind]) -> Kind:
    if "number" in kinds:
        return "number"
    if "boolean" in kinds:
        return "boolean"
    return "string"


def _batch_shape(
    buckets: Sequence[np.ndarray[Any, Any]],
    counts: Sequence[np.ndarray[Any, Any]],
    interval_ns: int,
) -> tuple[int, int, int]:
    if not buckets:
        return 0, 0, 0
    keys = np.concatenate(buckets)
    sizes = np.concatenate(counts)
    unique, inverse = np.unique(keys, return_inverse=True)
    totals = np.bincount(inverse, weights=sizes)
    gaps = np.diff(unique)
    return len(unique), int(totals.max()), int(gaps.max()) if len(gaps) else 0


def _bad_timestamp_lines(
    path: Path, bad: list[tuple[int, str]], count: int, scenario: Scenario
) -> list[str]:
    spec = scenario.source.timestamp
    column = spec.column if isinstance(spec.column, str) else "+".join(spec.column)
    expected = timestamps.describe_format(spec)
    lines = [
        f"{path}:{line}: column {column!r}: cannot read {raw!r} as a timestamp "
        f"(expected {expected}, zone {spec.timezone})"
        for line, raw in bad
    ]
    if count > len(bad):
        lines.append(
            f"{path}: {count - len(bad)} more rows with timestamps that do not parse "
            f"(source.timestamp.on_error: skip leaves them out and counts them)"
        )
    return lines


def _layout(header: tuple[str, ...], scenario: Scenario) -> Layout:
    spec = scenario.source.timestamp
    columns = list(scenario.message.columns or header)
    single = spec.columns[0] if len(spec.columns) == 1 else None
    name = scenario.message.timestamp_field or single or "timestamp"

    fields: list[str] = []
    sources: list[str | None] = []
    for column in columns:
        fields.append(column)
        sources.append(None if column == name and column in spec.columns else column)
    if None not in sources:
        if name in fields:
            raise ScenarioError(
                [
                    f"message.timestamp_field: {name!r} is already a column of the CSV "
                    f"that is not the timestamp; choose another name"
                ]
            )
        fields.append(name)
        sources.append(None)
    return Layout(
        fields=tuple(fields),
        sources=tuple(sources),
        timestamp_index=sources.index(None),
        key_column=scenario.message.key,
    )


def _convert(
    position: int,
    frame: pd.DataFrame,
    recording: Recording,
    scenario: Scenario,
    shift_ns: int,
) -> Rows:
    instants = timestamps.parse(
        _timestamp_texts(frame, scenario), scenario.source.timestamp
    )
    left_out = _left_out(recording.bad_rows, position, len(frame))
    if left_out:
        instants[left_out] = NAT
    window = _window_ns(scenario, recording.tz)
    chosen = _select(instants, window)
    picked = instants[chosen] + shift_ns
    if not chosen.all():
        frame = frame[chosen]
    nulls = _null_texts(scenario)

    columns: list[list[Any]] = []
    for source in recording.layout.sources:
        if source is None:
            # A shift of a fraction of a second needs the precision to show it.
            unit = _finer(recording.unit, timestamps.iso_unit(np.array([shift_ns])))
            instants_text = timestamps.to_iso(picked, recording.tz, unit)
            columns.append([f'"{text}"' for text in instants_text])
            continue
        cells = frame[source].tolist()
        columns.append(_typed(cells, recording.kinds[source], nulls))

    keys = None
    if recording.layout.key_column is not None:
        cells = frame[recording.layout.key_column].tolist()
        keys = [None if cell in nulls else cell.encode() for cell in cells]
    return Rows(instants=picked, values=list(zip(*columns, strict=True)), keys=keys)


def _stamp(path: Path) -> tuple[int, int]:
    try:
        status = path.stat()
    except OSError:
        return (-1, -1)
    return (status.st_size, status.st_mtime_ns)


def _finer(first: str, second: str) -> str:
    units = ["s", "ms", "us", "ns"]
    return max(first, second, key=units.index)


def _typed(cells: list[str], kind: Kind, nulls: frozenset[str]) -> list[str]:
    """Each cell written as JSON text: the encoder places these as they are."""
    if not cells:
        return []
    has_nulls = not nulls.isdisjoint(cells)
    if kind == "number":
        # The cell's own text is the JSON number: exact digits, any size.
        if not has_nulls:
            return cells
        return ["null" if cell in nulls else cell for cell in cells]
    if kind == "boolean":
        return ["null" if cell in nulls else _BOOLEAN_JSON[cell] for cell in cells]

    if _NEEDS_ESCAPE.search("".join(cells)):
        # Quotes, backslashes or control characters: let orjson escape them.
        quoted = [orjson.dumps(cell).decode() for cell in cells]
    else:
        # No cell holds a control character, so NUL can separate them: one
        # join and one split quote the whole column at C speed.
        quoted = ('"' + '"\x00"'.join(cells) + '"').split("\x00")
    if not has_nulls:
        return quoted
    return [
        "null" if cell in nulls else text
        for cell, text in zip(cells, quoted, strict=True)
    ]
