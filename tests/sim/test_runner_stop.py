"""A simulated station stops when it is told to, even at the instant the control plane answers it."""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v201 import call_result

from wattcap.sim.clock import RealClock
from wattcap.sim.runner import RunOptions, StationRunner
from wattcap.sim.station import SimStation

from .helpers import T0, spec


class _AnsweredAsCancelled:
    """A link whose answer arrives at the instant the station is stopped. The ocpp package's ``ChargePoint.call``
    waits for answers with ``asyncio.wait_for``, which on Python 3.11 then returns the answer and drops the cancel
    (CPython gh-86296); this link does exactly that, once, on any Python."""

    def __init__(self) -> None:
        self.calling = asyncio.Event()
        self.answered = False

    async def call(self, request: Any, **_: Any) -> Any:
        self.calling.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if self.answered:
                raise
            self.answered = True
            return call_result.StatusNotification()  # the answer had arrived: the cancel is lost
        raise AssertionError("never answered")


async def test_a_station_stopped_as_its_answer_arrives_stops_sending():
    runner = StationRunner(SimStation(spec(), T0), RealClock(), RunOptions("ws://unused"))
    runner.station.set_online(True, T0)
    link = _AnsweredAsCancelled()
    sending = asyncio.create_task(runner._send_loop(link))
    runner.emit(runner.station.statuses(T0))
    async with asyncio.timeout(10):
        await link.calling.wait()
    sending.cancel()
    done, _ = await asyncio.wait({sending}, timeout=10)
    if not done:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
    assert done, "the station went on sending after it was stopped (whoever stops it would wait for ever)"
    assert sending.cancelled()
