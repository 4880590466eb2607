"""Transactions: running ones, and those that overlap a time range."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from wattcap.api.deps import Access, Authenticated
from wattcap.api.errors import ERRORS, NOT_FOUND, not_found
from wattcap.api.routers.common import check_range, visible_station
from wattcap.api.schemas import Timestamp
from wattcap.store import TransactionRecord

router = APIRouter(tags=["transactions"])


class TransactionOut(BaseModel):
    station_id: str
    transaction_id: str
    evse_id: int
    active: bool
    id_token: str | None
    remote_start_id: int | None
    started_at: datetime | None
    stopped_at: datetime | None
    meter_start_wh: float | None
    meter_stop_wh: float | None
    stop_reason: str | None


def _out(t: TransactionRecord) -> TransactionOut:
    return TransactionOut(
        station_id=t.station_id, transaction_id=t.transaction_id, evse_id=t.evse_id, active=t.is_active,
        id_token=t.id_token, remote_start_id=t.remote_start_id, started_at=t.started_at, stopped_at=t.stopped_at,
        meter_start_wh=t.meter_start_wh, meter_stop_wh=t.meter_stop_wh, stop_reason=t.stop_reason,
    )


Active = Annotated[bool | None, Query(description="true: running only; false: ended only; absent: both.")]
Since = Annotated[Timestamp | None, Query(description="Transactions still running at or after this time.")]
Until = Annotated[Timestamp | None, Query(description="Transactions started before this time.")]
Limit = Annotated[int, Query(ge=1, le=10_000)]


async def _transactions(
    access: Access, stations: list[str] | None, active: bool | None, since: datetime | None, until: datetime | None,
    evse: int | None, limit: int,
) -> list[TransactionOut]:
    check_range(since, until)
    repository = access.plane.repository
    if stations is None and not access.grant.everywhere:
        stations = [s.id for s in await repository.list_stations() if access.sees(s.id)]
    found = await repository.list_transactions(
        stations, active=active, since=since, until=until, evse_id=evse, limit=limit
    )
    return [_out(t) for t in found if access.sees_evse(t.station_id, t.evse_id)]


@router.get("/transactions", response_model=list[TransactionOut], responses=ERRORS,
            summary="Transactions across the stations this client sees, newest first")
async def list_transactions(
    access: Authenticated,
    station: Annotated[list[str] | None, Query(description="Only these stations (repeatable).")] = None,
    active: Active = None, since: Since = None, until: Until = None, limit: Limit = 100,
) -> list[TransactionOut]:
    for station_id in station or ():
        access.read_station(station_id)
    return await _transactions(access, station, active, since, until, None, limit)


@router.get("/stations/{station_id}/transactions", response_model=list[TransactionOut],
            responses={**ERRORS, **NOT_FOUND})
async def station_transactions(
    station_id: str, access: Authenticated, active: Active = None, since: Since = None, until: Until = None,
    evse: Annotated[int | None, Query(ge=0, le=10_000)] = None, limit: Limit = 100,
) -> list[TransactionOut]:
    await visible_station(access, station_id, evse or None)
    return await _transactions(access, [station_id], active, since, until, evse, limit)


@router.get("/stations/{station_id}/transactions/{transaction_id}", response_model=TransactionOut,
            responses={**ERRORS, **NOT_FOUND})
async def get_transaction(station_id: str, transaction_id: str, access: Authenticated) -> TransactionOut:
    await visible_station(access, station_id)
    found = await access.plane.repository.get_transaction(station_id, transaction_id)
    if found is None or not access.sees_evse(station_id, found.evse_id):
        raise not_found(f"no transaction {transaction_id!r} on {station_id}")
    return _out(found)
