"""How a simulated station turns what it holds into what it offers: limits, sharing, and a slow follower.

Three small pure pieces :class:`~wattcap.sim.station.SimStation` composes at every limit change:

* :func:`read_limit`: the limit in force now, from the core composite engine (in both units when the dialect
  keeps A and W apart, since a W limit still binds an AC charger), and when it next changes;
* :func:`share`: a station maximum divided among the EVSEs that charge (the station's job, A14);
* :class:`Offer`: the offer an EVSE actually makes, following its target at once, after a delay, or at a
  limited rate, as the personality says.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from wattcap.core.composite import composite_schedule
from wattcap.core.model import ChargingRateUnit, InstalledProfile, Transaction
from wattcap.core.station import StationConfig


@dataclass(frozen=True, slots=True)
class Limit:
    """A limit in the station's control unit (None: nothing limits), its phases, and when it next changes."""

    value: float | None
    phases: int | None
    next_change: float  # epoch seconds; inf when it does not change within the horizon


NO_LIMIT = Limit(None, None, math.inf)

#: Convert a limit given in ``unit`` (with the period's numberPhases) to the control unit.
Converter = Callable[[float, ChargingRateUnit, int | None], float]


def read_limit(
    config: StationConfig,
    installed: Sequence[InstalledProfile],
    *,
    evse_id: int,
    at: datetime,
    horizon_s: int,
    transactions: Sequence[Transaction],
    online: bool,
    control_unit: ChargingRateUnit,
    convert: Converter,
) -> Limit:
    """The limit the engine computes for ``evse_id`` at ``at`` and the next change within ``horizon_s``.

    A period the engine fills with the local limit (no profile governs it) is no limit: the hardware decides.
    """
    units = (control_unit,) if config.dialect.converts_units else tuple(ChargingRateUnit)
    value: float | None = None
    phases: int | None = None
    next_change = math.inf
    for unit in units:
        schedule = composite_schedule(
            config,
            installed,
            evse_id=evse_id,
            start=at,
            duration=horizon_s,
            unit=unit,
            transactions=transactions,
            simulate_transaction=False,
            offline=not online,
        )
        first = schedule.periods[0]
        if len(schedule.periods) > 1:
            next_change = min(next_change, schedule.schedule_start.timestamp() + schedule.periods[1].start_period)
        if first.is_local_limit:
            continue
        if first.number_phases is not None:
            phases = first.number_phases if phases is None else min(phases, first.number_phases)
        limit = first.limit if unit is control_unit else convert(first.limit, unit, first.number_phases)
        value = limit if value is None else min(value, limit)
    return Limit(value, phases, next_change)


def share(cap: float, demands: dict[int, float], limits: dict[int, float]) -> dict[int, float]:
    """Divide ``cap`` among EVSEs by water-filling: each gets its demand if the equal share allows, what it leaves
    goes to the others; no EVSE gets more than its own limit."""
    out: dict[int, float] = {}
    remaining = cap
    waiting = sorted(demands, key=lambda i: demands[i])
    while waiting:
        equal = remaining / len(waiting)
        first = waiting[0]
        if demands[first] <= equal:
            out[first] = demands[first]
            remaining -= demands[first]
            waiting.pop(0)
            continue
        for i in waiting:
            out[i] = min(equal, limits[i])
        break
    return out


#: How long a ramping offer waits before it moves again.
RAMP_STEP_S = 1.0


@dataclass(slots=True)
class Offer:
    """The offer one EVSE makes, following the target its limits set."""

    target: float | None = None
    applied: float | None = None
    pending: list[tuple[float, float]] = field(default_factory=list)  # (epoch, target) of delayed changes
    moved_at: float | None = None

    def reset(self) -> None:
        """A session ended: the next one starts at its first target."""
        self.target = self.applied = self.moved_at = None
        self.pending.clear()

    def follow(self, target: float, t: float, *, delay_s: float = 0.0, rate_per_s: float | None = None) -> float:
        """Move towards ``target`` at epoch ``t``: at once, ``delay_s`` late, or at ``rate_per_s``.

        Returns when to look again (inf: nothing pending). A session's first target applies at once.
        """
        if self.applied is None or self.target is None:
            self.target = self.applied = target
            self.moved_at = t
            return math.inf
        if delay_s > 0:
            if target != self.target:
                self.pending.append((t + delay_s, target))
            self.target = target
            while self.pending and self.pending[0][0] <= t + 1e-9:
                self.applied = self.pending.pop(0)[1]
            return self.pending[0][0] if self.pending else math.inf
        self.target = target
        if rate_per_s is None:
            self.applied = target
            return math.inf
        step = rate_per_s * max(0.0, t - (self.moved_at if self.moved_at is not None else t))
        delta = target - self.applied
        self.applied = target if abs(delta) <= step else self.applied + math.copysign(step, delta)
        self.moved_at = t
        return math.inf if self.applied == target else t + RAMP_STEP_S
