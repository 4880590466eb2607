"""An independent, deliberately naive statement of what the site-cap allocator must compute.

Nothing here imports the allocator's code (only the plain data model). It recomputes footprints per grid phase by
walking each EVSE's ancestors, grants minimums by trying them one at a time against a full feasibility check, and
does weighted progressive filling by bisection on the water level: slow (sessions × nodes × 60 per step) and
obviously correct. Used by the property tests on small random sites with ``previous=None`` (every session new).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from wattcap.core.sitecap.model import EvseKey, EvseSpec, NodeLimit, SessionDemand, SiteTopology
from wattcap.core.station import CurrentType

PHASE = {"L1": 0, "L2": 1, "L3": 2}
TOL = 1e-9


def is_dc(evse: EvseSpec) -> bool:
    return evse.current_type is CurrentType.DC


def ancestors(topology: SiteTopology, node_id: str) -> list[str]:
    parents = {n.id: n.parent for n in topology.nodes}
    out = [node_id]
    while parents[out[-1]] is not None:
        out.append(parents[out[-1]])  # type: ignore[arg-type]
    return out


def node_caps(topology: SiteTopology, limits: Mapping[str, NodeLimit]) -> dict[str, tuple[list[float], float]]:
    """Per node: headroom for EVs per grid phase (A) and in W; inf where unlimited."""
    out: dict[str, tuple[list[float], float]] = {}
    for node in topology.nodes:
        lim = limits.get(node.id, NodeLimit())
        a_values = [v for v in (node.max_current_a, lim.current_a) if v is not None]
        w_values = [v for v in (node.max_power_w, lim.power_w) if v is not None]
        a = min(a_values) if a_values else float("inf")
        w = min(w_values) if w_values else float("inf")
        load = lim.non_ev_load_a
        out[node.id] = (
            [a - node.margin_a - load[p] for p in range(3)],
            w - node.margin_w - node.voltage_v * sum(load),
        )
    return out


def footprint(
    evse: EvseSpec, level: float | None, phases: int, fallback: float, reserved: tuple[float, int] | None
) -> list[float]:
    """Grid-phase currents: max of the fallback on all the EVSE's phases, a reservation, and the level."""
    loads = [0.0, 0.0, 0.0]
    evse_phases = 3 if is_dc(evse) else evse.phases
    for p in range(evse_phases):
        g = PHASE[evse.wiring[p]]
        loads[g] = max(loads[g], fallback)
    if reserved is not None:
        for p in range(reserved[1]):
            g = PHASE[evse.wiring[p]]
            loads[g] = max(loads[g], reserved[0])
    if level is not None:
        if is_dc(evse):
            per = level / (3 * evse.voltage_v)
            loads = [max(v, per) for v in loads]
        else:
            for p in range(phases):
                g = PHASE[evse.wiring[p]]
                loads[g] = max(loads[g], level)
    return loads


@dataclass
class RefSession:
    demand: SessionDemand
    evse: EvseSpec
    lo: float
    hi: float
    rate: float
    phases: int
    level: float | None = None  # None: paused


def session_bounds(evse: EvseSpec, demand: SessionDemand) -> tuple[float, float, float, int]:
    """(minimum, ceiling, rate, phases) in the allocator's level units (A per phase; W for DC)."""
    if is_dc(evse):
        lo = max(evse.min_power_w, evse.step_w)
        ceilings = [evse.max_power_w if evse.max_power_w is not None else evse.max_current_a * 3 * evse.voltage_v]
        if demand.max_power_w is not None:
            ceilings.append(demand.max_power_w)
        return lo, max(lo, min(ceilings)), demand.weight * 3 * evse.voltage_v, 3
    phases = min(demand.phases_in_use or evse.phases, evse.phases)
    lo = evse.min_current_a
    ceilings = [evse.max_current_a]
    if evse.max_power_w is not None:
        ceilings.append(evse.max_power_w / (phases * evse.voltage_v))
    if demand.max_current_a is not None:
        ceilings.append(demand.max_current_a)
    if demand.max_power_w is not None:
        ceilings.append(demand.max_power_w / (phases * evse.voltage_v))
    return lo, max(lo, min(ceilings)), demand.weight, phases


def reference_allocation(
    topology: SiteTopology,
    limits: Mapping[str, NodeLimit],
    demands: Sequence[SessionDemand],
    fallbacks: Mapping[EvseKey, float],
    reserved: Mapping[EvseKey, tuple[float, int]],
) -> dict[EvseKey, tuple[float | None, int]]:
    """Per active session: (level or None if paused, phases) of the weighted max-min fair allocation."""
    caps = node_caps(topology, limits)
    evses = {e.key: e for e in topology.evses}
    chains = {e.key: ancestors(topology, e.node) for e in topology.evses}
    sessions: dict[EvseKey, RefSession] = {}
    for d in demands:
        if d.key in reserved:
            continue
        evse = evses[d.key]
        lo, hi, rate, phases = session_bounds(evse, d)
        sessions[d.key] = RefSession(d, evse, lo, hi, rate, phases)

    def feasible() -> bool:
        totals: dict[str, list[float]] = {n.id: [0.0, 0.0, 0.0, 0.0] for n in topology.nodes}
        for e in topology.evses:
            s = sessions.get(e.key)
            fp = footprint(
                e, s.level if s else None, s.phases if s else 0, fallbacks.get(e.key, 0.0), reserved.get(e.key)
            )
            for node in chains[e.key]:
                for p in range(3):
                    totals[node][p] += fp[p]
                totals[node][3] += e.voltage_v * sum(fp)
        for node, (cap_a, cap_w) in caps.items():
            t = totals[node]
            if any(t[p] > cap_a[p] + TOL for p in range(3)) or t[3] > cap_w + TOL * 1000:
                return False
        return True

    # 1. minimums, one at a time, in the documented order (callers make sure the site is feasible with every
    #    session paused, so "feasible" means "this session's minimum fits")
    for s in sorted(sessions.values(), key=lambda s: (-s.demand.priority, s.demand.started_at, s.demand.key)):
        s.level = s.lo
        if not feasible():
            s.level = None
    # 2. progressive filling per priority class, by bisection on the water level
    for priority in sorted({s.demand.priority for s in sessions.values()}, reverse=True):
        active = [s for s in sessions.values() if s.level is not None and s.demand.priority == priority]
        frozen: set[EvseKey] = set()
        t = 0.0

        def set_levels(level_t: float, active: list[RefSession] = active, frozen: set[EvseKey] = frozen) -> None:
            for s in active:
                if s.demand.key not in frozen:
                    s.level = min(s.hi, max(s.lo, s.rate * level_t))

        for s in active:
            if s.rate <= 0:
                frozen.add(s.demand.key)
        for _ in range(10 * len(active) + 10):
            moving = [s for s in active if s.demand.key not in frozen]
            if not moving:
                break
            top = max(s.hi / s.rate for s in moving)
            low, high = t, top
            set_levels(high)
            if not feasible():
                for _ in range(80):
                    mid = (low + high) / 2
                    set_levels(mid)
                    if feasible():
                        low = mid
                    else:
                        high = mid
                set_levels(low)
                t = low
            else:
                t = high
            for s in moving:
                assert s.level is not None
                if s.level >= s.hi - 1e-9:
                    frozen.add(s.demand.key)
                    continue
                before = s.level
                s.level = before + 1e-6
                if not feasible():
                    frozen.add(s.demand.key)
                s.level = before
    return {k: (s.level, s.phases) for k, s in sessions.items()}


def base_feasible(
    topology: SiteTopology,
    limits: Mapping[str, NodeLimit],
    fallbacks: Mapping[EvseKey, float],
    reserved: Mapping[EvseKey, tuple[float, int]],
) -> bool:
    """Whether the site is within its limits with every session paused (fallbacks and reservations only)."""
    return not reference_violations(topology, limits, {
        e.key: footprint(e, None, 0, fallbacks.get(e.key, 0.0), reserved.get(e.key)) for e in topology.evses
    })


def reference_violations(
    topology: SiteTopology, limits: Mapping[str, NodeLimit], footprints: Mapping[EvseKey, Sequence[float]]
) -> list[tuple[str, str, float, float]]:
    """(node, "L1".."L3"/"W", load, headroom) wherever the footprints exceed a node's headroom for EVs."""
    caps = node_caps(topology, limits)
    evses = {e.key: e for e in topology.evses}
    out = []
    for node in topology.nodes:
        cap_a, cap_w = caps[node.id]
        t = [0.0, 0.0, 0.0, 0.0]
        for key, fp in footprints.items():
            if node.id in ancestors(topology, evses[key].node):
                for p in range(3):
                    t[p] += fp[p]
                t[3] += evses[key].voltage_v * sum(fp)
        for p in range(3):
            if t[p] > cap_a[p] + 1e-6:
                out.append((node.id, f"L{p + 1}", t[p], cap_a[p]))
        if t[3] > cap_w + 1e-3:
            out.append((node.id, "W", t[3], cap_w))
    return out
