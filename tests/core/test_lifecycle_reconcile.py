"""Drift repair planning (A2, A12, A21, A25, K01.FR.05, K10.FR.06, E16 3.41) and write pacing (A21, K01.FR.56–59)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from wattcap.core.holdings import HeldProfile
from wattcap.core.lifecycle import (
    DEFAULT_BANDS,
    ActionKind,
    Desired,
    DesiredStatus,
    PendingWrite,
    WriteKey,
    plan_reconcile,
    plan_writes,
    retry_after_s,
)
from wattcap.core.model import ChargingProfileKind

from .holdings_helpers import EXTERNAL, MAX, T0, TX, TX_DEFAULT, make_profile

OWNS = DEFAULT_BANDS.owns


def kinds(actions):
    return [(a.kind, a.profile_id) for a in actions]


def test_nothing_to_do_when_the_charger_holds_what_wattcap_wants():
    p = make_profile(30_000)
    assert plan_reconcile([Desired(1, p, confirmed=True)], [HeldProfile(1, p)], owns=OWNS) == []


def test_a_forgotten_profile_is_set_again():
    p = make_profile(30_000)
    actions = plan_reconcile([Desired(1, p, confirmed=True)], [], owns=OWNS)
    assert kinds(actions) == [(ActionKind.SET, 30_000)] and actions[0].profile == p


def test_K01_FR_05_another_version_is_updated_by_id_never_cleared_and_set_again():
    wanted, old = make_profile(30_000, limit=10), make_profile(30_000, limit=16)
    actions = plan_reconcile([Desired(1, wanted, confirmed=True)], [HeldProfile(1, old)], owns=OWNS)
    assert kinds(actions) == [(ActionKind.UPDATE, 30_000)]  # A2, A21: one write, no unlimited gap
    moved = plan_reconcile([Desired(2, wanted)], [HeldProfile(1, wanted)], owns=OWNS)
    assert kinds(moved) == [(ActionKind.UPDATE, 30_000)]


def test_A12_stale_wattcap_profiles_are_cleared_by_id_others_are_left_alone():
    stale = HeldProfile(1, make_profile(50_003, purpose=TX, transaction_id="old"))
    foreign = HeldProfile(1, make_profile(7, stack_level=3))
    external = HeldProfile(0, make_profile(30_500, purpose=EXTERNAL), source="EMS")
    actions = plan_reconcile([], [stale, foreign, external], owns=OWNS)
    assert kinds(actions) == [(ActionKind.CLEAR, 50_003)]
    # Without knowing the bands nothing is cleared that wattcap did not ask to clear.
    assert plan_reconcile([], [stale], owns=None) == []


def test_K10_FR_06_external_constraints_are_never_cleared_even_under_a_wattcap_id():
    external = HeldProfile(0, make_profile(10_000, purpose=EXTERNAL), source="EMS")
    assert plan_reconcile([], [external], owns=OWNS) == []


def test_a_wanted_clear_is_sent_only_while_the_charger_still_holds_it():
    gone = Desired(1, make_profile(30_000), present=False)
    assert kinds(plan_reconcile([gone], [HeldProfile(1, make_profile(30_000))], owns=OWNS)) == [
        (ActionKind.CLEAR, 30_000)
    ]
    assert plan_reconcile([gone], [], owns=OWNS) == []
    assert kinds(plan_reconcile([gone], None)) == [(ActionKind.CLEAR, 30_000)]  # 1.6: cannot tell, clear


def test_E16_3_41_a_remote_start_profile_is_never_resent_or_cleared():
    unbound = make_profile(50_000, purpose=TX, kind=ChargingProfileKind.RELATIVE)
    assert plan_reconcile([Desired(1, unbound)], [], owns=OWNS) == []
    # Once the transaction started the charger reports it with the transactionId: still the same profile.
    bound = replace(unbound, transaction_id="tx-7")
    assert plan_reconcile([Desired(1, unbound)], [HeldProfile(1, bound)], owns=OWNS) == []


def test_order_is_updates_then_clears_then_sets():
    held = [HeldProfile(1, make_profile(30_001, limit=6)), HeldProfile(1, make_profile(30_009))]
    wanted = [Desired(1, make_profile(30_002)), Desired(1, make_profile(30_001, limit=8))]
    assert [a.kind for a in plan_reconcile(wanted, held, owns=OWNS)] == [
        ActionKind.UPDATE, ActionKind.CLEAR, ActionKind.SET,
    ]


def test_v16_without_a_listing_resends_unconfirmed_and_drifted_profiles():
    station_max = Desired(0, make_profile(10_000, purpose=MAX), confirmed=True)
    on_1 = Desired(1, make_profile(30_001), confirmed=True)
    on_2 = Desired(2, make_profile(30_002), confirmed=True)
    unsent = Desired(2, make_profile(30_003, stack_level=1))
    assert kinds(plan_reconcile([station_max, on_1, on_2, unsent], None)) == [(ActionKind.SET, 30_003)]
    # EVSE 1's composite drifted: its own profile and the station-wide one (which shapes it) are re-sent.
    assert kinds(plan_reconcile([station_max, on_1, on_2], None, drifted={1})) == [
        (ActionKind.UPDATE, 10_000), (ActionKind.UPDATE, 30_001),
    ]


def test_stored_statuses_map_to_the_planners_view():
    p = make_profile(30_000)
    assert Desired.from_status(1, p, "rejected") is None and Desired.from_status(1, p, "unsupported") is None
    assert Desired.from_status(1, p, DesiredStatus.CLEARING) == Desired(1, p, present=False)
    assert Desired.from_status(1, p, "installed") == Desired(1, p, confirmed=True)
    assert Desired.from_status(1, p, "no_answer") == Desired(1, p)


# ---- write pacing -----------------------------------------------------------------------------------------

KEY = WriteKey("CP1", TX_DEFAULT)
OTHER = WriteKey("CP1", MAX)


def write(key, profile_id, n):
    return PendingWrite(key, profile_id, sequence=n, token=n)


def test_A21_first_write_after_a_quiet_spell_goes_at_once():
    plan = plan_writes([write(KEY, 1, 1)], now=T0, last_sent={}, min_interval_s=15)
    assert [w.token for w in plan.send_now] == [1] and plan.next_due is None


def test_A21_rapid_changes_to_one_profile_collapse_into_the_last():
    pending = [write(KEY, 1, 1), write(KEY, 2, 2), write(KEY, 1, 3)]
    plan = plan_writes(pending, now=T0, last_sent={KEY: T0 - timedelta(seconds=5)}, min_interval_s=15)
    assert plan.send_now == () and plan.next_due == T0 + timedelta(seconds=10)
    assert plan.superseded == {1: 3}
    later = plan_writes(pending, now=T0 + timedelta(seconds=10), last_sent={KEY: T0 - timedelta(seconds=5)},
                        min_interval_s=15)
    assert [w.token for w in later.send_now] == [2, 3]  # submission order kept


def test_A21_pacing_is_per_station_and_purpose():
    last = {KEY: T0}
    plan = plan_writes([write(KEY, 1, 1), write(OTHER, 9, 2)], now=T0, last_sent=last, min_interval_s=15)
    assert [w.token for w in plan.send_now] == [2] and plan.next_due == T0 + timedelta(seconds=15)


def test_site_cap_writes_are_unpaced_but_still_honour_a_retry_hint():
    unpaced = PendingWrite(KEY, 2, sequence=2, token=2, paced=False)
    plan = plan_writes([write(KEY, 1, 1), unpaced], now=T0, last_sent={KEY: T0}, min_interval_s=15)
    assert [w.token for w in plan.send_now] == [2] and plan.next_due == T0 + timedelta(seconds=15)
    hint = {KEY: T0 + timedelta(seconds=9)}
    blocked = plan_writes([unpaced], now=T0, last_sent={}, min_interval_s=15, blocked_until=hint)
    assert blocked.send_now == () and blocked.next_due == T0 + timedelta(seconds=9)


def test_K01_FR_58_a_retry_hint_blocks_until_it_has_passed():
    blocked = {KEY: T0 + timedelta(seconds=40)}
    plan = plan_writes([write(KEY, 1, 1)], now=T0, last_sent={}, min_interval_s=15, blocked_until=blocked)
    assert plan.send_now == () and plan.next_due == T0 + timedelta(seconds=40)


def test_K01_FR_57_retry_hint_is_read_from_additional_info():
    assert retry_after_s("Retry after 45 seconds", 60) == 45
    assert retry_after_s("30s before retry", 60) == 30
    assert retry_after_s("flash busy", 60) == 60 and retry_after_s(None, 7) == 7
