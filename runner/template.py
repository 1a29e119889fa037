"""Render a scenario file with Jinja2 before it is parsed as YAML.

The rendered text is what YAML reads, so a problem found there is at a line of
the render. `Rendered.origin` takes it back to the line of the template it came
from: a second render marks every line of the template's literal text, and the
marks are read off each rendered line.
"""

import difflib
import inspect
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

import jinja2
import jinja2.ext
import jinja2.lexer

from runner.errors import ScenarioError

_MARK = re.compile(r"\x00(\d+)\x00")
_LEADING_MARKS = re.compile(r"(?:\x00\d+\x00)+")


@dataclass(frozen=True)
class Rendered:
    """The text after templating, and the template line of each of its lines."""

    text: str
    origins: tuple[int, ...] | None  # None: the lines could not be traced

    def origin(self, line: int) -> int | None:
        """The template line that rendered `line` (both from 1), or None if unknown."""
        if self.origins is None or line < 1:
            return None
        if line > len(self.origins):  # YAML marks the end of the text past it
            return self.origins[-1] + line - len(self.origins)
        return self.origins[line - 1]


def render(path: Path, text: str, variables: Mapping[str, str]) -> Rendered:
    """Render `text`; the environment is `env`, and an undefined name is an error."""
    if not is_template(text):
        return Rendered(text, tuple(range(1, text.count("\n") + 2)))

    context: dict[str, Any] = {"env": _Environ(os.environ), **variables}
    undefined = _undefined_class()
    try:
        template = _environment(undefined).from_string(text)
    except jinja2.TemplateSyntaxError as error:
        raise ScenarioError(
            [f"{path}:{error.lineno}: template syntax error: {error.message}"]
        ) from None

    try:
        rendered = template.render(context)
    except jinja2.UndefinedError as error:
        if not undefined.uses:
            undefined.uses.append((_template_line(error.__traceback__), error.message))
    except Exception as error:  # a template is code: any of its errors is the file's
        where = _where(path, error.__traceback__)
        detail = str(error) or type(error).__name__
        raise ScenarioError([f"{where}: template: {detail}"]) from None
    if undefined.uses:
        raise ScenarioError(_undefined_problems(path, undefined.uses, variables))
    return Rendered(rendered, _trace(text, context, rendered))


def is_template(text: str) -> bool:
    """Whether the text uses Jinja2 at all (its line numbers may then move)."""
    return "{{" in text or "{%" in text or "{#" in text


class _Environ(dict[str, str]):
    """The process environment as the template sees it, as `env`."""


class _Undefined(jinja2.Undefined):
    """Notes every use of an undefined name, so that all are reported at once.

    Printing, testing or looping over one renders as nothing and the render
    goes on; anything else stops it. Either way the render is then refused.
    """

    uses: list[tuple[int | None, str | None]]  # one list per render, see below

    def __str__(self) -> str:
        self._note()
        return ""

    def __iter__(self) -> Iterator[Any]:
        self._note()
        return iter(())

    def __bool__(self) -> bool:
        self._note()
        return False

    def __len__(self) -> int:
        self._note()
        return 0

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._note()
        super()._fail_with_undefined_error(*args, **kwargs)

    def _note(self) -> None:
        self.uses.append((_current_template_line(), self._undefined_message))

    @property
    def _undefined_message(self) -> str:
        name = self._undefined_name
        if isinstance(self._undefined_obj, _Environ) and isinstance(name, str):
            return (
                f"environment variable {name!r} is not set; give a default: "
                f"env.{name} | default(...)"
            )
        return str(super()._undefined_message)


def _undefined_class() -> type[_Undefined]:
    return type("_Undefined", (_Undefined,), {"uses": []})


class _LineMarks(jinja2.ext.Extension):
    """Starts every line of the template's literal text with a mark of its number."""

    def filter_stream(
        self, stream: jinja2.lexer.TokenStream
    ) -> Iterable[jinja2.lexer.Token]:
        for token in stream:
            if token.type == "data":
                # The lexer has already applied whitespace control, so the
                # marks sit exactly where the real render's lines begin.
                lines = token.value.split("\n")
                value = "\n".join(
                    f"\x00{token.lineno + offset}\x00{line}"
                    for offset, line in enumerate(lines)
                )
                token = jinja2.lexer.Token(token.lineno, "data", value)
            yield token


def _environment(
    undefined: type[_Undefined], *extensions: type[jinja2.ext.Extension]
) -> jinja2.Environment:
    return jinja2.Environment(
        undefined=undefined,
        keep_trailing_newline=True,
        autoescape=False,
        extensions=extensions,
    )


def _trace(text: str, context: dict[str, Any], rendered: str) -> tuple[int, ...] | None:
    if "\x00" in text:
        return None
    try:
        environment = _environment(_undefined_class(), _LineMarks)
        marked = environment.from_string(text).render(context)
    except Exception:  # the marks changed what a filter saw: lines stay untraced
        return None
    if _MARK.sub("", marked) != rendered:
        return None

    # A rendered line begins with the mark of its template line, unless an
    # expression's output broke it: then it belongs to the line last marked.
    origins = []
    current = 1
    for line in marked.split("\n"):
        leading = _LEADING_MARKS.match(line)
        if leading:
            current = int(_MARK.findall(leading.group())[-1])
        origins.append(current)
        marks = _MARK.findall(line)
        if marks:
            current = int(marks[-1])
    return tuple(origins)


def _where(path: Path, trace: TracebackType | None) -> str:
    line = _template_line(trace)
    return f"{path}:{line}" if line else str(path)


def _undefined_problems(
    path: Path,
    uses: list[tuple[int | None, str | None]],
    variables: Mapping[str, str],
) -> list[str]:
    problems = []
    for line, message in sorted(set(uses), key=lambda use: use[0] or 0):
        where = f"{path}:{line}" if line else str(path)
        problems.append(f"{where}: template: {_undefined_text(message, variables)}")
    return problems


def _undefined_text(message: str | None, variables: Mapping[str, str]) -> str:
    message = message or "undefined value"
    # Jinja says "'enviroment' is undefined"; name the variable the way people ask.
    found = re.fullmatch(r"'(.+)' is undefined", message)
    if not found:
        return message
    name = found.group(1)
    close = difflib.get_close_matches(name, [*variables, "env"], n=1)
    if close:
        return f"undefined variable {name!r}; did you mean {close[0]!r}?"
    return f"undefined variable {name!r}; give it with --var {name}=VALUE"


def _current_template_line() -> int | None:
    # While it runs, a template's frame carries the line of its compiled code;
    # the template maps that back to its own source line.
    frame = inspect.currentframe()
    while frame is not None and frame.f_code.co_filename != "<template>":
        frame = frame.f_back
    if frame is None:
        return None
    template = frame.f_globals.get("__jinja_template__")
    if not isinstance(template, jinja2.Template):
        return None
    return template.get_corresponding_lineno(frame.f_lineno)


def _template_line(trace: TracebackType | None) -> int | None:
    # Jinja rewrites the traceback so the frames of the template carry the
    # template's own line numbers under the file name "<template>".
    line = None
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return line
