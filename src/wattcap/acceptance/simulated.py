"""The acceptance suite against simulated stations (``wattcap acceptance --simulate``, and the suite's own CI).

One station per personality and OCPP version: AC, 3 phases, 230 V, two EVSEs of 32 A that can switch to one
phase, an EV on each EVSE that wants 32 A on three phases (every limit of the suite binds) and charges from the
start. The control plane runs in-process (:mod:`.control_plane`) on a throw-away database and shares the
simulation's clock, so time can run faster than the wall clock (the stations and the control plane read the same
accelerated clock; only network timeouts and back-offs stay in real seconds). Each station is registered with its
personality's dialect family, as an operator would configure a charger whose vendor family is known; what a
personality does beyond its family is what the suite has to find.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import multiprocessing
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from wattcap.acceptance.checks import ALL_CHECKS, AcceptanceTest
from wattcap.acceptance.control_plane import InProcessPlane, in_process_plane
from wattcap.acceptance.evidence import AcceptanceReport
from wattcap.acceptance.plan import AcceptanceSettings
from wattcap.acceptance.runner import Progress, run_acceptance
from wattcap.core.model import OcppVersion
from wattcap.server.lifecycle_types import LifecycleSettings
from wattcap.server.settings import Settings
from wattcap.sim.clock import AcceleratedClock
from wattcap.sim.ev import EV, EV_MODELS
from wattcap.sim.personalities import get_personality
from wattcap.sim.runner import RunOptions, Simulation
from wattcap.sim.scenario import Arrival
from wattcap.sim.spec import EvseSpec, StationSpec

EV_MODEL = "truck"  # 32 A on three phases, 300 kWh: it wants more than every limit, for hours
SOC = 0.2
VERSION_SUFFIX = {OcppVersion.V16: "16", OcppVersion.V201: "201"}


def token(station_id: str, evse_id: int) -> str:
    """An id token for an EV at ``station_id``: short enough for any station id (2.0.1 caps idToken at 36)."""
    return f"ACC-{hashlib.sha1(station_id.encode()).hexdigest()[:16]}-{evse_id}"


def acceptance_station(personality: str, version: OcppVersion, station_id: str | None = None) -> StationSpec:
    """The station the suite tests a personality on."""
    return StationSpec(
        station_id or f"{personality}-{VERSION_SUFFIX[version]}",
        version,
        evses=(EvseSpec(1, max_current_a=32.0), EvseSpec(2, max_current_a=32.0)),
        personality=get_personality(personality),
    )


def simulated_specs(personalities: Sequence[str], versions: Sequence[OcppVersion]) -> list[StationSpec]:
    """One :func:`acceptance_station` per personality and version."""
    return [acceptance_station(p, v) for p in personalities for v in versions]


class SimulatedAttendant:
    """Plays the person at a simulated site: an EV is plugged into every EVSE the runner asks for."""

    def __init__(self, simulation: Simulation) -> None:
        self.simulation = simulation

    async def sessions(self, station_id: str, evse_ids: Sequence[int], why: str, ready) -> None:
        runner = self.simulation.runner(station_id)
        for evse_id in evse_ids:
            if runner.station.evse(evse_id).ev is None:
                ev = EV(EV_MODELS[EV_MODEL], soc=SOC, id_token=token(station_id, evse_id))
                runner.plug_in(evse_id, ev, id_token=ev.id_token)


@contextlib.asynccontextmanager
async def simulated_site(
    plane: InProcessPlane, specs: Sequence[StationSpec], clock: AcceleratedClock, *, meter_interval_s: float = 5.0,
    ready_timeout_s: float = 60.0, separate_process: bool = False,
) -> AsyncIterator[Simulation | None]:
    """``specs`` registered with their dialect family, connected to ``plane``, booted (capabilities read) and
    charging on every EVSE.

    ``separate_process`` runs the stations in a child process on the same clock (same start, same monotonic
    anchor): the control plane and the stations then use a core each, which halves the suite's time on two cores.
    The stations can then not be driven from here (the block gets None): every EV is plugged in at the start.
    """
    for spec in specs:
        if await plane.repository.get_station(spec.station_id) is None:
            await plane.repository.add_station(spec.station_id, ocpp_version=spec.ocpp_version.value,
                                               dialect=spec.personality.dialect)
        else:
            await plane.repository.update_station(spec.station_id, dialect=spec.personality.dialect)
    simulation: Simulation | None = None
    child = None
    task = None
    if separate_process:
        context = multiprocessing.get_context("spawn")
        child = context.Process(
            target=_run_child,
            args=(list(specs), plane.url, meter_interval_s, clock.speed, clock.now(), time.monotonic()),
            daemon=True, name="acceptance-stations",
        )
        child.start()
    else:
        simulation = Simulation(specs, clock, _options(plane.url, meter_interval_s), arrivals=_arrivals(specs))
        task = asyncio.create_task(simulation.run(), name="acceptance:simulation")
    try:
        ids = [s.station_id for s in specs]
        timeout = ready_timeout_s + (10.0 if child is not None else 0.0)  # a spawned interpreter imports first
        await plane.profiles.wait_for(lambda: all(plane.profiles.boot_count[i] for i in ids), timeout)
        async with asyncio.timeout(timeout):
            for spec in specs:
                while len(await plane.repository.active_transactions(spec.station_id)) < len(spec.evses):
                    await asyncio.sleep(0.05)
        yield simulation
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if child is not None:
            child.terminate()
            await asyncio.to_thread(child.join, 10)


def _options(url: str, meter_interval_s: float) -> RunOptions:
    return RunOptions(
        url, meter_interval_s=meter_interval_s, response_timeout_s=15.0, backoff_min_s=0.05, backoff_max_s=0.5,
        validate_outgoing=False,
    )


def _arrivals(specs: Sequence[StationSpec]) -> list[Arrival]:
    return [
        Arrival(0.0, s.station_id, e.evse_id, EV_MODELS[EV_MODEL], soc=SOC,
                id_token=token(s.station_id, e.evse_id))
        for s in specs for e in s.evses
    ]


def _run_child(specs: list[StationSpec], url: str, meter_interval_s: float, speed: float, start: datetime,
               anchor: float) -> None:
    """The stations of :func:`simulated_site` in a child process, on the parent's clock."""
    logging.basicConfig(level=logging.ERROR)

    async def main() -> None:
        clock = AcceleratedClock(speed, start + timedelta(seconds=(time.monotonic() - anchor) * speed))
        await Simulation(specs, clock, _options(url, meter_interval_s), arrivals=_arrivals(specs)).run()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def scratch_database() -> tuple[str, Callable[[], None]]:
    """A throw-away SQLite database (in memory-backed /dev/shm where there is one: fsync is most of its cost),
    and the function that removes it."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    directory = Path(tempfile.mkdtemp(prefix="wattcap-acceptance-", dir=base))

    def remove() -> None:
        for path in directory.glob("*"):
            with contextlib.suppress(OSError):
                path.unlink()
        with contextlib.suppress(OSError):
            directory.rmdir()

    return f"sqlite+aiosqlite:///{directory / 'acceptance.db'}", remove


async def run_simulated(
    personalities: Sequence[str],
    *,
    versions: Sequence[OcppVersion] = (OcppVersion.V201,),
    checks: Sequence[AcceptanceTest] = ALL_CHECKS,
    speed: float = 10.0,
    start: datetime | None = None,
    meter_interval_s: float = 10.0,
    settings: AcceptanceSettings | None = None,
    database_url: str | None = None,
    progress: Callable[[Progress], None] | None = None,
    specs: Sequence[StationSpec] | None = None,
    separate_process: bool = True,
) -> AcceptanceReport:
    """Run the suite against one simulated station per personality and version, through an in-process control
    plane sharing the simulation's (accelerated) clock."""
    specs = list(specs) if specs is not None else simulated_specs(personalities, versions)
    settings = settings or AcceptanceSettings.simulated(meter_interval_s)
    clock = AcceleratedClock(speed, start)
    server = Settings(host="127.0.0.1", port=0, call_timeout_s=15.0, require_auth=False, rate_limit_burst=1000)
    # Every write at once (the simulator has no flash to wear), no periodic reconcile (the suite controls what is
    # sent), and no violations recorded by the lifecycle's own draw monitor: the suite judges every meter value
    # itself, and on a site of misbehaving chargers the monitor's records of the same violations would be most of
    # the scratch plane's work.
    lifecycle = LifecycleSettings(min_write_interval_s=0, reconcile_interval_s=None, reaction_s=settings.reaction_s,
                                  draw_abs_a=1e6, draw_rel=1e6)
    remove: Callable[[], None] = lambda: None  # noqa: E731
    if database_url is None:
        database_url, remove = scratch_database()
    try:
        async with (
            in_process_plane(server, database_url, clock=clock.now, lifecycle=lifecycle) as plane,
            simulated_site(plane, specs, clock, meter_interval_s=meter_interval_s,
                           separate_process=separate_process) as simulation,
        ):
            attendant = SimulatedAttendant(simulation) if simulation is not None else None
            return await run_acceptance(
                plane, [s.station_id for s in specs], checks=checks, settings=settings,
                attendant=attendant, progress=progress, sleep=clock.sleep, poll_s=max(0.5, speed * 0.1),
            )
    finally:
        remove()


def run_simulated_blocking(options: dict[str, object]) -> AcceptanceReport:
    """:func:`run_simulated` in its own event loop: what each worker of :func:`run_simulated_sharded` runs (a
    fresh process: its log is the control plane's errors only, the report says the rest)."""
    logging.basicConfig(level=logging.ERROR)
    for name in ("wattcap", "ocpp", "uvicorn"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return asyncio.run(run_simulated(**options))  # type: ignore[arg-type]


def run_simulated_sharded(specs: Sequence[StationSpec], shards: int = 2, **options: object) -> list[AcceptanceReport]:
    """The suite over many simulated stations, split over ``shards`` worker processes (each with its own control
    plane and its own stations' process): the control plane's work per station is what bounds a big simulated
    site, and one process uses one core. Returns one report per shard."""
    chunks = [list(specs[i::shards]) for i in range(shards)]
    chunks = [c for c in chunks if c]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(chunks), mp_context=context) as pool:
        futures = [pool.submit(run_simulated_blocking, {**options, "personalities": (), "specs": chunk})
                   for chunk in chunks]
        return [future.result() for future in futures]
