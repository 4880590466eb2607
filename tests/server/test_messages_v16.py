"""OCPP 1.6 messages → version-neutral events, without a network."""

from __future__ import annotations

from decimal import Decimal

from wattcap.core.events import (
    ConnectorStatusChanged,
    HeartbeatReceived,
    Measurand,
    MeterValuesReceived,
    SecurityEventNotified,
    StationBooted,
    TransactionEnded,
    TransactionStarted,
)
from wattcap.core.timeutil import utc
from wattcap.ocpp import messages_v16 as m
from wattcap.ocpp.messages_common import without_decimals

NOW = utc(2026, 3, 1, 12, 0, 0)


def test_boot_notification():
    converted = m.boot_notification(
        "CP1",
        {"chargePointVendor": "ACME", "chargePointModel": "Wallbox", "chargeBoxSerialNumber": "SN1",
         "firmwareVersion": "1.2.3"},
        NOW,
    )
    assert converted.events == (StationBooted("CP1", NOW, "ACME", "Wallbox", "SN1", "1.2.3"),)
    assert converted.warnings == ()


def test_heartbeat():
    assert m.heartbeat("CP1", NOW).events == (HeartbeatReceived("CP1", NOW),)


def test_status_notification_connector_is_its_own_evse():
    converted = m.status_notification(
        "CP1", {"connectorId": 2, "errorCode": "NoError", "status": "Charging", "timestamp": "2026-03-01T11:59:00Z"},
        NOW,
    )
    assert converted.events == (ConnectorStatusChanged("CP1", utc(2026, 3, 1, 11, 59), 2, 1, "Charging", None),)
    faulted = {"connectorId": 0, "errorCode": "PowerMeterFailure", "status": "Faulted"}
    station = m.status_notification("CP1", faulted, NOW)
    assert station.events == (ConnectorStatusChanged("CP1", NOW, 0, 0, "Faulted", "PowerMeterFailure"),)


def test_timestamp_without_zone_is_read_as_utc_with_a_warning():
    converted = m.status_notification(
        "CP1", {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": "2026-03-01T10:00:00"},
        NOW,
    )
    assert converted.events[0].at == utc(2026, 3, 1, 10)
    assert converted.warnings == ("timestamp: '2026-03-01T10:00:00' has no time zone; read as UTC",)


def test_timestamp_that_is_no_time_uses_the_receive_time_with_a_warning():
    converted = m.status_notification(
        "CP1", {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": "now"}, NOW
    )
    assert converted.events[0].at == NOW
    assert "not a date-time" in converted.warnings[0]


def test_offset_timestamps_are_converted_to_utc():
    converted = m.status_notification(
        "CP1",
        {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": "2026-03-01T13:00:00+02:00"},
        NOW,
    )
    assert converted.events[0].at == utc(2026, 3, 1, 11) and converted.warnings == ()


def meter_payload(*sampled: dict, transaction_id: int | None = 7) -> dict:
    payload = {"connectorId": 1, "meterValue": [{"timestamp": "2026-03-01T11:00:00Z", "sampledValue": list(sampled)}]}
    if transaction_id is not None:
        payload["transactionId"] = transaction_id
    return payload


def test_meter_values_are_normalised_to_si_units():
    converted = m.meter_values(
        "CP1",
        meter_payload(
            {"value": "7.4", "measurand": "Power.Active.Import", "unit": "kW"},
            {"value": "16.0", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
            {"value": "15.5", "measurand": "Current.Import", "phase": "L2"},
            {"value": "12.345", "measurand": "Energy.Active.Import.Register", "unit": "kWh",
             "context": "Sample.Periodic"},
            {"value": "32", "measurand": "Current.Offered", "unit": "A"},
            {"value": "11", "measurand": "Power.Offered", "unit": "kW"},
            {"value": "55", "measurand": "SoC", "unit": "Percent", "location": "EV"},
            {"value": "230.1", "measurand": "Voltage", "phase": "L1-N", "unit": "V"},
        ),
        NOW,
    )
    (event,) = converted.events
    assert isinstance(event, MeterValuesReceived)
    assert (event.evse_id, event.transaction_id, event.at) == (1, "7", utc(2026, 3, 1, 11))
    got = [(s.measurand, s.value, s.unit, s.phase) for s in event.samples]
    assert got == [
        (Measurand.POWER_ACTIVE_IMPORT, 7400.0, "W", None),
        (Measurand.CURRENT_IMPORT, 16.0, "A", "L1"),
        (Measurand.CURRENT_IMPORT, 15.5, "A", "L2"),
        (Measurand.ENERGY_ACTIVE_IMPORT_REGISTER, 12345.0, "Wh", None),
        (Measurand.CURRENT_OFFERED, 32.0, "A", None),
        (Measurand.POWER_OFFERED, 11000.0, "W", None),
        (Measurand.SOC, 55.0, "Percent", None),
        (Measurand.VOLTAGE, 230.1, "V", "L1-N"),
    ]
    assert all(type(s.value) is float for s in event.samples)
    assert event.samples[3].context == "Sample.Periodic"


def test_sample_without_measurand_is_the_energy_register_in_wh():
    (event,) = m.meter_values("CP1", meter_payload({"value": "1000"}), NOW).events
    assert (event.samples[0].measurand, event.samples[0].unit) == (Measurand.ENERGY_ACTIVE_IMPORT_REGISTER, "Wh")


def test_unreadable_and_signed_samples_are_skipped_with_warnings():
    converted = m.meter_values(
        "CP1",
        meter_payload(
            {"value": "abc", "measurand": "Power.Active.Import"},
            {"value": "AQIDBA==", "format": "SignedData"},
            {"value": "NaN", "measurand": "Power.Active.Import"},
            {"value": "5", "measurand": "Temperature", "unit": "Celcius"},
            transaction_id=None,
        ),
        NOW,
    )
    (event,) = converted.events
    assert event.transaction_id is None
    assert [(s.measurand, s.unit) for s in event.samples] == [("Temperature", "Celsius")]
    assert len(converted.warnings) == 3


def test_start_transaction_carries_the_assigned_id():
    payload = {"connectorId": 2, "idTag": "TOKEN", "meterStart": 1500, "timestamp": "2026-03-01T11:00:00Z"}
    converted = m.start_transaction("CP1", payload, 42, NOW)
    assert converted.events == (TransactionStarted("CP1", utc(2026, 3, 1, 11), 2, "42", "TOKEN", 1500.0),)


def test_stop_transaction_with_transaction_data():
    payload = {
        "transactionId": 42,
        "meterStop": 15000,
        "timestamp": "2026-03-01T13:00:00Z",
        "reason": "EVDisconnected",
        "transactionData": [
            {"timestamp": "2026-03-01T13:00:00Z",
             "sampledValue": [{"value": "15.0", "unit": "kWh", "context": "Transaction.End"}]}
        ],
    }
    meter, ended = m.stop_transaction("CP1", payload, 2, NOW).events
    assert isinstance(meter, MeterValuesReceived) and meter.samples[0].value == 15000.0
    assert (meter.evse_id, meter.transaction_id) == (2, "42")
    assert ended == TransactionEnded("CP1", utc(2026, 3, 1, 13), 2, "42", 15000.0, "EVDisconnected")


def test_stop_transaction_reason_omitted_means_local():
    converted = m.stop_transaction("CP1", {"transactionId": 1, "meterStop": 10, "timestamp": "2026-03-01T13:00:00Z"},
                                   None, NOW)
    (ended,) = converted.events
    assert ended.reason == "Local" and ended.evse_id == 0
    assert "EVSE unknown" in converted.warnings[0]


def test_security_event():
    converted = m.security_event("CP1", {"type": "FirmwareUpdated", "timestamp": "2026-03-01T11:00:00Z",
                                         "techInfo": "v2"}, NOW)
    assert converted.events == (SecurityEventNotified("CP1", utc(2026, 3, 1, 11), "FirmwareUpdated", "v2"),)


def test_decimals_become_floats_everywhere():
    from ocpp.v16 import call_result

    result = call_result.GetCompositeSchedule(
        status="Accepted",
        charging_schedule={"charging_schedule_period": [{"start_period": 0, "limit": Decimal("21.4")}]},
    )
    clean = without_decimals(result)
    limit = clean.charging_schedule["charging_schedule_period"][0]["limit"]
    assert type(limit) is float and limit == 21.4
    assert without_decimals((Decimal("1.5"), [Decimal("2")])) == (1.5, [2.0])
