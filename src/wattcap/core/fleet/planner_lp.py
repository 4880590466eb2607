"""The joint charging programme: one mixed-integer linear programme over every session and slot, solved by HiGHS.

Why one programme and not a plan per session: a session planned alone takes the cheap slots it likes, and the
next one finds them gone; twenty vans with staggered departures can all fit only if the early leavers get the
early capacity, which a sequential greedy does not see. Why a MIP: an AC EV cannot charge below 6 A, so a slot's
power is 0 or within [min, max] — a semi-continuous variable, which HiGHS handles natively (no binaries, no big-M
rows). An LP relaxation simply rounded afterwards would either exceed the cap (rounding up) or lose energy
(rounding down). What runs (:func:`_optimise`): the relaxation, a few rounds of an LP dive that decides every
slot on or off while staying feasible, and HiGHS's MIP from that plan only when the plan is not already proven
within the gap by the relaxation's bound; then a smoothing LP (:func:`_polish`) that changes no cost.

Variables, in kW and kWh so that the coefficients stay near 1:

* ``p[s,t]``: session s's power in slot t (only the slots the session can use), semi-continuous when s has a
  minimum power;
* ``σ[s]``: shortfall (kWh into the battery), ``τ[s]``: energy left for after the window when s departs beyond it;
* ``y[s,t]``: the part of ``p[s,t]`` covered by solar surplus (when a surplus series is given);
* ``h[s,t]``: the part of p[s,t] above half the session's maximum (a tie-break);
* ``d[s,t]``: ≥ |p[s,t] − p[s,t−1]|, free in the programme, minimised by the polish;
* ``x[s,t]``: ≥ p[s,t] − r[s] and ≥ 0, the power above what the site cap holds for the EVSE anyway (its fallback
  ``reserved_w``): the capacity rows count x, so a session drawing less than its reservation frees nothing.

Energy is power × the seconds of the slot the session can use, so a session plugged in mid-slot or leaving
mid-slot gets exactly that slot's remainder. See :class:`Weights` for the objective.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import highspy
import numpy as np

from wattcap.core.fleet.model import Strategy
from wattcap.core.fleet.planner_model import PlanningWindow, SessionGoal

__all__ = ["Solution", "Weights", "solve"]

_INF = highspy.kHighsInf
_OPTIMAL = "Optimal"
#: Rounds of the start heuristic before every slot still undecided is paused.
_DIVE_ROUNDS = 8


@dataclass(frozen=True, slots=True)
class Weights:
    """The objective's weights, per kWh (or per kW of change), on prices normalised to the window's largest |price|.

    Their order of magnitude is what matters: a shortfall (``shortfall_per_kwh``, doubled for every priority level
    above the lowest among the goals) outweighs any energy cost, so a goal is missed only when it cannot be met;
    the strategy's cost (cheapest: the normalised price, ≤ 1; solar: ``solar_grid_per_kwh`` for grid energy plus
    ``solar_price_tiebreak`` × the price, solar energy free; fastest: the slot's position in the window, 0..1)
    decides where the energy goes; the tie-breaks only choose among plans that cost (nearly) the same, so that the
    result is deterministic: ``earlier_per_kwh`` × position (earlier energy is safer should the EV leave early),
    ``high_power_per_kwh`` on the energy drawn above half the session's maximum (equally priced energy is spread at
    a lower power rather than bunched at full power). Tie-breaks of 1e-3 yield to price differences above about
    0.1 % of the largest price. Last, ``smooth_per_kw`` per kW of change between neighbouring slots is minimised
    in a second LP among the plans that cost no more (:func:`_polish`; 0 turns it off).
    """

    shortfall_per_kwh: float = 1000.0
    solar_grid_per_kwh: float = 1.0
    solar_price_tiebreak: float = 0.1
    earlier_per_kwh: float = 1e-4
    smooth_per_kw: float = 1e-3
    high_power_per_kwh: float = 1e-3


@dataclass(slots=True)
class Solution:
    """What the programme decided, per goal: power per slot (W, 0 where unusable), solar part per slot (W)."""

    power_w: list[list[float]]
    solar_w: list[list[float]]
    deferred_wh: list[float]
    status: str
    gap: float
    seconds: float


@dataclass(slots=True)
class _Builder:
    cost: list[float] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    semi: list[int] = field(default_factory=list)
    row_lower: list[float] = field(default_factory=list)
    row_upper: list[float] = field(default_factory=list)
    starts: list[int] = field(default_factory=lambda: [0])
    index: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    # What the start heuristic needs to know about a power column: its slot, its session, kWh per kW.
    slot_of: dict[int, int] = field(default_factory=dict)
    session_of: dict[int, int] = field(default_factory=dict)
    capacity_kw: list[float] = field(default_factory=list)
    reserve_of: dict[int, float] = field(default_factory=dict)
    energy_rows: list[tuple[list[tuple[int, float]], float]] = field(default_factory=list)
    smooth: list[int] = field(default_factory=list)

    def var(self, cost: float, lower: float, upper: float, *, semi: bool = False) -> int:
        self.cost.append(cost)
        self.lower.append(lower)
        self.upper.append(upper)
        if semi:
            self.semi.append(len(self.cost) - 1)
        return len(self.cost) - 1

    def row(self, terms: list[tuple[int, float]], lower: float, upper: float) -> None:
        for j, a in terms:
            self.index.append(j)
            self.value.append(a)
        self.starts.append(len(self.index))
        self.row_lower.append(lower)
        self.row_upper.append(upper)

    def lp(
        self, *, relaxed: bool = False, zero: frozenset[int] = frozenset(), on: frozenset[int] = frozenset()
    ) -> highspy.HighsLp:
        """The model; ``relaxed``: semi-continuous columns as plain ones: in [min, max] if in ``on``, fixed at 0 if
        in ``zero``, else in [0, max]."""
        lp = highspy.HighsLp()
        lp.num_col_ = len(self.cost)
        lp.num_row_ = len(self.row_lower)
        lower = np.array(self.lower, dtype=float)
        upper = np.array(self.upper, dtype=float)
        if relaxed and self.semi:
            lower[np.array(sorted(set(self.semi) - on), dtype=np.int64)] = 0.0
            if zero:
                upper[np.array(sorted(zero), dtype=np.int64)] = 0.0
        lp.col_cost_ = np.array(self.cost, dtype=float)
        lp.col_lower_ = lower
        lp.col_upper_ = upper
        lp.row_lower_ = np.array(self.row_lower, dtype=float)
        lp.row_upper_ = np.array(self.row_upper, dtype=float)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.num_col_ = lp.num_col_
        lp.a_matrix_.num_row_ = lp.num_row_
        lp.a_matrix_.start_ = np.array(self.starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(self.index, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(self.value, dtype=float)
        if self.semi and not relaxed:
            integrality = [highspy.HighsVarType.kContinuous] * lp.num_col_
            for j in self.semi:
                integrality[j] = highspy.HighsVarType.kSemiContinuous
            lp.integrality_ = integrality
        return lp


def _priority_factors(goals: tuple[SessionGoal, ...]) -> list[float]:
    levels = sorted({g.priority for g in goals})
    return [2.0 ** levels.index(g.priority) for g in goals]


def solve(
    goals: tuple[SessionGoal, ...], window: PlanningWindow, capacity_w: tuple[float, ...],
    usable_s: list[list[float]], deferrable_wh: list[float], *, weights: Weights, time_limit_s: float,
    mip_rel_gap: float,
) -> Solution:
    """Build and solve the programme; ``usable_s[s][t]`` is how many seconds of slot t goal s can charge in."""
    n_slots = window.slots
    slot_h = window.slot_s / 3600
    prices = window.price_per_kwh
    scale = max((abs(p) for p in prices), default=0.0) if prices else 0.0
    price_norm = [p / scale for p in prices] if prices and scale > 0 else [0.0] * n_slots
    solar = window.solar_surplus_w
    position = [(t + 0.5) / n_slots for t in range(n_slots)]
    factors = _priority_factors(goals)
    b = _Builder()
    b.capacity_kw = [c / 1000 for c in capacity_w]
    p_var: list[dict[int, int]] = []
    x_var: list[dict[int, int]] = []
    y_var: list[dict[int, int]] = []
    tail_var: list[int | None] = []
    for s, goal in enumerate(goals):
        max_kw, min_kw, eta = goal.max_power_w / 1000, goal.min_power_w / 1000, goal.efficiency
        reserve_kw = goal.reserved_w / 1000
        need_kwh = goal.energy_wh / 1000
        p_s: dict[int, int] = {}
        x_s: dict[int, int] = {}
        y_s: dict[int, int] = {}
        energy_terms: list[tuple[int, float]] = []
        grid_costs: list[float] = []
        for t in range(n_slots):
            seconds = usable_s[s][t]
            if seconds <= 0:
                continue
            kwh_per_kw = seconds / 3600
            upper = min(max_kw, capacity_w[t] / 1000 + reserve_kw)
            if upper <= 0 or upper < min_kw:
                continue  # this slot cannot take the session's minimum: the programme never sees it
            if goal.strategy is Strategy.FASTEST:
                grid_cost, any_cost = 0.0, position[t]
            elif goal.strategy is Strategy.SOLAR:
                grid_cost, any_cost = weights.solar_grid_per_kwh + weights.solar_price_tiebreak * price_norm[t], 0.0
            else:
                grid_cost, any_cost = price_norm[t], 0.0
            grid_costs.append(grid_cost + any_cost)
            any_cost += weights.earlier_per_kwh * position[t]
            j = b.var((grid_cost + any_cost) * kwh_per_kw, min_kw if min_kw > 0 else 0.0, upper, semi=min_kw > 0)
            p_s[t] = j
            b.slot_of[j] = t
            b.session_of[j] = s
            b.reserve_of[j] = reserve_kw
            if reserve_kw > 0:
                x = b.var(0.0, 0.0, _INF)
                b.row([(x, 1.0), (j, -1.0)], -reserve_kw, _INF)
                x_s[t] = x
            energy_terms.append((j, eta * kwh_per_kw))
            if weights.high_power_per_kwh > 0 and upper > max_kw / 2:
                high = b.var(weights.high_power_per_kwh * kwh_per_kw, 0.0, _INF)
                b.row([(high, 1.0), (j, -1.0)], -max_kw / 2, _INF)
            if solar is not None and solar[t] > 0 and goal.strategy is not Strategy.FASTEST:
                # Solar energy costs nothing: y takes back the grid cost of the part of p the surplus covers
                # (with a hair more, so that the surplus is used whenever it is free).
                k = b.var(-(grid_cost + 1e-6) * kwh_per_kw, 0.0, min(upper, solar[t] / 1000))
                y_s[t] = k
                b.row([(k, 1.0), (j, -1.0)], -_INF, 0.0)
        p_var.append(p_s)
        x_var.append(x_s)
        y_var.append(y_s)
        penalty = weights.shortfall_per_kwh * factors[s]
        sigma = b.var(penalty, 0.0, need_kwh)
        tail: int | None = None
        if deferrable_wh[s] > 0:
            # After the window nothing is known: the tail is the least attractive place for energy.
            tail_cost = (max(grid_costs, default=1.0) + 1.0) / eta
            tail = b.var(tail_cost, 0.0, deferrable_wh[s] / 1000)
        tail_var.append(tail)
        extra = [(tail, 1.0)] if tail is not None else []
        b.row([*energy_terms, (sigma, 1.0), *extra], need_kwh, _INF)
        # At most one slot at the minimum beyond the goal: what a semi-continuous slot may force.
        b.row([*energy_terms, *extra], -_INF, need_kwh + min_kw * slot_h * eta)
        b.energy_rows.append(([*energy_terms, *extra], need_kwh + min_kw * slot_h * eta))
        previous: int | None = None
        for t in sorted(p_s):
            j = p_s[t]
            if weights.smooth_per_kw > 0 and previous is not None and previous == t - 1:
                d = b.var(0.0, 0.0, _INF)  # costs nothing in the programme: the polish minimises it
                b.smooth.append(d)
                b.row([(d, 1.0), (j, -1.0), (p_s[t - 1], 1.0)], 0.0, _INF)
                b.row([(d, 1.0), (j, 1.0), (p_s[t - 1], -1.0)], 0.0, _INF)
            previous = t
    for t in range(n_slots):
        terms = [(x_s.get(t, p_s[t]), 1.0) for p_s, x_s in zip(p_var, x_var, strict=True) if t in p_s]
        if terms:
            b.row(terms, -_INF, capacity_w[t] / 1000)
        if solar is not None:
            solar_terms = [(y_s[t], 1.0) for y_s in y_var if t in y_s]
            if solar_terms:
                b.row(solar_terms, -_INF, solar[t] / 1000)

    values, status, gap, seconds = _optimise(b, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    if b.smooth:
        values, seconds = _polish(b, values, weights.smooth_per_kw, seconds)
    power: list[list[float]] = []
    solar_w: list[list[float]] = []
    deferred: list[float] = []
    for s, goal in enumerate(goals):
        row = [0.0] * n_slots
        for t, j in p_var[s].items():
            row[t] = _clean_power(values[j] * 1000, goal.min_power_w, goal.max_power_w)
        power.append(row)
    _fit(power, capacity_w, goals)
    for s in range(len(goals)):
        row = power[s]
        solar_row = [0.0] * n_slots
        for t, k in y_var[s].items():
            solar_row[t] = min(max(0.0, values[k] * 1000), row[t])
        solar_w.append(solar_row)
        tail = tail_var[s]
        deferred.append(max(0.0, values[tail] * 1000) if tail is not None else 0.0)
    return Solution(power, solar_w, deferred, status, gap, seconds)


def _clean_power(watts: float, min_w: float, max_w: float) -> float:
    """Solver noise removed (HiGHS meets bounds and rows to 1e-7 kW, 0.1 mW): within 1 mW of a bound is the bound,
    a hair below the minimum is the minimum and anything less is 0, the rest rounded to the mW (:func:`_fit` then
    takes any excess off a slot's sum)."""
    if watts < max(min_w - 1e-3, 1e-3):
        return 0.0
    if watts >= max_w - 1e-3:
        return max_w
    return max(min_w, round(watts, 3))


def _fit(power: list[list[float]], capacity_w: tuple[float, ...], goals: tuple[SessionGoal, ...]) -> None:
    """Take the solver's tolerance (a few mW a slot) off the largest powers wherever a slot's sum (above each
    session's reservation) exceeds its capacity, so that a plan never draws a milliwatt more than the cap."""

    def used(t: int) -> float:
        return sum(max(0.0, row[t] - g.reserved_w) for row, g in zip(power, goals, strict=True))

    for t, cap in enumerate(capacity_w):
        excess = used(t) - cap
        for s in sorted(range(len(goals)), key=lambda s: -power[s][t]):
            if excess <= 0:
                break
            floor = max(goals[s].min_power_w, goals[s].reserved_w)
            cut = min(excess, power[s][t] - floor) if power[s][t] > 0 else 0.0
            if cut > 0:
                power[s][t] = math.floor((power[s][t] - cut) * 1000) / 1000
                excess = used(t) - cap


def _optimise(b: _Builder, *, time_limit_s: float, mip_rel_gap: float) -> tuple[list[float], str, float, float]:
    """Solve; with minimum powers, first a good plan that obeys them, then the MIP only if that plan may be improved.

    The start is a dive on the relaxation (every power in [0, max]): the powers at or above their minimum stay on,
    those below it go up to the minimum or pause (:func:`_round`), and the programme is solved again with those
    decisions, until no power lies between 0 and a minimum (or the last round pauses every undecided slot). Each
    round is feasible by construction. The first relaxation's objective is a lower bound on the MIP's, so when
    the start is within ``mip_rel_gap`` of it, it is optimal to that tolerance and the MIP is not run; otherwise
    HiGHS's MIP starts from it, and the start is what is returned should the MIP find nothing in its time limit.
    """
    if not b.semi:
        values, status, _, seconds = _run(b.lp(), time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
        return values or [0.0] * len(b.cost), status, 0.0, seconds
    zero: frozenset[int] = frozenset()
    on: frozenset[int] = frozenset()
    start: list[float] | None = None
    start_status = ""
    bound = -math.inf
    seconds = 0.0
    for round_ in range(_DIVE_ROUNDS + 1):
        values, start_status, _, more = _run(b.lp(relaxed=True, zero=zero, on=on),
                                             time_limit_s=max(0.05, time_limit_s - seconds), mip_rel_gap=mip_rel_gap)
        seconds += more
        if values is None:
            break
        if round_ == 0 and start_status == _OPTIMAL:
            bound = _objective(b, values)  # a lower bound only when the relaxation was solved to the end
        open_ = [j for j in b.semi if j not in zero and j not in on]
        fractional = [j for j in open_ if 1e-9 < values[j] < b.lower[j] * (1 - 1e-6)]
        if not fractional:
            start = values
            break
        on = on | {j for j in open_ if values[j] >= b.lower[j] * (1 - 1e-6)}
        up, down = _round(b, values, fractional, on)
        on, zero = on | up, zero | down
        if round_ == _DIVE_ROUNDS - 1:
            zero = zero | (frozenset(open_) - on)  # the next round decides nothing: it only sets the levels
    if start is not None and _objective(b, start) - bound <= mip_rel_gap * max(abs(bound), 1.0):
        gap = (_objective(b, start) - bound) / max(abs(bound), 1.0)
        return start, f"{start_status} (rounded relaxation within the gap)", max(0.0, gap), seconds
    remaining = max(0.05, time_limit_s - seconds)
    values, status, gap, more = _run(b.lp(), time_limit_s=remaining, mip_rel_gap=mip_rel_gap, start=start)
    seconds += more
    if values is None:
        if start is None:
            return [0.0] * len(b.cost), f"{status}; no plan", math.inf, seconds
        return start, f"{status}; rounded relaxation ({start_status})", math.inf, seconds
    return values, status, gap, seconds


def _polish(b: _Builder, values: list[float], smooth_per_kw: float, seconds: float) -> tuple[list[float], float]:
    """Among the plans that cost no more than ``values`` and charge in the same slots, the smoothest.

    A second LP, not a term of the first: in the MIP the smoothness term made HiGHS about six times slower
    (20 sessions × 96 slots: 2.9 s against 0.47 s), while here, with every slot's on/off decided, it is a plain
    LP of the same size. It removes the equal-cost reshuffles between sessions (7.9 kW, 11 kW, 7.9 kW …) that a
    vertex solution is full of.
    """
    on = frozenset(j for j in b.semi if values[j] > 0)
    zero = frozenset(b.semi) - on
    lp = b.lp(relaxed=True, zero=zero, on=on)
    cost = np.zeros(lp.num_col_)
    cost[np.array(b.smooth, dtype=np.int64)] = smooth_per_kw
    lp.col_cost_ = cost
    objective = _objective(b, values)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    columns = np.nonzero(np.asarray(b.cost))[0]
    h.addRow(-_INF, objective + 1e-9 * max(1.0, abs(objective)), len(columns), columns.astype(np.int32),
             np.asarray(b.cost, dtype=float)[columns])
    started = time.perf_counter()
    h.run()
    seconds += time.perf_counter() - started
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return values, seconds
    return list(h.getSolution().col_value), seconds


def _objective(b: _Builder, values: list[float]) -> float:
    return float(np.dot(np.asarray(b.cost), np.asarray(values)))


def _round(b: _Builder, values: list[float], fractional: list[int], on: frozenset[int]) -> tuple[set[int], set[int]]:
    """Each power below its minimum goes up to the minimum, largest first, while its slot can hold the minimum of
    every power on in it and its session's minimums stay within the goal's upper bound; the others pause. Every
    power on at its minimum (and the rest at 0) is then a point of the next round's programme, so every round is
    feasible; the programme itself decides how far above their minimum the powers go."""
    budget = list(b.capacity_kw)
    for j in on:
        budget[b.slot_of[j]] -= max(0.0, b.lower[j] - b.reserve_of.get(j, 0.0))
    coefficient = {j: a for terms, _ in b.energy_rows for j, a in terms}
    room = [upper for _, upper in b.energy_rows]
    for j in on:
        room[b.session_of[j]] -= b.lower[j] * coefficient[j]
    up: set[int] = set()
    down: set[int] = set()
    for j in sorted(fractional, key=lambda j: (-values[j] / b.lower[j], j)):
        t, s = b.slot_of[j], b.session_of[j]
        # Raising j to its minimum costs the slot only what that draws above the EVSE's reservation.
        cost = max(0.0, b.lower[j] - b.reserve_of.get(j, 0.0))
        if cost <= budget[t] + 1e-9 and b.lower[j] * coefficient[j] <= room[s] + 1e-9:
            up.add(j)
            budget[t] -= cost
            room[s] -= b.lower[j] * coefficient[j]
        else:
            down.add(j)
    return up, down


def _run(
    lp: highspy.HighsLp, *, time_limit_s: float, mip_rel_gap: float, start: list[float] | None = None
) -> tuple[list[float] | None, str, float, float]:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.passModel(lp)
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = start
        solution.value_valid = True
        h.setSolution(solution)
    started = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - started
    model_status = h.getModelStatus()
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    values = list(h.getSolution().col_value) if has_solution else None
    gap = float(info.mip_gap)
    if not math.isfinite(gap) or gap < 0:
        gap = 0.0 if model_status == highspy.HighsModelStatus.kOptimal else math.inf
    return values, h.modelStatusToString(model_status), gap, seconds
