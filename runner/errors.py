"""The exception tree of scenario-run; the CLI maps each branch to an exit code.

ScenarioRunError
├── ScenarioError      the scenario, its template or the CSV is wrong (exit 2)
│   └── SourceError    a cell or header of the CSV cannot be used
├── BrokerError        Kafka cannot be reached or refuses the topic (exit 3)
└── TelemetryError     the metrics endpoint cannot be served (exit 3)
"""

from collections.abc import Sequence


class ScenarioRunError(Exception):
    """Base of every error the runner reports without a traceback."""


class ScenarioError(ScenarioRunError):
    """One or more located problems in a scenario, each one line of text."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class SourceError(ScenarioError):
    """A problem in the CSV recording: file, line, column and the raw value."""


class BrokerError(ScenarioRunError):
    """Kafka could not be reached, or refused to create or describe the topic."""


class TelemetryError(ScenarioRunError):
    """A telemetry endpoint could not be started (for example, port in use)."""
