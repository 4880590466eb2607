"""The short way for the hottest CALLs (``StationChargePoint._route_fast``) answers and records exactly what the
``ocpp`` package's routing does: the same frames sent (answers and CALLERRORs alike), the same events, in order.

Each case is run twice over an in-memory WebSocket, once with the fast route and once with it switched off
(``fast_actions`` empty: every CALL through the package's ``route_message``), and the two are compared.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest

from wattcap.core.model import OcppVersion
from wattcap.core.timeutil import utc
from wattcap.server.backend import InMemoryBackend
from wattcap.server.charge_point import StationChargePoint, StationMemory
from wattcap.server.connection import WebSocketConnection
from wattcap.server.event_hub import EventHub
from wattcap.server.handlers_v16 import V16ChargePoint
from wattcap.server.handlers_v201 import V201ChargePoint
from wattcap.server.logs import StationLog
from wattcap.server.ratelimit import TokenBucket
from wattcap.server.settings import Settings

NOW = utc(2026, 3, 1, 12, 0, 0)
V16, V201 = OcppVersion.V16, OcppVersion.V201
TS = "2026-03-01T11:59:00Z"
METER_16 = {
    "connectorId": 1,
    "transactionId": 7,
    "meterValue": [
        {
            "timestamp": TS,
            "sampledValue": [
                {
                    "value": "1234",
                    "context": "Sample.Periodic",
                    "measurand": "Energy.Active.Import.Register",
                    "unit": "Wh",
                    "location": "Outlet",
                },
                {"value": "11.04", "measurand": "Power.Active.Import", "unit": "kW"},
                {"value": "16.0", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
            ],
        }
    ],
}

CASES_16: list[tuple[str, Any]] = [
    ("MeterValues", METER_16),
    ("MeterValues", {**METER_16, "transactionId": "seven"}),  # wrong type: TypeConstraintViolation
    ("MeterValues", {"connectorId": 1}),  # required meterValue missing: ProtocolError (the package's code)
    ("MeterValues", {**METER_16, "meterValue": [{"timestamp": "now", "sampledValue": [{"value": "1"}]}]}),
    ("MeterValues", {**METER_16, "meterValue": [{"timestamp": TS[:-1], "sampledValue": [{"value": "1"}]}]}),  # no zone
    ("MeterValues", {**METER_16, "extra": 1}),  # additional property: FormationViolation on 1.6
    ("MeterValues", {**METER_16, "connectorId": 1.0}),  # an integer written 1.0
    ("Heartbeat", {}),
    ("Heartbeat", {"extra": 1}),
    ("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging", "timestamp": TS}),
    ("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Busy"}),  # not an enum value
    ("StartTransaction", {"connectorId": 1, "idTag": "TOKEN-OK", "meterStart": 0, "timestamp": TS}),
    ("StartTransaction", {"connectorId": 1, "idTag": "TOKEN-OK", "meterStart": 0, "timestamp": TS}),  # resent
    ("StartTransaction", {"connectorId": 2, "idTag": "BLOCKED", "meterStart": 5, "timestamp": TS}),
    (
        "StopTransaction",
        {"transactionId": 1, "meterStop": 900, "timestamp": TS, "reason": "Local", "idTag": "TOKEN-OK"},
    ),
    (
        "StopTransaction",
        {
            "transactionId": 2,
            "meterStop": 7,
            "timestamp": TS,
            "transactionData": [{"timestamp": TS, "sampledValue": [{"value": "7"}]}],
        },
    ),
    ("StopTransaction", {"transactionId": 99, "meterStop": 7}),  # timestamp missing
    ("Authorize", {"idTag": "TOKEN-OK"}),  # not a fast action: the package's way in both runs
]

TX_201 = {"transactionId": "tx-1"}
CASES_201: list[tuple[str, Any]] = [
    (
        "MeterValues",
        {
            "evseId": 1,
            "meterValue": [
                {
                    "timestamp": TS,
                    "sampledValue": [
                        {
                            "value": 1234.5,
                            "measurand": "Energy.Active.Import.Register",
                            "unitOfMeasure": {"unit": "kWh"},
                        }
                    ],
                }
            ],
        },
    ),
    ("MeterValues", {"evseId": 1, "meterValue": []}),  # minItems 1
    ("Heartbeat", {}),
    ("StatusNotification", {"timestamp": TS, "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}),
    ("StatusNotification", {"timestamp": "soon", "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}),
    (
        "TransactionEvent",
        {
            "eventType": "Started",
            "timestamp": TS,
            "triggerReason": "Authorized",
            "seqNo": 0,
            "transactionInfo": TX_201,
            "evse": {"id": 1, "connectorId": 1},
            "idToken": {"idToken": "TOKEN-OK", "type": "ISO14443"},
        },
    ),
    (
        "TransactionEvent",
        {
            "eventType": "Updated",
            "timestamp": TS,
            "triggerReason": "MeterValuePeriodic",
            "seqNo": 1,
            "transactionInfo": TX_201,
            "meterValue": [{"timestamp": TS, "sampledValue": [{"value": 10.0}]}],
        },
    ),
    (
        "TransactionEvent",
        {
            "eventType": "Ended",
            "timestamp": TS,
            "triggerReason": "EVDeparted",
            "seqNo": 2,
            "transactionInfo": {**TX_201, "stoppedReason": "EVDisconnected"},
            "idToken": {"idToken": "x", "type": "NoAuthorization"},
        },
    ),
    (
        "TransactionEvent",
        {"eventType": "Paused", "timestamp": TS, "triggerReason": "Authorized", "seqNo": 3, "transactionInfo": TX_201},
    ),  # not an enum value
]


class FakeWebSocket:
    """The part of Starlette's WebSocket that :class:`WebSocketConnection` uses, in memory."""

    def __init__(self, frames: list[str]) -> None:
        self.frames = list(frames)
        self.sent: list[str] = []

    async def receive(self) -> dict[str, Any]:
        return {"type": "websocket.receive", "text": self.frames.pop(0)}

    async def send_text(self, text: str) -> None:
        self.sent.append(text)


class FailingBackend(InMemoryBackend):
    async def record(self, event: Any) -> None:
        raise RuntimeError("database is down")


async def exchange(
    version: OcppVersion, cases: list[tuple[str, Any]], *, fast: bool, backend: InMemoryBackend | None = None
) -> tuple[list[Any], list[Any]]:
    """Route each case's CALL as the package's ``start`` loop does; the frames sent and the events recorded."""
    frames = [json.dumps([2, f"m{n}", action, payload]) for n, (action, payload) in enumerate(cases)]
    websocket = FakeWebSocket(frames)
    connection = WebSocketConnection(
        websocket,
        version,
        max_frame_bytes=65536,
        limiter=TokenBucket(1000.0, 1000.0),
        log=StationLog("CP"),  # type: ignore[arg-type]
    )
    inner = backend or InMemoryBackend(id_tokens={"TOKEN-OK"})
    cls = V16ChargePoint if version is V16 else V201ChargePoint
    charge_point = cls(
        "CP", connection, backend=EventHub(inner), settings=Settings(), memory=StationMemory({}), clock=lambda: NOW
    )
    if not fast:
        charge_point.fast_actions = frozenset()
    for _ in frames:
        await charge_point.route_message(await connection.recv())
    return [json.loads(text) for text in websocket.sent], list(inner.events)


@pytest.mark.parametrize(("version", "cases"), [(V16, CASES_16), (V201, CASES_201)])
async def test_fast_route_answers_and_records_what_the_package_routing_does(version, cases):
    fast_sent, fast_events = await exchange(version, cases, fast=True)
    package_sent, package_events = await exchange(version, cases, fast=False)
    assert fast_sent == package_sent
    assert fast_events == package_events
    assert len(fast_sent) == len(cases)  # every CALL answered, once
    kinds = {answer[1]: answer[0] if answer[0] == 3 else answer[2] for answer in fast_sent}
    if version is V16:  # the cases cover answers and each kind of CALLERROR
        assert kinds["m0"] == 3 and kinds["m1"] == "TypeConstraintViolation"
        assert kinds["m2"] == "ProtocolError" and kinds["m3"] == "FormationViolation"  # m3: "now" is no date-time
        assert kinds["m4"] == 3 and kinds["m5"] == "FormationViolation" and kinds["m6"] == "TypeConstraintViolation"
        assert kinds["m16"] == "ProtocolError" and kinds["m17"] == 3


@pytest.mark.parametrize("version", [V16, V201])
async def test_fast_route_answers_a_failing_backend_as_the_package_does(version):
    cases = [("Heartbeat", {}), ("MeterValues", CASES_16[0][1] if version is V16 else CASES_201[0][1])]
    fast_sent, _ = await exchange(version, cases, fast=True, backend=FailingBackend())
    package_sent, _ = await exchange(version, cases, fast=False, backend=FailingBackend())
    assert fast_sent == package_sent
    assert [answer[:3] for answer in fast_sent] == [[4, "m0", "InternalError"], [4, "m1", "InternalError"]]


@pytest.mark.parametrize("cls", [V16ChargePoint, V201ChargePoint])
def test_fast_actions_have_handlers_the_fast_route_can_call(cls: type[StationChargePoint]):
    """An ``@on`` handler of a fast action takes no keyword it would need (it reads the wire payload) and the
    action has no ``@after`` hook (the fast route falls back to the package if one is added: checked here too)."""
    assert cls.fast_actions <= cls.known_actions
    for action in cls.fast_actions:
        handlers = [member for member in vars(cls).values() if getattr(member, "_on_action", None) == action]
        assert len(handlers) == 1, action
        parameters = list(inspect.signature(handlers[0]).parameters.values())[1:]
        assert [p.kind for p in parameters] == [inspect.Parameter.VAR_KEYWORD], action
        assert not any(getattr(member, "_after_action", None) == action for member in vars(cls).values()), action
