"""The coordinator's transition rules, one scenario each (the random version is ``test_transition_stateful``)."""

from __future__ import annotations

import pytest

from wattcap.core.sitecap import (
    Acknowledged,
    CoordinatorPolicy,
    FallbackPolicy,
    NoAnswer,
    Node,
    NodeLimit,
    NotifyOperator,
    Rejected,
    Replan,
    SessionEnded,
    SessionStarted,
    SetFallback,
    SetSessionLimit,
    SiteCapCoordinator,
    SiteTopology,
    StationOffline,
    StationOnline,
    Tick,
    Violation,
    footprint_violations,
)

from .strategies import L1, L2, L3, T0, ac, at, dc, demand

GRID = "grid"
ZERO_FALLBACK = CoordinatorPolicy(fallback=FallbackPolicy("zero"))


def site(*evses, grid_a: float = 32.0) -> SiteTopology:  # type: ignore[no-untyped-def]
    return SiteTopology((Node(GRID, max_current_a=grid_a),), tuple(evses))


def coordinator(topology: SiteTopology, policy: CoordinatorPolicy = ZERO_FALLBACK, **fallbacks: float):
    installed = {e.key: fallbacks.get(f"{e.station_id}{e.evse_id}", 0.0) for e in topology.evses}
    return SiteCapCoordinator(topology, now=T0, policy=policy, installed_fallbacks=installed)


def writes(commands) -> list:  # type: ignore[no-untyped-def]
    return [c for c in commands if not isinstance(c, NotifyOperator)]


def ack_all(coord: SiteCapCoordinator, commands, t: float = 0.0) -> list:  # type: ignore[no-untyped-def]
    """Acknowledge every write (and whatever they cause) until nothing is left; return everything emitted."""
    emitted = list(commands)
    queue = writes(commands)
    while queue:
        cmd = queue.pop(0)
        more = coord.handle(Acknowledged(cmd.command_id, at(t)))
        emitted += more
        queue += writes(more)
    return emitted


def limits_of(coord: SiteCapCoordinator, key) -> list[tuple[float, object]]:  # type: ignore[no-untyped-def]
    return [(c.current_a, c.lease_until) for c in coord.handle(Tick(coord.now)) if isinstance(c, SetSessionLimit)
            and c.key == key]


def test_decreases_go_first_and_an_increase_waits_for_the_decrease_it_needs():
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID))
    coord = coordinator(topo)
    out = coord.handle(Replan(T0, {}, [demand(("A", 1))]))
    assert [(c.key, c.current_a) for c in writes(out)] == [(("A", 1), 32.0)]
    ack_all(coord, out)
    # A2 arrives: the plan is 16 / 16. A1's decrease goes at once; A2's increase would overload the grid while A1
    # may still draw 32, so it waits.
    out = coord.handle(Replan(at(10), {}, [demand(("A", 1)), demand(("A", 2), 10)]))
    assert [(c.key, c.current_a) for c in writes(out)] == [(("A", 1), 16.0)]
    assert coord.footprints()[("A", 1)] == (32.0, 32.0, 32.0)  # pending: counts as max(old, new)
    acked = coord.handle(Acknowledged(out[0].command_id, at(11)))
    # Acknowledged, but the EV ramps down within reaction_s (IEC 61851-1: 5 s): A1 still counts at 32 A.
    assert writes(acked) == [] and coord.footprints()[("A", 1)] == (32.0, 32.0, 32.0)
    assert writes(coord.handle(Tick(at(15)))) == []
    later = coord.handle(Tick(at(16)))
    assert [(c.key, c.current_a) for c in writes(later)] == [(("A", 2), 16.0)]
    assert coord.footprints()[("A", 1)] == (16.0, 16.0, 16.0)
    assert not coord.violations()


def test_a_feeder_held_over_by_an_unresponsive_charger_does_not_freeze_another_feeder():
    topo = SiteTopology(
        (Node(GRID, max_current_a=100.0), Node("left", parent=GRID, max_current_a=16.0),
         Node("right", parent=GRID, max_current_a=32.0)),
        (ac("L", 1, "left"), ac("R", 1, "right"), ac("R", 2, "right")),
    )
    coord = coordinator(topo)
    for command in writes(coord.handle(Replan(T0, {}, [demand(("L", 1)), demand(("R", 1))]))):
        if command.key == ("L", 1):
            coord.handle(NoAnswer(command.command_id, at(1)))  # L1 now counts at 32 A on a 16 A feeder
        else:
            ack_all(coord, coord.handle(Acknowledged(command.command_id, at(1))), 1)
    assert {v.node for v in coord.violations()} == {"left"}
    # R2 arrives on the other feeder: R1 comes down, and once it has, R2 rises although "left" is still over.
    ack_all(coord, coord.handle(Replan(at(10), {}, [demand(("L", 1)), demand(("R", 1)), demand(("R", 2), 10)])), 10)
    risen = writes(coord.handle(Tick(at(20))))
    assert [(c.key, c.current_a) for c in risen] == [(("R", 2), 16.0)]
    assert {v.node for v in coord.violations()} == {"left"}


def test_a_grid_drop_sends_decreases_at_once_and_nothing_rises_until_they_are_acknowledged():
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID, phases=1, wiring=(L2, L3, L1)), grid_a=63.0)
    coord = coordinator(topo)
    ack_all(coord, coord.handle(Replan(T0, {}, [demand(("A", 1)), demand(("A", 2))])))
    assert not coord.violations()
    drop = {GRID: NodeLimit(current_a=20.0, source="dso")}
    out = coord.handle(Replan(at(5), drop, [demand(("A", 1)), demand(("A", 2))]))
    assert [(c.key, c.current_a) for c in writes(out)] == [(("A", 1), 10.0), (("A", 2), 10.0)]
    # Over the new limit until the chargers confirm: that is physics, and it is reported.
    assert {v.node for v in coord.violations()} == {GRID}
    # Nothing is sent that could raise a footprint while the grid is over.
    assert not writes(coord.handle(Tick(at(6))))
    coord.handle(Acknowledged(out[0].command_id, at(7)))
    coord.handle(Acknowledged(out[1].command_id, at(7)))
    assert coord.violations()  # acknowledged; the EVs ramp down within the reaction time
    coord.handle(Tick(at(12)))
    assert not coord.violations()


def test_a_rejected_write_counts_the_evse_at_its_worst_case_withholds_its_share_and_is_retried():
    policy = CoordinatorPolicy(fallback=FallbackPolicy("zero"), retry_s=60)
    topo = site(ac("A", 1, GRID, max_current_a=16.0), ac("A", 2, GRID), grid_a=40.0)
    coord = coordinator(topo, policy)
    out = coord.handle(Replan(T0, {}, [demand(("A", 1)), demand(("A", 2))]))
    a1 = next(c for c in out if c.key == ("A", 1))
    a2 = next(c for c in out if c.key == ("A", 2))
    assert (a1.current_a, a2.current_a) == (16.0, 24.0)
    coord.handle(Acknowledged(a2.command_id, at(1)))
    out = coord.handle(Rejected(a1.command_id, "Rejected", at(1)))
    notes = [c for c in out if isinstance(c, NotifyOperator)]
    assert notes and notes[0].key == ("A", 1) and "worst case (16 A on 3 phases)" in notes[0].message
    assert coord.footprints()[("A", 1)] == (16.0, 16.0, 16.0)
    assert ("A", 1) not in coord.allocation.evses  # no allocation while unknown
    # A2 keeps 24 A: 16 (A1's worst case) + 24 = 40 fits. Nothing to send yet; the retry comes after retry_s.
    assert not writes(out)
    assert not writes(coord.handle(Tick(at(30))))
    retry = writes(coord.handle(Tick(at(61))))
    assert [(c.key, c.current_a) for c in retry] == [(("A", 1), 16.0)]
    coord.handle(Acknowledged(retry[0].command_id, at(62)))
    assert coord.footprints()[("A", 1)] == (16.0, 16.0, 16.0)  # known again, at the limit it acknowledged
    coord.handle(Tick(at(63)))  # re-admitted: the next plan gives it a share again
    assert coord.allocation.evses["A", 1].current_a == 16.0


def test_an_unanswered_write_is_retried_when_the_station_comes_back():
    topo = site(ac("A", 1, GRID), ac("B", 1, GRID), grid_a=63.0)
    coord = coordinator(topo)
    out = coord.handle(Replan(T0, {}, [demand(("A", 1)), demand(("B", 1))]))
    a1 = next(c for c in out if c.key == ("A", 1))
    coord.handle(StationOffline("A", at(1)))
    out = coord.handle(NoAnswer(a1.command_id, at(2)))
    assert any(isinstance(c, NotifyOperator) for c in out)
    assert not [c for c in writes(coord.handle(Tick(at(200)))) if c.key[0] == "A"]  # offline: nothing is sent
    back = writes(coord.handle(StationOnline("A", at(201))))
    assert [c.key for c in back] == [("A", 1)]


def test_leases_are_renewed_before_they_end_and_a_lapsed_lease_counts_as_the_fallback():
    policy = CoordinatorPolicy(fallback=FallbackPolicy("fixed", 6.0), lease_s=300, renew_before_s=120)
    topo = site(ac("A", 1, GRID), grid_a=63.0)
    coord = coordinator(topo, policy, A1=6.0)
    out = coord.handle(Replan(T0, {}, [demand(("A", 1))]))
    (limit,) = writes(out)
    assert limit.current_a == 32.0 and limit.lease_until == at(300)
    coord.handle(Acknowledged(limit.command_id, at(1)))
    assert not writes(coord.handle(Tick(at(179))))
    renew = writes(coord.handle(Tick(at(181))))
    assert [(c.current_a, c.lease_until) for c in renew] == [(32.0, at(481))]
    # The station drops off before answering: at 300 s the old lease lapses, the pending renewal still counts ...
    coord.handle(StationOffline("A", at(200)))
    coord.handle(Tick(at(300)))
    assert coord.footprints()[("A", 1)] == (32.0, 32.0, 32.0)
    # ... until it lapses too: the EVSE is back on its fallback, on its own.
    coord.handle(Tick(at(481)))
    assert coord.footprints()[("A", 1)] == (6.0, 6.0, 6.0)
    # Back online, at the next plan the limit goes out again under a fresh lease (an increase from the fallback,
    # admitted as such).
    assert not writes(coord.handle(StationOnline("A", at(500))))
    again = writes(coord.handle(Tick(at(505))))
    assert [(c.current_a, c.lease_until) for c in again] == [(32.0, at(805))]


def test_a_session_draws_its_fallback_until_its_limit_is_acknowledged_and_no_lease_at_or_below_it():
    policy = CoordinatorPolicy(fallback=FallbackPolicy("fixed", 10.0))
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), grid_a=40.0)
    coord = coordinator(topo, policy, A1=10.0, A2=10.0)
    ack_all(coord, coord.handle(Replan(T0, {}, [])))
    coord.handle(SessionStarted(("A", 1), at(1)))
    assert coord.footprints()[("A", 1)] == (10.0, 10.0, 10.0)
    out = writes(coord.handle(Replan(at(2), {}, [demand(("A", 1), 1), demand(("A", 2), 1, max_current_a=8.0)])))
    by_key = {c.key: c for c in out}
    assert by_key["A", 1].current_a == 30.0 and by_key["A", 1].lease_until == at(302)
    assert by_key["A", 2].current_a == 8.0 and by_key["A", 2].lease_until is None  # below its fallback
    coord.handle(SessionEnded(("A", 1), at(3)))
    assert coord.footprints()[("A", 1)] == (10.0, 10.0, 10.0)  # the TxProfile ended with the transaction


def test_unknown_fallbacks_at_start_count_at_worst_case_without_alarming_anyone():
    topo = site(ac("A", 1, GRID, max_current_a=16.0), grid_a=63.0)
    coord = SiteCapCoordinator(topo, now=T0)
    assert coord.footprints()[("A", 1)] == (16.0, 16.0, 16.0)
    out = coord.handle(Tick(T0))
    assert not [c for c in out if isinstance(c, NotifyOperator)]
    (fallback,) = [c for c in out if isinstance(c, SetFallback)]
    coord.handle(Acknowledged(fallback.command_id, at(1)))
    # Re-admitted, but whatever it drew unlimited may go on until the EV has followed (reaction_s).
    assert coord.footprints()[("A", 1)] == (16.0, 16.0, 16.0)
    # Then it counts at its fallback: the one acknowledged, or the larger one the next plan gives it.
    raised = [c for c in coord.handle(Tick(at(6))) if isinstance(c, SetFallback)]
    ack_all(coord, raised, 6)
    coord.handle(Tick(at(12)))
    assert coord.footprints()[("A", 1)] == ((raised or [fallback])[-1].current_a,) * 3


def test_fallbacks_follow_the_plan_but_rise_only_by_a_worthwhile_step():
    policy = CoordinatorPolicy(fallback=FallbackPolicy("equal"), fallback_raise_min_a=2.0)
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID), grid_a=30.0)
    coord = coordinator(topo, policy)
    out = ack_all(coord, coord.handle(Replan(T0, {}, [])))
    assert sorted(c.current_a for c in out if isinstance(c, SetFallback)) == [15.0, 15.0]
    # The building takes 3 A: 13.5 each, floored to 13 -> a decrease, sent.
    load = {GRID: NodeLimit(non_ev_load_a=(3.0, 0.0, 0.0))}
    out = ack_all(coord, coord.handle(Replan(at(1), load, [])), 1)
    assert sorted(c.current_a for c in out if isinstance(c, SetFallback)) == [13.0, 13.0]
    # 1 A less load: 14 each would be +1 A, not worth a flash write.
    load = {GRID: NodeLimit(non_ev_load_a=(2.0, 0.0, 0.0))}
    assert not writes(coord.handle(Replan(at(2), load, [])))
    out = writes(coord.handle(Replan(at(3), {}, [])))  # back to 15: +2 A, sent
    assert sorted(c.current_a for c in out) == [15.0, 15.0]


def test_dc_limits_and_fallbacks_carry_watts():
    topo = site(dc("D", 1, GRID, max_power_w=22_000.0, step_w=100.0), grid_a=20.0)
    coord = coordinator(topo, CoordinatorPolicy())
    out = writes(coord.handle(Replan(T0, {}, [demand(("D", 1))])))
    fallback = next(c for c in out if isinstance(c, SetFallback))
    limit = next(c for c in out if isinstance(c, SetSessionLimit))
    assert fallback.phases == 3 and fallback.power_w == pytest.approx(13_800.0)
    assert limit.power_w == 13_800.0 and limit.current_a == pytest.approx(20.0)


def test_the_same_inputs_give_the_same_commands():
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID, phases=1, wiring=(L3, L1, L2)), ac("B", 1, GRID), grid_a=40.0)
    inputs = [
        Replan(T0, {}, [demand(("A", 1)), demand(("B", 1), 5)]),
        SessionStarted(("A", 2), at(10)),
        Tick(at(11)),
        Replan(at(20), {GRID: NodeLimit(current_a=25.0)}, [demand(("A", 1)), demand(("B", 1), 5), demand(("A", 2))]),
    ]

    def run() -> list:  # type: ignore[type-arg]
        coord = coordinator(topo)
        out = []
        for event in inputs:
            out += coord.handle(event)
        return out

    assert run() == run()


def test_footprint_violations_checks_every_node_and_phase_with_load_and_margin():
    topo = SiteTopology(
        (Node(GRID, max_current_a=32.0, margin_a=2.0), Node("f", parent=GRID, max_current_a=16.0)),
        (ac("A", 1, "f", wiring=(L2, L3, L1)), ac("B", 1, GRID)),
    )
    limits = {GRID: NodeLimit(non_ev_load_a=(0.0, 5.0, 0.0))}
    fps = {("A", 1): (0.0, 16.0, 0.0), ("B", 1): (10.0, 10.0, 10.0)}
    # grid L2: 16 + 10 + 5 + 2 = 33 > 32
    assert footprint_violations(topo, limits, fps) == [Violation(GRID, "L2", 33.0, 32.0)]
    assert footprint_violations(topo, limits, {**fps, ("A", 1): (0.0, 15.0, 0.0)}) == []


def test_while_a_node_is_over_nothing_below_it_rises_but_another_feeder_may():
    topo = SiteTopology(
        (Node(GRID, max_current_a=100.0), Node("f1", parent=GRID, max_current_a=32.0),
         Node("f2", parent=GRID, max_current_a=32.0)),
        (ac("A", 1, "f1"), ac("B", 1, "f2")),
    )
    coord = coordinator(topo)
    ack_all(coord, coord.handle(Replan(T0, {}, [demand(("A", 1))])))
    out = coord.handle(Replan(at(1), {"f1": NodeLimit(current_a=10.0)}, [demand(("A", 1)), demand(("B", 1))]))
    # A1's decrease goes first; B1's increase is on another feeder with room, under a grid that is not over.
    assert [(c.key, c.current_a) for c in writes(out)] == [(("A", 1), 10.0), (("B", 1), 32.0)]
    assert {v.node for v in coord.violations()} == {"f1"}
    # While f1 is over, A1 itself may not rise, whatever the plan says.
    coord.handle(Acknowledged(out[1].command_id, at(2)))
    assert not writes(coord.handle(Replan(at(3), {}, [demand(("A", 1)), demand(("B", 1))])))


def test_a_new_topology_keeps_what_chargers_hold_and_adds_new_evses_as_unknown():
    topo = site(ac("A", 1, GRID), grid_a=63.0)
    coord = coordinator(topo)
    ack_all(coord, coord.handle(Replan(T0, {}, [demand(("A", 1))])))
    bigger = site(ac("A", 1, GRID), ac("A", 2, GRID, max_current_a=16.0), grid_a=63.0)
    out = coord.handle(Replan(at(1), {}, [demand(("A", 1))], topology=bigger))
    assert coord.footprints()[("A", 2)] == (16.0, 16.0, 16.0)  # unknown until its fallback is acknowledged
    assert coord.footprints()[("A", 1)] == (32.0, 32.0, 32.0)
    assert any(isinstance(c, SetFallback) and c.key == ("A", 2) for c in out)


def test_the_view_is_plain_json():
    import json

    topo = site(ac("A", 1, GRID), dc("D", 1, GRID), grid_a=63.0)
    coord = coordinator(topo)
    coord.handle(Replan(T0, {}, [demand(("A", 1)), demand(("D", 1))]))
    view = json.loads(json.dumps(coord.view()))
    assert view["evses"]["A/1"]["session"] is True and view["pending"] > 0


def test_a_switch_to_one_phase_under_an_overloaded_phase_goes_in_two_steps():
    """3 x 6 A -> 1 x 12 A raises L1 and lowers L2 and L3. With L3 over, the raise must wait, so the lowering
    part (1 x 6 A: nothing rises) goes first; the rest follows once it is acknowledged."""
    topo = site(ac("A", 1, GRID, can_switch_phases=True), grid_a=12.0)
    coord = coordinator(topo)
    ack_all(coord, coord.handle(Replan(T0, {GRID: NodeLimit(current_a=6.0)}, [demand(("A", 1))])))
    assert coord.footprints()[("A", 1)] == (6.0, 6.0, 6.0)
    busy = {GRID: NodeLimit(current_a=12.0, non_ev_load_a=(0.0, 0.0, 8.0))}
    out = writes(coord.handle(Replan(at(1), busy, [demand(("A", 1))])))
    assert [(c.current_a, c.phases) for c in out] == [(6.0, 1)]
    assert not writes(coord.handle(Acknowledged(out[0].command_id, at(2))))  # the EV ramps down first
    later = writes(coord.handle(Tick(at(7))))
    assert [(c.current_a, c.phases) for c in later] == [(12.0, 1)]
    coord.handle(Acknowledged(later[0].command_id, at(8)))
    coord.handle(Tick(at(13)))
    assert coord.footprints()[("A", 1)] == (12.0, 0.0, 0.0) and not coord.violations()


def test_a_burst_of_outcomes_handled_together_decides_the_same_writes_as_one_by_one():
    # handle_all applies every outcome, then decides once: the writes are those the last of the one-by-one
    # decisions would send. Here a third session arrives: the two running ones go down first, and the newcomer's
    # limit goes up only once both decreases are acknowledged.
    import copy

    keys = [("S", i) for i in range(1, 4)]
    topo = SiteTopology((Node("grid", max_current_a=32.0, safe_current_a=18.0),), tuple(ac(*k, "grid") for k in keys))
    coordinator = SiteCapCoordinator(topo, now=T0, installed_fallbacks=dict.fromkeys(keys, 6.0))

    def settle(commands: list) -> None:
        while commands:
            acks = [Acknowledged(c.command_id, T0) for c in commands if not isinstance(c, NotifyOperator)]
            commands = coordinator.handle_all(acks)

    for key in keys[:2]:
        coordinator.handle(SessionStarted(key, T0))
    settle(coordinator.handle(Replan(T0, {}, [demand(k) for k in keys[:2]])))
    coordinator.handle(SessionStarted(keys[2], T0))
    decreases = coordinator.handle(Replan(T0, {}, [demand(k) for k in keys]))
    assert {c.key for c in decreases if isinstance(c, SetSessionLimit)} == set(keys[:2])
    twin = copy.deepcopy(coordinator)
    acks = [Acknowledged(c.command_id, T0) for c in decreases if not isinstance(c, NotifyOperator)]
    together = coordinator.handle_all(acks)
    one_by_one: list = []
    for ack in acks:
        one_by_one += twin.handle(ack)
    assert [(type(c), c.key) for c in together] == [(type(c), c.key) for c in one_by_one]
    assert coordinator.footprints() == twin.footprints() and coordinator.violations() == []
    # Once the EVs have had their reaction time to ramp down, the newcomer's limit goes, in both.
    later = coordinator.handle(Tick(at(6)))
    assert [c.key for c in later if isinstance(c, SetSessionLimit)] == [keys[2]]
    assert [(type(c), c.key) for c in twin.handle(Tick(at(6)))] == [(type(c), c.key) for c in later]
