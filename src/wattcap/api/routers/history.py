"""What happened: verification results, draw violations, drift repairs, and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from wattcap.api.deps import Access, Authenticated
from wattcap.api.errors import ERRORS, NOT_FOUND
from wattcap.api.routers.common import check_range, visible_station
from wattcap.api.schemas import ReportedCompositeOut, Timestamp, reported_out
from wattcap.store import AuditEntry, VerificationRecord

router = APIRouter(tags=["history"])

Since = Annotated[Timestamp | None, Query()]
Limit = Annotated[int, Query(ge=1, le=10_000)]
Evse = Annotated[int | None, Query(ge=0, le=10_000)]


class VerificationOut(BaseModel):
    id: int
    station_id: str
    evse_id: int
    checked_at: datetime
    verdict: str
    expected: Any
    reported: Any
    differences: list[Any]
    detail: str | None
    reported_composite: ReportedCompositeOut | None = Field(
        None, description="A composite read back: the charger's answer normalised (``reported`` is it as stored).")


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    reason: str | None
    before: Any
    after: Any


def _verification(r: VerificationRecord, version: str | None) -> VerificationOut:
    return VerificationOut(id=r.id, station_id=r.station_id, evse_id=r.evse_id, checked_at=r.checked_at,
                           verdict=r.verdict, expected=r.expected, reported=r.reported,
                           differences=list(r.differences), detail=r.detail,
                           reported_composite=reported_out(r.reported, version))


def _audit(e: AuditEntry) -> AuditOut:
    return AuditOut(id=e.id, at=e.at, actor=e.actor, action=e.action, target=e.target, reason=e.reason,
                    before=e.before, after=e.after)


async def _verifications(
    access: Access, station_id: str, evse: int | None, since: datetime | None, limit: int, verdict: str | None
) -> list[VerificationOut]:
    station = await visible_station(access, station_id, evse or None)
    found = await access.plane.repository.verification_results(
        station_id, evse_id=evse, since=since, limit=limit, newest_first=True, verdict=verdict
    )
    return [_verification(r, station.ocpp_version) for r in found if access.sees_evse(station_id, r.evse_id)]


@router.get("/stations/{station_id}/verifications", response_model=list[VerificationOut],
            responses={**ERRORS, **NOT_FOUND}, summary="Composite verifications and draw checks, newest first")
async def verifications(
    station_id: str, access: Authenticated, evse: Evse = None, since: Since = None, limit: Limit = 100,
    verdict: Annotated[str | None, Query(max_length=16, description="applied, mismatch, … or violation.")] = None,
) -> list[VerificationOut]:
    return await _verifications(access, station_id, evse, since, limit, verdict)


@router.get("/stations/{station_id}/violations", response_model=list[VerificationOut],
            responses={**ERRORS, **NOT_FOUND}, summary="Measured draw above the limit, newest first")
async def violations(
    station_id: str, access: Authenticated, evse: Evse = None, since: Since = None, limit: Limit = 100
) -> list[VerificationOut]:
    return await _verifications(access, station_id, evse, since, limit, "violation")


@router.get("/stations/{station_id}/repairs", response_model=list[AuditOut], responses={**ERRORS, **NOT_FOUND},
            summary="Drift repairs (profile.repair.set|update|clear), newest first")
async def repairs(station_id: str, access: Authenticated, since: Since = None, limit: Limit = 100) -> list[AuditOut]:
    await visible_station(access, station_id)
    found = await access.plane.repository.audit_entries(
        targets_under=[station_id], action_prefix="profile.repair.", since=since, limit=limit, newest_first=True
    )
    return [_audit(e) for e in found]


@router.get("/audit", response_model=list[AuditOut], responses=ERRORS, summary="The audit log, filtered")
async def audit(
    access: Authenticated,
    station: Annotated[list[str] | None, Query(description="Entries about these stations (repeatable).")] = None,
    actor: Annotated[str | None, Query(max_length=255, description="E.g. api:fleet-tool.")] = None,
    action: Annotated[str | None, Query(max_length=64, description="Exact action, e.g. api.profile.set.")] = None,
    action_prefix: Annotated[str | None, Query(max_length=64, description="E.g. profile.repair.")] = None,
    since: Since = None,
    until: Since = None,
    limit: Limit = 100,
    newest_first: bool = True,
) -> list[AuditOut]:
    """A client scoped to every station sees every entry; any other client sees the entries about the stations it
    sees (name them with ``station``, or get all of those)."""
    check_range(since, until)
    for station_id in station or ():
        access.read_station(station_id)
    under: list[str] | None = station
    if under is None and not access.grant.everywhere:
        under = [s.id for s in await access.plane.repository.list_stations() if access.sees(s.id)]
    found = await access.plane.repository.audit_entries(
        targets_under=under, actor=actor, action=action, action_prefix=action_prefix, since=since, until=until,
        limit=limit, newest_first=newest_first,
    )
    return [_audit(e) for e in found]
