"""What crosses NATS between nodes, as JSON: station calls and their answers or errors, station events, live events.

A call travels as its wire form (action and camelCase payload, :mod:`wattcap.server.wire_calls`), is rebuilt on the
node holding the station as the ``ocpp`` package's request class, and its answer comes back as wire JSON that the
caller turns into the package's result class exactly as the package does with a station's own CALLRESULT. So a
caller cannot tell a remote call from a local one: same result type, same exceptions
(:class:`~wattcap.server.stations.StationCallError` and its subclasses travel by name).

Station events cross only for the site cap (transactions and meter values, :data:`SITE_EVENTS`): everything else a
station says is handled by the node it is connected to. No pickle: a node takes nothing from the bus but JSON
rebuilt into known types.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from importlib import import_module
from typing import Any

from ocpp.charge_point import camel_to_snake_case

from wattcap.core import events as ev
from wattcap.core.model import OcppVersion
from wattcap.server.live import LiveEvent
from wattcap.server.stations import (
    CallRejected,
    CallTimeout,
    CallWouldDeadlock,
    InvalidRequest,
    InvalidResponse,
    StationCallError,
    StationNotConnected,
)

_RESULTS = {OcppVersion.V16: "ocpp.v16.call_result", OcppVersion.V201: "ocpp.v201.call_result"}


def result_of(version: OcppVersion, action: str, wire: dict[str, Any]) -> Any:
    """The package's result dataclass of ``action`` from the answer's wire JSON (what ``ChargePoint.call`` does)."""
    cls = getattr(import_module(_RESULTS[version]), action)
    return cls(**camel_to_snake_case(wire))


def error_json(exc: StationCallError) -> dict[str, Any]:
    if isinstance(exc, CallRejected):
        return {"error": "rejected", "code": exc.error_code, "description": exc.description, "details": exc.details,
                "action": exc.action}
    if isinstance(exc, CallTimeout):
        return {"error": "timeout", "action": exc.action, "message": str(exc)}
    if isinstance(exc, StationNotConnected):
        return {"error": "not_connected", "message": str(exc)}
    kind = {InvalidRequest: "invalid_request", InvalidResponse: "invalid_response", CallWouldDeadlock: "deadlock"}
    return {"error": kind.get(type(exc), "call_error"), "message": str(exc)}


def error_from(station_id: str, data: dict[str, Any], timeout_s: float) -> StationCallError:
    kind = data.get("error")
    if kind == "rejected":
        return CallRejected(data["code"], data["description"], data.get("details"), action=data.get("action", ""))
    if kind == "timeout":
        return CallTimeout(station_id, data.get("action", ""), timeout_s)
    if kind == "not_connected":
        message = str(data.get("message", ""))
        return StationNotConnected(station_id, message.split(": ", 1)[-1] or "not connected")
    if kind == "invalid_request":
        return InvalidRequest(data.get("message", ""))
    if kind == "invalid_response":
        return InvalidResponse(data.get("message", ""))
    if kind == "deadlock":
        return CallWouldDeadlock(data.get("message", ""))
    return StationCallError(data.get("message", "remote call failed"))


# ---- station events (for the site cap) ------------------------------------------------------------------------

SITE_EVENTS: tuple[type[ev.StationEvent], ...] = (ev.TransactionStarted, ev.TransactionEnded, ev.MeterValuesReceived)
_EVENT_TYPES = {t.__name__: t for t in SITE_EVENTS}


def event_json(event: ev.StationEvent) -> dict[str, Any]:
    fields = asdict(event)
    fields["at"] = event.at.isoformat()
    if isinstance(event, ev.MeterValuesReceived):
        fields["samples"] = [
            {**asdict(s), "timestamp": s.timestamp.isoformat(), "measurand": str(s.measurand)} for s in event.samples
        ]
    return {"type": type(event).__name__, "fields": fields}


def event_from(data: dict[str, Any]) -> ev.StationEvent:
    cls = _EVENT_TYPES[data["type"]]  # KeyError: not an event that crosses
    fields = dict(data["fields"])
    fields["at"] = datetime.fromisoformat(fields["at"])
    if cls is ev.MeterValuesReceived:
        fields["samples"] = tuple(_sample(s) for s in fields["samples"])
    return cls(**fields)


def _sample(data: dict[str, Any]) -> ev.MeterSample:
    measurand: ev.Measurand | str = data["measurand"]
    if measurand in ev.Measurand.__members__.values():
        measurand = ev.Measurand(measurand)
    return ev.MeterSample(
        datetime.fromisoformat(data["timestamp"]), measurand, data["value"], data["unit"], data.get("phase"),
        data.get("context"),
    )


# ---- live events ----------------------------------------------------------------------------------------------


def live_json(event: LiveEvent) -> dict[str, Any]:
    return {"type": event.type, "data": dict(event.data), "station": event.station_id, "evse": event.evse_id,
            "site": event.site_id, "at": event.at.isoformat()}


def live_from(data: dict[str, Any]) -> LiveEvent:
    return LiveEvent(data["type"], data["data"], data.get("station"), data.get("evse"), data.get("site"),
                     datetime.fromisoformat(data["at"]))
