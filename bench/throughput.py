"""Throughput and memory benchmark against the real broker, all ways in one run.

Writes a synthetic transactions CSV (12 columns, ~120 bytes a row, ~23 rows a
minute), then measures, each in a fresh process so peak memory is its own:

- raw:     confluent-kafka producing pre-built 155-byte messages (the ceiling)
- seed:    the seed's way: pandas groupby per minute, to_dict, json.dumps, produce
- batch:   scenario-run, one JSON array per minute batch, delay 0
- record:  scenario-run, one JSON object per row, keyed, delay 0
- memory:  scenario-run batch mode on 10 x the rows, for the growth of peak RSS

    python -m bench.throughput [--rows 1000000] [--runs 3] [--skip-memory]
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import broker, create_topic, median

PRODUCER = {
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 5,
    "compression.type": "lz4",
}


def write_csv(path: Path, rows: int) -> None:
    """Transactions about 2.6 s apart, so a minute holds ~23 rows."""
    generator = random.Random(7)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with path.open("w") as stream:
        stream.write(
            "transaction_id,event_time,card_token,merchant_id,merchant_country,"
            "amount,currency,account_id,mcc,channel,is_fraud,amount_cents\n"
        )
        step = timedelta(seconds=2.6)
        moment = start
        lines = []
        for i in range(rows):
            cents = generator.randrange(100, 900_000)
            lines.append(
                f"tx-{i:08d},{moment:%Y-%m-%d %H:%M:%S},tok_{i % 5000:05d},"
                f"m-{i % 700},DE,{cents // 100}.{cents % 100:02d},EUR,"
                f"acc-{i % 20000:05d},{5300 + i % 40},web,{int(i % 97 == 0)},{cents}\n"
            )
            moment += step
            if len(lines) == 100_000:
                stream.writelines(lines)
                lines.clear()
        stream.writelines(lines)


def scenario_file(folder: Path, csv_path: Path, address: str, per: str) -> Path:
    path = folder / f"{per}-{uuid.uuid4().hex[:6]}.yaml"
    key = "\n  key: account_id" if per == "record" else ""
    path.write_text(
        f"""\
name: bench-{per}
source:
  path: {csv_path}
  timestamp: {{column: event_time, format: "%Y-%m-%d %H:%M:%S"}}
batch: {{interval: 1m}}
message:
  per: {per}{key}
kafka:
  bootstrap_servers: {address}
  topic: bench.{per}.{uuid.uuid4().hex[:8]}
replay: {{delay: 0}}
telemetry: {{metrics_port: 0}}
"""
    )
    return path


RAW = """
import sys, time, json
from confluent_kafka import Producer
address, topic, count, config = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
producer = Producer({"bootstrap.servers": address, **json.loads(config)})
value = b"x" * 155
began = time.perf_counter()
for _ in range(count):
    while True:
        try:
            producer.produce(topic, value)
            break
        except BufferError:
            producer.poll(0.01)
    producer.poll(0)
assert producer.flush(60) == 0
print(json.dumps({"seconds": time.perf_counter() - began, "records": count}))
"""

SEED = """
import sys, time, json
import pandas as pd
from confluent_kafka import Producer
address, topic, path, config = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
producer = Producer({"bootstrap.servers": address, **json.loads(config)})
began = time.perf_counter()
frame = pd.read_csv(path)
frame["event_time"] = pd.to_datetime(frame["event_time"])
records = 0
for minute, group in frame.groupby(frame["event_time"].dt.floor("min")):
    rows = group.to_dict("records")
    for row in rows:
        row["event_time"] = row["event_time"].isoformat()
    value = json.dumps(rows, default=str).encode()
    while True:
        try:
            producer.produce(topic, value)
            break
        except BufferError:
            producer.poll(0.01)
    producer.poll(0)
    records += len(rows)
assert producer.flush(60) == 0
print(json.dumps({"seconds": time.perf_counter() - began, "records": records}))
"""

RUNNER = """
import sys, time, json
from pathlib import Path
from runner import config
from runner.control import Control
from runner.replay import Replay
began = time.perf_counter()
loaded = config.load(Path(sys.argv[1]))
summary = Replay(loaded.scenario, Control()).run()
assert summary.failed == 0 and summary.unsent == 0, summary
print(json.dumps({"seconds": time.perf_counter() - began,
                  "records": summary.delivered}))
"""


def measure(code: str, *arguments: str) -> dict[str, float]:
    """Run `code` in a fresh interpreter; its result plus its own peak RSS."""
    process = subprocess.Popen(
        [sys.executable, "-c", code, *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, f"benchmark step failed: {code[:60]}"
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024
    result["rate"] = result["records"] / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-memory", action="store_true")
    arguments = parser.parse_args()
    address = broker()
    config = json.dumps(PRODUCER)

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        csv_path = folder / "transactions.csv"
        write_csv(csv_path, arguments.rows)
        results: dict[str, list[dict[str, float]]] = {
            "raw": [],
            "seed": [],
            "batch": [],
            "record": [],
        }
        for _ in range(arguments.runs):
            topic = create_topic(address, f"bench.raw.{uuid.uuid4().hex[:8]}")
            results["raw"].append(
                measure(RAW, address, topic, str(arguments.rows), config)
            )
            topic = create_topic(address, f"bench.seed.{uuid.uuid4().hex[:8]}")
            results["seed"].append(measure(SEED, address, topic, str(csv_path), config))
            for per in ("batch", "record"):
                scenario = scenario_file(folder, csv_path, address, per)
                results[per].append(measure(RUNNER, str(scenario)))

        summary = {
            way: {
                "rate": median([r["rate"] for r in runs]),
                "peak_mib": median([r["peak_mib"] for r in runs]),
            }
            for way, runs in results.items()
        }
        for way, figures in summary.items():
            print(
                f"{way:7s} {figures['rate']:>10.0f} records/s   "
                f"peak {figures['peak_mib']:.0f} MiB   (median of {arguments.runs})"
            )
        raw, seed = summary["raw"]["rate"], summary["seed"]["rate"]
        print(f"record mode / raw ceiling: {summary['record']['rate'] / raw:.2f}")
        print(f"batch mode / seed's way:   {summary['batch']['rate'] / seed:.1f}")

        if not arguments.skip_memory:
            big = folder / "transactions-10x.csv"
            write_csv(big, arguments.rows * 10)
            scenario = scenario_file(folder, big, address, "batch")
            large = measure(RUNNER, str(scenario))
            base = summary["batch"]["peak_mib"]
            print(
                f"memory: {arguments.rows} rows {base:.0f} MiB, "
                f"{arguments.rows * 10} rows {large['peak_mib']:.0f} MiB, "
                f"ratio {large['peak_mib'] / base:.2f} "
                f"(rate {large['rate']:.0f} records/s)"
            )


if __name__ == "__main__":
    main()
