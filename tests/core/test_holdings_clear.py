"""ClearChargingProfile in 1.6 (R16-11, E16 3.25/3.26) and 2.0.1 (K10); the wire requests: tests/ocpp_adapters."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from wattcap.core.holdings import ChargerHoldings
from wattcap.core.holdings_clear import (
    ClearChargingProfileRequest,
    ClearChargingProfileStatus,
    clear_charging_profiles,
)
from wattcap.core.model import ChargingLimitSource, OcppVersion

from .holdings_helpers import EXTERNAL, MAX, TX, TX_DEFAULT, holdings_of, install_all, installs, make_profile

V16 = OcppVersion.V16
V201 = OcppVersion.V201
ACCEPTED = ClearChargingProfileStatus.ACCEPTED
UNKNOWN = ClearChargingProfileStatus.UNKNOWN
Req = ClearChargingProfileRequest


def station(version: OcppVersion) -> ChargerHoldings:
    """Max on 0 (id 1), TxDefault on 0 level 0 (id 2), TxDefault on 1 level 1 (id 3), TxProfile on 1 (id 4)."""
    return holdings_of(
        version,
        (0, make_profile(1, purpose=MAX)),
        (0, make_profile(2, purpose=TX_DEFAULT, stack_level=0)),
        (1, make_profile(3, purpose=TX_DEFAULT, stack_level=1)),
        (1, make_profile(4, purpose=TX, stack_level=0, transaction_id="7")),
    )


def with_external(holdings: ChargerHoldings) -> ChargerHoldings:
    return holdings.install(1, make_profile(9, purpose=EXTERNAL), ChargingLimitSource.EMS)


def cleared_ids(holdings: ChargerHoldings, request: ClearChargingProfileRequest) -> tuple[list[int], str]:
    result = clear_charging_profiles(holdings, request)
    return sorted(e.profile.id for e in result.cleared), result.status


# ---- 1.6 --------------------------------------------------------------------------------------------------


def test_R16_11_clear_by_id():
    assert cleared_ids(station(V16), Req(profile_id=3)) == ([3], ACCEPTED)


def test_R16_11_id_overrides_every_other_field():
    request = Req(profile_id=3, evse_id=0, purpose=MAX, stack_level=5)
    assert cleared_ids(station(V16), request) == ([3], ACCEPTED)


def test_R16_11_fields_match_as_logical_and():
    assert cleared_ids(station(V16), Req(purpose=TX_DEFAULT, stack_level=0)) == ([2], ACCEPTED)
    assert cleared_ids(station(V16), Req(purpose=TX_DEFAULT)) == ([2, 3], ACCEPTED)
    assert cleared_ids(station(V16), Req(evse_id=1, stack_level=0)) == ([4], ACCEPTED)


def test_R16_11_connector_0_means_the_profiles_for_the_overall_charge_point():
    assert cleared_ids(station(V16), Req(evse_id=0)) == ([1, 2], ACCEPTED)


def test_R16_11_connector_id_targets_that_connectors_own_profiles_not_connector_0_ones():
    assert cleared_ids(station(V16), Req(evse_id=1, purpose=TX_DEFAULT, stack_level=0)) == ([], UNKNOWN)


def test_R16_11_empty_request_clears_all():
    result = clear_charging_profiles(station(V16), Req())
    assert (len(result.holdings), len(result.cleared), result.status) == (0, 4, ACCEPTED)


@pytest.mark.parametrize("request_", [Req(profile_id=99), Req(purpose=TX_DEFAULT, stack_level=3), Req(evse_id=2)])
def test_R16_11_no_match_is_unknown_and_changes_nothing(request_):
    holdings = station(V16)
    assert clear_charging_profiles(holdings, request_) == (holdings, (), UNKNOWN)


def test_R16_11_E4_tc_067_clear_sequence():
    holdings = holdings_of(
        V16,
        (1, make_profile(1, stack_level=1)),
        (1, make_profile(2, stack_level=0)),
        (0, make_profile(3, purpose=MAX)),
    )
    holdings, _, status_1 = clear_charging_profiles(holdings, Req(profile_id=1))
    holdings, _, status_2 = clear_charging_profiles(holdings, Req(purpose=TX_DEFAULT, stack_level=0))
    assert [e.profile.id for e in holdings] == [3]
    holdings, _, status_3 = clear_charging_profiles(holdings, Req())
    assert (len(holdings), status_1, status_2, status_3) == (0, ACCEPTED, ACCEPTED, ACCEPTED)


# ---- 2.0.1 ------------------------------------------------------------------------------------------------


def test_K10_FR_03_clear_by_id():
    assert cleared_ids(station(V201), Req(profile_id=2)) == ([2], ACCEPTED)


def test_K10_FR_03_id_wins_over_criteria():
    assert cleared_ids(station(V201), Req(profile_id=2, evse_id=1, purpose=TX)) == ([2], ACCEPTED)


def test_K10_FR_04_criteria_match_as_logical_and():
    assert cleared_ids(station(V201), Req(evse_id=0, purpose=TX_DEFAULT)) == ([2], ACCEPTED)
    assert cleared_ids(station(V201), Req(evse_id=1)) == ([3, 4], ACCEPTED)
    assert cleared_ids(station(V201), Req(stack_level=0)) == ([1, 2, 4], ACCEPTED)


def test_K10_FR_01_no_match_is_unknown():
    holdings = station(V201)
    assert clear_charging_profiles(holdings, Req(purpose=TX, evse_id=2)) == (holdings, (), UNKNOWN)


def test_K10_E20_3_179_empty_request_clears_all_but_external_constraints():
    holdings, cleared, status = clear_charging_profiles(with_external(station(V201)), Req())
    assert ([e.profile.id for e in holdings], len(cleared), status) == ([9], 4, ACCEPTED)


def test_K10_FR_06_criteria_naming_external_constraints_are_unknown():
    holdings = with_external(station(V201))
    assert clear_charging_profiles(holdings, Req(purpose=EXTERNAL)) == (holdings, (), UNKNOWN)
    assert clear_charging_profiles(holdings, Req(purpose=EXTERNAL, evse_id=1)) == (holdings, (), UNKNOWN)


def test_K10_FR_06_criteria_clears_skip_external_constraints():
    assert cleared_ids(with_external(station(V201)), Req(evse_id=1)) == ([3, 4], ACCEPTED)
    assert cleared_ids(with_external(station(V201)), Req(evse_id=1, stack_level=0, purpose=None)) == ([4], ACCEPTED)


def test_K10_FR_06_external_constraints_are_not_cleared_by_id_either():
    holdings = with_external(station(V201))
    assert clear_charging_profiles(holdings, Req(profile_id=9)) == (holdings, (), UNKNOWN)


def test_K10_FR_06_only_external_constraints_left_means_clear_all_is_unknown():
    holdings = with_external(ChargerHoldings.empty(V201))
    assert clear_charging_profiles(holdings, Req()).status is UNKNOWN


# ---- properties ---------------------------------------------------------------------------------------------

requests = st.builds(
    Req,
    profile_id=st.one_of(st.none(), st.integers(1, 7)),
    evse_id=st.one_of(st.none(), st.integers(0, 2)),
    purpose=st.one_of(st.none(), st.sampled_from([MAX, TX_DEFAULT, TX, EXTERNAL])),
    stack_level=st.one_of(st.none(), st.integers(0, 2)),
)


@pytest.mark.parametrize("version", [V16, V201])
@settings(deadline=None)
@given(data=st.data())
def test_R16_11_K10_FR_04_clearing_with_no_fields_leaves_no_csms_owned_profile(version, data):
    holdings = install_all(ChargerHoldings.empty(version), data.draw(st.lists(installs(version), max_size=20)))
    remaining, _, _ = clear_charging_profiles(holdings, Req())
    assert all(e.profile.purpose is EXTERNAL for e in remaining)
    assert remaining.entries == tuple(e for e in holdings if e.profile.purpose is EXTERNAL)


@pytest.mark.parametrize("version", [V16, V201])
@settings(deadline=None)
@given(data=st.data())
def test_R16_11_K10_FR_03_install_then_clear_by_id_restores_the_previous_set(version, data):
    """... minus what the install replaced; with a fresh id and free slot, exactly the previous set."""
    holdings = install_all(ChargerHoldings.empty(version), data.draw(st.lists(installs(version), max_size=15)))
    evse_id, profile, _ = data.draw(installs(version))
    assume(profile.purpose is not EXTERNAL and not holdings.blocked_by(evse_id, profile))
    replaced = holdings.would_replace(evse_id, profile)
    restored, cleared, status = clear_charging_profiles(holdings.install(evse_id, profile), Req(profile_id=profile.id))
    assert (restored, [e.profile for e in cleared], status) == (holdings.without(replaced), [profile], ACCEPTED)
    if not replaced:
        assert restored == holdings


@pytest.mark.parametrize("version", [V16, V201])
@settings(deadline=None)
@given(data=st.data())
def test_R16_11_K10_FR_01_a_clear_partitions_the_holdings(version, data):
    holdings = install_all(ChargerHoldings.empty(version), data.draw(st.lists(installs(version), max_size=20)))
    request = data.draw(requests)
    remaining, cleared, status = clear_charging_profiles(holdings, request)
    assert Counter(remaining.entries) + Counter(cleared) == Counter(holdings.entries)
    assert (status is ACCEPTED) == bool(cleared)
    assert all(request.matches(e) for e in cleared)
    assert not any(e.profile.purpose is EXTERNAL for e in cleared)
