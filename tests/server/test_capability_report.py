"""A 2.0.1 station's device report is stored as the full inventory only when every part of it arrived.

The reader asks for a FullInventory base report and gathers the NotifyReport parts (seqNo 0..n, tbc on all but the
last) as the station sends them. Here a scripted station sends the parts of each report in a chosen order, or
leaves some out, and the stored record is checked: which EVSEs it knows, and whether it claims to be complete.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocpp.v201 import call_result

from sim.helpers import spec
from wattcap.core.model import OcppVersion
from wattcap.ocpp import messages_v201
from wattcap.ocpp.capabilities import station_facts
from wattcap.server.capabilities import CapabilityReader, RetryPolicy
from wattcap.server.event_hub import EventHub
from wattcap.sim.device_model import device_model, notify_report_payloads
from wattcap.sim.protocol import StationSettings
from wattcap.sim.station import SimStation
from wattcap.store import Capabilities, CapabilityStatus

SID = "CS-4"
NOW = datetime(2026, 3, 2, 8, tzinfo=UTC)
PARTS = 5  # what the simulator's 4-EVSE station reports, 10 variables a message
QUICK = RetryPolicy(attempts=2, backoff_s=0.01, report_timeout_s=0.3)


class _Backend:
    async def record(self, event: Any) -> None:
        pass


@dataclass
class _Store:
    records: list[Capabilities] = field(default_factory=list)

    async def put_capabilities(self, station_id: str, document: Any, status: Any, read_at: Any = None) -> Capabilities:
        record = Capabilities(station_id, dict(document), status, read_at)
        self.records.append(record)
        return record

    async def get_capabilities(self, station_id: str) -> Capabilities | None:
        return self.records[-1] if self.records else None

    async def append_audit(self, *_: Any, **__: Any) -> None:
        pass


class _Station:
    """Answers GetVariables with nothing (the report has the controller's variables) and every GetBaseReport
    with Accepted; then its parts follow, the n-th report's in the order ``orders[n]`` (seqNos; missing ones are
    never sent)."""

    def __init__(self, hub: EventHub, orders: list[list[int]]) -> None:
        self.hub = hub
        self.orders = orders
        self.reports = 0
        self._tasks: set[asyncio.Task] = set()
        self._variables = device_model(SimStation(spec(evses=4), NOW), StationSettings(10.0, 300.0))

    def version(self, station_id: str) -> OcppVersion:
        return OcppVersion.V201

    async def call(self, station_id: str, request: Any) -> Any:
        name = type(request).__name__
        if name == "GetVariables":
            return call_result.GetVariables(get_variable_result=[])
        assert name == "GetBaseReport"
        payloads = notify_report_payloads(request.request_id, NOW, self._variables, 10)
        assert len(payloads) == PARTS
        order = self.orders[min(self.reports, len(self.orders) - 1)]
        self.reports += 1
        task = asyncio.create_task(self._send(station_id, [payloads[i] for i in order]))
        self._tasks.add(task)
        return call_result.GetBaseReport(status="Accepted")

    async def _send(self, station_id: str, payloads: list[dict[str, Any]]) -> None:
        await asyncio.sleep(0)  # after the answer, as B07 orders it
        for payload in payloads:
            for event in messages_v201.notify_report(station_id, payload, NOW).events:
                await self.hub.record(event)


async def _read(orders: list[list[int]]) -> tuple[Capabilities, _Station]:
    hub = EventHub(_Backend())  # type: ignore[arg-type]
    station = _Station(hub, orders)
    store = _Store()
    reader = CapabilityReader(station, store, hub, lambda: NOW, retry=QUICK)  # type: ignore[arg-type]
    return await reader.read(SID), station


def _evses(record: Capabilities) -> tuple[int, ...] | None:
    return station_facts(record.document).evse_ids


async def test_parts_in_order_make_the_full_inventory():
    record, _ = await _read([[0, 1, 2, 3, 4]])
    assert record.status == CapabilityStatus.ANSWERED
    assert _evses(record) == (1, 2, 3, 4)


async def test_the_last_part_arriving_first_does_not_end_the_report():
    record, _ = await _read([[4, 0, 1, 2, 3]])
    assert _evses(record) == (1, 2, 3, 4)
    assert record.status == CapabilityStatus.ANSWERED


async def test_a_part_that_never_came_leaves_the_report_partial():
    record, station = await _read([[0, 2, 3, 4]])
    assert station.reports == QUICK.attempts  # asked again, in vain
    assert record.status == CapabilityStatus.PARTIAL
    assert record.document["reportComplete"] is False


async def test_a_report_that_never_came_is_asked_for_again():
    record, station = await _read([[], [0, 1, 2, 3, 4]])
    assert station.reports == 2
    assert record.status == CapabilityStatus.ANSWERED
    assert _evses(record) == (1, 2, 3, 4)
