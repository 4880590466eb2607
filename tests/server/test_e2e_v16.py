"""An OCPP 1.6 charge point (the ``ocpp`` package over ``websockets``) against the real server."""

from __future__ import annotations

import re

import pytest
from ocpp.v16 import call

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
from wattcap.core.model import OcppVersion
from wattcap.core.timeutil import parse_timestamp, utc
from wattcap.server.stations import CallRejected, CallTimeout, InvalidRequest, StationNotConnected

from .conftest import charger

V16 = OcppVersion.V16
T10 = "2026-03-01T10:00:00Z"
UTC_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


async def test_boot_heartbeat_and_status(server):
    async with charger(server, "CP16", V16) as cp:
        boot = await cp.call(
            call.BootNotification(charge_point_vendor="ACME", charge_point_model="Wallbox", firmware_version="1.0"),
            suppress=False,
        )
        assert boot.status == "Accepted" and boot.interval == 60
        assert UTC_Z.match(boot.current_time)
        heartbeat = await cp.call(call.Heartbeat(), suppress=False)
        assert UTC_Z.match(heartbeat.current_time)
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Preparing",
                                              timestamp="2026-03-01T10:00:00Z"), suppress=False)
    backend = server.backend
    assert backend.events_of(StationBooted)[0].vendor == "ACME"
    assert len(backend.events_of(HeartbeatReceived, "CP16")) == 1
    assert backend.events_of(ConnectorStatusChanged) == [
        ConnectorStatusChanged("CP16", utc(2026, 3, 1, 10), 1, 1, "Preparing", None)
    ]


async def test_authorize_accepted_and_invalid(server):
    async with charger(server, "CP16", V16) as cp:
        assert (await cp.call(call.Authorize(id_tag="TOKEN-OK"), suppress=False)).id_tag_info["status"] == "Accepted"
        assert (await cp.call(call.Authorize(id_tag="STOLEN"), suppress=False)).id_tag_info["status"] == "Invalid"


async def test_transaction_with_meter_values_is_recorded_in_si_units(server):
    async with charger(server, "CP16", V16) as cp:
        started = await cp.call(
            call.StartTransaction(connector_id=2, id_tag="TOKEN-OK", meter_start=1000, timestamp=T10),
            suppress=False,
        )
        assert started.transaction_id == 1 and started.id_tag_info["status"] == "Accepted"
        await cp.call(
            call.MeterValues(
                connector_id=2,
                transaction_id=started.transaction_id,
                meter_value=[{
                    "timestamp": "2026-03-01T10:15:00Z",
                    "sampled_value": [
                        {"value": "7.4", "measurand": "Power.Active.Import", "unit": "kW"},
                        {"value": "10.5", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                        {"value": "10.4", "measurand": "Current.Import", "phase": "L2", "unit": "A"},
                        {"value": "10.6", "measurand": "Current.Import", "phase": "L3", "unit": "A"},
                        {"value": "2.85", "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
                        {"value": "16", "measurand": "Current.Offered", "unit": "A"},
                        {"value": "11", "measurand": "Power.Offered", "unit": "kW"},
                        {"value": "61", "measurand": "SoC", "unit": "Percent"},
                    ],
                }],
            ),
            suppress=False,
        )
        stopped = await cp.call(
            call.StopTransaction(meter_stop=5000, timestamp="2026-03-01T11:00:00Z",
                                 transaction_id=started.transaction_id, reason="EVDisconnected", id_tag="TOKEN-OK"),
            suppress=False,
        )
        assert stopped.id_tag_info["status"] == "Accepted"
    backend = server.backend
    assert backend.events_of(TransactionStarted) == [
        TransactionStarted("CP16", utc(2026, 3, 1, 10), 2, "1", "TOKEN-OK", 1000.0)
    ]
    (meter,) = backend.events_of(MeterValuesReceived)
    assert (meter.evse_id, meter.transaction_id, meter.at) == (2, "1", utc(2026, 3, 1, 10, 15))
    values = {(s.measurand, s.phase): (s.value, s.unit) for s in meter.samples}
    assert values == {
        (Measurand.POWER_ACTIVE_IMPORT, None): (7400.0, "W"),
        (Measurand.CURRENT_IMPORT, "L1"): (10.5, "A"),
        (Measurand.CURRENT_IMPORT, "L2"): (10.4, "A"),
        (Measurand.CURRENT_IMPORT, "L3"): (10.6, "A"),
        (Measurand.ENERGY_ACTIVE_IMPORT_REGISTER, None): (2850.0, "Wh"),
        (Measurand.CURRENT_OFFERED, None): (16.0, "A"),
        (Measurand.POWER_OFFERED, None): (11000.0, "W"),
        (Measurand.SOC, None): (61.0, "Percent"),
    }
    # StopTransaction names no connector: the EVSE comes from the StartTransaction.
    assert backend.events_of(TransactionEnded) == [
        TransactionEnded("CP16", utc(2026, 3, 1, 11), 2, "1", 5000.0, "EVDisconnected")
    ]


async def test_transaction_ids_are_assigned_by_the_backend(server):
    async with charger(server, "CP16", V16) as cp:
        ids = [
            (await cp.call(call.StartTransaction(connector_id=1, id_tag="X", meter_start=0,
                                                 timestamp=f"2026-03-01T10:0{minute}:00Z"), suppress=False))
            for minute in range(2)
        ]
    assert [r.transaction_id for r in ids] == [1, 2]
    assert [r.id_tag_info["status"] for r in ids] == ["Invalid", "Invalid"]


async def test_a_resent_start_transaction_gets_its_first_id_again(server):
    """A charger that never got the answer resends the same StartTransaction: one session stays one transaction."""
    start = call.StartTransaction(connector_id=2, id_tag="X", meter_start=10, timestamp=T10)
    async with charger(server, "CP16", V16) as cp:
        first = await cp.call(start, suppress=False)
        again = await cp.call(start, suppress=False)
    assert first.transaction_id == again.transaction_id == 1
    assert {e.transaction_id for e in server.backend.events_of(TransactionStarted)} == {"1"}


async def test_naive_timestamp_is_read_as_utc_and_logged(server, caplog):
    caplog.set_level("WARNING", logger="wattcap.server")
    async with charger(server, "CP16", V16) as cp:
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available",
                                              timestamp="2026-03-01T10:00:00"), suppress=False)
    (event,) = server.backend.events_of(ConnectorStatusChanged)
    assert event.at == utc(2026, 3, 1, 10)
    (record,) = [r for r in caplog.records if "has no time zone" in r.getMessage()]
    assert "station_id=CP16" in record.getMessage() and "message_id=" in record.getMessage()


async def test_data_transfer_unknown_vendor_and_status_acks(server):
    async with charger(server, "CP16", V16) as cp:
        answer = await cp.call(call.DataTransfer(vendor_id="com.acme", message_id="x", data="y"), suppress=False)
        assert answer.status == "UnknownVendorId"
        await cp.call(call.FirmwareStatusNotification(status="Idle"), suppress=False)
        await cp.call(call.DiagnosticsStatusNotification(status="Idle"), suppress=False)
        await cp.call(call.SecurityEventNotification(type="StartupOfTheDevice", timestamp="2026-03-01T10:00:00Z",
                                                     tech_info="cold boot"), suppress=False)
    assert [e.kind for e in server.backend.events_of(SecurityEventNotified)] == ["StartupOfTheDevice"]


async def test_registry_call_answered_by_the_charger(server):
    async with charger(server, "CP16", V16) as cp:
        await cp.call(call.BootNotification(charge_point_vendor="ACME", charge_point_model="M"), suppress=False)
        assert server.registry.version("CP16") is V16
        result = await server.registry.call("CP16", call.GetConfiguration(key=["HeartbeatInterval", "Nope"]))
    assert result.configuration_key == [{"key": "HeartbeatInterval", "readonly": False, "value": "60"}]
    assert result.unknown_key == ["Nope"]


def profile(limit: float) -> dict:
    return {
        "charging_profile_id": 1,
        "stack_level": 0,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Relative",
        "charging_schedule": {"charging_rate_unit": "A", "charging_schedule_period": [{"start_period": 0,
                                                                                       "limit": limit}]},
    }


async def test_callerror_from_the_charger_surfaces_as_call_rejected(server):
    async with charger(server, "CP16", V16) as cp:
        with pytest.raises(CallRejected) as rejected:
            await server.registry.call("CP16", call.SetChargingProfile(connector_id=9,
                                                                       cs_charging_profiles=profile(16)))
        # The connection keeps working after the CALLERROR.
        await cp.call(call.Heartbeat(), suppress=False)
    assert rejected.value.error_code == "PropertyConstraintViolation"
    assert rejected.value.action == "SetChargingProfile"
    assert "no connector 9" in rejected.value.description


async def test_pitfall_a_16_decimals_are_floats_before_reuse(server):
    """GetCompositeSchedule.conf is re-parsed with Decimal by the package; the registry hands out floats, and
    a limit taken from it goes straight into a SetChargingProfile without breaking the connection."""
    async with charger(server, "CP16", V16) as cp:
        composite = await server.registry.call("CP16", call.GetCompositeSchedule(connector_id=1, duration=3600))
        limit = composite.charging_schedule["charging_schedule_period"][0]["limit"]
        assert type(limit) is float and limit == 21.4
        answer = await server.registry.call("CP16", call.SetChargingProfile(connector_id=1,
                                                                            cs_charging_profiles=profile(limit)))
        assert answer.status == "Accepted"
        assert float(cp.profiles[0]["charging_schedule"]["charging_schedule_period"][0]["limit"]) == 21.4
        await cp.call(call.Heartbeat(), suppress=False)


async def test_a_request_of_the_wrong_version_is_refused_before_sending(server):
    from ocpp.v201 import call as call201

    async with charger(server, "CP16", V16):
        with pytest.raises(InvalidRequest, match=r"not an OCPP 1\.6 request"):
            await server.registry.call("CP16", call201.GetVariables(get_variable_data=[]))
        with pytest.raises(InvalidRequest):  # fails the 1.6 schema: nothing is sent
            await server.registry.call(
                "CP16", call.GetCompositeSchedule(connector_id=1, duration=10, charging_rate_unit="kW")
            )


async def test_call_to_a_station_that_is_not_connected(server):
    with pytest.raises(StationNotConnected):
        await server.registry.call("CP16", call.GetConfiguration())


async def test_call_timeout():
    from .conftest import running_server, settings_with

    async with running_server(settings_with(call_timeout_s=0.3)) as quick, charger(quick, "CP16", V16) as cp:
        with pytest.raises(CallTimeout, match="ClearCache"):
            await quick.registry.call("CP16", call.ClearCache())
        cp.hold.set()
        assert (await quick.registry.call("CP16", call.GetConfiguration())).configuration_key


async def test_timestamps_in_answers_parse_as_utc(server):
    async with charger(server, "CP16", V16) as cp:
        heartbeat = await cp.call(call.Heartbeat(), suppress=False)
    assert parse_timestamp(heartbeat.current_time).utcoffset().total_seconds() == 0
