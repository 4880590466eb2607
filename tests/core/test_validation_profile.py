"""Purposes and targets, transactionId, remote-start profiles, and the time shape of schedules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattcap.core.model import RecurrencyKind
from wattcap.core.validation import ChargerResponse, ReasonCode, Severity, has_errors

from .validation_helpers import (
    ABSOLUTE,
    EXTERNAL,
    LOCAL_GENERATION,
    MAX,
    NOW,
    PRIORITY,
    RECURRING,
    RELATIVE,
    REMOTE_START,
    REPORTED,
    T0,
    TX,
    TX_ID,
    V16,
    V21,
    V201,
    VERSIONS,
    check,
    error_ids,
    of_rule,
    only,
    period,
    profile,
    remote_start_profile,
    rule_ids,
    running,
    schedule,
    station,
    tx_profile,
    with_schedule,
)

# --- purposes and where they go -----------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "rule_id", "field"), [(V16, "R16-01", "connectorId"), (V201, "WC-E06", "evseId")])
def test_R16_01_WC_E06_station_max_only_on_evse_0(version, rule_id, field):
    assert check(profile(purpose=MAX), version, evse_id=0) == []
    finding = only(check(profile(purpose=MAX), version, evse_id=1), rule_id)
    assert finding.path == field
    assert ("ChargePointMaxProfile" in finding.message) is (version is V16)  # messages use the version's names


@pytest.mark.parametrize(("version", "rule_id"), [(V16, "R16-02"), (V201, "K01.FR.16"), (V21, "K01.FR.16")])
def test_R16_02_K01_FR_16_tx_profile_only_on_an_evse(version, rule_id):
    finding = only(check(tx_profile(), version, evse_id=0, transactions=[running()]), rule_id)
    assert finding.response is ChargerResponse.REJECTED


@pytest.mark.parametrize("version", VERSIONS)
def test_K01_FR_38_station_max_is_never_relative_in_any_version(version):
    relative_max = profile(purpose=MAX, kind=RELATIVE)
    assert only(check(relative_max, version, evse_id=0), "K01.FR.38").path == "chargingProfileKind"


# --- transactionId ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "rule_id"), [(V16, "R16-15"), (V201, "K01.FR.03")])
def test_K01_FR_03_R16_15_set_tx_profile_names_its_transaction(version, rule_id):
    nameless = tx_profile(transaction_id=None)
    finding = only(check(nameless, version, transactions=[running()]), rule_id)
    assert finding.path == "transactionId"
    assert finding.reason_code is (ReasonCode.MISSING_PARAM if version is V201 else None)


@pytest.mark.parametrize(("version", "rule_id"), [(V16, "R16-15"), (V201, "WC-E07")])
def test_R16_15_WC_E07_remote_start_profile_has_no_transaction_id(version, rule_id):
    named = remote_start_profile(transaction_id=TX_ID)
    assert only(check(named, version, context=REMOTE_START), rule_id).path == "transactionId"


@pytest.mark.parametrize("version", VERSIONS)
def test_WC_E08_transaction_id_only_on_a_tx_profile(version):
    assert only(check(profile(transaction_id=TX_ID), version), "WC-E08").path == "transactionId"


# --- remote start -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "rule_id"), [(V16, "R16-17"), (V201, "K05.FR.02")])
def test_R16_17_K05_FR_02_remote_start_profile_is_a_tx_profile(version, rule_id):
    default = profile(kind=RELATIVE)
    assert only(check(default, version, context=REMOTE_START), rule_id).path == "chargingProfilePurpose"


def test_WC_W08_remote_start_profile_should_be_relative():
    absolute = remote_start_profile(kind=ABSOLUTE, schedules=(schedule(),))
    findings = check(absolute, V201, context=REMOTE_START)
    assert only(findings, "WC-W08").severity is Severity.WARNING and not has_errors(findings)


# --- who may send what --------------------------------------------------------------------------------------


def test_K01_FR_22_the_csms_does_not_send_external_constraints_in_201():
    external = profile(purpose=EXTERNAL)
    assert only(check(external, V201), "K01.FR.22").path == "chargingProfilePurpose"
    assert check(external, V201, context=REPORTED) == []  # the charger holds such profiles itself


def test_WC_E09_21_external_constraints_only_where_the_station_allows_them():
    external = profile(purpose=EXTERNAL)
    assert check(external, V21) == []
    assert rule_ids(check(external, V21, station=station(external_constraints_allowed=False))) == {"WC-E09"}


@pytest.mark.parametrize("purpose", [PRIORITY, LOCAL_GENERATION])
def test_WC_E10_21_additional_purposes_need_station_support(purpose):
    p = profile(purpose=purpose, schedules=(schedule(period()),))
    assert only(check(p, V21), "WC-E10").path == "chargingProfilePurpose"
    assert check(p, V21, station=station(supported_additional_purposes=(purpose,))) == []


# --- periods ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "rule_id", "path"),
    [
        (V16, "R16-09", "chargingSchedule.chargingSchedulePeriod[0].startPeriod"),
        (V201, "K01.FR.31", "chargingSchedule[0].chargingSchedulePeriod[0].startPeriod"),
    ],
)
def test_K01_FR_31_R16_09_first_start_period_must_be_zero(version, rule_id, path):
    finding = only(check(profile(period(120), period(300)), version), rule_id)
    assert finding.path == path and finding.severity is Severity.ERROR


def test_R16_09_a_16_schedule_without_periods():
    empty = profile(schedules=(schedule(),))
    empty = with_schedule(empty, periods=())
    assert only(check(empty, V16), "R16-09").path == "chargingSchedule.chargingSchedulePeriod"


@pytest.mark.parametrize("version", VERSIONS)
def test_K01_FR_35_start_periods_strictly_increase(version):
    findings = check(profile(period(0), period(600), period(600), period(300)), version)
    assert [f.path[-25:] for f in of_rule(findings, "K01.FR.35")] == [
        "dulePeriod[2].startPeriod",
        "dulePeriod[3].startPeriod",
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=86_399), unique=True, max_size=12))
def test_K01_FR_35_any_sorted_distinct_start_periods_pass(starts):
    periods = [period(0)] + [period(s) for s in sorted(starts)]
    assert error_ids(check(profile(*periods), V201)) == set()


def test_K01_FR_40_absolute_and_recurring_need_start_schedule():
    for kind, extra in ((ABSOLUTE, {}), (RECURRING, {"recurrency_kind": RecurrencyKind.DAILY})):
        p = with_schedule(profile(kind=kind, **extra), start_schedule=None)
        assert only(check(p, V201), "K01.FR.40").path == "chargingSchedule[0].startSchedule"


def test_K01_FR_41_relative_has_no_start_schedule():
    p = with_schedule(profile(kind=RELATIVE), start_schedule=T0)
    assert only(check(p, V21), "K01.FR.41").path == "chargingSchedule[0].startSchedule"
    assert check(profile(kind=RELATIVE), V21) == []


def test_WC_W04_16_start_schedule_vs_kind_is_only_a_warning():
    for p in (with_schedule(profile(), start_schedule=None), with_schedule(profile(kind=RELATIVE), start_schedule=T0)):
        findings = check(p, V16)
        assert only(findings, "WC-W04").path == "chargingSchedule.startSchedule" and not has_errors(findings)


@pytest.mark.parametrize("version", VERSIONS)
def test_E16_3_56_recurrency_kind_exactly_with_recurring(version):
    assert only(check(profile(kind=RECURRING), version), "E16-3.56").path == "recurrencyKind"
    assert only(check(profile(recurrency_kind=RecurrencyKind.DAILY), version), "E16-3.56").path == "recurrencyKind"
    assert check(profile(kind=RECURRING, recurrency_kind=RecurrencyKind.WEEKLY), version) == []


def test_E16_3_78_16_recurring_needs_start_schedule():
    p = with_schedule(profile(kind=RECURRING, recurrency_kind=RecurrencyKind.DAILY), start_schedule=None)
    assert error_ids(check(p, V16)) == {"E16-3.78"}


def test_WC_W05_nothing_beyond_the_recurrence_period_is_executed():
    daily = profile(period(0), period(90_000), kind=RECURRING, recurrency_kind=RecurrencyKind.DAILY)
    daily = with_schedule(daily, duration=100_000)
    findings = check(daily, V201)
    assert {f.path for f in of_rule(findings, "WC-W05")} == {
        "chargingSchedule[0].duration",
        "chargingSchedule[0].chargingSchedulePeriod[1].startPeriod",
    }
    weekly = profile(period(0), period(90_000), kind=RECURRING, recurrency_kind=RecurrencyKind.WEEKLY)
    assert of_rule(check(weekly, V201), "WC-W05") == []


@pytest.mark.parametrize("version", VERSIONS)
def test_K01_FR_11_periods_at_or_after_duration_never_run(version):
    p = with_schedule(profile(period(0), period(3600), period(7200)), duration=3600)
    findings = check(p, version)
    assert [f.path[-25:] for f in of_rule(findings, "K01.FR.11")] == [
        "dulePeriod[1].startPeriod",
        "dulePeriod[2].startPeriod",
    ]
    assert not has_errors(findings)


def test_WC_E11_duration_is_positive():
    for bad in (0, -60):
        assert only(check(with_schedule(profile(), duration=bad), V201), "WC-E11").path.endswith("duration")


def test_WC_E12_valid_to_after_valid_from():
    assert only(check(profile(valid_from=NOW, valid_to=NOW), V16), "WC-E12").path == "validTo"
    assert error_ids(check(profile(valid_from=NOW, valid_to=NOW + timedelta(seconds=1)), V16, now=NOW)) == set()


def test_WC_W06_valid_to_already_passed():
    ended = profile(valid_to=NOW - timedelta(hours=1))
    assert only(check(ended, V201, now=NOW), "WC-W06").severity is Severity.WARNING
    assert of_rule(check(ended, V201), "WC-W06") == []  # without the clock the rule stays silent


def test_K01_FR_34_one_schedule_without_iso_15118():
    two = profile(schedules=(schedule(), schedule(id=2)))
    assert only(check(two, V201), "K01.FR.34").path == "chargingSchedule"
    assert check(two, V201, iso15118=True) == []
    tariff = with_schedule(profile(), extra={"salesTariff": {"id": 1, "salesTariffEntry": []}})
    assert only(check(tariff, V201), "K01.FR.34").path == "chargingSchedule[0].salesTariff"


def test_WC_W07_limit_zero_as_a_pause_is_flagged_for_verification():
    findings = check(profile(period(0, limit=0.0), period(600)), V16)
    assert only(findings, "WC-W07").path == "chargingSchedule.chargingSchedulePeriod[0].limit"
    assert not has_errors(findings)


@settings(max_examples=60, deadline=None)
@given(
    version=st.sampled_from(VERSIONS),
    purpose=st.sampled_from([MAX, profile().purpose]),
    tenths=st.lists(st.integers(min_value=0, max_value=800), min_size=1, max_size=6),
    stack_level=st.integers(min_value=0, max_value=3),
)
def test_well_built_profiles_pass_every_rule(version, purpose, tenths, stack_level):
    periods = [period(i * 900, limit=t / 10 or 6.0) for i, t in enumerate(tenths)]
    p = profile(*periods, purpose=purpose, stack_level=stack_level)
    assert error_ids(check(p, version, evse_id=0, station=station(max_stack_level=3))) == set()


def test_a_tx_profile_for_the_running_transaction_passes():
    assert check(tx_profile(), V201, transactions=[running()], now=NOW) == []
    assert tx_profile().purpose is TX
