"""The scenario format as documents: its JSON Schema, and a scenario as YAML.

python -m runner.schema > schemas/scenario.schema.json
"""

import json
import re
from typing import Any

import yaml

from runner.scenario import Scenario

_SECRET_NAME = re.compile(
    r"password|secret|token|(^|\.)key$|pem|jaas|oauthbearer\.config", re.IGNORECASE
)
MASK = "********"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file, generated from the models."""
    schema = Scenario.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "scenario-run scenario",
        **schema,
    }


def schema_text() -> str:
    """The schema as the committed file holds it."""
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"


def render(scenario: Scenario) -> str:
    """The scenario with every default filled in and secrets masked, as YAML."""
    data = scenario.model_dump(mode="json")
    config = data["kafka"]["config"]
    for name in config:
        # librdkafka names its secrets sasl.password, ssl.key.password,
        # sasl.oauthbearer.client.secret and the like.
        if _SECRET_NAME.search(name):
            config[name] = MASK
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


if __name__ == "__main__":
    print(schema_text(), end="")
