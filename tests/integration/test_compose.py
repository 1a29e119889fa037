"""The compose arrangement: the file checked offline, then the same services run here.

No container engine is needed. A compose implementation parses and validates
`compose.yaml` without one, and `promtool` checks the scrape config. Then the
runner services start as plain processes, with the scenario file and the
environment their compose service gives them, against the real broker, with a
real Prometheus server scraping them through the project's own scrape config
and an OTLP receiver standing in for Jaeger.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
import yaml

from runner import config
from tests.helpers import REPO, unique_topic
from tests.integration.otlp_receiver import otlp_receiver

COMPOSE = REPO / "compose.yaml"
SCRAPE_CONFIG = REPO / "deploy" / "prometheus.yml"
DOCKERFILE = REPO / "Dockerfile"
SCRIPT = str(Path(sys.executable).parent / "scenario-run")

METRICS_PORT_IN_CONTAINER = 8001
SCRAPE_INTERVAL = "1s"
SERIES_WAIT_S = 90.0
STOP_WAIT_S = 15.0


@dataclass(frozen=True)
class RunnerService:
    """A compose service built from the project's Dockerfile."""

    name: str
    command: list[str]
    environment: dict[str, str]
    raw: dict[str, Any]

    @property
    def scenario(self) -> Path:
        return REPO / self.command[0]


def tool(name: str, package: str) -> str:
    """The path of an installed command; the test fails, never skips, without it."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        pytest.fail(
            f"{name!r} is not installed: it comes with the Debian package "
            f"{package!r} (apt-get install {package}), which .ci/run installs",
            pytrace=False,
        )
    return found


def runner_services(compose: dict[str, Any]) -> list[RunnerService]:
    """The services that run scenario-run, in the order the file gives them."""
    found = []
    for name, service in compose["services"].items():
        if "build" not in service:
            continue
        environment = service.get("environment", {})
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        found.append(
            RunnerService(
                name=name,
                command=[str(part) for part in service.get("command", [])],
                environment={key: str(value) for key, value in environment.items()},
                raw=service,
            )
        )
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def normalised() -> dict[str, Any]:
    """compose.yaml as a compose implementation reads it, with anchors applied."""
    result = subprocess.run(
        [tool("docker-compose", "docker-compose"), "--file", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, f"compose.yaml is not valid:\n{result.stderr}"
    parsed: dict[str, Any] = yaml.safe_load(result.stdout)
    return parsed


def test_compose_file_has_the_broker_jaeger_prometheus_and_three_runners(
    normalised: dict[str, Any],
) -> None:
    services = normalised["services"]
    runners = runner_services(normalised)

    assert {"kafka", "jaeger", "prometheus"} <= set(services)
    assert len(runners) >= 3, [runner.name for runner in runners]
    for runner in runners:
        assert Path(runner.raw["build"]["context"]).resolve() == REPO


def test_each_runner_replays_its_own_ready_scenario(
    normalised: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    runners = runner_services(normalised)
    loaded = {}
    for runner in runners:
        assert len(runner.command) == 1, runner.command
        assert runner.command[0].startswith("scenarios/"), runner.command
        assert runner.scenario.is_file(), runner.scenario
        for name, value in runner.environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("METRICS_PORT", raising=False)
        loaded[runner.name] = config.load(runner.scenario).scenario

    assert len({runner.command[0] for runner in runners}) == len(runners)
    assert len({scenario.name for scenario in loaded.values()}) == len(runners)
    assert len({scenario.kafka.topic for scenario in loaded.values()}) == len(runners)
    for scenario in loaded.values():
        assert scenario.kafka.bootstrap_servers == "kafka:9092"
        assert scenario.telemetry.metrics_host == "0.0.0.0"
        assert scenario.telemetry.metrics_port == METRICS_PORT_IN_CONTAINER


def test_runners_wait_for_the_broker_and_need_no_terminal(
    normalised: dict[str, Any],
) -> None:
    for runner in runner_services(normalised):
        service = runner.raw
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy"
        assert runner.environment["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert runner.environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"
        assert runner.environment["METRICS_HOST"] == "0.0.0.0"
        assert not service.get("tty", False), runner.name
        assert not service.get("stdin_open", False), runner.name
        assert "stop_grace_period" in service, runner.name
    healthcheck = normalised["services"]["kafka"]["healthcheck"]
    assert healthcheck["test"], healthcheck


def test_broker_is_a_single_kraft_node(normalised: dict[str, Any]) -> None:
    kafka = normalised["services"]["kafka"]
    environment = kafka["environment"]

    assert kafka["image"].startswith("apache/kafka:")
    assert set(environment["KAFKA_PROCESS_ROLES"].split(",")) == {
        "broker",
        "controller",
    }
    node = str(environment["KAFKA_NODE_ID"])
    assert environment["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{node}@kafka:")
    assert "PLAINTEXT://kafka:9092" in environment["KAFKA_ADVERTISED_LISTENERS"]


def test_jaeger_takes_otlp_and_shows_its_ui(normalised: dict[str, Any]) -> None:
    jaeger = normalised["services"]["jaeger"]

    assert jaeger["image"].startswith("jaegertracing/all-in-one:")
    assert str(jaeger["environment"]["COLLECTOR_OTLP_ENABLED"]).lower() == "true"
    published = [str(port) for port in jaeger["ports"]]
    assert any(":16686:16686" in port for port in published), published


def test_prometheus_scrapes_every_runner_with_the_projects_config(
    normalised: dict[str, Any],
) -> None:
    prometheus = normalised["services"]["prometheus"]
    mounted = [str(volume) for volume in prometheus["volumes"]]
    scrape = yaml.safe_load(SCRAPE_CONFIG.read_text())
    targets = {
        target
        for job in scrape["scrape_configs"]
        for group in job.get("static_configs", [])
        for target in group["targets"]
    }

    assert any(
        volume.startswith(f"{SCRAPE_CONFIG}:/etc/prometheus/prometheus.yml")
        for volume in mounted
    ), mounted
    assert targets == {
        f"{runner.name}:{METRICS_PORT_IN_CONTAINER}"
        for runner in runner_services(normalised)
    }
    checked = subprocess.run(
        [tool("promtool", "prometheus"), "check", "config", str(SCRAPE_CONFIG)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def dockerfile_instructions() -> list[str]:
    return [
        line.strip()
        for line in DOCKERFILE.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def entrypoint() -> list[str]:
    """The image's ENTRYPOINT, which must be in exec form (a JSON array)."""
    found = [
        line.removeprefix("ENTRYPOINT ")
        for line in dockerfile_instructions()
        if line.startswith("ENTRYPOINT ")
    ]
    assert len(found) == 1, found
    parsed: list[str] = json.loads(found[0])
    return parsed


def test_image_runs_as_non_root_under_tini_in_exec_form() -> None:
    lines = dockerfile_instructions()
    users = [line.split(None, 1)[1] for line in lines if line.startswith("USER ")]

    assert users, "the Dockerfile sets no USER: the runner would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    # No shell stands between tini and the runner, so SIGTERM reaches the runner.
    assert entrypoint() == ["/usr/bin/tini", "--", "scenario-run"]
    assert any(re.search(r"apt-get install .*\btini\b", line) for line in lines)


def test_prometheus_sees_every_scenario_of_the_arrangement(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    prometheus = tool("prometheus", "prometheus")
    init, *rest = entrypoint()
    # The image's own entry point, its programs found where they are installed.
    start = [tool(Path(init).name, "tini"), *rest[:-1], SCRIPT]
    runners = runner_services(yaml.safe_load(COMPOSE.read_text()))
    ports = {runner.name: free_port() for runner in runners}
    topics = {runner.name: unique_topic(f"compose-{runner.name}") for runner in runners}
    names = {
        runner.name: config.load(runner.scenario).scenario.name for runner in runners
    }
    expected = set(names.values())
    targets = {
        f"{runner.name}:{METRICS_PORT_IN_CONTAINER}": f"127.0.0.1:{ports[runner.name]}"
        for runner in runners
    }
    scrape = local_scrape_config(targets)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(scrape))
    jobs = {job["job_name"] for job in scrape["scrape_configs"]}

    with otlp_receiver() as jaeger, ExitStack() as stack:
        processes = {}
        for runner in runners:
            # What the compose network names, outside compose: the broker,
            # the OTLP endpoint, and a loopback port per runner for its metrics.
            here = {
                "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
                "OTEL_EXPORTER_OTLP_ENDPOINT": jaeger.endpoint,
                "METRICS_HOST": "127.0.0.1",
                "METRICS_PORT": str(ports[runner.name]),
            }
            topic = ["--set", f"kafka.topic={topics[runner.name]}"]
            processes[runner.name] = stack.enter_context(
                run_service(start, runner, tmp_path, here, topic)
            )
        api = stack.enter_context(
            run_prometheus(prometheus, tmp_path, tmp_path / "prometheus.yml")
        )

        produced = wait_for_series(api, "records_produced_total", expected)
        delivered = query(api, "records_delivered_total > 0")
        up = query(api, "up")

        stopped = stop_all(processes)
        spans = jaeger.spans()

    for runner in runners:
        series = produced[names[runner.name]]
        assert series["topic"] == topics[runner.name]
        assert series["instance"] == f"127.0.0.1:{ports[runner.name]}"
        assert series["job"] in jobs
    assert {series["metric"]["scenario"] for series in delivered} == expected
    assert sorted(series["metric"]["instance"] for series in up) == sorted(
        targets.values()
    )
    assert all(series["value"][1] == "1" for series in up), up
    for name, ended in stopped.items():
        assert ended.code == 130, f"{name} exited {ended.code}:\n{ended.err}"
        assert ended.seconds < STOP_WAIT_S, f"{name} took {ended.seconds:.1f}s"
        assert "interrupted" in ended.out, ended.out
        assert "Traceback" not in ended.err, ended.err
    traced = {span.attributes.get("scenario_run.scenario") for span in spans}
    assert traced == expected


def local_scrape_config(targets: dict[str, str]) -> dict[str, Any]:
    """deploy/prometheus.yml with its targets moved to loopback and a faster scrape."""
    scrape: dict[str, Any] = yaml.safe_load(SCRAPE_CONFIG.read_text())
    scrape.setdefault("global", {}).update(
        scrape_interval=SCRAPE_INTERVAL,
        scrape_timeout=SCRAPE_INTERVAL,
        evaluation_interval=SCRAPE_INTERVAL,
    )
    for job in scrape["scrape_configs"]:
        job.pop("scrape_interval", None)
        job.pop("scrape_timeout", None)
        for group in job.get("static_configs", []):
            unknown = set(group["targets"]) - set(targets)
            assert not unknown, f"targets that are no runner service: {unknown}"
            group["targets"] = [targets[target] for target in group["targets"]]
    return scrape


@dataclass(frozen=True)
class Stopped:
    """How a runner ended after SIGTERM."""

    code: int | None
    seconds: float
    out: str
    err: str


@dataclass(frozen=True)
class Running:
    """A runner process and the files its stdout and stderr go to."""

    process: subprocess.Popen[str]
    out: Path
    err: Path

    def wait(self, since: float) -> Stopped:
        """Wait a bounded time for the process to end; seconds count from `since`."""
        try:
            code: int | None = self.process.wait(timeout=STOP_WAIT_S * 2)
        except subprocess.TimeoutExpired:
            code = None
        seconds = time.monotonic() - since
        return Stopped(code, seconds, self.out.read_text(), self.err.read_text())


def stop_all(processes: dict[str, Running]) -> dict[str, Stopped]:
    """SIGTERM to every runner at once, as `docker compose stop` sends it."""
    began = time.monotonic()
    for running in processes.values():
        running.process.send_signal(signal.SIGTERM)
    return {name: running.wait(began) for name, running in processes.items()}


@contextmanager
def run_service(
    start: list[str],
    runner: RunnerService,
    folder: Path,
    local: dict[str, str],
    extra: list[str],
) -> Iterator[Running]:
    """The runner as its container would start it, with this machine's addresses."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("KAFKA_", "OTEL_", "METRICS_"))
    }
    # tini is not PID 1 here; as a subreaper it forwards signals just the same.
    environment = {**inherited, **runner.environment, **local, "TINI_SUBREAPER": "1"}
    out_path = folder / f"{runner.name}.out"
    err_path = folder / f"{runner.name}.err"
    with out_path.open("w") as out, err_path.open("w") as err:
        process = subprocess.Popen(
            [*start, *runner.command, *extra],
            cwd=REPO,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            text=True,
        )
        try:
            yield Running(process, out_path, err_path)
        finally:
            end(process)


@contextmanager
def run_prometheus(binary: str, folder: Path, scrape: Path) -> Iterator[str]:
    """A Prometheus server on a free loopback port; yields its base URL."""
    address = f"127.0.0.1:{free_port()}"
    (folder / "tsdb").mkdir()
    with (folder / "prometheus.log").open("w+") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={scrape}",
                f"--storage.tsdb.path={folder / 'tsdb'}",
                f"--web.listen-address={address}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_ready(f"http://{address}", process, log)
            yield f"http://{address}"
        finally:
            end(process)


def wait_until_ready(url: str, process: subprocess.Popen[Any], log: IO[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            pytest.fail(f"prometheus exited {process.returncode}:\n{log.read()}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    log.seek(0)
    pytest.fail(f"prometheus was not ready within 30 s:\n{log.read()}")


def query(api: str, expression: str) -> list[dict[str, Any]]:
    """The instant vector Prometheus's HTTP API returns for `expression`."""
    url = f"{api}/api/v1/query?{urllib.parse.urlencode({'query': expression})}"
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def wait_for_series(
    api: str, metric: str, scenarios: set[str]
) -> dict[str, dict[str, str]]:
    """The labels of `metric` by scenario, once every scenario has a value above 0."""
    deadline = time.monotonic() + SERIES_WAIT_S
    seen: dict[str, dict[str, str]] = {}
    while time.monotonic() < deadline:
        seen = {
            series["metric"]["scenario"]: series["metric"]
            for series in query(api, f"{metric} > 0")
        }
        if scenarios <= set(seen):
            return seen
        time.sleep(0.5)
    pytest.fail(
        f"Prometheus saw {metric} for {sorted(seen)} only, not {sorted(scenarios)} "
        f"within {SERIES_WAIT_S:.0f} s"
    )


def end(process: subprocess.Popen[Any]) -> None:
    """Make sure a process started here is gone, gently first."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_WAIT_S)
