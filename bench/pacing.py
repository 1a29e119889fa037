"""Pacing benchmark: how close a long run keeps to its absolute schedule.

Replays 10 000 one-second batches with `delay: 1ms` (ideal 9.999 s from the
first batch to the last) to the real broker, several times, and reports the
error of the whole run against the ideal, and the lateness of single batches.
A run passes when it ends within 1 % of its ideal duration.

    python bench/pacing.py [--batches 10000] [--delay 0.001] [--runs 3]
"""

import argparse
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import Timings, broker, median, percentile
from runner import config
from runner.control import Control
from runner.replay import Replay


def write_recording(folder: Path, batches: int) -> Path:
    path = folder / "seconds.csv"
    start = datetime(2024, 1, 1, tzinfo=UTC)
    lines = ["id,event_time,amount"]
    lines += [
        f"{i},{(start + timedelta(seconds=i)).isoformat()},{i % 997}.{i % 100:02d}"
        for i in range(batches)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_scenario(folder: Path, csv_path: Path, address: str, delay: float) -> Path:
    path = folder / "pacing.yaml"
    path.write_text(
        f"""\
name: pacing
source:
  path: {csv_path}
  timestamp: {{column: event_time, format: iso8601}}
batch: {{interval: 1s}}
kafka:
  bootstrap_servers: {address}
  topic: bench.pacing.{uuid.uuid4().hex[:8]}
replay: {{delay: {delay}}}
telemetry: {{metrics_port: 0}}
"""
    )
    return path


def one_run(scenario_path: Path, batches: int, delay: float) -> dict[str, float]:
    loaded = config.load(scenario_path)
    timings = Timings()
    summary = Replay(loaded.scenario, Control(), listener=timings).run()
    assert summary.delivered == batches, summary
    elapsed = timings.sent_at[-1] - timings.sent_at[0]
    ideal = (batches - 1) * delay
    return {
        "elapsed_s": elapsed,
        "ideal_s": ideal,
        "error_pct": 100 * (elapsed - ideal) / ideal,
        "end_error_ms": 1000 * (elapsed - ideal),
        "lateness_p50_ms": 1000 * median(timings.lateness),
        "lateness_p99_ms": 1000 * percentile(timings.lateness, 0.99),
        "lateness_last_ms": 1000 * timings.lateness[-1],
        "lateness_at_10pct_ms": 1000 * timings.lateness[len(timings.lateness) // 10],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--delay", type=float, default=0.001)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()

    address = broker()
    with tempfile.TemporaryDirectory() as folder:
        csv_path = write_recording(Path(folder), arguments.batches)
        results = []
        for run in range(arguments.runs):
            scenario = write_scenario(Path(folder), csv_path, address, arguments.delay)
            result = one_run(scenario, arguments.batches, arguments.delay)
            results.append(result)
            print(
                f"run {run + 1}: " + " ".join(f"{k}={v:.3f}" for k, v in result.items())
            )

    print(
        f"median over {len(results)} runs: "
        + " ".join(
            f"{key}={median([r[key] for r in results]):.3f}" for key in results[0]
        )
    )
    worst = max(abs(r["error_pct"]) for r in results)
    verdict = "PASS" if worst < 1.0 else "FAIL"
    print(f"verdict: {verdict} (worst error {worst:.3f} %, limit 1 %)")


if __name__ == "__main__":
    main()
