"""How fast a re-allocation reaches every charger: the site cap's 2 s target for 1,000 EVSEs.

The control plane runs in this process (ControlPlane + site cap on a temporary SQLite, or on
``WATTCAP_BENCH_DATABASE_URL``); the simulated stations run in a separate ``wattcap simulate`` process so that
what is measured is the control plane. Once every EVSE charges and the site cap has settled, the grid limit is
halved through the signal board and the clock runs until the coordinator has nothing pending and no node is over
its limit by what the chargers acknowledged: every affected charger has acknowledged its new limit.

    .venv/bin/python benchmarks/sitecap_reaction.py [--stations 250] [--evses 4]

Prints the figures recorded in docs/benchmarks.md. Timing is measured, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from server.serving import serving
from wattcap.cli import fast_event_loop
from wattcap.core.sitecap import AllocationPolicy, CoordinatorPolicy, FallbackPolicy
from wattcap.core.station import CurrentType
from wattcap.server.runtime import ControlPlane
from wattcap.server.settings import Settings
from wattcap.server.sitecap.config import parse_sites
from wattcap.server.sitecap.controller import SiteCapSettings
from wattcap.server.sitecap.service import attach_site_cap
from wattcap.server.sitecap.signals import SiteLimitSignal
from wattcap.sim.fleet import FleetOptions, VersionMix, make_fleet
from wattcap.sim.site import site_file_for
from wattcap.store import Repository


class StoreCounter:
    """Store round trips: statements executed, transactions committed, connections taken from the pool."""

    def __init__(self, repository: Repository) -> None:
        self.statements = self.commits = self.checkouts = 0
        # Reads on the async engine; writes where the store's group committer runs them (its own thread and
        # connection on a SQLite file, see wattcap.store.batch).
        reads, writes = repository.engine.sync_engine, repository.committer.write_engine
        for engine in {reads, writes}:
            sa.event.listen(engine, "before_cursor_execute", self._statement)
            sa.event.listen(engine, "commit", self._commit)
        sa.event.listen(reads.pool, "checkout", self._checkout)

    def _statement(self, *_: Any) -> None:
        self.statements += 1

    def _commit(self, *_: Any) -> None:
        self.commits += 1

    def _checkout(self, *_: Any) -> None:
        self.checkouts += 1

    def snapshot(self) -> tuple[int, int, int]:
        return self.statements, self.commits, self.checkouts

PASSWORD = "benchmark-station-password-01"


async def wait_until(check, timeout: float, what: str) -> float:
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{what} did not happen within {timeout:g} s")
        await asyncio.sleep(0.02)
    return time.perf_counter() - started


async def main(stations: int, evses: int, drops: int, profile: str | None, setup_timeout: float) -> None:
    options = FleetOptions(count=stations, versions=VersionMix.MIXED, evses=evses, current_type=CurrentType.AC)
    specs = make_fleet(options)
    (site,) = parse_sites(tomllib.loads(site_file_for(specs, share=0.6, lease_s=300)))
    total = len(site.topology.evses)
    workdir = Path(tempfile.mkdtemp(prefix="wattcap-bench-"))
    url = os.environ.get("WATTCAP_BENCH_DATABASE_URL", f"sqlite+aiosqlite:///{workdir / 'bench.db'}")
    settings = Settings(host="127.0.0.1", port=0, call_timeout_s=30.0, rate_limit_per_s=1000, rate_limit_burst=10_000)
    repository = await Repository.open(url)
    counter = StoreCounter(repository)
    for spec in specs:
        if await repository.get_station(spec.station_id) is None:
            await repository.add_station(spec.station_id, PASSWORD, security_profile=1)
    plane = ControlPlane(settings, repository, owns_repository=True)
    policy = CoordinatorPolicy(
        lease_s=300, renew_before_s=100, reaction_s=0.0, fallback=FallbackPolicy("minimum"),
        allocation=AllocationPolicy(min_pause_s=0),
    )
    service = attach_site_cap(plane, [site], policy=policy, settings=SiteCapSettings(tick_s=0.2, debounce_s=0.02))
    controller = service.controllers[site.id]
    async with serving(plane.app(), settings, timeout=60) as served:
        env = {**os.environ, "WATTCAP_SIM_PASSWORD": PASSWORD}
        simulator = subprocess.Popen(
            [sys.executable, "-m", "wattcap", "simulate", "--csms", f"ws://127.0.0.1:{served.port}/ocpp",
             "--stations", str(stations), "--evses", str(evses), "--current", "AC", "--ocpp", "mixed",
             "--arrivals", "now", "--meter-interval", "10", "--no-validate", "--status-every", "0"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        )
        try:
            coordinator = lambda: controller.coordinator  # noqa: E731
            setup = await wait_until(
                lambda: len(controller.sessions) == total and not coordinator().pending_commands()
                and all(not e["unknown"] for e in coordinator().view()["evses"].values()),
                setup_timeout, "every EVSE charging with its limit acknowledged",
            )
            print(f"EVSEs: {total} on {stations} stations (1.6 and 2.0.1 mixed); set-up took {setup:.1f} s")
            grid = site.root()
            reactions = []
            per_write: list[tuple[float, float, float]] = []
            profiler = cProfile.Profile() if profile else None
            limit = grid.max_current_a
            for n in range(drops):
                await asyncio.sleep(2.0)
                limit = limit / 2 if n % 2 == 0 else limit * 2
                now = datetime.now(UTC)
                signal = SiteLimitSignal(ttl_s=3600, points=[{"start": now - timedelta(seconds=1), "current_a": limit}])
                writes_before = controller.writes
                timed_before = len(controller.write_seconds)
                replans_before = controller.replans
                store_before = counter.snapshot()
                if profiler is not None:
                    profiler.enable()
                started = time.perf_counter()
                cpu_before, loop_cpu_before = time.process_time(), time.thread_time()
                controller.signals.put_limit(signal, source="bench", now=now)
                await wait_until(lambda: controller.replans and coordinator().pending_commands(), 30, "re-plan")
                await wait_until(
                    lambda: not coordinator().pending_commands() and not coordinator().violations(), 120,
                    "every affected charger acknowledged",
                )
                elapsed = time.perf_counter() - started
                cpu, loop_cpu = time.process_time() - cpu_before, time.thread_time() - loop_cpu_before
                if profiler is not None:
                    profiler.disable()
                reactions.append(elapsed)
                writes = controller.writes - writes_before
                store = [(b - a) / max(1, writes) for a, b in zip(store_before, counter.snapshot(), strict=True)]
                per_write.append(tuple(store))  # type: ignore[arg-type]
                change = "drop" if n % 2 == 0 else "rise"
                allocation_ms = controller.last_allocation_s * 1000
                print(f"limit {change} to {limit:g} A/phase: {writes} writes acknowledged"
                      f" in {elapsed:.2f} s (allocation {allocation_ms:.0f} ms); per write: {store[0]:.1f} statements,"
                      f" {store[1]:.2f} commits, {store[2]:.1f} connection checkouts")
                per_write_ms = cpu / max(1, writes) * 1000
                print(f"  control plane CPU: {cpu:.2f} s in {elapsed:.2f} s ({per_write_ms:.1f} ms per write;"
                      f" event loop thread {loop_cpu:.2f} s)")
                timed = sorted(controller.write_seconds[timed_before:])
                if timed:
                    print(f"  each write from its turn to its answer: median {statistics.median(timed) * 1000:.0f} ms,"
                          f" slowest {timed[-1] * 1000:.0f} ms; {controller.replans - replans_before} re-plans")
            median = statistics.median(reactions)
            p95 = statistics.quantiles(reactions, n=20, method="inclusive")[18] if len(reactions) > 1 else median
            statements, commits, checkouts = (statistics.median(column) for column in zip(*per_write, strict=True))
            print(f"re-allocation reaching every affected charger: median {median:.2f} s, p95 {p95:.2f} s,"
                  f" worst {max(reactions):.2f} s; target 2 s for 1,000 EVSEs -> {median / 2.0:.2f} of it")
            print(f"store round trips per write (median): {statements:.1f} statements, {commits:.2f} commits,"
                  f" {checkouts:.1f} connection checkouts")
            if profiler is not None:
                profiler.dump_stats(profile)
                pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        finally:
            simulator.terminate()
            simulator.wait(timeout=30)
    await plane.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=250)
    parser.add_argument("--evses", type=int, default=4)
    parser.add_argument("--drops", type=int, default=4)
    parser.add_argument("--profile", metavar="FILE", help="cProfile the control plane during the drops into FILE")
    parser.add_argument("--setup-timeout", type=float, default=600, help="seconds the fleet may take to settle")
    arguments = parser.parse_args()
    # The loop `wattcap serve` runs on (uvloop when installed, WATTCAP_EVENT_LOOP=asyncio for the standard one).
    print(f"event loop: {'uvloop' if fast_event_loop() else 'asyncio'}")
    asyncio.run(main(arguments.stations, arguments.evses, arguments.drops, arguments.profile, arguments.setup_timeout))
