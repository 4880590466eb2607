"""A :class:`CompositeSchedule` as JSON: wattcap's annotated form, and the OCPP wire form a charger sends.

Two shapes, on purpose kept apart:

* :func:`composite_to_json` is wattcap's own, annotated JSON (CLI output, stored expectations, scenario checks):
  the ``CompositeScheduleType`` fields plus which profiles set each period (``governedBy``), their
  ``stackLevel`` and whether a limit was converted from the other unit (``periodTransformed``). A charger knows
  none of that, and the OCPP schemas forbid unknown fields, so this is never sent.
* :func:`composite_to_wire` is what a GetCompositeSchedule answer carries on the wire: only schema fields, and
  limits as :func:`~wattcap.core.limits.wire_limit` writes them (one fraction digit, truncated).

:func:`reported_composite_from_json` reads a charger's answer back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wattcap.core.limits import wire_limit
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
    """wattcap's annotated JSON of ``schedule``: ``CompositeScheduleType`` fields plus ``governedBy``,
    ``stackLevel`` and ``periodTransformed``, limits unrounded. Not OCPP wire JSON (the schemas refuse the
    annotations): a GetCompositeSchedule answer is :func:`composite_to_wire`."""
    return {
        "evseId": schedule.evse_id,
        "duration": schedule.duration,
        "scheduleStart": format_timestamp(schedule.schedule_start),
        "chargingRateUnit": schedule.charging_rate_unit.value,
        "chargingSchedulePeriod": [
            period_to_json(p, stack_level=stack_level, attribution=attribution) for p in schedule.periods
        ],
    }


def _wire_period(period: CompositePeriod, version: OcppVersion) -> dict[str, Any]:
    out: dict[str, Any] = {"startPeriod": period.start_period, "limit": wire_limit(period.limit)}
    if period.number_phases is not None:
        out["numberPhases"] = period.number_phases
    if period.phase_to_use is not None and version is OcppVersion.V201:  # 1.6 has no phaseToUse
        out["phaseToUse"] = period.phase_to_use
    return out


def composite_to_wire(schedule: CompositeSchedule, version: OcppVersion | str) -> dict[str, Any]:
    """``schedule`` as a charger answers GetCompositeSchedule (status Accepted) in ``version``.

    * 1.6: the answer's ``connectorId``, ``scheduleStart`` and ``chargingSchedule`` (add ``status``). The time
      base goes in ``scheduleStart`` only; ``chargingSchedule.startSchedule`` stays out (E16 3.57, A9).
    * 2.0.1: the ``CompositeScheduleType`` that goes under ``schedule``.

    Only schema fields; limits through :func:`~wattcap.core.limits.wire_limit` (1.6 ``multipleOf 0.1``,
    2.0.1's "at most one digit fraction"), truncated so a reported limit is never above the computed one.
    """
    version = OcppVersion(version)
    if version not in (OcppVersion.V16, OcppVersion.V201):
        raise ValueError(f"no composite wire form for OCPP {version.value} (1.6 and 2.0.1 only)")
    periods = [_wire_period(p, version) for p in schedule.periods]
    start = format_timestamp(schedule.schedule_start)
    unit = schedule.charging_rate_unit.value
    if version is OcppVersion.V16:
        return {
            "connectorId": schedule.evse_id,
            "scheduleStart": start,
            "chargingSchedule": {
                "duration": schedule.duration,
                "chargingRateUnit": unit,
                "chargingSchedulePeriod": periods,
            },
        }
    return {
        "evseId": schedule.evse_id,
        "duration": schedule.duration,
        "scheduleStart": start,
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": periods,
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
