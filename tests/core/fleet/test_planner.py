"""The charging planner as a specification: what a plan looks like for the situations a depot meets."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from wattcap.core.fleet.planner import (
    PlanningError,
    PlanningWindow,
    SessionGoal,
    SessionPlan,
    SitePlan,
    Strategy,
    ev_capacity,
    fixed_load,
    plan_sessions,
    slot_values,
)

NIGHT = datetime(2026, 11, 25, 22, tzinfo=UTC)
MIN_3PH = 6 * 230 * 3  # 4140 W: an AC EV on three phases charges at 6 A or not at all
MAX_3PH = 16 * 230 * 3  # 11040 W
SLOT_H = 0.25


def at(hours: float) -> datetime:
    return NIGHT + timedelta(hours=hours)


def hours_of(slot_index: int) -> float:
    return slot_index * SLOT_H


def assert_capacity_holds(plan: SitePlan, window: PlanningWindow, fixed: tuple[float, ...] | None = None) -> None:
    load = fixed_load(plan.plans, window)
    for t, drawn in enumerate(load):
        reserved = fixed[t] if fixed else 0.0
        assert drawn + reserved <= window.capacity_w[t] + 1e-3, f"slot {t}: {drawn} + {reserved} W"


def assert_min_or_pause(plan: SessionPlan, goal: SessionGoal) -> None:
    for slot in plan.slots:
        assert slot.power_w == 0 or goal.min_power_w - 1e-6 <= slot.power_w <= goal.max_power_w + 1e-6, slot


def powers(plan: SessionPlan) -> list[float]:
    return [slot.power_w for slot in plan.slots]


# --- the depot night ------------------------------------------------------------------------------------

#: 22:00–02:00 cheap, 02:00–04:00 dear, 04:00–05:00 normal, in quarter hours.
DEPOT_PRICES = (0.10,) * 16 + (0.40,) * 8 + (0.25,) * 4


def depot_window() -> PlanningWindow:
    cap = (40_000.0,) * 28  # the grid connection, W
    building = (10_000.0,) * 28  # the building's forecast at night
    return PlanningWindow(NIGHT, ev_capacity(cap, building), price_per_kwh=DEPOT_PRICES)


def depot_goals() -> list[SessionGoal]:
    van = SessionGoal(("VAN", 1), departure=at(7), energy_wh=60_000, max_power_w=MAX_3PH, min_power_w=MIN_3PH)
    car = SessionGoal(("CAR", 1), departure=at(6), energy_wh=40_000, max_power_w=MAX_3PH, min_power_w=MIN_3PH)
    late = SessionGoal(("LATE", 1), departure=at(5), energy_wh=30_000, max_power_w=22_000, min_power_w=MIN_3PH,
                       available_from=at(37 / 60))
    return [van, car, late]


def test_depot_van_charges_hard_while_cheap_eases_while_dear_and_boosts_before_departure():
    window = depot_window()
    plan = plan_sessions(depot_goals(), window)
    van = plan.plan_for(("VAN", 1))
    p = powers(van)
    cheap, dear, normal = p[:16], p[16:24], p[24:]
    assert cheap == [MAX_3PH] * 16
    assert normal == [MAX_3PH] * 4
    assert all(x < MAX_3PH for x in dear)
    # What the cheap and normal hours cannot take at full power, and no more, is bought at the dear price.
    assert sum(dear) * SLOT_H == pytest.approx(60_000 - 20 * MAX_3PH * SLOT_H, abs=0.5)
    assert van.feasible and van.shortfall_wh == 0
    assert van.energy_wh == pytest.approx(60_000, abs=0.5)
    assert van.cost == pytest.approx(16 * 11.04 * 0.25 * 0.10 + 4.8 * 0.40 + 4 * 11.04 * 0.25 * 0.25, abs=1e-3)
    assert all(other.feasible for other in plan.plans)
    assert_capacity_holds(plan, window)
    print(f"\ndepot night, 3 sessions × 28 slots: {plan.solve_seconds * 1000:.1f} ms, {plan.status}")


def test_a_session_planned_alone_fits_next_to_the_others_plans_held_fixed():
    window = depot_window()
    van, *others = depot_goals()
    others_plan = plan_sessions(others, window)
    reserved = others_plan.load_w(window)
    van_plan = plan_sessions([van], window, fixed_load_w=reserved).plan_for(van.key)
    assert van_plan.feasible
    assert_capacity_holds(SitePlan((*others_plan.plans, van_plan), 0.0, ""), window)


def test_a_session_arriving_mid_slot_charges_only_for_the_rest_of_that_slot():
    window = depot_window()
    plan = plan_sessions(depot_goals(), window).plan_for(("LATE", 1))
    first = plan.slots[0]
    assert first.start == at(37 / 60) and first.end == at(0.75)
    total = sum(s.power_w * (s.end - s.start).total_seconds() / 3600 for s in plan.slots)
    assert plan.energy_wh == pytest.approx(total)


# --- goals that cannot be met -----------------------------------------------------------------------------------

def test_an_infeasible_goal_reports_the_shortfall_and_the_best_plan_is_full_power():
    window = PlanningWindow(NIGHT, (50_000.0,) * 8, price_per_kwh=(0.3,) * 8)
    now = at(5 / 60)  # mid-slot
    goal = SessionGoal(("CP", 1), departure=at(70 / 60), energy_wh=10_000, max_power_w=7_400, min_power_w=1_380)
    plan = plan_sessions([goal], window, now=now)
    result = plan.plan_for(goal.key)
    deliverable = 7_400 * (65 / 60)  # 22:05 → 23:10
    assert not result.feasible
    assert result.shortfall_wh == pytest.approx(10_000 - deliverable, abs=0.01)
    assert powers(result) == [7_400] * 5
    assert result.slots[0].start == now and result.slots[-1].end == goal.departure
    assert result.energy_wh == pytest.approx(deliverable, abs=0.01)


def test_when_not_every_goal_fits_the_higher_priority_goal_is_met_first():
    window = PlanningWindow(NIGHT, (11_040.0,) * 4)
    low = SessionGoal(("LOW", 1), departure=at(1), energy_wh=8_000, max_power_w=MAX_3PH, min_power_w=MIN_3PH)
    high = SessionGoal(("HIGH", 1), departure=at(1), energy_wh=8_000, max_power_w=MAX_3PH, min_power_w=MIN_3PH,
                       priority=10)
    plan = plan_sessions([low, high], window)
    assert plan.plan_for(high.key).feasible
    assert plan.plan_for(low.key).shortfall_wh == pytest.approx(16_000 - 11_040, abs=0.5)


def test_efficiency_counts_energy_into_the_battery():
    window = PlanningWindow(NIGHT, (20_000.0,) * 4)
    goal = SessionGoal(("CP", 1), departure=at(1), energy_wh=9_000, max_power_w=10_000, efficiency=0.9)
    result = plan_sessions([goal], window).plan_for(goal.key)
    assert result.feasible
    assert sum(powers(result)) * SLOT_H == pytest.approx(10_000, abs=0.5)  # 10 kWh drawn for 9 kWh stored


def test_a_departure_beyond_the_window_defers_what_the_window_cannot_take():
    window = PlanningWindow(NIGHT, (11_000.0,) * 4, price_per_kwh=(0.2,) * 4)
    goal = SessionGoal(("CP", 1), departure=at(3), energy_wh=15_000, max_power_w=11_000)
    result = plan_sessions([goal], window).plan_for(goal.key)
    assert powers(result) == [11_000] * 4
    assert result.feasible and result.deferred_wh == pytest.approx(4_000, abs=0.5)


def test_a_goal_with_nothing_to_deliver_or_already_gone_is_planned_at_zero():
    window = PlanningWindow(NIGHT, (11_000.0,) * 4)
    done = SessionGoal(("DONE", 1), departure=at(1), energy_wh=0, max_power_w=11_000)
    gone = SessionGoal(("GONE", 1), departure=at(-1), energy_wh=5_000, max_power_w=11_000)
    plan = plan_sessions([done, gone], window)
    assert plan.plan_for(done.key).feasible and plan.plan_for(done.key).energy_wh == 0
    assert plan.plan_for(gone.key).slots == () and plan.plan_for(gone.key).shortfall_wh == 5_000


# --- strategies -------------------------------------------------------------------------------------------------

def test_replanning_on_a_new_price_series_moves_energy_to_the_new_cheap_slots():
    first = PlanningWindow(NIGHT, (22_000.0,) * 16, price_per_kwh=(0.1,) * 4 + (0.3,) * 12)
    goal = SessionGoal(("CP", 1), departure=at(4), energy_wh=10_000, max_power_w=MAX_3PH, min_power_w=MIN_3PH)
    before = plan_sessions([goal], first).plan_for(goal.key)
    assert sum(powers(before)[:4]) * SLOT_H == pytest.approx(10_000, abs=0.5)  # all in the cheap hour
    # At 22:30 new prices arrive: 00:00–01:00 is now the cheapest hour, 22:30–00:00 dear.
    now = at(0.5)
    second = PlanningWindow(NIGHT, (22_000.0,) * 16, price_per_kwh=(0.1,) * 2 + (0.3,) * 6 + (0.05,) * 4 + (0.3,) * 4)
    delivered = sum(powers(before)[:2]) * SLOT_H
    remaining = SessionGoal(goal.key, goal.departure, goal.energy_wh - delivered, goal.max_power_w, goal.min_power_w)
    after = plan_sessions([remaining], second, now=now).plan_for(goal.key)
    p = powers(after)  # from 22:30: index 6 is 00:00
    assert after.slots[0].start == now
    assert sum(p[6:10]) * SLOT_H == pytest.approx(remaining.energy_wh, abs=0.5)
    assert sum(p[:6]) == 0 and sum(p[10:]) == 0
    assert after.feasible


def test_solar_strategy_follows_the_surplus():
    noon = datetime(2026, 6, 1, 9, tzinfo=UTC)
    surplus = (0, 1_000, 3_000, 5_000, 7_000, 8_000, 9_000, 9_000, 8_000, 7_000, 5_000, 3_000, 1_000, 0, 0, 0)
    window = PlanningWindow(noon, (30_000.0,) * 16, price_per_kwh=(0.3,) * 16, solar_surplus_w=surplus)
    goal = SessionGoal(("CP", 1), departure=noon + timedelta(hours=4), energy_wh=15_000, max_power_w=11_000,
                       min_power_w=1_380, strategy=Strategy.SOLAR)
    result = plan_sessions([goal], window).plan_for(goal.key)
    p = powers(result)
    assert all(x <= s + 1e-6 for x, s in zip(p, surplus, strict=True))  # 16.75 kWh of surplus covers 15 kWh
    assert result.feasible and result.cost == pytest.approx(0, abs=1e-6)
    assert p[0] == 0 and p[-1] == 0


def test_solar_strategy_buys_from_the_grid_only_what_the_surplus_cannot_cover():
    noon = datetime(2026, 6, 1, 11, tzinfo=UTC)
    surplus = (4_000.0,) * 4 + (0.0,) * 4
    window = PlanningWindow(noon, (30_000.0,) * 8, price_per_kwh=(0.3,) * 8, solar_surplus_w=surplus)
    goal = SessionGoal(("CP", 1), departure=noon + timedelta(hours=2), energy_wh=6_000, max_power_w=11_000,
                       strategy=Strategy.SOLAR)
    result = plan_sessions([goal], window).plan_for(goal.key)
    assert sum(min(x, 4_000) for x in powers(result)[:4]) * SLOT_H == pytest.approx(4_000, abs=0.5)
    assert result.cost == pytest.approx(2.0 * 0.3, abs=1e-3)


def test_fastest_front_loads():
    window = PlanningWindow(NIGHT, (22_000.0,) * 16, price_per_kwh=(0.4,) * 4 + (0.1,) * 12)
    goal = SessionGoal(("CP", 1), departure=at(4), energy_wh=20_000, max_power_w=MAX_3PH, min_power_w=MIN_3PH,
                       strategy=Strategy.FASTEST)
    result = plan_sessions([goal], window).plan_for(goal.key)
    p = powers(result)
    # 20 kWh is 7 slots at full power and 680 Wh more, too little for a slot at the minimum: the seventh slot
    # gives way so that the eighth can run at the minimum, and nothing is left for later.
    assert p[:6] == [MAX_3PH] * 6
    assert p[7] == MIN_3PH
    assert all(x == 0 for x in p[8:])
    assert result.energy_wh == pytest.approx(20_000, abs=0.5)


# --- minimum power ----------------------------------------------------------------------------------------------

def test_no_slot_is_planned_between_zero_and_the_minimum():
    # 5 kWh over 2 cheap hours would be 2.5 kW flat in an LP: below the EV's 4.14 kW it must be whole slots.
    window = PlanningWindow(NIGHT, (9_000.0,) * 8, price_per_kwh=(0.1,) * 8)
    a = SessionGoal(("A", 1), departure=at(2), energy_wh=5_000, max_power_w=MAX_3PH, min_power_w=MIN_3PH)
    b = SessionGoal(("B", 1), departure=at(2), energy_wh=7_777, max_power_w=MAX_3PH, min_power_w=MIN_3PH)
    plan = plan_sessions([a, b], window)
    for goal in (a, b):
        result = plan.plan_for(goal.key)
        assert_min_or_pause(result, goal)
        assert result.feasible
    assert_capacity_holds(plan, window)


def test_a_slot_whose_capacity_is_below_the_minimum_pauses():
    window = PlanningWindow(NIGHT, (11_040.0, 3_000.0, 3_000.0, 11_040.0))
    goal = SessionGoal(("CP", 1), departure=at(1), energy_wh=5_000, max_power_w=MAX_3PH, min_power_w=MIN_3PH,
                       strategy=Strategy.FASTEST)
    p = powers(plan_sessions([goal], window).plan_for(goal.key))
    assert p[1] == 0 and p[2] == 0


# --- a depot of twenty vans -------------------------------------------------------------------------------------

def twenty_vans() -> tuple[list[SessionGoal], PlanningWindow]:
    """Twenty vans arriving 17:00–21:45, leaving 04:00–08:45, under 100 kW: needs are 97 % of what an equal split
    of the capacity among the vans present would give them, so a joint plan exists."""
    evening = datetime(2026, 11, 25, 17, tzinfo=UTC)
    n_slots = 64  # 17:00–09:00
    cap = 100_000.0
    prices = tuple(0.30 if 17 <= (17 + t * SLOT_H) % 24 < 21 else 0.12 for t in range(n_slots))
    arrivals = [evening + timedelta(minutes=15 * i) for i in range(20)]
    departures = [evening + timedelta(hours=11, minutes=15 * ((i * 7) % 20)) for i in range(20)]
    present = [[a <= evening + timedelta(hours=t * SLOT_H) < d for a, d in zip(arrivals, departures, strict=True)]
               for t in range(n_slots)]
    witness = [0.0] * 20
    for t in range(n_slots):
        share = min(MAX_3PH, cap / max(1, sum(present[t])))
        for i in range(20):
            if present[t][i]:
                witness[i] += share * SLOT_H
    goals = [
        SessionGoal((f"VAN{i:02d}", 1), departure=departures[i], energy_wh=round(0.97 * witness[i]),
                    max_power_w=MAX_3PH, min_power_w=MIN_3PH, available_from=arrivals[i])
        for i in range(20)
    ]
    return goals, PlanningWindow(evening, (cap,) * n_slots, price_per_kwh=prices)


def test_twenty_vans_with_staggered_departures_all_fit_in_a_joint_plan():
    goals, window = twenty_vans()
    plan = plan_sessions(goals, window)
    print(f"\n20 vans × 64 slots: {plan.solve_seconds * 1000:.0f} ms, {plan.status}, gap {plan.gap:.1e}")
    for goal in goals:
        result = plan.plan_for(goal.key)
        assert result.feasible, (goal.key, result.shortfall_wh)
        assert result.energy_wh >= goal.energy_wh - 0.5
        assert_min_or_pause(result, goal)
        assert all(goal.available_from <= s.start and s.end <= goal.departure for s in result.slots)
    assert_capacity_holds(plan, window)


def test_a_joint_plan_meets_goals_that_planning_one_session_after_another_misses():
    # The long-stay van, planned first, takes the cheap early hours; the early leaver then finds 4 kW left, less
    # than its minimum. Planned together, the early leaver charges first and the long-stay van later.
    window = PlanningWindow(NIGHT, (15_000.0,) * 32, price_per_kwh=(0.1,) * 16 + (0.3,) * 16)
    stays = SessionGoal(("STAYS", 1), departure=at(8), energy_wh=40_000, max_power_w=11_000, min_power_w=MIN_3PH)
    leaves = SessionGoal(("LEAVES", 1), departure=at(3), energy_wh=30_000, max_power_w=11_000, min_power_w=MIN_3PH)
    first = plan_sessions([stays], window)
    second = plan_sessions([leaves], window, fixed_load_w=first.load_w(window))
    assert not second.plan_for(leaves.key).feasible
    joint = plan_sessions([stays, leaves], window)
    assert all(p.feasible for p in joint.plans)
    assert_capacity_holds(joint, window)


# --- inputs -----------------------------------------------------------------------------------------------------

def test_slot_values_resample_a_cap_a_load_and_a_price():
    steps = [(NIGHT, 100.0), (at(0.1), 80.0), (at(0.5), 90.0)]
    assert slot_values(steps, NIGHT, 3, reduce="min") == (80.0, 80.0, 90.0)
    assert slot_values(steps, NIGHT, 3, reduce="max") == (100.0, 80.0, 90.0)
    assert slot_values(steps, NIGHT, 1, reduce="mean") == pytest.approx(((100 * 6 + 80 * 9) / 15,))
    with pytest.raises(PlanningError, match="no value"):
        slot_values([(at(0.1), 1.0)], NIGHT, 1)
    assert slot_values([(at(0.1), 1.0)], NIGHT, 1, default=5.0, reduce="max") == (5.0,)


def test_ev_capacity_never_goes_negative():
    assert ev_capacity((10.0, 10.0), (4.0, 12.0), margin_w=1.0) == (5.0, 0.0)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: PlanningWindow(datetime(2026, 1, 1, 22), (1.0,)), "aware"),
        (lambda: PlanningWindow(at(0.1), (1.0,)), "aligned"),
        (lambda: PlanningWindow(NIGHT, ()), "at least one slot"),
        (lambda: PlanningWindow(NIGHT, (1.0, 2.0), price_per_kwh=(0.1,)), "price_per_kwh has 1 slots"),
        (lambda: PlanningWindow(NIGHT, (float("nan"),)), "non-finite"),
        (lambda: PlanningWindow(NIGHT, (-1.0,)), "negative"),
        (lambda: SessionGoal(("A", 1), at(1), -5, 1000), "energy_wh"),
        (lambda: SessionGoal(("A", 1), at(1), 5, 1000, efficiency=0), "efficiency"),
        (lambda: SessionGoal(("A", 1), datetime(2026, 1, 1), 5, 1000), "aware"),
        (lambda: plan_sessions([SessionGoal(("A", 1), at(1), 5, 1000)] * 2, PlanningWindow(NIGHT, (1.0,))),
         "more than one goal"),
        (lambda: plan_sessions([], PlanningWindow(NIGHT, (1.0,)), fixed_load_w=(1.0, 2.0)), "fixed_load_w"),
    ],
)
def test_malformed_input_is_refused_with_a_clear_message(make, message):
    with pytest.raises(PlanningError, match=message):
        make()


def test_the_same_input_gives_the_same_plan():
    goals, window = twenty_vans()
    assert plan_sessions(goals, window).plans == plan_sessions(goals, window).plans


def test_a_solver_out_of_time_still_returns_a_plan_within_every_limit():
    goals, window = twenty_vans()
    plan = plan_sessions(goals, window, time_limit_s=0.001)
    print(f"\n20 vans, 1 ms time limit: {plan.status}, {plan.solve_seconds * 1000:.0f} ms")
    assert len(plan.plans) == len(goals)
    for goal in goals:
        assert_min_or_pause(plan.plan_for(goal.key), goal)
    assert_capacity_holds(plan, window)


def test_a_session_paused_below_its_fallback_reservation_frees_nothing_for_the_others():
    # The site cap holds every EVSE's fallback (4 kW here) whatever it draws: the window's 5 kW is what is left
    # above every reservation. B may draw its own 4 kW and the 5 kW; A's 4 kW stays A's even while A pauses.
    window = PlanningWindow(NIGHT, (5_000.0,) * 4, price_per_kwh=(0.3,) * 4)
    a = SessionGoal(("A", 1), departure=at(1), energy_wh=0.0, max_power_w=11_000, reserved_w=4_000)
    b = SessionGoal(("B", 1), departure=at(1), energy_wh=20_000, max_power_w=11_000, min_power_w=MIN_3PH,
                    reserved_w=4_000)
    plan = plan_sessions([a, b], window)
    assert sum(powers(plan.plan_for(("A", 1)))) == 0.0
    assert powers(plan.plan_for(("B", 1))) == [9_000.0] * 4
    assert plan.plan_for(("B", 1)).shortfall_wh == pytest.approx(20_000 - 9_000, abs=0.5)
    # Two that both charge: their powers above their reservations share the 5 kW.
    both = plan_sessions([replace(a, energy_wh=20_000, min_power_w=MIN_3PH), b], window)
    for t in range(4):
        above = sum(max(0.0, p.slots[t].power_w - 4_000) for p in both.plans)
        assert above <= 5_000 + 1e-3
    assert sum(p.energy_wh for p in both.plans) == pytest.approx(13_000, abs=1.0)
