"""Capabilities from 1.6 configuration keys (§1.9) and the 2.0.1 device model (§2.9, A5, A26)."""

from __future__ import annotations

from wattcap.core.model import ChargingRateUnit
from wattcap.core.station import CurrentType, StationConfig
from wattcap.ocpp.capabilities import (
    base_report_request,
    configuration_request,
    document_v16,
    document_v201,
    station_facts,
    variables_request,
)

A, W = ChargingRateUnit.A, ChargingRateUnit.W


def keys(**values):
    return {"configurationKey": [{"key": k, "readonly": True, "value": v} for k, v in values.items()]}


def test_v16_smart_charging_keys_become_capabilities():
    document = document_v16(keys(
        ChargeProfileMaxStackLevel="2", ChargingScheduleAllowedChargingRateUnit="Current,Power",
        ChargingScheduleMaxPeriods="24", MaxChargingProfilesInstalled="10", ConnectorSwitch3to1PhaseSupported="true",
        NumberOfConnectors="2", SupportedFeatureProfiles="Core,SmartCharging",
    ))
    facts = station_facts(document)
    caps = facts.capabilities
    assert (caps.max_stack_level, caps.rate_units, caps.max_periods_per_schedule, caps.max_installed_profiles) == (
        2, (A, W), 24, 10,
    )
    assert caps.phase_switching_3to1 and caps.smart_charging_supported
    assert facts.evse_ids == (1, 2) and facts.missing == ()
    assert document["summary"]["maxStackLevel"] == 2
    assert "ChargeProfileMaxStackLevel" in configuration_request()["key"]


def test_v16_unknown_keys_and_bad_values_are_reported_not_guessed():
    document = document_v16({
        **keys(ChargeProfileMaxStackLevel="three", ChargingScheduleAllowedChargingRateUnit="Power",
               SupportedFeatureProfiles="Core"),
        "unknownKey": ["MaxChargingProfilesInstalled"],
    })
    facts = station_facts(document)
    assert facts.capabilities.max_stack_level is None  # not read: validation then skips the check
    assert facts.capabilities.rate_units == (W,)
    assert not facts.capabilities.smart_charging_supported
    assert set(facts.missing) == {"ChargingScheduleMaxPeriods", "MaxChargingProfilesInstalled"}
    assert any("three" in note for note in facts.notes)


def result(variable, value, *, instance=None, attribute=None, status="Accepted"):
    item = {"attributeStatus": status, "component": {"name": "SmartChargingCtrlr"}, "variable": {"name": variable},
            "attributeValue": value}
    if instance:
        item["variable"]["instance"] = instance
    if attribute:
        item["attributeType"] = attribute
    return item


def report(component, variable, value, *, evse=None, max_limit=None):
    item = {"component": {"name": component}, "variable": {"name": variable},
            "variableAttribute": [{"type": "Actual", "value": value}]}
    if evse is not None:
        item["component"]["evse"] = {"id": evse}
    if max_limit is not None:
        item["variableCharacteristics"] = {"dataType": "integer", "supportsMonitoring": False, "maxLimit": max_limit}
    return item


def test_v201_smart_charging_ctrlr_and_the_evse_device_model():
    variables = [
        result("ProfileStackLevel", "1"), result("RateUnit", "A,W"), result("PeriodsPerSchedule", "12"),
        result("Entries", "20", instance="ChargingProfiles", attribute="MaxLimit"),
        result("Phases3to1", "false"), result("ACPhaseSwitchingSupported", "true"),
        result("Available", "true"), result("Enabled", "true"),
    ]
    data = [report("EVSE", "SupplyPhases", "3", evse=1), report("EVSE", "SupplyPhases", "3", evse=3),
            report("Connector", "ConnectorType", "cType2", evse=3)]
    facts = station_facts(document_v201(variables, data))
    caps = facts.capabilities
    assert (caps.max_stack_level, caps.rate_units, caps.max_periods_per_schedule, caps.max_installed_profiles) == (
        1, (A, W), 12, 20,
    )
    assert caps.ac_phase_switching and not caps.phase_switching_3to1 and caps.smart_charging_supported
    # A26: EVSE ids come from the device model and need not be 1..N.
    assert (facts.evse_ids, facts.supply_phases, facts.current_type) == ((1, 3), 3, CurrentType.AC)
    config = facts.apply(StationConfig())
    assert config.evse_ids == (1, 3) and config.capabilities.max_stack_level == 1


def test_v201_values_may_come_from_the_report_alone_and_dc_has_no_supply_phases():
    data = [
        report("SmartChargingCtrlr", "ProfileStackLevel", "3"),
        report("SmartChargingCtrlr", "RateUnit", "W"),
        report("SmartChargingCtrlr", "PeriodsPerSchedule", "5"),
        {**report("SmartChargingCtrlr", "Entries", "2", max_limit=8),
         "variable": {"name": "Entries", "instance": "ChargingProfiles"}},
        report("EVSE", "SupplyPhases", "0", evse=1),
    ]
    facts = station_facts(document_v201([], data))
    assert facts.capabilities.max_installed_profiles == 8  # the maxLimit, not the current count
    assert facts.capabilities.rate_units == (W,) and facts.current_type is CurrentType.DC and facts.missing == ()


def test_v201_smart_charging_not_available_and_rejected_variables():
    facts = station_facts(document_v201(
        [result("Available", "false"), result("ProfileStackLevel", None, status="UnknownVariable")], []
    ))
    assert not facts.capabilities.smart_charging_supported
    assert facts.capabilities.max_stack_level is None and "ProfileStackLevel" in facts.missing


def test_requests_ask_for_the_variables_and_the_full_inventory():
    data = variables_request()["getVariableData"]
    assert {"component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "ProfileStackLevel"}} in data
    # Entries.maxLimit is a variable characteristic: only the report carries it, GetVariables cannot ask.
    assert all(d["variable"]["name"] != "Entries" and "attributeType" not in d for d in data)
    assert base_report_request(4) == {"requestId": 4, "reportBase": "FullInventory"}


def test_an_empty_or_error_document_says_nothing():
    assert station_facts({}).capabilities.max_stack_level is None
    assert station_facts({"ocppVersion": "1.6", "error": "no answer"}).evse_ids is None
