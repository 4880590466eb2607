"""Site-cap leadership on NATS KV leases: one holder at a time, a clean stop hands over at once, a dead node's
lease moves within the lease time and one retry."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

from nats.js.errors import KeyWrongLastSequenceError

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


class _RenewalAnsweredAsCancelled:
    """A lease bucket whose renewal is answered at the instant its holder is told to stop. nats-py waits for the
    answer with ``asyncio.wait_for``, which on Python 3.11 then returns the answer and drops the cancel (CPython
    gh-86296); this bucket does exactly that, on any Python."""

    def __init__(self) -> None:
        self.renewing = asyncio.Event()
        self.answered = False

    async def create(self, key: str, value: bytes) -> int:
        return 1

    async def update(self, key: str, value: bytes, last: int) -> int:
        self.renewing.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if self.answered:
                raise
            self.answered = True
            return last + 1  # the answer had arrived: the cancel is lost
        raise AssertionError("never answered")

    async def delete(self, key: str, last: int) -> None:
        return None


async def test_a_holder_told_to_stop_while_its_renewal_is_answered_still_stops():
    leases = Leases(Bus(NATS_URL, "unused", "x"), "x", LEASE_S)
    leases.renew_s = 0.01
    leases.kv = kv = _RenewalAnsweredAsCancelled()  # type: ignore[assignment]
    lost: list[str] = []

    async def gain(site: str) -> None:
        pass

    async def lose(site: str) -> None:
        lost.append(site)

    holding = asyncio.create_task(leases.hold("depot", gain, lose))
    await kv.renewing.wait()
    holding.cancel()
    done, _ = await asyncio.wait({holding}, timeout=10)
    if not done:
        holding.cancel()
        await asyncio.gather(holding, return_exceptions=True)
    assert done, "the holder went on renewing after it was cancelled (its site cap's close would wait for ever)"
    assert holding.cancelled() and lost == ["depot"] and "depot" not in leases.held


class _RenewalAnsweredLate:
    """A lease bucket on a server that applies a renewal but whose answer reaches the holder only after it gave up
    waiting (its event loop stalled, as two nodes sharing one loop under load do): the holder's next renewal names
    the revision before, and is refused although nobody else wrote."""

    def __init__(self) -> None:
        self.entry: tuple[bytes, int] | None = None
        self.renewals = 0
        self.late = asyncio.Event()

    async def create(self, key: str, value: bytes) -> int:
        if self.entry is not None:
            raise KeyWrongLastSequenceError("wrong last sequence: key exists")
        self.entry = (value, 1)
        return 1

    async def update(self, key: str, value: bytes, last: int) -> int:
        assert self.entry is not None
        if last != self.entry[1]:
            raise KeyWrongLastSequenceError(f"wrong last sequence: {self.entry[1]}")
        self.entry = (value, self.entry[1] + 1)
        self.renewals += 1
        if self.renewals == 1:
            self.late.set()
            await asyncio.sleep(3600)  # applied, but the answer comes after the holder's timeout
        return self.entry[1]

    async def get(self, key: str) -> Any:
        assert self.entry is not None
        return SimpleNamespace(key=key, value=self.entry[0], revision=self.entry[1])

    async def delete(self, key: str, last: int) -> None:
        self.entry = None


async def test_a_renewal_answered_late_is_not_taken_for_another_nodes_takeover():
    leases = Leases(Bus(NATS_URL, "unused", "x"), "x", LEASE_S)
    leases.renew_s = 0.05
    leases.lease_s = 10.0  # the give-up time is far: only the refused renewal could end the lease here
    leases.kv = kv = _RenewalAnsweredLate()  # type: ignore[assignment]
    lost: list[str] = []

    async def gain(site: str) -> None:
        pass

    async def lose(site: str) -> None:
        lost.append(site)

    holding = asyncio.create_task(leases.hold("depot", gain, lose))
    try:
        async with asyncio.timeout(10):
            await kv.late.wait()
            while kv.renewals < 4:  # renewed on from the revision its late renewal wrote
                await asyncio.sleep(0.02)
        assert lost == [] and "depot" in leases.held and leases.lost == 0
    finally:
        holding.cancel()
        await asyncio.gather(holding, return_exceptions=True)


class _StrictDelete(_RenewalAnsweredLate):
    """As :class:`_RenewalAnsweredLate`, and a delete names the revision it removes (as NATS KV's does)."""

    async def delete(self, key: str, last: int) -> None:
        assert self.entry is not None
        if last != self.entry[1]:
            raise KeyWrongLastSequenceError(f"wrong last sequence: {self.entry[1]}")
        self.entry = None


async def test_a_holder_stopped_after_a_renewal_answered_late_still_frees_the_lease():
    """A clean stop frees the lease at once, so another node takes the site at its next try rather than when the
    lease expires; the revision to free is the one on the server, even when its renewal's answer never came."""
    leases = Leases(Bus(NATS_URL, "unused", "x"), "x", LEASE_S)
    leases.renew_s = 0.05
    leases.lease_s = 10.0
    leases.kv = kv = _StrictDelete()  # type: ignore[assignment]

    async def transition(site: str) -> None:
        pass

    holding = asyncio.create_task(leases.hold("depot", transition, transition))
    async with asyncio.timeout(10):
        await kv.late.wait()  # renewal 1 applied on the server; its answer will come after the holder's timeout
    holding.cancel()
    await asyncio.gather(holding, return_exceptions=True)
    assert kv.entry is None, "the lease was left to expire: another node waits a whole lease for the site"
