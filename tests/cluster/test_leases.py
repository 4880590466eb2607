"""Site-cap leadership on NATS KV leases: one holder at a time, a clean stop hands over at once, a dead node's
lease moves within the lease time and one retry."""

from __future__ import annotations

import asyncio
import time

from wattcap.server.cluster.bus import Bus
from wattcap.server.cluster.leases import Leases

from .conftest import NATS_URL

LEASE_S = 2.0


async def test_one_holder_at_a_time_and_bounded_takeover(nats_prefix):
    holders: list[str] = []
    overlaps: list[tuple[str, str]] = []
    buses = {name: Bus(NATS_URL, nats_prefix, name) for name in ("x", "y")}
    leases: dict[str, Leases] = {}
    for name, bus in buses.items():
        await bus.connect()
        leases[name] = Leases(bus, name, LEASE_S)
        await leases[name].start()

    def transitions(name: str):
        async def gain(site: str) -> None:
            if holders:
                overlaps.append((holders[0], name))
            holders.append(name)

        async def lose(site: str) -> None:
            holders.remove(name)

        return gain, lose

    async def until(check, timeout: float = 10.0) -> float:
        started = time.monotonic()
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.02)
        return time.monotonic() - started

    tasks = {"x": asyncio.create_task(leases["x"].hold("depot", *transitions("x")))}
    await until(lambda: holders == ["x"])
    tasks["y"] = asyncio.create_task(leases["y"].hold("depot", *transitions("y")))
    await asyncio.sleep(LEASE_S * 1.5)  # y keeps trying; x keeps renewing
    assert holders == ["x"]

    tasks["x"].cancel()  # a clean stop releases the lease: y takes it at its next try
    await asyncio.gather(tasks["x"], return_exceptions=True)
    handed_over = await until(lambda: holders == ["y"])
    assert handed_over <= leases["y"].renew_s + 1.0

    leases["y"].abandoned = True  # y dies: nothing released, its lease expires on the server
    tasks["y"].cancel()
    await asyncio.gather(tasks["y"], return_exceptions=True)
    await buses["y"].abort()
    tasks["x"] = asyncio.create_task(leases["x"].hold("depot", *transitions("x")))
    taken_over = await until(lambda: holders == ["x"])
    assert LEASE_S - leases["x"].renew_s - 0.5 <= taken_over <= LEASE_S + leases["x"].renew_s + 1.5, taken_over
    assert not overlaps

    tasks["x"].cancel()
    await asyncio.gather(tasks["x"], return_exceptions=True)
    await buses["x"].close()
