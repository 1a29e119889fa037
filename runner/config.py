"""Load a scenario: render, parse with positions, override, validate, locate errors."""

import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from runner import template
from runner.errors import ScenarioError
from runner.scenario import Scenario

Location = tuple[str | int, ...]

_PACE_KEYS = ("delay", "speed")
_DICT_FIELDS = (("kafka", "config"), ("kafka", "headers"))
_YAML_BOOLEAN_WORDS = {"yes", "no", "on", "off", "y", "n", "true", "false"}


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
    try:
        source_text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([f"{path}: scenario file not found"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError([f"{path}: cannot read scenario file: {error}"]) from None

    rendered = template.render(path, source_text, variables or {})
    lines_moved = template.is_template(source_text) and (
        rendered.count("\n") != source_text.count("\n")
    )
    where = _Where(path, lines_moved)

    data, positions = _parse_yaml(rendered, where)
    data = _apply_overrides(data, overrides)
    _resolve_paths(data, path)

    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(_describe(error, data, positions, where)) from None

    _check_across_sections(scenario, positions, where)
    return LoadedScenario(path=path, scenario=scenario, rendered=rendered)


@dataclass(frozen=True)
class _Where:
    """Formats the place of a problem, saying when lines are those of the render."""

    path: Path
    rendered: bool

    def at(self, line: int | None, column: int | None = None) -> str:
        if line is None:
            return str(self.path)
        if self.rendered:
            return f"{self.path}: rendered line {line} (see --render)"
        return f"{self.path}:{line}" + (f":{column}" if column else "")


def _parse_yaml(text: str, where: _Where) -> tuple[Any, dict[Location, int]]:
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

    if data is None:
        raise ScenarioError([f"{where.at(None)}: the scenario is empty"])
    if not isinstance(data, dict):
        raise ScenarioError(
            [
                f"{where.at(1)}: expected a mapping of sections, "
                f"got {type(data).__name__}"
            ]
        )

    positions: dict[Location, int] = {(): 1}
    problems: list[str] = []
    if node is not None:
        _record_positions(node, (), positions, problems, where)
    if problems:
        raise ScenarioError(problems)
    return data, positions


def _yaml_problem(error: yaml.MarkedYAMLError, where: _Where) -> str:
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark else None
    column = mark.column + 1 if mark else None
    problem = error.problem or error.context or "invalid YAML"
    if "\t" in problem or "'\\t'" in problem:
        problem += " (tabs cannot be used for indentation in YAML; use spaces)"
    return f"{where.at(line, column)}: YAML: {problem}"


def _record_positions(
    node: yaml.Node,
    location: Location,
    positions: dict[Location, int],
    problems: list[str],
    where: _Where,
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                dotted = _dotted((*location, key))
                problems.append(f"{where.at(line)}: {dotted}: duplicate key")
            seen.add(key)
            positions[(*location, key)] = line
            _record_positions(value_node, (*location, key), positions, problems, where)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            positions[(*location, index)] = item.start_mark.line + 1
            _record_positions(item, (*location, index), positions, problems, where)


def _apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    for override in overrides:
        dotted, separator, text = override.partition("=")
        if not separator or not dotted:
            raise ScenarioError([f"--set {override}: expected KEY=VALUE"])
        keys = _split_key(dotted)
        try:
            value = yaml.safe_load(text) if text else ""
        except yaml.YAMLError:
            value = text

        target = data
        for key in keys[:-1]:
            child = target.get(key)
            if child is None:
                child = target[key] = {}
            if not isinstance(child, dict):
                raise ScenarioError([f"--set {override}: {key} is not a section"])
            target = child
        # The pace keys replace each other: --set replay.speed=10 on a scenario
        # that sets a delay means "go at ten times", not "give both".
        if keys[:-1] == ["replay"] and keys[-1] in _PACE_KEYS:
            for other in _PACE_KEYS:
                target.pop(other, None)
        target[keys[-1]] = value
    return data


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
        source["path"] = os.path.normpath(csv_path)


def _describe(
    error: ValidationError,
    data: dict[str, Any],
    positions: dict[Location, int],
    where: _Where,
) -> list[str]:
    # A union reports one error per member; gather them under the data's path.
    grouped: dict[Location, list[ErrorDetails]] = {}
    for detail in error.errors(include_url=False):
        grouped.setdefault(_data_location(detail, data), []).append(detail)

    problems = []
    for location, details in grouped.items():
        line = _line_of(location, positions)
        dotted = _dotted(location) or "(top level)"
        problems.append(f"{where.at(line)}: {dotted}: {_message(location, details)}")
    return problems


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
    return tuple(kept)


def _contains(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and part < len(node)


def _line_of(location: Location, positions: dict[Location, int]) -> int | None:
    for end in range(len(location), -1, -1):
        if location[:end] in positions:
            return positions[location[:end]]
    return None


def _dotted(location: Location) -> str:
    return ".".join(str(part) for part in location)


def _message(location: Location, details: list[ErrorDetails]) -> str:
    first = details[0]
    kind = first["type"]
    given = first.get("input")
    if kind == "extra_forbidden":
        return _unknown_key_message(location)
    if kind == "missing":
        return "missing required key"

    expectations = []
    for detail in details:
        text = detail["msg"].removeprefix("Value error, ")
        text = text.replace("Input should be ", "expected ")
        text = text.replace("a valid string", "text")
        if text not in expectations:
            expectations.append(text)
    message = " or ".join(expectations)
    if kind != "value_error" and not isinstance(given, dict):
        message += f", got {given!r}"
    if isinstance(given, bool) and any(
        d["type"] in ("string_type", "literal_error") for d in details
    ):
        message += " (YAML reads yes/no/on/off/true/false as booleans: quote it)"
    return message


def _unknown_key_message(location: Location) -> str:
    key = str(location[-1])
    valid = _fields_at(location[:-1])
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    if not close and valid:
        hint = f"; valid keys: {', '.join(valid)}"
    return f"unknown key{hint}"


def _fields_at(location: Location) -> list[str]:
    model: type[BaseModel] = Scenario
    for part in location:
        annotation = (
            model.model_fields[str(part)].annotation
            if str(part) in model.model_fields
            else None
        )
        found = _model_in(annotation)
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


def _check_across_sections(
    scenario: Scenario, positions: dict[Location, int], where: _Where
) -> None:
    problems = []
    if scenario.message.key is not None and scenario.message.per == "batch":
        line = _line_of(("message", "key"), positions)
        problems.append(
            f"{where.at(line)}: message.key: a key needs message.per: record "
            f"(a batch message has no single row to take it from)"
        )
    if problems:
        raise ScenarioError(problems)
