"""A minimal central system for the simulator's end-to-end tests, on the ``ocpp`` package (1.6 and 2.0.1).

It accepts every station, answers what a station sends with the smallest valid response, validates every
message against the OCPP schemas (the ``ocpp`` package does), records each call a station makes, and lets a
test call the station (SetChargingProfile, GetCompositeSchedule, RemoteStart …). It stands in for the control
plane, which is being built at the same time; nothing here is smart.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201

from wattcap.core.timeutil import parse_timestamp

PROTOCOLS = ("ocpp1.6", "ocpp2.0.1")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Received:
    """One call a station made: its action and camelCase payload, in arrival order."""

    index: int
    action: str
    payload: dict[str, Any]


@dataclass(slots=True)
class StationLog:
    """What one station sent, across its connections, plus a way to wait for more."""

    messages: list[Received] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    connections: int = 0
    subprotocol: str | None = None
    authorization: str | None = None
    charge_point: Any = None

    def of(self, action: str) -> list[Received]:
        return [m for m in self.messages if m.action == action]


class _Recorder:
    """Wraps a server connection: every call the station sends is logged before the ``ocpp`` router sees it."""

    def __init__(self, connection: Any, log: StationLog, counter: itertools.count) -> None:
        self._connection = connection
        self._log = log
        self._counter = counter

    async def recv(self) -> str:
        frame = await self._connection.recv()
        message = json.loads(frame)
        if message[0] == 2:
            async with self._log.changed:
                self._log.messages.append(Received(next(self._counter), message[2], message[3]))
                self._log.changed.notify_all()
        return frame

    async def send(self, frame: str) -> None:
        await self._connection.send(frame)


class CentralSystem16(ChargePoint16):
    transaction_ids = itertools.count(1000)

    @on("BootNotification")
    def on_boot(self, **_: Any):
        return result16.BootNotification(current_time=_now(), interval=self.heartbeat, status="Accepted")

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any):
        return result16.Heartbeat(current_time=_now())

    @on("StatusNotification")
    def on_status(self, **_: Any):
        return result16.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_tag: str, **_: Any):
        return result16.Authorize(id_tag_info={"status": "Blocked" if id_tag == "BLOCKED" else "Accepted"})

    @on("StartTransaction")
    def on_start(self, **_: Any):
        return result16.StartTransaction(transaction_id=next(self.transaction_ids), id_tag_info={"status": "Accepted"})

    @on("StopTransaction")
    def on_stop(self, **_: Any):
        return result16.StopTransaction()

    @on("MeterValues")
    def on_meter_values(self, **_: Any):
        return result16.MeterValues()


class CentralSystem201(ChargePoint201):
    @on("BootNotification")
    def on_boot(self, **_: Any):
        return result201.BootNotification(current_time=_now(), interval=self.heartbeat, status="Accepted")

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any):
        return result201.Heartbeat(current_time=_now())

    @on("StatusNotification")
    def on_status(self, **_: Any):
        return result201.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_token: dict, **_: Any):
        status = "Blocked" if id_token["id_token"] == "BLOCKED" else "Accepted"
        return result201.Authorize(id_token_info={"status": status})

    @on("TransactionEvent")
    def on_transaction_event(self, **_: Any):
        return result201.TransactionEvent()

    @on("MeterValues")
    def on_meter_values(self, **_: Any):
        return result201.MeterValues()

    @on("NotifyEVChargingNeeds")
    def on_needs(self, **_: Any):
        return result201.NotifyEVChargingNeeds(status="Accepted")

    @on("NotifyEVChargingSchedule")
    def on_ev_schedule(self, **_: Any):
        return result201.NotifyEVChargingSchedule(status="Accepted")

    @on("ReportChargingProfiles")
    def on_report(self, **_: Any):
        return result201.ReportChargingProfiles()

    @on("NotifyReport")
    def on_notify_report(self, **_: Any):
        return result201.NotifyReport()


class MiniCsms:
    """``async with MiniCsms() as csms``: a central system on a free local port (``csms.url``)."""

    def __init__(self, *, heartbeat_s: int = 300, response_timeout_s: float = 10.0) -> None:
        self.heartbeat = heartbeat_s
        self.response_timeout = response_timeout_s
        self.logs: dict[str, StationLog] = {}
        self._server: Any = None
        self._counter = itertools.count()
        self.url = ""

    async def __aenter__(self) -> MiniCsms:
        self._server = await websockets.serve(
            self._handle,
            "127.0.0.1",
            0,
            subprotocols=list(PROTOCOLS),
            compression=None,
        )
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/ocpp"
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._server.close()
        await self._server.wait_closed()

    def log(self, station_id: str) -> StationLog:
        return self.logs.setdefault(station_id, StationLog())

    async def _handle(self, connection: Any) -> None:
        station_id = connection.request.path.rsplit("/", 1)[-1]
        log = self.log(station_id)
        log.connections += 1
        log.subprotocol = connection.subprotocol
        log.authorization = connection.request.headers.get("Authorization")
        cls = CentralSystem16 if connection.subprotocol == "ocpp1.6" else CentralSystem201
        cp = cls(station_id, _Recorder(connection, log, self._counter), response_timeout=self.response_timeout)
        cp.heartbeat = self.heartbeat
        log.charge_point = cp
        async with log.changed:
            log.changed.notify_all()
        with contextlib.suppress(websockets.ConnectionClosed):
            await cp.start()

    async def disconnect(self, station_id: str) -> None:
        """Close the station's current connection from the central system's side."""
        await self.log(station_id).charge_point._connection._connection.close()

    async def call(self, station_id: str, request: Any) -> Any:
        """Send ``request`` to the station and return its answer (a CALLERROR raises)."""
        return await self.log(station_id).charge_point.call(request, suppress=False)

    async def wait_for(
        self, station_id: str, predicate: Callable[[Received], bool], *, after: int = -1, timeout: float = 15.0
    ) -> Received:
        """The first call from ``station_id`` (recorded after index ``after``) that satisfies ``predicate``."""
        log = self.log(station_id)

        def found() -> Received | None:
            return next((m for m in log.messages if m.index > after and predicate(m)), None)

        async with log.changed:
            await asyncio.wait_for(log.changed.wait_for(lambda: found() is not None), timeout)
        result = found()
        assert result is not None
        return result

    async def connected(self, station_id: str, *, count: int = 1, timeout: float = 15.0) -> None:
        """Wait until the station has connected ``count`` times."""
        log = self.log(station_id)
        async with log.changed:
            await asyncio.wait_for(log.changed.wait_for(lambda: log.connections >= count), timeout)


# ---- reading what stations sent ----------------------------------------------------------------------------


def samples_16(payload: dict[str, Any]) -> list[tuple[datetime, str, str | None, float]]:
    """(timestamp, measurand, phase, value) of a 1.6 MeterValues payload."""
    return [
        (parse_timestamp(mv["timestamp"]), s.get("measurand", ""), s.get("phase"), float(s["value"]))
        for mv in payload["meterValue"]
        for s in mv["sampledValue"]
    ]


def samples_201(payload: dict[str, Any]) -> list[tuple[datetime, str, str | None, float]]:
    """(timestamp, measurand, phase, value) of a 2.0.1 TransactionEvent / MeterValues payload."""
    return [
        (parse_timestamp(mv["timestamp"]), s.get("measurand", ""), s.get("phase"), float(s["value"]))
        for mv in payload.get("meterValue", [])
        for s in mv["sampledValue"]
    ]
