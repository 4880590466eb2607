"""Presence and calls across nodes: a station connected to one node is called from another (answers and CALLERRORs
come back as a local call's would), a station that connects to a second node takes over (the first node closes its
link as replaced), and a station gone from every node is refused at once."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import pytest
from ocpp import v16
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedOK

from server.chargers import Charger16
from wattcap.server.stations import CallRejected, StationNotConnected

from .support import node

STATION = "CP.1"  # a dot: not a plain NATS subject token
PASSWORD = "password-of-cp-1-0001"


@asynccontextmanager
async def charger(port: int) -> AsyncIterator[tuple[Charger16, asyncio.Task]]:
    auth = base64.b64encode(f"{STATION}:{PASSWORD}".encode()).decode()
    async with connect(f"ws://127.0.0.1:{port}/ocpp/{STATION}", subprotocols=["ocpp1.6"], compression=None,
                       proxy=None, additional_headers={"Authorization": f"Basic {auth}"}) as websocket:
        charge_point = Charger16(STATION, websocket, response_timeout=10)
        task = asyncio.create_task(charge_point.start())
        try:
            yield charge_point, task
        finally:
            task.cancel()
            with suppress(BaseException):
                await task


async def until(check, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


async def test_calls_reach_the_node_holding_the_link_and_a_reconnection_elsewhere_takes_over(pg_url, nats_prefix):
    async with node("a", pg_url, nats_prefix) as a, node("b", pg_url, nats_prefix) as b:
        await a.plane.repository.add_station(STATION, PASSWORD, security_profile=1, ocpp_version="1.6")
        stream_b = b.plane.live.subscribe(lambda e: e.type == "connection")
        async with charger(a.port) as (_, first_task):
            await until(lambda: STATION in b.plane.registry)
            assert a.local() == {STATION} and b.local() == set()
            assert b.plane.registry.version(STATION).value == "1.6"

            answer = await b.plane.registry.call(STATION, v16.call.GetConfiguration(key=["HeartbeatInterval"]))
            assert isinstance(answer, v16.call_result.GetConfiguration)
            assert answer.configuration_key[0]["key"] == "HeartbeatInterval"
            with pytest.raises(CallRejected) as rejected:
                await b.plane.registry.call(STATION, v16.call.SetChargingProfile(
                    connector_id=7, cs_charging_profiles={"chargingProfileId": 1, "stackLevel": 0,
                                                          "chargingProfilePurpose": "TxDefaultProfile",
                                                          "chargingProfileKind": "Relative",
                                                          "chargingSchedule": {"chargingRateUnit": "A",
                                                                               "chargingSchedulePeriod": [
                                                                                   {"startPeriod": 0, "limit": 6}]}}))
            assert rejected.value.error_code == "PropertyConstraintViolation"

            # The station connects to B while its link to A is still up: B's is the live one, A closes its own.
            async with charger(b.port):
                await until(lambda: b.local() == {STATION} and a.local() == set())
                with pytest.raises(ConnectionClosedOK) as closed:
                    await asyncio.wait_for(first_task, 10)
                assert closed.value.rcvd.code == 1000 and "node b" in closed.value.rcvd.reason
                assert a.plane.registry.holder(STATION).node == "b"
                answer = await a.plane.registry.call(STATION, v16.call.GetConfiguration(key=["HeartbeatInterval"]))
                assert answer.configuration_key[0]["value"] == "60"
            await until(lambda: STATION not in a.plane.registry and STATION not in b.plane.registry)
            with pytest.raises(StationNotConnected):
                await a.plane.registry.call(STATION, v16.call.GetConfiguration())
        events = [m["data"]["connected"] for m in stream_b.take() if m.get("station") == STATION]
        assert events[0] is True and events[-1] is False
        assert events.count(False) == 1  # the move from A to B is not a disconnection
