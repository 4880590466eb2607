"""OCPP 2.0.1 messages → version-neutral events, without a network."""

from __future__ import annotations

from wattcap.core.events import (
    ChargingLimitCleared,
    ChargingLimitNotified,
    ChargingProfilesReported,
    ConnectorStatusChanged,
    EVChargingNeedsNotified,
    Measurand,
    MeterValuesReceived,
    SecurityEventNotified,
    StationBooted,
    TransactionEnded,
    TransactionStarted,
)
from wattcap.core.model import ChargingProfilePurpose, ChargingRateUnit
from wattcap.core.timeutil import utc
from wattcap.ocpp import messages_v201 as m

NOW = utc(2026, 3, 1, 12, 0, 0)
T = "2026-03-01T11:00:00Z"


def test_boot_notification():
    station = {"model": "Wallbox", "vendorName": "ACME", "serialNumber": "SN", "firmwareVersion": "2"}
    payload = {"reason": "PowerUp", "chargingStation": station}
    assert m.boot_notification("CS1", payload, NOW).events == (
        StationBooted("CS1", NOW, "ACME", "Wallbox", "SN", "2", "PowerUp"),
    )


def test_status_notification():
    payload = {"timestamp": T, "connectorStatus": "Occupied", "evseId": 1, "connectorId": 2}
    assert m.status_notification("CS1", payload, NOW).events == (
        ConnectorStatusChanged("CS1", utc(2026, 3, 1, 11), 1, 2, "Occupied"),
    )


def sampled(value, measurand=None, unit=None, multiplier=None, **more):
    item = {"value": value, **more}
    if measurand:
        item["measurand"] = measurand
    if unit or multiplier is not None:
        item["unitOfMeasure"] = {k: v for k, v in (("unit", unit), ("multiplier", multiplier)) if v is not None}
    return item


def test_meter_values_units_and_multipliers():
    payload = {"evseId": 1, "meterValue": [{"timestamp": T, "sampledValue": [
        sampled(7.4, "Power.Active.Import", "kW"),
        sampled(74, "Power.Active.Import", "W", 2),
        sampled(12.345, "Energy.Active.Import.Register", "kWh"),
        sampled(16, "Current.Import", "A", phase="L3"),
        sampled(32, "Current.Offered"),
        sampled(80, "SoC", "Percent"),
        sampled(1.5, "Energy.Active.Import.Register", "Wh", 3),
    ]}]}
    (event,) = m.meter_values("CS1", payload, NOW).events
    assert isinstance(event, MeterValuesReceived) and event.transaction_id is None
    assert [(s.value, s.unit, s.phase) for s in event.samples] == [
        (7400.0, "W", None),
        (7400.0, "W", None),
        (12345.0, "Wh", None),
        (16.0, "A", "L3"),
        (32.0, "A", None),
        (80.0, "Percent", None),
        (1500.0, "Wh", None),
    ]


def tx(event_type, seq, *samples, evse=None, **info):
    payload = {"eventType": event_type, "timestamp": T, "triggerReason": "Authorized", "seqNo": seq,
               "transactionInfo": {"transactionId": "tx-1", **info}}
    if evse is not None:
        payload["evse"] = {"id": evse, "connectorId": 1}
    if samples:
        payload["meterValue"] = [{"timestamp": T, "sampledValue": list(samples)}]
    return payload


def test_transaction_started_with_begin_reading():
    payload = tx("Started", 0, sampled(1.5, "Energy.Active.Import.Register", "kWh", context="Transaction.Begin"),
                 evse=1, remoteStartId=9)
    payload["idToken"] = {"idToken": "TOKEN", "type": "ISO14443"}
    started, meter = m.transaction_event("CS1", payload, None, NOW).events
    assert started == TransactionStarted("CS1", utc(2026, 3, 1, 11), 1, "tx-1", "TOKEN", 1500.0, 9, 0)
    assert isinstance(meter, MeterValuesReceived) and meter.sequence == 0 and meter.transaction_id == "tx-1"


def test_transaction_updated_uses_the_remembered_evse():
    converted = m.transaction_event("CS1", tx("Updated", 1, sampled(11, "Power.Active.Import", "kW")), 3, NOW)
    (meter,) = converted.events
    assert (meter.evse_id, meter.samples[0].value, meter.sequence) == (3, 11000.0, 1)
    assert converted.warnings == ()


def test_transaction_ended_with_end_reading_and_reason():
    payload = tx("Ended", 2, sampled(20000, "Energy.Active.Import.Register", context="Transaction.End"),
                 stoppedReason="EVDisconnected")
    meter, ended = m.transaction_event("CS1", payload, 1, NOW).events
    assert isinstance(meter, MeterValuesReceived)
    assert ended == TransactionEnded("CS1", utc(2026, 3, 1, 11), 1, "tx-1", 20000.0, "EVDisconnected", 2)


def test_transaction_without_any_evse_is_noted():
    converted = m.transaction_event("CS1", tx("Updated", 1, sampled(1, "Power.Active.Import")), None, NOW)
    assert converted.events[0].evse_id == 0 and converted.warnings


def schedule_json(limit=16.0):
    return {"id": 1, "chargingRateUnit": "A", "startSchedule": T,
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}


def test_notify_charging_limit_reads_schedules():
    payload = {"chargingLimit": {"chargingLimitSource": "EMS", "isGridCritical": True}, "evseId": 1,
               "chargingSchedule": [schedule_json()]}
    (event,) = m.notify_charging_limit("CS1", payload, NOW).events
    assert isinstance(event, ChargingLimitNotified)
    assert (event.source, event.evse_id, event.is_grid_critical) == ("EMS", 1, True)
    (schedule,) = event.schedules
    assert schedule.charging_rate_unit is ChargingRateUnit.A and schedule.periods[0].limit == 16.0
    assert schedule.start_schedule == utc(2026, 3, 1, 11)


def test_cleared_charging_limit():
    assert m.cleared_charging_limit("CS1", {"chargingLimitSource": "SO"}, NOW).events == (
        ChargingLimitCleared("CS1", NOW, "SO", None),
    )


def test_report_charging_profiles_with_tbc():
    profile = {"id": 5, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
               "chargingProfileKind": "Absolute", "chargingSchedule": [schedule_json(10)]}
    payload = {"requestId": 3, "chargingLimitSource": "CSO", "evseId": 1, "tbc": True, "chargingProfile": [profile]}
    (event,) = m.report_charging_profiles("CS1", payload, NOW).events
    assert isinstance(event, ChargingProfilesReported)
    assert (event.request_id, event.source, event.evse_id, event.more_to_come) == (3, "CSO", 1, True)
    assert event.profiles[0].purpose is ChargingProfilePurpose.TX_DEFAULT and event.profiles[0].id == 5


def test_unreadable_profile_is_skipped_with_a_warning():
    bad = {"id": 5, "stackLevel": 1, "chargingProfilePurpose": "Nonsense", "chargingProfileKind": "Absolute",
           "chargingSchedule": [schedule_json()]}
    converted = m.report_charging_profiles(
        "CS1", {"requestId": 3, "chargingLimitSource": "CSO", "evseId": 1, "chargingProfile": [bad]}, NOW
    )
    assert converted.events[0].profiles == () and converted.warnings


def test_notify_report_keeps_the_report_data():
    data = [{"component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "Enabled"},
             "variableAttribute": [{"type": "Actual", "value": "true"}]}]
    payload = {"requestId": 8, "generatedAt": T, "seqNo": 0, "tbc": False, "reportData": data}
    (event,) = m.notify_report("CS1", payload, NOW).events
    assert isinstance(event, m.DeviceReportReceived)
    assert (event.request_id, event.seq_no, event.more_to_come) == (8, 0, False)
    assert event.generated_at == utc(2026, 3, 1, 11) and event.report_data == tuple(data)


def test_notify_ev_charging_needs_dc():
    payload = {"evseId": 1, "maxScheduleTuples": 3, "chargingNeeds": {
        "requestedEnergyTransfer": "DC", "departureTime": "2026-03-01T18:00:00Z",
        "dcChargingParameters": {"evMaxCurrent": 200, "evMaxVoltage": 800, "energyAmount": 40000,
                                 "evMaxPower": 150000}}}
    assert m.notify_ev_charging_needs("CS1", payload, NOW).events == (
        EVChargingNeedsNotified("CS1", NOW, 1, "DC", utc(2026, 3, 1, 18), 40000.0, 200.0, 150000.0, 3),
    )


def test_notify_ev_charging_needs_ac():
    payload = {"evseId": 1, "chargingNeeds": {"requestedEnergyTransfer": "AC_three_phase", "acChargingParameters": {
        "energyAmount": 20000, "evMinCurrent": 6, "evMaxCurrent": 32, "evMaxVoltage": 400}}}
    (event,) = m.notify_ev_charging_needs("CS1", payload, NOW).events
    assert (event.energy_amount_wh, event.ev_max_current_a, event.ev_max_power_w) == (20000.0, 32.0, None)


def test_notify_ev_charging_schedule():
    payload = {"timeBase": T, "evseId": 1, "chargingSchedule": schedule_json(32)}
    (event,) = m.notify_ev_charging_schedule("CS1", payload, NOW).events
    assert isinstance(event, m.EVChargingScheduleNotified)
    assert event.time_base == utc(2026, 3, 1, 11) and event.schedule.periods[0].limit == 32.0


def test_security_event_with_naive_timestamp():
    converted = m.security_event("CS1", {"type": "TamperDetectionActivated", "timestamp": "2026-03-01T11:00:00"}, NOW)
    assert converted.events == (SecurityEventNotified("CS1", utc(2026, 3, 1, 11), "TamperDetectionActivated"),)
    assert "no time zone" in converted.warnings[0]


def test_energy_register_helper_ignores_phases():
    payload = tx("Ended", 2,
                 sampled(100, "Energy.Active.Import.Register", context="Transaction.End", phase="L1"),
                 sampled(300, "Energy.Active.Import.Register", context="Transaction.End"))
    ended = m.transaction_event("CS1", payload, 1, NOW).events[-1]
    assert ended.meter_stop_wh == 300.0
    assert Measurand.ENERGY_ACTIVE_IMPORT_REGISTER == "Energy.Active.Import.Register"
