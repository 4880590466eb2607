"""The simulator over the wire, against a minimal ``ocpp`` central system, in OCPP 1.6 and 2.0.1.

Station time runs 10× faster than the wall clock; every wait is for an event with a generous timeout, never for
a fixed time. Each test also checks that the simulator sent nothing the central system's schema validation
refused (``call_errors == 0``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from wattcap.core.model import OcppVersion
from wattcap.core.station import DEFAULT_LIMIT_A
from wattcap.core.timeutil import format_timestamp, parse_timestamp
from wattcap.ocpp.capabilities import document_v201, station_facts
from wattcap.sim.clock import AcceleratedClock
from wattcap.sim.ev import EV_MODELS
from wattcap.sim.events import MeterValuesReceived
from wattcap.sim.runner import RunOptions, Simulation, StationRunner
from wattcap.sim.scenario import Arrival, arrivals_now

from .csms import MiniCsms, Received, samples_16, samples_201
from .helpers import spec

V16, V201 = OcppVersion.V16, OcppVersion.V201
SID = "SIM-001"
SPEED = 10.0
METER_S = 2.0
VERSIONS = [V16, V201]


@pytest.fixture
async def csms() -> AsyncIterator[MiniCsms]:
    async with MiniCsms() as central:
        yield central


@asynccontextmanager
async def simulated(
    csms: MiniCsms, version: OcppVersion, *, personality: str = "everest", plugged: str | None = "now"
) -> AsyncIterator[StationRunner]:
    """One running 32 A / 3-phase station with an EV plugged in (``plugged='now'``: charging at once;
    ``'waiting'``: plugged, waiting for a remote start; None: no EV)."""
    specs = [spec(version=version, personality=personality)]
    arrivals = {
        "now": arrivals_now(specs),
        "waiting": [Arrival(0.0, SID, 1, EV_MODELS["truck"], soc=0.2, id_token=None)],
        None: [],
    }[plugged]
    options = RunOptions(
        csms.url, meter_interval_s=METER_S, backoff_min_s=0.05, backoff_max_s=0.2, response_timeout_s=5.0, reboot_s=2.0
    )
    sim = Simulation(specs, AcceleratedClock(SPEED), options, arrivals=arrivals)
    task = asyncio.create_task(sim.run())
    try:
        await csms.connected(SID)
        yield sim.runner(SID)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert sim.runner(SID).stats.call_errors == 0


def is_meter_values(version: OcppVersion) -> Callable[[Received], bool]:
    if version is V16:
        return lambda m: m.action == "MeterValues"
    return lambda m: m.action == "TransactionEvent" and m.payload.get("triggerReason") == "MeterValuePeriodic"


def samples(version: OcppVersion, message: Received):
    return samples_16(message.payload) if version is V16 else samples_201(message.payload)


async def transaction_id(csms: MiniCsms, version: OcppVersion) -> Any:
    """The id the control plane knows the running transaction by (1.6: an int, 2.0.1: a string)."""
    if version is V16:
        values = await csms.wait_for(SID, lambda m: m.action == "MeterValues" and "transactionId" in m.payload)
        return values.payload["transactionId"]
    started = await csms.wait_for(SID, lambda m: m.action == "TransactionEvent" and m.payload["eventType"] == "Started")
    return started.payload["transactionInfo"]["transactionId"]


def tx_profile(version: OcppVersion, runner: StationRunner, limit: float, tx: Any, *, unit: str = "A") -> dict:
    """An Absolute TxProfile starting a minute ago on the station's clock (A6)."""
    start = format_timestamp(runner.clock.now() - timedelta(minutes=1))
    schedule = {
        "startSchedule": start,
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
    }
    if version is V16:
        return {
            "chargingProfileId": 11,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute",
            "transactionId": tx,
            "chargingSchedule": schedule,
        }
    return {
        "id": 11,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Absolute",
        "transactionId": tx,
        "chargingSchedule": [{"id": 1, **schedule}],
    }


async def set_profile(csms: MiniCsms, version: OcppVersion, evse_id: int, profile: dict) -> Any:
    if version is V16:
        return await csms.call(SID, call16.SetChargingProfile(connector_id=evse_id, cs_charging_profiles=profile))
    return await csms.call(SID, call201.SetChargingProfile(evse_id=evse_id, charging_profile=profile))


async def meter_values_since(
    csms: MiniCsms, version: OcppVersion, since, count: int, after: int = -1
) -> list[list[tuple]]:
    """The sample sets of the next ``count`` meter-value messages sampled at or after ``since`` (station time)."""
    found: list[list[tuple]] = []
    for _ in range(count):
        message = await csms.wait_for(
            SID,
            lambda m: is_meter_values(version)(m) and samples(version, m)[0][0] >= since,
            after=after,
        )
        after = message.index
        found.append(samples(version, message))
    return found


def value(sample_set: list[tuple], measurand: str, phase: str | None = None) -> float:
    return next(v for _, m, p, v in sample_set if m == measurand and p == phase)


# ---- a session limited by a TxProfile --------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_session_limited_by_a_tx_profile_draws_no_more_than_the_limit(csms, version):
    async with simulated(csms, version) as runner:
        tx = await transaction_id(csms, version)
        before = await meter_values_since(csms, version, runner.clock.now(), 1)
        assert value(before[0], "Current.Import", "L1") == 32.0  # the truck takes all 32 A unlimited
        result = await set_profile(csms, version, 1, tx_profile(version, runner, 10.0, tx))
        assert result.status == "Accepted"
        for sample_set in await meter_values_since(csms, version, runner.clock.now(), 3):
            assert all(value(sample_set, "Current.Import", f"L{n}") <= 10.0 for n in (1, 2, 3))
            assert value(sample_set, "Power.Active.Import") <= 10.0 * 230 * 3
            assert value(sample_set, "Current.Offered") == 10.0


# ---- the offline switch ----------------------------------------------------------------------------------


async def _until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


@pytest.mark.parametrize("version", VERSIONS)
async def test_offline_switch_keeps_enforcing_and_replays_the_queue_in_order(csms, version):
    async with simulated(csms, version) as runner:
        tx = await transaction_id(csms, version)
        assert (await set_profile(csms, version, 1, tx_profile(version, runner, 10.0, tx))).status == "Accepted"
        runner.drop_link()
        await _until(lambda: not runner.online.is_set())
        dropped_at = runner.clock.now()
        # meter values queue while the link is down
        await _until(lambda: sum(isinstance(e.event, MeterValuesReceived) for e in runner.outbox.queued()) >= 3)
        assert runner.station.evse(1).current_a == 10.0  # and the station keeps enforcing what it holds
        runner.unplug(1)  # the session ends offline
        last = csms.log(SID).messages[-1].index
        runner.restore_link()
        if version is V16:
            await csms.wait_for(SID, lambda m: m.action == "StopTransaction", after=last)
        else:
            await csms.wait_for(
                SID, lambda m: m.action == "TransactionEvent" and m.payload["eventType"] == "Ended", after=last
            )
        replay = [m for m in csms.log(SID).messages if m.index > last]
        offline_values = [m for m in replay if is_meter_values(version)(m)]
        assert len(offline_values) >= 3
        times = [samples(version, m)[0][0] for m in offline_values]
        assert times == sorted(times) and times[0] >= dropped_at
        for m in offline_values:
            assert value(samples(version, m), "Current.Import", "L1") <= 10.0
        if version is V16:
            assert all(m.payload["transactionId"] == tx for m in offline_values)
            stop = next(m for m in replay if m.action == "StopTransaction")
            assert stop.payload["transactionId"] == tx and stop.payload["reason"] == "EVDisconnected"
        else:
            events = [m.payload for m in replay if m.action == "TransactionEvent"]
            # whatever happened after the drop is flagged as generated offline
            assert all(e.get("offline") for e in events if parse_timestamp(e["timestamp"]) >= dropped_at)
            seq = [e["seqNo"] for e in events]
            assert seq == list(range(seq[0], seq[0] + len(seq)))
        assert csms.log(SID).connections == 2
        assert len(csms.log(SID).of("BootNotification")) == 1  # a reconnect is not a reboot


@pytest.mark.parametrize("version", VERSIONS)
async def test_station_reconnects_after_the_control_plane_drops_it(csms, version):
    async with simulated(csms, version, plugged=None):
        await csms.wait_for(SID, lambda m: m.action == "StatusNotification")
        await csms.disconnect(SID)
        await csms.connected(SID, count=2)
        last = csms.log(SID).messages[-1].index
        await csms.wait_for(SID, lambda m: m.action == "StatusNotification", after=last)


# ---- remote start, reset, configuration ------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_remote_start_with_a_profile_starts_the_plugged_ev_within_it(csms, version):
    async with simulated(csms, version, plugged="waiting") as runner:
        await csms.wait_for(SID, lambda m: m.action == "StatusNotification" and "Available" not in str(m.payload))
        schedule = {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 8.0}]}
        if version is V16:
            profile = {
                "chargingProfileId": 5,
                "stackLevel": 0,
                "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": schedule,
            }
            result = await csms.call(
                SID, call16.RemoteStartTransaction(id_tag="REMOTE", connector_id=1, charging_profile=profile)
            )
        else:
            profile = {
                "id": 5,
                "stackLevel": 0,
                "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": [{"id": 1, **schedule}],
            }
            result = await csms.call(
                SID,
                call201.RequestStartTransaction(
                    id_token={"idToken": "REMOTE", "type": "Central"},
                    remote_start_id=77,
                    evse_id=1,
                    charging_profile=profile,
                ),
            )
        assert result.status == "Accepted"
        if version is V201:
            started = await csms.wait_for(
                SID, lambda m: m.action == "TransactionEvent" and m.payload["eventType"] == "Started"
            )
            assert started.payload["triggerReason"] == "RemoteStart"
            assert started.payload["transactionInfo"]["remoteStartId"] == 77
            needs = await csms.wait_for(SID, lambda m: m.action == "NotifyEVChargingNeeds")  # the truck speaks 15118
            assert needs.payload["chargingNeeds"]["requestedEnergyTransfer"] == "AC_three_phase"
            assert needs.payload["chargingNeeds"]["acChargingParameters"]["energyAmount"] == 240_000
        else:
            await csms.wait_for(SID, lambda m: m.action == "StartTransaction")
        [sample_set] = await meter_values_since(csms, version, runner.clock.now(), 1)
        assert value(sample_set, "Current.Import", "L1") == 8.0
        tx = await transaction_id(csms, version)
        if version is V16:
            stop = call16.RemoteStopTransaction(transaction_id=tx)
            await_action = "StopTransaction"
        else:
            stop = call201.RequestStopTransaction(transaction_id=tx)
            await_action = "TransactionEvent"
        assert (await csms.call(SID, stop)).status == "Accepted"
        ended = await csms.wait_for(
            SID, lambda m: m.action == await_action and m.payload.get("eventType", "Ended") == "Ended"
        )
        reason = ended.payload["reason"] if version is V16 else ended.payload["transactionInfo"]["stoppedReason"]
        assert reason == "Remote"
        assert (await csms.call(SID, stop)).status == "Rejected"  # nothing left to stop


@pytest.mark.parametrize("version", VERSIONS)
async def test_profiles_survive_a_reset(csms, version):
    async with simulated(csms, version, plugged=None):
        await csms.wait_for(SID, lambda m: m.action == "StatusNotification")
        schedule = {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 12.0}]}
        if version is V16:
            profile = {
                "chargingProfileId": 3,
                "stackLevel": 1,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": schedule,
            }
            reset = call16.Reset(type="Soft")
            composite = call16.GetCompositeSchedule(connector_id=1, duration=600, charging_rate_unit="A")
        else:
            profile = {
                "id": 3,
                "stackLevel": 1,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": [{"id": 1, **schedule}],
            }
            reset = call201.Reset(type="Immediate")
            composite = call201.GetCompositeSchedule(duration=600, evse_id=1, charging_rate_unit="A")
        assert (await set_profile(csms, version, 1, profile)).status == "Accepted"
        assert (await csms.call(SID, reset)).status == "Accepted"
        await csms.connected(SID, count=2)
        await csms.wait_for(SID, lambda m: m.action == "BootNotification", after=1)
        assert len(csms.log(SID).of("BootNotification")) == 2
        answer = await csms.call(SID, composite)
        schedule_out = answer.charging_schedule if version is V16 else answer.schedule
        assert [p["limit"] for p in schedule_out["charging_schedule_period"]] == [12.0]
        clear = (
            call16.ClearChargingProfile(id=3) if version is V16 else call201.ClearChargingProfile(charging_profile_id=3)
        )
        assert (await csms.call(SID, clear)).status == "Accepted"
        assert (await csms.call(SID, clear)).status == "Unknown"
        answer = await csms.call(SID, composite)
        schedule_out = answer.charging_schedule if version is V16 else answer.schedule
        assert [p["limit"] for p in schedule_out["charging_schedule_period"]] == [DEFAULT_LIMIT_A]


async def test_1_6_configuration_reports_smart_charging_capabilities(csms):
    async with simulated(csms, V16, personality="watts-only", plugged=None):
        await csms.wait_for(SID, lambda m: m.action == "BootNotification")
        answer = await csms.call(SID, call16.GetConfiguration())
        keys = {k["key"]: k["value"] for k in answer.configuration_key}
        assert keys["ChargeProfileMaxStackLevel"] == "8"
        assert keys["ChargingScheduleAllowedChargingRateUnit"] == "Power"
        assert keys["ChargingScheduleMaxPeriods"] == "24"
        assert keys["MaxChargingProfilesInstalled"] == "32"
        assert keys["ConnectorSwitch3to1PhaseSupported"] == "true"
        change = await csms.call(SID, call16.ChangeConfiguration(key="MeterValueSampleInterval", value="30"))
        assert change.status == "Accepted"


async def test_2_0_1_device_model_reports_smart_charging_capabilities(csms):
    async with simulated(csms, V201, personality="stack-level-0-only", plugged=None):
        await csms.wait_for(SID, lambda m: m.action == "BootNotification")
        wanted = ["ProfileStackLevel", "RateUnit", "PeriodsPerSchedule", "Phases3to1", "Nope"]
        answer = await csms.call(
            SID,
            call201.GetVariables(
                get_variable_data=[
                    {"component": {"name": "SmartChargingCtrlr"}, "variable": {"name": n}} for n in wanted
                ]
            ),
        )
        got = {
            r["variable"]["name"]: (r["attribute_status"], r.get("attribute_value")) for r in answer.get_variable_result
        }
        assert got["ProfileStackLevel"] == ("Accepted", "0")
        assert got["RateUnit"] == ("Accepted", "A,W")
        assert got["PeriodsPerSchedule"] == ("Accepted", "24")
        assert got["Phases3to1"] == ("Accepted", "true")
        assert got["Nope"][0] == "UnknownVariable"


async def test_2_0_1_base_report_follows_the_answer_in_numbered_notify_reports(csms):
    async with simulated(csms, V201, plugged=None) as runner:
        await asyncio.wait_for(runner.online.wait(), 15)  # a CSMS asks for reports once the boot is accepted
        answer = await csms.call(SID, call201.GetBaseReport(request_id=42, report_base="FullInventory"))
        assert answer.status == "Accepted"
        last = await csms.wait_for(SID, lambda m: m.action == "NotifyReport" and not m.payload.get("tbc"))
        parts = [m.payload for m in csms.log(SID).of("NotifyReport")]
        assert [p["seqNo"] for p in parts] == list(range(len(parts))) and len(parts) > 1
        assert all(p["requestId"] == 42 for p in parts) and parts[-1] == last.payload
        facts = station_facts(document_v201([], [item for p in parts for item in p["reportData"]]))
        assert facts.evse_ids == (1,) and facts.supply_phases == 3 and facts.missing == ()
        assert facts.capabilities.max_installed_profiles == 32
        # GetVariables reads the same table, EVSE components included.
        supply = {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "SupplyPhases"}}
        missing = {"component": {"name": "EVSE", "evse": {"id": 9}}, "variable": {"name": "SupplyPhases"}}
        got = await csms.call(SID, call201.GetVariables(get_variable_data=[supply, missing]))
        results = got.get_variable_result
        assert (results[0]["attribute_status"], results[0]["attribute_value"]) == ("Accepted", "3")
        assert results[1]["attribute_status"] == "UnknownComponent"


async def test_2_0_1_get_charging_profiles_reports_what_it_holds(csms):
    async with simulated(csms, V201, plugged=None):
        await csms.wait_for(SID, lambda m: m.action == "BootNotification")
        profile = {
            "id": 4,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": [
                {"id": 1, "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}
            ],
        }
        assert (await set_profile(csms, V201, 1, profile)).status == "Accepted"
        answer = await csms.call(SID, call201.GetChargingProfiles(request_id=9, charging_profile={}))
        assert answer.status == "Accepted"
        report = await csms.wait_for(SID, lambda m: m.action == "ReportChargingProfiles")
        assert report.payload["requestId"] == 9 and report.payload["evseId"] == 1
        assert [p["id"] for p in report.payload["chargingProfile"]] == [4]
        cleared = await csms.call(SID, call201.ClearChargingProfile(charging_profile_id=4))
        assert cleared.status == "Accepted"
        assert (await csms.call(SID, call201.GetChargingProfiles(request_id=10, charging_profile={}))).status == (
            "NoProfiles"
        )


# ---- personalities over the wire -------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_composite_rejected_personality_answers_rejected(csms, version):
    async with simulated(csms, version, personality="composite-rejected", plugged=None):
        await csms.wait_for(SID, lambda m: m.action == "BootNotification")
        if version is V16:
            request = call16.GetCompositeSchedule(connector_id=1, duration=600)
        else:
            request = call201.GetCompositeSchedule(duration=600, evse_id=1)
        assert (await csms.call(SID, request)).status == "Rejected"


@pytest.mark.parametrize("version", VERSIONS)
async def test_compliant_station_reports_its_composite(csms, version):
    async with simulated(csms, version, plugged=None):
        await csms.wait_for(SID, lambda m: m.action == "BootNotification")
        if version is V16:
            answer = await csms.call(SID, call16.GetCompositeSchedule(connector_id=1, duration=600))
            schedule = answer.charging_schedule
            assert parse_timestamp(answer.schedule_start)
        else:
            answer = await csms.call(SID, call201.GetCompositeSchedule(duration=600, evse_id=1))
            schedule = answer.schedule
        assert answer.status == "Accepted"
        assert schedule["charging_rate_unit"] == "A"
        assert [p["limit"] for p in schedule["charging_schedule_period"]] == [DEFAULT_LIMIT_A]


async def test_whole_amps_personality_overshoots_a_fractional_limit_on_the_wire(csms):
    async with simulated(csms, V201, personality="whole-amps") as runner:
        tx = await transaction_id(csms, V201)
        assert (await set_profile(csms, V201, 1, tx_profile(V201, runner, 15.6, tx))).status == "Accepted"
        [sample_set] = await meter_values_since(csms, V201, runner.clock.now(), 1)
        assert value(sample_set, "Current.Import", "L1") == 16.0


async def test_watts_only_personality_rejects_amps_with_a_reason_code(csms):
    async with simulated(csms, V201, personality="watts-only") as runner:
        tx = await transaction_id(csms, V201)
        result = await set_profile(csms, V201, 1, tx_profile(V201, runner, 10.0, tx))
        assert result.status == "Rejected"
        assert result.status_info["reason_code"] == "UnsupportedRateUnit"
        result = await set_profile(csms, V201, 1, tx_profile(V201, runner, 6900.0, tx, unit="W"))
        assert result.status == "Accepted"


async def test_drops_tx_profiles_on_reconnect_personality_forgets_its_limit(csms):
    async with simulated(csms, V16, personality="drops-tx-profiles-on-reconnect") as runner:
        tx = await transaction_id(csms, V16)
        assert (await set_profile(csms, V16, 1, tx_profile(V16, runner, 10.0, tx))).status == "Accepted"
        runner.drop_link()
        await _until(lambda: not runner.online.is_set())
        assert runner.station.evse(1).current_a == 10.0
        runner.restore_link()
        await csms.connected(SID, count=2)
        await _until(runner.online.is_set)
        [sample_set] = await meter_values_since(csms, V16, runner.clock.now(), 1)
        assert value(sample_set, "Current.Import", "L1") == 32.0


@pytest.mark.parametrize("version", VERSIONS)
async def test_station_heartbeats_at_the_interval_the_boot_response_gives(version):
    async with MiniCsms(heartbeat_s=5) as central, simulated(central, version, plugged=None) as runner:
        first = await central.wait_for(SID, lambda m: m.action == "Heartbeat")
        await central.wait_for(SID, lambda m: m.action == "Heartbeat", after=first.index)
        assert runner.settings.heartbeat_interval_s == 5
