"""The departure-aware charging planner: which power each session with a goal gets in each slot until it leaves.

Given the sessions' goals (energy by a departure, within the EV's, the EVSE's and the rules' limits) and the site
over a horizon of 15-minute slots (capacity for EVs after the building-load forecast and any sessions that are
not re-planned, prices, solar surplus), :func:`plan_sessions` solves one joint programme (:mod:`.planner_lp`) so
that the site's capacity holds in every slot and each goal is met at the lowest cost its strategy names. A goal
that cannot be met is not an error: its plan is the best achievable one and says how much is missing.

The shell sends each plan as an Absolute TxProfile (:mod:`.planner_profile`) and re-plans when prices, forecasts,
the cap, the EV's measured draw or another session change, at most as often as :class:`ReplanGate` allows.

Pure: no I/O, no clock (``now`` is an argument); the only thing measured is how long HiGHS takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from wattcap.core.fleet.model import Strategy
from wattcap.core.fleet.planner_gate import MUST_TRIGGERS, ReplanDecision, ReplanGate, ReplanTrigger, plan_exceeds
from wattcap.core.fleet.planner_lp import Weights, solve
from wattcap.core.fleet.planner_model import (
    DEFAULT_SLOT_S,
    PlanningError,
    PlanningWindow,
    PlanSlot,
    SessionGoal,
    SessionPlan,
    SitePlan,
    check_aware,
    ev_capacity,
    fixed_load,
    slot_values,
)
from wattcap.core.fleet.planner_profile import evse_plan_profile, plan_periods, plan_profile, profile_start

__all__ = [
    "DEFAULT_SLOT_S",
    "FEASIBLE_TOLERANCE_WH",
    "MUST_TRIGGERS",
    "PlanSlot",
    "PlanningError",
    "PlanningWindow",
    "ReplanDecision",
    "ReplanGate",
    "ReplanTrigger",
    "SessionGoal",
    "SessionPlan",
    "SitePlan",
    "Strategy",
    "Weights",
    "ev_capacity",
    "evse_plan_profile",
    "fixed_load",
    "plan_exceeds",
    "plan_periods",
    "plan_profile",
    "plan_sessions",
    "profile_start",
    "slot_values",
]

#: A goal counts as met when at most this much is missing (the solver's tolerances are far below it).
FEASIBLE_TOLERANCE_WH = 0.5


def plan_sessions(
    goals: Sequence[SessionGoal], window: PlanningWindow, *, now: datetime | None = None,
    fixed_load_w: Sequence[float] | None = None, weights: Weights | None = None, time_limit_s: float = 5.0,
    mip_rel_gap: float = 1e-3,
) -> SitePlan:
    """One joint plan for ``goals`` over ``window``.

    ``now`` (default: the window's start) is when the plan takes effect: nothing is planned before it, and the
    slot it falls in counts only its remaining seconds. ``fixed_load_w`` is power per slot already taken by
    sessions that are not re-planned (see :meth:`SitePlan.load_w`). The plan is optimal to within
    ``mip_rel_gap`` of the objective (0.1 %: the figure HiGHS proves, reported as ``SitePlan.gap``); ``time_limit_s``
    bounds the solver (HiGHS checks it between steps, so a large programme may overrun it by a few seconds); when
    it runs out, the best plan found so far is returned and ``status`` says so. Raises :class:`PlanningError` only for
    malformed input (naive datetimes, misaligned or mismatched series, duplicate sessions, negative energy …).
    """
    goals = tuple(goals)
    keys = [g.key for g in goals]
    if len(set(keys)) != len(keys):
        duplicate = next(k for k in keys if keys.count(k) > 1)
        raise PlanningError(f"session {duplicate} has more than one goal")
    for goal in goals:
        if not isinstance(goal, SessionGoal):
            raise PlanningError(f"expected SessionGoal, got {type(goal).__name__}")
    if now is not None:
        check_aware("now", now)
    if fixed_load_w is not None and len(fixed_load_w) != window.slots:
        raise PlanningError(f"fixed_load_w has {len(fixed_load_w)} slots, the window has {window.slots}")
    if time_limit_s <= 0:
        raise PlanningError("time_limit_s must be positive")
    capacity = ev_capacity(window.capacity_w, fixed_w=fixed_load_w)
    begin_all = max(window.start, now) if now is not None else window.start
    usable: list[list[float]] = []
    deferrable: list[float] = []
    for goal in goals:
        begin = max(begin_all, goal.available_from) if goal.available_from is not None else begin_all
        charges = goal.energy_wh > 0 and goal.max_power_w > 0 and goal.max_power_w >= goal.min_power_w
        row = []
        for t in range(window.slots):
            lo = max(window.slot_start(t), begin)
            hi = min(window.slot_start(t + 1), goal.departure)
            row.append((hi - lo).total_seconds() if charges and hi > lo else 0.0)
        usable.append(row)
        after = (goal.departure - max(window.end, begin)).total_seconds()
        deferrable.append(goal.max_power_w * goal.efficiency * after / 3600 if charges and after > 0 else 0.0)

    solution = solve(
        goals, window, capacity, usable, deferrable, weights=weights or Weights(), time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
    )
    plans = []
    for s, goal in enumerate(goals):
        plans.append(_session_plan(goal, window, usable[s], solution.power_w[s], solution.solar_w[s],
                                   solution.deferred_wh[s]))
    return SitePlan(tuple(plans), solution.seconds, solution.status, solution.gap)


def _session_plan(
    goal: SessionGoal, window: PlanningWindow, usable_s: list[float], power_w: list[float], solar_w: list[float],
    deferred_wh: float,
) -> SessionPlan:
    slots: list[PlanSlot] = []
    energy = 0.0
    cost = 0.0
    prices = window.price_per_kwh
    for t, seconds in enumerate(usable_s):
        if seconds <= 0:
            continue
        end = min(window.slot_start(t + 1), goal.departure)
        slots.append(PlanSlot(end - timedelta(seconds=seconds), end, power_w[t]))
        energy += power_w[t] * goal.efficiency * seconds / 3600
        if prices is not None:
            cost += prices[t] * (power_w[t] - solar_w[t]) * seconds / 3600 / 1000
    deferred = min(deferred_wh, max(0.0, goal.energy_wh - energy))
    shortfall = max(0.0, goal.energy_wh - energy - deferred)
    feasible = shortfall <= FEASIBLE_TOLERANCE_WH
    return SessionPlan(
        key=goal.key, slots=tuple(slots), energy_wh=energy, shortfall_wh=0.0 if feasible else shortfall,
        feasible=feasible, cost=cost if prices is not None else None, deferred_wh=deferred,
    )
