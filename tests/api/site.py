"""A running control plane for the API specs: the server, API clients with grants, and simulated stations.

Nothing sleeps to make an assertion true: waits are for conditions (the service's, the store's) with deadlines.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from server.serving import serving
from server.store_support import eventually as _eventually
from wattcap.core.fleet.loader import load_rules
from wattcap.core.governance import Grant
from wattcap.core.lifecycle import DEFAULT_BANDS
from wattcap.core.model import OcppVersion
from wattcap.server.capabilities import RetryPolicy
from wattcap.server.fleet import FleetSettings, attach_fleet
from wattcap.server.live import DEFAULT_QUEUE
from wattcap.server.profiles import LifecycleSettings
from wattcap.server.runtime import ControlPlane
from wattcap.server.settings import Settings
from wattcap.server.sitecap.config import SiteDefinition
from wattcap.server.sitecap.controller import SiteCapSettings
from wattcap.server.sitecap.service import attach_site_cap
from wattcap.sim.clock import RealClock
from wattcap.sim.ev import EV_MODELS
from wattcap.sim.personalities import get_personality
from wattcap.sim.runner import RunOptions, Simulation
from wattcap.sim.scenario import Arrival, default_token
from wattcap.sim.spec import EvseSpec, StationSpec
from wattcap.store import Repository

V16, V201 = OcppVersion.V16, OcppVersion.V201
TIMEOUT = 20.0
PASSWORD = "simulated-station-password-01"
HARDWARE_A = 32.0
# Every write at once, no periodic reconcile, a short reaction allowance (the simulator follows at once).
LIFECYCLE = LifecycleSettings(min_write_interval_s=0, reconcile_interval_s=None, reaction_s=2.0)
RETRY = RetryPolicy(attempts=2, backoff_s=0.05, report_timeout_s=5.0)
API = "/api/v1"


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = TIMEOUT) -> Any:
    return await _eventually(check, timeout)


def grant(
    *, stations: Iterable[str] = (), sites: Iterable[str] = (), evses: Iterable[str] = (), bands: Iterable[str] = (),
    purposes: Iterable[str] | None = None, max_a: float | None = None, max_w: float | None = None,
    signals: Iterable[str] = (), read_only: bool = False,
) -> Grant:
    """A grant; the purposes default to those of the bands (as ``wattcap token create`` does)."""
    bands = list(bands)
    if purposes is None:
        purposes = sorted({DEFAULT_BANDS[b].purpose.value for b in bands})
    return Grant.from_json({
        "stations": list(stations), "sites": list(sites), "evses": list(evses), "bands": bands,
        "purposes": list(purposes), "max_a": max_a, "max_w": max_w, "signals": list(signals), "read_only": read_only,
    })


@dataclass
class ApiSite:
    plane: ControlPlane
    port: int

    @property
    def repository(self) -> Repository:
        return self.plane.repository

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def token(self, client: str, granted: Grant) -> str:
        """A new token of ``client`` (created, or its grant replaced)."""
        await self.repository.put_api_client(client, granted.to_json())
        return (await self.repository.create_api_token(client)).token

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.AsyncClient(base_url=self.http, headers=headers, trust_env=False, timeout=TIMEOUT)

    @asynccontextmanager
    async def stream(self, query: str = "", **options: Any) -> AsyncIterator[ClientConnection]:
        async with connect(f"{self.ws}{API}/stream{query}", proxy=None, compression=None, open_timeout=TIMEOUT,
                           close_timeout=2, **options) as websocket:
            yield websocket

    async def add_station(self, station_id: str, version: OcppVersion = V201) -> None:
        await self.repository.add_station(station_id, PASSWORD, security_profile=1, ocpp_version=version.value)

    @asynccontextmanager
    async def simulated(
        self, specs: Sequence[StationSpec], *, charging: bool = True, ev: str = "truck",
        departure_s: float | None = None,
    ) -> AsyncIterator[Simulation]:
        """``specs`` registered, connected, booted (capabilities read) and, with ``charging``, an EV charging on
        every EVSE (by default a truck: 32 A on three phases, so every lower limit binds)."""
        for spec in specs:
            if await self.repository.get_station(spec.station_id) is None:
                await self.add_station(spec.station_id, spec.ocpp_version)
        model = EV_MODELS[ev]
        arrivals = [
            Arrival(0.0, s.station_id, e.evse_id, model, soc=0.2, departure_s=departure_s,
                    id_token=default_token(s.station_id, e.evse_id))
            for s in specs for e in s.evses
        ] if charging else []
        options = RunOptions(f"{self.ws}/ocpp", password=PASSWORD, meter_interval_s=1.0, response_timeout_s=10.0,
                             backoff_min_s=0.05, backoff_max_s=0.2)
        sim = Simulation(specs, RealClock(), options, arrivals=arrivals)
        task = asyncio.create_task(sim.run())
        service = self.plane.profiles
        try:
            ids = [s.station_id for s in specs]
            await service.wait_for(lambda: all(service.boot_count[i] for i in ids), TIMEOUT)
            if charging:
                for spec in specs:
                    await eventually(lambda s=spec: self._all_charging(s))
            yield sim
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _all_charging(self, spec: StationSpec) -> bool:
        return len(await self.repository.active_transactions(spec.station_id)) == len(spec.evses)


@asynccontextmanager
async def api_site(
    database_url: str, *, stream_queue: int = DEFAULT_QUEUE, sites: Sequence[SiteDefinition] = (),
    sitecap: SiteCapSettings | None = None, fleet_rules: str | None = None, fleet: FleetSettings | None = None,
    clock: Callable[[], datetime] | None = None,
) -> AsyncIterator[ApiSite]:
    """The served plane; with ``sites``, the site cap on for them (``attach_site_cap``, as ``--sites`` does); with
    ``fleet_rules`` (YAML), the fleet service with those rules (as ``--rules`` does)."""
    settings = Settings(host="127.0.0.1", port=0, call_timeout_s=10.0, heartbeat_interval_s=60)
    repository = await Repository.open(database_url)
    extra: dict[str, Any] = {} if clock is None else {"clock": clock}
    plane = ControlPlane(settings, repository, lifecycle=LIFECYCLE, capability_retry=RETRY, stream_queue=stream_queue,
                         **extra)
    if sites:
        attach_site_cap(plane, sites, settings=sitecap)
    if fleet_rules is not None:
        attach_fleet(plane, load_rules(fleet_rules, "rules.yaml"), rules_text=fleet_rules, settings=fleet)
    try:
        async with serving(plane.app(), settings, TIMEOUT) as served:
            yield ApiSite(plane, served.port)
    finally:
        await plane.close()
        await repository.close()


def station(station_id: str, version: OcppVersion, evses: int = 1, personality: str = "everest") -> StationSpec:
    """A 3-phase 230 V AC station with ``evses`` EVSEs of 32 A."""
    return StationSpec(
        station_id, version,
        evses=tuple(EvseSpec(i, max_current_a=HARDWARE_A) for i in range(1, evses + 1)),
        personality=get_personality(personality),
    )


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def tx_default(limit: float = 10.0, *, start: datetime | None = None, unit: str = "A") -> dict[str, Any]:
    """An Absolute TxDefaultProfile as the API takes it, starting a minute ago (no gap at its start, A6/A7)."""
    return {
        "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
        "chargingSchedule": [{
            "startSchedule": ((start or now()) - timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit, "numberPhases": 3}],
        }],
    }


def tx_profile(transaction_id: str | None, limit: float = 16.0) -> dict[str, Any]:
    """A Relative TxProfile (for a running transaction when ``transaction_id`` is given)."""
    profile: dict[str, Any] = {
        "chargingProfileKind": "Relative",
        "chargingSchedule": [{"chargingRateUnit": "A",
                              "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit, "numberPhases": 3}]}],
    }
    if transaction_id is not None:
        profile["transactionId"] = transaction_id
    return profile


async def received(websocket: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        return json.loads(await websocket.recv())


async def receive_until(
    websocket: ClientConnection, done: Callable[[list[dict[str, Any]]], bool], timeout: float = TIMEOUT
) -> list[dict[str, Any]]:
    """Messages until ``done(messages)`` holds."""
    messages: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while not done(messages):
            messages.append(json.loads(await websocket.recv()))
    return messages
