"""Offline shares: the TxDefault fallback each EVSE holds so the site stays safe when wattcap is not there.

Why: a charger that loses its link, or whose session lease lapses, charges at its TxDefault on its own. The sum
of those fallbacks under every node must therefore fit the node's *safe* limit — the lower of its
``safe_current_a`` / ``safe_power_w`` (what it may be assumed to carry when every signal is stale), its static
limit, and the limit in force now (a grid drop lowers the fallbacks too) — per grid phase through each EVSE's
wiring, after the node's margin and its non-EV load now. A share is per phase on all the EVSE's phases (any EV
may plug in); for a DC EVSE it is the grid-side current per phase (the shell sends 3·V·A in W).

Policies (:class:`FallbackKind`):

* ``equal`` — the weighted max-min fair split of the safe headroom (equal unless a subtree is tighter), floored
  to the EVSE's step; a share below the EVSE's minimum becomes 0 (it could not charge anyway) and its capacity
  stays free.
* ``fixed`` — every EVSE gets ``fixed_a`` (capped at its own maximum, floored to its step);
  :class:`FallbackDoesNotFit` names the node and phase if that is too much.
* ``minimum`` — the EVSE's minimum for as many EVSEs as fit, in key order (station id, EVSE id), 0 for the rest.
* ``zero`` — 0 everywhere: nothing charges without wattcap.

``reserved`` EVSEs (unknown state: counted at their worst case) take that capacity and get a share of 0.

Mind the trade-off: the allocator counts every EVSE at no less than its fallback (an idle EVSE's share is
reserved: an EV may plug in while wattcap is gone). With ``equal`` over a safe limit equal to the static one,
the fallbacks use up the whole node, and the live allocation cannot give an active session more than its
fallback plus what idle EVSEs leave. A ``safe_current_a`` below the static limit, or ``minimum`` / ``zero``,
leaves room for smart charging above the offline floor.

The result depends on its inputs only, so the same site and limits give the same shares: chargers are not
rewritten (flash wear) unless something changed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from wattcap.core.sitecap.model import EvseKey, NodeLimit, SiteTopology
from wattcap.core.sitecap.tree import INF, CompiledSite, capacities, compile_site, constraint_node
from wattcap.core.sitecap.waterfill import waterfill

__all__ = ["FallbackDoesNotFit", "FallbackKind", "FallbackPolicy", "fallback_shares"]


class FallbackKind(StrEnum):
    EQUAL = "equal"
    FIXED = "fixed"
    MINIMUM = "minimum"
    ZERO = "zero"


@dataclass(frozen=True, slots=True)
class FallbackPolicy:
    """How offline shares are set. ``fixed_a`` is the amperage for ``fixed`` (A per phase)."""

    kind: FallbackKind = FallbackKind.EQUAL
    fixed_a: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", FallbackKind(self.kind))
        if self.kind is FallbackKind.FIXED and (self.fixed_a is None or self.fixed_a < 0):
            raise ValueError("a fixed fallback needs fixed_a >= 0")


class FallbackDoesNotFit(ValueError):
    """A ``fixed`` fallback exceeds a node's safe headroom."""

    def __init__(self, node: str, dimension: str, needed: float, available: float) -> None:
        unit = "W" if dimension == "W" else "A"
        super().__init__(
            f"fixed fallback does not fit node {node!r} on {dimension}: needs {needed:.1f} {unit}, "
            f"{available:.1f} {unit} available under the safe limit (after margin and non-EV load)"
        )
        self.node = node
        self.dimension = dimension
        self.needed = needed
        self.available = available


def fallback_shares(
    topology: SiteTopology,
    limits: Mapping[str, NodeLimit],
    policy: FallbackPolicy | None = None,
    *,
    reserved: Mapping[EvseKey, tuple[float, int]] | None = None,
) -> dict[EvseKey, float]:
    """Per EVSE, the fallback share in A per phase on the EVSE's phases (see the module docstring)."""
    policy = policy or FallbackPolicy()
    reserved = reserved or {}
    site = compile_site(topology)
    shares = {evse.key: 0.0 for evse in site.evses}
    if policy.kind is FallbackKind.ZERO:
        return shares
    cap = capacities(site, limits, safe=True)
    rem = _after_reserved(site, cap, reserved)
    candidates = [i for i, evse in enumerate(site.evses) if evse.key not in reserved]
    if policy.kind is FallbackKind.EQUAL:
        _equal(site, rem, candidates, shares)
    elif policy.kind is FallbackKind.FIXED:
        _fixed(site, rem, candidates, shares, policy.fixed_a or 0.0)
    else:
        _minimum(site, rem, candidates, shares)
    return shares


def _after_reserved(site: CompiledSite, cap: list[float], reserved: Mapping[EvseKey, tuple[float, int]]) -> list[float]:
    rem = list(cap)
    for key, (current, phases) in reserved.items():
        i = site.evse_index.get(key)
        if i is None:
            continue
        used = [site.wiring[i][p] for p in range(max(1, min(3, phases)))]
        _charge(site, rem, i, used, current)
    return rem


def _phases_of(site: CompiledSite, i: int) -> list[int]:
    return [site.wiring[i][p] for p in range(site.evse_phases[i])]


def _charge(site: CompiledSite, rem: list[float], i: int, used: list[int], current: float) -> None:
    off_w = 3 * site.n_nodes
    power = site.evses[i].voltage_v * current * len(used)
    for j in site.chains[i]:
        for g in used:
            rem[3 * j + g] -= current
        rem[off_w + j] -= power


def _cons(site: CompiledSite, cap: list[float], i: int) -> tuple[list[int], list[float]]:
    used = _phases_of(site, i)
    off_w = 3 * site.n_nodes
    cons: list[int] = []
    coefs: list[float] = []
    for j in site.chains[i]:
        for g in used:
            if cap[3 * j + g] != INF:
                cons.append(3 * j + g)
                coefs.append(1.0)
        if cap[off_w + j] != INF:
            cons.append(off_w + j)
            coefs.append(site.evses[i].voltage_v * len(used))
    return cons, coefs


def _max_a(site: CompiledSite, i: int) -> float:
    evse = site.evses[i]
    if site.is_dc[i]:
        return evse.max_power_w / (3 * evse.voltage_v) if evse.max_power_w is not None else evse.max_current_a
    if evse.max_power_w is not None:
        return min(evse.max_current_a, evse.max_power_w / (site.evse_phases[i] * evse.voltage_v))
    return evse.max_current_a


def _floor(site: CompiledSite, i: int, value: float) -> float:
    """Floor to what the charger can hold: ``step_a`` for AC; for DC a whole ``step_w`` of 3·V·A."""
    evse = site.evses[i]
    if site.is_dc[i]:
        to_w = 3 * evse.voltage_v
        step = evse.step_w if evse.step_w > 0 else 1.0
        return round(math.floor(value * to_w / step + 1e-9) * step / to_w, 9)
    step = evse.step_a if evse.step_a > 0 else 0.1
    return round(math.floor(value / step + 1e-9) * step, 9)


def _min_a(site: CompiledSite, i: int) -> float:
    evse = site.evses[i]
    if site.is_dc[i]:
        return max(evse.min_power_w, evse.step_w) / (3 * evse.voltage_v)
    return evse.min_current_a


def _cons_table(site: CompiledSite, rem: list[float]) -> dict[int, tuple[list[int], list[float]]]:
    """Constraint lists per EVSE, kept per topology while the same constraints are limited (shared: read only)."""
    mask = bytes(c != INF for c in rem)
    memo = site.memo.get("fallback_constraints")
    if isinstance(memo, tuple) and memo[0] == mask:
        return memo[1]  # type: ignore[no-any-return]
    table: dict[int, tuple[list[int], list[float]]] = {}
    site.memo["fallback_constraints"] = (mask, table)
    return table


def _equal(site: CompiledSite, rem: list[float], candidates: list[int], shares: dict[EvseKey, float]) -> None:
    cons, coefs = [], []
    table = _cons_table(site, rem)
    for i in candidates:
        hit = table.get(i)
        if hit is None:
            hit = table[i] = _cons(site, rem, i)
        cons.append(hit[0])
        coefs.append(hit[1])
    zeros = [0.0] * len(candidates)
    levels, _ = waterfill(
        rem, cons, coefs, zeros, [_max_a(site, i) for i in candidates], zeros, [1.0] * len(candidates)
    )
    for i, level in zip(candidates, levels, strict=True):
        share = min(_floor(site, i, level), level)
        shares[site.evses[i].key] = share if share >= _min_a(site, i) - 1e-9 else 0.0


def _fixed(
    site: CompiledSite, rem: list[float], candidates: list[int], shares: dict[EvseKey, float], fixed_a: float
) -> None:
    before = list(rem)
    for i in candidates:
        share = _floor(site, i, min(fixed_a, _max_a(site, i)))
        shares[site.evses[i].key] = share
        _charge(site, rem, i, _phases_of(site, i), share)
    n = site.n_nodes
    for c, value in enumerate(rem):
        if value < -1e-6:
            dimension = ("L1", "L2", "L3")[c % 3] if c < 3 * n else "W"
            raise FallbackDoesNotFit(constraint_node(site, c), dimension, before[c] - value, before[c])


def _minimum(site: CompiledSite, rem: list[float], candidates: list[int], shares: dict[EvseKey, float]) -> None:
    for i in sorted(candidates, key=lambda i: site.evses[i].key):
        share = _min_a(site, i)
        cons, coefs = _cons(site, rem, i)
        if all(rem[c] >= k * share - 1e-9 for c, k in zip(cons, coefs, strict=True)):
            _charge(site, rem, i, _phases_of(site, i), share)
            shares[site.evses[i].key] = share
