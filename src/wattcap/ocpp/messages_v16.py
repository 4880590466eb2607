"""OCPP 1.6 messages from a charge point, as version-neutral station events.

Pure functions over the wire payload (camelCase JSON as the charger sent it). 1.6 peculiarities handled
here and nowhere else:

* a connector is its own EVSE: ``connectorId`` becomes ``evse_id`` and the connector within it is 1
  (connector 0, the charge point itself, stays evse 0 / connector 0);
* transaction ids are integers and become their decimal text;
* sampled values are strings, the unit defaults per measurand, ``SignedData`` values are not numbers;
* StopTransaction names no connector, so the caller passes the EVSE it learned at StartTransaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wattcap.core.events import (
    ConnectorStatusChanged,
    MeterSample,
    MeterValuesReceived,
    StationBooted,
    TransactionEnded,
    TransactionStarted,
)
from wattcap.ocpp import messages_common as common
from wattcap.ocpp.messages_common import Converted, Notes, Payload, meter_values_message, read_time

# Worded alike in both versions: one adapter serves both.
heartbeat = common.heartbeat
security_event = common.security_event


def _connector(connector_id: int) -> tuple[int, int]:
    """(evse id, connector id) of a 1.6 connectorId."""
    return connector_id, (1 if connector_id > 0 else 0)


def boot_notification(station_id: str, payload: Payload, now: datetime) -> Converted:
    serial = payload.get("chargePointSerialNumber") or payload.get("chargeBoxSerialNumber")
    return Notes().result(
        StationBooted(
            station_id,
            now,
            vendor=payload["chargePointVendor"],
            model=payload["chargePointModel"],
            serial_number=serial,
            firmware_version=payload.get("firmwareVersion"),
        )
    )


def status_notification(station_id: str, payload: Payload, now: datetime) -> Converted:
    notes = Notes()
    evse_id, connector_id = _connector(payload["connectorId"])
    error_code = payload.get("errorCode")
    event = ConnectorStatusChanged(
        station_id,
        read_time(payload.get("timestamp"), "timestamp", now, notes),
        evse_id=evse_id,
        connector_id=connector_id,
        status=payload["status"],
        error_code=None if error_code == "NoError" else error_code,
    )
    return notes.result(event)


def _unit(raw: Payload, path: str, notes: Notes) -> tuple[str | None, int] | None:
    """A 1.6 sampled value's unit (1.6 has no multiplier), or None for signed data, which is not a number."""
    if raw.get("format") == "SignedData":
        notes.add(f"{path}: signed meter data is not interpreted; sample skipped")
        return None
    return raw.get("unit"), 0


def sampled_values(meter_values: Any, now: datetime, notes: Notes, field: str = "meterValue") -> list[MeterSample]:
    """The samples of a 1.6 ``meterValue`` list (MeterValues and StopTransaction.transactionData)."""
    return common.sampled_values(meter_values, now, notes, field, _unit)


def meter_values(station_id: str, payload: Payload, now: datetime) -> Converted:
    transaction_id = payload.get("transactionId")
    transaction = None if transaction_id is None else str(transaction_id)
    return meter_values_message(station_id, payload, now, _unit, payload["connectorId"], transaction)


def start_transaction(station_id: str, payload: Payload, transaction_id: int, now: datetime) -> Converted:
    """StartTransaction with the transaction id the CSMS assigned to it."""
    notes = Notes()
    event = TransactionStarted(
        station_id,
        read_time(payload.get("timestamp"), "timestamp", now, notes),
        evse_id=payload["connectorId"],
        transaction_id=str(transaction_id),
        id_token=payload.get("idTag"),
        meter_start_wh=float(payload["meterStart"]),
    )
    return notes.result(event)


def stop_transaction(station_id: str, payload: Payload, evse_id: int | None, now: datetime) -> Converted:
    """StopTransaction; ``evse_id`` is the connector the transaction started on (None if unknown → 0)."""
    notes = Notes()
    transaction_id = str(payload["transactionId"])
    if evse_id is None:
        notes.add(f"transactionId {transaction_id} was not started on this connection; EVSE unknown, using 0")
        evse_id = 0
    at = read_time(payload.get("timestamp"), "timestamp", now, notes)
    events: list = []
    samples = sampled_values(payload.get("transactionData"), now, notes, "transactionData")
    if samples:
        events.append(MeterValuesReceived(station_id, samples[0].timestamp, evse_id, transaction_id, tuple(samples)))
    events.append(
        TransactionEnded(
            station_id,
            at,
            evse_id=evse_id,
            transaction_id=transaction_id,
            meter_stop_wh=float(payload["meterStop"]),
            # 1.6 §6.50: the reason "MAY only be omitted when the Reason is Local".
            reason=payload.get("reason", "Local"),
        )
    )
    return notes.result(*events)
