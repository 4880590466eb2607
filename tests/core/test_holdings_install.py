"""Install, replace, apply and forget: the holdings' rules per OCPP version."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from wattcap.core.holdings import ChargerHoldings, HeldProfile, ProtectedProfileError
from wattcap.core.holdings_policy import (
    V16_POLICY,
    V201_POLICY,
    StackLevelScope,
    TxDefaultShadowing,
    install_policy,
)
from wattcap.core.model import ChargingLimitSource, OcppVersion

from .holdings_helpers import EXTERNAL, MAX, TX, TX_DEFAULT, holdings_of, install_all, installs, make_profile

V16 = OcppVersion.V16
V201 = OcppVersion.V201
PER_CHARGE_POINT = replace(V16_POLICY, stack_level_scope=StackLevelScope.PER_CHARGE_POINT)


def ids(holdings: ChargerHoldings) -> list[int]:
    return [e.profile.id for e in holdings]


def applicable_ids(holdings: ChargerHoldings, evse_id: int, transaction_id: str | None = None) -> set[int]:
    return {p.profile.id for p in holdings.applicable(evse_id, transaction_id=transaction_id)}


# ---- 1.6 R16-05: same id, or same (stackLevel, purpose), replaces ------------------------------------------


def test_R16_05_same_id_replaces_even_on_another_connector():
    holdings = holdings_of(V16, (1, make_profile(7, stack_level=0, limit=10)), (2, make_profile(7, stack_level=1)))
    assert [(e.evse_id, e.profile.stack_level) for e in holdings] == [(2, 1)]


def test_R16_05_same_stack_level_and_purpose_replaces():
    holdings = holdings_of(V16, (1, make_profile(1, stack_level=2, limit=10)), (1, make_profile(2, stack_level=2)))
    assert ids(holdings) == [2]


def test_R16_05_different_stack_level_or_purpose_is_added():
    holdings = holdings_of(
        V16,
        (1, make_profile(1, stack_level=0)),
        (1, make_profile(2, stack_level=1)),
        (1, make_profile(3, stack_level=0, purpose=TX, transaction_id="5")),
    )
    assert ids(holdings) == [1, 2, 3]


def test_R16_05_A1_default_scope_is_per_connector():
    holdings = holdings_of(V16, (1, make_profile(1, stack_level=1)), (2, make_profile(2, stack_level=1)))
    assert ids(holdings) == [1, 2]


def test_R16_05_A1_literal_per_charge_point_scope_replaces_across_connectors():
    holdings = holdings_of(PER_CHARGE_POINT, (1, make_profile(1, stack_level=1)), (2, make_profile(2, stack_level=1)))
    assert [(e.evse_id, e.profile.id) for e in holdings] == [(2, 2)]


def test_R16_05_one_install_can_replace_by_id_and_by_stack_level_at_once():
    holdings = holdings_of(V16, (1, make_profile(1, stack_level=0)), (1, make_profile(2, stack_level=1)))
    incoming = make_profile(1, stack_level=1)
    assert ids(ChargerHoldings(V16_POLICY, holdings.would_replace(1, incoming))) == [1, 2]
    assert ids(holdings.install(1, incoming)) == [1]


# ---- 2.0.1 A2 / K01.FR.05: only the same id replaces; ExternalConstraints are the station's ---------------------


def test_K01_FR_05_same_id_replaces():
    holdings = holdings_of(V201, (1, make_profile(4, limit=8)), (1, make_profile(4, limit=6)))
    assert [e.profile.schedule.periods[0].limit for e in holdings] == [6]


def test_K01_FR_05_A2_same_stack_level_and_purpose_with_another_id_is_added():
    holdings = holdings_of(V201, (1, make_profile(1, stack_level=1)), (1, make_profile(2, stack_level=1)))
    assert ids(holdings) == [1, 2]


def test_K01_FR_05_csms_cannot_replace_external_constraints():
    holdings = holdings_of(V201, (0, make_profile(9, purpose=EXTERNAL), ChargingLimitSource.EMS))
    incoming = make_profile(9, purpose=TX_DEFAULT)
    assert ids(ChargerHoldings(V201_POLICY, holdings.blocked_by(1, incoming))) == [9]
    with pytest.raises(ProtectedProfileError):
        holdings.install(1, incoming)


def test_K01_FR_05_external_actor_updates_its_own_constraint_by_id():
    holdings = holdings_of(
        V201,
        (0, make_profile(9, purpose=EXTERNAL, limit=20), ChargingLimitSource.EMS),
        (0, make_profile(9, purpose=EXTERNAL, limit=12), ChargingLimitSource.EMS),
    )
    assert [(e.profile.id, e.profile.schedule.periods[0].limit, e.source) for e in holdings] == [(9, 12, "EMS")]


# ---- where profiles apply: K01.FR.14/15, R16-06, A4 -----------------------------------------------------------


@pytest.mark.parametrize("version", [V16, V201])
def test_K01_FR_14_station_tx_default_applies_to_each_evse(version):
    holdings = holdings_of(version, (0, make_profile(1)), (0, make_profile(2, purpose=MAX)))
    assert applicable_ids(holdings, 1) == applicable_ids(holdings, 2) == {1, 2}


@pytest.mark.parametrize("version", [V16, V201])
def test_K01_FR_15_evse_profile_applies_to_that_evse_only(version):
    holdings = holdings_of(version, (1, make_profile(1, stack_level=1)))
    assert (applicable_ids(holdings, 1), applicable_ids(holdings, 2)) == ({1}, set())


def test_R16_06_connector_tx_default_overrides_connector_0_for_that_connector_only():
    holdings = holdings_of(V16, (0, make_profile(1, stack_level=0)), (1, make_profile(2, stack_level=0)))
    assert ids(holdings) == [1, 2]
    assert applicable_ids(holdings, 1) == {2}
    assert applicable_ids(holdings, 2) == {1}


def test_R16_06_A4_everest_other_stack_levels_of_connector_0_still_apply():
    holdings = holdings_of(V16, (0, make_profile(1, stack_level=0)), (1, make_profile(2, stack_level=1)))
    assert applicable_ids(holdings, 1) == {1, 2}


def test_R16_06_A4_microocpp_connector_tx_default_hides_every_connector_0_one():
    policy = replace(V16_POLICY, tx_default_shadowing=TxDefaultShadowing.WHOLE_PURPOSE)
    holdings = holdings_of(policy, (0, make_profile(1, stack_level=0)), (1, make_profile(2, stack_level=1)))
    assert (applicable_ids(holdings, 1), applicable_ids(holdings, 2)) == ({2}, {1})


def test_K01_FR_14_A4_evse_and_station_tx_defaults_compete_by_stack_level():
    holdings = holdings_of(V201, (0, make_profile(1, stack_level=0)), (1, make_profile(2, stack_level=1)))
    assert applicable_ids(holdings, 1) == {1, 2}


def test_K01_FR_14_tx_default_shadowing_leaves_other_station_purposes_alone():
    policy = replace(V16_POLICY, tx_default_shadowing=TxDefaultShadowing.WHOLE_PURPOSE)
    holdings = holdings_of(policy, (0, make_profile(1, purpose=MAX)), (1, make_profile(2)))
    assert applicable_ids(holdings, 1) == {1, 2}


def test_evse_0_gets_only_the_station_wide_profiles():
    holdings = holdings_of(V201, (0, make_profile(1, purpose=MAX)), (1, make_profile(2)))
    assert applicable_ids(holdings, 0) == {1}


def test_applicable_keeps_the_evse_a_profile_is_installed_on():
    holdings = holdings_of(V201, (0, make_profile(1)), (2, make_profile(2, stack_level=1)))
    assert sorted((p.evse_id, p.profile.id) for p in holdings.applicable(2, transaction_id=None)) == [(0, 1), (2, 2)]


@pytest.mark.parametrize("version", [V16, V201])
def test_K01_FR_04_tx_profile_applies_only_to_its_transaction(version):
    holdings = holdings_of(version, (1, make_profile(1, purpose=TX, transaction_id="77")))
    assert applicable_ids(holdings, 1, "77") == {1}
    assert applicable_ids(holdings, 1, "78") == set()
    assert applicable_ids(holdings, 1, None) == set()


# ---- RemoteStartTransaction: E16 3.41/3.42, S16 §5.16.2 ----------------------------------------------------


def test_E16_3_42_remote_start_profile_applies_to_the_new_transaction():
    holdings = ChargerHoldings.empty(V16).remote_start(1, make_profile(5, purpose=TX, stack_level=1))
    assert applicable_ids(holdings, 1, None) == {5}  # pending: it applies to whatever starts
    bound = holdings.bind_transaction(1, "42")
    assert bound.find(5).profile.transaction_id == "42"
    assert applicable_ids(bound, 1, "42") == {5}


def test_E16_3_42_set_profile_with_same_transaction_and_stack_level_replaces_remote_start_profile():
    holdings = ChargerHoldings.empty(V16).remote_start(1, make_profile(5, purpose=TX, stack_level=1))
    set_profile = make_profile(6, purpose=TX, stack_level=1, transaction_id="42")
    holdings = holdings.bind_transaction(1, "42").install(1, set_profile)
    assert ids(holdings) == [6]


def test_E16_3_42_set_profile_with_another_stack_level_stacks_next_to_remote_start_profile():
    holdings = ChargerHoldings.empty(V16).remote_start(1, make_profile(5, purpose=TX, stack_level=1))
    set_profile = make_profile(6, purpose=TX, stack_level=2, transaction_id="42")
    holdings = holdings.bind_transaction(1, "42").install(1, set_profile)
    assert applicable_ids(holdings, 1, "42") == {5, 6}


def test_bind_transaction_touches_only_unbound_tx_profiles_on_that_evse():
    holdings = holdings_of(
        V201,
        (1, make_profile(1, purpose=TX)),
        (2, make_profile(2, purpose=TX)),
        (1, make_profile(3, purpose=TX, stack_level=1, transaction_id="old")),
        (1, make_profile(4)),
    )
    bound = holdings.bind_transaction(1, "new")
    assert [e.profile.transaction_id for e in bound] == ["new", None, "old", None]


# ---- TxProfile lifecycle: S16 §7.10, A12 --------------------------------------------------------------------


@pytest.mark.parametrize("version", [V16, V201])
def test_S16_7_10_tx_profiles_cease_when_their_transaction_ends(version):
    holdings = holdings_of(
        version,
        (0, make_profile(1)),
        (1, make_profile(2, purpose=TX, transaction_id="42")),
        (1, make_profile(3, purpose=TX, stack_level=1)),  # set without transactionId during transaction 42 (1.6)
        (2, make_profile(4, purpose=TX, transaction_id="43")),
    )
    assert ids(holdings.end_transaction(1, "42")) == [1, 4]


def test_A12_station_that_keeps_stale_tx_profiles():
    policy = replace(V16_POLICY, deletes_ended_tx_profiles=False)
    holdings = holdings_of(policy, (1, make_profile(2, purpose=TX, transaction_id="42")))
    ended = holdings.end_transaction(1, "42")
    assert ended.count() == 1  # still held, still counts against MaxChargingProfilesInstalled
    assert applicable_ids(ended, 1, "43") == set()  # but no longer applies to the next transaction


def test_A12_stale_tx_profile_is_replaced_by_next_transactions_profile_at_same_level():
    policy = replace(V16_POLICY, deletes_ended_tx_profiles=False)
    holdings = holdings_of(policy, (1, make_profile(2, purpose=TX, transaction_id="42")))
    holdings = holdings.end_transaction(1, "42").install(1, make_profile(3, purpose=TX, transaction_id="43"))
    assert ids(holdings) == [3]


# ---- counting for capability checks -----------------------------------------------------------------------


def test_counts_per_purpose_and_evse():
    holdings = holdings_of(
        V201,
        (0, make_profile(1, purpose=MAX)),
        (0, make_profile(2)),
        (1, make_profile(3, stack_level=1)),
        (1, make_profile(4, purpose=TX, transaction_id="9")),
    )
    assert len(holdings) == holdings.count() == 4
    assert holdings.count(purpose=TX_DEFAULT) == 2
    assert holdings.count(evse_id=1) == 2
    assert holdings.count(purpose=TX_DEFAULT, evse_id=0) == 1
    assert holdings.count_by_purpose() == {MAX: 1, TX_DEFAULT: 2, TX: 1}
    assert holdings.count_by_evse() == {0: 2, 1: 2}


@pytest.mark.parametrize(
    ("version", "incoming", "expected"),
    [
        (V16, make_profile(9, stack_level=0), 2),  # replaces profile 1 by (stackLevel, purpose)
        (V201, make_profile(9, stack_level=0), 3),  # 2.0.1 adds it (the validator decides about K01.FR.06)
        (V201, make_profile(2, stack_level=5), 2),  # replaces profile 2 by id
    ],
)
def test_A12_count_after_install_is_what_the_capacity_check_compares(version, incoming, expected):
    holdings = holdings_of(version, (1, make_profile(1, stack_level=0)), (1, make_profile(2, stack_level=1)))
    assert holdings.count_after_install(1, incoming) == expected
    assert len(holdings.install(1, incoming)) == expected


def test_install_returns_a_new_value_and_leaves_the_old_one_alone():
    before = holdings_of(V201, (1, make_profile(1)))
    after = before.install(1, make_profile(2, stack_level=1))
    assert (ids(before), ids(after)) == ([1], [1, 2])


def test_policies_are_selected_per_version():
    assert install_policy("1.6").stack_level_scope is StackLevelScope.PER_CONNECTOR
    assert install_policy(OcppVersion.V201).stack_level_scope is None
    assert EXTERNAL in install_policy(OcppVersion.V21).csms_protected_purposes


# ---- properties -------------------------------------------------------------------------------------------


@settings(deadline=None)
@given(st.lists(installs(V201), max_size=25))
def test_K01_FR_05_2_0_1_holdings_never_hold_two_profiles_with_one_id(sequence):
    holdings = install_all(ChargerHoldings.empty(V201), sequence)
    assert len(set(ids(holdings))) == len(holdings)


@settings(deadline=None)
@given(st.lists(installs(V16), max_size=25), st.sampled_from([V16_POLICY, PER_CHARGE_POINT]))
def test_R16_05_1_6_holdings_hold_each_id_and_each_stack_level_purpose_once_per_scope(sequence, policy):
    holdings = install_all(ChargerHoldings.empty(policy), sequence)
    per_connector = policy.stack_level_scope is StackLevelScope.PER_CONNECTOR
    keys = [(e.evse_id if per_connector else None, e.profile.purpose, e.profile.stack_level) for e in holdings]
    assert len(set(ids(holdings))) == len(holdings)
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("version", [V16, V201])
@settings(deadline=None)
@given(data=st.data())
def test_R16_05_K01_FR_05_install_removes_only_what_the_version_says_it_replaces(version, data):
    holdings = install_all(ChargerHoldings.empty(version), data.draw(st.lists(installs(version), max_size=15)))
    evse_id, profile, source = data.draw(installs(version))
    assume(not holdings.blocked_by(evse_id, profile, source))
    gone = holdings.would_replace(evse_id, profile)
    for e in gone:
        same_slot = (e.evse_id, e.profile.purpose, e.profile.stack_level) == (
            evse_id,
            profile.purpose,
            profile.stack_level,
        )
        assert e.profile.id == profile.id or (version is V16 and same_slot)
    after = holdings.install(evse_id, profile, source)
    assert list(after) == [e for e in holdings if e not in gone] + [HeldProfile(evse_id, profile, source)]
