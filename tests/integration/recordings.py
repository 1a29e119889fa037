"""Scenarios for the real recordings in `tests.helpers.DATA`, one per file.

Each is what a user of that data would write: how its timestamps are shaped,
how its cells are delimited and marked missing, and how its rows are best sent
(a batch per interval of data time, or one message per record with a key).
The CSV is read in place.
"""

import copy
from typing import Any

from tests.helpers import DATA

_SCENARIOS: dict[str, dict[str, Any]] = {
    # Card payments; `Time` counts seconds from the first one, in September 2013.
    "ulb_creditcard_head.csv": {
        "name": "ulb-card-payments",
        "source": {
            "timestamp": {
                "column": "Time",
                "format": "elapsed_s",
                "origin": "2013-09-01T00:00:00",
                "timezone": "Europe/Brussels",
            },
        },
        "batch": {"interval": "1m"},
        "message": {"per": "batch"},
    },
    # Mobile-money transfers; `step` counts hours of the simulation. One message
    # per transfer keyed by the paying account; the step itself is kept.
    "paysim_sample.csv": {
        "name": "paysim-transfers",
        "source": {
            "timestamp": {
                "column": "step",
                "format": "elapsed_h",
                "origin": "2024-01-01T00:00:00",
                "timezone": "UTC",
            },
        },
        "batch": {"interval": "1h"},
        "message": {
            "per": "record",
            "key": "nameOrig",
            "timestamp_field": "event_time",
        },
    },
    # One customer's card transactions, dated in four columns, keyed by card.
    "tabformer_user0.csv": {
        "name": "tabformer-card-transactions",
        "source": {
            "timestamp": {
                "column": ["Year", "Month", "Day", "Time"],
                "separator": " ",
                "format": "%Y %m %d %H:%M",
                "timezone": "America/Los_Angeles",
            },
        },
        "batch": {"interval": "1m"},
        "message": {"per": "record", "key": "Card"},
    },
    # Taxi trips in New York local time; the month holds the spring DST change.
    "nyc_taxi_trips_2019_03.csv": {
        "name": "nyc-taxi-trips",
        "source": {
            "timestamp": {
                "column": "tpep_pickup_datetime",
                "format": "%Y-%m-%d %H:%M:%S",
                "timezone": "America/New_York",
            },
        },
        "batch": {"interval": "1m"},
        "message": {"per": "batch"},
    },
    # Minute readings of a house near Paris; the copy ends in a cut row.
    "household_power_head.csv": {
        "name": "household-power",
        "source": {
            "delimiter": ";",
            "null_values": ["?"],
            "on_bad_row": "skip",
            "timestamp": {
                "column": ["Date", "Time"],
                "separator": " ",
                "format": "%d/%m/%Y %H:%M:%S",
                "timezone": "Europe/Paris",
            },
        },
        "batch": {"interval": "15m"},
        "message": {"per": "batch"},
    },
    # One-minute candles; the opening time stays a number, the instant is added.
    "binance_nearusdt_1m_2025_02.csv": {
        "name": "binance-nearusdt-candles",
        "source": {"timestamp": {"column": "open_time", "format": "epoch_ms"}},
        "batch": {"interval": "1h"},
        "message": {"per": "batch", "timestamp_field": "event_time"},
    },
    # A month of earthquakes, newest first, one message per event keyed by network.
    "usgs_earthquakes_month.csv": {
        "name": "usgs-earthquakes",
        "source": {"timestamp": {"column": "time", "format": "iso8601"}},
        "batch": {"interval": "1m"},
        "message": {"per": "record", "key": "net"},
    },
    # Invoice lines of a UK shop, shuffled; R wrote NA for a missing customer
    # and an unnamed first column of row numbers, which is left out.
    "online_retail_r_sample.csv": {
        "name": "online-retail-invoices",
        "source": {
            "null_values": ["NA"],
            "timestamp": {
                "column": "InvoiceDate",
                "format": "%m/%d/%Y %H:%M",
                "timezone": "Europe/London",
            },
        },
        "batch": {"interval": "1m"},
        "message": {
            "per": "batch",
            "columns": [
                "InvoiceNo",
                "StockCode",
                "Description",
                "Quantity",
                "InvoiceDate",
                "UnitPrice",
                "CustomerID",
                "Country",
            ],
        },
    },
}

FILES = tuple(_SCENARIOS)
"""The recordings' file names, in a stable order for parametrised tests."""


def recording_scenario(file: str, bootstrap: str, topic: str) -> dict[str, Any]:
    """The scenario that replays `file` at full speed to `topic`."""
    scenario = copy.deepcopy(_SCENARIOS[file])
    scenario["source"]["path"] = str(DATA / file)
    scenario["kafka"] = {"bootstrap_servers": bootstrap, "topic": topic}
    scenario["replay"] = {"delay": 0}
    scenario["telemetry"] = {"metrics_port": 0}
    return scenario
