"""What a station sends after answering the control plane is sent, even when the control plane asks at once.

A control plane reads a 2.0.1 station's device model right after accepting its BootNotification (wattcap does:
GetVariables, then GetBaseReport). Its requests can reach the station before the station's runner has handled the
boot's answer and taken the station online. The NotifyReport messages the station owes for its Accepted must not
be lost then: the control plane waits for them, and without them knows none of the station's EVSEs.
"""

from __future__ import annotations

import json
from typing import Any

from wattcap.core.model import OcppVersion
from wattcap.sim.clock import RealClock
from wattcap.sim.protocol import RawCall
from wattcap.sim.runner import RunOptions, StationRunner
from wattcap.sim.station import SimStation

from .helpers import T0, spec


class _Link:
    """The station's end of the WebSocket: keeps what the station answers."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def send(self, frame: str) -> None:
        self.sent.append(json.loads(frame))

    async def recv(self) -> str:  # pragma: no cover - the test routes the frame itself
        raise AssertionError("not read from")


async def test_a_base_report_asked_for_before_the_station_is_online_is_still_sent():
    runner = StationRunner(SimStation(spec(version=OcppVersion.V201, evses=4), T0), RealClock(), RunOptions("ws://x"))
    link = _Link()
    cp = runner.adapter.charge_point(link)
    assert not runner.station.online  # boot answered, the runner not yet on (see the module docstring)

    request = [2, "csms-1", "GetBaseReport", {"requestId": 7, "reportBase": "FullInventory"}]
    await cp.route_message(json.dumps(request))

    assert link.sent == [[3, "csms-1", {"status": "Accepted"}]]
    parts = [e.event.payload for e in runner.outbox.queued() if isinstance(e.event, RawCall)]
    assert parts, "the station answered Accepted but will never send the report"
    assert [p["seqNo"] for p in parts] == list(range(len(parts)))
    assert not parts[-1]["tbc"]
    evses = {(r["component"].get("evse") or {}).get("id") for p in parts for r in p["reportData"]}
    assert {1, 2, 3, 4} <= evses
