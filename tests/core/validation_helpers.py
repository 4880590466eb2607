"""Builders for the validation tests: a profile that passes every rule, and small ways to break it.

:func:`check` and :func:`check_json` run the full validation (wire and semantic passes) of
``wattcap.ocpp.validation``, so a test sees every finding a caller would, whichever rule it is about.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from wattcap.core.model import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    InstalledProfile,
    OcppVersion,
    Transaction,
)
from wattcap.core.station import StationCapabilities, StationConfig
from wattcap.core.timeutil import utc
from wattcap.core.validation import Finding, RequestContext, Severity
from wattcap.ocpp.validation import validate_profile, validate_profile_json

V16 = OcppVersion.V16
V201 = OcppVersion.V201
V21 = OcppVersion.V21
VERSIONS = (V16, V201, V21)

MAX = ChargingProfilePurpose.CHARGING_STATION_MAX
TX_DEFAULT = ChargingProfilePurpose.TX_DEFAULT
TX = ChargingProfilePurpose.TX
EXTERNAL = ChargingProfilePurpose.CHARGING_STATION_EXTERNAL_CONSTRAINTS
PRIORITY = ChargingProfilePurpose.PRIORITY_CHARGING
LOCAL_GENERATION = ChargingProfilePurpose.LOCAL_GENERATION

ABSOLUTE = ChargingProfileKind.ABSOLUTE
RECURRING = ChargingProfileKind.RECURRING
RELATIVE = ChargingProfileKind.RELATIVE

SET = RequestContext.SET_CHARGING_PROFILE
REMOTE_START = RequestContext.REMOTE_START
REPORTED = RequestContext.CHARGER_REPORTED

T0 = utc(2024, 1, 1)
NOW = utc(2024, 1, 1, 12)
TX_ID = "1234"  # decimal text, so it is a valid 1.6 transaction id as well


def period(start: int = 0, limit: float | None = 16.0, **kw: Any) -> ChargingSchedulePeriod:
    return ChargingSchedulePeriod(start_period=start, limit=limit, **kw)


def schedule(*periods: ChargingSchedulePeriod, **kw: Any) -> ChargingSchedule:
    kw.setdefault("charging_rate_unit", ChargingRateUnit.A)
    kw.setdefault("id", 1)
    kw.setdefault("start_schedule", T0)
    return ChargingSchedule(periods=periods or (period(),), **kw)


def profile(*periods: ChargingSchedulePeriod, schedule_kw: dict | None = None, **kw: Any) -> ChargingProfile:
    """A TxDefaultProfile, Absolute from T0, 16 A: valid on evse 1 of :func:`station` in every version."""
    kw.setdefault("id", 1)
    kw.setdefault("stack_level", 0)
    kw.setdefault("purpose", TX_DEFAULT)
    kw.setdefault("kind", ABSOLUTE)
    if "schedules" not in kw:
        sched_kw = dict(schedule_kw or {})
        if kw["kind"] is RELATIVE:
            sched_kw.setdefault("start_schedule", None)
        kw["schedules"] = (schedule(*periods, **sched_kw),)
    return ChargingProfile(**kw)


def tx_profile(*periods: ChargingSchedulePeriod, **kw: Any) -> ChargingProfile:
    """A TxProfile for :data:`TX_ID`, Absolute from T0 (in the past, as A6 recommends)."""
    kw.setdefault("purpose", TX)
    kw.setdefault("transaction_id", TX_ID)
    return profile(*periods, **kw)


def remote_start_profile(**kw: Any) -> ChargingProfile:
    """What a remote start should carry: a Relative TxProfile without transactionId."""
    kw.setdefault("purpose", TX)
    kw.setdefault("kind", RELATIVE)
    return profile(**kw)


def station(**caps: Any) -> StationConfig:
    """A 3-phase AC station with EVSEs 1 and 2 reporting ``caps``."""
    fields = {k: caps.pop(k) for k in ("evse_ids", "current_type", "supply_phases") if k in caps}
    fields.setdefault("evse_ids", (1, 2))
    return StationConfig(capabilities=StationCapabilities(**caps), **fields)


def running(evse_id: int = 1, transaction_id: str = TX_ID) -> Transaction:
    return Transaction(evse_id=evse_id, transaction_id=transaction_id)


def held(evse_id: int, p: ChargingProfile) -> InstalledProfile:
    return InstalledProfile(evse_id=evse_id, profile=p)


def check(p: Any, version: OcppVersion = V201, **kw: Any) -> list[Finding]:
    """validate_profile with the test defaults (evse 1 of :func:`station`)."""
    kw.setdefault("evse_id", 1)
    kw.setdefault("station", station())
    return validate_profile(p, version, **kw)


def check_json(data: Any, version: OcppVersion = V201, **kw: Any) -> list[Finding]:
    kw.setdefault("evse_id", 1)
    kw.setdefault("station", station())
    return validate_profile_json(data, version, **kw)


def of_rule(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def only(findings: list[Finding], rule_id: str) -> Finding:
    """The single finding of ``rule_id`` (fails if there is none or several)."""
    hits = of_rule(findings, rule_id)
    assert len(hits) == 1, f"expected one {rule_id} finding, got {findings}"
    return hits[0]


def rule_ids(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def error_ids(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings if f.severity is Severity.ERROR}


def with_schedule(p: ChargingProfile, **kw: Any) -> ChargingProfile:
    """``p`` with its first schedule changed."""
    return replace(p, schedules=(replace(p.schedules[0], **kw), *p.schedules[1:]))
