"""The 2.0.1 device model a simulated station reports, and what the control plane reads from it.

The station's base report (NotifyReport after GetBaseReport, B07) must say what its GetVariables answers say, in
messages the OCPP schema accepts, numbered with seqNo and closed with tbc false; and the control plane's reader
(:mod:`wattcap.ocpp.capabilities`) must find in it exactly the capabilities, EVSE ids and current type the
station has. No network: the tables are pure.
"""

from __future__ import annotations

import pytest
from ocpp.messages import MessageType, get_validator

from wattcap.core.station import CurrentType
from wattcap.ocpp.capabilities import document_v201, station_facts
from wattcap.sim.device_model import (
    CONFIGURATION_INVENTORY,
    FULL_INVENTORY,
    SUMMARY_INVENTORY,
    base_report,
    device_model,
    key_of,
    notify_report_payloads,
)
from wattcap.sim.ev import EV
from wattcap.sim.protocol import StationSettings

from .helpers import BIG_EV, T0, station

SETTINGS = StationSettings(meter_interval_s=15, heartbeat_interval_s=120)
NOTIFY_REPORT = get_validator(MessageType.Call, "NotifyReport", "2.0.1")


def full_report(s, per_message: int = 10) -> list[dict]:
    return notify_report_payloads(7, T0, base_report(device_model(s, SETTINGS), FULL_INVENTORY), per_message)


@pytest.mark.parametrize(
    ("shape", "phases", "current_type"),
    [
        (dict(evses=2), 3, CurrentType.AC),
        (dict(evses=1, phases=1), 1, CurrentType.AC),
        (dict(evses=3, current_type=CurrentType.DC), None, CurrentType.DC),  # SupplyPhases 0: DC
        (dict(evses=1, personality="watts-only"), 3, CurrentType.AC),
        (dict(evses=1, personality="stack-level-0-only"), 3, CurrentType.AC),
    ],
)
def test_the_control_plane_reads_from_the_base_report_what_the_station_is(shape, phases, current_type):
    s = station(**shape)
    report = [item for payload in full_report(s) for item in payload["reportData"]]
    facts = station_facts(document_v201([], report))
    assert facts.capabilities == s.config.capabilities  # what it reports, personality included
    assert facts.evse_ids == s.evse_ids
    assert (facts.supply_phases, facts.current_type) == (phases, current_type)
    assert facts.missing == () and facts.notes == ()


def test_full_inventory_is_valid_notify_report_messages_numbered_and_closed():
    s = station(evses=2)
    payloads = full_report(s, per_message=4)
    for payload in payloads:
        NOTIFY_REPORT.validate(payload)
        assert payload["requestId"] == 7 and payload["generatedAt"] == "2026-03-02T08:00:00Z"
        assert 1 <= len(payload["reportData"]) <= 4
    assert [p["seqNo"] for p in payloads] == list(range(len(payloads)))
    assert [p["tbc"] for p in payloads] == [True] * (len(payloads) - 1) + [False]
    reported = [item for p in payloads for item in p["reportData"]]
    assert reported == [v.report_data() for v in device_model(s, SETTINGS)]


def test_base_report_describes_each_evse_and_connector_and_the_profile_capacity():
    s = station(evses=2)
    s.plug_in(2, EV(BIG_EV, soc=0.2), T0, id_token="TAG2")
    by_key = {key_of(d["component"], d["variable"]): d for p in full_report(s) for d in p["reportData"]}

    def value(component, evse, connector, variable, instance=None):
        return by_key[component, evse, connector, variable, instance]["variableAttribute"][0]["value"]

    assert value("EVSE", 1, None, "AvailabilityState") == "Available"
    assert value("EVSE", 2, None, "AvailabilityState") == "Occupied"
    assert value("EVSE", 1, None, "SupplyPhases") == value("Connector", 1, 1, "SupplyPhases") == "3"
    assert value("Connector", 2, 1, "ConnectorType") == "cType2"
    power = by_key["EVSE", 1, None, "Power", None]["variableCharacteristics"]
    assert power == {"dataType": "decimal", "supportsMonitoring": False, "unit": "W", "maxLimit": 32 * 230 * 3}
    entries = by_key["SmartChargingCtrlr", None, None, "Entries", "ChargingProfiles"]
    assert entries["variableAttribute"][0] == {"type": "Actual", "value": "0", "mutability": "ReadOnly"}
    assert entries["variableCharacteristics"]["maxLimit"] == 32


def test_configuration_inventory_lists_what_the_operator_can_set():
    report = base_report(device_model(station(), SETTINGS), CONFIGURATION_INVENTORY)
    assert {(v.component, v.variable, v.value) for v in report} == {
        ("SampledDataCtrlr", "TxUpdatedInterval", "15"),
        ("OCPPCommCtrlr", "HeartbeatInterval", "120"),
    }
    assert all(v.report_data()["variableAttribute"][0]["mutability"] == "ReadWrite" for v in report)


def test_summary_inventory_lists_the_availability_of_station_evses_and_connectors():
    report = base_report(device_model(station(evses=2), SETTINGS), SUMMARY_INVENTORY)
    assert {(v.component, v.evse_id, v.connector_id) for v in report} == {
        ("ChargingStation", None, None), ("EVSE", 1, None), ("EVSE", 2, None), ("Connector", 1, 1), ("Connector", 2, 1),
    }
    assert {v.variable for v in report} == {"AvailabilityState", "Available"}
