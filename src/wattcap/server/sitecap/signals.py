"""Limit, load, price and solar signals as they arrive (REST or MQTT), kept per site until replaced.

The payloads are Pydantic models so the REST API documents them exactly and MQTT messages are checked by the
same rules; :class:`SignalBoard` turns them into the core's :class:`~wattcap.core.sitecap.signals.LimitSchedule`
and :class:`~wattcap.core.sitecap.signals.LoadReading` and tells the site cap that something changed. Signals
live in memory: each has a TTL, and after a restart a signal the sender has not repeated is stale anyway; every
accepted signal is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from wattcap.core.sitecap.signals import LimitPoint, LimitSchedule, LoadReading, SignalError, SignalKind
from wattcap.server.sitecap.config import SiteDefinition

__all__ = [
    "BuildingLoadSignal",
    "LimitPointIn",
    "SeriesPoint",
    "SeriesSignal",
    "SignalBoard",
    "SiteLimitSignal",
]

TTL = Annotated[int, Field(gt=0, le=7 * 86_400, description="Seconds the signal stays valid without renewal.")]
#: A current or power: finite (JSON parsers take Infinity and NaN) and not negative.
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class LimitPointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: AwareDatetime
    current_a: Amount | None = None
    power_w: Amount | None = None

    @model_validator(mode="after")
    def _one_limit(self) -> LimitPointIn:
        if self.current_a is None and self.power_w is None:
            raise ValueError("a limit point needs current_a (A per phase) or power_w (W)")
        return self


class SiteLimitSignal(BaseModel):
    """A limit schedule for a node (default: the site's grid connection): from each point's start on, the node
    may carry that much. Stale after ``ttl_s``: then the node's safe limit applies."""

    model_config = ConfigDict(extra="forbid")
    node: str | None = None
    ttl_s: TTL = 900
    points: Annotated[list[LimitPointIn], Field(min_length=1, max_length=1000)]

    @field_validator("points")
    @classmethod
    def _distinct_starts(cls, points: list[LimitPointIn]) -> list[LimitPointIn]:
        # Two points from the same instant leave the limit from then on undecided (the core refuses them too).
        starts = [p.start for p in points]
        if len(set(starts)) != len(starts):
            raise ValueError("two limit points start at the same time")
        return points


class BuildingLoadSignal(BaseModel):
    """Non-EV load measured on a node (default: the grid connection), per phase in A or as total W."""

    model_config = ConfigDict(extra="forbid")
    node: str | None = None
    ttl_s: TTL = 60
    current_a: Annotated[list[Amount], Field(min_length=3, max_length=3)] | None = None
    power_w: Amount | None = None

    @model_validator(mode="after")
    def _one_value(self) -> BuildingLoadSignal:
        if (self.current_a is None) == (self.power_w is None):
            raise ValueError("give either current_a (3 phase currents) or power_w, not both")
        return self


class SeriesPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: AwareDatetime
    value: Annotated[float, Field(allow_inf_nan=False)]


class SeriesSignal(BaseModel):
    """A price (currency per kWh) or solar (W) series for the planner."""

    model_config = ConfigDict(extra="forbid")
    ttl_s: TTL = 86_400
    unit: Literal["EUR/kWh", "USD/kWh", "GBP/kWh", "W"] = "EUR/kWh"
    points: Annotated[list[SeriesPoint], Field(min_length=1, max_length=10_000)]


class SignalBoard:
    """The latest signals of one site. ``on_change`` runs after every accepted signal (the site cap replans)."""

    def __init__(self, site: SiteDefinition, on_change: Callable[[], None] = lambda: None) -> None:
        self.site = site
        self.on_change = on_change
        self.schedules: dict[str, LimitSchedule] = {}
        self.loads: dict[str, LoadReading] = {}
        self.series: dict[SignalKind, tuple[SeriesSignal, datetime, str]] = {}

    def _node(self, node_id: str | None) -> str:
        node_id = node_id or self.site.root().id
        if node_id not in {n.id for n in self.site.topology.nodes}:
            raise SignalError(f"site {self.site.id} has no node {node_id!r}")
        return node_id

    def put_limit(self, signal: SiteLimitSignal, *, source: str, now: datetime) -> LimitSchedule:
        node = self._node(signal.node)
        points = sorted(signal.points, key=lambda p: p.start)
        schedule = LimitSchedule(
            node, tuple(LimitPoint(p.start, p.current_a, p.power_w) for p in points),
            received_at=now, ttl_s=signal.ttl_s, source=source,
        )
        self.schedules[node] = schedule
        self.on_change()
        return schedule

    def put_load(self, signal: BuildingLoadSignal, *, source: str, now: datetime) -> LoadReading:
        node_id = self._node(signal.node)
        if signal.current_a is not None:
            a = signal.current_a
            reading = LoadReading(node_id, (a[0], a[1], a[2]), received_at=now, ttl_s=signal.ttl_s, source=source)
        else:
            node = next(n for n in self.site.topology.nodes if n.id == node_id)
            assert signal.power_w is not None
            reading = LoadReading.from_power(node, signal.power_w, received_at=now, ttl_s=signal.ttl_s, source=source)
        self.loads[node_id] = reading
        self.on_change()
        return reading

    def put_series(self, kind: SignalKind, signal: SeriesSignal, *, source: str, now: datetime) -> None:
        if kind not in (SignalKind.PRICE, SignalKind.SOLAR):
            raise SignalError(f"{kind} is not a series signal")
        if (kind is SignalKind.SOLAR) != (signal.unit == "W"):
            wanted = "W" if kind is SignalKind.SOLAR else "a currency per kWh"
            raise SignalError(f"a {kind.value} series is in {wanted}, not {signal.unit}")
        self.series[kind] = (signal, now, source)
        self.on_change()
