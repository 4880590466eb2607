"""What the OCPP 1.6 and 2.0.1 station adapters share, and the seam between them and the runner.

An adapter is the thin, version-specific edge of a simulated station. It

* answers the control plane's calls by asking the pure :class:`~wattcap.sim.station.SimStation` (an ``ocpp``
  ``ChargePoint`` subclass per connection, built by :meth:`ProtocolAdapter.charge_point`);
* turns the station's version-neutral events into OCPP calls (:meth:`ProtocolAdapter.encode`) and feeds the
  answers back (:meth:`ProtocolAdapter.on_result`).

It never sends by itself: events go to the runner's outbox, and the runner's sender task makes the calls. So a
handler never awaits a call (which would deadlock the ``ocpp`` receive loop), and what happens after a response
(a transaction starting after RemoteStart, ReportChargingProfiles after GetChargingProfiles, NotifyReport after
GetBaseReport) is emitted from an ``@after`` hook, behind the response.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any, ClassVar, Protocol

from ocpp.charge_point import ChargePoint, camel_to_snake_case, snake_to_camel_case
from ocpp.exceptions import (
    FormatViolationError,
    NotSupportedError,
    OccurrenceConstraintViolationError,
    PropertyConstraintViolationError,
    TypeConstraintViolationError,
)

from wattcap.core.model import ChargingProfile, ChargingRateUnit, OcppVersion
from wattcap.core.timeutil import format_timestamp
from wattcap.ocpp.profile_json import ProfileFormatError, profile_from_json
from wattcap.ocpp.profile_requests import clear_request_from_json
from wattcap.sim.acceptance import Verdict
from wattcap.sim.clock import Clock
from wattcap.sim.events import AuthorizeRequested, MeterSample, StationEvent
from wattcap.sim.outbox import Envelope
from wattcap.sim.station import CompositeAnswerResult, SimStation


@dataclass(slots=True)
class StationSettings:
    """Configuration a control plane may change at run time (1.6 ChangeConfiguration, 2.0.1 SetVariables)."""

    meter_interval_s: float = 10.0
    heartbeat_interval_s: float = 300.0


@dataclass(frozen=True, slots=True)
class RawCall(StationEvent):
    """A message an adapter sends that is no station event: ReportChargingProfiles after GetChargingProfiles,
    NotifyReport after GetBaseReport, a BootNotification or Heartbeat asked for by TriggerMessage. ``payload`` is
    the camelCase wire payload."""

    action: str
    payload: Mapping[str, Any]


class StationHost(Protocol):
    """What an adapter needs from the shell that runs its station."""

    station: SimStation
    clock: Clock
    settings: StationSettings

    def emit(self, events: Iterable[StationEvent]) -> None:
        """Queue events to be sent, in order."""
        ...

    def emit_after_answer(self, events: Iterable[StationEvent]) -> None:
        """Queue what the station owes for an answer it just gave the control plane (a NotifyReport after an
        Accepted GetBaseReport, ...). The call came over a live link: this is queued even before the station is
        online, as when the control plane asks right after accepting the boot (sent once the boot is handled)."""
        ...

    def schedule_reboot(self) -> None:
        """Reboot the station once the current call is answered."""
        ...


class ProtocolAdapter(ABC):
    """One station's OCPP edge. Lives as long as the station; a new ``ChargePoint`` is made per connection."""

    version: ClassVar[OcppVersion]
    subprotocol: ClassVar[str]
    calls: ClassVar[ModuleType]  # ocpp.v16.call or ocpp.v201.call

    def __init__(self, host: StationHost) -> None:
        self.host = host

    @property
    def station(self) -> SimStation:
        return self.host.station

    @abstractmethod
    def charge_point(self, connection: Any, response_timeout: float = 30.0) -> ChargePoint:
        """The ``ocpp`` charge point serving the control plane's calls on ``connection``."""

    @abstractmethod
    def boot_payload(self) -> dict[str, Any]:
        """The BootNotification payload (camelCase wire form)."""

    def boot_request(self) -> Any:
        return make_call(self.calls, "BootNotification", self.boot_payload())

    def heartbeat_request(self) -> Any:
        return make_call(self.calls, "Heartbeat", {})

    def encode(self, envelope: Envelope) -> Any | None:
        """The call that carries ``envelope``'s event, or None when this version has nothing to send for it."""
        event = envelope.event
        if isinstance(event, RawCall):
            return make_call(self.calls, event.action, dict(event.payload))
        payload = self.payload(envelope)
        return None if payload is None else make_call(self.calls, payload[0], payload[1])

    @abstractmethod
    def payload(self, envelope: Envelope) -> tuple[str, dict[str, Any]] | None:
        """The action and camelCase payload that carry ``envelope``'s event; None: nothing to send in this version."""

    def on_result(self, envelope: Envelope, result: Any) -> None:  # noqa: B027 - optional hook
        """The control plane answered the call for ``envelope`` (default: nothing to learn from it)."""

    def authorized(self, event: AuthorizeRequested, id_info: Mapping[str, Any] | None) -> None:
        """The Authorize answer for ``event`` (1.6 ``idTagInfo``, 2.0.1 ``idTokenInfo``) goes back to the station."""
        accepted = (id_info or {}).get("status") == "Accepted"
        now = self.host.clock.now()
        self.host.emit(self.station.authorization_result(event.evse_id, event.id_token, accepted, now))


class StationChargePoint(ChargePoint):
    """What the 1.6 and 2.0.1 charge points share: the station behind them, and the work of the handlers that is
    the same in both versions. Mixed in before ``ocpp.v16.ChargePoint`` / ``ocpp.v201.ChargePoint``; the
    ``@on``/``@after`` routing stays in the version classes, which turn these results into their own answers.

    Events a handler produces that must follow its answer are kept in ``_later`` and emitted by :meth:`_flush`
    from an ``@after`` hook."""

    def __init__(self, station_id: str, connection: Any, adapter: ProtocolAdapter, response_timeout: float) -> None:
        super().__init__(station_id, connection, response_timeout=response_timeout)
        self._adapter = adapter
        self._host = adapter.host
        self._later: list[StationEvent] = []

    @property
    def _station(self) -> SimStation:
        return self._host.station

    @property
    def _version(self) -> OcppVersion:
        return self._adapter.version

    def _now(self) -> datetime:
        return self._host.clock.now()

    def _flush(self) -> None:
        events, self._later = self._later, []
        self._host.emit_after_answer(events)

    def _set_profile(self, evse_id: int, data: Any) -> Verdict:
        """SetChargingProfile: install (or refuse) the profile; a verdict with a call error answers with it."""
        profile = read_profile(data, self._version)
        verdict, events = self._station.set_charging_profile(evse_id, profile, self._now())
        self._host.emit(events)
        if verdict.call_error:
            raise_call_error(verdict.call_error, verdict.detail or "")
        return verdict

    def _clear_profiles(self, kwargs: dict[str, Any]) -> str:
        """ClearChargingProfile: the answer's status."""
        request = clear_request_from_json(wire(kwargs), self._version)
        status, events = self._station.clear_charging_profile(request, self._now())
        self._host.emit(events)
        return status.value

    def _composite(self, evse_id: int, duration: int, charging_rate_unit: str | None) -> CompositeAnswerResult:
        """GetCompositeSchedule as the station answers it."""
        unit = ChargingRateUnit(charging_rate_unit) if charging_rate_unit else None
        return self._station.composite_answer(evse_id, duration, unit, self._now())

    def _remote_start(self, evse_id: int | None, id_token: str, profile_data: Any, **options: Any) -> str:
        """RemoteStartTransaction / RequestStartTransaction: the answer's status; the transaction follows it."""
        profile = read_profile(profile_data, self._version) if profile_data else None
        accepted, events = self._station.remote_start(evse_id, id_token, self._now(), profile=profile, **options)
        self._later.extend(events)
        return "Accepted" if accepted else "Rejected"

    def _remote_stop(self, transaction_id: str) -> str:
        """RemoteStopTransaction / RequestStopTransaction: the answer's status; the transaction's end follows it."""
        accepted, events = self._station.remote_stop(transaction_id, self._now())
        self._later.extend(events)
        return "Accepted" if accepted else "Rejected"

    def _trigger(self, requested_message: str, evse_id: int | None) -> str:
        """TriggerMessage: the answer's status; the messages asked for follow it."""
        now = self._now()
        if requested_message == "StatusNotification":
            events = self._station.statuses(now)
            self._later = [e for e in events if evse_id in (None, getattr(e, "evse_id", None))]
        elif requested_message in ("Heartbeat", "BootNotification"):
            payload = {} if requested_message == "Heartbeat" else self._adapter.boot_payload()
            self._later = [RawCall(self._station.station_id, now, requested_message, payload)]
        else:
            events = self._triggered(requested_message, now)
            if events is None:
                return "NotImplemented"
            self._later = events
        return "Accepted"

    def _triggered(self, requested_message: str, now: datetime) -> list[StationEvent] | None:
        """The events for a TriggerMessage only this version answers (None: NotImplemented)."""
        return None


def make_call(calls: ModuleType, action: str, payload: dict[str, Any]) -> Any:
    """The ``ocpp`` call dataclass ``calls.<action>`` for a camelCase wire ``payload``."""
    return getattr(calls, action)(**camel_to_snake_case(payload))


def wire(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A handler's snake_case keyword arguments back in their camelCase wire form."""
    return snake_to_camel_case(kwargs)


def read_profile(data: Any, version: OcppVersion) -> ChargingProfile:
    """A profile from a handler argument; a profile the model cannot hold is a FormatViolation CALLERROR."""
    try:
        return profile_from_json(wire(data), version)
    except ProfileFormatError as exc:
        raise FormatViolationError(description=f"chargingProfile: {exc}") from None


_CALL_ERRORS = {
    "NotSupported": NotSupportedError,
    "PropertyConstraintViolation": PropertyConstraintViolationError,
    "OccurrenceConstraintViolation": OccurrenceConstraintViolationError,
    "TypeConstraintViolation": TypeConstraintViolationError,
}


def raise_call_error(name: str, description: str) -> None:
    """Answer the current call with the CALLERROR ``name`` (an OCPP-J error code)."""
    raise _CALL_ERRORS.get(name, PropertyConstraintViolationError)(description=description)


def set_interval(settings: StationSettings, field: str, value: Any) -> bool:
    """Set an interval setting (seconds) from a configuration value; False when it is no positive number."""
    try:
        seconds = float(value)
    except ValueError:
        return False
    if seconds <= 0:
        return False
    setattr(settings, field, seconds)
    return True


def sampled_value(sample: MeterSample, value: Any, unit: Mapping[str, Any]) -> dict[str, Any]:
    """A sampledValue: ``value`` and ``unit`` in the version's wire form, measurand, context and phase."""
    wire_value: dict[str, Any] = {"value": value, "measurand": str(sample.measurand), **unit}
    if sample.context:
        wire_value["context"] = sample.context
    if sample.phase:
        wire_value["phase"] = sample.phase
    return wire_value


def meter_value(at: datetime, sampled_values: list[dict[str, Any]]) -> dict[str, Any]:
    """A meterValue taken at ``at``."""
    return {"timestamp": format_timestamp(at), "sampledValue": sampled_values}


def result_dict(result: Any) -> dict[str, Any]:
    """A call result dataclass as a plain dict of its (snake_case) fields."""
    return {k: getattr(result, k) for k in getattr(result, "__dataclass_fields__", {})}
