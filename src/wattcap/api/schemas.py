"""The API's shared shapes: charging profiles, composites, findings and change results, and their conversions.

OCPP-shaped objects keep OCPP's names and the OCPP 2.0.1 form whatever the station speaks (``chargingSchedule`` a
list, ``id``, ``evseId``), so a client writes one format; wattcap converts to the station's version when it sends
(and maps validation paths of a 1.6 station back to this form). wattcap's own resources use snake_case.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from wattcap.api.errors import SCHEMA_RULE, FindingOut, invalid
from wattcap.core.model import (
    ChargingProfile,
    ChargingProfilePurpose,
    CompositeLayer,
    CompositeSchedule,
    OcppVersion,
)
from wattcap.core.timeutil import format_timestamp
from wattcap.core.validation import Finding
from wattcap.ocpp.composite_json import CompositeAnswerError, composite_to_json, reported_composite_from_json
from wattcap.ocpp.profile_json import ProfileFormatError, profile_from_json, profile_to_json
from wattcap.server.lifecycle_types import ChangeResult, CompositeCheck

INT32 = 2**31 - 1
_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _iso_only(value: Any) -> Any:
    """Pydantic reads a bare number as Unix time; the schema says ``date-time``, so a number is refused."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("expected an ISO 8601 date-time with a time zone, e.g. 2026-05-01T06:00:00Z")
    return value


#: An aware date-time given as ISO 8601 text (never as a number).
Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_only)]
#: Composite windows: at most a week (the engine is fast, the answer is not small).
MAX_WINDOW_S = 7 * 86_400
EvseId = Annotated[int, Field(ge=0, le=10_000, description="0 is the station as a whole.")]
Limit = Annotated[float, Field(ge=0, le=1e7, allow_inf_nan=False)]
Purpose = Literal["ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"]


# ---- charging profiles -------------------------------------------------------------------------------------


class SchedulePeriod(BaseModel):
    model_config = ConfigDict(extra="forbid")
    startPeriod: Annotated[int, Field(ge=0, le=INT32)]
    limit: Limit
    numberPhases: Annotated[int, Field(ge=1, le=3)] | None = None
    phaseToUse: Annotated[int, Field(ge=1, le=3)] | None = None


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Annotated[int, Field(ge=0, le=INT32)] | None = Field(None, description="Default: its position in the list.")
    startSchedule: Timestamp | None = None
    duration: Annotated[int, Field(ge=0, le=INT32)] | None = None
    chargingRateUnit: Literal["A", "W"]
    minChargingRate: Limit | None = None
    chargingSchedulePeriod: Annotated[list[SchedulePeriod], Field(min_length=1, max_length=1024)]


class ChargingProfileIn(BaseModel):
    """An OCPP 2.0.1 ``ChargingProfileType`` without what wattcap decides: ``id`` and ``stackLevel`` come from the
    band (any given are ignored), the purpose defaults to the band's."""

    model_config = ConfigDict(extra="forbid")
    id: Annotated[int, Field(ge=0, le=INT32)] | None = Field(None, description="Ignored: wattcap allocates ids.")
    stackLevel: Annotated[int, Field(ge=0, le=INT32)] | None = Field(None, description="Ignored: the band decides.")
    chargingProfilePurpose: Purpose | None = None
    chargingProfileKind: Literal["Absolute", "Recurring", "Relative"]
    recurrencyKind: Literal["Daily", "Weekly"] | None = None
    validFrom: Timestamp | None = None
    validTo: Timestamp | None = None
    transactionId: Annotated[str, Field(min_length=1, max_length=36)] | None = None
    chargingSchedule: Annotated[list[Schedule], Field(min_length=1, max_length=3)]

    def to_model(self, purpose: ChargingProfilePurpose, *, at: str = "body.profile") -> ChargingProfile:
        """The model, with ``purpose`` unless the profile names its own (the lifecycle refuses a mismatch)."""
        wire = self.model_dump(mode="json", exclude_none=True)
        wire["id"], wire["stackLevel"] = 0, 0
        wire.setdefault("chargingProfilePurpose", purpose.value)
        for index, schedule in enumerate(wire["chargingSchedule"]):
            schedule.setdefault("id", index)
        try:
            return profile_from_json(wire, OcppVersion.V201)
        except ProfileFormatError as exc:  # the schema above admits little the codec refuses, but say where
            raise invalid([FindingOut(path=f"{at}.{exc.path}".rstrip("."), rule_id=SCHEMA_RULE,
                                      message=exc.message)]) from None


class ChargingProfileOut(BaseModel):
    """A profile as wattcap sends it, in the OCPP 2.0.1 form (a 1.6 station gets the same content in 1.6 JSON)."""

    model_config = ConfigDict(extra="allow")
    id: int
    stackLevel: int
    chargingProfilePurpose: str
    chargingProfileKind: str
    recurrencyKind: str | None = None
    validFrom: str | None = None
    validTo: str | None = None
    transactionId: str | None = None
    chargingSchedule: list[dict[str, Any]]


def profile_out(profile: ChargingProfile) -> ChargingProfileOut:
    return ChargingProfileOut.model_validate(profile_to_json(profile, OcppVersion.V201))


def stored_profile_out(wire: dict[str, Any], version: str) -> ChargingProfileOut:
    return profile_out(profile_from_json(wire, version))


# ---- findings ----------------------------------------------------------------------------------------------


def api_path(path: str, version: OcppVersion | str, *, at: str = "body.profile") -> str:
    """A validator's path (the station version's wire JSON, relative to the profile) as a request path."""
    if path in ("evseId", "connectorId"):
        return "body.evse_id"
    if path in ("", "chargingProfile", "csChargingProfiles"):
        return at
    if OcppVersion(version) is OcppVersion.V16:
        if path == "chargingProfileId":
            path = "id"
        elif path == "chargingSchedule" or path.startswith("chargingSchedule."):
            path = "chargingSchedule[0]" + path[len("chargingSchedule"):]
    return f"{at}.{path}"


def finding_out(finding: Finding, version: OcppVersion | str, *, at: str = "body.profile") -> FindingOut:
    return FindingOut(
        path=api_path(finding.path, version, at=at), rule_id=finding.rule_id, severity=finding.severity.value,
        message=finding.message, reason_code=None if finding.reason_code is None else finding.reason_code.value,
        response=None if finding.response is None else finding.response.value,
    )


# ---- composites --------------------------------------------------------------------------------------------


class ProfileRefOut(BaseModel):
    profileId: int
    purpose: str
    stackLevel: int
    evseId: int


class CompositePeriodOut(BaseModel):
    startPeriod: int
    limit: float
    numberPhases: int | None = None
    phaseToUse: int | None = None
    stackLevel: int | None = None
    periodTransformed: bool | None = None
    governedBy: list[ProfileRefOut] = Field(
        default_factory=list, description="The profiles that set this period; empty: the station's own limit."
    )


class LayerPeriodOut(BaseModel):
    startPeriod: int
    limit: float | None = Field(description="None: this purpose does not limit here.")
    unit: Literal["A", "W"] | None
    numberPhases: int | None = None
    source: ProfileRefOut | None = None


class LayerOut(BaseModel):
    """One purpose's stacked result on one EVSE, before the purposes are combined."""

    purpose: str
    evseId: int
    periods: list[LayerPeriodOut]


class CompositeOut(BaseModel):
    """wattcap's annotated composite schedule: ``CompositeScheduleType`` plus attribution and layers."""

    evseId: int
    duration: int
    scheduleStart: str
    chargingRateUnit: Literal["A", "W"]
    chargingSchedulePeriod: list[CompositePeriodOut]
    layers: list[LayerOut] = Field(default_factory=list)


def _layer(layer: CompositeLayer) -> LayerOut:
    return LayerOut(
        purpose=layer.purpose.value, evseId=layer.evse_id,
        periods=[
            LayerPeriodOut(
                startPeriod=p.start_period, limit=p.limit, unit=None if p.unit is None else p.unit.value,
                numberPhases=p.number_phases,
                source=None if p.source is None else ProfileRefOut(
                    profileId=p.source.profile_id, purpose=p.source.purpose.value, stackLevel=p.source.stack_level,
                    evseId=p.source.evse_id,
                ),
            )
            for p in layer.periods
        ],
    )


def composite_out(schedule: CompositeSchedule) -> CompositeOut:
    out = CompositeOut.model_validate(composite_to_json(schedule))
    out.layers = [_layer(layer) for layer in schedule.layers]
    return out


class Window(BaseModel):
    """A composite window: from ``start`` (default now) for ``duration`` seconds."""

    start: Timestamp | None = None
    duration: Annotated[int, Field(ge=1, le=MAX_WINDOW_S)] = 3600
    unit: Literal["A", "W"] | None = Field(None, description="Default: the unit the station takes first.")


def window_start(start: datetime | None, duration: int, now: datetime, *, at: str) -> datetime:
    """``start`` (whole seconds, default ``now``), refused when the window would leave the calendar."""
    chosen = (start or now).replace(microsecond=0)
    try:
        chosen + timedelta(seconds=duration)
        chosen - timedelta(days=1)
    except OverflowError:
        raise invalid([FindingOut(path=at, rule_id=SCHEMA_RULE, message="the window leaves the calendar")]) from None
    return chosen


# ---- change results ----------------------------------------------------------------------------------------


class DifferenceOut(BaseModel):
    start: int = Field(description="Seconds from the expected schedule start.")
    end: int
    expected: float | None
    reported: float | None


class ReportedPeriodOut(BaseModel):
    startPeriod: int
    limit: float
    numberPhases: int | None = None


class ReportedCompositeOut(BaseModel):
    """A charger's GetCompositeSchedule answer in one shape whatever the station speaks (1.6 answers carry the
    time base in ``scheduleStart`` or, against the errata, in ``chargingSchedule.startSchedule``). No periods:
    the charger said nothing limits the EVSE."""

    scheduleStart: str
    duration: int | None
    chargingRateUnit: Literal["A", "W"]
    chargingSchedulePeriod: list[ReportedPeriodOut]


def reported_out(payload: Any, version: OcppVersion | str | None) -> ReportedCompositeOut | None:
    """The normalised composite of a stored or fresh GetCompositeSchedule answer; None when there is none (the
    charger refused or did not answer, the payload is a draw check's, or it cannot be read)."""
    if not isinstance(payload, dict) or version is None:
        return None
    try:
        reported = reported_composite_from_json(payload, version)
    except (CompositeAnswerError, ValueError):
        return None
    if reported is None:
        return None
    return ReportedCompositeOut(
        scheduleStart=format_timestamp(reported.schedule_start), duration=reported.duration,
        chargingRateUnit=reported.charging_rate_unit.value,
        chargingSchedulePeriod=[ReportedPeriodOut(startPeriod=p.start_period, limit=p.limit,
                                                  numberPhases=p.number_phases) for p in reported.periods],
    )


class CheckOut(BaseModel):
    """One EVSE's composite read back and compared with the engine's."""

    evse_id: int
    verdict: str
    reason: str | None = None
    differences: list[DifferenceOut] = Field(default_factory=list)
    expected: CompositeOut | None = None
    reported: ReportedCompositeOut | None = Field(
        None, description="What the charger answered, normalised; None when it answered no schedule or none at all.")


class ChangeOut(BaseModel):
    """What became of a change: the verdict (applied, mismatch, rejected, unsupported, no_answer), the
    charger's reason, each EVSE's check, and validation warnings that did not stop it."""

    station_id: str
    action: str
    profile_id: int | None
    evse_id: int | None
    verdict: str
    reason: str | None = None
    checks: list[CheckOut] = Field(default_factory=list)
    warnings: list[FindingOut] = Field(default_factory=list)


def check_out(check: CompositeCheck, version: OcppVersion | str | None = None) -> CheckOut:
    return CheckOut(
        evse_id=check.evse_id, verdict=check.verdict.value, reason=check.reason,
        differences=[DifferenceOut(start=d.start, end=d.end, expected=d.expected, reported=d.reported)
                     for d in check.differences],
        expected=None if check.expected is None else composite_out(check.expected),
        reported=reported_out(check.reported, version),
    )


def change_out(result: ChangeResult, version: OcppVersion | str) -> ChangeOut:
    return ChangeOut(
        station_id=result.station_id, action=result.action, profile_id=result.profile_id, evse_id=result.evse_id,
        verdict=result.verdict.value, reason=result.reason, checks=[check_out(c, version) for c in result.checks],
        warnings=[finding_out(f, version) for f in result.findings],
    )


def timestamp(value: datetime | None) -> str | None:
    return None if value is None else format_timestamp(value)
