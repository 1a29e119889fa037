"""Write the small transactions recording that scenarios/default.yaml replays.

Deterministic: the same seed gives the same file, so the committed sample can
be regenerated and compared. Usage: python scripts/make_sample.py [PATH]
"""

import csv
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROWS = 1500
START = datetime(2024, 5, 6, 9, 0, 0, tzinfo=UTC)
SPAN = timedelta(hours=2)
COUNTRIES = ["DE", "NO", "FR", "NL", "SE", "US", "GB"]
CURRENCIES = {
    "DE": "EUR",
    "NO": "NOK",
    "FR": "EUR",
    "NL": "EUR",
    "SE": "SEK",
    "US": "USD",
    "GB": "GBP",
}
CHANNELS = ["pos", "web", "app"]
CATEGORIES = ["5411", "5812", "5999", "4111", "5732", "7011"]


def rows(generator: random.Random) -> list[list[str]]:
    moments = sorted(
        START + timedelta(seconds=generator.uniform(0, SPAN.total_seconds()))
        for _ in range(ROWS)
    )
    table = []
    for number, moment in enumerate(moments, start=1):
        country = generator.choice(COUNTRIES)
        fraud = generator.random() < 0.02
        amount = generator.lognormvariate(3.2, 1.1) * (8 if fraud else 1)
        table.append(
            [
                f"tx-{number:06d}",
                moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                f"acc-{generator.randrange(1, 400):04d}",
                f"tok_{generator.randrange(16**6):06x}",
                f"m-{generator.randrange(100, 180)}",
                generator.choice(CATEGORIES),
                # About one row in fifty has no merchant country: it becomes null.
                "" if generator.random() < 0.02 else country,
                f"{amount:.2f}",
                CURRENCIES[country],
                generator.choice(CHANNELS),
                "true" if fraud else "false",
            ]
        )
    return table


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    target = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else here / "sample_data" / ("transactions.csv")
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(
            [
                "transaction_id",
                "timestamp",
                "account_id",
                "card_token",
                "merchant_id",
                "merchant_category",
                "merchant_country",
                "amount",
                "currency",
                "channel",
                "is_fraud",
            ]
        )
        writer.writerows(rows(random.Random(20240506)))
    print(target)


if __name__ == "__main__":
    main()
