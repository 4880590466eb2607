"""When a re-plan may reach a charger: at most once per interval, except when it must.

Every new plan is a SetChargingProfile, and chargers that persist TxProfiles wear their flash with every write, so
the shell re-plans on every relevant change (prices, forecasts, the cap, the EV's measured draw, another session)
but sends a charger a new plan only through this gate. A must (the cap fell below what the plan draws, the
driver changed the goal) goes through at once; anything else waits out the interval and the gate says when to
try again. The gate is a value: :meth:`ReplanGate.admit` returns the next gate instead of changing this one.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from wattcap.core.fleet.planner_model import PlanningError, PlanningWindow, SessionPlan, check_aware, fixed_load

__all__ = ["MUST_TRIGGERS", "ReplanDecision", "ReplanGate", "ReplanTrigger", "plan_exceeds"]


class ReplanTrigger(StrEnum):
    """Why a re-plan was asked for."""

    PRICES = "prices"
    FORECAST = "forecast"
    CAP = "cap"
    CAP_BELOW_PLAN = "cap_below_plan"
    MEASURED_DRAW = "measured_draw"
    SESSION_CHANGE = "session_change"
    GOAL_CHANGED = "goal_changed"
    #: The EV's own schedule was rejected (K15.FR.12): the CSMS must renegotiate with a new TxProfile (FR.13).
    RENEGOTIATE = "renegotiate"


#: Triggers that are never held back: the plan in force would break the cap, the driver asked for another goal, or
#: the EV's schedule was rejected and ISO 15118 needs a new one.
MUST_TRIGGERS = frozenset({ReplanTrigger.CAP_BELOW_PLAN, ReplanTrigger.GOAL_CHANGED, ReplanTrigger.RENEGOTIATE})


@dataclass(frozen=True, slots=True)
class ReplanDecision:
    """``allowed``: send now (``gate`` has recorded it). Otherwise ``retry_at`` is the earliest time it may go."""

    allowed: bool
    gate: ReplanGate
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReplanGate:
    """The last time each key (a charger's station id, or an EVSE) was sent a plan; ``min_interval_s`` apart."""

    min_interval_s: float = 300.0
    last: Mapping[Hashable, datetime] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.min_interval_s < 0:
            raise PlanningError("min_interval_s must not be negative")
        object.__setattr__(self, "last", MappingProxyType(dict(self.last)))

    def admit(self, key: Hashable, now: datetime, trigger: ReplanTrigger = ReplanTrigger.SESSION_CHANGE) -> (
        ReplanDecision
    ):
        """May ``key`` be sent a new plan at ``now`` for ``trigger``?"""
        check_aware("now", now)
        previous = self.last.get(key)
        if previous is not None and trigger not in MUST_TRIGGERS:
            due = previous + timedelta(seconds=self.min_interval_s)
            if now < due:
                return ReplanDecision(False, self, due)
        return ReplanDecision(True, ReplanGate(self.min_interval_s, {**self.last, key: now}))

    def forget(self, key: Hashable) -> ReplanGate:
        """The gate without ``key`` (its session ended: the next session there starts fresh)."""
        return ReplanGate(self.min_interval_s, {k: v for k, v in self.last.items() if k != key})


def plan_exceeds(
    plans: Sequence[SessionPlan], window: PlanningWindow, now: datetime, *, tolerance_w: float = 1.0
) -> bool:
    """Whether the plans draw more than ``window.capacity_w`` in any slot from ``now`` on: the cap fell below the
    plan, a :data:`MUST_TRIGGERS` re-plan."""
    check_aware("now", now)
    load = fixed_load(plans, window)
    for t, (drawn, cap) in enumerate(zip(load, window.capacity_w, strict=True)):
        if window.slot_start(t + 1) > now and drawn > cap + tolerance_w:
            return True
    return False
