"""The command line in process: each exit code of the table, help and --render."""

import time
from pathlib import Path

import pytest

from runner.cli import main
from tests.helpers import BASE_CSV, base_scenario, write_scenario

EXIT_OK = 0
EXIT_SCENARIO = 2
EXIT_RUNTIME = 3


@pytest.fixture
def good(tmp_path: Path) -> Path:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    return write_scenario(tmp_path, base_scenario())


def test_check_of_a_good_scenario_exits_0_and_says_what_it_found(
    good: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--check", str(good)])

    out, err = capsys.readouterr()
    assert code == EXIT_OK
    assert out == f"{good}: ok: rows=3 selected=3 batches=2\n"
    assert err == ""


def test_check_of_several_scenarios_checks_each(
    good: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = write_scenario(good.parent, base_scenario(name="other"), "other.yaml")

    code = main(["--check", str(good), str(other)])

    assert code == EXIT_OK
    assert capsys.readouterr().out.count(": ok: rows=3") == 2


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        ([], "the following arguments are required: SCENARIO"),
        (["--bogus", "s.yaml"], "unrecognized arguments: --bogus"),
        (["--check", "--render", "s.yaml"], "not allowed with argument --check"),
        (["--log-level", "LOUD", "s.yaml"], "invalid choice: 'LOUD'"),
    ],
)
def test_a_usage_error_exits_2_with_the_usage_line(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)

    err = capsys.readouterr().err
    assert code == EXIT_SCENARIO
    assert err.startswith("usage: scenario-run")
    assert complaint in err
    assert "Traceback" not in err


def test_a_malformed_var_exits_2(
    good: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--check", "--var", "speed", str(good)])

    assert code == EXIT_SCENARIO
    assert capsys.readouterr().err == "error: --var speed: expected NAME=VALUE\n"


def test_a_scenario_error_exits_2_without_a_traceback(
    good: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = write_scenario(good.parent, base_scenario(replay={"speed": "fast"}))

    code = main(["--check", str(broken)])

    out, err = capsys.readouterr()
    assert code == EXIT_SCENARIO
    assert out == ""
    assert err.startswith(f"error: {broken}:")
    assert "Traceback" not in err


def test_a_missing_scenario_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yaml"

    code = main(["--check", str(missing)])

    assert code == EXIT_SCENARIO
    assert capsys.readouterr().err == f"error: {missing}: scenario file not found\n"


def test_one_broken_scenario_among_good_ones_stops_them_all(
    good: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = write_scenario(
        good.parent, base_scenario(replay={"loop": 0}), "broken.yaml"
    )

    code = main(["--check", str(good), str(broken)])

    out, err = capsys.readouterr()
    assert code == EXIT_SCENARIO
    assert out == ""
    assert "replay.loop: must be 1 or more, or forever, got 0" in err


def test_an_unreachable_broker_exits_3(
    good: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = base_scenario(
        kafka={"bootstrap_servers": "127.0.0.1:1", "connect_timeout": "1s"}
    )
    path = write_scenario(good.parent, scenario)
    began = time.monotonic()

    code = main([str(path)])

    err = capsys.readouterr().err
    assert code == EXIT_RUNTIME
    assert "error: cannot reach Kafka at 127.0.0.1:1 within 1s" in err
    assert "Traceback" not in err
    assert time.monotonic() - began < 30


def test_help_exits_0_and_documents_the_options_and_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["--help"])

    out = capsys.readouterr().out
    assert code == EXIT_OK
    for option in ("--check", "--render", "--set KEY=VALUE", "--var NAME=VALUE"):
        assert option in out
    for option in ("--report FILE.json", "--log-level", "--version"):
        assert option in out
    for option in ("--duration DURATION", "--junit FILE.xml"):
        assert option in out
    table = out[out.index("exit codes:") :]
    for code_line in ("0 ", "1 ", "2 ", "3 ", "130 "):
        assert f"\n  {code_line}" in table
    assert "scenario or CSV error" in table
    assert "or a threshold was missed" in table
    assert "a run stopped by --duration is not interrupted" in table


def test_version_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--version"])

    assert code == EXIT_OK
    assert capsys.readouterr().out.strip()


def test_render_prints_the_scenario_after_templating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tx.csv").write_text(BASE_CSV)
    path = tmp_path / "s.yaml.j2"
    path.write_text(
        "{% set topic = 'payments.' ~ environment %}\n"
        "name: demo-payments\n"
        "source:\n"
        "  path: tx.csv\n"
        "  timestamp:\n"
        "    column: event_time\n"
        '    format: "%Y-%m-%d %H:%M:%S"\n'
        "kafka:\n"
        "  topic: {{ topic }}\n"
        "replay:\n"
        "  speed: {{ speed }}\n"
    )

    code = main(
        ["--render", "--var", "environment=stage", "--var", "speed=4", str(path)]
    )

    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert out.startswith(f"# {path}\n")
    assert "topic: payments.stage\n" in out
    assert "speed: 4" in out
    assert "{{" not in out
    assert "{%" not in out


def test_render_sends_nothing_and_needs_no_broker(
    good: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = base_scenario(kafka={"bootstrap_servers": "127.0.0.1:1"})
    path = write_scenario(good.parent, scenario)
    began = time.monotonic()

    code = main(["--render", str(path)])

    assert code == EXIT_OK
    assert "bootstrap_servers: 127.0.0.1:1" in capsys.readouterr().out
    assert time.monotonic() - began < 10


@pytest.mark.parametrize("given", ["0", "0s", "soon", "-5s", "1e400"])
def test_a_duration_that_is_not_a_positive_time_is_a_usage_error(
    good: Path, given: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([f"--duration={given}", str(good)])

    err = capsys.readouterr().err
    assert code == EXIT_SCENARIO
    assert (
        f"argument --duration: expected a duration such as 90s, 5m or 1h30m, "
        f"got {given!r}" in err
    )


@pytest.mark.parametrize("option", ["--report", "--junit"])
def test_a_report_that_cannot_be_written_is_refused_before_connecting(
    good: Path, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (good.parent / "out").write_text("a file where a folder is needed")
    scenario = base_scenario(
        kafka={"bootstrap_servers": "127.0.0.1:1", "connect_timeout": "10s"}
    )
    path = write_scenario(good.parent, scenario)
    target = good.parent / "out" / "report"
    began = time.monotonic()

    code = main([option, str(target), str(path)])

    assert code == EXIT_SCENARIO
    assert capsys.readouterr().err == (
        f"error: {option} {target}: cannot create its folder: File exists\n"
    )
    assert time.monotonic() - began < 5


def test_a_duration_reached_while_waiting_for_kafka_exits_3(
    good: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = base_scenario(
        kafka={"bootstrap_servers": "127.0.0.1:1", "connect_timeout": "20s"}
    )
    path = write_scenario(good.parent, scenario)
    began = time.monotonic()

    code = main(["--duration", "1s", str(path)])

    err = capsys.readouterr().err
    assert code == EXIT_RUNTIME
    assert "error: Kafka at 127.0.0.1:1 did not answer before --duration ended\n" in err
    assert "Traceback" not in err
    assert time.monotonic() - began < 10
