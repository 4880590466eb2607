"""Profiles wattcap manages on a station: list, create, update, delete, remote start, and the dry run.

Every change goes through :class:`~wattcap.server.profiles.ProfileService` (ids and stack levels from the band,
validation against the station's version, capabilities and dialect, pacing, verification) after the client's grant
allowed it (:mod:`wattcap.core.governance`). Each accepted change is audited as ``api.profile.<action>`` with the
client, the composites of the EVSEs it shapes before and after, and the verification result; the lifecycle's own
entries (``profile.set`` …) name the client too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from wattcap.api.deps import Access, Authenticated
from wattcap.api.errors import ERRORS, NOT_FOUND, ApiError, ErrorBody, FindingOut, forbidden, invalid, not_found
from wattcap.api.routers.common import visible_station
from wattcap.api.schemas import (
    INT32,
    MAX_WINDOW_S,
    ChangeOut,
    ChargingProfileIn,
    ChargingProfileOut,
    CompositeOut,
    EvseId,
    Timestamp,
    change_out,
    composite_out,
    finding_out,
    profile_out,
    stored_profile_out,
    window_start,
)
from wattcap.core import governance as gov
from wattcap.core.governance import Refusal
from wattcap.core.lifecycle import PurposeBand
from wattcap.core.model import ChargingProfile, ChargingRateUnit, OcppVersion
from wattcap.ocpp.composite_json import composite_to_json
from wattcap.server.lifecycle_types import ChangeResult, ProfileRefused
from wattcap.server.profile_context import StationContext
from wattcap.store import DesiredProfile, DesiredProfileRevision

router = APIRouter(tags=["profiles"])

BandName = Annotated[str, Field(min_length=1, max_length=64, description="A band of GET /governance (session …).")]
Reason = Annotated[str, Field(max_length=500, description="Why; goes to the audit log.")]
ProfileId = Annotated[int, Field(ge=1, le=INT32)]
CONFLICT = {409: {"model": ErrorBody, "description": "The band has no free id or stack level, or the profile "
                                                     "cannot be changed in its state."}}


# ---- shapes ------------------------------------------------------------------------------------------------


class ProfileCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    evse_id: EvseId
    band: BandName
    profile: ChargingProfileIn
    reason: Reason | None = None


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile: ChargingProfileIn
    reason: Reason | None = None


class RemoteStartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_token: Annotated[str, Field(min_length=1, max_length=36)]
    band: BandName = "session"
    profile: ChargingProfileIn
    reason: Reason | None = None


class DryRunIn(BaseModel):
    """A candidate: a new profile (``evse_id`` and ``band``) or new content for an existing one (``profile_id``)."""

    model_config = ConfigDict(extra="forbid")
    evse_id: EvseId | None = None
    band: BandName | None = None
    profile_id: ProfileId | None = None
    profile: ChargingProfileIn
    start: Timestamp | None = Field(None, description="Start of the composites compared (default now).")
    duration: Annotated[int, Field(ge=1, le=MAX_WINDOW_S)] = 3600
    unit: Annotated[str, Field(pattern="^(A|W)$")] | None = None

    @model_validator(mode="after")
    def _new_or_update(self) -> DryRunIn:
        if self.profile_id is None and (self.evse_id is None or self.band is None):
            raise ValueError("give evse_id and band for a new profile, or profile_id for an update")
        if self.profile_id is not None and (self.evse_id is not None or self.band is not None):
            raise ValueError("an update keeps its EVSE and band: give profile_id alone")
        return self


class RevisionOut(BaseModel):
    revision: int
    change: str = Field(description="put, status or delete.")
    status: str
    evse_id: int
    reason: str | None
    at: datetime


class DesiredProfileOut(BaseModel):
    """A profile wattcap wants the station to hold, and where it stands with the charger."""

    station_id: str
    profile_id: int
    evse_id: int
    band: str
    purpose: str
    stack_level: int
    status: str = Field(description="pending, installed, rejected, unsupported, no_answer or clearing.")
    transaction_id: str | None
    revision: int
    ocpp_version: str
    created_at: datetime | None
    updated_at: datetime | None
    profile: ChargingProfileOut = Field(description="In the OCPP 2.0.1 form.")
    wire: dict[str, Any] = Field(description="Exactly what the station is sent, in its own OCPP version.")


class DesiredProfileDetail(DesiredProfileOut):
    history: list[RevisionOut]


class ChangeWithProfileOut(ChangeOut):
    profile: DesiredProfileOut | None = Field(None, description="The profile as stored after the change.")


class EvsePreviewOut(BaseModel):
    evse_id: int
    before: CompositeOut
    after: CompositeOut


class DryRunOut(BaseModel):
    """What the change would do; nothing was stored or sent. ``allowed`` false: ``refusal`` or error findings say
    why the lifecycle would refuse it."""

    allowed: bool
    refusal: str | None
    station_id: str
    evse_id: int
    band: str
    profile_id: int | None
    stack_level: int | None
    profile: ChargingProfileOut | None
    findings: list[FindingOut]
    start: datetime
    duration: int
    composites: list[EvsePreviewOut]


def desired_out(d: DesiredProfile) -> DesiredProfileOut:
    return DesiredProfileOut(
        station_id=d.station_id, profile_id=d.profile_id, evse_id=d.evse_id, band=d.owner, purpose=d.purpose,
        stack_level=d.stack_level, status=d.status, transaction_id=d.transaction_id, revision=d.revision,
        ocpp_version=d.ocpp_version, created_at=d.created_at, updated_at=d.updated_at,
        profile=stored_profile_out(d.wire, d.ocpp_version), wire=d.wire,
    )


def _revision(r: DesiredProfileRevision) -> RevisionOut:
    return RevisionOut(revision=r.revision, change=r.change, status=r.status, evse_id=r.evse_id, reason=r.reason,
                       at=r.at)


# ---- checks ------------------------------------------------------------------------------------------------


def _band(access: Access, name: str, path: str = "body.band") -> PurposeBand:
    try:
        return access.plane.bands[name]
    except KeyError:
        known = ", ".join(b.name for b in access.plane.bands)
        raise invalid([FindingOut(path=path, rule_id="WC-API-BAND", message=f"unknown band {name!r}; known: {known}")])\
            from None


def _model(body: ChargingProfileIn, band: PurposeBand, at: str = "body.profile") -> ChargingProfile:
    profile = body.to_model(band.purpose, at=at)
    if profile.purpose is not band.purpose:
        raise invalid([FindingOut(
            path=f"{at}.chargingProfilePurpose", rule_id="WC-API-BAND",
            message=f"band {band.name} holds {band.purpose.value} profiles, not {profile.purpose.value}",
        )])
    return profile


def _owned_band(access: Access, desired: DesiredProfile) -> PurposeBand:
    try:
        return access.plane.bands[desired.owner]
    except KeyError:
        raise forbidden([Refusal(gov.Rule.BAND, f"profile {desired.profile_id} belongs to {desired.owner!r}, which is "
                                                "no band; no API client may change it")]) from None


async def _desired(access: Access, station_id: str, profile_id: int) -> DesiredProfile:
    await visible_station(access, station_id)
    found = await access.plane.repository.get_desired_profile(station_id, profile_id)
    if found is None or not access.sees_evse(station_id, found.evse_id):
        raise not_found(f"no profile {profile_id} on {station_id}")
    return found


def _refused(refused: ProfileRefused, version: OcppVersion, at: str = "body.profile") -> ApiError:
    if refused.findings:
        return invalid([finding_out(f, version, at=at) for f in refused.findings], str(refused))
    return ApiError(409, "conflict", str(refused))


# ---- audit -------------------------------------------------------------------------------------------------


def _composites(access: Access, ctx: StationContext, evse_id: int, start: datetime) -> dict[str, Any]:
    duration = access.plane.profiles.settings.verify_duration_s
    return {
        str(e): composite_to_json(access.plane.preview.composite(ctx, e, start=start, duration=duration))
        for e in ctx.evses_of(evse_id) if e in ctx.config.evse_ids or e == 0
    }


async def _audited(
    access: Access, station_id: str, evse_id: int, action: str, change: Callable[[], Awaitable[ChangeResult]],
    reason: str | None,
) -> tuple[ChangeResult, OcppVersion]:
    """Run ``change`` and audit it with the composites before and after and the verdict; a refusal by the
    lifecycle becomes a 422 (findings) or 409 (no slot, wrong state), as it is already audited there."""
    plane = access.plane
    ctx = await plane.profiles.context(station_id)
    start = plane.clock().replace(microsecond=0)
    before = _composites(access, ctx, evse_id, start)
    try:
        result = await change()
    except ProfileRefused as refused:
        raise _refused(refused, ctx.version) from None
    after = _composites(access, await plane.profiles.context(station_id), evse_id, start)
    target = station_id if result.profile_id is None else f"{station_id}/{result.profile_id}"
    await plane.repository.append_audit(
        access.actor, f"api.profile.{action}", target=target, reason=reason,
        before={"composites": before},
        after={"composites": after, "verdict": result.verdict.value, "reason": result.reason,
               "checks": [{"evse_id": c.evse_id, "verdict": c.verdict.value, "reason": c.reason,
                           "differences": c.differences} for c in result.checks]},
    )
    return result, ctx.version


async def _with_profile(access: Access, result: ChangeResult, version: OcppVersion) -> ChangeWithProfileOut:
    stored = None
    if result.profile_id is not None:
        found = await access.plane.repository.get_desired_profile(result.station_id, result.profile_id)
        stored = None if found is None else desired_out(found)
    return ChangeWithProfileOut(**change_out(result, version).model_dump(), profile=stored)


# ---- routes ------------------------------------------------------------------------------------------------


@router.get("/stations/{station_id}/profiles", response_model=list[DesiredProfileOut],
            responses={**ERRORS, **NOT_FOUND}, summary="The profiles wattcap wants on the station, with status")
async def list_profiles(
    station_id: str, access: Authenticated,
    evse: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    band: Annotated[str | None, Query(max_length=64)] = None,
    profile_status: Annotated[str | None, Query(alias="status", max_length=32)] = None,
) -> list[DesiredProfileOut]:
    await visible_station(access, station_id, evse or None)
    found = await access.plane.repository.list_desired_profiles(station_id, evse_id=evse, status=profile_status,
                                                                owner=band)
    return [desired_out(d) for d in found if access.sees_evse(station_id, d.evse_id)]


@router.get("/stations/{station_id}/profiles/{profile_id:int}", response_model=DesiredProfileDetail,
            responses={**ERRORS, **NOT_FOUND})
async def get_profile(
    station_id: str, profile_id: Annotated[int, Path(ge=1, le=INT32)], access: Authenticated
) -> DesiredProfileDetail:
    desired = await _desired(access, station_id, profile_id)
    history = await access.plane.repository.desired_profile_history(station_id, profile_id)
    return DesiredProfileDetail(**desired_out(desired).model_dump(), history=[_revision(r) for r in history])


@router.post("/stations/{station_id}/profiles", response_model=ChangeWithProfileOut,
             status_code=status.HTTP_201_CREATED, responses={**ERRORS, **NOT_FOUND, **CONFLICT},
             summary="Set a new profile in a band (sent, then verified)")
async def create_profile(station_id: str, body: ProfileCreate, access: Authenticated) -> ChangeWithProfileOut:
    """wattcap allocates the id and stack level from the band, validates the profile for the station, stores it,
    sends it (paced per station and purpose, at most every 15 s) and reads the composite back. The answer comes
    when the charger answered: ``verdict`` applied, mismatch, rejected, unsupported or no_answer (an offline
    station gets it when it reconnects)."""
    await visible_station(access, station_id)
    band = _band(access, body.band)
    profile = _model(body.profile, band)
    config = await access.plane.profiles.station_config(station_id)
    access.write_profile(station_id, body.evse_id, band, profile, config)
    result, version = await _audited(
        access, station_id, body.evse_id, "set",
        lambda: access.plane.profiles.set_profile(station_id, body.evse_id, profile, band=band.name,
                                                  actor=access.actor, reason=body.reason),
        body.reason,
    )
    return await _with_profile(access, result, version)


@router.put("/stations/{station_id}/profiles/{profile_id:int}", response_model=ChangeWithProfileOut,
            responses={**ERRORS, **NOT_FOUND, **CONFLICT}, summary="Replace a profile's content under its id")
async def update_profile(
    station_id: str, profile_id: Annotated[int, Path(ge=1, le=INT32)], body: ProfileUpdate, access: Authenticated
) -> ChangeWithProfileOut:
    """Same id, stack level, purpose and EVSE (an update is never clear-and-set, K01.FR.05)."""
    current = await _desired(access, station_id, profile_id)
    band = _owned_band(access, current)
    profile = _model(body.profile, band)
    config = await access.plane.profiles.station_config(station_id)
    access.write_profile(station_id, current.evse_id, band, profile, config)
    result, version = await _audited(
        access, station_id, current.evse_id, "update",
        lambda: access.plane.profiles.update_profile(station_id, profile_id, profile, actor=access.actor,
                                                     reason=body.reason),
        body.reason,
    )
    return await _with_profile(access, result, version)


@router.delete("/stations/{station_id}/profiles/{profile_id:int}", response_model=ChangeWithProfileOut,
               responses={**ERRORS, **NOT_FOUND, **CONFLICT}, summary="Clear a profile by its id")
async def delete_profile(
    station_id: str, profile_id: Annotated[int, Path(ge=1, le=INT32)], access: Authenticated,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> ChangeWithProfileOut:
    current = await _desired(access, station_id, profile_id)
    band = _owned_band(access, current)
    access.write_profile(station_id, current.evse_id, band, None)
    result, version = await _audited(
        access, station_id, current.evse_id, "clear",
        lambda: access.plane.profiles.clear_profile(station_id, profile_id, actor=access.actor, reason=reason),
        reason,
    )
    return await _with_profile(access, result, version)


@router.post("/stations/{station_id}/evses/{evse_id:int}/remote-start", response_model=ChangeWithProfileOut,
             responses={**ERRORS, **NOT_FOUND, **CONFLICT},
             summary="Start a transaction with a TxProfile (Relative, without transactionId)")
async def remote_start(
    station_id: str, evse_id: Annotated[int, Path(ge=1, le=10_000)], body: RemoteStartIn, access: Authenticated
) -> ChangeWithProfileOut:
    await visible_station(access, station_id)
    band = _band(access, body.band)
    profile = _model(body.profile, band)
    config = await access.plane.profiles.station_config(station_id)
    access.write_profile(station_id, evse_id, band, profile, config)
    result, version = await _audited(
        access, station_id, evse_id, "remote_start",
        lambda: access.plane.profiles.remote_start(station_id, evse_id, body.id_token, profile, band=band.name,
                                                   actor=access.actor, reason=body.reason),
        body.reason,
    )
    return await _with_profile(access, result, version)


@router.post("/stations/{station_id}/profiles/dry-run", response_model=DryRunOut,
             responses={**ERRORS, **NOT_FOUND},
             summary="Preview a profile change: the composites before and after, and the findings; sends nothing")
async def dry_run(station_id: str, body: DryRunIn, access: Authenticated) -> DryRunOut:
    """The same decisions as the change itself (band, id and stack level, validation) on the station as it is
    now; the grant is checked as for the change. A profile the lifecycle would refuse is answered 200 with
    ``allowed`` false and the reason, so a tool can show it."""
    plane = access.plane
    await visible_station(access, station_id)
    ctx = await plane.profiles.context(station_id)
    if body.profile_id is not None:
        current = await _desired(access, station_id, body.profile_id)
        band = _owned_band(access, current)
        evse_id = current.evse_id
    else:
        assert body.band is not None and body.evse_id is not None
        band, evse_id = _band(access, body.band), body.evse_id
    profile = _model(body.profile, band)
    access.write_profile(station_id, evse_id, band, profile, ctx.config)
    start = window_start(body.start, body.duration, plane.clock(), at="body.start")
    unit = None if body.unit is None else ChargingRateUnit(body.unit)
    if body.profile_id is not None:
        preview = plane.preview.update(ctx, body.profile_id, profile, start=start, duration=body.duration, unit=unit)
    else:
        preview = plane.preview.set(ctx, evse_id, profile, band=band.name, start=start, duration=body.duration,
                                    unit=unit)
    prepared = preview.profile
    return DryRunOut(
        allowed=preview.allowed, refusal=preview.refusal, station_id=station_id, evse_id=preview.evse_id,
        band=preview.band, profile_id=None if prepared is None else prepared.id,
        stack_level=None if prepared is None else prepared.stack_level,
        profile=None if prepared is None else profile_out(prepared),
        findings=[finding_out(f, ctx.version) for f in preview.findings], start=start, duration=body.duration,
        composites=[EvsePreviewOut(evse_id=c.evse_id, before=composite_out(c.before), after=composite_out(c.after))
                    for c in preview.composites],
    )

