"""What each check sends, and that the engine expects what each step intends: the plan's rules, by requirement."""

from __future__ import annotations

from datetime import timedelta

import pytest

from wattcap.acceptance.checks import ALL_CHECKS, AcceptanceTest, CheckVerdict, parse_checks, worst
from wattcap.acceptance.judge import intent_findings
from wattcap.acceptance.plan import (
    BAND_CAP,
    PLANNERS,
    AcceptanceSettings,
    ReadComposite,
    SetProfile,
    plan_boundaries,
    plan_fallback,
    plan_scope,
    plan_site_cap,
    plan_stack,
    site_peak,
    split_cap,
    station_max_profile,
)
from wattcap.core.model import (
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    OcppVersion,
    RecurrencyKind,
)

from .helpers import T0, Charger, at, config, facts, record, with_units

P = ChargingProfilePurpose
K = ChargingProfileKind
SETTINGS = AcceptanceSettings.simulated(10.0)


def sets(step) -> dict[str, SetProfile]:
    return {a.key: a for a in step.actions if isinstance(a, SetProfile)}


def steps_of(planner, f=None, settings=SETTINGS):
    f = f or facts()
    plans = planner(f, settings)
    out, now = [], T0
    for plan in plans:
        step = plan(now)
        out.append((now, step))
        now += timedelta(seconds=step.observe_s + 5)
    return out


# ---- the check names --------------------------------------------------------------------------------------


def test_checks_are_named_by_slug_display_name_or_number():
    assert parse_checks(["site-cap,3", "vendor variance"]) == (
        AcceptanceTest.SITE_CAP, AcceptanceTest.STACK_RESOLUTION, AcceptanceTest.VENDOR_VARIANCE,
    )
    with pytest.raises(ValueError, match="site-cap"):
        parse_checks(["nope"])


def test_the_worst_finding_decides_a_check():
    v = CheckVerdict
    assert worst([v.PASS, v.INCONCLUSIVE, v.UNSUPPORTED]) is v.UNSUPPORTED
    assert worst([v.UNSUPPORTED, v.FAIL]) is v.FAIL
    assert worst([]) is v.PASS
    assert v.FAIL.failed and v.UNSUPPORTED.failed and not v.INCONCLUSIVE.failed


# ---- 1. site cap ------------------------------------------------------------------------------------------


def test_A20_cap_shares_follow_the_evses_and_never_add_up_to_more_than_the_cap():
    shares = split_cap(100.0, {"CP1": 2, "CP2": 1, "CP3": 4})
    assert shares == {"CP1": 28.5, "CP2": 14.2, "CP3": 57.1}  # truncated to the wire grid, never rounded up
    assert sum(shares.values()) <= 100.0


def test_the_cap_steps_are_per_evse_levels_times_the_evses_under_test():
    steps = plan_site_cap(6, SETTINGS)
    assert [s.cap_a for s in steps] == [63.6, 43.8, 0.0, 74.4]
    assert "pause" in steps[2].expect


def test_K01_FR_38_A15_the_station_max_is_absolute_from_the_past_never_relative():
    profile = station_max_profile(facts(), 21.2, T0)
    assert profile.purpose is P.CHARGING_STATION_MAX and profile.kind is K.ABSOLUTE
    assert profile.schedule.start_schedule < T0 and profile.schedule.periods[0].limit == 21.2


# ---- 2. scope ---------------------------------------------------------------------------------------------


def test_K01_FR_14_R16_01_R16_02_scope_sends_station_wide_profiles_to_evse_0_and_tx_profiles_to_an_evse():
    steps = [step for _, step in steps_of(plan_scope)]
    wide, evse, tx, cap = (sets(s) for s in steps[1:])
    assert wide["wide"].evse_id == 0 and wide["wide"].profile.purpose is P.TX_DEFAULT
    assert evse["evse"].evse_id == 1 and evse["evse"].profile.purpose is P.TX_DEFAULT
    assert tx["tx"].evse_id == 2 and tx["tx"].profile.transaction_id == "tx-2"  # K01.FR.03, R16-15
    assert cap["max"].evse_id == 0 and cap["max"].band == BAND_CAP
    assert any(isinstance(a, ReadComposite) and a.evse_id == 0 for a in steps[-1].actions)


def test_A14_the_scope_station_max_binds_the_sum_not_each_evse():
    steps = [step for _, step in steps_of(plan_scope)]
    evse_limits = [i.limit for s in steps for i in s.intents if i.evse_id in (1, 2)]
    [station] = [i for i in steps[-1].intents if i.evse_id == 0]
    assert station.limit == 14 and station.limit < 11 + 7  # EVSE 1 at 11 A, EVSE 2 at 7 A: only the sum binds
    assert steps[1].intents[0].limit <= 10  # the first drop is from 32 A to 10 A or less (a 1 A/s ramp shows)
    assert max(evse_limits) <= 11


# ---- 3. stack resolution ----------------------------------------------------------------------------------


def test_R16_07_K01_FR_17_the_higher_level_ends_and_the_lower_one_applies_again():
    steps = [step for _, step in steps_of(plan_stack)]
    levels = sets(steps[1])
    assert {levels["low"].band, levels["high"].band} == {"default", "operator-default"}
    assert levels["high"].profile.schedule.duration is not None and levels["low"].profile.schedule.duration is None
    assert [(i.offset_s, i.limit) for i in steps[1].intents] == [(1, 8), (SETTINGS.edge_spacing_s + 1, 12)]


def test_R16_08_a_tx_profile_replaces_the_tx_default_it_is_not_combined_with_it():
    steps = [step for _, step in steps_of(plan_stack)]
    [intent] = steps[-1].intents
    assert intent.limit == 11 > 6  # the TxDefault in force is 6 A: min() would give 6


# ---- 4. boundaries ----------------------------------------------------------------------------------------


def test_K01_FR_30_K01_FR_36_K01_FR_37_boundaries_are_placed_ahead_by_the_lead_time():
    (now, step) = steps_of(plan_boundaries)[1]
    placed = sets(step)
    absolute, relative = placed["abs"].profile, placed["rel"].profile
    assert absolute.kind is K.ABSOLUTE and absolute.schedule.start_schedule >= now + timedelta(seconds=SETTINGS.lead_s)
    assert relative.kind is K.RELATIVE and relative.schedule.start_schedule is None  # K01.FR.41
    assert relative.valid_from == (now + timedelta(seconds=SETTINGS.lead_s)).replace(microsecond=0)
    assert relative.valid_to - relative.valid_from == timedelta(seconds=2 * SETTINGS.edge_spacing_s)
    assert absolute.schedule.periods[1].number_phases == 1  # the station can switch to one phase


def test_a_station_that_cannot_switch_phases_gets_no_one_phase_period():
    f = facts(config(switching=False))
    (_, step) = steps_of(plan_boundaries, f)[1]
    assert all(p.number_phases is None for p in sets(step)["abs"].profile.schedule.periods)


def test_A7_K01_FR_40_recurrences_restart_ahead_from_a_start_schedule_in_the_past():
    (now, step) = steps_of(plan_boundaries)[2]
    placed = sets(step)
    daily, weekly = placed["daily"].profile, placed["weekly"].profile
    assert (daily.recurrency_kind, weekly.recurrency_kind) == (RecurrencyKind.DAILY, RecurrencyKind.WEEKLY)
    assert daily.schedule.start_schedule + timedelta(days=1) == (now + timedelta(seconds=SETTINGS.lead_s)).replace(
        microsecond=0)
    assert weekly.schedule.start_schedule < now - timedelta(days=6)
    # 20:00 + lead: midnight is 4 h ahead, so the daily profile changes at 00:00 and the read-back reaches past it
    assert daily.schedule.periods[-1].start_period > 3 * 3600
    [read] = [a for a in step.actions if isinstance(a, ReadComposite)]
    assert read.duration_s > 4 * 3600


# ---- 6. fallback ------------------------------------------------------------------------------------------


def test_the_fallback_lease_ends_while_the_link_is_cut():
    (now, step) = steps_of(plan_fallback)[2]
    lease = sets(step)["lease"].profile
    cut = step.actions[-1]
    assert lease.purpose is P.TX and lease.valid_to - now <= timedelta(seconds=SETTINGS.lease_s)
    assert SETTINGS.lease_s + SETTINGS.reaction_s < cut.seconds  # expired, and judged, while offline
    assert not step.judge_composites  # judged on the queued meter values


# ---- units ------------------------------------------------------------------------------------------------


def test_K01_FR_26_a_station_that_takes_only_watts_gets_watts():
    f = with_units(facts(), ChargingRateUnit.W)
    (_, step) = steps_of(plan_scope, f)[1]
    profile = sets(step)["wide"].profile
    assert profile.schedule.charging_rate_unit is ChargingRateUnit.W
    assert profile.schedule.periods[0].limit == 9 * 230 * 3
    (_, phase_a) = steps_of(plan_boundaries, f)[1]
    one_phase = sets(phase_a)["abs"].profile.schedule.periods[1]
    assert (one_phase.limit, one_phase.number_phases) == (14 * 230, 1)


# ---- the engine expects what every step intends --------------------------------------------------------


@pytest.mark.parametrize("version", [OcppVersion.V16, OcppVersion.V201])
@pytest.mark.parametrize("dialect", ["everest", "microocpp"])
@pytest.mark.parametrize("check", sorted(PLANNERS, key=lambda c: c.number), ids=lambda c: c.slug)
def test_every_step_intends_what_the_engine_computes(check, dialect, version):
    """A step whose intent the engine does not share would make every charger inconclusive (or pass by
    accident): the plan's numbers are checked against the composite engine in both dialects and versions."""
    f = facts(config(version, dialect=dialect))
    charger = Charger(f)
    for now, step in steps_of(PLANNERS[check], f):
        snapshot = charger.apply(step)
        assert intent_findings(record(step, now, snapshot)) == [], step.name


# ---- safety -----------------------------------------------------------------------------------------------


def test_the_peak_is_the_hardware_unless_a_held_station_max_bounds_it_or_the_suite_lifts_it():
    f = facts()
    [peak] = site_peak([f], ALL_CHECKS, SETTINGS, T0)
    assert peak.peak_a == 64.0  # two EVSEs of 32 A, nothing held
    [held] = site_peak([f], ALL_CHECKS, SETTINGS, T0, {"CP1": 20.0})
    assert held.peak_a == 24.8 and "site cap" in held.why  # the suite's own cap (12.4 A x 2) lifts the held 20 A
    [scope_only] = site_peak([f], [AcceptanceTest.SCOPE], SETTINGS, T0, {"CP1": 10.0})
    assert scope_only.peak_a == 14.0  # the scope check's station max


def test_time_helpers_are_station_seconds():
    assert at(10) - T0 == timedelta(seconds=10)


@pytest.mark.parametrize("version", [OcppVersion.V16, OcppVersion.V201])
def test_R16_06_K01_FR_15_an_evse_tx_default_overrides_the_station_wide_one_there_only(version):
    f = facts(config(version))
    charger = Charger(f)
    (_, _baseline), (_, wide), (now, evse) = steps_of(plan_scope, f)[:3]
    charger.apply(wide)
    snapshot = charger.apply(evse)
    by_evse = {i.evse_id: i.limit for i in evse.intents}
    assert by_evse == {1: 11, 2: 9}
    assert intent_findings(record(evse, now, snapshot)) == []


def test_K01_FR_05_the_higher_level_is_changed_by_id_never_cleared_and_set_again():
    from wattcap.acceptance.plan import ClearProfile, UpdateProfile

    (_, step) = steps_of(plan_stack)[2]
    [action] = step.actions
    assert isinstance(action, UpdateProfile) and action.key == "high"
    assert not any(isinstance(a, ClearProfile) for _, s in steps_of(plan_stack) for a in s.actions)


def test_K01_FR_11_K01_FR_12_the_one_phase_period_lasts_until_the_duration_ends():
    (_, step) = steps_of(plan_boundaries)[1]
    schedule = sets(step)["abs"].profile.schedule
    assert [p.start_period for p in schedule.periods] == [0, SETTINGS.edge_spacing_s]
    assert schedule.duration == 2 * SETTINGS.edge_spacing_s  # then no limit of this profile (intent: None)
    assert [i.limit for i in step.intents if i.evse_id == 1][-1] is None
