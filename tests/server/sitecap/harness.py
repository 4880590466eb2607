"""A simulated site under the real control plane with the site cap on, and a meter on the whole site.

The control plane runs in-process as ``wattcap serve --sites`` wires it (store on a temporary SQLite, EventHub,
registry, capability reader, profile lifecycle, one :class:`SiteCapController` per site). The stations are the
simulator's, over real WebSockets, on the wall clock (the control plane dates profiles by its own clock).

:class:`SiteMeter` reads every simulated EVSE's actual current many times a second, maps it through the EVSE's
wiring onto the grid phases, and keeps the worst per-phase total per node: the "measured site draw" the issue asks
to hold under the cap. A drop of the limit itself is given ``grace_s`` (what no controller can beat: the charger's
acknowledgement and the EV's reaction); every other moment is held to the limit exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from server.serving import Serving, serving
from wattcap.core.sitecap import CoordinatorPolicy, evse_footprint
from wattcap.core.sitecap.model import EvseKey, SiteTopology
from wattcap.server.app import create_app
from wattcap.server.backend_store import StoreBackend
from wattcap.server.capabilities import CapabilityReader
from wattcap.server.event_hub import EventHub
from wattcap.server.profiles import LifecycleSettings, ProfileService
from wattcap.server.settings import Settings
from wattcap.server.sitecap.config import SiteDefinition
from wattcap.server.sitecap.controller import SiteCapController, SiteCapSettings
from wattcap.server.stations import StationRegistry
from wattcap.sim.clock import RealClock
from wattcap.sim.ev import EV, EV_MODELS
from wattcap.sim.runner import RunOptions, Simulation
from wattcap.sim.scenario import default_token
from wattcap.sim.spec import StationSpec
from wattcap.store import Repository

PASSWORD = "simulated-station-password-01"
TIMEOUT = 30.0
LIFECYCLE = LifecycleSettings(min_write_interval_s=0, reconcile_interval_s=None, reaction_s=2.0)
SITECAP = SiteCapSettings(tick_s=0.5, debounce_s=0.05, meter_replan_s=2.0)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SitePlane:
    url: str
    repository: Repository
    service: ProfileService
    controller: SiteCapController
    served: Serving

    async def crash(self) -> None:
        """wattcap dies: the server drops every connection and the site cap stops mid-whatever, without a word."""
        await self.served.crash()
        for task in [self.controller._task, *self.controller._writes]:
            if task is not None:
                task.cancel()


@asynccontextmanager
async def site_plane(tmp_path: Path, site: SiteDefinition, policy: CoordinatorPolicy) -> AsyncIterator[SitePlane]:
    settings = Settings(host="127.0.0.1", port=0, call_timeout_s=5.0)
    repository = await Repository.open(f"sqlite+aiosqlite:///{tmp_path / 'wattcap.db'}")
    backend = StoreBackend(repository, accept_unknown_tokens=True)
    hub = EventHub(backend)
    registry = StationRegistry()
    capabilities = CapabilityReader(registry, repository, hub)
    service = ProfileService(registry, repository, hub, capabilities=capabilities, settings=LIFECYCLE)
    controller = SiteCapController(
        site, service, hub, registry, repository, clock=now, settings=SITECAP, policy=policy
    )
    app = create_app(settings, hub, registry=registry)

    @asynccontextmanager
    async def lifespan(_: object) -> AsyncIterator[None]:
        service.start()
        await controller.start()
        try:
            yield
        finally:
            await controller.close()
            await service.close()

    app.router.lifespan_context = lifespan
    try:
        async with serving(app, settings, TIMEOUT) as served:
            yield SitePlane(f"ws://127.0.0.1:{served.port}/ocpp", repository, service, controller, served)
    finally:
        await repository.close()


@asynccontextmanager
async def simulated_site(
    plane: SitePlane, specs: Sequence[StationSpec], *, fallbacks_first: bool = True
) -> AsyncIterator[Simulation]:
    """``specs`` registered and connected (capabilities read, fallbacks installed); no EV plugged in yet.

    ``fallbacks_first=False`` yields as soon as every station has booted, while its fallbacks are still on their
    way: EVs plugged in then arrive as a fleet's do when it connects with cars waiting (``--arrivals now``)."""
    for spec in specs:
        await plane.repository.add_station(
            spec.station_id, PASSWORD, security_profile=1, ocpp_version=spec.ocpp_version.value
        )
    options = RunOptions(
        plane.url, password=PASSWORD, meter_interval_s=1.0, response_timeout_s=10.0, backoff_min_s=0.05,
        backoff_max_s=0.2,
    )
    sim = Simulation(specs, RealClock(), options)
    task = asyncio.create_task(sim.run())
    try:
        ids = [s.station_id for s in specs]
        await plane.service.wait_for(lambda: all(plane.service.boot_count[i] for i in ids), TIMEOUT)
        if fallbacks_first:
            await eventually(lambda: fallbacks_known(plane), what="every EVSE holds an acknowledged fallback")
            await plane.controller.settled(TIMEOUT)
        yield sim
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def fallbacks_known(plane: SitePlane) -> bool:
    """Every EVSE of the site holds an acknowledged fallback, nothing is pending and nothing is unknown: before
    this, an EV plugged in draws what the charger's hardware allows, which no control plane can prevent."""
    evses = plane.controller.coordinator.view()["evses"]
    return all(
        e["fallback_a"] is not None and not e["fallback_pending_a"] and not e["unknown"] for e in evses.values()
    )


def plug(sim: Simulation, key: EvseKey, model: str = "truck") -> None:
    sim.runner(key[0]).plug_in(key[1], EV(EV_MODELS[model], soc=0.2), id_token=default_token(*key))


def unplug(sim: Simulation, key: EvseKey) -> None:
    sim.runner(key[0]).unplug(key[1])


def evse_current(sim: Simulation, key: EvseKey) -> tuple[float, int]:
    view = sim.runner(key[0]).station.evse(key[1])
    return view.current_a, view.phases


@dataclass
class SiteMeter:
    """Samples the site's real draw per node and phase; ``limit_of(node)`` is the limit in force now."""

    sim: Simulation
    topology: SiteTopology
    limit_of: Callable[[str], float | None]
    period_s: float = 0.05
    grace_s: float = 3.0
    worst_excess: float = 0.0
    worst_at: str = ""
    samples: int = 0
    history: list[tuple[datetime, dict[str, tuple[float, float, float]]]] = field(default_factory=list)
    _grace_until: datetime | None = None
    _task: asyncio.Task | None = None

    def limit_dropped(self) -> None:
        """The limit just fell: the charger's acknowledgement and the EV's reaction are allowed ``grace_s``."""
        self._grace_until = datetime.fromtimestamp(now().timestamp() + self.grace_s, UTC)

    def loads(self) -> dict[str, tuple[float, float, float]]:
        parents = {n.id: n.parent for n in self.topology.nodes}
        totals = {n.id: [0.0, 0.0, 0.0] for n in self.topology.nodes}
        for spec in self.topology.evses:
            current, phases = evse_current(self.sim, spec.key)
            if current <= 0 or phases <= 0:
                continue
            grid = evse_footprint(spec, current, phases)
            node: str | None = spec.node
            while node is not None:
                for p in range(3):
                    totals[node][p] += grid[p]
                node = parents[node]
        return {n: (t[0], t[1], t[2]) for n, t in totals.items()}

    async def _run(self) -> None:
        while True:
            at = now()
            loads = self.loads()
            self.history.append((at, loads))
            self.samples += 1
            if self._grace_until is None or at > self._grace_until:
                for node, phases in loads.items():
                    limit = self.limit_of(node)
                    if limit is not None and max(phases) - limit > self.worst_excess:
                        self.worst_excess = max(phases) - limit
                        self.worst_at = f"{node} at {at.isoformat()}: {phases} over {limit}"
            await asyncio.sleep(self.period_s)

    def __enter__(self) -> SiteMeter:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()


async def eventually(check: Callable[[], object], timeout: float = TIMEOUT, what: str = "condition") -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


async def quietly_cancel(task: asyncio.Task) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError, Exception):
        await task
