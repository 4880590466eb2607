"""The TxProfile a fleet decision becomes where no site cap carries it, and fitting a schedule into few periods.

On a site with a site cap the allocator's leased TxProfile carries the rules and the plan (one writer per EVSE).
Elsewhere the fleet service writes the session's TxProfile itself, from the most specific decision it has:

1. a **plan** (a goal was planned): Absolute, the plan's steps, valid until the departure;
2. the rule's **template**: Relative to the session's start, as written;
3. the rule's **ceiling** (max power or current): Absolute, one period.

K15.FR.07: a TxProfile answering an ISO 15118 EV has no more periods than it can take (``maxScheduleTuples``) or
the station allows (``PeriodsPerSchedule``). :func:`fit_periods` merges neighbouring periods until it fits, each
merge keeping the lower limit: a fitted schedule may deliver less than the plan (the next re-plan makes up for it),
never more than was allowed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from wattcap.core.fleet.model import SessionPolicy
from wattcap.core.fleet.planner_model import SessionPlan
from wattcap.core.fleet.planner_profile import plan_profile, profile_start
from wattcap.core.model import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
)

__all__ = ["fit_periods", "standalone_profile"]


def fit_periods(
    periods: tuple[ChargingSchedulePeriod, ...], max_count: int | None
) -> tuple[ChargingSchedulePeriod, ...]:
    """At most ``max_count`` periods: repeatedly merge the neighbouring pair whose limits differ least (the merged
    period starts where the first did and takes the lower limit)."""
    if max_count is None or len(periods) <= max_count:
        return periods
    if max_count < 1:
        raise ValueError("a schedule needs at least one period")
    out = list(periods)
    while len(out) > max_count:
        best = min(range(len(out) - 1), key=lambda i: (abs((out[i].limit or 0.0) - (out[i + 1].limit or 0.0)), i))
        a, b = out[best], out[best + 1]
        merged = replace(a, limit=min(a.limit or 0.0, b.limit or 0.0))
        out[best : best + 2] = [merged]
        # a merge can make two neighbours equal: keep the schedule minimal
        out = [p for i, p in enumerate(out) if i == 0 or p.limit != out[i - 1].limit]
    return tuple(out)


def standalone_profile(
    plan: SessionPlan | None,
    policy: SessionPolicy,
    *,
    transaction_id: str,
    started_at: datetime,
    now: datetime,
    units: tuple[ChargingRateUnit, ...],
    voltage_v: float = 230.0,
    phases: int = 3,
    dc: bool = False,
    max_periods: int | None = None,
) -> ChargingProfile | None:
    """The session's TxProfile from its plan, else its rule's template, else its rule's ceiling; None when the
    rules decided nothing a charger could hold (defaults, or only a weight)."""
    unit = ChargingRateUnit.A if not dc and ChargingRateUnit.A in units else ChargingRateUnit.W
    start = profile_start(now)
    if plan is not None and plan.slots:
        valid_to = policy.goal.departure if policy.goal is not None else None
        profile = plan_profile(
            plan, transaction_id=transaction_id, start=start, lease_until=valid_to, unit=unit, voltage_v=voltage_v,
            phases=None if dc else phases, min_limit=0.0 if unit is ChargingRateUnit.W else 6.0,
        )
        schedule = profile.schedules[0]
        fitted = fit_periods(schedule.periods, max_periods)
        return replace(profile, schedules=(replace(schedule, periods=fitted),))
    if policy.template is not None:
        template = policy.template
        periods = tuple(
            ChargingSchedulePeriod(p.start_s, limit=p.limit, number_phases=p.number_phases) for p in template.periods
        )
        schedule = ChargingSchedule(template.unit, fit_periods(periods, max_periods))
        return ChargingProfile(
            id=0, stack_level=0, purpose=ChargingProfilePurpose.TX, kind=ChargingProfileKind.RELATIVE,
            schedules=(schedule,), transaction_id=transaction_id,
        )
    ceiling: float | None = None
    if unit is ChargingRateUnit.A:
        candidates = [policy.max_current_a]
        if policy.max_power_w is not None:
            candidates.append(policy.max_power_w / (voltage_v * phases))
        known = [c for c in candidates if c is not None]
        ceiling = int(min(known) * 10) / 10 if known else None
    else:
        watts = [policy.max_power_w]
        if policy.max_current_a is not None and not dc:
            watts.append(policy.max_current_a * voltage_v * phases)
        known = [w for w in watts if w is not None]
        ceiling = float(int(min(known))) if known else None
    if ceiling is None:
        return None
    period = ChargingSchedulePeriod(0, limit=ceiling, number_phases=None if dc else phases)
    return ChargingProfile(
        id=0, stack_level=0, purpose=ChargingProfilePurpose.TX, kind=ChargingProfileKind.ABSOLUTE,
        schedules=(ChargingSchedule(unit, (period,), start_schedule=start),), transaction_id=transaction_id,
    )
