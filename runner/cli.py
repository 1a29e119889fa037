"""The command line: parse, run, and map every outcome to an exit code in one place."""

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from runner import __version__, config, plan, report, schema, source, thresholds
from runner.control import Control
from runner.durations import parse_duration
from runner.errors import BrokerError, ScenarioError, ScenarioRunError, TelemetryError
from runner.events import Listeners
from runner.keys import Keys
from runner.progress import Board
from runner.replay import Replay
from runner.stats import Stats
from runner.summary import STOPPED_BY_DURATION, Summary
from runner.telemetry import JsonFormatter, Telemetry

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1  # records not delivered, or a threshold missed
EXIT_SCENARIO = 2  # usage, scenario or CSV error; nothing was sent
EXIT_RUNTIME = 3  # broker unreachable, topic refused, port in use
EXIT_INTERRUPTED = 130  # q, Ctrl-C or SIGTERM; what was sent is flushed

EPILOG = """\
exit codes:
  0    every selected record was delivered
  1    some records failed to deliver, or a threshold was missed
  2    usage, scenario or CSV error (nothing was sent)
  3    Kafka unreachable, topic refused, or a port in use
  130  interrupted by q, Ctrl-C or SIGTERM (in-flight messages flushed);
       a run stopped by --duration is not interrupted: it completed

keys on a terminal: p pause, r resume, q quit.
signals: SIGTERM/SIGINT stop after flushing; SIGUSR1 pauses, SIGUSR2 resumes.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scenario-run",
        description="Replay recorded CSV feeds into Apache Kafka as if they were "
        "happening now, as described by scenario files.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "scenarios",
        nargs="+",
        type=Path,
        metavar="SCENARIO",
        help="scenario files (YAML, rendered with Jinja2 first); several run side "
        "by side",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field, e.g. --set replay.speed=10 or "
        "--set kafka.config.linger.ms=20 (repeatable)",
    )
    parser.add_argument(
        "--var",
        dest="variables",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template variable for the scenario's Jinja2 text (repeatable)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check",
        action="store_true",
        help="validate the scenarios and their CSVs, send nothing",
    )
    mode.add_argument(
        "--render",
        action="store_true",
        help="print each scenario after templating and defaults, secrets masked; "
        "send nothing",
    )
    mode.add_argument(
        "--dry-run",
        action="store_true",
        help="do everything but talk to Kafka: print the plan (records, batches, "
        "sizes, data-time span, expected wall time)",
    )
    parser.add_argument(
        "--show",
        type=int,
        default=0,
        metavar="N",
        help="with --dry-run, also print the first N messages as they would be "
        "produced, headers included",
    )
    parser.add_argument(
        "--duration",
        type=_duration,
        metavar="DURATION",
        help="stop every scenario after this wall time (e.g. 60s, 5m, 1h30m), "
        "flushing first; a run stopped this way counts as completed",
    )
    parser.add_argument(
        "--fail-fast",
        action="store_true",
        help="when one scenario fails, stop the others too (by default they "
        "go on and the exit code reports the failure)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="FILE.json",
        help="write the run summary as JSON to this file: counts, rates, latency "
        "and lateness percentiles, errors by kind, thresholds",
    )
    parser.add_argument(
        "--junit",
        type=Path,
        metavar="FILE.xml",
        help="write a JUnit XML file for CI: a test case per scenario and per "
        "threshold",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="diagnostics on stderr (default INFO)",
    )
    parser.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="diagnostics as text lines, or one JSON object a line with the "
        "trace_id and span_id of the batch when there is one (default text)",
    )
    parser.add_argument("--version", action="version", version=__version__)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command and return its exit code; the only place codes are chosen."""
    parser = build_parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as leaving:
        return int(leaving.code or 0)
    _configure_logging(arguments.log_level, arguments.log_format)

    with _stop_while_checking():
        try:
            return _main(arguments)
        except KeyboardInterrupt:
            # Ctrl-C or SIGTERM while the scenarios and CSVs were being
            # checked: nothing was sent yet.
            print("error: interrupted before anything was sent", file=sys.stderr)
            return EXIT_INTERRUPTED


def _main(arguments: argparse.Namespace) -> int:
    try:
        variables = _pairs(arguments.variables, "--var")
        loaded = [
            config.load(path, arguments.overrides, variables)
            for path in arguments.scenarios
        ]
        if arguments.render:
            for item in loaded:
                print(f"# {item.path}\n{schema.render(item.scenario)}", end="")
            return EXIT_OK
        recordings = [source.scan(item.scenario) for item in loaded]
        if arguments.check:
            for item, recording in zip(loaded, recordings, strict=True):
                print(
                    f"{item.path}: ok: rows={recording.rows_read} "
                    f"selected={recording.selected} batches={recording.batches}"
                )
            return EXIT_OK
        if arguments.dry_run:
            for item, recording in zip(loaded, recordings, strict=True):
                _print_plan(plan.make(item.scenario, recording, arguments.show))
            return EXIT_OK
        report.prepare(arguments.report, "--report")
        report.prepare(arguments.junit, "--junit")
        summaries, failures = _run(
            loaded, recordings, arguments.duration, arguments.fail_fast
        )
    except ScenarioError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_SCENARIO
    except (BrokerError, TelemetryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_RUNTIME
    except ScenarioRunError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_RUNTIME

    try:
        for summary in summaries:
            print(summary.render())
        sys.stdout.flush()
    except BrokenPipeError:
        # Whoever read the summary has gone (`| head`); the run still counts.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    for summary in summaries:
        for verdict in summary.missed:
            print(
                f"threshold missed: scenario {summary.scenario}: {verdict.describe()}",
                file=sys.stderr,
            )
    try:
        if arguments.report is not None:
            report.write_json(arguments.report, summaries)
        if arguments.junit is not None:
            report.write_junit(arguments.junit, summaries)
    except OSError as error:
        print(f"error: cannot write a report: {error}", file=sys.stderr)
        return EXIT_RUNTIME

    several = len(summaries) > 1
    for name, failure in failures:
        where = f"scenario {name}: " if several else ""
        for line in getattr(failure, "problems", None) or [str(failure)]:
            print(f"error: {where}{line}", file=sys.stderr)
    if any(not isinstance(failure, ScenarioRunError) for _, failure in failures):
        # Not an error of input or environment but of the runner itself: the
        # traceback is what a bug report needs.
        raise next(f for _, f in failures if not isinstance(f, ScenarioRunError))
    if any(not isinstance(failure, ScenarioError) for _, failure in failures):
        return EXIT_RUNTIME
    if failures:
        return EXIT_SCENARIO
    return _exit_code(summaries)


def _print_plan(made: plan.Plan) -> None:
    print(made.render())
    scenario = made.scenario
    static = dict(scenario.kafka.headers)
    for number, message in enumerate(made.first, start=1):
        key = message.key.decode(errors="replace") if message.key else None
        print(
            f"message {number}: topic={scenario.kafka.topic} key={key!r} "
            f"headers={static} (+ traceparent when tracing is on)"
        )
        print(message.value.decode())


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


@dataclass
class _Outcome:
    summary: Summary | None = None
    error: BaseException | None = None


def _run(
    loaded: list[config.LoadedScenario],
    recordings: list[source.Recording],
    duration: float | None = None,
    fail_fast: bool = False,
) -> tuple[list[Summary], list[tuple[str, BaseException]]]:
    control = Control()
    telemetry = Telemetry([item.scenario for item in loaded])
    board = Board(control)
    stats = [Stats(item.scenario) for item in loaded]
    listeners = []
    for item, measure in zip(loaded, stats, strict=True):
        traced = telemetry.listener(item.scenario)
        control.on_pause(traced.paused)
        listeners.append(Listeners(measure, traced, board.track(item.scenario.name)))
    replays = [
        Replay(item.scenario, control, listener=listener, recording=recording)
        for item, recording, listener in zip(loaded, recordings, listeners, strict=True)
    ]
    outcomes = [_Outcome() for _ in replays]

    def play(replay: Replay, outcome: _Outcome) -> None:
        try:
            outcome.summary = replay.run()
        except BaseException as error:  # carried to the main thread, reported there
            outcome.error = error
            outcome.summary = replay.summary("failed", f"{error}")
            if len(replays) > 1:
                # The others go on: say it now, not only at the end.
                log.error(
                    "scenario failed: scenario=%s error=%s",
                    replay.scenario.name,
                    error,
                )
            if fail_fast:
                control.stop(f"scenario {replay.scenario.name} failed")

    threads = [
        threading.Thread(target=play, args=(replay, outcome), name=replay.scenario.name)
        for replay, outcome in zip(replays, outcomes, strict=True)
    ]
    try:
        with _signals(control), Keys(control), board:
            for thread in threads:
                thread.start()
            _join(threads, control, duration)
    finally:
        telemetry.stop()

    failures = [
        (replay.scenario.name, outcome.error)
        for replay, outcome in zip(replays, outcomes, strict=True)
        if outcome.error is not None
    ]
    return [
        thresholds.conclude(
            replay.scenario.thresholds.root,
            outcome.summary.stopped_by(control.stop_reason),
            measure.measured(),
        )
        for replay, outcome, measure in zip(replays, outcomes, stats, strict=True)
        if outcome.summary is not None
    ], failures


def _join(
    threads: list[threading.Thread], control: Control, duration: float | None
) -> None:
    deadline = None if duration is None else time.monotonic() + duration
    for thread in threads:
        # Joining in short steps lets the main thread run signal handlers.
        while thread.is_alive():
            thread.join(0.2)
            if deadline is not None and time.monotonic() >= deadline:
                log.info("--duration reached, stopping: duration_s=%g", duration)
                control.stop(STOPPED_BY_DURATION)
                deadline = None


class _stop_while_checking:
    """Until the replays take over the signals: SIGTERM interrupts like Ctrl-C,
    and SIGUSR1/SIGUSR2 (pause, resume) are ignored rather than fatal."""

    def __init__(self) -> None:
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "_stop_while_checking":
        if threading.current_thread() is not threading.main_thread():
            return self
        self._previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, self._interrupt)
        for number in (signal.SIGUSR1, signal.SIGUSR2):
            self._previous[number] = signal.signal(number, signal.SIG_IGN)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]

    @staticmethod
    def _interrupt(number: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(number).name)


class _signals:
    """Stop on SIGINT and SIGTERM, pause on SIGUSR1, resume on SIGUSR2."""

    def __init__(self, control: Control) -> None:
        self._control = control
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "_signals":
        if threading.current_thread() is not threading.main_thread():
            return self
        handlers = {
            signal.SIGINT: self._stop,
            signal.SIGTERM: self._stop,
            signal.SIGHUP: self._stop,
            signal.SIGUSR1: self._pause,
            signal.SIGUSR2: self._resume,
        }
        for number, handler in handlers.items():
            self._previous[number] = signal.signal(number, handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]

    def _stop(self, number: int, frame: FrameType | None) -> None:
        self._control.stop(signal.Signals(number).name)

    def _pause(self, number: int, frame: FrameType | None) -> None:
        log.info("paused by signal: %s", signal.Signals(number).name)
        self._control.pause()

    def _resume(self, number: int, frame: FrameType | None) -> None:
        log.info("resumed by signal: %s", signal.Signals(number).name)
        self._control.resume()


def _exit_code(summaries: list[Summary]) -> int:
    if any(summary.failed or summary.error or summary.missed for summary in summaries):
        return EXIT_FAILED
    if any(summary.outcome == "interrupted" for summary in summaries):
        return EXIT_INTERRUPTED
    return EXIT_OK


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError:
        seconds = -1.0
    if seconds <= 0:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 90s, 5m or 1h30m, got {text!r}"
        )
    return seconds


def _pairs(items: Sequence[str], option: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, separator, value = item.partition("=")
        if not separator or not name:
            raise ScenarioError([f"{option} {item}: expected NAME=VALUE"])
        pairs[name] = value
    return pairs


def _configure_logging(level: str, log_format: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    logging.basicConfig(level=level, handlers=[handler], force=True)
