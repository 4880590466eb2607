"""Rules that hold a profile against what the station is and says it can do (StationConfig, StationCapabilities).

A capability the station did not report (None) is not checked: guessing a limit would reject good profiles.
"""

from __future__ import annotations

from collections.abc import Iterator

from wattcap.core.station import CurrentType
from wattcap.core.validation.findings import ChargerResponse, ReasonCode
from wattcap.core.validation.request import ProfileRequest
from wattcap.core.validation.rule import (
    ALL_CONTEXTS,
    ALL_VERSIONS,
    REMOTE_START,
    SENT,
    SET,
    V2X,
    V16,
    Hit,
    error,
    warning,
)

_PHASES = range(1, 4)


def _smart_charging_unsupported(req: ProfileRequest) -> Iterator[Hit]:
    if not req.caps.smart_charging_supported:
        yield Hit(
            "",
            "the station does not support smart charging (no SmartCharging feature profile / "
            "SmartChargingCtrlr not available), so it answers with CALLERROR NotSupported; limit it another way",
        )


def _remote_start_profile_ignored(req: ProfileRequest) -> Iterator[Hit]:
    if not req.caps.smart_charging_supported:
        yield Hit(
            "",
            "the station does not support smart charging: it starts the transaction but ignores this profile "
            "(1.6 §5.11), so the session runs unlimited",
        )


def _unknown_evse(req: ProfileRequest) -> Iterator[Hit]:
    if not req.station.has_evse(req.evse_id):
        known = ", ".join(str(e) for e in (0, *req.station.evse_ids))
        yield Hit(
            req.facts.evse_field,
            f"{req.facts.evse_noun} {req.evse_id} does not exist on this station (known: {known}); ids come from the "
            "station's device model and need not be 1..N (A26)",
        )


def _negative_stack_level(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.stack_level < 0:
        yield Hit("stackLevel", f"stackLevel {req.profile.stack_level} is negative; the lowest level is 0")


def _stack_level_above_max(req: ProfileRequest) -> Iterator[Hit]:
    top = req.caps.max_stack_level
    if top is not None and req.profile.stack_level > top:
        yield Hit(
            "stackLevel",
            f"stackLevel {req.profile.stack_level} is above the station's maximum {top} (inclusive; "
            f"ChargeProfileMaxStackLevel / SmartChargingCtrlr.ProfileStackLevel); use 0..{top} (A5)",
        )


def _rate_unit(req: ProfileRequest) -> Iterator[Hit]:
    allowed = req.caps.rate_units
    for i, schedule in req.schedules():
        if schedule.charging_rate_unit not in allowed:
            yield Hit(
                req.facts.schedule(i, "chargingRateUnit"),
                f"the station only accepts {', '.join(u.value for u in allowed) or 'no'} schedules, not "
                f"{schedule.charging_rate_unit.value}; convert the limits to an accepted unit",
            )


def _too_many_periods(req: ProfileRequest) -> Iterator[Hit]:
    most = req.caps.max_periods_per_schedule
    if most is None:
        return
    for i, schedule in req.schedules():
        if len(schedule.periods) > most:
            yield Hit(
                req.facts.schedule(i, "chargingSchedulePeriod"),
                f"{len(schedule.periods)} periods, but the station takes at most {most} per schedule "
                "(ChargingScheduleMaxPeriods / PeriodsPerSchedule); merge equal neighbours or shorten the horizon",
            )


def _phase_to_use_without_one_phase(req: ProfileRequest) -> Iterator[Hit]:
    for i, j, period in req.periods():
        if period.phase_to_use is not None and period.number_phases != 1:
            yield Hit(
                req.facts.period(i, j, "phaseToUse"),
                "phaseToUse is only allowed with numberPhases = 1; set numberPhases to 1 or drop phaseToUse",
            )


def _phase_to_use_without_switching(req: ProfileRequest) -> Iterator[Hit]:
    if req.caps.ac_phase_switching:
        return
    for i, j, period in req.periods():
        if period.phase_to_use is not None:
            yield Hit(
                req.facts.period(i, j, "phaseToUse"),
                "the station does not report ACPhaseSwitchingSupported, so it cannot choose a phase; "
                "drop phaseToUse",
            )


def _phases_on_dc(req: ProfileRequest) -> Iterator[Hit]:
    if req.station.current_type is not CurrentType.DC:
        return
    for i, j, period in req.periods():
        for value, field in ((period.number_phases, "numberPhases"), (period.phase_to_use, "phaseToUse")):
            if value is not None:
                yield Hit(req.facts.period(i, j, field), f"{field} is meaningless on a DC EVSE; omit it")


def _more_phases_than_supplied(req: ProfileRequest) -> Iterator[Hit]:
    supplied = req.station.supply_phases
    if req.station.current_type is not CurrentType.AC:
        return
    for i, j, period in req.periods():
        phases = period.number_phases
        if phases in _PHASES and phases > supplied:
            yield Hit(
                req.facts.period(i, j, "numberPhases"),
                f"numberPhases {phases} is more than the {supplied} phase(s) the station is supplied with; "
                f"send at most {supplied}",
            )


def _fewer_phases_than_evse(req: ProfileRequest) -> Iterator[Hit]:
    supplied = req.station.supply_phases
    can_switch = req.caps.phase_switching_3to1 or req.caps.ac_phase_switching
    if req.station.current_type is not CurrentType.AC or can_switch:
        return
    for i, j, period in req.periods():
        phases = period.number_phases
        if phases in _PHASES and phases < supplied:
            yield Hit(
                req.facts.period(i, j, "numberPhases"),
                f"numberPhases {phases} differs from the EVSE's {supplied} phases and the station does not "
                "report phase switching; a charger SHOULD reject it (send the EVSE's phases, or check "
                "Phases3to1 / ConnectorSwitch3to1PhaseSupported / ACPhaseSwitchingSupported first)",
            )


def _phase_values(req: ProfileRequest) -> Iterator[Hit]:
    for i, j, period in req.periods():
        for value, field in ((period.number_phases, "numberPhases"), (period.phase_to_use, "phaseToUse")):
            if value is not None and value not in _PHASES:
                yield Hit(req.facts.period(i, j, field), f"{field} {value} is not 1, 2 or 3")


def _single_phase_site_without_phases(req: ProfileRequest) -> Iterator[Hit]:
    if req.station.current_type is not CurrentType.AC or req.station.supply_phases != 1:
        return
    for i, schedule in req.schedules():
        missing = [j for j, period in enumerate(schedule.periods) if period.number_phases is None]
        if missing:
            yield Hit(
                req.facts.schedule(i, "chargingSchedulePeriod"),
                f"period(s) {', '.join(map(str, missing))} have no numberPhases on a single-phase site; chargers "
                "then assume 3 phases (K01.FR.49), which divides W limits by 3 and overstates A totals. "
                "Send numberPhases = 1",
            )


RULES = (
    error(
        "K01.FR.29",
        V2X,
        SET,
        "A station without smart charging answers SetChargingProfile with CALLERROR NotSupported.",
        _smart_charging_unsupported,
        response=ChargerResponse.NOT_SUPPORTED,
        final=True,
    ),
    error(
        "E16-3.39",
        V16,
        SET,
        "A 1.6 charge point without smart charging answers SetChargingProfile with CALLERROR NotSupported.",
        _smart_charging_unsupported,
        response=ChargerResponse.NOT_SUPPORTED,
        final=True,
    ),
    warning(
        "WC-W09",
        ALL_VERSIONS,
        REMOTE_START,
        "A station without smart charging ignores the profile of a remote start; the session runs unlimited.",
        _remote_start_profile_ignored,
        final=True,
    ),
    error(
        "K01.FR.28",
        V2X,
        SET,
        "The evseId must exist on the station (checked against its device model, not a count; A26).",
        _unknown_evse,
        reason_code=ReasonCode.UNKNOWN_EVSE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "E16-3.38",
        V16,
        SET,
        "An unknown connectorId is answered with CALLERROR PropertyConstraintViolation.",
        _unknown_evse,
        response=ChargerResponse.PROPERTY_CONSTRAINT_VIOLATION,
    ),
    error(
        "WC-E01",
        ALL_VERSIONS,
        ALL_CONTEXTS,
        "stackLevel is never negative (\"Lowest level is 0\"; 2.1 schema minimum 0).",
        _negative_stack_level,
        reason_code=ReasonCode.INVALID_STACK_LEVEL,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "WC-E02",
        ALL_VERSIONS,
        SENT,
        "stackLevel above the station's ChargeProfileMaxStackLevel / ProfileStackLevel (inclusive; A5).",
        _stack_level_above_max,
        reason_code=ReasonCode.INVALID_STACK_LEVEL,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.26",
        V2X,
        SENT,
        "chargingRateUnit must be one the station lists in SmartChargingCtrlr.RateUnit.",
        _rate_unit,
        reason_code=ReasonCode.UNSUPPORTED_RATE_UNIT,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "E16-3.86",
        V16,
        SENT,
        "chargingRateUnit must be allowed by ChargingScheduleAllowedChargingRateUnit (Current = A, Power = W).",
        _rate_unit,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "WC-E03",
        ALL_VERSIONS,
        SENT,
        "More periods than ChargingScheduleMaxPeriods / PeriodsPerSchedule.",
        _too_many_periods,
        reason_code=ReasonCode.TOO_MANY_ELEMENTS,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.19",
        V2X,
        ALL_CONTEXTS,
        "phaseToUse only together with numberPhases = 1.",
        _phase_to_use_without_one_phase,
        reason_code=ReasonCode.INVALID_SCHEDULE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.20",
        V2X,
        SENT,
        "phaseToUse only when the station reports ACPhaseSwitchingSupported.",
        _phase_to_use_without_switching,
        reason_code=ReasonCode.INVALID_SCHEDULE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.44",
        V2X,
        SENT,
        "numberPhases / phaseToUse set for a DC EVSE.",
        _phases_on_dc,
        reason_code=ReasonCode.INVALID_SCHEDULE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.45",
        V2X,
        SENT,
        "numberPhases above the phases the AC station is supplied with.",
        _more_phases_than_supplied,
        reason_code=ReasonCode.INVALID_SCHEDULE,
        response=ChargerResponse.REJECTED,
    ),
    warning(
        "K01.FR.18",
        V2X,
        SENT,
        "AC numberPhases below the EVSE's phases without phase switching; a charger SHOULD reject it.",
        _fewer_phases_than_evse,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "WC-E05",
        ALL_VERSIONS,
        ALL_CONTEXTS,
        "numberPhases and phaseToUse are 1, 2 or 3.",
        _phase_values,
        reason_code=ReasonCode.INVALID_SCHEDULE,
        response=ChargerResponse.REJECTED,
    ),
    warning(
        "WC-W03",
        ALL_VERSIONS,
        SENT,
        "No numberPhases on a single-phase AC site: chargers assume 3 (K01.FR.49 note: send numberPhases = 1).",
        _single_phase_site_without_phases,
    ),
)
