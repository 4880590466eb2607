"""A :class:`CompositeSchedule` as OCPP 2.0.1 ``CompositeScheduleType`` JSON, with wattcap's attribution.

The same shape serves both versions (the 1.6 answer carries the same periods under ``chargingSchedule``).
``governedBy`` is wattcap's addition: which profiles set each period (empty = the station's local limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wattcap.core.model import ChargingRateUnit, CompositePeriod, CompositeSchedule, OcppVersion, ProfileRef
from wattcap.core.timeutil import format_timestamp, parse_timestamp
from wattcap.core.verification import ReportedComposite, ReportedPeriod


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


class CompositeAnswerError(ValueError):
    """A GetCompositeSchedule answer that cannot be read (the path names the field)."""


def reported_composite_from_json(payload: Mapping[str, Any], version: OcppVersion | str) -> ReportedComposite | None:
    """The schedule in a GetCompositeSchedule answer (1.6 ``.conf`` or 2.0.1 response), or None if Rejected.

    1.6 answers carry the time base in ``scheduleStart`` and sometimes (against E16 3.57, A9) also or only in
    ``chargingSchedule.startSchedule``; both are accepted, ``scheduleStart`` first.
    """
    if payload.get("status") != "Accepted":
        return None
    if OcppVersion(version) is OcppVersion.V16:
        schedule = payload.get("chargingSchedule")
        start_text = payload.get("scheduleStart") or (schedule or {}).get("startSchedule")
    else:
        schedule = payload.get("schedule")
        start_text = (schedule or {}).get("scheduleStart")
    if not schedule:
        return None
    if start_text is None:
        raise CompositeAnswerError("scheduleStart: the answer has no time base")
    try:
        start = parse_timestamp(start_text)
        unit = ChargingRateUnit(schedule["chargingRateUnit"])
        periods = tuple(
            ReportedPeriod(int(p["startPeriod"]), float(p["limit"]), p.get("numberPhases"))
            for p in schedule.get("chargingSchedulePeriod", [])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CompositeAnswerError(f"unreadable composite answer: {exc}") from None
    duration = schedule.get("duration")
    return ReportedComposite(start, None if duration is None else int(duration), unit, periods)
