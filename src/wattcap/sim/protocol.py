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

from wattcap.core.model import ChargingProfile, OcppVersion
from wattcap.ocpp.profile_json import ProfileFormatError, profile_from_json
from wattcap.sim.clock import Clock
from wattcap.sim.events import StationEvent
from wattcap.sim.outbox import Envelope
from wattcap.sim.station import SimStation


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


def result_dict(result: Any) -> dict[str, Any]:
    """A call result dataclass as a plain dict of its (snake_case) fields."""
    return {k: getattr(result, k) for k in getattr(result, "__dataclass_fields__", {})}
