"""Composite schedules: what an EVSE (or the station) will do over a window, and reading it back from the charger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from wattcap.api.deps import Authenticated
from wattcap.api.errors import ERRORS, NOT_FOUND, SCHEMA_RULE, FindingOut, invalid
from wattcap.api.routers.common import visible_station
from wattcap.api.schemas import (
    MAX_WINDOW_S,
    ChangeOut,
    CompositeOut,
    Timestamp,
    change_out,
    composite_out,
    window_start,
)
from wattcap.core.model import ChargingRateUnit

router = APIRouter(tags=["composite"])

Unit = Annotated[ChargingRateUnit | None, Query(description="Default: the unit the station takes first.")]


@router.get("/stations/{station_id}/composite", response_model=CompositeOut, responses={**ERRORS, **NOT_FOUND},
            summary="The composite schedule wattcap expects, with the governing profile of each period and layers")
async def composite(
    station_id: str,
    access: Authenticated,
    evse: Annotated[int, Query(ge=0, le=10_000, description="0: the whole station.")] = 0,
    start: Annotated[Timestamp | None, Query(description="Default: now.")] = None,
    duration: Annotated[int, Query(ge=1, le=MAX_WINDOW_S)] = 3600,
    unit: Unit = None,
) -> CompositeOut:
    """Computed by the composite engine for the station's dialect over what the charger should hold (what it
    accepted, and what other parties are known to hold there); nothing is sent. ``POST …/verify`` asks the charger."""
    await visible_station(access, station_id, evse or None)
    plane = access.plane
    ctx = await plane.profiles.context(station_id)
    if evse and evse not in ctx.config.evse_ids:
        known = ", ".join(str(e) for e in ctx.config.evse_ids)
        raise invalid([FindingOut(path="query.evse", rule_id=SCHEMA_RULE,
                                  message=f"station {station_id} has no EVSE {evse} (it has {known})")])
    chosen = window_start(start, duration, plane.clock(), at="query.start")
    return composite_out(plane.preview.composite(ctx, evse, start=chosen, duration=duration, unit=unit))


@router.post("/stations/{station_id}/verify", response_model=ChangeOut, responses={**ERRORS, **NOT_FOUND},
             summary="Read the composites back from the charger and compare them with the expected ones")
async def verify(
    station_id: str, access: Authenticated,
    evse: Annotated[int, Query(ge=0, le=10_000, description="0: every EVSE.")] = 0, unit: Unit = None,
) -> ChangeOut:
    """Sends GetCompositeSchedule (so it needs a client that is not read-only); the result is recorded."""
    await visible_station(access, station_id, evse or None)
    access.write_station(station_id, evse or None)
    result = await access.plane.profiles.verify(station_id, evse, unit=unit)
    return change_out(result, (await access.plane.profiles.context(station_id)).version)


@router.post("/stations/{station_id}/reconcile", response_model=list[ChangeOut], responses={**ERRORS, **NOT_FOUND},
             summary="Compare what the charger holds with what wattcap wants, and repair the difference now")
async def reconcile(station_id: str, access: Authenticated) -> list[ChangeOut]:
    await visible_station(access, station_id)
    access.write_station(station_id)
    results = await access.plane.profiles.reconcile(station_id, actor=access.actor)
    version = (await access.plane.profiles.context(station_id)).version
    return [change_out(r, version) for r in results]
