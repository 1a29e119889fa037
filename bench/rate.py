"""Rate benchmark: `replay.rate` delivers what it asks for, evenly.

Replays the project's sample recording, looping, in record mode for a single
30-second stage at 2 000 records per second against the real broker, and
reports the records delivered (ideal 60 000, pass within 1 %), the achieved
rate, and how evenly they went: the records sent in each second of the run.

    python -m bench.rate [--rate 2000] [--seconds 30] [--runs 3]
"""

import argparse
import statistics
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import broker, median
from runner import config
from runner.control import Control
from runner.events import BatchInfo, Listener
from runner.replay import Replay

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "transactions.csv"


@dataclass
class PerSecond(Listener):
    """Counts records handed to the producer in each second of the run."""

    began: float = field(default_factory=time.monotonic)
    seconds: Counter[int] = field(default_factory=Counter)

    def batch_sent(self, batch: BatchInfo, lateness_s: float, produce_s: float) -> None:
        self.seconds[int(time.monotonic() - self.began)] += batch.records


def scenario_file(folder: Path, address: str, rate: float, seconds: float) -> Path:
    path = folder / "rate.yaml"
    path.write_text(
        f"""\
name: rate
source:
  path: {SAMPLE}
  timestamp: {{column: timestamp, format: iso8601}}
message: {{per: record, key: account_id}}
kafka:
  bootstrap_servers: {address}
  topic: bench.rate.{uuid.uuid4().hex[:8]}
replay:
  loop: forever
  timestamps: shifted
  stages: [{{duration: {seconds}s, rate: {rate}}}]
telemetry: {{metrics_port: 0}}
"""
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    address = broker()
    ideal = arguments.rate * arguments.seconds

    results = []
    with tempfile.TemporaryDirectory() as folder:
        for run in range(arguments.runs):
            path = scenario_file(
                Path(folder), address, arguments.rate, arguments.seconds
            )
            counter = PerSecond()
            summary = Replay(config.load(path).scenario, Control(), counter).run()
            assert summary.failed == 0, summary
            full = [counter.seconds[s] for s in range(int(arguments.seconds))]
            error = 100 * (summary.delivered - ideal) / ideal
            results.append((summary.delivered, error, summary.rate, full))
            print(
                f"run {run + 1}: delivered={summary.delivered} error={error:+.3f}% "
                f"per-second min={min(full)} max={max(full)} "
                f"stdev={statistics.pstdev(full):.1f}"
            )

    print(
        f"median delivered={median([float(r[0]) for r in results]):.0f} "
        f"(ideal {ideal:.0f}), error {median([r[1] for r in results]):+.3f} %"
    )
    worst = max(abs(r[1]) for r in results)
    verdict = "PASS" if worst <= 1.0 else "FAIL"
    print(f"verdict: {verdict} (worst error {worst:.3f} %, limit 1 %)")


if __name__ == "__main__":
    main()
