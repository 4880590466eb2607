"""A site for the profile-lifecycle specs: the real server, the real store, the service, and charge points.

The server runs with an :class:`EventHub` around a backend that records every event in the store (what the
database backend of ``wattcap serve`` does) and keeps it in memory for waiting. Nothing sleeps to make an
assertion true: tests wait on the charger's, the backend's or the service's conditions.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp import v16, v201

from wattcap.core.events import StationEvent
from wattcap.core.model import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    OcppVersion,
)
from wattcap.server.backend import InMemoryBackend
from wattcap.server.capabilities import CapabilityReader, RetryPolicy
from wattcap.server.event_hub import EventHub
from wattcap.server.profiles import LifecycleSettings, ProfileService
from wattcap.server.settings import Settings
from wattcap.store import Repository, create_engine

from .conftest import Running, charger, running_server, settings_with
from .lifecycle_chargers import LifecycleCharger16, LifecycleCharger201

V16, V201 = OcppVersion.V16, OcppVersion.V201
CHARGERS = {V16: LifecycleCharger16, V201: LifecycleCharger201}
PASSWORD = "x"


class StoreRecordingBackend(InMemoryBackend):
    """Records every event in the store first (as the database backend does), then in memory."""

    def __init__(self, repository: Repository) -> None:
        super().__init__({}, None)
        self.repository = repository

    async def record(self, event: StationEvent) -> None:
        await self.repository.record(event)
        await super().record(event)


@dataclass
class Site:
    server: Running
    repository: Repository
    backend: StoreRecordingBackend
    service: ProfileService

    async def add_station(self, version: OcppVersion, *, dialect: str | None = None) -> str:
        station_id = f"LC-{uuid.uuid4().hex[:10]}"
        await self.repository.add_station(station_id, ocpp_version=version.value, dialect=dialect)
        self.backend.stations[station_id] = PASSWORD
        return station_id

    @asynccontextmanager
    async def connect(self, station_id: str, version: OcppVersion, *, boot: bool = True, **setup: Any):
        """A charge point of ``version`` connected (and booted: capabilities read, reconciled) as ``station_id``.

        ``setup`` sets attributes on the charger before it boots (``silent``, ``set_answers`` …)."""
        booted = self.service.boot_count[station_id]
        async with charger(self.server, station_id, version, CHARGERS[version], password=PASSWORD) as cp:
            for name, value in setup.items():
                setattr(cp, name, value)
            if boot:
                await cp.call(boot_notification(version), suppress=False)
                await self.service.wait_for(lambda: self.service.boot_count[station_id] > booted)
            yield cp


def boot_notification(version: OcppVersion) -> Any:
    if version is V16:
        return v16.call.BootNotification(charge_point_model="Lifecycle", charge_point_vendor="wattcap-tests")
    return v201.call.BootNotification(
        charging_station={"model": "Lifecycle", "vendor_name": "wattcap-tests"}, reason="PowerUp"
    )


@asynccontextmanager
async def lifecycle_site(
    database_url: str,
    *,
    settings: Settings | None = None,
    lifecycle: LifecycleSettings | None = None,
    retry: RetryPolicy | None = None,
    clock: Callable[[], datetime] | None = None,
) -> AsyncIterator[Site]:
    engine = create_engine(database_url)
    repository = Repository(engine)
    backend = StoreRecordingBackend(repository)
    hub = EventHub(backend)
    try:
        async with running_server(settings or settings_with(call_timeout_s=5.0), hub) as running:  # type: ignore[arg-type]
            reader = CapabilityReader(
                running.registry, repository, hub,
                retry=retry or RetryPolicy(attempts=2, backoff_s=0.05, report_timeout_s=5.0),
            )
            service = ProfileService(
                running.registry, repository, hub, capabilities=reader, clock=clock or utc_now,
                settings=lifecycle or LifecycleSettings(min_write_interval_s=0, reconcile_interval_s=None),
            )
            service.start()
            try:
                yield Site(running, repository, backend, service)
            finally:
                await service.close()
    finally:
        await engine.dispose()


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def tx_default(limit: float = 10.06, *, unit: ChargingRateUnit = ChargingRateUnit.A) -> ChargingProfile:
    """An Absolute TxDefaultProfile starting a minute ago (A6/A7: a start in the past leaves no gap)."""
    return ChargingProfile(
        id=0, stack_level=0, purpose=ChargingProfilePurpose.TX_DEFAULT, kind=ChargingProfileKind.ABSOLUTE,
        schedules=(ChargingSchedule(unit, (ChargingSchedulePeriod(0, limit, number_phases=3),),
                                    start_schedule=utc_now() - timedelta(minutes=1)),),
    )


def remote_start_profile(limit: float = 16.0) -> ChargingProfile:
    """A Relative TxProfile without transactionId (TC_059_CSMS, TC_K_37_CSMS)."""
    return ChargingProfile(
        id=0, stack_level=0, purpose=ChargingProfilePurpose.TX, kind=ChargingProfileKind.RELATIVE,
        schedules=(ChargingSchedule(ChargingRateUnit.A, (ChargingSchedulePeriod(0, limit, number_phases=3),)),),
    )


async def in_time(awaitable: Any, timeout: float = 10.0) -> Any:
    async with asyncio.timeout(timeout):
        return await awaitable
