"""The charging planner's inputs and outputs as plain data, and the checks that refuse malformed input.

A :class:`PlanningWindow` is the site over the planning horizon in fixed slots (15 minutes by default): how much
power EVs may draw in each slot (the grid connection's cap minus the building-load forecast, see
:func:`ev_capacity`), and optionally a price and a solar surplus per slot. A :class:`SessionGoal` is one session's
charging goal with its limits, already resolved by the shell from the fleet rules (:mod:`wattcap.core.fleet.model`),
the EV and the EVSE. The planner answers with a :class:`SitePlan`: a :class:`SessionPlan` per goal.

Slots are the unit of the plan because prices and forecasts come in slots and because a charger should not be
written more often than a few times an hour; a slot's power is a limit held for the whole slot. Everything is W,
Wh and aware UTC; prices are currency per kWh (the currency is the caller's).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from wattcap.core.fleet.model import Strategy
from wattcap.core.sitecap.model import EvseKey

__all__ = [
    "DEFAULT_SLOT_S",
    "PlanSlot",
    "PlanningError",
    "PlanningWindow",
    "SessionGoal",
    "SessionPlan",
    "SitePlan",
    "check_aware",
    "ev_capacity",
    "fixed_load",
    "slot_values",
]

#: The planner's slot: a quarter hour, the granularity of day-ahead and intraday prices.
DEFAULT_SLOT_S = 900


class PlanningError(ValueError):
    """Malformed planner input (never raised for a goal that merely cannot be met)."""


def check_aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise PlanningError(f"{name} must be an aware UTC datetime, got {value!r}")


def _finite(name: str, values: Sequence[float]) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    bad = [i for i, v in enumerate(out) if not math.isfinite(v)]
    if bad:
        raise PlanningError(f"{name} has a non-finite value in slot {bad[0]}")
    return out


@dataclass(frozen=True, slots=True)
class PlanningWindow:
    """The horizon: ``len(capacity_w)`` slots of ``slot_s`` seconds from ``start`` (aligned to ``slot_s``).

    ``capacity_w`` is what all planned sessions together may draw in each slot (W, ≥ 0). ``price_per_kwh`` and
    ``solar_surplus_w`` are optional and, when given, have one value per slot. A price may be negative.
    """

    start: datetime
    capacity_w: tuple[float, ...]
    price_per_kwh: tuple[float, ...] | None = None
    solar_surplus_w: tuple[float, ...] | None = None
    slot_s: int = DEFAULT_SLOT_S

    def __post_init__(self) -> None:
        check_aware("window start", self.start)
        if not isinstance(self.slot_s, int) or self.slot_s <= 0 or 86400 % self.slot_s:
            raise PlanningError(f"slot_s must be a whole number of seconds dividing a day, got {self.slot_s!r}")
        epoch_s = self.start.timestamp()
        if epoch_s % self.slot_s:
            raise PlanningError(f"window start {self.start.isoformat()} is not aligned to {self.slot_s} s slots")
        object.__setattr__(self, "capacity_w", _finite("capacity_w", self.capacity_w))
        if not self.capacity_w:
            raise PlanningError("the window needs at least one slot")
        if min(self.capacity_w) < 0:
            raise PlanningError("capacity_w must not be negative (clamp a forecast above the cap to 0)")
        for name in ("price_per_kwh", "solar_surplus_w"):
            series = getattr(self, name)
            if series is None:
                continue
            series = _finite(name, series)
            if len(series) != len(self.capacity_w):
                raise PlanningError(f"{name} has {len(series)} slots, capacity_w has {len(self.capacity_w)}")
            object.__setattr__(self, name, series)
        if self.solar_surplus_w is not None and min(self.solar_surplus_w) < 0:
            raise PlanningError("solar_surplus_w must not be negative")

    @property
    def slots(self) -> int:
        return len(self.capacity_w)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.slot_s * self.slots)

    def slot_start(self, index: int) -> datetime:
        return self.start + timedelta(seconds=self.slot_s * index)


@dataclass(frozen=True, slots=True)
class SessionGoal:
    """One session's goal: ``energy_wh`` into the EV by ``departure``, charging from ``available_from``.

    ``max_power_w`` is the lowest of the EV's, the EVSE's and the rule's ceiling; ``min_power_w`` the least power
    at which the EV charges at all (AC: 6 A × V × phases): each slot's power is 0 or within [min, max].
    ``reserved_w`` is what the site cap holds for the EVSE anyway (its fallback): in slots where the session draws
    less, the rest of the site gains nothing; ``PlanningWindow.capacity_w`` is then counted above every reservation.
    ``available_from`` is the arrival, or now for a running session (None: the window start). ``priority`` is the
    rules' (higher is served first when not every goal fits). ``efficiency`` is the share of the power drawn from
    the site that ends up in the battery; ``energy_wh`` is counted into the battery, powers at the EVSE.
    """

    key: EvseKey
    departure: datetime
    energy_wh: float
    max_power_w: float
    min_power_w: float = 0.0
    available_from: datetime | None = None
    strategy: Strategy = Strategy.CHEAPEST
    priority: int = 0
    efficiency: float = 1.0
    #: What the site cap holds for the EVSE whatever it draws (its fallback share, W): a slot takes
    #: max(power, reserved) of the site, and the window's capacity is then what is left above every reservation.
    reserved_w: float = 0.0

    def __post_init__(self) -> None:
        check_aware(f"{self.key} departure", self.departure)
        if self.available_from is not None:
            check_aware(f"{self.key} available_from", self.available_from)
        for name in ("energy_wh", "max_power_w", "min_power_w", "reserved_w"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise PlanningError(f"{self.key} {name} must be finite and ≥ 0, got {value!r}")
        if not 0 < self.efficiency <= 1:
            raise PlanningError(f"{self.key} efficiency must be in (0, 1], got {self.efficiency!r}")
        if not isinstance(self.strategy, Strategy):
            raise PlanningError(f"{self.key} strategy must be a Strategy, got {self.strategy!r}")


@dataclass(frozen=True, slots=True)
class PlanSlot:
    """``power_w`` held from ``start`` to ``end`` (0: paused)."""

    start: datetime
    end: datetime
    power_w: float


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """The plan for one goal.

    ``energy_wh`` is what the plan puts into the battery by the departure (or the window's end),
    ``shortfall_wh`` what is missing of the goal (0 when ``feasible``), ``deferred_wh`` what is left for after the
    window when the departure lies beyond it (not counted as shortfall), ``cost`` the price of the energy drawn
    from the grid (solar surplus is free; None without a price series).
    """

    key: EvseKey
    slots: tuple[PlanSlot, ...]
    energy_wh: float
    shortfall_wh: float
    feasible: bool
    cost: float | None = None
    deferred_wh: float = 0.0

    def power_at(self, at: datetime) -> float:
        """The planned power at ``at`` (0 outside the plan)."""
        for slot in self.slots:
            if slot.start <= at < slot.end:
                return slot.power_w
        return 0.0


@dataclass(frozen=True, slots=True)
class SitePlan:
    """One joint plan: ``status`` is HiGHS's model status ("Optimal", "Time limit reached" with the best plan
    found, …); ``gap`` the MIP's relative optimality gap (0 for a proven optimum)."""

    plans: tuple[SessionPlan, ...]
    solve_seconds: float
    status: str
    gap: float = 0.0

    def plan_for(self, key: EvseKey) -> SessionPlan:
        for plan in self.plans:
            if plan.key == key:
                return plan
        raise KeyError(key)

    def load_w(self, window: PlanningWindow) -> tuple[float, ...]:
        """The plans' summed power per slot of ``window`` (to reserve it when re-planning others)."""
        return fixed_load(self.plans, window)


def fixed_load(plans: Sequence[SessionPlan], window: PlanningWindow) -> tuple[float, ...]:
    """The highest summed planned power within each slot of ``window`` (plans on another slot grid count at their
    highest within the slot, so reserving it is always safe)."""
    load = [0.0] * window.slots
    for plan in plans:
        for slot in plan.slots:
            first = max(0, int((slot.start - window.start).total_seconds() // window.slot_s))
            last = min(window.slots, math.ceil((slot.end - window.start).total_seconds() / window.slot_s))
            for i in range(first, last):
                load[i] += slot.power_w
    return tuple(load)


def slot_values(
    steps: Sequence[tuple[datetime, float]], start: datetime, slots: int, slot_s: int = DEFAULT_SLOT_S,
    *, reduce: str = "min", default: float | None = None,
) -> tuple[float, ...]:
    """A step series (each value holds from its time until the next) resampled to slots.

    ``reduce`` is ``"min"`` (a cap: the lowest in force during the slot), ``"max"`` (a load forecast: the highest)
    or ``"mean"`` (a price: time-weighted). Before the first step the value is ``default``; a slot with no value
    at all is an error unless a default is given.
    """
    check_aware("series start", start)
    if reduce not in ("min", "max", "mean"):
        raise PlanningError(f"reduce must be min, max or mean, got {reduce!r}")
    ordered = sorted(steps, key=lambda s: s[0])
    for at, _ in ordered:
        check_aware("series step", at)
    out: list[float] = []
    for i in range(slots):
        lo = start + timedelta(seconds=slot_s * i)
        hi = lo + timedelta(seconds=slot_s)
        pieces: list[tuple[float, float]] = []  # (seconds, value)
        bounds = [(lo, default)]
        for at, value in ordered:
            if at <= lo:
                bounds = [(lo, value)]
            elif at < hi:
                bounds.append((at, value))
        for j, (at, value) in enumerate(bounds):
            until = bounds[j + 1][0] if j + 1 < len(bounds) else hi
            if until > at:
                if value is None:
                    raise PlanningError(f"the series has no value at {at.isoformat()} and no default")
                pieces.append(((until - at).total_seconds(), float(value)))
        values = [v for _, v in pieces]
        if reduce == "min":
            out.append(min(values))
        elif reduce == "max":
            out.append(max(values))
        else:
            out.append(sum(s * v for s, v in pieces) / sum(s for s, _ in pieces))
    return tuple(out)


def ev_capacity(
    cap_w: Sequence[float], building_load_w: Sequence[float] | None = None, *, margin_w: float = 0.0,
    fixed_w: Sequence[float] | None = None,
) -> tuple[float, ...]:
    """What EVs may draw per slot: the connection's cap minus the building-load forecast, a margin and any
    load already reserved (sessions that are not re-planned), never below 0."""
    n = len(cap_w)
    for name, series in (("building_load_w", building_load_w), ("fixed_w", fixed_w)):
        if series is not None and len(series) != n:
            raise PlanningError(f"{name} has {len(series)} slots, cap_w has {n}")
    load = building_load_w or (0.0,) * n
    fixed = fixed_w or (0.0,) * n
    return tuple(max(0.0, c - b - margin_w - f) for c, b, f in zip(cap_w, load, fixed, strict=True))
