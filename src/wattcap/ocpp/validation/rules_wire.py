"""Rules about how a profile travels: its JSON shape, what a version can carry, and how numbers are written.

The shape rules (WC-S01…S04, WC-W02) get their hits from :mod:`.schema`; the rest look at the model and the
JSON it would be written as. :mod:`.table` places these rows between the core's station rules and the rest.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import fields

from wattcap.core.limits import fraction_digits, wire_limit
from wattcap.core.model import ChargingSchedule
from wattcap.core.validation.findings import ChargerResponse, ReasonCode
from wattcap.core.validation.request import ProfileRequest
from wattcap.core.validation.rule import (
    ALL_CONTEXTS,
    ALL_VERSIONS,
    SENT,
    V16,
    V201,
    Hit,
    error,
    warning,
)
from wattcap.ocpp.profile_json import profile_from_json, profile_to_json
from wattcap.ocpp.validation.schema import (
    NAIVE_TIME_REPORTED_RULE,
    NAIVE_TIME_SENT_RULE,
    OCCURRENCE_RULE,
    TYPE_RULE,
    VALUE_RULE,
)

# Model attribute -> wire name of the numeric period fields; limits may not be negative, the rest may.
_PERIOD_NUMBERS = {
    "limit": "limit",
    "limit_l2": "limit_L2",
    "limit_l3": "limit_L3",
    "discharge_limit": "dischargeLimit",
    "discharge_limit_l2": "dischargeLimit_L2",
    "discharge_limit_l3": "dischargeLimit_L3",
    "setpoint": "setpoint",
    "setpoint_l2": "setpoint_L2",
    "setpoint_l3": "setpoint_L3",
    "setpoint_reactive": "setpointReactive",
    "setpoint_reactive_l2": "setpointReactive_L2",
    "setpoint_reactive_l3": "setpointReactive_L3",
    "v2x_baseline": "v2xBaseline",
}
_NON_NEGATIVE = frozenset({"limit", "limit_l2", "limit_l3"})


def _dropped_fields(req: ProfileRequest) -> Iterator[Hit]:
    """Model fields the version's wire form has no place for: the charger would never see them."""
    version = req.facts.version
    try:
        back = profile_from_json(profile_to_json(req.profile, version), version)
    except (ValueError, TypeError, OverflowError):
        return  # cannot be written or read back at all: the schema pass says why
    pairs = [("", req.profile, back)]
    for i, (mine, theirs) in enumerate(zip(req.profile.schedules, back.schedules, strict=False)):
        pairs.append((req.facts.schedule(i), mine, theirs))
        for j, (p, q) in enumerate(zip(mine.periods, theirs.periods, strict=False)):
            pairs.append((req.facts.period(i, j), p, q))
    for path, original, copy in pairs:
        for f in fields(original):
            # A 1.6 schedule has no id; setting one loses nothing.
            if f.name == "extra" or (f.name == "id" and isinstance(original, ChargingSchedule)):
                continue
            if getattr(original, f.name) is not None and getattr(copy, f.name) is None:
                yield Hit(
                    path,
                    f"{f.name} is not part of an OCPP {version.value} charging profile and would be dropped "
                    "on the wire; remove it or use a version that has it",
                )


def _numbers(req: ProfileRequest) -> Iterator[Hit]:
    for i, schedule in req.schedules():
        rate = schedule.min_charging_rate
        if rate is not None and not (math.isfinite(rate) and rate >= 0):
            yield Hit(req.facts.schedule(i, "minChargingRate"), f"minChargingRate {rate} must be a finite number >= 0")
        if schedule.power_tolerance is not None and not math.isfinite(schedule.power_tolerance):
            yield Hit(req.facts.schedule(i, "powerTolerance"), "powerTolerance must be a finite number")
    for i, j, period in req.periods():
        for attr, wire in _PERIOD_NUMBERS.items():
            value = getattr(period, attr)
            if value is None:
                continue
            if not math.isfinite(value):
                yield Hit(req.facts.period(i, j, wire), f"{wire} {value} is not a number JSON can carry")
            elif attr in _NON_NEGATIVE and value < 0:
                yield Hit(
                    req.facts.period(i, j, wire),
                    f"{wire} {value} is negative; a limit caps charging and cannot be below 0 "
                    "(OCPP 2.1 expresses discharging with dischargeLimit)",
                )


def _decimals(req: ProfileRequest) -> Iterator[Hit]:
    """limit / minChargingRate with more than one fraction digit, judged on their shortest decimal text."""

    def judge(path: str, name: str, value: float | None) -> Iterator[Hit]:
        if value is not None and math.isfinite(value) and fraction_digits(value) > 1:
            yield Hit(
                path,
                f"{name} {value!r} has more than one fraction digit; send {wire_limit(value)!r} "
                "(wattcap.core.limits.wire_limit truncates, so the sent limit is never above the computed one)",
            )

    for i, schedule in req.schedules():
        yield from judge(req.facts.schedule(i, "minChargingRate"), "minChargingRate", schedule.min_charging_rate)
    for i, j, period in req.periods():
        yield from judge(req.facts.period(i, j, "limit"), "limit", period.limit)


RULES = (
    error(
        TYPE_RULE,
        ALL_VERSIONS,
        ALL_CONTEXTS,
        "A field has the wrong JSON type, or the profile is not a JSON object.",
        response=ChargerResponse.TYPE_CONSTRAINT_VIOLATION,
    ),
    error(
        OCCURRENCE_RULE,
        ALL_VERSIONS,
        ALL_CONTEXTS,
        "A required field is missing, or a list has fewer or more items than the schema allows.",
        response=ChargerResponse.OCCURRENCE_CONSTRAINT_VIOLATION,
    ),
    error(
        VALUE_RULE,
        ALL_VERSIONS,
        ALL_CONTEXTS,
        "A value the version's schema does not allow (enum value, unknown field, length, range, date-time), "
        "or a model the version cannot write (a second 1.6 schedule, a non-integer 1.6 transactionId).",
        response=ChargerResponse.PROPERTY_CONSTRAINT_VIOLATION,
    ),
    error(
        NAIVE_TIME_SENT_RULE,
        ALL_VERSIONS,
        SENT,
        "A timestamp without a time zone in a profile wattcap sends; chargers read it in local time (A7, A22).",
    ),
    warning(
        NAIVE_TIME_REPORTED_RULE,
        ALL_VERSIONS,
        frozenset(ALL_CONTEXTS - SENT),
        "A charger reported a timestamp without a time zone; wattcap reads it as UTC.",
    ),
    error(
        "WC-S05",
        ALL_VERSIONS,
        ALL_CONTEXTS,
        "The profile sets a field the version cannot carry (e.g. phaseToUse in 1.6, 2.1 fields in 2.0.1); "
        "it would be dropped silently.",
        _dropped_fields,
    ),
    error(
        "WC-E13",
        ALL_VERSIONS,
        ALL_CONTEXTS,
        "A limit or minChargingRate is negative, or a number is NaN or infinite.",
        _numbers,
        reason_code=ReasonCode.INVALID_VALUE,
    ),
    error(
        "R16-10",
        V16,
        SENT,
        "1.6 limit and minChargingRate are multipleOf 0.1: at most one fraction digit (judged in decimal).",
        _decimals,
        response=ChargerResponse.PROPERTY_CONSTRAINT_VIOLATION,
    ),
    warning(
        "WC-W01",
        V201,
        SENT,
        "2.0.1 limit / minChargingRate \"accepts at most one digit fraction\"; more digits may be rejected.",
        _decimals,
    ),
)
