"""The dry run: what a replay would send and how long it would take, sending nothing."""

from dataclasses import dataclass

import numpy as np

from runner import source, timestamps
from runner.batching import batches
from runner.durations import format_duration
from runner.encode import Encoder, Message
from runner.scenario import Scenario
from runner.source import Recording


@dataclass(frozen=True)
class Plan:
    """What one play of the recording sends, and the wall time it needs."""

    scenario: Scenario
    recording: Recording
    messages: int
    largest_batch_records: int
    largest_message_bytes: int
    total_bytes: int
    wall_s_per_loop: float
    first: list[Message]

    def render(self) -> str:
        scenario, recording = self.scenario, self.recording
        skipped = sum(recording.skipped.values())
        per = (
            "one JSON array per batch"
            if scenario.message.per == "batch"
            else ("one JSON object per record")
        )
        loops = scenario.replay.loop
        lines = [
            f"plan: scenario {scenario.name} -> topic {scenario.kafka.topic} "
            f"at {scenario.kafka.bootstrap_servers}",
            f"  records    {recording.selected} selected of {recording.rows_read} "
            f"read (skipped {skipped})",
            f"  batches    {recording.batches} (largest {self.largest_batch_records} "
            f"records)",
            f"  messages   {self.messages}, {per}; largest "
            f"{self.largest_message_bytes} bytes, total {self.total_bytes} bytes",
            f"  data time  {_instant(recording.first_ns, recording)} .. "
            f"{_instant(recording.last_ns, recording)} (span "
            f"{format_duration(recording.span_ns / 1e9)})",
            f"  wall time  {format_duration(self.wall_s_per_loop)} per loop, "
            f"loops {loops}",
        ]
        return "\n".join(lines)


def make(scenario: Scenario, recording: Recording, show: int = 0) -> Plan:
    """Encode every batch as the replay would, keeping the first `show` messages."""
    layout = recording.layout
    encoder = Encoder(layout.fields, scenario.message.per, layout.timestamp_index)
    replay = scenario.replay

    messages = total = largest_bytes = largest_records = 0
    wall = 0.0
    previous_ns: int | None = None
    first: list[Message] = []
    for batch in batches(source.read(recording, scenario), recording.interval_ns):
        encoded = encoder.encode(batch)
        messages += len(encoded)
        largest_records = max(largest_records, len(batch))
        for message in encoded:
            total += len(message.value)
            largest_bytes = max(largest_bytes, len(message.value))
            if len(first) < show:
                first.append(message)
        if previous_ns is not None:
            wall += _gap_s(batch.start_ns - previous_ns, scenario)
        previous_ns = batch.start_ns

    stages = replay.paces
    if replay.stages:
        # The run ends with its last stage, or earlier when the data runs out.
        wall = sum(stage.duration for stage in stages)
    elif replay.rate is not None:
        wall = recording.selected / replay.rate
    elif replay.pace_delay is not None:
        wall = max(recording.batches - 1, 0) * replay.pace_delay
    return Plan(
        scenario=scenario,
        recording=recording,
        messages=messages,
        largest_batch_records=largest_records,
        largest_message_bytes=largest_bytes,
        total_bytes=total,
        wall_s_per_loop=wall,
        first=first,
    )


def _gap_s(gap_ns: int, scenario: Scenario) -> float:
    replay = scenario.replay
    wait = gap_ns / 1e9 / (replay.speed or 1.0)
    if replay.max_gap is not None:
        wait = min(wait, replay.max_gap)
    return wait


def _instant(nanoseconds: int | None, recording: Recording) -> str:
    if nanoseconds is None:
        return "-"
    # Written as the messages write it: the zone's offset, the column's precision.
    moment = np.array([nanoseconds], dtype=np.int64)
    return timestamps.to_iso(moment, recording.tz, recording.unit)[0]
