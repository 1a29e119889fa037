"""Loading a scenario: templating, positions, overrides and the validated model."""

from pathlib import Path

import pytest

from runner import config, template
from runner.errors import ScenarioError
from tests.helpers import BASE_CSV, base_scenario, write_scenario

BASE = """\
name: demo-payments
source:
  path: tx.csv
  timestamp:
    column: event_time
    format: "%Y-%m-%d %H:%M:%S"
batch:
  interval: 1m
kafka:
  topic: payments.replay
replay:
  delay: 0
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    return tmp_path


def write(folder: Path, text: str, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def problems(path: Path, *overrides: str, **variables: str) -> list[str]:
    with pytest.raises(ScenarioError) as refused:
        config.load(path, overrides, variables)
    return [
        problem.replace(f"{path.parent}/", "") for problem in refused.value.problems
    ]


def test_a_good_scenario_loads_with_its_defaults(folder: Path) -> None:
    loaded = config.load(write(folder, BASE))

    scenario = loaded.scenario
    assert scenario.name == "demo-payments"
    assert scenario.batch.interval == 60.0
    assert scenario.replay.delay == 0.0
    assert scenario.replay.loop == 1
    assert scenario.message.per == "batch"
    assert scenario.source.timestamp.timezone == "UTC"
    assert loaded.rendered == BASE


def test_the_csv_path_is_relative_to_the_scenario_file(folder: Path) -> None:
    (folder / "scenarios").mkdir()
    text = BASE.replace("path: tx.csv", "path: ../tx.csv")

    loaded = config.load(write(folder / "scenarios", text))

    assert loaded.scenario.source.path == str(folder / "tx.csv")


def test_the_helpers_base_scenario_loads(folder: Path) -> None:
    loaded = config.load(write_scenario(folder, base_scenario()))

    assert loaded.scenario.kafka.topic == "payments.replay"


def test_header_values_are_text_as_written(folder: Path) -> None:
    # YAML reads 2 as a number, true and no as booleans, 1.50 as 1.5; the
    # Kafka client takes only text, so headers keep the text of the file.
    text = BASE.replace(
        "  topic: payments.replay\n",
        "  topic: payments.replay\n"
        "  headers:\n"
        "    version: 2\n"
        "    replayed: true\n"
        "    ratio: 1.50\n"
        "    legacy: no\n"
        '    source: "tx.csv"\n',
    )

    headers = config.load(write(folder, text)).scenario.kafka.headers

    assert headers == {
        "version": "2",
        "replayed": "true",
        "ratio": "1.50",
        "legacy": "no",
        "source": "tx.csv",
    }


def test_header_values_given_with_set_are_text_too(folder: Path) -> None:
    loaded = config.load(
        write(folder, BASE), ["kafka.headers.version=2", "kafka.headers.on=yes"]
    )

    assert loaded.scenario.kafka.headers == {"version": "2", "on": "yes"}


def test_set_names_librdkafka_settings_by_their_own_dotted_names(folder: Path) -> None:
    loaded = config.load(
        write(folder, BASE),
        ["kafka.config.linger.ms=20", "kafka.config.compression.type=lz4"],
    )

    assert loaded.scenario.kafka.config == {"linger.ms": 20, "compression.type": "lz4"}


def test_set_speed_replaces_the_delay_of_the_file(folder: Path) -> None:
    replay = config.load(write(folder, BASE), ["replay.speed=10"]).scenario.replay

    assert replay.speed == 10.0
    assert replay.delay is None


def test_set_creates_a_section_the_file_leaves_out(folder: Path) -> None:
    loaded = config.load(write(folder, BASE), ["message.per=record"])

    assert loaded.scenario.message.per == "record"


def test_an_empty_section_means_its_defaults(folder: Path) -> None:
    text = BASE.replace("batch:\n  interval: 1m\n", "batch:\nmessage:\n")

    scenario = config.load(write(folder, text)).scenario

    assert scenario.batch.interval == 60.0
    assert scenario.message.per == "batch"


@pytest.mark.parametrize("key", ["speed", "delay", "max_gap"])
def test_an_empty_value_never_falls_back_to_the_default(folder: Path, key: str) -> None:
    text = BASE.replace("  delay: 0\n", f"  {key}:\n")

    assert problems(write(folder, text)) == [
        f"s.yaml:12: replay.{key}: empty value (YAML reads it as null); give a "
        f"value or leave the key out"
    ]


def test_every_problem_is_reported_at_once_in_file_order(folder: Path) -> None:
    text = (
        BASE.replace("interval: 1m", "interval: soon")
        .replace("delay: 0", "delay: 0\n  loop: 0")
        .replace("name: demo-payments", "name: demo payments")
        + "extra: 1\n"
    )

    assert problems(write(folder, text)) == [
        "s.yaml:1: name: expected only letters, digits, '.', '_' and '-', got "
        "'demo payments'",
        "s.yaml:8: batch.interval: expected a duration such as 500ms, 30s, 5m, "
        "1h30m or seconds, got 'soon'",
        "s.yaml:13: replay.loop: must be 1 or more, or forever, got 0",
        "s.yaml:14: extra: unknown key; valid keys: name, source, batch, message, "
        "kafka, replay, telemetry, thresholds",
    ]


def test_a_window_with_one_offset_is_compared_in_the_recordings_zone(
    folder: Path,
) -> None:
    # 10:30 in Berlin (summer) is 08:30 UTC: after a start of 10:00+02:00.
    text = BASE.replace(
        "    format:", "    timezone: Europe/Berlin\n    format:"
    ).replace(
        "  delay: 0\n",
        "  delay: 0\n  window:\n    start: 2024-05-06T10:00:00+02:00\n"
        "    end: 2024-05-06 10:30:00\n",
    )

    window = config.load(write(folder, text)).scenario.replay.window

    assert window is not None
    assert str(window.end) == "2024-05-06 10:30:00"


def test_a_window_ending_before_it_starts_across_zones_is_refused(
    folder: Path,
) -> None:
    text = BASE.replace(
        "  delay: 0\n",
        "  delay: 0\n  window:\n    start: 2024-05-06T10:00:00+02:00\n"
        "    end: 2024-05-06 07:00:00\n",
    )

    assert problems(write(folder, text)) == [
        "s.yaml:15: replay.window.end: must be after start "
        "(2024-05-06 10:00:00+02:00), got 2024-05-06 07:00:00"
    ]


def test_template_variables_and_the_environment_reach_the_text(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLAY_TOPIC", "from-env")
    text = BASE.replace("payments.replay", "{{ env.REPLAY_TOPIC }}").replace(
        "delay: 0", "speed: {{ speed }}"
    )

    scenario = config.load(
        write(folder, text, "s.yaml.j2"), (), {"speed": "4"}
    ).scenario

    assert scenario.kafka.topic == "from-env"
    assert scenario.replay.speed == 4.0


def test_a_file_without_template_code_keeps_its_lines() -> None:
    rendered = template.render(Path("s.yaml"), "a: 1\nb: 2\n", {})

    assert rendered.text == "a: 1\nb: 2\n"
    assert [rendered.origin(line) for line in (1, 2, 3, 4)] == [1, 2, 3, 4]


def test_rendered_lines_are_traced_back_to_template_lines() -> None:
    text = (
        "{% set speeds = {\n"
        "  'stage': 'fast',\n"
        "} %}\n"
        "{# a comment #}\n"
        "name: x\n"
        "{% for n in [1, 2] -%}\n"
        "item{{ n }}: {{ n }}\n"
        "{% endfor -%}\n"
        "speed: {{ speeds['stage'] }}\n"
    )

    rendered = template.render(Path("s.yaml.j2"), text, {})

    lines = rendered.text.split("\n")
    assert lines[:6] == ["", "", "name: x", "item1: 1", "item2: 2", "speed: fast"]
    traced = {lines[n - 1]: rendered.origin(n) for n in range(3, 7)}
    assert traced == {"name: x": 5, "item1: 1": 7, "item2: 2": 7, "speed: fast": 9}


def test_lines_made_by_an_expression_belong_to_its_line() -> None:
    text = "a: 1\n{{ block }}\nz: 2\n"

    rendered = template.render(Path("s.yaml.j2"), text, {"block": "b: 1\nc: 2"})

    assert rendered.text == "a: 1\nb: 1\nc: 2\nz: 2\n"
    assert [rendered.origin(n) for n in range(1, 5)] == [1, 2, 2, 3]


def test_lines_that_cannot_be_traced_are_left_unknown() -> None:
    # The marks would change what the length filter counts: no tracing then.
    text = "{% set pad %}xx{% endset %}a: {{ pad | length }}\nb: 1\n"

    rendered = template.render(Path("s.yaml.j2"), text, {})

    assert rendered.text == "a: 2\nb: 1\n"
    assert rendered.origin(2) is None


def test_a_null_written_out_is_taken_as_meant(folder: Path) -> None:
    text = BASE.replace("  delay: 0\n", "  delay: 0\n  max_gap: null\n  window: ~\n")

    replay = config.load(write(folder, text)).scenario.replay

    assert replay.max_gap is None
    assert replay.window is None


def test_a_null_where_a_value_is_needed_says_null(folder: Path) -> None:
    text = BASE.replace("interval: 1m", "interval: ~")

    assert problems(write(folder, text)) == [
        "s.yaml:8: batch.interval: expected a duration such as 500ms, 30s, 5m, "
        "1h30m or seconds, got null"
    ]


def test_every_undefined_variable_is_reported_on_its_own_line() -> None:
    text = (
        "topic: payments.{{ enviroment }}\n"
        "{% if fast %}speed: 10{% endif %}\n"
        "delay: {{ pause }}\n"
        "again: {{ enviroment }}\n"
    )

    with pytest.raises(ScenarioError) as refused:
        template.render(Path("s.yaml.j2"), text, {"environment": "stage"})

    assert refused.value.problems == [
        "s.yaml.j2:1: template: undefined variable 'enviroment'; did you mean "
        "'environment'?",
        "s.yaml.j2:2: template: undefined variable 'fast'; give it with "
        "--var fast=VALUE",
        "s.yaml.j2:3: template: undefined variable 'pause'; give it with "
        "--var pause=VALUE",
        "s.yaml.j2:4: template: undefined variable 'enviroment'; did you mean "
        "'environment'?",
    ]


def test_a_test_or_a_default_for_a_missing_name_is_not_an_error() -> None:
    text = (
        "a: {{ speed | default(1) }}\n"
        "b: {{ 'yes' if pause is defined else 'no' }}\n"
        "c: {{ env.NO_SUCH_VARIABLE_HERE | default('x') }}\n"
    )

    rendered = template.render(Path("s.yaml.j2"), text, {})

    assert rendered.text == "a: 1\nb: no\nc: x\n"


def test_a_failing_expression_is_located() -> None:
    with pytest.raises(ScenarioError) as refused:
        template.render(Path("s.yaml.j2"), "a: 1\nb: {{ 1 / 0 }}\n", {})

    assert refused.value.problems == ["s.yaml.j2:2: template: division by zero"]
