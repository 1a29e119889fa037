"""Factories shared by unit and integration tests."""

import uuid
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
"""The real public recordings; tests read them in place, never copy them."""

BASE_CSV = """\
transaction_id,event_time,card_token,merchant_id,merchant_country,amount,currency
tx-0001,2024-05-06 10:00:05,tok_a1,m-100,DE,19.99,EUR
tx-0002,2024-05-06 10:00:40,tok_b2,m-101,NO,250.00,NOK
tx-0003,2024-05-06 10:01:10,tok_a1,m-100,DE,5.10,EUR
"""

# The known-failures inputs: day-first dates, and missing or impossible times.
HEADER = (
    "transaction_id,event_time,card_token,merchant_id,merchant_country,amount,currency"
)
DAY_FIRST_CSV = f"""\
{HEADER}
tx-0001,05.03.2024 10:00:05,tok_a1,m-100,DE,19.99,EUR
tx-0002,13.03.2024 10:00:40,tok_b2,m-101,DE,7.50,EUR
tx-0003,14.03.2024 09:59:59,tok_c3,m-102,DE,3.20,EUR
"""
MISSING_TIMES_CSV = f"""\
{HEADER}
tx-0001,2024-05-06 10:00:05,tok_a1,m-100,DE,19.99,EUR
tx-0002,,tok_b2,m-101,DE,7.50,EUR
tx-0003,2024-05-06 10:00:50,tok_c3,m-102,DE,3.20,EUR
tx-0004,2024-02-30 10:00:00,tok_d4,m-103,DE,1.00,EUR
tx-0005,2024-05-06 10:01:05,tok_e5,m-104,DE,8.80,EUR
"""


def seconds_csv(path: Path, rows: int, prefix: str = "tx") -> Path:
    """`rows` transactions one second apart from 2024-05-06 10:00:00."""
    lines = ["transaction_id,event_time,amount"]
    lines += [
        f"{prefix}-{i:05d},2024-05-06 {10 + i // 3600:02d}:{i // 60 % 60:02d}:"
        f"{i % 60:02d},{i % 90}.{i % 100:02d}"
        for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def unique_topic(prefix: str = "test") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:12]}"


def base_scenario(
    csv_path: str = "tx.csv", topic: str = "payments.replay", **sections: Any
) -> dict[str, Any]:
    """The base scenario of the known-failures catalogue, with sections merged in."""
    scenario: dict[str, Any] = {
        "name": "demo-payments",
        "source": {
            "path": csv_path,
            "timestamp": {
                "column": "event_time",
                "format": "%Y-%m-%d %H:%M:%S",
                "timezone": "UTC",
            },
        },
        "batch": {"interval": "1m"},
        "message": {"per": "batch"},
        "kafka": {"bootstrap_servers": "127.0.0.1:9092", "topic": topic},
        "replay": {"delay": 0},
        "telemetry": {"metrics_port": 0},
    }
    for name, value in sections.items():
        if isinstance(value, dict) and isinstance(scenario.get(name), dict):
            scenario[name] = {**scenario[name], **value}
        else:
            scenario[name] = value
    return scenario


def write_scenario(
    folder: Path, scenario: dict[str, Any], name: str = "s.yaml"
) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return path
