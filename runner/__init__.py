"""scenario-run: replay recorded CSV feeds into Apache Kafka as if happening now."""

__version__ = "0.1.0"
