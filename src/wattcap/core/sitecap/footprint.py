"""Footprints: what an EVSE may draw from the grid, per grid phase, and the site invariant built on them.

Why a footprint and not the allocation: what protects a fuse is not what wattcap *wants* an EVSE to draw but the
most it *may* draw given everything the charger could be holding. An EVSE's footprint is the per-grid-phase
maximum of its fallback (TxDefault: what it draws on its own, for a new session or once a lease lapses), every
session limit that is in force or in flight (a write not yet acknowledged may already be applied), or its worst
case (its own maximum) when it did not acknowledge a write. The invariant compares the sum of footprints with
each node's limit:

    for every node n, every grid phase p:   Σ_{EVSE e below n} footprint_e[p] + non_ev_load_n[p] + margin_a_n
                                            ≤ min(static max_current_a_n, NodeLimit.current_a_n)
    and for power:  Σ_e V_e · Σ_p footprint_e[p] + V_n · Σ_p non_ev_load_n[p] + margin_w_n
                                            ≤ min(static max_power_w_n, NodeLimit.power_w_n)

Per-phase currents are on *grid* phases: an EVSE wired (L2, L3, L1) loads grid L2 with its L1. A DC EVSE's power
P loads every grid phase with P / (3·V).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from wattcap.core.sitecap.model import EvseSpec, NodeLimit, PhaseCurrents, SiteTopology
from wattcap.core.sitecap.tree import INF, compile_site, node_limits
from wattcap.core.station import CurrentType

__all__ = [
    "ZERO",
    "Violation",
    "evse_footprint",
    "fallback_footprint",
    "footprint_violations",
    "max_footprint",
    "node_loads",
    "worst_case",
    "worst_case_footprint",
]

ZERO: PhaseCurrents = (0.0, 0.0, 0.0)
_IDX = {"L1": 0, "L2": 1, "L3": 2}


def _grid(spec: EvseSpec, ev_phases: int, current_a: float) -> PhaseCurrents:
    loads = [0.0, 0.0, 0.0]
    for p in range(ev_phases):
        loads[_IDX[spec.wiring[p]]] = current_a
    return (loads[0], loads[1], loads[2])


def evse_footprint(spec: EvseSpec, current_a: float, phases: int, *, power_w: float | None = None) -> PhaseCurrents:
    """Grid-phase currents of a limit on ``spec``: ``current_a`` on the EVSE's first ``phases`` phases through its
    wiring (AC), or ``power_w / (3·V)`` on all three (DC; ``current_a`` is used if no power is given)."""
    if spec.current_type is CurrentType.DC:
        per_phase = power_w / (3 * spec.voltage_v) if power_w is not None else current_a
        return (per_phase, per_phase, per_phase)
    return _grid(spec, max(1, min(3, phases, spec.phases)), current_a)


def fallback_footprint(spec: EvseSpec, fallback_a: float) -> PhaseCurrents:
    """The fallback's grid-phase currents: the share on every phase the EVSE can supply (any EV may plug in)."""
    phases = 3 if spec.current_type is CurrentType.DC else spec.phases
    return _grid(spec, max(1, min(3, phases)), fallback_a)


def worst_case(spec: EvseSpec) -> tuple[float, int]:
    """``(current_a, phases)``: the most an EVSE can draw, for an EVSE whose state is unknown (``reserved``)."""
    if spec.current_type is CurrentType.DC:
        per_phase = spec.max_power_w / (3 * spec.voltage_v) if spec.max_power_w is not None else spec.max_current_a
        return per_phase, 3
    current = spec.max_current_a
    if spec.max_power_w is not None:
        current = min(current, spec.max_power_w / (spec.phases * spec.voltage_v))
    return current, spec.phases


def worst_case_footprint(spec: EvseSpec) -> PhaseCurrents:
    current, phases = worst_case(spec)
    return _grid(spec, phases, current)


def max_footprint(*footprints: PhaseCurrents) -> PhaseCurrents:
    """Per grid phase maximum (a write in flight counts as the larger of before and after)."""
    if not footprints:
        return ZERO
    return (
        max(f[0] for f in footprints),
        max(f[1] for f in footprints),
        max(f[2] for f in footprints),
    )


@dataclass(frozen=True, slots=True)
class Violation:
    """Node ``node`` carries ``load`` (EV footprints + non-EV load + margin) above ``limit`` on ``dimension``
    (``"L1"``, ``"L2"``, ``"L3"`` in A, or ``"W"``)."""

    node: str
    dimension: str
    load: float
    limit: float

    @property
    def excess(self) -> float:
        return self.load - self.limit


def node_loads(
    topology: SiteTopology, limits: Mapping[str, NodeLimit], footprints: Mapping[tuple[str, int], PhaseCurrents]
) -> dict[str, tuple[float, float, float, float]]:
    """Per node: the load on L1, L2, L3 (A) and in W, counting EV footprints, non-EV load and the margin."""
    site = compile_site(topology)
    n = site.n_nodes
    acc = [[0.0, 0.0, 0.0, 0.0] for _ in range(n)]
    for key, fp in footprints.items():
        i = site.evse_index.get(key)
        if i is None:
            continue
        power = site.evses[i].voltage_v * (fp[0] + fp[1] + fp[2])
        for j in site.chains[i]:
            row = acc[j]
            row[0] += fp[0]
            row[1] += fp[1]
            row[2] += fp[2]
            row[3] += power
    out: dict[str, tuple[float, float, float, float]] = {}
    for j, node in enumerate(topology.nodes):
        lim = limits.get(node.id)
        load = lim.non_ev_load_a if lim is not None else ZERO
        row = acc[j]
        out[node.id] = (
            row[0] + load[0] + node.margin_a,
            row[1] + load[1] + node.margin_a,
            row[2] + load[2] + node.margin_a,
            row[3] + node.voltage_v * (load[0] + load[1] + load[2]) + node.margin_w,
        )
    return out


def footprint_violations(
    topology: SiteTopology,
    limits: Mapping[str, NodeLimit],
    footprints: Mapping[tuple[str, int], PhaseCurrents],
    *,
    tolerance: float = 1e-6,
) -> list[Violation]:
    """Every (node, phase or W) where the footprints, the node's non-EV load and its margin exceed the node's limit
    (the lower of its static limit and ``limits[node]``). Empty means the invariant holds."""
    site = compile_site(topology)
    lim_a, lim_w = node_limits(site, limits)
    loads = node_loads(topology, limits, footprints)
    out: list[Violation] = []
    for j, node in enumerate(topology.nodes):
        row = loads[node.id]
        if lim_a[j] != INF:
            for p, name in enumerate(("L1", "L2", "L3")):
                if row[p] > lim_a[j] + tolerance:
                    out.append(Violation(node.id, name, row[p], lim_a[j]))
        if lim_w[j] != INF and row[3] > lim_w[j] + tolerance * node.voltage_v:
            out.append(Violation(node.id, "W", row[3], lim_w[j]))
    return out
