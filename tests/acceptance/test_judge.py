"""Evidence to verdict, rule by rule: each rule the judge applies, with a charger that keeps it and one that
breaks it (a rule that cannot fail is a defect)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from wattcap.acceptance.checks import AcceptanceTest, CheckVerdict
from wattcap.acceptance.evidence import ActionOutcome, CapStepRecord, CheckEvidence, SiteCapEvidence
from wattcap.acceptance.judge import (
    analyse_read,
    intent_findings,
    judge_check,
    judge_site_cap,
    outcome_findings,
    phase_violations,
    quirk_tag,
    station_samples,
    step_timeline,
)
from wattcap.acceptance.plan import (
    AcceptanceSettings,
    CapStep,
    Intent,
    SetProfile,
    Step,
    profile,
)
from wattcap.core.composite import composite_schedule
from wattcap.core.dialects import NoLimitReport
from wattcap.core.model import ChargingProfilePurpose, ChargingRateUnit, InstalledProfile
from wattcap.core.verification import Verdict
from wattcap.ocpp.composite_json import composite_to_wire
from wattcap.server.lifecycle_types import ChangeResult, CompositeCheck

from .helpers import T0, Charger, at, config, currents, facts, record, series

P = ChargingProfilePurpose
A, W = ChargingRateUnit.A, ChargingRateUnit.W
SETTINGS = AcceptanceSettings.simulated(10.0)  # reaction 5 s
PASS, FAIL = CheckVerdict.PASS, CheckVerdict.FAIL
UNSUPPORTED, INCONCLUSIVE = CheckVerdict.UNSUPPORTED, CheckVerdict.INCONCLUSIVE


def tx_default(limit: float, evse: int = 1, phases: int | None = None, f=None) -> SetProfile:
    f = f or facts()
    periods = [(0, limit, phases)] if phases else [(0, limit)]
    return SetProfile(f"d{evse}", evse, "default", profile(f, P.TX_DEFAULT, periods, start=T0 - timedelta(minutes=1)))


def check_of(steps_and_starts, samples, *, f=None, ended_s: float = 120.0, check=AcceptanceTest.SCOPE):
    """Evidence of a check: (step, start offset) pairs applied in order on a charger, and the samples per EVSE."""
    f = f or facts()
    charger = Charger(f)
    records = []
    for n, (step, start_s) in enumerate(steps_and_starts):
        snapshot = charger.apply(step)
        end = steps_and_starts[n + 1][1] if n + 1 < len(steps_and_starts) else ended_s
        records.append(record(step, at(start_s), snapshot, ended=at(end)))
    return CheckEvidence(check, f, tuple(records), samples, at(0), at(ended_s))


BASELINE = Step("baseline", "", "", settle=True)


def limit_step(*actions, intents=(), name="limit"):
    return Step(name, "", "", tuple(actions), tuple(intents), observe_s=10)


# ---- measured draw ----------------------------------------------------------------------------------------


def test_A17_a_drop_gets_the_reaction_allowance_then_the_draw_must_follow():
    step = limit_step(tx_default(10), intents=[Intent(1, 0, 10.0)])
    keeps = series([(5, 32), (15, 32), (22, 32), (26, 10), (36, 10)])  # 32 A until 3 s after the change at 20 s
    late = series([(5, 32), (15, 32), (22, 32), (26, 32), (36, 10)])  # still 32 A 6 s after it
    for samples, verdict in ((keeps, PASS), (late, FAIL)):
        evidence = check_of([(BASELINE, 0), (step, 20)], {1: samples, 2: series([(5, 32)])})
        result = judge_check(evidence, SETTINGS)
        assert result.verdict is verdict, result.reason
    assert "drew 32 A where 10 A was allowed" in result.reason


def test_a_raise_applies_at_once_and_a_lower_draw_is_never_a_violation():
    down, up = limit_step(tx_default(8)), limit_step(tx_default(14), name="raise")
    samples = series([(5, 32), (15, 8), (25, 14), (26, 6)])
    evidence = check_of([(BASELINE, 0), (down, 5), (up, 20)], {1: samples})
    assert judge_check(evidence, SETTINGS).verdict is PASS


def test_S16_7_13_a_one_phase_period_allows_current_on_one_phase_only():
    step = limit_step(tx_default(14, phases=1), intents=[Intent(1, 0, 14.0, A, 1)])
    evidence = check_of([(BASELINE, 0), (step, 10)], {})
    timeline = step_timeline(evidence.steps, 1, A, at(60))
    one = [s for t in (12, 20, 30) for s in currents(t, 14, phases=1)]
    three = [s for t in (12, 20, 30) for s in currents(t, 14)]
    assert phase_violations(1, timeline, one, reaction_s=5, off_a=1.0) == []
    [violation] = phase_violations(1, timeline, three, reaction_s=5, off_a=1.0)
    assert (violation.phases, violation.samples) == (3, 2)  # at 12 s the reaction allowance still ran


def test_A14_R16_08_a_station_max_binds_the_sum_of_the_evses():
    cap = SetProfile("max", 0, "operator-cap", profile(facts(), P.CHARGING_STATION_MAX, [(0, 14)],
                                                        start=T0 - timedelta(minutes=1)))
    step = limit_step(cap, intents=[Intent(0, 0, 14.0)])
    shared = {1: series([(5, 32), (20, 7), (30, 7)]), 2: series([(5, 32), (20, 7), (30, 7)])}
    each = {1: series([(5, 32), (20, 14), (30, 14)]), 2: series([(5, 32), (20, 14), (30, 14)])}
    assert judge_check(check_of([(BASELINE, 0), (step, 10)], shared), SETTINGS).verdict is PASS
    result = judge_check(check_of([(BASELINE, 0), (step, 10)], each), SETTINGS)
    assert result.verdict is FAIL and "the station together drew 28 A where 14 A" in result.reason


def test_a_limit_the_ev_never_wanted_to_exceed_is_inconclusive():
    step = limit_step(tx_default(10), intents=[Intent(1, 0, 10.0)])
    evidence = check_of([(BASELINE, 0), (step, 20)], {1: series([(5, 9), (15, 9), (30, 9)])})
    result = judge_check(evidence, SETTINGS)
    assert result.verdict is INCONCLUSIVE and "never bound" in result.reason


def test_no_meter_values_after_the_allowance_is_inconclusive_and_so_is_an_evse_without_a_session():
    step = limit_step(tx_default(10), intents=[Intent(1, 0, 10.0)])
    evidence = check_of([(BASELINE, 0), (step, 20)], {1: series([(5, 32), (15, 32)])})
    assert judge_check(evidence, SETTINGS).verdict is INCONCLUSIVE
    f = facts()
    lonely = replace(f, transactions={})
    result = judge_check(check_of([(BASELINE, 0), (step, 20)], {}, f=lonely), SETTINGS)
    assert result.verdict is INCONCLUSIVE and "no session on EVSE 1" in result.reason


def test_meter_values_queued_offline_are_needed_to_judge_a_link_cut():
    step = limit_step(tx_default(10), intents=[Intent(1, 0, 10.0)])
    evidence = check_of([(BASELINE, 0), (step, 20)], {1: series([(5, 32), (15, 32), (30, 10), (70, 10)])},
                        check=AcceptanceTest.FALLBACK)
    cut = replace(evidence.steps[1], offline=(at(35), at(65)))
    result = judge_check(replace(evidence, steps=(evidence.steps[0], cut)), SETTINGS)
    assert result.verdict is INCONCLUSIVE and "no meter values from the 30 s the link was cut" in result.reason


def test_station_samples_add_the_evses_per_phase_holding_each_latest_value():
    total = station_samples({1: series([(0, 10), (10, 12)]), 2: series([(1, 6), (11, 6)])})
    by_time = {}
    for s in total:
        if s.phase == "L1":
            by_time[(s.timestamp - T0).total_seconds()] = s.value
    assert by_time == {0: 10.0, 1: 16.0, 10: 18.0, 11: 18.0}


# ---- what the charger answered ----------------------------------------------------------------------------


def outcome(action, result=None, read=None, refused=None):
    return ActionOutcome(action, T0, T0, result=result, read=read, refused=refused)


def test_a_refused_change_is_unsupported_and_a_mismatching_read_back_fails():
    action = tx_default(10)
    refused = ChangeResult("CP1", "set", 30000, 1, Verdict.REJECTED, "Rejected (InvalidProfile)")
    step = limit_step(action)
    [finding] = outcome_findings(record(step, T0, None, outcomes=[outcome(action, refused)]))
    assert finding.verdict is UNSUPPORTED and "refused" in finding.text
    [not_sent] = outcome_findings(record(step, T0, None, outcomes=[outcome(action, refused="band above level 0")]))
    assert not_sent.verdict is UNSUPPORTED
    mismatch = CompositeCheck(1, Verdict.MISMATCH, None, None, reason="0s–3600s: expected 10 A, reported no limit")
    applied = ChangeResult("CP1", "set", 30000, 1, Verdict.MISMATCH, checks=(mismatch,))
    [differs] = outcome_findings(record(step, T0, None, outcomes=[outcome(action, applied)]))
    assert differs.verdict is FAIL and "expected 10 A" in differs.text


def test_A24_a_refused_composite_is_unsupported_and_the_fallback_ignores_composites():
    action = tx_default(10)
    refused_read = CompositeCheck(1, Verdict.REJECTED, None, {"status": "Rejected"}, reason="Rejected")
    accepted = ChangeResult("CP1", "set", 30000, 1, Verdict.REJECTED, checks=(refused_read,))
    [finding] = outcome_findings(record(limit_step(action), T0, None, outcomes=[outcome(action, accepted)]))
    assert finding.verdict is UNSUPPORTED and "GetCompositeSchedule refused" in finding.text
    meter_only = replace(limit_step(action), judge_composites=False)
    assert outcome_findings(record(meter_only, T0, None, outcomes=[outcome(action, accepted)])) == []


def test_a_step_masked_by_another_partys_profile_is_inconclusive_not_passed():
    step = limit_step(tx_default(10), intents=[Intent(1, 0, 10.0)])
    snapshot = Charger(facts()).apply(step)
    theirs = profile(facts(), P.TX_DEFAULT, [(0, 6)], start=T0 - timedelta(minutes=1))
    theirs = replace(theirs, id=99, stack_level=5)
    masked = replace(snapshot, installed=(*snapshot.installed, InstalledProfile(1, theirs)))
    [finding] = intent_findings(record(step, at(0), masked))
    assert finding.verdict is INCONCLUSIVE and "profile 99" in finding.text


# ---- 5. variance ------------------------------------------------------------------------------------------


def read_back(cfg, reported_config, *, dialect_config=None, unit=A, evse=0, installed=(), empty=False,
              rejected=False, other_unit=False):
    """A composite read: what the configured dialect expects, and what a charger computing with
    ``reported_config`` answers."""
    f = facts(cfg)
    expected = composite_schedule(cfg, installed, evse_id=evse, start=T0, duration=900, unit=unit,
                                  transactions=tuple(f.transactions.values()))
    if rejected:
        return CompositeCheck(evse, Verdict.REJECTED, expected, {"status": "Rejected"}, reason="Rejected"), f
    answered_unit = (W if unit is A else A) if other_unit else unit
    theirs = composite_schedule(reported_config, installed, evse_id=evse, start=T0, duration=900, unit=answered_unit,
                                transactions=tuple(f.transactions.values()))
    wire = {"status": "Accepted"} if empty else {"status": "Accepted",
                                                 "schedule": composite_to_wire(theirs, cfg.ocpp_version)}
    return CompositeCheck(evse, Verdict.APPLIED, expected, wire), f


def analysis(check, f, installed=()):
    from wattcap.acceptance.evidence import Snapshot

    snapshot = Snapshot(T0, f.config, tuple(installed), tuple(f.transactions.values()))
    return analyse_read(check, snapshot, f.version.value)


def test_A24_no_limit_reported_as_minus_one_or_a_huge_default_is_a_quirk_of_an_everest_station():
    cfg = config()
    for reporter, tag in (
        (replace(cfg, dialect=replace(cfg.dialect, no_limit=NoLimitReport.MINUS_ONE)), "no-limit reported as -1"),
        (replace(cfg, default_limit_a=999.0), "no-limit reported as 999 A"),
    ):
        check, f = read_back(cfg, reporter, evse=1)
        result = analysis(check, f)
        assert [quirk_tag(q) for q in result.quirks] == [tag]
        assert "everest" in result.families  # the limits themselves are everest's
    check, f = read_back(cfg, cfg)
    assert analysis(check, f).quirks == ()


def test_A10_A24_a_composite_in_the_other_unit_or_without_a_schedule_is_a_quirk_and_rejected_is_unsupported():
    cfg = config()
    check, f = read_back(cfg, cfg, other_unit=True, evse=1)
    assert quirk_tag(analysis(check, f).quirks[0]) == "composites in the other unit"
    check, f = read_back(cfg, cfg, empty=True, evse=1)
    assert quirk_tag(analysis(check, f).quirks[0]) == "empty composites"
    check, f = read_back(cfg, cfg, rejected=True)
    assert analysis(check, f).refused


def test_A13_the_station_composite_tells_the_dialect_families_apart():
    everest, micro = config(), config(dialect="microocpp")
    probe = profile(facts(everest), P.TX_DEFAULT, [(0, 10)], start=T0 - timedelta(minutes=1))
    installed = (InstalledProfile(1, replace(probe, id=30000)),)
    check, f = read_back(everest, micro, installed=installed)  # caps only: -1 at the station, not 10 + 48 A
    families = analysis(check, f, installed).families
    assert "microocpp" in families and "everest" not in families


def test_the_variance_verdict_names_the_observed_dialect():
    cfg = config()
    reporter = replace(cfg, dialect=replace(cfg.dialect, no_limit=NoLimitReport.MINUS_ONE))
    check, f = read_back(cfg, reporter, evse=1)
    step = Step("reports", "", "", (), measured=False)
    evidence = CheckEvidence(AcceptanceTest.VENDOR_VARIANCE, f, (record(
        step, T0, Charger(f).apply(step), outcomes=[ActionOutcome(None, T0, T0, read=check)]),))
    result = judge_check(evidence, SETTINGS)
    assert result.verdict is FAIL and result.observed_dialect == "everest with no-limit reported as -1"


# ---- 1. site cap ------------------------------------------------------------------------------------------


def cap_evidence(draws: dict[str, list[tuple[float, float]]], *, refused=None, shares=True):
    f1, f2 = replace(facts(), station_id="CP1"), replace(facts(), station_id="CP2")
    steps = []
    for n, (cap, start) in enumerate(((42.4, 10), (0.0, 30))):
        per = {"CP1": cap / 2, "CP2": cap / 2}
        steps.append(CapStepRecord(CapStep(f"cap {n + 1}", cap, ""), at(start), at(start), per if shares else None,
                                   (refused or {}) if n == 1 else {}, ended=at(start + 20)))
    samples = {s: {1: series(points), 2: series(points)} for s, points in draws.items()}
    return SiteCapEvidence({"CP1": f1, "CP2": f2}, at(0), tuple(steps), samples, at(50))


def test_the_site_cap_judges_each_station_against_its_share_within_a_class_1_meter():
    good = [(5, 32), (16, 10.6), (25, 10.6), (36, 0), (45, 0)]
    rounded = [(5, 32), (16, 11.0), (25, 11.0), (36, 0), (45, 0)]  # A20: 10.6 A applied as 11 A
    results, site = judge_site_cap(cap_evidence({"CP1": good, "CP2": rounded}), SETTINGS)
    assert results["CP1"].verdict is PASS
    assert results["CP2"].verdict is FAIL and "22 A where 21.2 A" in results["CP2"].reason
    assert site.verdict is FAIL


def test_a_refused_cap_is_unsupported_and_the_station_is_held_to_the_cap_it_kept():
    kept = [(5, 32), (16, 10.6), (25, 10.6), (36, 10.6), (45, 10.6)]  # refused the pause, kept 21.2 A
    results, _ = judge_site_cap(cap_evidence({"CP1": kept, "CP2": kept}, refused={"CP1": "Rejected"}), SETTINGS)
    assert results["CP1"].verdict is UNSUPPORTED
    assert results["CP2"].verdict is FAIL  # it accepted the pause and kept drawing


def test_a_cap_the_stations_never_reached_is_inconclusive_and_unknown_shares_take_the_sites_verdict():
    low = [(5, 8), (16, 8), (25, 8), (36, 0), (45, 0)]
    results, _ = judge_site_cap(cap_evidence({"CP1": low, "CP2": low}), SETTINGS)
    assert results["CP1"].verdict is INCONCLUSIVE and "never bound" in results["CP1"].reason
    over = [(5, 32), (16, 32), (25, 32), (36, 32), (45, 32)]
    results, site = judge_site_cap(cap_evidence({"CP1": over, "CP2": over}, shares=False), SETTINGS)
    assert site.verdict is FAIL and results["CP1"].verdict is FAIL and results["CP2"].verdict is FAIL


def test_R16_14_K01_FR_32_a_tx_default_set_during_a_session_applies_to_it_at_once():
    step = limit_step(tx_default(9), intents=[Intent(1, 0, 9.0)])
    switched = series([(5, 32), (15, 32), (27, 9), (37, 9)])
    next_session_only = series([(5, 32), (15, 32), (27, 32), (37, 32)])  # keeps the session's old (no) default
    assert judge_check(check_of([(BASELINE, 0), (step, 20)], {1: switched}), SETTINGS).verdict is PASS
    assert judge_check(check_of([(BASELINE, 0), (step, 20)], {1: next_session_only}), SETTINGS).verdict is FAIL


def test_S16_3_13_6_offline_the_charger_keeps_its_limits_and_lets_a_lease_expire():
    f = facts()
    lease = SetProfile("lease", 1, "session", profile(f, P.TX, [(0, 16)], start=T0 - timedelta(minutes=1),
                                                      valid_to=at(45), transaction_id="tx-1"))
    safe = limit_step(tx_default(10), intents=[Intent(1, 0, 10.0)], name="safe")
    cut = limit_step(lease, intents=[Intent(1, 1, 16.0), Intent(1, 16, 10.0)], name="cut")
    kept = series([(5, 32), (15, 10), (33, 16), (43, 16), (53, 10), (63, 10), (73, 10)])
    leased_on = series([(5, 32), (15, 10), (33, 16), (43, 16), (53, 16), (63, 16), (73, 16)])  # validTo ignored
    for samples, verdict in ((kept, PASS), (leased_on, FAIL)):
        evidence = check_of([(BASELINE, 0), (safe, 8), (cut, 30)], {1: samples, 2: kept}, check=AcceptanceTest.FALLBACK)
        offline = replace(evidence.steps[2], offline=(at(31), at(70)))
        evidence = replace(evidence, steps=(*evidence.steps[:2], offline))
        assert judge_check(evidence, SETTINGS).verdict is verdict


def test_a_held_station_max_bounds_the_station_before_the_suite_installs_anything():
    from wattcap.acceptance.judge import held_station_max_a

    f = facts()
    step = limit_step(SetProfile("max", 0, "site-cap", profile(f, P.CHARGING_STATION_MAX, [(0, 20)],
                                                                start=T0 - timedelta(minutes=1))))
    assert held_station_max_a(Charger(f).apply(step)) == 20.0
    assert held_station_max_a(Charger(f).apply(limit_step(tx_default(10)))) is None
