"""An OCPP 2.0.1 charging station (the ``ocpp`` package over ``websockets``) against the real server."""

from __future__ import annotations

import re

import pytest
from ocpp.v201 import call

from wattcap.core.events import (
    ChargingLimitCleared,
    ChargingLimitNotified,
    ChargingProfilesReported,
    ConnectorStatusChanged,
    DeviceReportReceived,
    EVChargingNeedsNotified,
    EVChargingScheduleNotified,
    HeartbeatReceived,
    Measurand,
    MeterValuesReceived,
    SecurityEventNotified,
    StationBooted,
    TransactionEnded,
    TransactionStarted,
)
from wattcap.core.model import OcppVersion
from wattcap.core.timeutil import utc
from wattcap.server.stations import CallRejected

from .conftest import charger

V201 = OcppVersion.V201
UTC_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
T = "2026-03-01T10:00:00Z"


def sampled(value, measurand, unit=None, **more):
    item = {"value": value, "measurand": measurand, **more}
    if unit:
        item["unit_of_measure"] = {"unit": unit}
    return item


async def test_boot_heartbeat_status_and_authorize(server):
    async with charger(server, "CP201", V201) as cs:
        boot = await cs.call(
            call.BootNotification(charging_station={"model": "Wallbox", "vendor_name": "ACME"}, reason="PowerUp"),
            suppress=False,
        )
        assert (boot.status, boot.interval) == ("Accepted", 60) and UTC_Z.match(boot.current_time)
        assert UTC_Z.match((await cs.call(call.Heartbeat(), suppress=False)).current_time)
        await cs.call(call.StatusNotification(timestamp=T, connector_status="Occupied", evse_id=1, connector_id=1),
                      suppress=False)
        accepted = await cs.call(call.Authorize(id_token={"id_token": "TOKEN-OK", "type": "ISO14443"}), suppress=False)
        invalid = await cs.call(call.Authorize(id_token={"id_token": "NOPE", "type": "ISO14443"}), suppress=False)
    assert (accepted.id_token_info["status"], invalid.id_token_info["status"]) == ("Accepted", "Invalid")
    backend = server.backend
    assert backend.events_of(StationBooted) == [StationBooted("CP201", backend.events[0].at, "ACME", "Wallbox",
                                                              reason="PowerUp")]
    assert len(backend.events_of(HeartbeatReceived)) == 1
    assert backend.events_of(ConnectorStatusChanged) == [ConnectorStatusChanged("CP201", utc(2026, 3, 1, 10), 1, 1,
                                                                                "Occupied")]


async def test_transaction_events_with_meter_values(server):
    def event(kind, seq, *samples, **extra):
        return call.TransactionEvent(
            event_type=kind, timestamp=T, trigger_reason="MeterValuePeriodic", seq_no=seq,
            transaction_info={"transaction_id": "tx-9", **extra.pop("info", {})},
            meter_value=[{"timestamp": T, "sampled_value": list(samples)}] if samples else None, **extra,
        )

    async with charger(server, "CP201", V201) as cs:
        started = await cs.call(
            event("Started", 0, sampled(1.2, "Energy.Active.Import.Register", "kWh", context="Transaction.Begin"),
                  evse={"id": 1, "connector_id": 1}, id_token={"id_token": "TOKEN-OK", "type": "ISO14443"}),
            suppress=False,
        )
        assert started.id_token_info["status"] == "Accepted"
        await cs.call(
            event("Updated", 1, sampled(11, "Power.Active.Import", "kW"),
                  sampled(16, "Current.Import", "A", phase="L1"), sampled(32, "Current.Offered", "A"),
                  sampled(22000, "Power.Offered", "W"), sampled(40, "SoC", "Percent")),
            suppress=False,
        )
        ended = await cs.call(
            event("Ended", 2, sampled(9800, "Energy.Active.Import.Register", "Wh", context="Transaction.End"),
                  info={"stopped_reason": "EVDisconnected"}),
            suppress=False,
        )
        assert ended.id_token_info is None
        await cs.call(call.MeterValues(evse_id=1, meter_value=[{"timestamp": T, "sampled_value": [
            sampled(3.5, "Power.Active.Import", "kW")]}]), suppress=False)
    backend = server.backend
    assert backend.events_of(TransactionStarted) == [
        TransactionStarted("CP201", utc(2026, 3, 1, 10), 1, "tx-9", "TOKEN-OK", 1200.0, None, 0)
    ]
    assert backend.events_of(TransactionEnded) == [
        TransactionEnded("CP201", utc(2026, 3, 1, 10), 1, "tx-9", 9800.0, "EVDisconnected", 2)
    ]
    meters = backend.events_of(MeterValuesReceived)
    assert [(m.evse_id, m.transaction_id, m.sequence) for m in meters] == [
        (1, "tx-9", 0), (1, "tx-9", 1), (1, "tx-9", 2), (1, None, None)
    ]
    updated = {(s.measurand, s.phase): (s.value, s.unit) for s in meters[1].samples}
    assert updated == {
        (Measurand.POWER_ACTIVE_IMPORT, None): (11000.0, "W"),
        (Measurand.CURRENT_IMPORT, "L1"): (16.0, "A"),
        (Measurand.CURRENT_OFFERED, None): (32.0, "A"),
        (Measurand.POWER_OFFERED, None): (22000.0, "W"),
        (Measurand.SOC, None): (40.0, "Percent"),
    }
    assert meters[3].samples[0].value == 3500.0


async def test_no_authorization_token_needs_no_backend_approval(server):
    async with charger(server, "CP201", V201) as cs:
        answer = await cs.call(call.TransactionEvent(
            event_type="Started", timestamp=T, trigger_reason="CablePluggedIn", seq_no=0,
            transaction_info={"transaction_id": "free-1"}, evse={"id": 1},
            id_token={"id_token": "", "type": "NoAuthorization"}), suppress=False)
    assert answer.id_token_info["status"] == "Accepted"


SCHEDULE = {"id": 1, "charging_rate_unit": "W", "charging_schedule_period": [{"start_period": 0, "limit": 11000}]}


async def test_smart_charging_notifications(server):
    async with charger(server, "CP201", V201) as cs:
        await cs.call(call.NotifyChargingLimit(charging_limit={"charging_limit_source": "EMS"}, evse_id=1,
                                               charging_schedule=[SCHEDULE]), suppress=False)
        await cs.call(call.ClearedChargingLimit(charging_limit_source="EMS", evse_id=1), suppress=False)
        profile = {"id": 7, "stack_level": 0, "charging_profile_purpose": "TxDefaultProfile",
                   "charging_profile_kind": "Relative", "charging_schedule": [SCHEDULE]}
        for tbc in (True, False):
            await cs.call(call.ReportChargingProfiles(request_id=4, charging_limit_source="CSO", evse_id=1,
                                                      charging_profile=[profile], tbc=tbc), suppress=False)
        needs = await cs.call(call.NotifyEVChargingNeeds(evse_id=1, charging_needs={
            "requested_energy_transfer": "AC_three_phase",
            "ac_charging_parameters": {"energy_amount": 20000, "ev_min_current": 6, "ev_max_current": 32,
                                       "ev_max_voltage": 400}}), suppress=False)
        assert needs.status == "Accepted"
        schedule = await cs.call(call.NotifyEVChargingSchedule(time_base=T, evse_id=1, charging_schedule=SCHEDULE),
                                 suppress=False)
        assert schedule.status == "Accepted"
    backend = server.backend
    (limit,) = backend.events_of(ChargingLimitNotified)
    assert limit.source == "EMS" and limit.schedules[0].periods[0].limit == 11000.0
    (cleared,) = backend.events_of(ChargingLimitCleared)
    assert (cleared.source, cleared.evse_id) == ("EMS", 1)
    reports = backend.events_of(ChargingProfilesReported)
    assert [(r.request_id, r.more_to_come, r.profiles[0].id) for r in reports] == [(4, True, 7), (4, False, 7)]
    assert backend.events_of(EVChargingNeedsNotified)[0].ev_max_current_a == 32.0
    assert backend.events_of(EVChargingScheduleNotified)[0].time_base == utc(2026, 3, 1, 10)


async def test_notify_report_and_security_event_are_recorded(server):
    data = [{"component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "Enabled"},
             "variable_attribute": [{"type": "Actual", "value": "true"}]}]
    async with charger(server, "CP201", V201) as cs:
        await cs.call(call.NotifyReport(request_id=2, generated_at=T, seq_no=0, report_data=data), suppress=False)
        await cs.call(call.SecurityEventNotification(type="SettingSystemTime", timestamp=T), suppress=False)
        answer = await cs.call(call.DataTransfer(vendor_id="com.acme"), suppress=False)
        assert answer.status == "UnknownVendorId"
    (report,) = server.backend.events_of(DeviceReportReceived)
    assert report.report_data[0]["variableAttribute"] == [{"type": "Actual", "value": "true"}]
    assert server.backend.events_of(SecurityEventNotified)[0].kind == "SettingSystemTime"


async def test_registry_call_get_variables(server):
    async with charger(server, "CP201", V201):
        result = await server.registry.call("CP201", call.GetVariables(get_variable_data=[
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]))
    assert result.get_variable_result[0]["attribute_value"] == "60"


async def test_registry_set_charging_profile_accepted_and_rejected(server):
    profile = {"id": 3, "stack_level": 0, "charging_profile_purpose": "TxDefaultProfile",
               "charging_profile_kind": "Relative", "charging_schedule": [SCHEDULE]}
    async with charger(server, "CP201", V201) as cs:
        answer = await server.registry.call("CP201", call.SetChargingProfile(evse_id=1, charging_profile=profile))
        assert answer.status == "Accepted" and cs.profiles[0]["id"] == 3
        with pytest.raises(CallRejected) as rejected:
            await server.registry.call("CP201", call.SetChargingProfile(evse_id=5, charging_profile=profile))
    assert rejected.value.error_code == "PropertyConstraintViolation"
