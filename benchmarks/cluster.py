"""Figures of docs/deployment.md: one node on SQLite, one on PostgreSQL, two nodes over NATS.

* **call round trip** — a GetConfiguration to a charger (the ``ocpp`` package's test charger, answering at once)
  from the node its WebSocket is on, and from the other node (through NATS);
* **live relay** — a live event published on node A until node B's stream has it;
* **boot storm** — N simulated stations (``wattcap.sim``, in this process) connect at once; the time until every
  boot is handled (capabilities read, holdings reconciled), per deployment; with two nodes the stations are split
  between them by a balancer (tests/cluster/support.py).

    .venv/bin/python benchmarks/cluster.py [--calls 300] [--stations 40]

Needs PostgreSQL (``WATTCAP_TEST_POSTGRES_URL``) and NATS (``WATTCAP_TEST_NATS_URL``) as the cluster specs do.
Prints the figures; timing is measured, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from ocpp import v16
from websockets.asyncio.client import connect

from cluster.conftest import NATS_URL
from cluster.support import Balancer, node
from server.chargers import Charger16
from server.serving import serving
from store.conftest import PG_ADMIN_URL, PostgresServer
from wattcap.core.model import OcppVersion
from wattcap.server.live import LiveEvent
from wattcap.server.profiles import LifecycleSettings
from wattcap.server.runtime import ControlPlane
from wattcap.server.settings import Settings
from wattcap.sim.clock import RealClock
from wattcap.sim.personalities import get_personality
from wattcap.sim.runner import RunOptions, Simulation
from wattcap.sim.spec import EvseSpec, StationSpec
from wattcap.store import Repository

PASSWORD = "benchmark-station-password-01"
LIFECYCLE = LifecycleSettings(min_write_interval_s=0, reconcile_interval_s=None)


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[int(len(values) * 0.95) - 1]
    return f"median {statistics.median(values) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms (n={len(values)})"


async def call_round_trips(pg_url: str, prefix: str, calls: int) -> None:
    fast = {"rate_limit_per_s": 10_000.0, "rate_limit_burst": 10_000}
    async with node("a", pg_url, prefix, **fast) as a, node("b", pg_url, prefix, **fast) as b:
        await a.plane.repository.add_station("BENCH", PASSWORD, security_profile=1, ocpp_version="1.6")
        auth = base64.b64encode(f"BENCH:{PASSWORD}".encode()).decode()
        async with connect(f"ws://127.0.0.1:{a.port}/ocpp/BENCH", subprotocols=["ocpp1.6"], compression=None,
                           proxy=None, additional_headers={"Authorization": f"Basic {auth}"}) as websocket:
            charger = Charger16("BENCH", websocket, response_timeout=10)
            task = asyncio.create_task(charger.start())
            while "BENCH" not in b.plane.registry:
                await asyncio.sleep(0.01)
            for label, registry in (("local (node A)", a.plane.registry), ("remote (node B via NATS)",
                                                                            b.plane.registry)):
                times = []
                for _ in range(calls):
                    started = time.perf_counter()
                    await registry.call("BENCH", v16.call.GetConfiguration(key=["HeartbeatInterval"]))
                    times.append(time.perf_counter() - started)
                print(f"call round trip, {label}: {ms(times)}")
            task.cancel()
        received: dict[int, float] = {}
        sub = b.plane.live.subscribe(lambda e: e.type == "site")

        async def drain() -> None:
            while True:
                for message in await sub.next():
                    if message.get("type") == "site":
                        received[message["data"]["n"]] = time.perf_counter()

        reader = asyncio.create_task(drain())
        sent = {}
        for n in range(calls):
            sent[n] = time.perf_counter()
            a.plane.live.publish(LiveEvent("site", {"n": n}, site_id="bench"))
            await asyncio.sleep(0.002)
        await asyncio.sleep(1.0)
        reader.cancel()
        print(f"live relay A -> B: {ms([received[n] - sent[n] for n in received])}, lost {calls - len(received)}")


async def lease_takeover(prefix: str, lease_s: float, trials: int) -> None:
    """A node holding a site's lease dies (its NATS connection dropped, nothing released): how long until another
    node holds it."""
    from wattcap.server.cluster.bus import Bus
    from wattcap.server.cluster.leases import Leases

    async def nothing(site: str) -> None:
        return None

    times = []
    for trial in range(trials):
        site = f"site-{trial}"
        holders: list[str] = []
        buses, leases, tasks = {}, {}, {}
        for name in ("x", "y"):
            buses[name] = Bus(NATS_URL, prefix, name)
            await buses[name].connect()
            leases[name] = Leases(buses[name], name, lease_s)
            await leases[name].start()

        def gain_of(name: str, holders: list[str] = holders):
            async def gain(_: str) -> None:
                holders.append(name)
            return gain

        tasks["x"] = asyncio.create_task(leases["x"].hold(site, gain_of("x"), nothing))
        while holders != ["x"]:
            await asyncio.sleep(0.01)
        tasks["y"] = asyncio.create_task(leases["y"].hold(site, gain_of("y"), nothing))
        await asyncio.sleep(lease_s * (0.5 + trial / trials))  # die at various points of the renewal cycle
        leases["x"].abandoned = True
        tasks["x"].cancel()
        await buses["x"].abort()
        died = time.perf_counter()
        while holders[-1] != "y":
            await asyncio.sleep(0.01)
        times.append(time.perf_counter() - died)
        tasks["y"].cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        await buses["y"].close()
    print(f"lease takeover after a node died, lease {lease_s:g} s: "
          + ", ".join(f"{t:.2f}" for t in times) + f" s (bound {lease_s * 1.25:g} s)")


def specs(count: int) -> list[StationSpec]:
    versions = (OcppVersion.V16, OcppVersion.V201)
    return [StationSpec(f"BOOT-{i:03d}", versions[i % 2], evses=(EvseSpec(1, max_current_a=32.0),),
                        personality=get_personality("everest")) for i in range(count)]


async def boot_storm(label: str, urls: list[str], planes: list[ControlPlane], count: int) -> None:
    for spec in specs(count):
        await planes[0].repository.add_station(spec.station_id, PASSWORD, security_profile=1,
                                               ocpp_version=spec.ocpp_version.value)
    balancer = None
    url = urls[0]
    if len(urls) > 1:
        ports = {str(i): int(u.rsplit(":", 1)[1].split("/")[0]) for i, u in enumerate(urls)}
        balancer = Balancer(ports, lambda station: [str(int(station[-3:]) % len(ports))])
        await balancer.start()
        url = balancer.url
    sim = Simulation(specs(count), RealClock(), RunOptions(url, password=PASSWORD, meter_interval_s=30.0,
                                                          backoff_min_s=0.1, backoff_max_s=1.0))
    started = time.perf_counter()
    task = asyncio.create_task(sim.run())
    profiles = planes[0].profiles
    await profiles.wait_for(lambda: all(profiles.boot_count[s.station_id] for s in specs(count)), 120)
    print(f"boot storm, {label}: {count} stations booted in {time.perf_counter() - started:.2f} s")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    if balancer is not None:
        await balancer.close()


async def single(label: str, url: str, count: int) -> None:
    settings = Settings(host="127.0.0.1", port=0, call_timeout_s=10.0, heartbeat_interval_s=300)
    repository = await Repository.open(url)
    plane = ControlPlane(settings, repository, lifecycle=LIFECYCLE)
    try:
        async with serving(plane.app(), settings, 20) as served:
            await boot_storm(label, [f"ws://127.0.0.1:{served.port}/ocpp"], [plane], count)
    finally:
        await plane.close()
        await repository.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--stations", type=int, default=40)
    parser.add_argument("--lease", type=float, default=6.0)
    args = parser.parse_args()
    pg = PostgresServer(PG_ADMIN_URL)
    prefixes = [f"bench{uuid.uuid4().hex[:8]}" for _ in range(3)]
    try:
        await call_round_trips(await pg.create_database(), prefixes[0], args.calls)
        await lease_takeover(prefixes[2], args.lease, 3)
        with tempfile.TemporaryDirectory() as directory:
            await single("one node, SQLite", f"sqlite+aiosqlite:///{directory}/wattcap.db", args.stations)
        await single("one node, PostgreSQL", await pg.create_database(), args.stations)
        pg_url = await pg.create_database()
        prefix = prefixes[1]
        async with AsyncExitStack() as stack:
            a = await stack.enter_async_context(node("a", pg_url, prefix))
            b = await stack.enter_async_context(node("b", pg_url, prefix))
            await boot_storm("two nodes, PostgreSQL + NATS", [f"ws://127.0.0.1:{a.port}/ocpp",
                                                               f"ws://127.0.0.1:{b.port}/ocpp"], [a.plane, b.plane],
                             args.stations)
    finally:
        await asyncio.to_thread(pg.drop_all)
        await forget_buckets(prefixes)
    print(f"NATS {NATS_URL}")


async def forget_buckets(prefixes: list[str]) -> None:
    import nats

    nc = await nats.connect(NATS_URL)
    for prefix in prefixes:
        for bucket in ("presence", "leases"):
            try:
                await nc.jetstream().delete_key_value(f"{prefix}_{bucket}")
            except Exception:
                continue
    await nc.close()


if __name__ == "__main__":
    asyncio.run(main())
