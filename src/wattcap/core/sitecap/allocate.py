"""Who gets how much: the site-cap allocation, a pure function of the site, its limits and its sessions.

The steps, and why each is there:

1. **Headroom.** Every node's limit in force (the lower of its static limit and :class:`NodeLimit`), minus its
   margin, minus the non-EV load on it, per grid phase and in W. Then every EVSE's *footprint floor* comes off:
   its fallback (``fallbacks[key]``, what it draws on its own offline: capacity below it is reserved whether used
   or not) and, for an EVSE that did not acknowledge or rejected a write, ``reserved[key]`` (a worst case that
   gets no allocation).
2. **Minimum or nothing.** An AC EV cannot charge below its minimum (6 A, IEC 61851-1): each session gets its
   minimum or 0, never something in between. Minimums are granted in a fixed order — priority (higher first),
   then sessions charging before paused ones (hysteresis), then earliest ``started_at``, then key — so the same
   input always gives the same answer. A running session is paused only when its minimum does not fit; a paused
   one resumes only when its minimum plus ``policy.resume_margin_a`` fits *and* it has been paused at least
   ``policy.min_pause_s``. Where the EVSE ``can_switch_phases``, a session whose three-phase minimum does not fit
   but whose one-phase minimum does is switched to one phase instead of paused, and goes back to three only after
   the three-phase minimum plus the resume margin has fitted for ``policy.phase_hold_s`` without a break.
3. **Water-filling** (:mod:`.waterfill`). The headroom left is shared by weighted max-min fairness, priority
   class by priority class (a higher class grows to its ceilings before a lower one grows past its minimums),
   bounded by every ancestor's per-phase and power headroom and by each session's ceiling (the EVSE's max, the
   EV's max, and the reclaim cap). Fairness is in *per-phase current*: a three-phase EV at 16 A and a one-phase
   EV at 16 A are level; a DC EVSE rises at the rate of a three-phase AC EVSE with the same per-phase current.
4. **Rounding.** Every level is floored to the EVSE's step (``step_a``; ``step_w`` for DC), never below the
   minimum granted, then the leftovers are handed out one step at a time where every constraint still holds —
   priority first, then whoever lost most to flooring, then key. Each session ends within one step of its fair
   share.

**Reclaim.** A session drawing (``measured_a``, max over its phases; ``measured_w`` for DC) less than its
previous allocation minus ``policy.reclaim_margin_a`` is capped at measured + margin (never below its minimum)
so others can have the rest; the cap follows the draw down, and is lifted — the session gets its full demand
again — as soon as the draw comes within the margin of the cap. A measurement counts only once the allocation has
had ``policy.reclaim_after_s`` to take effect (the EV ramps up after an increase), and only while it is younger
than ``policy.measurement_max_age_s`` (a meter that went quiet proves nothing: the session keeps its demand).
Until its measurement counts, a session that already draws less than its previous allocation minus the margin gets
no more than that allocation (more would not be drawn, and a raise would put its reclaim off again). A reclaimed
session keeps its previous allocation where that still fits once everyone else has had their share (all or
nothing): a reclaim that frees capacity nobody takes would only be a write for nothing.

**Units.** AC levels are A per phase on the phases the EV uses (``SessionDemand.phases_in_use``, else the
EVSE's); an AC EVSE's or EV's ``max_power_w`` caps the current at P / (phases·V). DC levels are W (``power_w``;
``current_a`` then carries the grid-side current per phase, P / (3·V)); the minimum is ``min_power_w`` but at least
one ``step_w``; the EV's ``max_current_a`` is ignored for DC (it is a DC-side current).

**Binding.** Each :class:`EvseAllocation` names what stopped it: a node id (that node's headroom, per phase or
in W; for a paused session, the node with no room for its minimum), ``"ev"`` (the EV's own maximum), ``"evse"``
(the EVSE's maximum), ``"demand"`` (the reclaim cap: the EV draws less), ``"minimum"`` (held at its minimum or
paused by the allocator's own rules: weight 0, or still inside ``min_pause_s``), ``"plan"`` (paused because the
session asks for nothing now: a demand ceiling of 0, which is how a charging plan pauses it; an EV ceiling between
0 and the minimum still gets the minimum).

**Fleet rules (later issue).** ``SessionDemand.priority`` and ``.weight`` are the hook: a fleet rule maps a
departure time, a VIP bay or a tariff onto them. Priority decides who gets a minimum first and who fills first;
weight scales the share within a priority (2 → twice the per-phase current of weight 1; 0 → only the minimum).

Pure and synchronous: time comes in as ``now``, hysteresis state as ``previous``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from wattcap.core.sitecap.model import (
    EvseAllocation,
    EvseKey,
    NodeLimit,
    SessionDemand,
    SiteAllocation,
    SiteTopology,
)
from wattcap.core.sitecap.tree import INF, CompiledSite, capacities, compile_site, constraint_node
from wattcap.core.sitecap.waterfill import BIND_HI, BIND_IDLE, waterfill

__all__ = ["AllocationPolicy", "allocate"]

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class AllocationPolicy:
    """The allocator's hysteresis and reclaim settings (A are per phase; for DC they scale by 3·V to W)."""

    #: A session drawing this much below its allocation is capped at draw + margin; lifted within the margin.
    reclaim_margin_a: float = 2.0
    #: A measurement is trusted for reclaim only this long after the allocation last rose.
    reclaim_after_s: int = 60
    #: A paused session resumes only when its minimum plus this fits.
    resume_margin_a: float = 1.0
    #: ... and only after it has been paused this long.
    min_pause_s: int = 120
    #: A session switched to one phase goes back to three only after three phases have fitted this long.
    phase_hold_s: int = 600
    #: A measurement older than this does not count for reclaim.
    measurement_max_age_s: int = 300

    def __post_init__(self) -> None:
        for name in ("reclaim_margin_a", "reclaim_after_s", "resume_margin_a", "min_pause_s", "phase_hold_s",
                     "measurement_max_age_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"AllocationPolicy.{name} must not be negative")


class _Session:
    """One active session while it is being allocated (mutable scratch, never leaves this module).

    Levels are in the session's own unit: A per phase for AC, W for DC (``unit`` converts A per phase to it).
    """

    __slots__ = (
        "bind", "coefs", "cons", "dc", "demand", "free", "granted", "hi", "hi_bind", "hi_own", "i", "key", "level",
        "lo",
        "paused_since", "phase_switched", "phases", "phases_since", "prev", "rate", "reclaim_cap", "spec",
        "step", "three_fits_since", "unit", "voltage",
    )

    def __init__(
        self, demand: SessionDemand, i: int, site: CompiledSite, prev: EvseAllocation | None, fallback_a: float
    ) -> None:
        spec = site.evses[i]
        self.demand = demand
        self.key = demand.key
        self.i = i
        self.spec = spec
        self.prev = prev
        self.voltage = voltage = spec.voltage_v
        self.dc = dc = site.is_dc[i]
        self.unit = unit = 3 * voltage if dc else 1.0
        self.free = fallback_a * unit if fallback_a > 0 else 0.0
        self.rate = demand.weight * unit if demand.weight > 0 else 0.0
        if dc:
            self.step = step = spec.step_w if spec.step_w > 0 else 1.0
            self.lo = spec.min_power_w if spec.min_power_w > step else step
            self.phases = 3
        else:
            self.step = step = spec.step_a if spec.step_a > 0 else 0.1
            self.lo = spec.min_current_a if spec.min_current_a > 0 else step
            evse_phases = site.evse_phases[i]
            ev = demand.phases_in_use
            self.phases = ev if ev is not None and 0 < ev < evse_phases else evse_phases
        self.granted = False
        self.level = 0.0
        self.hi = 0.0
        self.hi_bind = "evse"
        self.hi_own = 0.0  # the ceiling without the reclaim cap (the EVSE's and the EV's own maximum)
        self.bind = ""
        self.paused_since: datetime | None = None
        self.phases_since: datetime | None = None
        self.phase_switched = False
        self.three_fits_since: datetime | None = None
        self.reclaim_cap: float | None = None
        self.cons: list[int] = []
        self.coefs: list[float] = []


def _seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


def allocate(
    topology: SiteTopology,
    limits: Mapping[str, NodeLimit],
    demands: Sequence[SessionDemand],
    *,
    now: datetime,
    previous: SiteAllocation | None = None,
    fallbacks: Mapping[EvseKey, float] | None = None,
    reserved: Mapping[EvseKey, tuple[float, int]] | None = None,
    policy: AllocationPolicy | None = None,
) -> SiteAllocation:
    """The allocation of every active session at ``now`` (see the module docstring for the rules).

    ``fallbacks[key]``: the per-phase current the EVSE holds as its TxDefault fallback. ``reserved[key]``:
    ``(current_a, phases)`` counted for an EVSE whose state is unknown; its session (if any) gets no entry.
    Raises ``ValueError`` for a demand on an EVSE that is not in the topology, or two demands on one EVSE.
    """
    fallbacks = fallbacks or {}
    reserved = reserved or {}
    policy = policy or AllocationPolicy()
    site = compile_site(topology)
    cap = capacities(site, limits)
    rem = _headroom(site, cap, fallbacks, reserved)
    prev_evses = previous.evses if previous is not None else {}

    sessions: list[_Session] = []
    seen: set[EvseKey] = set()
    for demand in demands:
        if demand.key in seen:
            raise ValueError(f"two demands for EVSE {demand.key}")
        seen.add(demand.key)
        i = site.evse_index.get(demand.key)
        if i is None:
            raise ValueError(f"demand for EVSE {demand.key}, which is not in the site topology")
        if demand.key in reserved:
            continue
        sessions.append(_Session(demand, i, site, prev_evses.get(demand.key), fallbacks.get(demand.key, 0.0)))

    order = sorted(sessions, key=_grant_order)
    table = _constraint_table(site, cap)
    for s in order:
        _grant(s, site, cap, table, rem, now, policy)
    granted = [s for s in order if s.granted]
    for s in granted:
        _ceiling(s, now, policy)

    # Water-filling, one priority class at a time (higher first); lower classes sit at their minimums meanwhile.
    classes: dict[int, list[_Session]] = {}
    for s in granted:
        classes.setdefault(s.demand.priority, []).append(s)
    for priority in sorted(classes, reverse=True):
        group = classes[priority]
        levels, binds = waterfill(
            rem, [s.cons for s in group], [s.coefs for s in group], [s.lo for s in group],
            [s.hi for s in group], [s.free for s in group], [s.rate for s in group],
        )
        for s, value, b in zip(group, levels, binds):  # noqa: B905 - same length by construction
            s.level = value
            s.bind = s.hi_bind if b == BIND_HI else "minimum" if b == BIND_IDLE else constraint_node(site, b)
            used = (value if value > s.free else s.free) - (s.lo if s.lo > s.free else s.free)
            if used > 0:
                for c, k in zip(s.cons, s.coefs):  # noqa: B905
                    rem[c] -= k * used

    _round(granted, rem)
    _keep_unclaimed(granted, rem)
    return SiteAllocation(at=now, evses={s.key: _result(s, now) for s in sorted(sessions, key=lambda s: s.key)})


# ---- headroom ---------------------------------------------------------------------------------------------


def _headroom(
    site: CompiledSite,
    cap: list[float],
    fallbacks: Mapping[EvseKey, float],
    reserved: Mapping[EvseKey, tuple[float, int]],
) -> list[float]:
    """Headroom once every EVSE's floor (fallback, or reserved worst case) is counted.

    Floors are added up at each EVSE's own node first and carried up the tree once (children before parents),
    instead of walking every EVSE's chain: this runs for every EVSE of the site, not only those with a session.
    """
    n = site.n_nodes
    off_w = 3 * n
    acc = [0.0] * (4 * n)
    index, chains, wiring, phases_of, evses = site.evse_index, site.chains, site.wiring, site.evse_phases, site.evses
    for key, f in fallbacks.items():
        if f <= 0 or key in reserved:
            continue
        i = index.get(key)
        if i is None:
            continue
        j = chains[i][0]
        w = wiring[i]
        e = phases_of[i]
        base = 3 * j
        acc[base + w[0]] += f
        if e > 1:
            acc[base + w[1]] += f
            if e > 2:
                acc[base + w[2]] += f
        acc[off_w + j] += evses[i].voltage_v * f * e
    for key, (current, phases) in reserved.items():
        i = index.get(key)
        if i is None:
            continue
        loads = [0.0, 0.0, 0.0]
        w = wiring[i]
        f = fallbacks.get(key, 0.0)
        if f > 0:
            for p in range(phases_of[i]):
                loads[w[p]] = f
        for p in range(max(1, min(3, phases))):
            if current > loads[w[p]]:
                loads[w[p]] = current
        j = chains[i][0]
        for p in range(3):
            acc[3 * j + p] += loads[p]
        acc[off_w + j] += evses[i].voltage_v * (loads[0] + loads[1] + loads[2])
    parent = site.parent
    for j in site.bottom_up:
        q = parent[j]
        if q >= 0:
            acc[3 * q] += acc[3 * j]
            acc[3 * q + 1] += acc[3 * j + 1]
            acc[3 * q + 2] += acc[3 * j + 2]
            acc[off_w + q] += acc[off_w + j]
    return [c - a for c, a in zip(cap, acc)]  # noqa: B905 - both 4N long


# ---- per-session facts ------------------------------------------------------------------------------------


def _switchable(s: _Session, site: CompiledSite) -> bool:
    """3→1 switching applies to a three-phase AC EVSE that can switch, with an EV that can take three phases (an
    EV seen on one phase counts as three-phase if the one phase was the allocator's own doing)."""
    if s.dc or not s.spec.can_switch_phases or site.evse_phases[s.i] != 3:
        return False
    if s.prev is not None and s.prev.phase_switched:
        return True
    return s.phases == 3


_Table = dict[tuple[int, int], tuple[list[int], list[float]]]


def _constraint_table(site: CompiledSite, cap: list[float]) -> _Table:
    """Constraint lists per (EVSE, phases), kept per topology while the set of limited constraints is the same
    (they depend only on the tree, the wiring and which limits exist: the common case from one call to the next).
    The lists are shared: nothing may change them."""
    mask = bytes(c != INF for c in cap)
    memo = site.memo.get("constraints")
    if isinstance(memo, tuple) and memo[0] == mask:
        return memo[1]  # type: ignore[no-any-return]
    table: _Table = {}
    site.memo["constraints"] = (mask, table)
    return table


def _constraints(s: _Session, site: CompiledSite, cap: list[float], phases: int, table: _Table) -> tuple[
    list[int], list[float]
]:
    hit = table.get((s.i, phases))
    if hit is None:
        hit = table[s.i, phases] = _build_constraints(s, site, cap, phases)
    return hit


def _build_constraints(s: _Session, site: CompiledSite, cap: list[float], phases: int) -> tuple[
    list[int], list[float]
]:
    wiring = site.wiring[s.i]
    used = (0, 1, 2) if s.dc else tuple(wiring[p] for p in range(phases))
    coef_a = 1.0 / (3 * s.voltage) if s.dc else 1.0
    coef_w = 1.0 if s.dc else phases * s.voltage
    off_w = 3 * site.n_nodes
    cons: list[int] = []
    coefs: list[float] = []
    for j in site.chains[s.i]:
        for g in used:
            c = 3 * j + g
            if cap[c] != INF:
                cons.append(c)
                coefs.append(coef_a)
        c = off_w + j
        if cap[c] != INF:
            cons.append(c)
            coefs.append(coef_w)
    return cons, coefs


def _fits(rem: list[float], cons: list[int], coefs: list[float], amount: float) -> int:
    """-1 if ``amount`` (level above the fallback) fits every constraint, else the first one that refuses it."""
    if amount <= 0:
        return -1
    for c, k in zip(cons, coefs):  # noqa: B905 - equal lengths by construction; hot loop
        if rem[c] < k * amount - _EPS:
            return c
    return -1


def _consume(rem: list[float], s: _Session, amount: float) -> None:
    if amount <= 0:
        return
    for c, k in zip(s.cons, s.coefs):  # noqa: B905 - equal lengths by construction; hot loop
        rem[c] -= k * amount


def _is_running(s: _Session) -> bool:
    return s.prev is not None and not s.prev.paused


def _grant_order(s: _Session) -> tuple[int, int, datetime, EvseKey]:
    return (-s.demand.priority, 0 if _is_running(s) else 1, s.demand.started_at, s.key)


# ---- minimum or nothing, with hysteresis and 3→1 switching ---------------------------------------------------


def _grant(
    s: _Session, site: CompiledSite, cap: list[float], table: _Table, rem: list[float], now: datetime,
    policy: AllocationPolicy,
) -> None:
    prev = s.prev
    d = s.demand
    if (d.max_power_w is not None and d.max_power_w <= 0) or (
        not s.dc and d.max_current_a is not None and d.max_current_a <= 0
    ):
        _pause(s, "plan", now)  # asks for nothing now (a charging plan's pause): not even the minimum
        return
    was_paused = prev is not None and prev.paused
    margin = policy.resume_margin_a * s.unit if was_paused else 0.0
    need = s.lo + margin - s.free
    switchable = _switchable(s, site)
    s.phase_switched = switchable and prev is not None and prev.phase_switched
    if (
        was_paused and prev is not None and prev.charged and prev.paused_since is not None
        and prev.binding != "plan"  # a plan's pause ends on the plan's own 15-minute slots: nothing flaps there
        and _seconds(now, prev.paused_since) < policy.min_pause_s
    ):
        if switchable:
            s.phases = 1 if s.phase_switched else 3
        _pause(s, "minimum", now)
        return

    if not switchable:
        s.cons, s.coefs = _constraints(s, site, cap, s.phases, table)
        refused = _fits(rem, s.cons, s.coefs, need)
        if refused >= 0:
            _pause(s, constraint_node(site, refused), now)
            return
        _take(s, rem, now)
        return

    cons3, coefs3 = _constraints(s, site, cap, 3, table)
    cons1, coefs1 = _constraints(s, site, cap, 1, table)
    if s.phase_switched and not was_paused:
        # Running on one phase: back to three only once three (plus the margin) has fitted for phase_hold_s.
        margin3 = policy.resume_margin_a * s.unit
        fits3 = _fits(rem, cons3, coefs3, s.lo + margin3 - s.free) < 0
        since = ((prev.three_phase_fits_since if prev is not None else None) or now) if fits3 else None
        if fits3 and since is not None and _seconds(now, since) >= policy.phase_hold_s:
            s.phases, s.cons, s.coefs, s.phase_switched = 3, cons3, coefs3, False
            _take(s, rem, now)
            return
        s.phases, s.cons, s.coefs = 1, cons1, coefs1
        refused = _fits(rem, cons1, coefs1, need)
        if refused >= 0:
            _pause(s, constraint_node(site, refused), now)
            return
        s.three_fits_since = since
        _take(s, rem, now)
        return

    # Running on three phases, paused, or new: three phases if they fit, else one, else pause.
    if _fits(rem, cons3, coefs3, need) < 0:
        s.phases, s.cons, s.coefs, s.phase_switched = 3, cons3, coefs3, False
        _take(s, rem, now)
        return
    refused = _fits(rem, cons1, coefs1, need)
    if refused < 0:
        s.phases, s.cons, s.coefs, s.phase_switched = 1, cons1, coefs1, True
        _take(s, rem, now)
        return
    s.phases = 1 if s.phase_switched else 3
    _pause(s, constraint_node(site, refused), now)


def _take(s: _Session, rem: list[float], now: datetime) -> None:
    s.granted = True
    s.level = s.lo
    _consume(rem, s, s.lo - s.free)
    s.phases_since = now if s.prev is None or s.prev.phases != s.phases else (s.prev.phases_since or now)


def _pause(s: _Session, binding: str, now: datetime) -> None:
    s.granted = False
    s.level = 0.0
    s.bind = binding
    prev = s.prev
    s.paused_since = prev.paused_since if prev is not None and prev.paused and prev.paused_since else now
    s.phases_since = now if prev is None or prev.phases != s.phases else (prev.phases_since or now)


# ---- ceilings and reclaim ---------------------------------------------------------------------------------


def _measured(s: _Session) -> float | None:
    d = s.demand
    if s.dc:
        return d.measured_w
    if d.measured_a is not None:
        return max(d.measured_a)
    if d.measured_w is not None:
        return d.measured_w / (s.phases * s.voltage)
    return None


def _prev_level(prev: EvseAllocation, s: _Session) -> float:
    if s.dc:
        return prev.power_w if prev.power_w is not None else prev.current_a * s.unit
    return prev.current_a


def _ceiling(s: _Session, now: datetime, policy: AllocationPolicy) -> None:
    """The session's own ceiling and what sets it (ties: the reclaim cap, then the EV, then the EVSE)."""
    spec, d = s.spec, s.demand
    name = "evse"
    if s.dc:
        value = spec.max_power_w if spec.max_power_w is not None else spec.max_current_a * s.unit
        if d.max_power_w is not None and d.max_power_w <= value:
            value, name = d.max_power_w, "ev"
    else:
        per_phase_w = s.phases * s.voltage
        value = spec.max_current_a
        if spec.max_power_w is not None and spec.max_power_w / per_phase_w < value:
            value = spec.max_power_w / per_phase_w
        if d.max_current_a is not None and d.max_current_a <= value:
            value, name = d.max_current_a, "ev"
        if d.max_power_w is not None and d.max_power_w / per_phase_w <= value:
            value, name = d.max_power_w / per_phase_w, "ev"
    s.hi_own = value if value > s.lo else s.lo
    if s.prev is not None:
        s.reclaim_cap = cap = _reclaim(s, now, policy)
        if cap is not None and cap <= value:
            value, name = cap, "demand"
        elif cap is None:
            held = _not_drawn_yet(s, now, policy)
            if held is not None and held < value:
                value, name = held, "demand"
    if value < s.lo:  # an EV whose own maximum is below the minimum still gets the minimum (min or nothing)
        value = s.lo
    s.hi, s.hi_bind = value, name


def _recent_draw(s: _Session, now: datetime, policy: AllocationPolicy) -> tuple[float, datetime] | None:
    """What the session draws and when that was measured, if the measurement is young enough to go by (a meter
    that went quiet proves nothing: the session keeps its full demand)."""
    measured = _measured(s)
    if measured is None:
        return None
    at = s.demand.measured_at or now
    if _seconds(now, at) > policy.measurement_max_age_s:
        return None
    return measured, at


def _reclaim(s: _Session, now: datetime, policy: AllocationPolicy) -> float | None:
    prev = s.prev
    if prev is None or prev.paused:
        return None
    draw = _recent_draw(s, now, policy)
    if draw is None:
        return None
    measured, at = draw
    if prev.raised_at is not None and _seconds(at, prev.raised_at) < policy.reclaim_after_s:
        return prev.reclaim_cap  # too early to judge: keep what was decided
    margin = policy.reclaim_margin_a * s.unit
    if prev.reclaim_cap is not None:
        if measured > prev.reclaim_cap - margin + 1e-6 * s.unit:
            return None  # the EV draws up to its cap again: give it back its full demand
        return max(measured + margin, s.lo)
    if measured < _prev_level(prev, s) - margin - 1e-6 * s.unit:
        return max(measured + margin, s.lo)
    return None


def _not_drawn_yet(s: _Session, now: datetime, policy: AllocationPolicy) -> float | None:
    """The previous level, for a session that draws less than it (by more than the reclaim margin) while its draw
    cannot be judged yet (``reclaim_after_s`` after a raise): it gets no more until it can be. More would not be
    drawn, and every raise restarts the wait for its reclaim: reclaiming one session raised the others, which
    put their own reclaim off, and so on, a write each time (the load benchmark: EVs drawing 16 A under 19 A)."""
    prev = s.prev
    if prev is None or prev.paused or prev.phases != s.phases or prev.reclaim_cap is not None:
        return None
    draw = _recent_draw(s, now, policy)
    if draw is None:
        return None
    measured, _ = draw
    level = _prev_level(prev, s)
    if measured < level - policy.reclaim_margin_a * s.unit - 1e-6 * s.unit:
        return level
    return None


def _keep_unclaimed(granted: list[_Session], rem: list[float]) -> None:
    """A reclaimed session keeps its previous level where that still fits in what nobody took (all or nothing, by
    priority, then key): a reclaim that frees capacity nobody wants would only be a write for nothing."""
    for s in sorted(granted, key=lambda s: (-s.demand.priority, s.key)):
        prev = s.prev
        if s.reclaim_cap is None or prev is None or prev.paused or prev.phases != s.phases:
            continue
        before = _prev_level(prev, s)
        if before <= s.level + _EPS or before > s.hi_own + _EPS:
            continue
        amount = max(before, s.free) - max(s.level, s.free)
        if _fits(rem, s.cons, s.coefs, amount) < 0:
            _consume(rem, s, amount)
            s.level = before


# ---- rounding -----------------------------------------------------------------------------------------------


def _round(granted: list[_Session], rem: list[float]) -> None:
    """Floor to steps (never below the minimum granted), then hand out whole steps where they still fit."""
    short: list[tuple[int, float, EvseKey, _Session]] = []  # sessions flooring took something from
    floor = math.floor
    for s in granted:
        exact = s.level
        floored = round(floor(exact / s.step + 1e-9) * s.step, 9)
        if floored < s.lo:
            floored = s.lo
        if floored == exact:
            continue
        # give back what flooring frees (rem was charged for the exact level; a level a hair under a whole step
        # is floored up to it, which costs at most 1e-9 of a step)
        freed = max(exact, s.free) - max(floored, s.free)
        if freed:
            for c, k in zip(s.cons, s.coefs):  # noqa: B905 - equal lengths by construction; hot loop
                rem[c] += k * freed
        s.level = floored
        if exact - floored > 1e-9:
            short.append((-s.demand.priority, -(exact - floored) / s.step, s.key, s))
    short.sort(key=lambda row: row[:3])
    for _, _, _, s in short:
        candidate = round(s.level + s.step, 9)
        if candidate > s.hi + 1e-9:
            continue
        amount = max(candidate, s.free) - max(s.level, s.free)
        if _fits(rem, s.cons, s.coefs, amount) < 0:
            _consume(rem, s, amount)
            s.level = candidate


# ---- result --------------------------------------------------------------------------------------------------


def _result(s: _Session, now: datetime) -> EvseAllocation:
    """The session's allocation; the previous object itself when nothing changed (most of them, most of the
    time: building a frozen dataclass costs more than comparing one)."""
    prev = s.prev
    if not s.granted:
        if (
            prev is not None and prev.paused and prev.phases == s.phases and prev.binding == s.bind
            and prev.paused_since == s.paused_since and prev.phases_since == s.phases_since
            and prev.phase_switched == s.phase_switched
        ):
            return prev
        return EvseAllocation(
            key=s.key, current_a=0.0, phases=s.phases, power_w=0.0 if s.dc else None, paused=True,
            binding=s.bind, paused_since=s.paused_since, phases_since=s.phases_since,
            phase_switched=s.phase_switched, charged=prev is not None and prev.charged,
        )
    raised_at = now
    if (
        prev is not None and not prev.paused and prev.raised_at is not None
        and s.level <= _prev_level(prev, s) + 1e-9
    ):
        raised_at = prev.raised_at
    current = s.level / s.unit if s.dc else s.level
    if (
        prev is not None and not prev.paused and prev.current_a == current and prev.phases == s.phases
        and prev.binding == s.bind and prev.raised_at == raised_at and prev.reclaim_cap == s.reclaim_cap
        and prev.phases_since == s.phases_since and prev.phase_switched == s.phase_switched
        and prev.three_phase_fits_since == s.three_fits_since and prev.power_w == (s.level if s.dc else None)
        and prev.charged
    ):
        return prev
    return EvseAllocation(
        key=s.key, current_a=current, phases=s.phases, power_w=s.level if s.dc else None, paused=False,
        binding=s.bind, paused_since=None, phases_since=s.phases_since, reclaim_cap=s.reclaim_cap,
        phase_switched=s.phase_switched, three_phase_fits_since=s.three_fits_since, raised_at=raised_at,
        charged=True,
    )
