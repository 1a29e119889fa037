"""A catalogue of broken scenarios and CSVs, each refused with its exact lines.

Every case runs twice: through ``--check``, and as a real run pointed at a
port where nothing listens, with a connect timeout of 10 s. A scenario or CSV
error must be found before any connection is tried, so both exit 2 at once,
print one line per problem and no traceback.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runner.cli import main
from tests.helpers import BASE_CSV

CSV = BASE_CSV
COLUMNS = (
    "'transaction_id', 'event_time', 'card_token', 'merchant_id', "
    "'merchant_country', 'amount', 'currency'"
)

# Line numbers matter: the expected messages below count on them.
BASE = """\
name: demo-payments
source:
  path: tx.csv
  timestamp:
    column: event_time
    format: "%Y-%m-%d %H:%M:%S"
    timezone: UTC
batch:
  interval: 1m
message:
  per: batch
replay:
  delay: 0
kafka:
  bootstrap_servers: 127.0.0.1:1
  topic: payments.replay
  connect_timeout: 10s
telemetry:
  metrics_port: 0
"""

# Five lines of template before the scenario: rendered lines are not source lines.
SET_BLOCK = """\
{% set environment = 'stage' %}
{% set speeds = {
  'stage': 'fast',
  'prod': 1,
} %}
"""


def base(*edits: tuple[str, str]) -> str:
    text = BASE
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def csv(*edits: tuple[str, str]) -> str:
    text = CSV
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


@dataclass(frozen=True)
class Case:
    """Files to write, the command's extra arguments and the exact error lines."""

    name: str
    scenario: str
    expected: list[str]
    file: str = "s.yaml"
    args: tuple[str, ...] = ()
    files: dict[str, str | bytes] = field(default_factory=dict)


CASES = [
    # Known failure 18: misspelt keys are reported, with lines and a guess.
    Case(
        "misspelt-keys",
        base(("  delay: 0\n", "  sped: 10\n  loop: true\n")) + "metrcs: {port: 9200}\n",
        [
            "{d}/s.yaml:13: replay.sped: unknown key; did you mean 'speed'?",
            "{d}/s.yaml:14: replay.loop: expected a whole number or 'forever', "
            "got true",
            "{d}/s.yaml:21: metrcs: unknown key; did you mean 'telemetry'?",
        ],
    ),
    Case(
        "misspelt-nested-key",
        base(("    timezone: UTC\n", "    zone: UTC\n")),
        ["{d}/s.yaml:7: source.timestamp.zone: unknown key; did you mean 'timezone'?"],
    ),
    Case(
        "librdkafka-setting-outside-config",
        base(("  connect_timeout: 10s\n", "  connect_timeout: 10s\n  linger.ms: 5\n")),
        [
            "{d}/s.yaml:18: kafka.linger.ms: unknown key; librdkafka settings go "
            "under kafka.config"
        ],
    ),
    # Known failure 19 (a): the wrong type, with file, line, path and value.
    Case(
        "wrong-type",
        base(("replay:\n  delay: 0\n", "replay: {speed: fast}\n")),
        ["{d}/scenario.yaml:12: replay.speed: expected a number, got 'fast'"],
        file="scenario.yaml",
    ),
    Case(
        "yaml-1.1-no-is-a-boolean",
        base(("topic: payments.replay", "topic: no")),
        [
            "{d}/s.yaml:16: kafka.topic: expected text, got no, which YAML reads as "
            "false; quote it to keep it as text: 'no'"
        ],
    ),
    Case(
        "yaml-1.1-off-in-a-list",
        base(("    timezone: UTC\n", "    timezone: UTC\n  null_values: [NA, off]\n")),
        [
            "{d}/s.yaml:8: source.null_values.1: expected text, got off, which YAML "
            "reads as false; quote it to keep it as text: 'off'"
        ],
    ),
    Case(
        "yaml-date-where-text-is-meant",
        base(("name: demo-payments", "name: 2024-05-06")),
        [
            "{d}/s.yaml:1: name: expected text, got 2024-05-06, which YAML reads as "
            "a date; quote it to keep it as text: '2024-05-06'"
        ],
    ),
    # Known failure 19 (b): a tab, with line, column and why.
    Case(
        "tab-indent",
        base(("  delay: 0\n", "  delay: 0\n\tloop: true\n")),
        [
            "{d}/s.yaml:14:1: YAML: found a tab where YAML allows only spaces "
            "(tabs cannot indent)"
        ],
    ),
    # Known failure 19 (c): the same mistakes after a 5-line {% set %} block
    # are located on the template's own lines.
    Case(
        "template-literal-line",
        SET_BLOCK + base(("  delay: 0", "  speed: fast")),
        ["{d}/scenario.yaml.j2:18: replay.speed: expected a number, got 'fast'"],
        file="scenario.yaml.j2",
    ),
    Case(
        "template-expression-line",
        SET_BLOCK + base(("  delay: 0", "  speed: {{ speeds[environment] }}")),
        ["{d}/scenario.yaml.j2:18: replay.speed: expected a number, got 'fast'"],
        file="scenario.yaml.j2",
    ),
    Case(
        "template-tab",
        SET_BLOCK + base(("  delay: 0\n", "\tdelay: 0\n")),
        [
            "{d}/scenario.yaml.j2:18:1: YAML: found a tab where YAML allows only "
            "spaces (tabs cannot indent)"
        ],
        file="scenario.yaml.j2",
    ),
    Case(
        "template-line-not-traceable",
        "{% set pad %}xxxx{% endset %}\n"
        + base(("  delay: 0", "  delay: {{ pad | length }}s\n  speed: fast")),
        [
            "{d}/s.yaml.j2: line 15 of the rendered text, 'speed: fast': "
            "replay.speed: expected a number, got 'fast'"
        ],
        file="s.yaml.j2",
    ),
    # Known failure 20: an undefined variable fails the render.
    Case(
        "undefined-variable",
        base(
            ("topic: payments.replay", 'topic: "payments.{{ enviroment }}"'),
            ("delay: 0", "speed: {{ speed_factor }}"),
        ),
        [
            "{d}/scenario.yaml.j2:13: template: undefined variable 'speed_factor'; "
            "give it with --var speed_factor=VALUE",
            "{d}/scenario.yaml.j2:16: template: undefined variable 'enviroment'; "
            "did you mean 'environment'?",
        ],
        file="scenario.yaml.j2",
        args=("--var", "environment=stage"),
    ),
    Case(
        "empty-speed-is-not-the-default",
        base(("delay: 0", "speed: {{ speed_factor }}")),
        [
            "{d}/scenario.yaml.j2:13: replay.speed: empty value (YAML reads it as "
            "null); give a value or leave the key out"
        ],
        file="scenario.yaml.j2",
        args=("--var", "speed_factor="),
    ),
    Case(
        "environment-variable-not-set",
        base(
            (
                "bootstrap_servers: 127.0.0.1:1",
                "bootstrap_servers: {{ env.NO_SUCH_BROKER_VAR }}",
            )
        ),
        [
            "{d}/s.yaml.j2:15: template: environment variable 'NO_SUCH_BROKER_VAR' "
            "is not set; give a default: env.NO_SUCH_BROKER_VAR | default(...)"
        ],
        file="s.yaml.j2",
    ),
    Case(
        "template-syntax-error",
        base(("  delay: 0", "  delay: {{ pause }")),
        ["{d}/s.yaml.j2:13: template syntax error: unexpected '}'"],
        file="s.yaml.j2",
        args=("--var", "pause=1"),
    ),
    Case(
        "template-block-never-closed",
        base(("  delay: 0\n", "{% if fast %}\n  speed: 10\n")),
        [
            "{d}/s.yaml.j2:13: template syntax error: Unexpected end of template. "
            "Jinja was looking for the following tags: 'elif' or 'else' or "
            "'endif'. The innermost block that needs to be closed is 'if'."
        ],
        file="s.yaml.j2",
    ),
    Case(
        "delay-and-speed",
        base(("  delay: 0\n", "  delay: 0\n  speed: 2\n")),
        [
            "{d}/s.yaml:14: replay.speed: give one of delay, speed, rate or "
            "stages, not delay and speed"
        ],
    ),
    Case(
        "window-ends-before-it-starts",
        base(
            (
                "  delay: 0\n",
                "  delay: 0\n  window:\n    start: 2024-05-06 10:01:00\n"
                "    end: 2024-05-06 10:00:00\n",
            )
        ),
        [
            "{d}/s.yaml:16: replay.window.end: must be after start "
            "(2024-05-06 10:01:00), got 2024-05-06 10:00:00"
        ],
    ),
    Case(
        "window-start-not-a-time",
        base(("  delay: 0\n", "  delay: 0\n  window:\n    start: yesterday\n")),
        [
            "{d}/s.yaml:15: replay.window.start: expected a date and time such as "
            "2024-05-06 10:00:00, got 'yesterday'"
        ],
    ),
    Case(
        "csv-not-found",
        base(("path: tx.csv", "path: recordings/tx.csv")),
        [
            "{d}/s.yaml:3: source.path: CSV file 'recordings/tx.csv' not found "
            "(looked for {d}/recordings/tx.csv)"
        ],
    ),
    Case(
        "csv-path-is-a-folder",
        base(("path: tx.csv", "path: .")),
        ["{d}/s.yaml:3: source.path: '.' is a directory, not a CSV file"],
    ),
    Case(
        "timestamp-column-not-in-csv",
        base(("column: event_time", "column: event_tme")),
        [
            "{d}/tx.csv:1: source.timestamp.column: column 'event_tme' is not in "
            f"the CSV; its columns are {COLUMNS}"
        ],
    ),
    Case(
        "key-column-not-in-csv",
        base(("  per: batch\n", "  per: record\n  key: card\n")),
        [
            "{d}/tx.csv:1: message.key: column 'card' is not in the CSV; its "
            f"columns are {COLUMNS}"
        ],
    ),
    Case(
        "list-where-a-section-is-expected",
        base(("replay:\n  delay: 0\n", "replay:\n  - speed\n  - 10\n")),
        ["{d}/s.yaml:12: replay: expected a mapping of keys, got a list ['speed', 10]"],
    ),
    Case(
        "text-where-a-section-is-expected",
        base(
            (
                "source:\n  path: tx.csv\n  timestamp:\n    column: event_time\n"
                '    format: "%Y-%m-%d %H:%M:%S"\n    timezone: UTC\n',
                "source: tx.csv\n",
            )
        ),
        ["{d}/s.yaml:2: source: expected a mapping of keys, got text 'tx.csv'"],
    ),
    Case(
        "not-a-mapping-at-all",
        "- name: demo-payments\n- source: tx.csv\n",
        [
            "{d}/s.yaml:1: expected a mapping of sections (name, source, kafka, "
            "...), got a list [{'name': 'demo-payments'}, {'source': 'tx.csv'}]"
        ],
    ),
    Case(
        "missing-topic",
        base(("  topic: payments.replay\n", "")),
        ["{d}/s.yaml:14: kafka.topic: missing required key"],
    ),
    Case(
        "topic-with-a-space",
        base(("topic: payments.replay", "topic: payments replay")),
        [
            "{d}/s.yaml:16: kafka.topic: expected only letters, digits, '.', '_' "
            "and '-', got 'payments replay'"
        ],
    ),
    Case(
        "unknown-message-per",
        base(("per: batch", "per: recrod")),
        [
            "{d}/s.yaml:11: message.per: expected 'batch' or 'record', got "
            "'recrod'; did you mean 'record'?"
        ],
    ),
    Case(
        "negative-delay",
        base(("delay: 0", "delay: -1s")),
        ["{d}/s.yaml:13: replay.delay: must be 0 or more, got '-1s'"],
    ),
    Case(
        "loop-zero",
        base(("  delay: 0\n", "  delay: 0\n  loop: 0\n")),
        ["{d}/s.yaml:14: replay.loop: must be 1 or more, or forever, got 0"],
    ),
    Case(
        "duration-in-words",
        base(("interval: 1m", "interval: 5 minutes")),
        [
            "{d}/s.yaml:9: batch.interval: expected a duration such as 500ms, 30s, "
            "5m, 1h30m or seconds, got '5 minutes'"
        ],
    ),
    Case(
        "metrics-port-out-of-range",
        base(("metrics_port: 0", "metrics_port: 70000")),
        ["{d}/s.yaml:19: telemetry.metrics_port: must be 65535 or less, got 70000"],
    ),
    Case(
        "set-unknown-key",
        BASE,
        ["--set replay.sped=10: replay.sped: unknown key; did you mean 'speed'?"],
        args=("--set", "replay.sped=10"),
    ),
    Case(
        "set-unknown-section",
        BASE,
        ["--set replya.speed=10: replya: unknown key; did you mean 'replay'?"],
        args=("--set", "replya.speed=10"),
    ),
    Case(
        "set-wrong-type",
        BASE,
        ["--set replay.speed=fast: replay.speed: expected a number, got 'fast'"],
        args=("--set", "replay.speed=fast"),
    ),
    Case(
        "set-without-equals",
        BASE,
        ["--set replay.speed: expected KEY=VALUE, e.g. replay.speed=10"],
        args=("--set", "replay.speed"),
    ),
    Case(
        "duplicate-key",
        base(("  delay: 0\n", "  delay: 0\n  delay: 1\n")),
        ["{d}/s.yaml:14: replay.delay: duplicate key (first given on line 13)"],
    ),
    Case("empty-file", "", ["{d}/s.yaml: the scenario is empty"]),
    Case(
        "only-comments",
        "# to do: write the scenario\n",
        ["{d}/s.yaml: the scenario is empty"],
    ),
    Case(
        "yaml-syntax-error",
        base(("topic: payments.replay", "topic: payments: replay")),
        ["{d}/s.yaml:16:18: YAML: mapping values are not allowed here"],
    ),
    Case(
        "yaml-unclosed-list",
        base(("  delay: 0", "  delay: [0")),
        ["{d}/s.yaml:14:6: YAML: expected ',' or ']', but got ':'"],
    ),
    Case(
        "key-with-per-batch",
        base(("  per: batch\n", "  per: batch\n  key: card_token\n")),
        [
            "{d}/s.yaml:12: message.key: a key needs message.per: record (a batch "
            "message has no single row to take it from)"
        ],
    ),
    Case(
        "delimiter-not-one-ascii-character",
        base(("  path: tx.csv\n", '  path: tx.csv\n  delimiter: "\u00a7"\n')),
        [
            "{d}/s.yaml:4: source.delimiter: must be one ASCII character other "
            "than a line break or a quote, got '\u00a7'"
        ],
    ),
    Case(
        "static-traceparent-header",
        base(
            (
                "  connect_timeout: 10s\n",
                "  connect_timeout: 10s\n  headers: {traceparent: 00-abc-def-01}\n",
            )
        ),
        [
            "{d}/s.yaml:18: kafka.headers: 'traceparent' is written by the runner "
            "from each batch's span; remove it from kafka.headers"
        ],
    ),
    Case(
        "infinite-rate",
        base(("  delay: 0\n", "  rate: .inf\n")),
        ["{d}/s.yaml:13: replay.rate: expected a finite number, got .inf"],
    ),
    Case(
        "unknown-time-zone",
        base(("timezone: UTC", "timezone: Europe/Berln")),
        [
            "{d}/s.yaml:7: source.timestamp.timezone: unknown time zone "
            "'Europe/Berln'; did you mean 'Europe/Berlin'?"
        ],
    ),
    Case(
        "unknown-encoding",
        base(("    timezone: UTC\n", "    timezone: UTC\n  encoding: utf-9\n")),
        [
            "{d}/s.yaml:8: source.encoding: unknown text encoding 'utf-9' (for "
            "example utf-8, latin-1, cp1252)"
        ],
    ),
    Case(
        "elapsed-without-origin",
        base(('format: "%Y-%m-%d %H:%M:%S"', "format: elapsed_s")),
        [
            "{d}/s.yaml:6: source.timestamp.format: elapsed_s counts from "
            "source.timestamp.origin, which is not given"
        ],
    ),
    Case(
        "unknown-timestamp-keyword",
        base(('format: "%Y-%m-%d %H:%M:%S"', "format: epoch_sec")),
        [
            "{d}/s.yaml:6: source.timestamp.format: unknown format 'epoch_sec'; "
            "did you mean 'epoch_s'? expected one of iso8601, epoch_s, epoch_ms, "
            "epoch_us, epoch_ns, elapsed_s, elapsed_m, elapsed_h or a strptime "
            "pattern such as %Y-%m-%d %H:%M:%S"
        ],
    ),
    Case(
        "broken-strptime-pattern",
        base(('format: "%Y-%m-%d %H:%M:%S"', 'format: "%Y-%m-%d %Q"')),
        [
            "{d}/s.yaml:6: source.timestamp.format: not a strptime pattern: 'Q' is "
            "a bad directive in format '%Y-%m-%d %Q'"
        ],
    ),
    Case(
        "strptime-pattern-matches-no-row",
        base(('format: "%Y-%m-%d %H:%M:%S"', 'format: "%d.%m.%Y %H:%M:%S"')),
        [
            "{d}/tx.csv:2: column 'event_time': cannot read '2024-05-06 10:00:05' "
            "as a timestamp (expected %d.%m.%Y %H:%M:%S, zone UTC)",
            "{d}/tx.csv:3: column 'event_time': cannot read '2024-05-06 10:00:40' "
            "as a timestamp (expected %d.%m.%Y %H:%M:%S, zone UTC)",
            "{d}/tx.csv:4: column 'event_time': cannot read '2024-05-06 10:01:10' "
            "as a timestamp (expected %d.%m.%Y %H:%M:%S, zone UTC)",
        ],
    ),
    Case(
        "one-row-in-another-format",
        BASE,
        [
            "{d}/tx.csv:3: column 'event_time': cannot read '06.05.2024 10:00:40' "
            "as a timestamp (expected %Y-%m-%d %H:%M:%S, zone UTC)"
        ],
        files={"tx.csv": csv(("2024-05-06 10:00:40", "06.05.2024 10:00:40"))},
    ),
    Case(
        "csv-duplicate-header",
        BASE,
        ["{d}/tx.csv:1: column 'card_token' appears twice in the header"],
        files={"tx.csv": csv(("card_token,merchant_id", "card_token,card_token"))},
    ),
    Case(
        "csv-row-with-too-many-fields",
        BASE,
        ["{d}/tx.csv:4: 8 fields where the header has 7"],
        files={"tx.csv": csv(("5.10,EUR", "5.10,EUR,extra"))},
    ),
    Case(
        "csv-row-with-too-few-fields",
        BASE,
        ["{d}/tx.csv:3: 6 fields where the header has 7"],
        files={"tx.csv": csv(("NO,250.00,NOK", "NO,250.00"))},
    ),
    Case(
        "csv-not-utf-8",
        BASE,
        [
            "{d}/tx.csv:3: not utf-8 text (invalid continuation byte 0xe9); set "
            "source.encoding, for example latin-1"
        ],
        files={"tx.csv": csv(("m-101", "m-\xe901")).encode("latin-1")},
    ),
    Case(
        "csv-without-header",
        BASE,
        ["{d}/tx.csv:1: the CSV file has no header row"],
        files={"tx.csv": ""},
    ),
    # A threshold is never a silent pass: an unknown metric or a condition
    # that cannot be read stops the run before anything is sent.
    Case(
        "threshold-unknown-metric",
        BASE
        + "thresholds:\n"
        + "  delivery_failures: 0\n"
        + '  delivery_latncy_p99: "< 250ms"\n'
        + "  throughput: 5\n",
        [
            "{d}/s.yaml:22: thresholds.delivery_latncy_p99: unknown metric; did you "
            "mean 'delivery_latency_p99'?",
            "{d}/s.yaml:23: thresholds.throughput: unknown metric; known metrics: "
            "delivery_failures, records_delivered, skipped_records, "
            "achieved_rate_ratio, delivery_latency_p50, delivery_latency_p95, "
            "delivery_latency_p99, delivery_latency_max, lateness_p50, "
            "lateness_p99, lateness_max",
        ],
    ),
    Case(
        "threshold-bad-condition",
        BASE
        + "thresholds:\n"
        + '  achieved_rate_ratio: "at least 0.95"\n'
        + '  delivery_latency_p99: "< fast"\n',
        [
            "{d}/s.yaml:21: thresholds.achieved_rate_ratio: expected a condition "
            "such as '>= 0.95' or '< 250ms' (operators <, <=, >, >=, ==), got "
            "'at least 0.95'; a condition starts with its operator",
            "{d}/s.yaml:22: thresholds.delivery_latency_p99: cannot read 'fast' in "
            "'< fast' as a number or a duration such as 250ms, 2s or 500us",
        ],
    ),
    Case(
        "threshold-condition-of-the-wrong-kind",
        BASE + "thresholds:\n" + "  delivery_latency_p99: 0\n",
        [
            "{d}/s.yaml:21: thresholds.delivery_latency_p99: expected a condition "
            "on a duration such as '< 250ms', got 0"
        ],
    ),
    Case(
        "threshold-set-on-the-command-line",
        BASE,
        [
            "--set thresholds.lateness_p99=1s: thresholds.lateness_p99: expected a "
            "condition such as '>= 0.95' or '< 250ms' (operators <, <=, >, >=, ==), "
            "got '1s'; a condition starts with its operator"
        ],
        args=("--set", "thresholds.lateness_p99=1s"),
    ),
]


@pytest.mark.parametrize("mode", ["check", "run"])
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_broken_input_is_refused_before_sending(
    case: Case, mode: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tx.csv").write_text(CSV)
    (tmp_path / case.file).write_text(case.scenario)
    for name, content in case.files.items():
        if isinstance(content, bytes):
            (tmp_path / name).write_bytes(content)
        else:
            (tmp_path / name).write_text(content)
    argv = [*case.args, str(tmp_path / case.file)]
    began = time.monotonic()

    code = main(["--check", *argv] if mode == "check" else argv)

    elapsed = time.monotonic() - began
    out, err = capsys.readouterr()
    expected = [
        f"error: {line.replace('{d}', str(tmp_path))}" for line in case.expected
    ]
    assert err.splitlines() == expected
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    # Well under the connect timeout: no connection was tried.
    assert elapsed < 5


def test_the_catalogue_is_large_and_every_case_is_distinct() -> None:
    assert len(CASES) >= 30
    assert len({case.name for case in CASES}) == len(CASES)
    assert len({(case.scenario, case.args, str(case.files)) for case in CASES}) == len(
        CASES
    )
