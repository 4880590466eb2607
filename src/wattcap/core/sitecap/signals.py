"""Limit and load signals on a site's nodes, and the node limits they put in force at an instant.

Signals come from outside (a grid operator's limit schedule, a building EMS's load reading, by REST or MQTT) and
can stop coming. Each carries a time to live: a signal not renewed within its TTL is *stale*, and a stale signal
is never trusted. A stale limit schedule falls back to the node's configured safe limit (not to its static
maximum: the grid operator stopped talking, it did not raise the limit). A stale load reading falls back to the
node's configured ``fallback_load_a`` (the building's assumed worst case), or, where none is configured, to the
last reading (logged by the shell as a configuration warning).

Prices and solar forecasts are series for the planner; they do not limit anything here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from wattcap.core.sitecap.model import Node, NodeLimit, PhaseCurrents, SiteTopology

__all__ = [
    "LimitPoint",
    "LimitSchedule",
    "LoadReading",
    "SignalError",
    "SignalKind",
    "resolve_limits",
]


class SignalKind(StrEnum):
    SITE_LIMIT = "site_limit"
    BUILDING_LOAD = "building_load"
    PRICE = "price"
    SOLAR = "solar"


class SignalError(ValueError):
    """A signal that cannot be used as sent (the message says which field and why)."""


@dataclass(frozen=True, slots=True)
class LimitPoint:
    """From ``start`` on (until the next point), the node may carry ``current_a`` per phase and/or ``power_w``."""

    start: datetime
    current_a: float | None = None
    power_w: float | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise SignalError("limit point start must be an aware UTC time")
        if self.current_a is None and self.power_w is None:
            raise SignalError("a limit point needs current_a or power_w")
        for name, value in (("current_a", self.current_a), ("power_w", self.power_w)):
            if value is not None and value < 0:
                raise SignalError(f"{name} must not be negative (got {value})")


@dataclass(frozen=True, slots=True)
class LimitSchedule:
    """A node's limit over time, as last received. Before the first point, the node's own limit applies."""

    node: str
    points: tuple[LimitPoint, ...]
    received_at: datetime
    ttl_s: int
    source: str

    def __post_init__(self) -> None:
        if not self.points:
            raise SignalError("a limit schedule needs at least one point")
        starts = [p.start for p in self.points]
        if starts != sorted(starts) or len(set(starts)) != len(starts):
            raise SignalError("limit points must be in strictly increasing start order")
        if self.ttl_s <= 0:
            raise SignalError("ttl_s must be positive")

    def stale(self, now: datetime) -> bool:
        return now >= self.received_at + timedelta(seconds=self.ttl_s)

    def point_at(self, now: datetime) -> LimitPoint | None:
        current = None
        for point in self.points:
            if point.start > now:
                break
            current = point
        return current


@dataclass(frozen=True, slots=True)
class LoadReading:
    """Non-EV load on a node (the building), per grid phase in A."""

    node: str
    current_a: PhaseCurrents
    received_at: datetime
    ttl_s: int
    source: str

    def __post_init__(self) -> None:
        if any(c < 0 for c in self.current_a):
            raise SignalError("building load must not be negative")
        if self.ttl_s <= 0:
            raise SignalError("ttl_s must be positive")

    def stale(self, now: datetime) -> bool:
        return now >= self.received_at + timedelta(seconds=self.ttl_s)

    @staticmethod
    def from_power(node: Node, power_w: float, **kwargs: object) -> LoadReading:
        """A total power reading spread evenly over the three phases at the node's voltage."""
        per_phase = power_w / (3 * node.voltage_v)
        return LoadReading(node.id, (per_phase, per_phase, per_phase), **kwargs)  # type: ignore[arg-type]


def _min(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def resolve_limits(
    topology: SiteTopology,
    now: datetime,
    schedules: Iterable[LimitSchedule] = (),
    loads: Iterable[LoadReading] = (),
    fallback_load_a: Mapping[str, PhaseCurrents] | None = None,
) -> dict[str, NodeLimit]:
    """The limit in force on every node at ``now``: its schedule's point (never above the node's static limit),
    its safe limit where the schedule went stale, and its non-EV load (or the fallback load where stale)."""
    fallback_load_a = fallback_load_a or {}
    by_node_schedule = {s.node: s for s in schedules}
    by_node_load = {r.node: r for r in loads}
    limits: dict[str, NodeLimit] = {}
    for node in topology.nodes:
        current_a, power_w, source = node.max_current_a, node.max_power_w, "static"
        schedule = by_node_schedule.get(node.id)
        if schedule is not None:
            if schedule.stale(now):
                current_a = _min(current_a, node.safe_current_a)
                power_w = _min(power_w, node.safe_power_w)
                source = f"safe (stale {schedule.source})"
            elif (point := schedule.point_at(now)) is not None:
                current_a = _min(current_a, point.current_a)
                power_w = _min(power_w, point.power_w)
                source = schedule.source
        load: PhaseCurrents = (0.0, 0.0, 0.0)
        reading = by_node_load.get(node.id)
        if reading is not None:
            load = fallback_load_a.get(node.id, reading.current_a) if reading.stale(now) else reading.current_a
        limits[node.id] = NodeLimit(current_a=current_a, power_w=power_w, non_ev_load_a=load, source=source)
    return limits
