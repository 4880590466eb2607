"""Station time and the outbox: the two pieces of the shell that hold rules of their own."""

from __future__ import annotations

import asyncio

import pytest

from wattcap.core.events import ConnectorStatusChanged
from wattcap.sim import clock as clock_module
from wattcap.sim.clock import AcceleratedClock, RealClock, make_clock
from wattcap.sim.events import AuthorizeRequested, MeterValuesReceived, TransactionEnded, TransactionStarted
from wattcap.sim.outbox import Outbox

from .helpers import T0, at


def test_accelerated_clock_runs_speed_times_faster_from_its_start(monkeypatch):
    real = [100.0]
    monkeypatch.setattr(clock_module.time, "monotonic", lambda: real[0])
    clock = AcceleratedClock(600, T0)
    assert clock.now() == T0
    real[0] += 6.0
    assert clock.now() == at(3600)
    assert clock.real_seconds(86_400) == 144.0


async def test_accelerated_sleep_waits_the_real_share(monkeypatch):
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(clock_module.asyncio, "sleep", fake_sleep)
    await AcceleratedClock(10, T0).sleep(5)
    assert slept == [0.5]


def test_make_clock_is_the_wall_clock_unless_asked_otherwise():
    assert isinstance(make_clock(), RealClock)
    assert isinstance(make_clock(2.0), AcceleratedClock)
    assert make_clock(1.0, T0).now() >= T0
    with pytest.raises(ValueError):
        AcceleratedClock(0)


def _status(n: int = 1):
    return ConnectorStatusChanged("S", at(n), n, 1, "Charging")


def _values(n: int):
    return MeterValuesReceived("S", at(n), 1, "tx", ())


def test_online_everything_queues_in_order():
    box = Outbox()
    events = [_status(), TransactionStarted("S", at(1), 1, "tx"), _values(2)]
    box.extend(events, online=True)
    assert [e.event for e in box.queued()] == events
    assert not any(e.offline for e in box.queued())


def test_offline_only_transaction_messages_queue_and_are_marked():
    box = Outbox()
    assert not box.put(_status(), online=False)
    assert not box.put(AuthorizeRequested("S", T0, 1, "tag"), online=False)
    assert box.put(_values(1), online=False)
    assert box.put(TransactionEnded("S", at(2), 1, "tx"), online=False)
    assert [type(e.event) for e in box.queued()] == [MeterValuesReceived, TransactionEnded]
    assert all(e.offline and e.durable for e in box.queued())


def test_a_lost_link_discards_what_only_made_sense_online():
    box = Outbox()
    box.extend([_status(), _values(1), AuthorizeRequested("S", T0, 1, "tag")], online=True)
    gone = box.discard_volatile()
    assert [type(e.event) for e in gone] == [ConnectorStatusChanged, AuthorizeRequested]
    assert [type(e.event) for e in box.queued()] == [MeterValuesReceived]


def test_a_full_queue_drops_its_oldest_meter_values_first():
    box = Outbox(max_queued=3)
    box.extend([TransactionStarted("S", T0, 1, "tx"), _values(1), _values(2)], online=False)
    box.put(_values(3), online=False)
    assert [e.event.at for e in box.queued()] == [T0, at(2), at(3)]
    box.put(TransactionEnded("S", at(4), 1, "tx"), online=False)
    box.put(TransactionStarted("S", at(5), 1, "tx2"), online=False)
    assert [type(e.event) for e in box.queued()] == [TransactionStarted, TransactionEnded, TransactionStarted]
    box.put(TransactionEnded("S", at(6), 1, "tx2"), online=False)  # no meter values left: starts and ends stay
    assert len(box) == 4
    assert box.dropped == 3


async def test_next_waits_for_an_envelope_and_done_removes_it():
    box = Outbox()
    waiter = asyncio.ensure_future(box.next())
    await asyncio.sleep(0)
    assert not waiter.done()
    box.put(_values(1), online=True)
    envelope = await asyncio.wait_for(waiter, 5)
    assert len(box) == 1
    box.done(envelope)
    await asyncio.wait_for(box.drained(), 5)
    assert len(box) == 0
