"""Stations, their EVSEs, capabilities, connection state, and every limit in force with its source."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from wattcap.api.deps import Access, Authenticated
from wattcap.api.errors import ERRORS, NOT_FOUND
from wattcap.api.routers.common import visible_station
from wattcap.core import governance as gov
from wattcap.ocpp.capabilities import station_facts
from wattcap.store import Capabilities, Station

router = APIRouter(tags=["stations"])


class ConnectionOut(BaseModel):
    connected: bool = Field(description="Whether the station has a live OCPP connection to this process now.")
    ocpp_version: str | None = Field(description="The version it speaks (now, or when last connected).")
    connected_since: datetime | None
    last_seen_at: datetime | None
    last_boot_at: datetime | None
    boot_reason: str | None


class CapabilitySummaryOut(BaseModel):
    """What the capability read found (OCPP names; None: the station did not say)."""

    maxStackLevel: int | None = None
    rateUnits: list[str] = Field(default_factory=list)
    maxPeriodsPerSchedule: int | None = None
    maxInstalledProfiles: int | None = None
    phaseSwitching3to1: bool | None = None
    acPhaseSwitching: bool | None = None
    smartChargingSupported: bool | None = None
    evseIds: list[int] | None = None
    supplyPhases: int | None = None
    currentType: str | None = None
    missing: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class CapabilitiesOut(BaseModel):
    status: str = Field(description="answered, partial or never_answered.")
    read_at: datetime | None
    updated_at: datetime | None
    summary: CapabilitySummaryOut
    document: dict[str, Any] = Field(description="The raw answers as stored (GetConfiguration / GetVariables, "
                                                 "NotifyReport reportData).")


class StationOut(BaseModel):
    id: str
    site: str | None
    state: str = Field(description="pending, accepted or rejected.")
    security_profile: int
    vendor: str | None
    model: str | None
    firmware_version: str | None
    dialect: str | None
    connection: ConnectionOut
    capability_status: str | None


def _connection(access: Access, station: Station) -> ConnectionOut:
    registry = access.plane.registry
    session = registry.session(station.id) if station.id in registry else None
    return ConnectionOut(
        connected=session is not None,
        ocpp_version=session.version.value if session is not None else station.ocpp_version,
        connected_since=None if session is None else session.connected_at,
        last_seen_at=station.last_seen_at, last_boot_at=station.last_boot_at, boot_reason=station.boot_reason,
    )


def _station_out(access: Access, station: Station, capabilities: Capabilities | None) -> StationOut:
    return StationOut(
        id=station.id, site=access.plane.sites.site_of(station.id), state=station.state.value,
        security_profile=station.security_profile, vendor=station.vendor, model=station.model,
        firmware_version=station.firmware_version, dialect=station.dialect, connection=_connection(access, station),
        capability_status=None if capabilities is None else str(capabilities.status),
    )


@router.get("/stations", response_model=list[StationOut], responses=ERRORS, summary="The stations this client sees")
async def list_stations(access: Authenticated) -> list[StationOut]:
    repository = access.plane.repository
    stations = [s for s in await repository.list_stations() if access.sees(s.id)]
    return [_station_out(access, s, await repository.get_capabilities(s.id)) for s in stations]


@router.get("/stations/{station_id}", response_model=StationOut, responses={**ERRORS, **NOT_FOUND})
async def get_station(station_id: str, access: Authenticated) -> StationOut:
    station = await visible_station(access, station_id)
    return _station_out(access, station, await access.plane.repository.get_capabilities(station_id))


@router.get("/stations/{station_id}/connection", response_model=ConnectionOut, responses={**ERRORS, **NOT_FOUND})
async def get_connection(station_id: str, access: Authenticated) -> ConnectionOut:
    return _connection(access, await visible_station(access, station_id))


def _summary(record: Capabilities | None) -> CapabilitySummaryOut:
    if record is None:
        return CapabilitySummaryOut()
    return CapabilitySummaryOut.model_validate(station_facts(record.document).summary())


@router.get("/stations/{station_id}/capabilities", response_model=CapabilitiesOut, responses={**ERRORS, **NOT_FOUND})
async def get_capabilities(station_id: str, access: Authenticated) -> CapabilitiesOut:
    """What the station said about its smart charging (read on every boot). 404 if it was never read."""
    from wattcap.api.errors import not_found

    await visible_station(access, station_id)
    record = await access.plane.repository.get_capabilities(station_id)
    if record is None:
        raise not_found(f"the capabilities of {station_id} were never read (they are, on its next boot)")
    return CapabilitiesOut(status=str(record.status), read_at=record.read_at, updated_at=record.updated_at,
                           summary=_summary(record), document=record.document)


class ConnectorOut(BaseModel):
    connector_id: int
    status: str
    error_code: str | None
    at: datetime


class ActiveTransactionOut(BaseModel):
    transaction_id: str
    started_at: datetime | None
    id_token: str | None


class EvseOut(BaseModel):
    evse_id: int
    connectors: list[ConnectorOut]
    current_type: str | None = None
    phases: int | None = None
    max_current_a: float | None = None
    max_power_w: float | None = None
    transaction: ActiveTransactionOut | None = None


@router.get("/stations/{station_id}/evses", response_model=list[EvseOut], responses={**ERRORS, **NOT_FOUND})
async def list_evses(station_id: str, access: Authenticated) -> list[EvseOut]:
    """The EVSEs the station reported (capabilities, device model, status), with connector states and the
    transaction running on each."""
    await visible_station(access, station_id)
    repository = access.plane.repository
    described = {e.evse_id: e for e in await repository.list_evses(station_id)}
    connectors = await repository.connector_states(station_id)
    active = {t.evse_id: t for t in await repository.active_transactions(station_id)}
    summary = _summary(await repository.get_capabilities(station_id))
    ids = set(described) | set(summary.evseIds or ()) | {c.evse_id for c in connectors if c.evse_id} | set(active)
    out = []
    for evse_id in sorted(i for i in ids if access.sees_evse(station_id, i)):
        e = described.get(evse_id)
        tx = active.get(evse_id)
        out.append(EvseOut(
            evse_id=evse_id,
            connectors=[ConnectorOut(connector_id=c.connector_id, status=c.status, error_code=c.error_code, at=c.at)
                        for c in connectors if c.evse_id == evse_id],
            current_type=None if e is None else e.current_type, phases=None if e is None else e.phases,
            max_current_a=None if e is None else e.max_current_a, max_power_w=None if e is None else e.max_power_w,
            transaction=None if tx is None else ActiveTransactionOut(
                transaction_id=tx.transaction_id, started_at=tx.started_at, id_token=tx.id_token),
        ))
    return out


class ProfileLimitOut(BaseModel):
    """A profile wattcap manages, with where it came from."""

    profile_id: int
    evse_id: int
    purpose: str
    stack_level: int
    band: str
    status: str
    transaction_id: str | None
    source: str = Field(description="api_client, site_cap, fleet_rule, operator or wattcap.")
    set_by: str | None = Field(description="The audit actor of its last set or update (api:<client>, cli:<user> …).")


class ExternalLimitOut(BaseModel):
    """A limit another system set on the charger and the charger reported (NotifyChargingLimit)."""

    source: str = "external"
    external_source: str = Field(description="As reported: EMS, SO, Other …")
    evse_id: int
    is_grid_critical: bool | None
    schedules: list[Any]
    notified_at: datetime


class LimitsOut(BaseModel):
    station_id: str
    profiles: list[ProfileLimitOut]
    external: list[ExternalLimitOut]


_SETTING_ACTIONS = ("profile.set", "profile.update", "profile.remote_start", "profile.bound")


@router.get("/stations/{station_id}/limits", response_model=LimitsOut, responses={**ERRORS, **NOT_FOUND},
            summary="Every limit on the station with its source")
async def get_limits(station_id: str, access: Authenticated) -> LimitsOut:
    await visible_station(access, station_id)
    repository = access.plane.repository
    desired = [d for d in await repository.list_desired_profiles(station_id) if access.sees_evse(station_id, d.evse_id)]
    entries = await repository.audit_entries(
        targets_under=[station_id], action_prefix="profile.", newest_first=True, limit=5000
    )
    set_by: dict[str, str] = {}
    for entry in entries:
        if entry.action in _SETTING_ACTIONS and entry.target is not None:
            set_by.setdefault(entry.target, entry.actor)
    bands = {b.name: b for b in access.plane.bands}
    profiles = []
    for d in desired:
        actor = set_by.get(f"{station_id}/{d.profile_id}")
        owner = bands[d.owner].owner if d.owner in bands else None
        profiles.append(ProfileLimitOut(
            profile_id=d.profile_id, evse_id=d.evse_id, purpose=d.purpose, stack_level=d.stack_level, band=d.owner,
            status=d.status, transaction_id=d.transaction_id, source=gov.source_of(actor, owner).value, set_by=actor,
        ))
    external = [
        ExternalLimitOut(external_source=e.source, evse_id=e.evse_id, is_grid_critical=e.is_grid_critical,
                         schedules=list(e.schedules), notified_at=e.notified_at)
        for e in await repository.external_limits(station_id)
        if e.evse_id == 0 or access.sees_evse(station_id, e.evse_id)
    ]
    return LimitsOut(station_id=station_id, profiles=profiles, external=external)
