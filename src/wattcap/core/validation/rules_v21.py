"""OCPP 2.1 additions: PriorityCharging, operation modes, optional limits and randomized delays."""

from __future__ import annotations

from collections.abc import Iterator

from wattcap.core.model import ChargingProfilePurpose, OperationMode
from wattcap.core.validation.findings import ChargerResponse, ReasonCode
from wattcap.core.validation.request import ProfileRequest
from wattcap.core.validation.rule import ALL_CONTEXTS, SENT, V21, Check, Hit, Rule, error

P = ChargingProfilePurpose
M = OperationMode

# The 2.1 schema: limit is "Optional only when not required by the operationMode, as in CentralSetpoint,
# ExternalSetpoint, ExternalLimits, LocalFrequency, LocalLoadBalancing". Absent operationMode is ChargingOnly.
_LIMIT_OPTIONAL = frozenset(
    {M.CENTRAL_SETPOINT, M.EXTERNAL_SETPOINT, M.EXTERNAL_LIMITS, M.LOCAL_FREQUENCY, M.LOCAL_LOAD_BALANCING}
)


def _priority_charging_duration(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.purpose is P.PRIORITY_CHARGING:
        for i, schedule in req.schedules():
            if schedule.duration is not None:
                yield Hit(
                    req.facts.schedule(i, "duration"),
                    "a PriorityCharging schedule has no duration: it lasts until the transaction ends; remove it",
                )


def _operation_modes(purposes: frozenset[ChargingProfilePurpose], allowed: frozenset[OperationMode]) -> Check:
    """A check that the periods of profiles with ``purposes`` use only ``allowed`` modes (absent is allowed)."""
    names = ", ".join(sorted(m.value for m in allowed))

    def check(req: ProfileRequest) -> Iterator[Hit]:
        if req.profile.purpose not in purposes:
            return
        for i, j, period in req.periods():
            mode = period.operation_mode
            if mode is not None and mode not in allowed:
                yield Hit(
                    req.facts.period(i, j, "operationMode"),
                    f"operationMode {mode.value} is not allowed in a {req.profile.purpose.value} profile "
                    f"(allowed: {names}, or none)",
                )

    return check


def _limit_needed(req: ProfileRequest) -> Iterator[Hit]:
    for i, j, period in req.periods():
        if period.limit is None and period.operation_mode not in _LIMIT_OPTIONAL:
            mode = (period.operation_mode or M.CHARGING_ONLY).value
            yield Hit(req.facts.period(i, j, "limit"), f"operationMode {mode} needs a limit; add one")


def _randomized_delay_purpose(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.purpose in (P.TX, P.TX_DEFAULT):
        return
    for i, schedule in req.schedules():
        if schedule.randomized_delay is not None:
            yield Hit(
                req.facts.schedule(i, "randomizedDelay"),
                f"randomizedDelay is only allowed for TxProfile and TxDefaultProfile, not {req.profile.purpose.value}",
            )


def _operation_mode_rule(
    rule_id: str, purposes: frozenset[ChargingProfilePurpose], allowed: frozenset[OperationMode], summary: str
) -> Rule:
    return error(
        rule_id,
        V21,
        ALL_CONTEXTS,
        summary,
        _operation_modes(purposes, allowed),
        reason_code=ReasonCode.INVALID_OPERATION_MODE,
        response=ChargerResponse.REJECTED,
    )


RULES = (
    error(
        "K01.FR.73",
        V21,
        SENT,
        "A PriorityCharging schedule has no duration (the station rejects one, K01.FR.70).",
        _priority_charging_duration,
        reason_code=ReasonCode.INVALID_SCHEDULE,
        response=ChargerResponse.REJECTED,
    ),
    _operation_mode_rule(
        "K01.FR.111",
        frozenset({P.PRIORITY_CHARGING, P.CHARGING_STATION_MAX}),
        frozenset({M.CHARGING_ONLY}),
        "PriorityCharging and ChargingStationMaxProfile periods use operationMode ChargingOnly or none.",
    ),
    _operation_mode_rule(
        "K01.FR.112",
        frozenset({P.CHARGING_STATION_EXTERNAL_CONSTRAINTS}),
        frozenset({M.CHARGING_ONLY, M.EXTERNAL_LIMITS, M.EXTERNAL_SETPOINT}),
        "ChargingStationExternalConstraints periods use ChargingOnly, ExternalLimits or ExternalSetpoint.",
    ),
    _operation_mode_rule(
        "K01.FR.113",
        frozenset({P.LOCAL_GENERATION}),
        frozenset({M.CHARGING_ONLY, M.EXTERNAL_LIMITS}),
        "LocalGeneration periods use ChargingOnly or ExternalLimits.",
    ),
    error(
        "WC-E14",
        V21,
        ALL_CONTEXTS,
        "2.1: a period without limit only where its operationMode does not need one (schema description).",
        _limit_needed,
        reason_code=ReasonCode.INVALID_SCHEDULE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "WC-E15",
        V21,
        ALL_CONTEXTS,
        "2.1: randomizedDelay only for TxProfile and TxDefaultProfile (schema description).",
        _randomized_delay_purpose,
        reason_code=ReasonCode.INVALID_SCHEDULE,
        response=ChargerResponse.REJECTED,
    ),
)
