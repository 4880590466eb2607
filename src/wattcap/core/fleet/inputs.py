"""From what the site knows to what the planner and the allocator take (pure).

* :func:`ev_capacity_w` — how much power the site's EVs may draw together in each planning slot: the grid
  connection's limit in force then (its static limit, an operator's or grid operator's schedule, the safe limit
  where that schedule will have gone stale), less its margin and the building's load;
* :func:`series_values` — a price or solar series (points with a start) sampled per slot;
* :func:`goal_energy_wh` — what a goal asks for in Wh, given what is known of the vehicle;
* :func:`shaped_demand` — a session's demand to the site-cap allocator with the rules' weight, priority and
  ceilings and the plan's power for the slot in force.

The planner works in W over the whole connection (balanced three-phase); the allocator then enforces every node
per phase at each instant, so a plan can never take the site over its cap, only ask for less than its share.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from wattcap.core.fleet.model import ChargingGoal, SessionPolicy, Vehicle
from wattcap.core.sitecap.model import EvseKey, EvseSpec, PhaseCurrents, SessionDemand, SiteTopology
from wattcap.core.sitecap.signals import LimitSchedule, LoadReading, resolve_limits
from wattcap.core.station import CurrentType

__all__ = ["ev_capacity_w", "goal_energy_wh", "reserved_w", "series_values", "shaped_demand"]


def ev_capacity_w(
    topology: SiteTopology,
    slot_starts: Sequence[datetime],
    schedules: Iterable[LimitSchedule] = (),
    loads: Iterable[LoadReading] = (),
    fallback_load_a: Mapping[str, PhaseCurrents] | None = None,
) -> tuple[float, ...]:
    """The root node's capacity for EVs in W at each slot start (never negative).

    The building load is taken as it is now for the whole horizon (its reading's TTL decides when the fallback
    load applies instead): a forecast, when one is sent as a load schedule, replaces that assumption.
    """
    schedules, loads = tuple(schedules), tuple(loads)
    root = next(n for n in topology.nodes if n.parent is None)
    capacity: list[float] = []
    for at in slot_starts:
        limit = resolve_limits(topology, at, schedules, loads, fallback_load_a)[root.id]
        candidates: list[float] = []
        if limit.current_a is not None:
            per_phase = [max(0.0, limit.current_a - root.margin_a - load) for load in limit.non_ev_load_a]
            candidates.append(sum(per_phase) * root.voltage_v)
        if limit.power_w is not None:
            load_w = sum(limit.non_ev_load_a) * root.voltage_v
            candidates.append(max(0.0, limit.power_w - root.margin_w - load_w))
        capacity.append(min(candidates) if candidates else math.inf)
    return tuple(capacity)


def reserved_w(evses: Mapping[EvseKey, EvseSpec], shares_a: Mapping[EvseKey, float]) -> dict[EvseKey, float]:
    """Each EVSE's fallback share (A per phase, as the site cap plans it) in W: what the allocator holds for the
    EVSE whatever it draws (a new session there starts at it before anyone is asked), so plans share only the
    capacity above these (``SessionGoal.reserved_w``). DC shares are grid-side, on three phases."""
    return {
        key: share * evses[key].voltage_v * (3 if evses[key].current_type is CurrentType.DC else evses[key].phases)
        for key, share in shares_a.items() if key in evses
    }


def series_values(
    points: Sequence[tuple[datetime, float]], slot_starts: Sequence[datetime], default: float | None = None
) -> tuple[float | None, ...]:
    """The value in force at each slot start: the last point at or before it (``default`` before the first)."""
    ordered = sorted(points)
    values: list[float | None] = []
    i, current = 0, default
    for at in slot_starts:
        while i < len(ordered) and ordered[i][0] <= at:
            current = ordered[i][1]
            i += 1
        values.append(current)
    return tuple(values)


def goal_energy_wh(
    goal: ChargingGoal, vehicle: Vehicle | None, soc_percent: float | None, ev_energy_wh: float | None = None
) -> float | None:
    """Wh still to deliver for ``goal``; None when it cannot be known.

    A SoC target needs the battery size and the SoC now; without them the goal's energy is used, and failing
    that what the EV itself asked for (ISO 15118 energy amount).
    """
    if goal.soc_percent is not None and vehicle is not None and vehicle.battery_wh and soc_percent is not None:
        return max(0.0, (goal.soc_percent - soc_percent) / 100.0 * vehicle.battery_wh)
    if goal.energy_wh is not None:
        return max(0.0, goal.energy_wh)
    if ev_energy_wh is not None:
        return max(0.0, ev_energy_wh)
    return None


def _min(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def shaped_demand(
    demand: SessionDemand, policy: SessionPolicy | None, evse: EvseSpec, planned_w: float | None = None
) -> SessionDemand:
    """``demand`` as the rules and the plan shape it: weight and priority from the policy; the ceiling is the
    lowest of the EV's, the rule's and the plan's power for now (converted to A per phase on AC)."""
    if policy is None and planned_w is None:
        return demand
    weight = policy.weight if policy is not None else demand.weight
    priority = policy.priority if policy is not None else demand.priority
    ceiling_w = _min(policy.max_power_w if policy is not None else None, planned_w)
    max_a = _min(demand.max_current_a, policy.max_current_a if policy is not None else None)
    max_w = demand.max_power_w
    if ceiling_w is not None:
        if evse.current_type is CurrentType.DC:
            max_w = _min(max_w, ceiling_w)
        else:
            phases = demand.phases_in_use or evse.phases
            max_a = _min(max_a, ceiling_w / (evse.voltage_v * phases))
    return replace(demand, weight=weight, priority=priority, max_current_a=max_a, max_power_w=max_w)
