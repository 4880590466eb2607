"""What a simulated station wants to tell the control plane, in version-neutral terms.

The station core emits the same events the control plane's adapters produce when they parse real chargers
(:mod:`wattcap.core.events`), plus the two a station needs that the control plane never stores as such: a
request to authorize a token, and a change of charging state inside a transaction. The protocol adapters
(:mod:`wattcap.sim.protocol_v16`, :mod:`wattcap.sim.protocol_v201`) turn them into OCPP messages.

Transaction ids in these events are the station's own *keys*: in 2.0.1 the key is the transactionId; in 1.6 the
control plane assigns the id in StartTransaction.conf and the 1.6 adapter maps keys to ids, which is how a queue
of offline messages can be replayed before any id is known.
"""

from __future__ import annotations

from dataclasses import dataclass

from wattcap.core.events import (
    ConnectorStatusChanged,
    EVChargingNeedsNotified,
    EVChargingScheduleNotified,
    MeterSample,
    MeterValuesReceived,
    StationEvent,
    TransactionEnded,
    TransactionStarted,
)

__all__ = [
    "AuthorizeRequested",
    "ChargingStateChanged",
    "ConnectorStatusChanged",
    "EVChargingNeedsNotified",
    "EVChargingScheduleNotified",
    "MeterSample",
    "MeterValuesReceived",
    "StationEvent",
    "TransactionEnded",
    "TransactionStarted",
    "is_transaction_message",
]


@dataclass(frozen=True, slots=True)
class AuthorizeRequested(StationEvent):
    """A token was presented on an EVSE with an EV plugged in; the answer decides whether charging starts."""

    evse_id: int
    id_token: str


@dataclass(frozen=True, slots=True)
class ChargingStateChanged(StationEvent):
    """The charging state inside a transaction changed (2.0.1 ``ChargingStateEnumType`` names)."""

    evse_id: int
    transaction_id: str
    state: str  # Charging, EVConnected, SuspendedEV, SuspendedEVSE, Idle


_TRANSACTION_MESSAGES = (TransactionStarted, TransactionEnded, MeterValuesReceived, ChargingStateChanged)


def is_transaction_message(event: StationEvent) -> bool:
    """Whether ``event`` belongs to a transaction's record: queued while offline and replayed in order."""
    return isinstance(event, _TRANSACTION_MESSAGES)
