"""Rules against what the station holds and runs: transactions, duplicates, capacity, and live-update advice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattcap.core.validation import ReasonCode, Severity, has_errors

from .validation_helpers import (
    EXTERNAL,
    MAX,
    NOW,
    RELATIVE,
    REMOTE_START,
    T0,
    TX_DEFAULT,
    TX_ID,
    V16,
    V21,
    V201,
    check,
    error_ids,
    held,
    of_rule,
    only,
    profile,
    remote_start_profile,
    running,
    station,
    tx_profile,
    with_schedule,
)

HOUR = timedelta(hours=1)

# --- the transaction a TxProfile names ----------------------------------------------------------------------


@pytest.mark.parametrize(("version", "rule_id"), [(V16, "R16-03"), (V201, "K01.FR.09")])
def test_R16_03_K01_FR_09_tx_profile_needs_a_running_transaction(version, rule_id):
    finding = only(check(tx_profile(), version, transactions=[running(evse_id=2)]), rule_id)
    assert finding.reason_code is (ReasonCode.TX_NOT_FOUND if version is V201 else None)
    assert check(tx_profile(), version, transactions=[running(evse_id=1)]) == []


@pytest.mark.parametrize(("version", "rule_id"), [(V16, "R16-04"), (V201, "K01.FR.33")])
def test_R16_04_K01_FR_33_transaction_id_must_be_the_running_one(version, rule_id):
    elsewhere = [running(evse_id=1, transaction_id="77"), running(evse_id=2, transaction_id=TX_ID)]
    finding = only(check(tx_profile(), version, transactions=elsewhere), rule_id)
    assert finding.path == "transactionId" and "runs on" in finding.message
    assert error_ids(check(tx_profile(), version, transactions=[running()])) == set()


def test_K01_FR_33_unknown_transaction_ids_are_not_guessed():
    assert check(tx_profile(), V201, transactions=[running(transaction_id=None)]) == []


# --- what is installed --------------------------------------------------------------------------------------


def test_K01_FR_05_the_csms_cannot_replace_external_constraints():
    installed = [held(1, profile(id=5, purpose=EXTERNAL))]
    assert only(check(profile(id=5), V201, installed=installed), "K01.FR.05").path == "id"
    assert check(profile(id=6), V201, installed=installed) == []


def _window(start, end, **kw):
    return profile(valid_from=start, valid_to=end, **kw)


@pytest.mark.parametrize(
    ("theirs", "mine", "clash"),
    [
        ((None, None), (None, None), True),  # absent validity is unbounded
        ((T0, T0 + HOUR), (T0 + HOUR, None), False),  # validTo is excluded: back to back is fine
        ((T0, T0 + HOUR), (T0 + HOUR / 2, T0 + 2 * HOUR), True),
        ((T0 + HOUR, None), (None, T0 + HOUR), False),
        ((T0 + HOUR, None), (None, T0 + 2 * HOUR), True),
    ],
)
def test_K01_FR_06_duplicate_stack_level_purpose_evse_with_overlapping_validity(theirs, mine, clash):
    installed = [held(1, _window(*theirs, id=1))]
    findings = check(_window(*mine, id=2), V201, installed=installed)
    assert bool(of_rule(findings, "K01.FR.06")) is clash
    if clash:
        assert only(findings, "K01.FR.06").reason_code is ReasonCode.DUPLICATE_PROFILE


def test_K01_FR_06_same_id_replaces_and_other_evses_or_levels_do_not_clash():
    installed = [held(1, profile(id=1)), held(2, profile(id=3)), held(1, profile(id=4, stack_level=1))]
    assert of_rule(check(profile(id=1), V201, installed=installed), "K01.FR.06") == []
    assert only(check(profile(id=9), V201, installed=installed), "K01.FR.06").path == "stackLevel"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=10)), min_size=4, max_size=4))
def test_K01_FR_06_overlap_is_symmetric(hours):
    a = [None if h is None else T0 + h * HOUR for h in hours[:2]]
    b = [None if h is None else T0 + h * HOUR for h in hours[2:]]
    one = bool(of_rule(check(_window(*b, id=2), V201, installed=[held(1, _window(*a, id=1))]), "K01.FR.06"))
    other = bool(of_rule(check(_window(*a, id=1), V201, installed=[held(1, _window(*b, id=2))]), "K01.FR.06"))
    assert one is other


def test_K01_FR_52_station_tx_default_at_a_level_an_evse_uses():
    installed = [held(2, profile(id=1, purpose=TX_DEFAULT))]
    finding = only(check(profile(id=2), V201, evse_id=0, installed=installed), "K01.FR.52")
    assert finding.reason_code is ReasonCode.DUPLICATE_PROFILE
    assert check(profile(id=2, stack_level=1), V201, evse_id=0, installed=installed) == []


def test_K01_FR_53_evse_tx_default_at_a_level_the_station_uses():
    installed = [held(0, profile(id=1))]
    assert only(check(profile(id=2), V21, evse_id=2, installed=installed), "K01.FR.53").path == "stackLevel"


def test_WC_W13_16_station_and_connector_tx_default_at_one_level_is_only_advice():
    installed = [held(0, profile(id=1))]
    findings = check(profile(id=2), V16, evse_id=1, installed=installed)
    assert only(findings, "WC-W13").severity is Severity.WARNING and not has_errors(findings)
    assert only(check(profile(id=1), V16, evse_id=0, installed=[held(1, profile(id=2))]), "WC-W13")


def test_K01_FR_39_one_tx_profile_per_stack_level_and_transaction():
    installed = [held(1, tx_profile(id=1))]
    finding = only(check(tx_profile(id=2), V201, installed=installed, transactions=[running()]), "K01.FR.39")
    assert finding.reason_code is ReasonCode.INVALID_STACK_LEVEL
    assert check(tx_profile(id=1), V201, installed=installed, transactions=[running()]) == []
    assert check(tx_profile(id=2, stack_level=1), V201, installed=installed, transactions=[running()]) == []


@pytest.mark.parametrize(
    ("version", "new", "fits"),
    [
        (V201, profile(id=1), True),  # same id: replaces
        (V201, profile(id=9, stack_level=1), False),
        (V16, profile(id=9), True),  # 1.6: same stack level and purpose on the connector replaces (R16-05)
        (V16, profile(id=9, stack_level=1), False),
    ],
)
def test_WC_E04_max_installed_profiles_counts_what_the_station_would_hold(version, new, fits):
    installed = [held(1, profile(id=1)), held(0, profile(id=2, purpose=MAX))]
    findings = check(new, version, installed=installed, station=station(max_installed_profiles=2))
    assert (of_rule(findings, "WC-E04") == []) is fits


def test_WC_E04_a_remote_start_profile_is_installed_too():
    installed = [held(0, profile(id=2, purpose=MAX))]
    findings = check(remote_start_profile(id=3), V201, context=REMOTE_START, installed=installed,
                     station=station(max_installed_profiles=1))
    assert only(findings, "WC-E04").reason_code is ReasonCode.TOO_MANY_ELEMENTS


# --- advice for live updates --------------------------------------------------------------------------------


def test_WC_W10_valid_to_is_no_safety_cap_unless_something_takes_over():
    capped = profile(id=2, purpose=MAX, valid_to=NOW + HOUR)
    findings = check(capped, V201, evse_id=0)
    assert only(findings, "WC-W10").path == "validTo" and not has_errors(findings)
    successor = held(0, profile(id=3, purpose=MAX, stack_level=1, valid_from=NOW + HOUR))
    assert check(capped, V201, evse_id=0, installed=[successor]) == []


def test_WC_W11_absolute_tx_profile_starting_in_the_future_leaves_a_gap():
    later = with_schedule(tx_profile(), start_schedule=NOW + timedelta(minutes=5))
    findings = check(later, V201, transactions=[running()], now=NOW)
    assert only(findings, "WC-W11").path == "chargingSchedule[0].startSchedule"
    assert check(with_schedule(later, start_schedule=NOW - timedelta(minutes=1)), V201,
                 transactions=[running()], now=NOW) == []
    assert check(later, V201, transactions=[running()]) == []  # without the clock the rule stays silent


def test_WC_W12_relative_profile_for_a_mid_session_update():
    relative = tx_profile(kind=RELATIVE)
    assert only(check(relative, V201, transactions=[running()]), "WC-W12").path == "chargingProfileKind"
    tx_default = profile(kind=RELATIVE)
    assert only(check(tx_default, V21, evse_id=0, transactions=[running(evse_id=2)]), "WC-W12")
    assert check(tx_default, V21) == []


def test_WC_W14_16_tx_default_during_a_transaction_may_wait_for_the_next_one():
    findings = check(profile(), V16, transactions=[running()])
    assert only(findings, "WC-W14").path == "chargingProfilePurpose"
    assert check(profile(), V201, transactions=[running()]) == []  # K01.FR.32 makes 2.0.1 chargers switch
