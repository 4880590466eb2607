"""Rules that hold a profile against the station: smart charging at all, EVSE ids, capabilities, phases."""

from __future__ import annotations

import pytest

from wattcap.core.model import ChargingRateUnit
from wattcap.core.station import CurrentType
from wattcap.core.validation import ChargerResponse, ReasonCode, Severity, has_errors

from .validation_helpers import (
    REMOTE_START,
    V16,
    V21,
    V201,
    check,
    error_ids,
    only,
    period,
    profile,
    remote_start_profile,
    station,
    with_schedule,
)

P0 = "chargingSchedule[0].chargingSchedulePeriod[0]"


@pytest.mark.parametrize(("version", "rule_id"), [(V16, "E16-3.39"), (V201, "K01.FR.29"), (V21, "K01.FR.29")])
def test_K01_FR_29_E16_3_39_no_smart_charging_answers_not_supported_and_nothing_else(version, rule_id):
    findings = check(profile(stack_level=-1), version, station=station(smart_charging_supported=False))
    assert [f.rule_id for f in findings] == [rule_id]  # the negative stack level is noise next to this
    assert findings[0].response is ChargerResponse.NOT_SUPPORTED


def test_WC_W09_remote_start_profile_is_ignored_without_smart_charging():
    findings = check(remote_start_profile(), V16, context=REMOTE_START, station=station(smart_charging_supported=False))
    assert only(findings, "WC-W09").severity is Severity.WARNING and not has_errors(findings)
    assert check(remote_start_profile(), V16, context=REMOTE_START) == []


def test_K01_FR_28_evse_ids_come_from_the_device_model_not_a_count():
    gappy = station(evse_ids=(1, 3))
    assert check(profile(), V201, evse_id=3, station=gappy) == []
    finding = only(check(profile(), V201, evse_id=2, station=gappy), "K01.FR.28")
    assert (finding.path, finding.reason_code) == ("evseId", ReasonCode.UNKNOWN_EVSE)
    assert finding.response is ChargerResponse.REJECTED


def test_E16_3_38_unknown_connector_is_a_property_constraint_violation():
    finding = only(check(profile(), V16, evse_id=7), "E16-3.38")
    assert finding.path == "connectorId" and finding.response is ChargerResponse.PROPERTY_CONSTRAINT_VIOLATION
    assert only(check(profile(), V16, evse_id=-1), "E16-3.38")


@pytest.mark.parametrize("version", [V16, V201])  # in 2.1 the schema itself says minimum 0 (WC-S03)
def test_WC_E01_stack_level_is_never_negative(version):
    assert only(check(profile(stack_level=-1), version), "WC-E01").path == "stackLevel"


def test_WC_E02_max_stack_level_is_inclusive_and_skipped_when_unknown():
    capped = station(max_stack_level=1)
    assert check(profile(stack_level=1), V201, station=capped) == []
    finding = only(check(profile(stack_level=2), V201, station=capped), "WC-E02")
    assert finding.reason_code is ReasonCode.INVALID_STACK_LEVEL
    assert check(profile(stack_level=99), V201) == []


@pytest.mark.parametrize(("version", "rule_id"), [(V16, "E16-3.86"), (V201, "K01.FR.26")])
def test_K01_FR_26_E16_3_86_rate_unit_the_station_accepts(version, rule_id):
    amps_only = station(rate_units=(ChargingRateUnit.A,))
    watts = with_schedule(profile(period(limit=11000.0)), charging_rate_unit=ChargingRateUnit.W)
    assert check(profile(), version, station=amps_only) == []
    finding = only(check(watts, version, station=amps_only), rule_id)
    assert finding.path.endswith("chargingRateUnit")
    assert finding.reason_code is (ReasonCode.UNSUPPORTED_RATE_UNIT if version is V201 else None)


def test_WC_E03_periods_per_schedule():
    three = profile(period(0), period(60), period(120))
    assert check(three, V201, station=station(max_periods_per_schedule=3)) == []
    finding = only(check(three, V16, station=station(max_periods_per_schedule=2)), "WC-E03")
    assert finding.path == "chargingSchedule.chargingSchedulePeriod"


def test_K01_FR_19_phase_to_use_only_with_one_phase():
    switching = station(ac_phase_switching=True)
    assert check(profile(period(number_phases=1, phase_to_use=2)), V201, station=switching) == []
    for bad in (period(number_phases=3, phase_to_use=2), period(phase_to_use=2)):
        assert only(check(profile(bad), V201, station=switching), "K01.FR.19").path == f"{P0}.phaseToUse"


def test_K01_FR_20_phase_to_use_needs_ac_phase_switching():
    one_phase = profile(period(number_phases=1, phase_to_use=2))
    assert error_ids(check(one_phase, V201)) == {"K01.FR.20"}
    assert check(one_phase, V201, station=station(ac_phase_switching=True)) == []


def test_K01_FR_44_no_phases_on_a_dc_evse():
    dc = station(current_type=CurrentType.DC)
    assert check(profile(), V201, station=dc) == []
    findings = check(profile(period(number_phases=3)), V201, station=dc)
    assert only(findings, "K01.FR.44").path == f"{P0}.numberPhases"


def test_K01_FR_45_not_more_phases_than_supplied():
    two_phase = station(supply_phases=2)
    assert check(profile(period(number_phases=2)), V201, station=two_phase) == []
    assert only(check(profile(period(number_phases=3)), V21, station=two_phase), "K01.FR.45").severity is Severity.ERROR


def test_K01_FR_18_fewer_phases_than_the_evse_is_a_warning_unless_it_can_switch():
    one = profile(period(number_phases=1))
    findings = check(one, V201)
    assert only(findings, "K01.FR.18").severity is Severity.WARNING and not has_errors(findings)
    assert check(one, V201, station=station(phase_switching_3to1=True)) == []


@pytest.mark.parametrize(("version", "bad"), [(V16, 0), (V16, 4), (V201, 0), (V201, 4), (V21, 0)])
def test_WC_E05_phase_counts_are_one_to_three(version, bad):
    # 2.1 numberPhases 4 breaks the schema's maximum 3 and is reported as WC-S03 instead
    assert only(check(profile(period(number_phases=bad)), version), "WC-E05").path.endswith("numberPhases")


def test_WC_W03_single_phase_site_should_say_numberPhases_1():
    single = station(supply_phases=1)
    findings = check(profile(period(0), period(60, number_phases=1), period(120)), V16, station=single)
    finding = only(findings, "WC-W03")
    assert finding.path == "chargingSchedule.chargingSchedulePeriod" and "0, 2" in finding.message
    assert check(profile(period(number_phases=1)), V16, station=single) == []
    assert check(profile(), V16, station=station(supply_phases=1, current_type=CurrentType.DC)) == []
