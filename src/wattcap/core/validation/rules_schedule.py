"""Rules about a profile's time shape: periods, startSchedule, duration, recurrence and validity."""

from __future__ import annotations

from collections.abc import Iterator

from wattcap.core.model import RECURRENCE_PERIOD_S, ChargingProfileKind
from wattcap.core.validation.findings import ChargerResponse, ReasonCode
from wattcap.core.validation.request import ProfileRequest
from wattcap.core.validation.rule import (
    ALL_CONTEXTS,
    ALL_VERSIONS,
    SENT,
    V2X,
    V16,
    Hit,
    error,
    warning,
)

ABSOLUTE = ChargingProfileKind.ABSOLUTE
RECURRING = ChargingProfileKind.RECURRING
RELATIVE = ChargingProfileKind.RELATIVE


def _first_start_period(req: ProfileRequest) -> Iterator[Hit]:
    for i, schedule in req.schedules():
        if not schedule.periods:
            yield Hit(req.facts.schedule(i, "chargingSchedulePeriod"), "the schedule has no periods; add one at 0")
        elif schedule.periods[0].start_period != 0:
            yield Hit(
                req.facts.period(i, 0, "startPeriod"),
                f"the first period starts at {schedule.periods[0].start_period}, it must start at 0 (delay a "
                "schedule with startSchedule or validFrom instead)",
            )


def _increasing_start_periods(req: ProfileRequest) -> Iterator[Hit]:
    for i, schedule in req.schedules():
        for j in range(1, len(schedule.periods)):
            before, now = schedule.periods[j - 1].start_period, schedule.periods[j].start_period
            if now <= before:
                yield Hit(
                    req.facts.period(i, j, "startPeriod"),
                    f"startPeriod {now} does not come after the previous period's {before}; periods must be "
                    "sorted by strictly increasing startPeriod",
                )


def _start_schedule_missing(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.kind in (ABSOLUTE, RECURRING):
        for i, schedule in req.schedules():
            if schedule.start_schedule is None:
                yield Hit(
                    req.facts.schedule(i, "startSchedule"),
                    f"an {req.profile.kind.value} profile needs startSchedule (UTC, in the past or aligned, A7)",
                )


def _start_schedule_on_relative(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.kind is RELATIVE:
        for i, schedule in req.schedules():
            if schedule.start_schedule is not None:
                yield Hit(
                    req.facts.schedule(i, "startSchedule"),
                    "a Relative profile starts with the transaction and has no startSchedule; remove it, or send "
                    "an Absolute profile",
                )


def _start_schedule_vs_kind_16(req: ProfileRequest) -> Iterator[Hit]:
    for i, schedule in req.schedules():
        if req.profile.kind is ABSOLUTE and schedule.start_schedule is None:
            yield Hit(
                req.facts.schedule(i, "startSchedule"),
                "an Absolute profile without startSchedule: 1.6 leaves its start open and chargers differ "
                "(libocpp rejects it unless configured otherwise, A8); set startSchedule slightly in the past",
            )
        elif req.profile.kind is RELATIVE and schedule.start_schedule is not None:
            yield Hit(
                req.facts.schedule(i, "startSchedule"),
                "a Relative profile with startSchedule: chargers differ on which start wins (A8); remove it",
            )


def _recurrency_kind(req: ProfileRequest) -> Iterator[Hit]:
    recurring = req.profile.kind is RECURRING
    if recurring and req.profile.recurrency_kind is None:
        yield Hit("recurrencyKind", "a Recurring profile needs recurrencyKind (Daily or Weekly)")
    elif not recurring and req.profile.recurrency_kind is not None:
        yield Hit(
            "recurrencyKind",
            f"recurrencyKind is only used with chargingProfileKind Recurring, not {req.profile.kind.value}; "
            "remove it",
        )


def _recurring_without_start(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.kind is RECURRING:
        for i, schedule in req.schedules():
            if schedule.start_schedule is None:
                yield Hit(
                    req.facts.schedule(i, "startSchedule"),
                    "a Recurring schedule restarts \"at the same time as in the startSchedule\", so it needs one; "
                    "set it in the past, aligned to the wanted time of day/week",
                )


def _beyond_recurrence(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.kind is not RECURRING or req.profile.recurrency_kind is None:
        return
    cycle = RECURRENCE_PERIOD_S[req.profile.recurrency_kind]
    kind = req.profile.recurrency_kind.value
    for i, schedule in req.schedules():
        if schedule.duration is not None and schedule.duration > cycle:
            yield Hit(
                req.facts.schedule(i, "duration"),
                f"duration {schedule.duration} s is longer than the {kind} recurrence ({cycle} s); the part beyond "
                "it is never executed",
            )
        for j, period in enumerate(schedule.periods):
            if period.start_period >= cycle:
                yield Hit(
                    req.facts.period(i, j, "startPeriod"),
                    f"period starts at {period.start_period} s, at or after the {kind} recurrence ({cycle} s): "
                    "it is never executed",
                )


def _beyond_duration(req: ProfileRequest) -> Iterator[Hit]:
    for i, schedule in req.schedules():
        if schedule.duration is None or schedule.duration <= 0:
            continue
        for j, period in enumerate(schedule.periods):
            if period.start_period >= schedule.duration:
                yield Hit(
                    req.facts.period(i, j, "startPeriod"),
                    f"period starts at {period.start_period} s, at or after the schedule's duration "
                    f"{schedule.duration} s: it is never executed; extend duration or drop the period",
                )


def _non_positive_duration(req: ProfileRequest) -> Iterator[Hit]:
    for i, schedule in req.schedules():
        if schedule.duration is not None and schedule.duration <= 0:
            yield Hit(
                req.facts.schedule(i, "duration"),
                f"duration {schedule.duration} s leaves nothing to execute; omit duration for an open end",
            )


def _empty_validity(req: ProfileRequest) -> Iterator[Hit]:
    valid_from, valid_to = req.profile.valid_from, req.profile.valid_to
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        yield Hit("validTo", "validTo is not after validFrom, so the profile is never valid")


def _already_expired(req: ProfileRequest) -> Iterator[Hit]:
    if req.now is not None and req.profile.valid_to is not None and req.profile.valid_to <= req.now:
        yield Hit("validTo", "validTo has already passed: the station stores the profile but never uses it")


def _several_schedules(req: ProfileRequest) -> Iterator[Hit]:
    if req.iso15118:
        return
    if len(req.profile.schedules) > 1:
        yield Hit(
            "chargingSchedule",
            f"{len(req.profile.schedules)} schedules, but alternatives are only for ISO 15118 sessions "
            "(after NotifyEVChargingNeeds); send one schedule",
        )
    for i, schedule in req.schedules():
        if "salesTariff" in schedule.extra:
            yield Hit(req.facts.schedule(i, "salesTariff"), "salesTariff is only for ISO 15118 sessions; remove it")


def _zero_limit(req: ProfileRequest) -> Iterator[Hit]:
    for i, j, period in req.periods():
        if period.limit == 0:
            yield Hit(
                req.facts.period(i, j, "limit"),
                "limit 0 is used to pause charging, but chargers have accepted it without applying it (A17); "
                "verify with GetCompositeSchedule and meter values",
            )


RULES = (
    error(
        "K01.FR.31",
        V2X,
        ALL_CONTEXTS,
        "The first chargingSchedulePeriod starts at 0.",
        _first_start_period,
        reason_code=ReasonCode.INVALID_SCHEDULE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "R16-09",
        V16,
        ALL_CONTEXTS,
        "The first chargingSchedulePeriod starts at 0.",
        _first_start_period,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.35",
        ALL_VERSIONS,
        ALL_CONTEXTS,
        "startPeriods strictly increase (1.6: implied, a startPeriod ends the previous period).",
        _increasing_start_periods,
        reason_code=ReasonCode.INVALID_SCHEDULE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.40",
        V2X,
        ALL_CONTEXTS,
        "Absolute and Recurring schedules have a startSchedule.",
        _start_schedule_missing,
        reason_code=ReasonCode.INVALID_SCHEDULE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.41",
        V2X,
        ALL_CONTEXTS,
        "Relative schedules have no startSchedule.",
        _start_schedule_on_relative,
        reason_code=ReasonCode.INVALID_SCHEDULE,
        response=ChargerResponse.REJECTED,
    ),
    warning(
        "WC-W04",
        V16,
        ALL_CONTEXTS,
        "1.6: Absolute without startSchedule, or Relative with one; chargers differ (A8).",
        _start_schedule_vs_kind_16,
    ),
    error(
        "E16-3.56",
        ALL_VERSIONS,
        ALL_CONTEXTS,
        "recurrencyKind is present exactly when chargingProfileKind is Recurring.",
        _recurrency_kind,
        reason_code=ReasonCode.INVALID_PROFILE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "E16-3.78",
        V16,
        ALL_CONTEXTS,
        "1.6: a Recurring schedule needs startSchedule; the recurrence restarts at its time of day/week.",
        _recurring_without_start,
        response=ChargerResponse.REJECTED,
    ),
    warning(
        "WC-W05",
        ALL_VERSIONS,
        SENT,
        "Duration or periods beyond the recurrence period are never executed.",
        _beyond_recurrence,
    ),
    warning(
        "K01.FR.11",
        ALL_VERSIONS,
        SENT,
        "Periods starting at or after duration are never executed.",
        _beyond_duration,
    ),
    error(
        "WC-E11",
        ALL_VERSIONS,
        ALL_CONTEXTS,
        "duration, when present, is positive.",
        _non_positive_duration,
        reason_code=ReasonCode.INVALID_SCHEDULE,
    ),
    error(
        "WC-E12",
        ALL_VERSIONS,
        ALL_CONTEXTS,
        "validTo is after validFrom (validFrom <= t < validTo, K01.FR.36/37).",
        _empty_validity,
        reason_code=ReasonCode.INVALID_PROFILE,
    ),
    warning(
        "WC-W06",
        ALL_VERSIONS,
        SENT,
        "validTo has already passed (needs the current time).",
        _already_expired,
    ),
    error(
        "K01.FR.34",
        V2X,
        SENT,
        "Without ISO 15118 a profile has one schedule and no salesTariff.",
        _several_schedules,
        reason_code=ReasonCode.INVALID_SCHEDULE,
        response=ChargerResponse.REJECTED,
    ),
    warning(
        "WC-W07",
        ALL_VERSIONS,
        SENT,
        "limit 0 as a pause is accepted but not always applied (A17): verify.",
        _zero_limit,
    ),
)
