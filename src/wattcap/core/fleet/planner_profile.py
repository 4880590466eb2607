"""A plan as the charger gets it: an Absolute TxProfile in wattcap's band, leased like the site cap's limits.

The plan's slots become the schedule's periods (equal neighbours merged). Limits are floored to the wire's 0.1 A
or whole W, or to the charger's coarser step, never rounded up: a plan was made to fit the cap, and a limit
above it would not. A change of limit at a boundary that is not a whole second after the schedule's start falls
on the second that keeps the lower limit longer (decreases a little early, increases a little late). Like the
site cap's session limit (:func:`wattcap.core.sitecap.profiles.session_limit_profile`) the schedule starts a
little in the past (:data:`~wattcap.core.sitecap.profiles.BACKDATE_S`) and the profile ends at the caller's
lease, so a charger that loses wattcap drops the plan on its own.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from wattcap.core.fleet.planner_model import PlanningError, SessionPlan, check_aware
from wattcap.core.model import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
)
from wattcap.core.sitecap.model import EvseSpec
from wattcap.core.sitecap.profiles import BACKDATE_S, rate_unit_for
from wattcap.core.station import CurrentType

__all__ = ["evse_plan_profile", "plan_limit", "plan_periods", "plan_profile", "profile_start"]


def profile_start(now: datetime) -> datetime:
    """The startSchedule for a plan sent at ``now``: :data:`BACKDATE_S` earlier, whole seconds."""
    check_aware("now", now)
    return (now - timedelta(seconds=BACKDATE_S)).replace(microsecond=0)


def _floor(value: float, step: float) -> float:
    """``value`` floored to a multiple of ``step``, free of float noise (a step of 0.1 gives 21.4, not 21.39…)."""
    return round(math.floor(value / step + 1e-9) * step, 6)


def plan_limit(power_w: float, unit: ChargingRateUnit, voltage_v: float, phases: int | None,
               step: float | None = None, min_limit: float = 0.0) -> float:
    """A planned power as a limit in ``unit``: floored to the charger's step (never rounded up past the plan),
    0 (a pause) below ``min_limit``."""
    if unit is ChargingRateUnit.A:
        if phases is None:
            raise PlanningError("a limit in A needs the number of phases")
        value = _floor(_floor(power_w / (voltage_v * phases), max(step or 0.1, 0.1)), 0.1)
    else:
        value = _floor(_floor(power_w, max(step or 1.0, 1.0)), 1.0)
    return 0.0 if value < min_limit else value


def plan_periods(
    plan: SessionPlan, start: datetime, *, unit: ChargingRateUnit, voltage_v: float = 230.0,
    phases: int | None = 3, step: float | None = None, min_limit: float = 0.0,
) -> tuple[ChargingSchedulePeriod, ...]:
    """The periods of a schedule starting at ``start`` that follows ``plan`` (0 where it pauses).

    ``unit`` A divides the power by ``voltage_v`` × ``phases``; ``phases`` is set on every period (None for DC).
    ``step`` is the charger's finest step in ``unit`` (default: the wire's 0.1 A / 1 W); a limit that floors to
    below ``min_limit`` (the EVSE's minimum, say 6 A) becomes a pause. The first period starts at 0 (it covers any
    time between ``start`` and the plan's first slot); slots that end before ``start`` are left out.
    """
    check_aware("start", start)
    if voltage_v <= 0:
        raise PlanningError("voltage_v must be positive")
    periods: list[ChargingSchedulePeriod] = []
    previous: float | None = None
    for slot in plan.slots:
        if slot.end <= start:
            continue
        limit = plan_limit(slot.power_w, unit, voltage_v, phases, step, min_limit)
        if limit == previous:
            continue
        offset = (slot.start - start).total_seconds()
        if offset <= 0 or not periods:
            at = 0
        else:
            at = math.floor(offset) if previous is not None and limit < previous else math.ceil(offset)
        if periods and periods[-1].start_period == at:
            # Two boundaries within a second (a sliver of a slot): that second keeps the lower limit.
            limit = min(limit, periods.pop().limit or 0.0)
        periods.append(ChargingSchedulePeriod(at, limit=limit, number_phases=phases))
        previous = limit
    if not periods:
        periods.append(ChargingSchedulePeriod(0, limit=0.0, number_phases=phases))
    return tuple(periods)


def plan_profile(
    plan: SessionPlan, *, transaction_id: str, start: datetime, lease_until: datetime | None,
    unit: ChargingRateUnit, voltage_v: float = 230.0, phases: int | None = 3, step: float | None = None,
    min_limit: float = 0.0,
) -> ChargingProfile:
    """The TxProfile (Absolute, ``startSchedule`` = ``start``, ``validTo`` = ``lease_until``) carrying ``plan``.

    The schedule's duration ends with the plan's last slot, after which the charger falls back to what lies
    below (the site cap's limit or the EVSE's default). Id and stack level are the band's, set by the lifecycle.
    """
    periods = plan_periods(plan, start, unit=unit, voltage_v=voltage_v, phases=phases, step=step,
                           min_limit=min_limit)
    if lease_until is not None:
        check_aware("lease_until", lease_until)
    end = max((slot.end for slot in plan.slots), default=start)
    duration = max(periods[-1].start_period + 1, math.ceil((end - start).total_seconds()))
    schedule = ChargingSchedule(unit, periods, start_schedule=start, duration=duration)
    return ChargingProfile(
        id=0, stack_level=0, purpose=ChargingProfilePurpose.TX, kind=ChargingProfileKind.ABSOLUTE,
        schedules=(schedule,), valid_to=lease_until, transaction_id=transaction_id,
    )


def evse_plan_profile(
    plan: SessionPlan, evse: EvseSpec, units: tuple[ChargingRateUnit, ...], *, transaction_id: str, now: datetime,
    lease_until: datetime | None, phases: int | None = None,
) -> ChargingProfile:
    """:func:`plan_profile` with the EVSE's facts: its unit (:func:`rate_unit_for`), voltage, step and minimum,
    ``phases`` the EV draws on (default the EVSE's; none for DC), starting :data:`BACKDATE_S` before ``now``."""
    unit = rate_unit_for(evse, units)
    dc = evse.current_type is CurrentType.DC
    used = None if dc else (phases or evse.phases)
    if unit is ChargingRateUnit.A:
        step, min_limit = evse.step_a, evse.min_current_a
    else:
        step = max(1.0, evse.step_w)
        min_limit = evse.min_power_w if dc else evse.min_current_a * evse.voltage_v * (used or 1)
    return plan_profile(
        plan, transaction_id=transaction_id, start=profile_start(now), lease_until=lease_until, unit=unit,
        voltage_v=evse.voltage_v, phases=used, step=step, min_limit=min_limit,
    )
