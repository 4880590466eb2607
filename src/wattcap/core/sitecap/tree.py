"""The site tree compiled into flat, index-based arrays, and each node's headroom as numbers.

Why a compiled form: the allocator and the coordinator both walk "every ancestor of this EVSE, on every grid
phase it loads" for thousands of EVSEs, many times a second. Strings, dataclasses and dict look-ups on that path
cost more than the arithmetic, so the tree is turned once into integer indices (node ``j`` owns phase constraints
``3j``, ``3j+1``, ``3j+2`` and power constraint ``3N+j``) and EVSE chains (node indices from the EVSE's own node
up to the root). A compiled site is cached per :class:`SiteTopology` object (topologies are immutable).

Headroom (:func:`capacities`) is what a node may still carry for EVs: the lower of its static limit and the limit
in force now (:class:`NodeLimit`; with ``safe=True`` also its safe limit, for the offline fallback), minus its
margin, minus the non-EV load measured on that node. ``non_ev_load_a`` is read as what flows *through* the node
(a meter on the node, EVs subtracted), so it is not added to the node's ancestors; the shell's
``resolve_limits`` gives each node the reading of its own meter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from wattcap.core.sitecap.model import EvseKey, EvseSpec, GridPhase, NodeLimit, SiteTopology
from wattcap.core.station import CurrentType

__all__ = ["INF", "CompiledSite", "TopologyError", "capacities", "compile_site", "constraint_node", "node_limits"]

INF = math.inf
_PHASE_INDEX = {GridPhase.L1: 0, GridPhase.L2: 1, GridPhase.L3: 2}


class TopologyError(ValueError):
    """The site tree is not a tree: a duplicate id, a missing parent or node, no root or several, or a cycle."""


@dataclass(frozen=True, slots=True, eq=False)
class CompiledSite:
    """Index form of a :class:`SiteTopology`. ``chains[i]`` are the node indices from EVSE ``i``'s node up to the
    root; ``wiring[i]`` the grid phase indices (0..2) of its L1, L2, L3; ``evse_phases[i]`` how many phases it
    can load (3 for DC: a DC charger draws balanced three-phase AC)."""

    topology: SiteTopology
    node_ids: tuple[str, ...]
    node_index: Mapping[str, int]
    parent: tuple[int, ...]
    evses: tuple[EvseSpec, ...]
    evse_index: Mapping[EvseKey, int]
    chains: tuple[tuple[int, ...], ...]
    wiring: tuple[tuple[int, int, int], ...]
    evse_phases: tuple[int, ...]
    is_dc: tuple[bool, ...]
    bottom_up: tuple[int, ...]  # node indices, deepest first: a child always comes before its parent
    #: scratch the allocator keeps per topology (constraint lists per EVSE for the last set of finite limits)
    memo: dict[str, object] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)


def constraint_node(compiled: CompiledSite, c: int) -> str:
    """The node id owning constraint index ``c``."""
    n = compiled.n_nodes
    return compiled.node_ids[c // 3] if c < 3 * n else compiled.node_ids[c - 3 * n]


_CACHE: dict[int, CompiledSite] = {}
_CACHE_MAX = 32


def compile_site(topology: SiteTopology) -> CompiledSite:
    """The compiled form of ``topology`` (cached per object: the entry holds the topology, so its id stays valid)."""
    hit = _CACHE.get(id(topology))
    if hit is not None and hit.topology is topology:
        return hit
    compiled = _compile(topology)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[id(topology)] = compiled
    return compiled


def _compile(topology: SiteTopology) -> CompiledSite:
    node_index: dict[str, int] = {}
    for j, node in enumerate(topology.nodes):
        if node.id in node_index:
            raise TopologyError(f"node {node.id!r} appears twice")
        node_index[node.id] = j
    roots = [node.id for node in topology.nodes if node.parent is None]
    if len(roots) != 1:
        raise TopologyError(f"a site has exactly one root node, found {roots or 'none'}")
    parent: list[int] = []
    for node in topology.nodes:
        if node.parent is None:
            parent.append(-1)
        elif node.parent not in node_index:
            raise TopologyError(f"node {node.id!r} names a parent {node.parent!r} that does not exist")
        else:
            parent.append(node_index[node.parent])
    node_chains: list[tuple[int, ...]] = []
    for j in range(len(parent)):
        chain = [j]
        k = parent[j]
        while k >= 0:
            if len(chain) > len(parent):
                raise TopologyError(f"node {topology.nodes[j].id!r} is in a cycle")
            chain.append(k)
            k = parent[k]
        node_chains.append(tuple(chain))
    evse_index: dict[EvseKey, int] = {}
    chains: list[tuple[int, ...]] = []
    wiring: list[tuple[int, int, int]] = []
    phases: list[int] = []
    is_dc: list[bool] = []
    for i, evse in enumerate(topology.evses):
        if evse.key in evse_index:
            raise TopologyError(f"EVSE {evse.key} appears twice")
        if evse.node not in node_index:
            raise TopologyError(f"EVSE {evse.key} is fed by node {evse.node!r}, which does not exist")
        if len(set(evse.wiring)) != 3:
            raise TopologyError(f"EVSE {evse.key}: wiring {evse.wiring} must name each grid phase once")
        evse_index[evse.key] = i
        chain = node_chains[node_index[evse.node]]
        chains.append(chain)
        wiring.append(tuple(_PHASE_INDEX[GridPhase(p)] for p in evse.wiring))  # type: ignore[arg-type]
        dc = evse.current_type is CurrentType.DC
        is_dc.append(dc)
        phases.append(3 if dc else max(1, min(3, evse.phases)))
    return CompiledSite(
        topology=topology,
        node_ids=tuple(node.id for node in topology.nodes),
        node_index=node_index,
        parent=tuple(parent),
        evses=topology.evses,
        evse_index=evse_index,
        chains=tuple(chains),
        wiring=tuple(wiring),
        evse_phases=tuple(phases),
        is_dc=tuple(is_dc),
        bottom_up=tuple(sorted(range(len(parent)), key=lambda j: (-len(node_chains[j]), j))),
    )


def _lowest(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def node_limits(
    compiled: CompiledSite, limits: Mapping[str, NodeLimit], *, safe: bool = False
) -> tuple[list[float], list[float]]:
    """Each node's limit before margins and non-EV load: per phase A and total W (``INF`` where none)."""
    lim_a: list[float] = []
    lim_w: list[float] = []
    for node in compiled.topology.nodes:
        lim = limits.get(node.id)
        a = _lowest(node.max_current_a, lim.current_a if lim else None, node.safe_current_a if safe else None)
        w = _lowest(node.max_power_w, lim.power_w if lim else None, node.safe_power_w if safe else None)
        lim_a.append(INF if a is None else a)
        lim_w.append(INF if w is None else w)
    return lim_a, lim_w


def capacities(compiled: CompiledSite, limits: Mapping[str, NodeLimit], *, safe: bool = False) -> list[float]:
    """Headroom for EVs per constraint index (``3j+p`` phase A, ``3N+j`` W): limit − margin − non-EV load.

    May be negative (the building alone is over); ``INF`` where the node has no limit of that kind.
    """
    lim_a, lim_w = node_limits(compiled, limits, safe=safe)
    n = compiled.n_nodes
    cap = [INF] * (4 * n)
    for j, node in enumerate(compiled.topology.nodes):
        lim = limits.get(node.id)
        load = lim.non_ev_load_a if lim is not None else (0.0, 0.0, 0.0)
        if lim_a[j] != INF:
            for p in range(3):
                cap[3 * j + p] = lim_a[j] - node.margin_a - load[p]
        if lim_w[j] != INF:
            cap[3 * n + j] = lim_w[j] - node.margin_w - node.voltage_v * (load[0] + load[1] + load[2])
    return cap
