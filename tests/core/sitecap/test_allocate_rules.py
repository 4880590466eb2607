"""The allocator's rules, one example each: what a reader should expect from ``allocate``."""

from __future__ import annotations

from dataclasses import replace

import pytest

from wattcap.core.sitecap import (
    AllocationPolicy,
    EvseAllocation,
    Node,
    NodeLimit,
    SiteAllocation,
    SiteTopology,
    TopologyError,
    allocate,
)

from .strategies import L1, L2, L3, T0, ac, at, dc, demand

GRID = "grid"


def site(*evses, grid_a: float | None = 32.0, **grid) -> SiteTopology:  # type: ignore[no-untyped-def]
    return SiteTopology((Node(GRID, max_current_a=grid_a, **grid),), tuple(evses))


def amps(result: SiteAllocation) -> dict[tuple[str, int], float]:
    return {k: a.current_a for k, a in result.evses.items()}


# ---- minimum or nothing -------------------------------------------------------------------------------------


def test_a_session_gets_its_minimum_or_nothing_never_in_between():
    # 32 A for three 3-phase EVs: 10.67 each would be legal for none of... it is (>= 6): all three charge.
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), ac("A", 3, GRID))
    r = allocate(topo, {}, [demand(("A", 1)), demand(("A", 2)), demand(("A", 3))], now=T0)
    assert amps(r) == {("A", 1): 11.0, ("A", 2): 11.0, ("A", 3): 10.0}
    # 16 A for three: 5.33 each is below the minimum, so two charge at 8 A and the third is paused at 0.
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), ac("A", 3, GRID), grid_a=16.0)
    r = allocate(topo, {}, [demand(("A", 1)), demand(("A", 2), 10), demand(("A", 3), 20)], now=T0)
    assert amps(r) == {("A", 1): 8.0, ("A", 2): 8.0, ("A", 3): 0.0}
    paused = r.evses["A", 3]
    assert paused.paused and paused.binding == GRID and paused.paused_since == T0


def test_minimums_go_by_priority_then_running_then_earliest_start_then_key():
    topo = site(*(ac("A", i, GRID) for i in range(1, 5)), grid_a=18.0)  # room for three minimums
    demands = [demand(("A", 1), 0), demand(("A", 2), 0), demand(("A", 3), -60), demand(("A", 4), 30, priority=1)]
    r = allocate(topo, {}, demands, now=T0)
    # priority first (A4), then the earliest start (A3), then between equal starts the key (A1 before A2)
    assert {k for k, a in r.evses.items() if not a.paused} == {("A", 4), ("A", 3), ("A", 1)}
    # A running session keeps its minimum against a paused one that started earlier (hysteresis).
    topo = site(*(ac("A", i, GRID) for i in range(1, 3)), grid_a=8.0)
    previous = SiteAllocation(T0, {
        ("A", 1): EvseAllocation(("A", 1), 0.0, 3, paused=True, paused_since=at(-3600)),
        ("A", 2): EvseAllocation(("A", 2), 8.0, 3, raised_at=at(-3600)),
    })
    r = allocate(topo, {}, [demand(("A", 1), -7200), demand(("A", 2), 0)], now=T0, previous=previous)
    assert r.evses["A", 1].paused and r.evses["A", 2].current_a == 8.0


def test_a_higher_priority_fills_to_its_ceiling_before_a_lower_one_grows():
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), grid_a=40.0)
    r = allocate(topo, {}, [demand(("A", 1)), demand(("A", 2), priority=1)], now=T0)
    assert amps(r) == {("A", 1): 8.0, ("A", 2): 32.0}
    assert r.evses["A", 2].binding == "evse" and r.evses["A", 1].binding == GRID


def test_weights_share_in_proportion_within_a_priority():
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), grid_a=36.0)
    r = allocate(topo, {}, [demand(("A", 1), weight=2.0), demand(("A", 2))], now=T0)
    assert amps(r) == {("A", 1): 24.0, ("A", 2): 12.0}


def test_weight_zero_holds_a_session_at_its_minimum():
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), grid_a=40.0)
    r = allocate(topo, {}, [demand(("A", 1), weight=0.0), demand(("A", 2))], now=T0)
    assert amps(r) == {("A", 1): 6.0, ("A", 2): 32.0}
    assert r.evses["A", 1].binding == "minimum"


# ---- phases, wiring, DC -------------------------------------------------------------------------------------


def test_phase_rotation_maps_a_single_phase_ev_to_its_grid_phase():
    # Feeder of 20 A per phase; three single-phase EVSEs rotated so each loads a different grid phase.
    topo = SiteTopology((Node(GRID, max_current_a=20.0),), (
        ac("A", 1, GRID, phases=1, wiring=(L1, L2, L3)),
        ac("A", 2, GRID, phases=1, wiring=(L2, L3, L1)),
        ac("A", 3, GRID, phases=1, wiring=(L3, L1, L2)),
    ))
    r = allocate(topo, {}, [demand(("A", 1)), demand(("A", 2)), demand(("A", 3))], now=T0)
    assert amps(r) == {("A", 1): 20.0, ("A", 2): 20.0, ("A", 3): 20.0}
    # Wired the same way, they share grid L1.
    same = SiteTopology(topo.nodes, tuple(replace(e, wiring=(L1, L2, L3)) for e in topo.evses))
    r = allocate(same, {}, [demand(("A", 1)), demand(("A", 2)), demand(("A", 3))], now=T0)
    assert sorted(amps(r).values()) == [6.0, 7.0, 7.0]


def test_a_single_phase_ev_on_a_three_phase_evse_loads_only_its_first_wired_phase():
    topo = site(ac("A", 1, GRID, wiring=(L2, L3, L1)), ac("A", 2, GRID, phases=1, wiring=(L1, L2, L3)),
                grid_a=20.0)
    r = allocate(topo, {}, [demand(("A", 1), phases_in_use=1), demand(("A", 2))], now=T0)
    assert amps(r) == {("A", 1): 20.0, ("A", 2): 20.0}
    assert r.evses["A", 1].phases == 1


def test_dc_loads_all_three_phases_with_power_over_three_v_and_is_allocated_in_watts():
    topo = site(dc("D", 1, GRID, max_power_w=50_000.0, step_w=100.0), ac("A", 1, GRID), grid_a=40.0)
    r = allocate(topo, {}, [demand(("D", 1)), demand(("A", 1))], now=T0)
    d, a = r.evses["D", 1], r.evses["A", 1]
    # Level per phase: 20 A each; the DC EVSE gets 20 A x 3 x 230 V = 13.8 kW.
    assert a.current_a == 20.0 and d.power_w == 13_800.0 and d.current_a == pytest.approx(20.0)
    assert d.phases == 3 and a.power_w is None


def test_a_node_power_limit_counts_every_phase():
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID, phases=1), grid_a=None, max_power_w=11_040.0)
    r = allocate(topo, {}, [demand(("A", 1)), demand(("A", 2))], now=T0)
    # 4 phase-amps share 48 A·phases (11040 W / 230 V): 12 A each.
    assert amps(r) == {("A", 1): 12.0, ("A", 2): 12.0}
    assert r.evses["A", 1].binding == GRID


# ---- headroom: margins, non-EV load, limits in force, fallbacks, reservations --------------------------------


def test_margin_non_ev_load_and_the_limit_in_force_are_all_subtracted_per_phase():
    topo = SiteTopology((Node(GRID, max_current_a=63.0, margin_a=3.0),),
                        (ac("A", 1, GRID, phases=1, wiring=(L2, L3, L1)), ac("A", 2, GRID, phases=1)))
    limits = {GRID: NodeLimit(current_a=40.0, non_ev_load_a=(5.0, 20.0, 0.0))}
    r = allocate(topo, {**limits}, [demand(("A", 1)), demand(("A", 2))], now=T0)
    # L2: 40 - 3 - 20 = 17 for A1; L1: 40 - 3 - 5 = 32 for A2.
    assert amps(r) == {("A", 1): 17.0, ("A", 2): 32.0}


def test_an_idle_evse_reserves_its_fallback_and_an_active_one_counts_max_of_allocation_and_fallback():
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), ac("A", 3, GRID), grid_a=40.0)
    fallbacks = {("A", 1): 10.0, ("A", 2): 16.0, ("A", 3): 10.0}
    r = allocate(topo, {}, [demand(("A", 1)), demand(("A", 2))], now=T0, fallbacks=fallbacks)
    # A3 idle holds 10. A1 and A2 share 30 with footprints max(x, f): A2 reaches 16 free, A1 could only...
    # level 15 each: A1 costs 15, A2 costs its fallback 16 already counted -> 10 + 15 + 16 = 41 > 40, so 14/16.
    assert amps(r) == {("A", 1): 14.0, ("A", 2): 16.0}


def test_a_reserved_evse_counts_at_its_worst_case_and_gets_no_allocation():
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), grid_a=40.0)
    r = allocate(topo, {}, [demand(("A", 1)), demand(("A", 2))], now=T0, reserved={("A", 2): (32.0, 3)})
    assert amps(r) == {("A", 1): 8.0}


def test_a_building_over_its_limit_pauses_everyone_under_it():
    topo = site(ac("A", 1, GRID), grid_a=32.0)
    r = allocate(topo, {GRID: NodeLimit(non_ev_load_a=(30.0, 0.0, 0.0))}, [demand(("A", 1))], now=T0)
    assert r.evses["A", 1].paused


def test_ev_and_evse_ceilings_are_named():
    topo = site(ac("A", 1, GRID, max_current_a=16.0), ac("A", 2, GRID), grid_a=63.0)
    r = allocate(topo, {}, [demand(("A", 1)), demand(("A", 2), max_current_a=10.0)], now=T0)
    assert amps(r) == {("A", 1): 16.0, ("A", 2): 10.0}
    assert r.evses["A", 1].binding == "evse" and r.evses["A", 2].binding == "ev"


# ---- rounding ------------------------------------------------------------------------------------------------


def test_rounding_floors_to_the_step_then_hands_out_whole_steps_where_they_fit():
    # 3 EVSEs, step 1 A, 32 A: 10.67 each -> floors 10/10/10, 2 A left: one step each to the first two by key.
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), ac("A", 3, GRID))
    r = allocate(topo, {}, [demand(("A", 3)), demand(("A", 1)), demand(("A", 2))], now=T0)
    assert amps(r) == {("A", 1): 11.0, ("A", 2): 11.0, ("A", 3): 10.0}
    # A step of 0.1 A gets closer.
    fine = SiteTopology(topo.nodes, tuple(replace(e, step_a=0.1) for e in topo.evses))
    r = allocate(fine, {}, [demand(("A", 1)), demand(("A", 2)), demand(("A", 3))], now=T0)
    assert sorted(amps(r).values()) == [10.6, 10.7, 10.7]


# ---- reclaim -------------------------------------------------------------------------------------------------


def test_reclaim_caps_an_ev_drawing_well_below_its_share_and_gives_it_back_when_it_draws_again():
    policy = AllocationPolicy(reclaim_margin_a=2.0, reclaim_after_s=60)
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), grid_a=40.0)
    first = allocate(topo, {}, [demand(("A", 1)), demand(("A", 2))], now=T0, policy=policy)
    assert amps(first) == {("A", 1): 20.0, ("A", 2): 20.0}
    # Too early to judge: A1 draws 8 A only 30 s after its allocation rose.
    low = [demand(("A", 1), measured_a=(8.0, 8.0, 8.0)), demand(("A", 2), measured_a=(20.0, 20.0, 19.5))]
    early = allocate(topo, {}, low, now=at(30), previous=first, policy=policy)
    assert amps(early) == amps(first)
    capped = allocate(topo, {}, low, now=at(90), previous=early, policy=policy)
    assert amps(capped) == {("A", 1): 10.0, ("A", 2): 30.0}
    assert capped.evses["A", 1].binding == "demand" and capped.evses["A", 1].reclaim_cap == 10.0
    # Constant draw: the cap stays (no flapping); A2 draws what it was given.
    low = [low[0], demand(("A", 2), measured_a=(29.5, 29.5, 29.5))]
    still = allocate(topo, {}, low, now=at(150), previous=capped, policy=policy)
    assert amps(still) == amps(capped)
    # The EV draws up to within the margin of its cap: full demand again next time.
    up = [demand(("A", 1), measured_a=(9.5, 9.5, 9.5)), low[1]]
    back = allocate(topo, {}, up, now=at(210), previous=still, policy=policy)
    assert amps(back) == {("A", 1): 20.0, ("A", 2): 20.0} and back.evses["A", 1].reclaim_cap is None


def test_a_stale_measurement_does_not_reclaim():
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), grid_a=40.0)
    first = allocate(topo, {}, [demand(("A", 1)), demand(("A", 2))], now=T0)
    old = [demand(("A", 1), measured_a=(3.0, 3.0, 3.0), measured_at=at(100)), demand(("A", 2))]
    # 200 s old: it counts (capped at the minimum, 3 + 2 < 6) ...
    assert amps(allocate(topo, {}, old, now=at(300), previous=first)) == {("A", 1): 6.0, ("A", 2): 32.0}
    # ... 301 s old: it does not.
    assert amps(allocate(topo, {}, old, now=at(401), previous=first)) == {("A", 1): 20.0, ("A", 2): 20.0}


def test_reclaim_never_goes_below_the_minimum():
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), grid_a=40.0)
    first = allocate(topo, {}, [demand(("A", 1)), demand(("A", 2))], now=T0)
    full = [demand(("A", 1), measured_a=(0.0, 0.0, 0.0)), demand(("A", 2))]
    r = allocate(topo, {}, full, now=at(120), previous=first)
    assert amps(r) == {("A", 1): 6.0, ("A", 2): 32.0}


# ---- hysteresis: pause and resume ---------------------------------------------------------------------------


def test_a_paused_session_resumes_only_with_margin_and_after_the_minimum_pause():
    policy = AllocationPolicy(resume_margin_a=1.0, min_pause_s=120)
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), grid_a=11.0)
    demands = [demand(("A", 1)), demand(("A", 2), 10)]
    r = allocate(topo, {}, demands, now=T0, policy=policy)
    assert r.evses["A", 2].paused
    # Room for exactly a minimum (12 A): not enough to resume (needs 6 + 1 on top of A1's 6).
    limits = {GRID: NodeLimit(current_a=12.5)}
    r = allocate(topo, limits, demands, now=at(200), previous=r, policy=policy)
    assert r.evses["A", 2].paused and r.evses["A", 2].paused_since == T0
    # Room for min + margin, but paused for less than min_pause_s since...: run from a fresh pause.
    topo2 = site(ac("A", 1, GRID), ac("A", 2, GRID), grid_a=40.0)
    paused = SiteAllocation(at(150), {("A", 1): EvseAllocation(("A", 1), 20.0, 3, raised_at=at(150)),
                                      ("A", 2): EvseAllocation(("A", 2), 0.0, 3, paused=True, paused_since=at(150),
                                                               charged=True)})
    held = allocate(topo2, {}, demands, now=at(200), previous=paused, policy=policy)
    assert held.evses["A", 2].paused and held.evses["A", 2].binding == "minimum"
    resumed = allocate(topo2, {}, demands, now=at(270), previous=held, policy=policy)
    assert not resumed.evses["A", 2].paused


def test_a_session_that_never_charged_starts_as_soon_as_it_fits():
    """min_pause_s keeps a paused session from flapping; a session that was never given its minimum (it arrived
    while there was no room, or while unknown chargers held the site at their worst case) is not flapping."""
    policy = AllocationPolicy(resume_margin_a=1.0, min_pause_s=120)
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), grid_a=40.0)
    demands = [demand(("A", 1)), demand(("A", 2), 10)]
    never = SiteAllocation(at(150), {("A", 1): EvseAllocation(("A", 1), 20.0, 3, raised_at=at(150), charged=True),
                                     ("A", 2): EvseAllocation(("A", 2), 0.0, 3, paused=True, paused_since=at(150))})
    started = allocate(topo, {}, demands, now=at(160), previous=never, policy=policy)
    assert not started.evses["A", 2].paused and started.evses["A", 2].charged


def test_a_running_session_is_paused_only_when_its_minimum_does_not_fit():
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), grid_a=40.0)
    demands = [demand(("A", 1)), demand(("A", 2))]
    r = allocate(topo, {}, demands, now=T0)
    r = allocate(topo, {GRID: NodeLimit(current_a=12.0)}, demands, now=at(10), previous=r)
    assert amps(r) == {("A", 1): 6.0, ("A", 2): 6.0}
    r = allocate(topo, {GRID: NodeLimit(current_a=11.9)}, demands, now=at(20), previous=r)
    assert amps(r) == {("A", 1): 11.0, ("A", 2): 0.0}  # A2 (later by key) is paused; A1 takes what is left


# ---- 3 -> 1 phase switching ----------------------------------------------------------------------------------


def test_switches_to_one_phase_when_three_do_not_fit_and_back_only_after_the_hold():
    policy = AllocationPolicy(phase_hold_s=600, resume_margin_a=1.0)
    topo = SiteTopology(
        (Node(GRID, max_current_a=32.0), Node("f", parent=GRID, max_current_a=None)),
        (ac("A", 1, GRID), ac("B", 1, GRID, can_switch_phases=True, wiring=(L2, L3, L1))),
    )
    demands = [demand(("A", 1), 0), demand(("B", 1), 10)]
    tight = {GRID: NodeLimit(current_a=16.0)}  # 16 - 6 (A1) = 10 left: B's 3-phase min fits...
    r = allocate(topo, tight, demands, now=T0, policy=policy)
    assert r.evses["B", 1].phases == 3
    # ... a building load on L3 leaves 3 A there: three phases do not fit, one (on L2) does.
    busy = {GRID: NodeLimit(current_a=16.0, non_ev_load_a=(0.0, 0.0, 7.0))}
    r = allocate(topo, busy, demands, now=at(10), previous=r, policy=policy)
    b = r.evses["B", 1]
    assert (b.phases, b.paused, b.phase_switched, b.phases_since) == (1, False, True, at(10))
    assert b.current_a == 8.0 and r.evses["A", 1].current_a == 8.0  # both bound by grid L2 (A1 + B <= 16)
    # The load goes away: three phases fit again, but B stays on one for phase_hold_s.
    for t in (20, 300, 609):
        r = allocate(topo, tight, demands, now=at(t), previous=r, policy=policy)
        assert r.evses["B", 1].phases == 1 and r.evses["B", 1].three_phase_fits_since == at(20)
    r = allocate(topo, tight, demands, now=at(620), previous=r, policy=policy)
    assert r.evses["B", 1].phases == 3 and not r.evses["B", 1].phase_switched
    # A blip resets the hold.
    r2 = allocate(topo, busy, demands, now=at(630), previous=r, policy=policy)
    assert r2.evses["B", 1].phases == 1
    r2 = allocate(topo, tight, demands, now=at(640), previous=r2, policy=policy)
    r2 = allocate(topo, busy, demands, now=at(650), previous=r2, policy=policy)
    r2 = allocate(topo, tight, demands, now=at(1245), previous=r2, policy=policy)
    assert r2.evses["B", 1].phases == 1


def test_an_evse_that_cannot_switch_is_paused_instead():
    topo = site(ac("A", 1, GRID), ac("B", 1, GRID, can_switch_phases=False))
    busy = {GRID: NodeLimit(current_a=16.0, non_ev_load_a=(0.0, 0.0, 7.0))}
    r = allocate(topo, busy, [demand(("A", 1)), demand(("B", 1), 10)], now=T0)
    assert r.evses["B", 1].paused and r.evses["B", 1].binding == GRID


# ---- inputs --------------------------------------------------------------------------------------------------


def test_bad_inputs_are_refused_with_a_reason():
    topo = site(ac("A", 1, GRID))
    with pytest.raises(ValueError, match="not in the site topology"):
        allocate(topo, {}, [demand(("Z", 1))], now=T0)
    with pytest.raises(ValueError, match="two demands"):
        allocate(topo, {}, [demand(("A", 1)), demand(("A", 1))], now=T0)
    with pytest.raises(TopologyError, match="exactly one root"):
        allocate(SiteTopology((Node("a"), Node("b")), ()), {}, [], now=T0)
    with pytest.raises(TopologyError, match="does not exist"):
        allocate(SiteTopology((Node("a"), Node("b", parent="c")), ()), {}, [], now=T0)
    with pytest.raises(TopologyError, match="cycle"):
        allocate(SiteTopology((Node("r"), Node("a", parent="b"), Node("b", parent="a")), ()), {}, [], now=T0)
    with pytest.raises(TopologyError, match="appears twice"):
        allocate(SiteTopology((Node("r"),), (ac("A", 1, "r"), ac("A", 1, "r"))), {}, [], now=T0)


def test_a_session_that_asks_for_nothing_now_is_paused_and_its_minimum_goes_to_others():
    # A charging plan pauses a session through a demand ceiling of 0 (dear hours); an EV that can only take 5 A
    # is different: it still gets the minimum (min or nothing).
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), grid_a=32.0)
    r = allocate(topo, {}, [replace(demand(("A", 1)), max_current_a=0.0), demand(("A", 2))], now=T0)
    assert r.evses["A", 1].paused and r.evses["A", 1].binding == "plan"
    assert amps(r) == {("A", 1): 0.0, ("A", 2): 32.0}
    r = allocate(topo, {}, [replace(demand(("A", 1)), max_current_a=5.0), demand(("A", 2))], now=T0)
    assert amps(r) == {("A", 1): 6.0, ("A", 2): 26.0}
    topo = site(dc("D", 1, GRID), grid_a=None, max_power_w=50_000.0)
    r = allocate(topo, {}, [replace(demand(("D", 1)), max_power_w=0.0)], now=T0)
    assert r.evses["D", 1].paused and r.evses["D", 1].binding == "plan"


def test_a_session_its_plan_paused_resumes_as_soon_as_the_plan_says_without_the_flap_hold():
    # min_pause_s keeps capacity-driven pauses from flapping; a charging plan pauses and resumes on its own slots.
    topo = site(ac("A", 1, GRID), grid_a=32.0)
    policy = AllocationPolicy(min_pause_s=120)
    paused = allocate(topo, {}, [replace(demand(("A", 1)), max_current_a=0.0)], now=T0, policy=policy,
                      previous=SiteAllocation(T0, {("A", 1): EvseAllocation(("A", 1), 16.0, 3, charged=True)}))
    assert paused.evses["A", 1].paused and paused.evses["A", 1].binding == "plan"
    resumed = allocate(topo, {}, [demand(("A", 1))], now=at(10), previous=paused, policy=policy)
    assert not resumed.evses["A", 1].paused and resumed.evses["A", 1].current_a == 32.0
