"""Properties of every plan: for random inputs that admit a plan, every goal is met, the site's capacity holds in
every slot, every power is 0 or within the session's bounds, and nothing is planned outside its window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattcap.core.fleet.planner import (
    FEASIBLE_TOLERANCE_WH,
    PlanningWindow,
    SessionGoal,
    Strategy,
    fixed_load,
    plan_sessions,
)

START = datetime(2026, 11, 25, 18, tzinfo=UTC)
SLOT_S = 900


@st.composite
def feasible_cases(draw):
    """A window and goals built around a witness plan: each session's power per usable slot is drawn first (0 or
    within its bounds), the capacity is at least their sum, and each need is at most what the witness delivers."""
    n_slots = draw(st.integers(2, 12))
    n_sessions = draw(st.integers(1, 4))
    now_offset = draw(st.integers(0, SLOT_S - 1))  # now within the first slot
    now = START + timedelta(seconds=now_offset)
    with_prices = draw(st.booleans())
    with_solar = draw(st.booleans())
    goals = []
    witness_load = [0.0] * n_slots
    for i in range(n_sessions):
        max_w = float(draw(st.integers(1_380, 22_000)))
        min_w = float(draw(st.sampled_from([0, 1_380, 4_140]))) if max_w >= 4_140 else 0.0
        first = draw(st.integers(0, n_slots - 1))
        arrival = START + timedelta(seconds=first * SLOT_S + draw(st.integers(0, SLOT_S - 1)))
        last = draw(st.integers(first, n_slots - 1))
        departure = START + timedelta(seconds=last * SLOT_S + draw(st.integers(1, SLOT_S)))
        begin = max(arrival, now)
        if departure <= begin:
            departure = begin + timedelta(seconds=60)
        efficiency = draw(st.sampled_from([1.0, 0.9]))
        energy = 0.0
        for t in range(n_slots):
            lo = max(START + timedelta(seconds=t * SLOT_S), begin)
            hi = min(START + timedelta(seconds=(t + 1) * SLOT_S), departure)
            if hi <= lo:
                continue
            power = draw(st.sampled_from([0.0, min_w or 1.0, max_w, (min_w + max_w) / 2]))
            witness_load[t] += power
            energy += power * efficiency * (hi - lo).total_seconds() / 3600
        need = energy * draw(st.floats(0.0, 1.0))
        strategy = draw(st.sampled_from(list(Strategy)))
        goals.append(SessionGoal((f"CP{i}", 1), departure, need, max_w, min_w, available_from=arrival,
                                 strategy=strategy, priority=draw(st.sampled_from([0, 10])), efficiency=efficiency))
    capacity = tuple(w + draw(st.sampled_from([0.0, 500.0, 5_000.0])) for w in witness_load)
    prices = tuple(draw(st.floats(-0.1, 0.5)) for _ in range(n_slots)) if with_prices else None
    solar = tuple(draw(st.floats(0, 10_000)) for _ in range(n_slots)) if with_solar else None
    return goals, PlanningWindow(START, capacity, price_per_kwh=prices, solar_surplus_w=solar), now


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feasible_cases())
def test_a_feasible_case_gets_a_plan_that_meets_every_goal_within_every_limit(case):
    goals, window, now = case
    plan = plan_sessions(goals, window, now=now)
    assert len(plan.plans) == len(goals)
    for goal, result in zip(goals, plan.plans, strict=True):
        assert result.key == goal.key
        assert result.feasible, (goal, result)
        assert result.energy_wh >= goal.energy_wh - FEASIBLE_TOLERANCE_WH
        energy = sum(s.power_w * goal.efficiency * (s.end - s.start).total_seconds() / 3600 for s in result.slots)
        assert abs(energy - result.energy_wh) < 1e-6 * max(1.0, energy)
        for slot in result.slots:
            assert slot.power_w == 0 or goal.min_power_w - 1e-6 <= slot.power_w <= goal.max_power_w + 1e-6
            assert slot.start >= max(now, goal.available_from) and slot.end <= goal.departure
    load = fixed_load(plan.plans, window)
    for drawn, cap in zip(load, window.capacity_w, strict=True):
        assert drawn <= cap + 1e-6


@st.composite
def any_cases(draw):
    """Goals that may not fit: random needs, a random (possibly zero) capacity."""
    goals, window, now = draw(feasible_cases())
    goals = [
        SessionGoal(g.key, g.departure, draw(st.floats(0, 80_000)), g.max_power_w, g.min_power_w,
                    g.available_from, g.strategy, g.priority, g.efficiency)
        for g in goals
    ]
    capacity = tuple(draw(st.sampled_from([0.0, 3_000.0, 11_000.0, 30_000.0])) for _ in window.capacity_w)
    return goals, PlanningWindow(window.start, capacity, window.price_per_kwh, window.solar_surplus_w), now


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_cases())
def test_any_case_gets_a_plan_within_every_limit_and_an_exact_shortfall(case):
    goals, window, now = case
    plan = plan_sessions(goals, window, now=now)
    for goal, result in zip(goals, plan.plans, strict=True):
        missing = goal.energy_wh - result.energy_wh - result.deferred_wh
        if result.feasible:
            assert missing <= FEASIBLE_TOLERANCE_WH and result.shortfall_wh == 0
        else:
            assert result.shortfall_wh == missing > FEASIBLE_TOLERANCE_WH
        for slot in result.slots:
            assert slot.power_w == 0 or goal.min_power_w - 1e-6 <= slot.power_w <= goal.max_power_w + 1e-6
    load = fixed_load(plan.plans, window)
    for drawn, cap in zip(load, window.capacity_w, strict=True):
        assert drawn <= cap + 1e-6
