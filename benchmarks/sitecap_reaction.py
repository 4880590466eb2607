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
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from server.serving import serving
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

PASSWORD = "benchmark-station-password-01"


async def wait_until(check, timeout: float, what: str) -> float:
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{what} did not happen within {timeout:g} s")
        await asyncio.sleep(0.02)
    return time.perf_counter() - started


async def main(stations: int, evses: int, drops: int) -> None:
    options = FleetOptions(count=stations, versions=VersionMix.MIXED, evses=evses, current_type=CurrentType.AC)
    specs = make_fleet(options)
    (site,) = parse_sites(tomllib.loads(site_file_for(specs, share=0.6, lease_s=300)))
    total = len(site.topology.evses)
    workdir = Path(tempfile.mkdtemp(prefix="wattcap-bench-"))
    url = os.environ.get("WATTCAP_BENCH_DATABASE_URL", f"sqlite+aiosqlite:///{workdir / 'bench.db'}")
    settings = Settings(host="127.0.0.1", port=0, call_timeout_s=30.0, rate_limit_per_s=1000, rate_limit_burst=10_000)
    repository = await Repository.open(url)
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
                600, "every EVSE charging with its limit acknowledged",
            )
            print(f"EVSEs: {total} on {stations} stations (1.6 and 2.0.1 mixed); set-up took {setup:.1f} s")
            grid = site.root()
            reactions = []
            limit = grid.max_current_a
            for n in range(drops):
                await asyncio.sleep(2.0)
                limit = limit / 2 if n % 2 == 0 else limit * 2
                now = datetime.now(UTC)
                signal = SiteLimitSignal(ttl_s=3600, points=[{"start": now - timedelta(seconds=1), "current_a": limit}])
                writes_before = controller.writes
                started = time.perf_counter()
                controller.signals.put_limit(signal, source="bench", now=now)
                await wait_until(lambda: controller.replans and coordinator().pending_commands(), 30, "re-plan")
                await wait_until(
                    lambda: not coordinator().pending_commands() and not coordinator().violations(), 120,
                    "every affected charger acknowledged",
                )
                elapsed = time.perf_counter() - started
                reactions.append(elapsed)
                change = "drop" if n % 2 == 0 else "rise"
                allocation_ms = controller.last_allocation_s * 1000
                print(f"limit {change} to {limit:g} A/phase: {controller.writes - writes_before} writes acknowledged"
                      f" in {elapsed:.2f} s (allocation {allocation_ms:.0f} ms)")
            median = statistics.median(reactions)
            print(f"re-allocation reaching every affected charger: median {median:.2f} s, worst {max(reactions):.2f} s;"
                  f" target 2 s for 1,000 EVSEs -> ratio {median / 2.0:.2f} of the target")
        finally:
            simulator.terminate()
            simulator.wait(timeout=30)
    await plane.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=250)
    parser.add_argument("--evses", type=int, default=4)
    parser.add_argument("--drops", type=int, default=4)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.stations, arguments.evses, arguments.drops))
