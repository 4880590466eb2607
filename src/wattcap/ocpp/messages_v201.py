"""OCPP 2.0.1 messages from a charging station, as version-neutral station events.

Pure functions over the wire payload (camelCase JSON as the station sent it). 2.0.1 carries meter values
inside TransactionEvent, numbers as JSON numbers with a ``unitOfMeasure`` (unit and power-of-ten
multiplier), and names the EVSE only in the first TransactionEvent that knows it — the caller passes the
EVSE it remembered for the transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wattcap.core.events import (
    ChargingLimitCleared,
    ChargingLimitNotified,
    ChargingProfilesReported,
    ConnectorStatusChanged,
    DeviceReportReceived,
    EVChargingNeedsNotified,
    EVChargingScheduleNotified,
    MeterSample,
    MeterValuesReceived,
    StationBooted,
    StationEvent,
    TransactionEnded,
    TransactionStarted,
)
from wattcap.core.model import OcppVersion
from wattcap.ocpp import messages_common as common
from wattcap.ocpp.messages_common import (
    Converted,
    Notes,
    Payload,
    energy_register_wh,
    evse_of,
    meter_values_message,
    profiles_from_json,
    read_time,
    schedules_from_json,
)

V201 = OcppVersion.V201

# Worded alike in both versions: one adapter serves both.
heartbeat = common.heartbeat
security_event = common.security_event


def boot_notification(station_id: str, payload: Payload, now: datetime) -> Converted:
    station = payload["chargingStation"]
    return Notes().result(
        StationBooted(
            station_id,
            now,
            vendor=station["vendorName"],
            model=station["model"],
            serial_number=station.get("serialNumber"),
            firmware_version=station.get("firmwareVersion"),
            reason=payload.get("reason"),
        )
    )


def status_notification(station_id: str, payload: Payload, now: datetime) -> Converted:
    notes = Notes()
    event = ConnectorStatusChanged(
        station_id,
        read_time(payload.get("timestamp"), "timestamp", now, notes),
        evse_id=payload["evseId"],
        connector_id=payload["connectorId"],
        status=payload["connectorStatus"],
    )
    return notes.result(event)


def _unit(raw: Payload, path: str, notes: Notes) -> tuple[str | None, int]:
    """A 2.0.1 sampled value's ``unitOfMeasure``: its unit and power-of-ten multiplier."""
    unit_of_measure = raw.get("unitOfMeasure") or {}
    return unit_of_measure.get("unit"), int(unit_of_measure.get("multiplier", 0))


def sampled_values(meter_values: Any, now: datetime, notes: Notes, field: str = "meterValue") -> list[MeterSample]:
    """The samples of a 2.0.1 ``meterValue`` list (MeterValues and TransactionEvent)."""
    return common.sampled_values(meter_values, now, notes, field, _unit)


def meter_values(station_id: str, payload: Payload, now: datetime) -> Converted:
    return meter_values_message(station_id, payload, now, _unit, payload["evseId"], None)


def transaction_event(station_id: str, payload: Payload, known_evse: int | None, now: datetime) -> Converted:
    """TransactionEvent Started / Updated / Ended, with the meter values it carries.

    ``known_evse`` is the EVSE remembered for this transaction from an earlier message; the message's own
    ``evse`` wins when present. Started yields TransactionStarted then MeterValuesReceived; Ended yields
    MeterValuesReceived then TransactionEnded, so the final readings precede the end.
    """
    notes = Notes()
    at = read_time(payload["timestamp"], "timestamp", now, notes)
    info = payload["transactionInfo"]
    transaction_id = info["transactionId"]
    evse_id, _ = evse_of(payload)
    if evse_id is None:
        evse_id = known_evse
    if evse_id is None:
        notes.add(f"transaction {transaction_id}: no EVSE named and none known; using 0")
        evse_id = 0
    sequence = payload.get("seqNo")
    samples = sampled_values(payload.get("meterValue"), now, notes)
    meter = (
        MeterValuesReceived(station_id, samples[0].timestamp, evse_id, transaction_id, tuple(samples), sequence)
        if samples
        else None
    )
    kind = payload["eventType"]
    events: list[StationEvent] = []
    if kind == "Started":
        id_token = (payload.get("idToken") or {}).get("idToken")
        events.append(
            TransactionStarted(
                station_id,
                at,
                evse_id=evse_id,
                transaction_id=transaction_id,
                id_token=id_token,
                meter_start_wh=energy_register_wh(samples, "Transaction.Begin"),
                remote_start_id=info.get("remoteStartId"),
                sequence=sequence,
            )
        )
        if meter:
            events.append(meter)
    elif kind == "Ended":
        if meter:
            events.append(meter)
        events.append(
            TransactionEnded(
                station_id,
                at,
                evse_id=evse_id,
                transaction_id=transaction_id,
                meter_stop_wh=energy_register_wh(samples, "Transaction.End"),
                reason=info.get("stoppedReason", "Local"),
                sequence=sequence,
            )
        )
    elif meter:
        events.append(meter)
    return notes.result(*events)


def notify_charging_limit(station_id: str, payload: Payload, now: datetime) -> Converted:
    notes = Notes()
    limit = payload["chargingLimit"]
    event = ChargingLimitNotified(
        station_id,
        now,
        source=limit["chargingLimitSource"],
        evse_id=payload.get("evseId"),
        is_grid_critical=limit.get("isGridCritical"),
        schedules=schedules_from_json(payload.get("chargingSchedule") or [], V201, "chargingSchedule", notes),
    )
    return notes.result(event)


def cleared_charging_limit(station_id: str, payload: Payload, now: datetime) -> Converted:
    return Notes().result(
        ChargingLimitCleared(station_id, now, source=payload["chargingLimitSource"], evse_id=payload.get("evseId"))
    )


def report_charging_profiles(station_id: str, payload: Payload, now: datetime) -> Converted:
    notes = Notes()
    event = ChargingProfilesReported(
        station_id,
        now,
        request_id=payload["requestId"],
        source=payload["chargingLimitSource"],
        evse_id=payload["evseId"],
        profiles=profiles_from_json(payload["chargingProfile"], V201, "chargingProfile", notes),
        more_to_come=bool(payload.get("tbc", False)),
    )
    return notes.result(event)


def notify_report(station_id: str, payload: Payload, now: datetime) -> Converted:
    notes = Notes()
    event = DeviceReportReceived(
        station_id,
        now,
        request_id=payload["requestId"],
        seq_no=payload["seqNo"],
        generated_at=read_time(payload["generatedAt"], "generatedAt", now, notes),
        more_to_come=bool(payload.get("tbc", False)),
        report_data=tuple(payload.get("reportData") or ()),
    )
    return notes.result(event)


def notify_ev_charging_needs(station_id: str, payload: Payload, now: datetime) -> Converted:
    notes = Notes()
    needs = payload["chargingNeeds"]
    ac = needs.get("acChargingParameters") or {}
    dc = needs.get("dcChargingParameters") or {}
    departure = needs.get("departureTime")
    energy = dc.get("energyAmount", ac.get("energyAmount"))
    current = dc.get("evMaxCurrent", ac.get("evMaxCurrent"))
    power = dc.get("evMaxPower")
    event = EVChargingNeedsNotified(
        station_id,
        now,
        evse_id=payload["evseId"],
        requested_energy_transfer=needs["requestedEnergyTransfer"],
        departure_time=None if departure is None else read_time(departure, "departureTime", now, notes),
        energy_amount_wh=None if energy is None else float(energy),
        ev_max_current_a=None if current is None else float(current),
        ev_max_power_w=None if power is None else float(power),
        max_schedule_tuples=payload.get("maxScheduleTuples"),
    )
    return notes.result(event)


def notify_ev_charging_schedule(station_id: str, payload: Payload, now: datetime) -> Converted:
    notes = Notes()
    schedules = schedules_from_json([payload["chargingSchedule"]], V201, "chargingSchedule", notes)
    event = EVChargingScheduleNotified(
        station_id,
        now,
        evse_id=payload["evseId"],
        time_base=read_time(payload["timeBase"], "timeBase", now, notes),
        schedule=schedules[0] if schedules else None,
    )
    return notes.result(event)
