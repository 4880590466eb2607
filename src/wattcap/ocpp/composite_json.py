"""A :class:`CompositeSchedule` as OCPP 2.0.1 ``CompositeScheduleType`` JSON, with wattcap's attribution.

The same shape serves both versions (the 1.6 answer carries the same periods under ``chargingSchedule``).
``governedBy`` is wattcap's addition: which profiles set each period (empty = the station's local limit).
"""

from __future__ import annotations

from typing import Any

from wattcap.core.model import CompositePeriod, CompositeSchedule, ProfileRef
from wattcap.core.timeutil import format_timestamp


def _ref(ref: ProfileRef) -> dict[str, Any]:
    return {
        "profileId": ref.profile_id,
        "purpose": ref.purpose.value,
        "stackLevel": ref.stack_level,
        "evseId": ref.evse_id,
    }


def period_to_json(period: CompositePeriod, *, stack_level: bool = True, attribution: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"startPeriod": period.start_period, "limit": period.limit}
    if period.number_phases is not None:
        out["numberPhases"] = period.number_phases
    if period.phase_to_use is not None:
        out["phaseToUse"] = period.phase_to_use
    if stack_level and period.stack_level is not None:
        out["stackLevel"] = period.stack_level
    if period.transformed:
        out["periodTransformed"] = True
    if attribution:
        out["governedBy"] = [_ref(r) for r in period.governed_by]
    return out


def composite_to_json(
    schedule: CompositeSchedule, *, stack_level: bool = True, attribution: bool = True
) -> dict[str, Any]:
    return {
        "evseId": schedule.evse_id,
        "duration": schedule.duration,
        "scheduleStart": format_timestamp(schedule.schedule_start),
        "chargingRateUnit": schedule.charging_rate_unit.value,
        "chargingSchedulePeriod": [
            period_to_json(p, stack_level=stack_level, attribution=attribution) for p in schedule.periods
        ],
    }
