"""Load a scenario: render, parse with positions, override, validate, locate errors.

Every problem is one line: where (file and line, or the --set option), the
dotted field path, what is wrong, and what was given.
"""

import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from runner import template
from runner.errors import ScenarioError
from runner.scenario import FieldProblem, Scenario
from runner.template import Rendered

Location = tuple[str | int, ...]

_PACE_KEYS = ("delay", "speed", "rate", "stages")
_DICT_FIELDS = (("kafka", "config"), ("kafka", "headers"))
_HEADERS = ("kafka", "headers")
# Words YAML 1.1 reads as booleans that few people mean as true or false.
_SURPRISING_BOOLEANS = {"yes", "no", "on", "off", "y", "n"}
# Names people reach for first, and where that setting lives in this format.
_ALIASES: dict[Location, dict[str, str]] = {
    (): {
        "metrics": "telemetry",
        "tracing": "telemetry",
        "batching": "batch",
        "payload": "message",
    },
    ("batch",): {"window": "interval", "size": "interval"},
    ("telemetry",): {"port": "metrics_port"},
}
_NAME_PATTERN = r"^[A-Za-z0-9._-]+$"
_EMPTY = "empty value (YAML reads it as null); give a value or leave the key out"
_LONGEST_GIVEN = 60

_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping of keys",
    "model_type": "a mapping of keys",
    "model_attributes_type": "a mapping of keys",
    "list_type": "a list",
    "datetime_type": "a date and time such as 2024-05-06 10:00:00",
    "datetime_parsing": "a date and time such as 2024-05-06 10:00:00",
    "datetime_from_date_parsing": "a date and time such as 2024-05-06 10:00:00",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "must be {} or more"),
    "greater_than": ("gt", "must be more than {}"),
    "less_than_equal": ("le", "must be {} or less"),
    "less_than": ("lt", "must be less than {}"),
}


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with the text it came from, for --render and errors."""

    path: Path
    scenario: Scenario
    rendered: str


def load(
    path: Path,
    overrides: Sequence[str] = (),
    variables: Mapping[str, str] | None = None,
) -> LoadedScenario:
    """Read, render and validate one scenario file; every problem is located."""
    source_text = _read(path)
    rendered = template.render(path, source_text, variables or {})
    where = _Where(path, rendered, source_text.split("\n"), rendered.text.split("\n"))

    data, marks = _parse_yaml(rendered.text, where)
    _apply_overrides(data, overrides, marks)
    _resolve_paths(data, path)
    problems = _Problems(where, marks)
    _tidy(Scenario, data, (), marks, problems)

    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        _describe(error, data, marks, problems)
        raise problems.error() from None

    _check_csv(scenario, problems)
    if problems.found:
        raise problems.error()
    return LoadedScenario(path=path, scenario=scenario, rendered=rendered.text)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([f"{path}: scenario file not found"]) from None
    except IsADirectoryError:
        raise ScenarioError([f"{path}: is a directory, not a scenario file"]) from None
    except UnicodeDecodeError as error:
        raise ScenarioError(
            [f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8"]
        ) from None
    except OSError as error:
        raise ScenarioError([f"{path}: cannot read: {error.strerror}"]) from None


@dataclass(frozen=True)
class _Where:
    """Formats the place of a problem as a line of the file the user wrote."""

    path: Path
    rendered: Rendered
    source_lines: list[str]
    rendered_lines: list[str]

    def origin(self, line: int) -> int | None:
        return self.rendered.origin(line)

    def at(self, line: int | None, column: int | None = None) -> str:
        if line is None:
            return str(self.path)
        origin = self.rendered.origin(line)
        if origin is None:
            text = (_item(self.rendered_lines, line) or "").strip()
            return f"{self.path}: line {line} of the rendered text, {text!r}"
        # A column counts in the rendered line; it only holds where that line
        # reads the same in the template.
        same = _item(self.rendered_lines, line) == _item(self.source_lines, origin)
        if column and same:
            return f"{self.path}:{origin}:{column}"
        return f"{self.path}:{origin}"


def _item(lines: list[str], line: int) -> str | None:
    return lines[line - 1] if 1 <= line <= len(lines) else None


@dataclass
class _Marks:
    """What YAML knew and pydantic does not: lines, words as written, --set origins."""

    lines: dict[Location, int] = field(default_factory=lambda: {(): 1})
    words: dict[Location, str] = field(default_factory=dict)
    overrides: dict[Location, str] = field(default_factory=dict)

    def line_of(self, location: Location) -> int | None:
        for end in range(len(location), -1, -1):
            if location[:end] in self.lines:
                return self.lines[location[:end]]
        return None

    def override_of(self, location: Location) -> str | None:
        for end in range(len(location), 0, -1):
            if location[:end] in self.overrides:
                return self.overrides[location[:end]]
        return None


@dataclass
class _Problems:
    """Problems gathered in any order, reported in the order of the file."""

    where: _Where
    marks: _Marks
    found: dict[Location, tuple[tuple[int, int], str]] = field(default_factory=dict)

    def add(self, location: Location, message: str) -> None:
        if location in self.found:
            return
        dotted = _dotted(location) or "(top level)"
        override = self.marks.override_of(location)
        if override is not None:
            order = (1, len(self.found))
            text = f"--set {override}: {dotted}: {message}"
        else:
            line = self.marks.line_of(location)
            order = (0, line or 0)
            text = f"{self.where.at(line)}: {dotted}: {message}"
        self.found[location] = (order, text)

    def error(self) -> ScenarioError:
        ordered = sorted(self.found.values(), key=lambda item: item[0])
        return ScenarioError([text for _, text in ordered])


def _parse_yaml(text: str, where: _Where) -> tuple[dict[str, Any], _Marks]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        raise ScenarioError([_yaml_problem(error, where)]) from None
    except yaml.YAMLError as error:
        raise ScenarioError([f"{where.at(None)}: YAML: {error}"]) from None
    finally:
        loader.dispose()

    if node is None or data is None:
        raise ScenarioError([f"{where.at(None)}: the scenario is empty"])
    if not isinstance(data, dict):
        raise ScenarioError(
            [
                f"{where.at(1)}: expected a mapping of sections (name, source, "
                f"kafka, ...), got {_describe_value(data, None, structural=True)}"
            ]
        )

    marks = _Marks()
    duplicates: list[str] = []
    _record(node, (), marks, duplicates, where)
    if duplicates:
        raise ScenarioError(duplicates)
    return data, marks


def _yaml_problem(error: yaml.MarkedYAMLError, where: _Where) -> str:
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark else None
    column = mark.column + 1 if mark else None
    problem = error.problem or error.context or "invalid YAML"
    if "'\\t'" in problem:
        problem = "found a tab where YAML allows only spaces (tabs cannot indent)"
    return f"{where.at(line, column)}: YAML: {problem}"


def _record(
    node: yaml.Node,
    location: Location,
    marks: _Marks,
    duplicates: list[str],
    where: _Where,
) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = _key(key_node)
            line = key_node.start_mark.line + 1
            if (*location, key) in marks.lines:
                first = where.origin(marks.lines[(*location, key)])
                earlier = f"first given on line {first}" if first else "given twice"
                duplicates.append(
                    f"{where.at(line)}: {_dotted((*location, key))}: duplicate key "
                    f"({earlier})"
                )
                continue
            marks.lines[(*location, key)] = line
            _record(value_node, (*location, key), marks, duplicates, where)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            marks.lines[(*location, index)] = item.start_mark.line + 1
            _record(item, (*location, index), marks, duplicates, where)
    elif isinstance(node, yaml.ScalarNode):
        marks.words[location] = node.value


def _key(node: yaml.Node) -> Any:
    # The data holds keys as YAML read them: `5:` is the number 5, not "5".
    if not isinstance(node, yaml.ScalarNode):
        return id(node)  # SafeLoader has already refused a list or mapping as key
    if node.style is None and node.tag != "tag:yaml.org,2002:str":
        return yaml.safe_load(node.value)
    return node.value


def _apply_overrides(
    data: dict[str, Any], overrides: Sequence[str], marks: _Marks
) -> None:
    for override in overrides:
        dotted, separator, text = override.partition("=")
        if not separator or not dotted:
            raise ScenarioError(
                [f"--set {override}: expected KEY=VALUE, e.g. replay.speed=10"]
            )
        keys = _split_key(dotted)
        try:
            value = yaml.safe_load(text) if text else ""
        except yaml.YAMLError:
            value = text

        target = data
        for depth, key in enumerate(keys[:-1], start=1):
            child = target.get(key)
            if child is None:
                child = target[key] = {}
                marks.overrides[tuple(keys[:depth])] = override
            if not isinstance(child, dict):
                raise ScenarioError(
                    [f"--set {override}: {_dotted(tuple(keys[:depth]))}: not a section"]
                )
            target = child
        # The pace keys replace each other: --set replay.speed=10 on a scenario
        # that sets a delay means "go at ten times", not "give both".
        if keys[:-1] == ["replay"] and keys[-1] in _PACE_KEYS:
            for other in _PACE_KEYS:
                target.pop(other, None)
        target[keys[-1]] = value
        marks.overrides[tuple(keys)] = override
        marks.words[tuple(keys)] = text


def _split_key(dotted: str) -> list[str]:
    parts = dotted.split(".")
    for section in _DICT_FIELDS:
        if tuple(parts[: len(section)]) == section and len(parts) > len(section):
            return [*section, ".".join(parts[len(section) :])]
    return parts


def _resolve_paths(data: dict[str, Any], scenario_path: Path) -> None:
    source = data.get("source")
    if isinstance(source, dict) and isinstance(source.get("path"), str):
        csv_path = Path(os.path.expanduser(source["path"]))
        if not csv_path.is_absolute():
            csv_path = scenario_path.parent / csv_path
        # Absolute, so that --render prints a scenario usable from anywhere.
        source["path"] = os.path.abspath(csv_path)


def _tidy(
    model: type[BaseModel],
    data: dict[str, Any],
    location: Location,
    marks: _Marks,
    problems: _Problems,
) -> None:
    # An empty section is an empty mapping (its defaults). An empty value is
    # a mistake, often a template variable that rendered as nothing, never a
    # quiet fall back to the default; a `null` written out is taken as meant
    # where the field allows it.
    for key, value in data.items():
        info = model.model_fields.get(key) if isinstance(key, str) else None
        if info is None:
            continue
        here = (*location, key)
        section = _model_in(info.annotation)
        empty = value is None and marks.words.get(here) == ""
        if value is None and (section or here in _DICT_FIELDS):
            if empty or info.default is not None:
                data[key] = {}
        elif empty:
            problems.add(here, _EMPTY)
        elif section is not None and isinstance(value, dict):
            _tidy(section, value, here, marks, problems)
        elif here in _DICT_FIELDS and isinstance(value, dict):
            _tidy_entries(value, here, marks, problems)


def _tidy_entries(
    entries: dict[str, Any], location: Location, marks: _Marks, problems: _Problems
) -> None:
    for key, value in entries.items():
        here = (*location, key)
        if value is None and marks.words.get(here) == "":
            problems.add(here, _EMPTY)
        elif location == _HEADERS and isinstance(value, bool | int | float | date):
            # A header value is text on the wire: keep it as written, so `no`
            # stays no and 1.50 keeps its zero.
            entries[key] = marks.words.get(here, value)


def _describe(
    error: ValidationError, data: dict[str, Any], marks: _Marks, problems: _Problems
) -> None:
    # A union reports one error per member; gather them under the data's path.
    grouped: dict[Location, list[ErrorDetails]] = {}
    for detail in error.errors(include_url=False):
        grouped.setdefault(_data_location(detail, data), []).append(detail)

    for location, details in grouped.items():
        given = _value_at(data, location, details[0].get("input"))
        problems.add(location, _message(location, details, given, marks))


def _data_location(detail: ErrorDetails, data: Any) -> Location:
    # Keep the part of pydantic's location that exists in the data, plus the
    # missing or unknown key itself; drop union member names such as 'int'.
    kept: list[str | int] = []
    node = data
    for part in detail["loc"]:
        if _contains(node, part):
            kept.append(part)
            node = node[part]
            continue
        if detail["type"] == "missing" and isinstance(node, dict):
            kept.append(part)
        break
    problem = detail.get("ctx", {}).get("error")
    if isinstance(problem, FieldProblem):
        kept.extend(problem.path)
    return tuple(kept)


def _contains(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and part < len(node)


def _value_at(data: Any, location: Location, fallback: Any) -> Any:
    node = data
    for part in location:
        if not _contains(node, part):
            return fallback
        node = node[part]
    return node


def _dotted(location: Location) -> str:
    return ".".join(str(part) for part in location)


def _message(
    location: Location, details: list[ErrorDetails], given: Any, marks: _Marks
) -> str:
    first = details[0]
    kind = first["type"]
    if kind == "extra_forbidden":
        return _unknown_key_message(location)
    if kind == "missing":
        return "missing required key"
    if kind == "invalid_key":
        return f"a key must be text, got {location[-1]!r}; quote it"
    if kind == "value_error":
        return str(first.get("ctx", {}).get("error", first["msg"]))

    word = marks.words.get(location)
    bounds = [_bound(detail) for detail in details if detail["type"] in _BOUNDS]
    if bounds:
        return f"{' and '.join(bounds)}, got {_describe_value(given, word)}"
    if kind in ("string_too_short", "string_too_long"):
        return f"{_length(first)}, got {_describe_value(given, word)}"

    expected = _expectations(details)
    structural = any(phrase in ("a mapping of keys", "a list") for phrase in expected)
    message = (
        f"expected {_either(expected)}, got "
        f"{_describe_value(given, word, structural=structural)}"
    )
    return message + _hint(expected, given, word)


def _expectations(details: list[ErrorDetails]) -> list[str]:
    phrases: list[str] = []
    for detail in details:
        kind = detail["type"]
        ctx = detail.get("ctx", {})
        if kind == "literal_error":
            phrase = str(ctx["expected"])
        elif kind == "string_pattern_mismatch":
            pattern = ctx["pattern"]
            phrase = (
                "only letters, digits, '.', '_' and '-'"
                if pattern == _NAME_PATTERN
                else f"text matching {pattern}"
            )
        else:
            phrase = _EXPECTED.get(kind) or detail["msg"].removeprefix(
                "Input should be "
            )
        if phrase not in phrases:
            phrases.append(phrase)
    if "a number" in phrases and "a whole number" in phrases:
        phrases.remove("a whole number")
    if len(phrases) > 1 and "true or false" in phrases:
        phrases[phrases.index("true or false")] = "a boolean"
    return phrases


def _either(phrases: list[str]) -> str:
    if len(phrases) == 1:
        return phrases[0]
    return f"{', '.join(phrases[:-1])} or {phrases[-1]}"


def _bound(detail: ErrorDetails) -> str:
    name, text = _BOUNDS[detail["type"]]
    return text.format(detail.get("ctx", {}).get(name))


def _length(detail: ErrorDetails) -> str:
    ctx = detail.get("ctx", {})
    if detail["type"] == "string_too_short":
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"needs {least} characters"
    most = ctx.get("max_length", 1)
    return f"must be at most {most} character{'s' if most != 1 else ''}"


def _describe_value(value: Any, word: str | None, structural: bool = False) -> str:
    if value is None:
        return "null" if word else "an empty value"
    if isinstance(value, bool):
        text = word or str(value).lower()
        if text.lower() in _SURPRISING_BOOLEANS:
            return f"{text}, which YAML reads as {str(value).lower()}"
        return text
    if isinstance(value, dict):
        keys = ", ".join(str(key) for key in value)
        return _shorten(f"a mapping ({keys})" if keys else "an empty mapping")
    if isinstance(value, list):
        return _shorten(f"a list {value!r}")
    if isinstance(value, date):
        return f"{word or value}, which YAML reads as a date"
    if isinstance(value, str):
        return _shorten(f"text {value!r}" if structural else repr(value))
    text = word or str(value)
    return f"a number {text}" if structural else text


def _shorten(text: str) -> str:
    if len(text) <= _LONGEST_GIVEN:
        return text
    return text[: _LONGEST_GIVEN - 3] + "..."


def _hint(expected: list[str], given: Any, word: str | None) -> str:
    literals = _split_literals([phrase for phrase in expected if phrase[0] == "'"])
    if isinstance(given, str):
        close = difflib.get_close_matches(given, literals, n=1)
        return f"; did you mean {close[0]!r}?" if close else ""
    # YAML made a number, a date or a boolean of something meant as text.
    if word is not None and ("text" in expected or word in literals):
        return f"; quote it to keep it as text: '{word}'"
    return ""


def _split_literals(phrases: list[str]) -> list[str]:
    return [
        part.strip().strip("'")
        for phrase in phrases
        for part in phrase.replace(" or ", ",").split(",")
        if part.strip()
    ]


def _unknown_key_message(location: Location) -> str:
    key = str(location[-1])
    if location[:-1] == ("kafka",) and "." in key:
        return "unknown key; librdkafka settings go under kafka.config"
    valid = _fields_at(location[:-1])
    aliases = _ALIASES.get(location[:-1], {}) if valid else {}
    close = difflib.get_close_matches(key, [*valid, *aliases], n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean {aliases.get(close[0], close[0])!r}?"
    if valid:
        return f"unknown key; valid keys: {', '.join(valid)}"
    return "unknown key"


def _fields_at(location: Location) -> list[str]:
    model: type[BaseModel] = Scenario
    for part in location:
        info = model.model_fields.get(str(part))
        found = _model_in(info.annotation if info else None)
        if found is None:
            return []
        model = found
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _check_csv(scenario: Scenario, problems: _Problems) -> None:
    csv_path = Path(scenario.source.path)
    if csv_path.is_file():
        return
    location = ("source", "path")
    written = problems.marks.words.get(location, csv_path.name)
    if csv_path.is_dir():
        problems.add(location, f"{written!r} is a directory, not a CSV file")
    elif not csv_path.exists():
        problems.add(
            location, f"CSV file {written!r} not found (looked for {csv_path})"
        )
