"""Render a scenario file with Jinja2 before it is parsed as YAML."""

import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import jinja2

from runner.errors import ScenarioError


def render(path: Path, text: str, variables: Mapping[str, str]) -> str:
    """Render `text`; the environment is `env`, and an undefined name is an error."""
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    try:
        template = environment.from_string(text)
    except jinja2.TemplateSyntaxError as error:
        raise ScenarioError(
            [f"{path}:{error.lineno}: template syntax error: {error.message}"]
        ) from None

    try:
        return template.render(env=dict(os.environ), **variables)
    except jinja2.UndefinedError as error:
        line = _template_line(error.__traceback__)
        where = f"{path}:{line}" if line else str(path)
        raise ScenarioError([f"{where}: template: {_undefined_text(error)}"]) from None
    except jinja2.TemplateError as error:
        line = _template_line(error.__traceback__)
        where = f"{path}:{line}" if line else str(path)
        raise ScenarioError([f"{where}: template: {error}"]) from None


def is_template(text: str) -> bool:
    """Whether the text uses Jinja2 at all (its line numbers may then move)."""
    return "{{" in text or "{%" in text or "{#" in text


def _undefined_text(error: jinja2.UndefinedError) -> str:
    message = str(error.message or error)
    # Jinja says "'enviroment' is undefined"; name the variable the way people ask.
    if message.endswith(" is undefined"):
        return f"undefined variable {message.removesuffix(' is undefined')}"
    return message


def _template_line(trace: TracebackType | None) -> int | None:
    # Jinja rewrites the traceback so the frames of the template carry the
    # template's own line numbers under the file name "<template>".
    line = None
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return line
