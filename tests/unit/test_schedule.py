"""Deadlines are absolute: pure arithmetic on the start, the position and data time."""

from datetime import UTC, datetime
from typing import Any

import pytest

from runner.scenario import Replay
from runner.schedule import Schedule

START = 1000.0
SECOND_NS = 1_000_000_000


def schedule(**replay: Any) -> Schedule:
    return Schedule(Replay.model_validate(replay), START)


def due(plan: Schedule, position: int, data_ns: int) -> float:
    """A deadline that must exist: the open-ended stage never ends."""
    deadline = plan.due(position, data_ns)
    assert deadline is not None
    return deadline


def ns(text: str) -> int:
    moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return int(moment.timestamp()) * SECOND_NS


def test_delay_mode_spaces_batches_by_position_whatever_their_data_time() -> None:
    plan = schedule(delay=0.5)

    dues = [plan.due(i, data) for i, data in enumerate([0, 7 * SECOND_NS, 1, 10**18])]

    assert dues == pytest.approx([1000.0, 1000.5, 1001.0, 1001.5])


def test_without_a_pace_the_delay_is_a_tenth_of_a_second() -> None:
    plan = schedule()

    assert plan.due(0, 0) == pytest.approx(START)
    assert plan.due(30, 0) == pytest.approx(START + 3.0)


def test_delay_zero_makes_every_batch_due_at_the_start() -> None:
    plan = schedule(delay=0)

    assert {plan.due(i, i * SECOND_NS) for i in range(100)} == {START}


def test_speed_mode_divides_the_recorded_gaps() -> None:
    plan = schedule(speed=10)
    first = ns("2024-05-06T10:00:00")

    dues = [plan.due(i, first + s * SECOND_NS) for i, s in enumerate([0, 10, 60, 61])]

    assert dues == pytest.approx([1000.0, 1001.0, 1006.0, 1006.1])


def test_speed_mode_is_anchored_on_the_first_batch_not_on_the_epoch() -> None:
    plan = schedule(speed=1)

    assert plan.due(0, ns("2024-05-06T10:00:00")) == pytest.approx(START)
    assert plan.due(1, ns("2024-05-06T10:00:30")) == pytest.approx(START + 30)


def test_deadline_600_is_computed_not_accumulated() -> None:
    # 600 rows one second apart at speed 10: the last is due 59.9 s after the
    # first, exactly, however many deadlines were computed on the way.
    plan = schedule(speed=10)
    first = ns("2024-05-06T10:00:00")

    dues = [due(plan, i, first + i * SECOND_NS) for i in range(600)]

    assert dues[-1] - dues[0] == pytest.approx(59.9, abs=1e-9)
    assert dues[100] - dues[0] == pytest.approx(10.0, abs=1e-9)


def test_max_gap_cuts_a_long_idle_gap_and_keeps_the_spacing_after_it() -> None:
    # Friday evening to Monday morning at speed 10 would be a wait of 6 h 13 min.
    plan = schedule(speed=10, max_gap=60)
    friday = ns("2024-05-03T17:59:00")
    monday = ns("2024-05-06T08:00:00")

    dues = [
        plan.due(0, friday),
        plan.due(1, monday),
        plan.due(2, monday + 60 * SECOND_NS),
    ]

    assert dues == pytest.approx([1000.0, 1060.0, 1066.0])


def test_without_max_gap_the_long_gap_is_kept() -> None:
    plan = schedule(speed=10)
    friday = ns("2024-05-03T17:59:00")
    monday = ns("2024-05-06T08:00:00")

    plan.due(0, friday)

    assert due(plan, 1, monday) - START == pytest.approx((monday - friday) / 1e10)
    assert due(plan, 1, monday) - START > 6 * 3600


def test_max_gap_is_in_wall_time_after_the_speed() -> None:
    # A 100 s recorded gap at speed 10 is a 10 s wait: under a max_gap of 20 s.
    plan = schedule(speed=10, max_gap="20s")

    plan.due(0, 0)

    assert plan.due(1, 100 * SECOND_NS) == pytest.approx(START + 10)
    assert plan.due(2, 1000 * SECOND_NS) == pytest.approx(START + 10 + 20)


def test_max_gap_cuts_add_up_over_several_gaps() -> None:
    plan = schedule(speed=1, max_gap=5)

    dues = [plan.due(i, s * SECOND_NS) for i, s in enumerate([0, 100, 101, 300])]

    assert dues == pytest.approx([1000.0, 1005.0, 1006.0, 1011.0])


def test_max_gap_does_not_change_delay_mode() -> None:
    plan = schedule(delay=2, max_gap=1)

    assert plan.due(3, 0) == pytest.approx(START + 6)


def test_shift_after_a_pause_moves_every_later_deadline_by_its_length() -> None:
    plan = schedule(speed=1)
    before = [plan.due(i, i * SECOND_NS) for i in range(3)]

    plan.shift(20.0)
    after = [plan.due(i, i * SECOND_NS) for i in range(3, 6)]

    assert before == pytest.approx([1000.0, 1001.0, 1002.0])
    # The spacing is kept: no burst of overdue batches after the resume.
    assert after == pytest.approx([1023.0, 1024.0, 1025.0])


def test_shifts_add_up_in_delay_mode() -> None:
    plan = schedule(delay=1)

    plan.shift(5.0)
    plan.shift(2.5)

    assert plan.due(4, 0) == pytest.approx(START + 4 + 7.5)


def test_rate_mode_spaces_batches_by_the_records_before_them() -> None:
    plan = schedule(rate=100)

    dues = [plan.due(i, i * SECOND_NS, before) for i, before in enumerate([0, 50, 60])]

    assert dues == pytest.approx([START, START + 0.5, START + 0.6])
    assert plan.record_due(75) == pytest.approx(START + 0.75)


def test_record_due_is_none_outside_a_rate_stage() -> None:
    assert schedule(delay=1).record_due(10) is None
    assert schedule(speed=2).record_due(10) is None


def test_stages_follow_each_other_and_end_the_run() -> None:
    plan = schedule(
        stages=[
            {"duration": "2s", "rate": 10},
            {"duration": "1s", "delay": "250ms"},
        ]
    )

    # 10 records a second for 2 s: the record before 20 opens the next stage.
    first = [plan.due(i, 0, before) for i, before in enumerate([0, 10, 19])]
    second = [plan.due(3 + i, 0, 20 + i) for i in range(4)]
    after = plan.due(7, 0, 24)

    assert first == pytest.approx([START, START + 1.0, START + 1.9])
    assert second == pytest.approx(
        [START + 2.0, START + 2.25, START + 2.5, START + 2.75]
    )
    assert after is None


def test_a_batch_past_its_stage_goes_out_at_the_next_stage_start() -> None:
    plan = schedule(
        stages=[{"duration": "1s", "rate": 10}, {"duration": "1s", "speed": 1}]
    )

    assert plan.due(0, 0, 0) == pytest.approx(START)
    # 30 records at 10/s would be due at 3 s: the second stage starts at 1 s.
    assert plan.due(1, 5 * SECOND_NS, 30) == pytest.approx(START + 1.0)
    assert plan.due(2, 5 * SECOND_NS + SECOND_NS // 2, 31) == pytest.approx(START + 1.5)
    assert plan.due(3, 7 * SECOND_NS, 32) is None


def test_a_pause_shifts_rate_deadlines_too() -> None:
    plan = schedule(rate=10)
    plan.due(0, 0, 0)

    plan.shift(5.0)

    assert plan.due(1, 0, 10) == pytest.approx(START + 6.0)
    assert plan.record_due(15) == pytest.approx(START + 6.5)
