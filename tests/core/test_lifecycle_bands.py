"""Purpose bands and id / stack-level allocation (A1, A2, A4, A5, R16-05, K01.FR.06, K01.FR.39, K01.FR.52/53)."""

from __future__ import annotations

import pytest

from wattcap.core.holdings_policy import V16_POLICY, V201_POLICY, StackLevelScope
from wattcap.core.lifecycle import DEFAULT_BANDS, AllocationError, BandTable, PurposeBand, allocate, prepare_profile
from wattcap.core.model import InstalledProfile

from .holdings_helpers import MAX, TX, TX_DEFAULT, make_profile


def held(evse_id: int, profile_id: int, stack_level: int, purpose=TX_DEFAULT, **kw) -> InstalledProfile:
    return InstalledProfile(evse_id, make_profile(profile_id, stack_level=stack_level, purpose=purpose, **kw))


def test_default_bands_give_each_purpose_disjoint_levels_and_ids():
    for a in DEFAULT_BANDS:
        for b in DEFAULT_BANDS:
            if a is not b:
                assert a.last_id < b.first_id or b.last_id < a.first_id
                if a.purpose is b.purpose:
                    assert a.high < b.low or b.high < a.low
    # The operator's override sits above wattcap's band of the same purpose, so it prevails by stacking.
    assert DEFAULT_BANDS["operator-cap"].low > DEFAULT_BANDS["site-cap"].high


def test_band_table_refuses_shared_ids_or_levels():
    a = PurposeBand("a", MAX, 0, 0, "wattcap", 1, 10)
    with pytest.raises(ValueError, match="share profile ids"):
        BandTable([a, PurposeBand("b", TX_DEFAULT, 0, 0, "wattcap", 10, 20)])
    with pytest.raises(ValueError, match="share stack levels"):
        BandTable([a, PurposeBand("b", MAX, 0, 1, "operator", 11, 20)])
    with pytest.raises(KeyError, match="known: a"):
        BandTable([a])["nope"]


def test_first_allocation_takes_the_lowest_id_and_level_of_the_band():
    slot = allocate(DEFAULT_BANDS, "default", 1, occupants=(), policy=V201_POLICY, max_stack_level=None)
    assert (slot.profile_id, slot.stack_level) == (30_000, 0)
    assert DEFAULT_BANDS.band_of(30_000).name == "default" and DEFAULT_BANDS.band_of(7) is None


def test_ids_held_by_others_are_never_reused():
    # Another system happens to use an id inside wattcap's block: wattcap skips it.
    others = [held(2, 30_000, 5)]
    slot = allocate(DEFAULT_BANDS, "default", 1, occupants=others, policy=V201_POLICY, max_stack_level=None)
    assert slot.profile_id == 30_001


def test_K01_FR_06_no_second_id_at_the_same_stack_level_purpose_and_evse():
    mine = [held(1, 30_000, 0)]
    slot = allocate(DEFAULT_BANDS, "default", 1, occupants=mine, policy=V201_POLICY, max_stack_level=None)
    assert slot.stack_level == 1
    # Another EVSE is another (stackLevel, purpose, evse) combination in 2.0.1.
    other_evse = allocate(DEFAULT_BANDS, "default", 2, occupants=mine, policy=V201_POLICY, max_stack_level=None)
    assert other_evse.stack_level == 0


def test_K01_FR_52_53_station_and_evse_defaults_get_different_levels():
    station_wide = [held(0, 30_000, 0)]
    slot = allocate(DEFAULT_BANDS, "default", 1, occupants=station_wide, policy=V201_POLICY, max_stack_level=None)
    assert slot.stack_level == 1  # A4: 0 for the station, 1 for the EVSE override
    evse_first = [held(2, 30_000, 0)]
    slot = allocate(DEFAULT_BANDS, "default", 0, occupants=evse_first, policy=V16_POLICY, max_stack_level=None)
    assert slot.stack_level == 1


def test_K01_FR_39_second_tx_profile_of_a_transaction_gets_another_level():
    remote_start = [held(1, 50_000, 0, purpose=TX, transaction_id="tx-1")]
    slot = allocate(DEFAULT_BANDS, "session", 1, occupants=remote_start, policy=V201_POLICY, max_stack_level=None)
    assert (slot.profile_id, slot.stack_level) == (50_001, 1)


def test_R16_05_a_new_profile_never_replaces_another_by_stack_level():
    # 1.6: the same (stackLevel, purpose) on the connector would silently replace profile 30_000.
    mine = [held(1, 30_000, 0)]
    slot = allocate(DEFAULT_BANDS, "default", 1, occupants=mine, policy=V16_POLICY, max_stack_level=None)
    assert slot.stack_level != 0


def test_A1_v16_levels_of_other_systems_are_avoided_on_every_connector():
    # Another system's TxDefault at level 0 on connector 2: a 1.6 charger reading "in a Charge Point" literally
    # would let wattcap's level-0 profile on connector 1 replace it.
    foreign = [held(2, 77, 0)]
    slot = allocate(DEFAULT_BANDS, "default", 1, occupants=foreign, policy=V16_POLICY, max_stack_level=None)
    assert slot.stack_level == 1
    # 2.0.1 replaces only by id: the other connector's level is free there.
    slot = allocate(DEFAULT_BANDS, "default", 1, occupants=foreign, policy=V201_POLICY, max_stack_level=None)
    assert slot.stack_level == 0


def test_A1_literal_per_charge_point_scope_also_separates_wattcaps_own_connectors():
    from dataclasses import replace

    literal = replace(V16_POLICY, stack_level_scope=StackLevelScope.PER_CHARGE_POINT)
    mine = [held(2, 30_000, 0)]
    for policy, level in ((literal, 1), (V16_POLICY, 0)):
        slot = allocate(DEFAULT_BANDS, "default", 1, occupants=mine, policy=policy, max_stack_level=None)
        assert slot.stack_level == level


def test_A5_max_stack_level_is_inclusive_and_bounds_the_band():
    assert allocate(DEFAULT_BANDS, "site-cap", 0, occupants=(), policy=V16_POLICY, max_stack_level=0).stack_level == 0
    with pytest.raises(AllocationError, match="at most 0"):
        allocate(DEFAULT_BANDS, "operator-cap", 0, occupants=(), policy=V16_POLICY, max_stack_level=0)
    # Level 1 of the default band is above this station's maximum, so a second default has nowhere to go.
    with pytest.raises(AllocationError, match="no free stack level"):
        allocate(DEFAULT_BANDS, "default", 1, occupants=[held(1, 30_000, 0)], policy=V201_POLICY, max_stack_level=0)


def test_an_exhausted_id_block_is_an_error():
    tiny = BandTable([PurposeBand("t", TX_DEFAULT, 0, 3, "wattcap", 1, 1)])
    with pytest.raises(AllocationError, match="used all of its ids"):
        allocate(tiny, "t", 2, occupants=[held(1, 1, 0)], policy=V201_POLICY, max_stack_level=None)


def test_A20_prepared_profiles_carry_limits_with_one_fraction_digit_truncated():
    template = make_profile(1, limit=21.399999999999995, schedule_id=None)
    prepared = prepare_profile(template, profile_id=30_000, stack_level=1, purpose=TX_DEFAULT)
    assert (prepared.id, prepared.stack_level, prepared.schedule.id) == (30_000, 1, 0)
    assert prepared.schedule.periods[0].limit == 21.4  # the float artefact goes, the intended value stays
    assert prepare_profile(make_profile(1, limit=8.6956), profile_id=1, stack_level=0,
                           purpose=TX_DEFAULT).schedule.periods[0].limit == 8.6  # truncated, never rounded up
