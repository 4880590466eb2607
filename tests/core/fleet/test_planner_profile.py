"""A plan as the charger gets it (an Absolute TxProfile), and when a re-plan may reach a charger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wattcap.core.fleet.planner import (
    PlanningError,
    PlanningWindow,
    PlanSlot,
    ReplanGate,
    ReplanTrigger,
    SessionPlan,
    plan_exceeds,
    plan_periods,
    plan_profile,
    profile_start,
)
from wattcap.core.fleet.planner_profile import evse_plan_profile
from wattcap.core.model import ChargingProfileKind, ChargingProfilePurpose, ChargingRateUnit
from wattcap.core.sitecap.model import EvseSpec
from wattcap.core.sitecap.profiles import BACKDATE_S
from wattcap.core.station import CurrentType

NIGHT = datetime(2026, 11, 25, 22, tzinfo=UTC)
Q = timedelta(minutes=15)


def plan_of(*powers: float, first: datetime = NIGHT, last_end: datetime | None = None) -> SessionPlan:
    slots = []
    for i, p in enumerate(powers):
        start = first if i == 0 else NIGHT + i * Q
        end = NIGHT + (i + 1) * Q
        if i == len(powers) - 1 and last_end is not None:
            end = last_end
        slots.append(PlanSlot(start, end, p))
    return SessionPlan(("CP", 1), tuple(slots), 0.0, 0.0, True)


def limits(periods) -> list[tuple[int, float]]:
    return [(p.start_period, p.limit) for p in periods]


def test_equal_neighbours_merge_and_a_pause_is_zero():
    plan = plan_of(11_040, 11_040, 0, 0, 4_140, 11_040)
    periods = plan_periods(plan, NIGHT, unit=ChargingRateUnit.A, voltage_v=230, phases=3)
    assert limits(periods) == [(0, 16.0), (1800, 0.0), (3600, 6.0), (4500, 16.0)]
    assert all(p.number_phases == 3 for p in periods)


def test_limits_are_floored_to_the_wire_and_the_step_never_rounded_up():
    plan = plan_of(8_160, 5_400.9)
    amps = plan_periods(plan, NIGHT, unit=ChargingRateUnit.A, voltage_v=230, phases=3)
    assert limits(amps) == [(0, 11.8), (900, 7.8)]  # 11.826… A, 7.827… A
    whole_amps = plan_periods(plan, NIGHT, unit=ChargingRateUnit.A, voltage_v=230, phases=3, step=1.0)
    assert limits(whole_amps) == [(0, 11.0), (900, 7.0)]
    watts = plan_periods(plan, NIGHT, unit=ChargingRateUnit.W, phases=None)
    assert limits(watts) == [(0, 8160.0), (900, 5400.0)]
    assert watts[0].number_phases is None
    hundreds = plan_periods(plan, NIGHT, unit=ChargingRateUnit.W, phases=3, step=100)
    assert limits(hundreds) == [(0, 8100.0), (900, 5400.0)]


def test_a_limit_that_floors_below_the_minimum_is_a_pause():
    plan = plan_of(4_140, 11_040)  # 6.0 A at 230 V, but 5.75 A at 240 V
    periods = plan_periods(plan, NIGHT, unit=ChargingRateUnit.A, voltage_v=240, phases=3, min_limit=6.0)
    assert limits(periods) == [(0, 0.0), (900, 15.3)]


def test_the_first_period_starts_at_zero_and_past_slots_are_left_out():
    plan = plan_of(7_000, 9_000, 4_140)
    backdated = plan_periods(plan, NIGHT - timedelta(seconds=60), unit=ChargingRateUnit.W, phases=3)
    assert limits(backdated) == [(0, 7000.0), (960, 9000.0), (1860, 4140.0)]
    later = plan_periods(plan, NIGHT + timedelta(minutes=20), unit=ChargingRateUnit.W, phases=3)
    assert limits(later) == [(0, 9000.0), (600, 4140.0)]
    assert limits(plan_periods(plan_of(), NIGHT, unit=ChargingRateUnit.W, phases=3)) == [(0, 0.0)]


def test_a_boundary_off_the_second_keeps_the_lower_limit_longer():
    start = NIGHT + timedelta(milliseconds=400)  # a start that is not a whole second before the slots
    plan = plan_of(7_000, 9_000, 4_140)
    assert limits(plan_periods(plan, start, unit=ChargingRateUnit.W, phases=3)) == [
        (0, 7000.0), (900, 9000.0), (1799, 4140.0),  # up at 899.6 s → 900; down at 1799.6 s → 1799
    ]


def test_plan_profile_is_an_absolute_tx_profile_ending_with_its_lease():
    plan = plan_of(11_040, 0, 4_140, last_end=NIGHT + 2 * Q + timedelta(minutes=10))
    start = profile_start(NIGHT + timedelta(seconds=30.5))
    assert start == NIGHT - timedelta(seconds=BACKDATE_S - 30)
    lease = NIGHT + timedelta(minutes=5)
    profile = plan_profile(plan, transaction_id="tx-1", start=start, lease_until=lease, unit=ChargingRateUnit.A,
                           voltage_v=230, phases=3)
    assert profile.purpose is ChargingProfilePurpose.TX and profile.kind is ChargingProfileKind.ABSOLUTE
    assert profile.transaction_id == "tx-1" and profile.valid_to == lease
    (schedule,) = profile.schedules
    assert schedule.start_schedule == start and schedule.charging_rate_unit is ChargingRateUnit.A
    assert limits(schedule.periods) == [(0, 16.0), (930, 0.0), (1830, 6.0)]
    assert schedule.duration == 30 + 40 * 60  # to the departure, after which the limits below apply


def test_evse_plan_profile_uses_the_evses_unit_step_and_minimum():
    plan = plan_of(11_040, 7_000)
    ac = EvseSpec("CP", 1, "grid", step_a=1.0)
    profile = evse_plan_profile(plan, ac, (ChargingRateUnit.A, ChargingRateUnit.W), transaction_id="t",
                                now=NIGHT, lease_until=None)
    assert limits(profile.schedules[0].periods) == [(0, 16.0), (960, 10.0)]
    dc = EvseSpec("CP", 2, "grid", current_type=CurrentType.DC, max_power_w=50_000, step_w=100)
    profile = evse_plan_profile(plan, dc, (ChargingRateUnit.A, ChargingRateUnit.W), transaction_id="t",
                                now=NIGHT, lease_until=None)
    periods = profile.schedules[0].periods
    assert profile.schedules[0].charging_rate_unit is ChargingRateUnit.W
    assert limits(periods) == [(0, 11000.0), (960, 7000.0)] and periods[0].number_phases is None


def test_a_limit_in_amps_needs_phases():
    with pytest.raises(PlanningError, match="phases"):
        plan_periods(plan_of(1_000), NIGHT, unit=ChargingRateUnit.A, phases=None)


# --- re-planning --------------------------------------------------------------------------------------------------

def test_replans_reach_a_charger_at_most_once_per_interval():
    gate = ReplanGate(min_interval_s=300)
    first = gate.admit("CP1", NIGHT, ReplanTrigger.PRICES)
    assert first.allowed
    held = first.gate.admit("CP1", NIGHT + timedelta(seconds=120), ReplanTrigger.MEASURED_DRAW)
    assert not held.allowed and held.retry_at == NIGHT + timedelta(seconds=300)
    assert held.gate is first.gate
    other = first.gate.admit("CP2", NIGHT + timedelta(seconds=120), ReplanTrigger.FORECAST)
    assert other.allowed  # per charger
    later = first.gate.admit("CP1", NIGHT + timedelta(seconds=300), ReplanTrigger.SESSION_CHANGE)
    assert later.allowed and later.gate.last["CP1"] == NIGHT + timedelta(seconds=300)
    assert gate.last == {}  # a gate is a value


@pytest.mark.parametrize("trigger", [ReplanTrigger.CAP_BELOW_PLAN, ReplanTrigger.GOAL_CHANGED])
def test_a_must_goes_through_at_once(trigger):
    gate = ReplanGate(min_interval_s=300).admit("CP1", NIGHT).gate
    decision = gate.admit("CP1", NIGHT + timedelta(seconds=5), trigger)
    assert decision.allowed and decision.gate.last["CP1"] == NIGHT + timedelta(seconds=5)


def test_a_forgotten_charger_starts_fresh():
    gate = ReplanGate(min_interval_s=300).admit("CP1", NIGHT).gate.forget("CP1")
    assert gate.admit("CP1", NIGHT + timedelta(seconds=1)).allowed


def test_plan_exceeds_says_when_the_cap_fell_below_the_plan():
    plan = plan_of(11_000, 11_000, 11_000, 11_000)
    window = PlanningWindow(NIGHT, (22_000.0, 22_000.0, 8_000.0, 22_000.0))
    assert plan_exceeds([plan], window, NIGHT)
    assert not plan_exceeds([plan], window, NIGHT + 3 * Q)  # the dip is over
    assert not plan_exceeds([plan], PlanningWindow(NIGHT, (11_000.0,) * 4), NIGHT)
