"""Offline shares (``fallback_shares``): every policy, and the one property that matters — the shares fit every
node's safe limit per grid phase, whatever the site."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattcap.core.sitecap import (
    FallbackDoesNotFit,
    FallbackKind,
    FallbackPolicy,
    Node,
    NodeLimit,
    SiteTopology,
    fallback_shares,
)
from wattcap.core.station import CurrentType

from .reference import footprint, reference_violations
from .strategies import L1, L2, L3, ac, dc, node_limits, sites

GRID = "grid"


def test_equal_splits_the_safe_limit_floored_to_the_step():
    topo = SiteTopology((Node(GRID, max_current_a=63.0, safe_current_a=32.0),),
                        tuple(ac("A", i, GRID) for i in range(1, 4)))
    assert fallback_shares(topo, {}) == {("A", 1): 10.0, ("A", 2): 10.0, ("A", 3): 10.0}


def test_equal_respects_wiring_per_phase_and_subtrees():
    topo = SiteTopology(
        (Node(GRID, max_current_a=40.0), Node("f", parent=GRID, max_current_a=12.0)),
        (
            ac("A", 1, GRID, phases=1, wiring=(L1, L2, L3)),
            ac("A", 2, GRID, phases=1, wiring=(L2, L3, L1)),
            ac("B", 1, "f"), ac("B", 2, "f"),
        ),
    )
    # f gives B1/B2 6 A each; A1 on L1 and A2 on L2 take the rest of their phase: 40 - 12 = 28, capped at 32.
    assert fallback_shares(topo, {}) == {("A", 1): 28.0, ("A", 2): 28.0, ("B", 1): 6.0, ("B", 2): 6.0}


def test_equal_gives_zero_where_the_share_is_below_the_minimum():
    topo = SiteTopology((Node(GRID, max_current_a=16.0),), tuple(ac("A", i, GRID) for i in range(1, 4)))
    assert fallback_shares(topo, {}) == {("A", 1): 0.0, ("A", 2): 0.0, ("A", 3): 0.0}


def test_a_grid_drop_lowers_the_shares_too_and_non_ev_load_and_margin_come_off():
    topo = SiteTopology((Node(GRID, max_current_a=63.0, margin_a=2.0),), (ac("A", 1, GRID), ac("A", 2, GRID)))
    assert fallback_shares(topo, {}) == {("A", 1): 30.0, ("A", 2): 30.0}
    dropped = {GRID: NodeLimit(current_a=30.0, non_ev_load_a=(4.0, 0.0, 0.0))}
    assert fallback_shares(topo, dropped) == {("A", 1): 12.0, ("A", 2): 12.0}


def test_safe_power_limit_counts():
    topo = SiteTopology((Node(GRID, max_current_a=63.0, safe_power_w=13_800.0),),
                        (ac("A", 1, GRID), ac("A", 2, GRID)))
    assert fallback_shares(topo, {}) == {("A", 1): 10.0, ("A", 2): 10.0}  # 60 phase-amps over 6 phases


def test_dc_share_is_grid_current_per_phase_and_a_whole_step_of_watts():
    topo = SiteTopology((Node(GRID, max_current_a=20.0),), (dc("D", 1, GRID, step_w=500.0),))
    share = fallback_shares(topo, {})[("D", 1)]
    assert share * 3 * 230 == pytest.approx(13_500.0)  # 20 A x 690 V = 13.8 kW, floored to 500 W


def test_fixed_applies_the_amperage_or_refuses_naming_the_node_and_phase():
    topo = SiteTopology((Node(GRID, max_current_a=63.0), Node("f", parent=GRID, max_current_a=20.0)),
                        (ac("A", 1, "f"), ac("A", 2, "f", max_current_a=6.0), ac("A", 3, GRID)))
    assert fallback_shares(topo, {}, FallbackPolicy(FallbackKind.FIXED, 8.0)) == {
        ("A", 1): 8.0, ("A", 2): 6.0, ("A", 3): 8.0,
    }
    with pytest.raises(FallbackDoesNotFit, match=r"node 'f' on L1: needs 22\.0 A, 20\.0 A available") as info:
        fallback_shares(topo, {}, FallbackPolicy("fixed", 16.0))
    assert info.value.node == "f"
    with pytest.raises(ValueError, match="needs fixed_a"):
        FallbackPolicy("fixed")


def test_minimum_serves_as_many_as_fit_in_key_order():
    topo = SiteTopology((Node(GRID, max_current_a=13.0),),
                        (ac("B", 1, GRID), ac("A", 2, GRID), ac("A", 1, GRID), ac("C", 1, GRID, phases=1,
                                                                                    wiring=(L3, L1, L2))))
    shares = fallback_shares(topo, {}, FallbackPolicy(FallbackKind.MINIMUM))
    # A1, A2 take 12 of 13 on each phase; B1 does not fit; C1 (one phase) does not fit on L3 either.
    assert shares == {("A", 1): 6.0, ("A", 2): 6.0, ("B", 1): 0.0, ("C", 1): 0.0}


def test_zero_is_zero():
    topo = SiteTopology((Node(GRID, max_current_a=63.0),), (ac("A", 1, GRID),))
    assert fallback_shares(topo, {}, FallbackPolicy("zero")) == {("A", 1): 0.0}


def test_reserved_evses_take_their_worst_case_and_get_zero():
    topo = SiteTopology((Node(GRID, max_current_a=40.0),), (ac("A", 1, GRID), ac("A", 2, GRID)))
    assert fallback_shares(topo, {}, reserved={("A", 2): (32.0, 3)}) == {("A", 1): 8.0, ("A", 2): 0.0}


@settings(max_examples=100, deadline=None)
@given(st.data(), st.sampled_from(("equal", "minimum", "fixed")))
def test_shares_fit_every_safe_limit_and_are_stable(data, kind):  # type: ignore[no-untyped-def]
    topology = data.draw(sites())
    limits = data.draw(node_limits(topology))
    policy = FallbackPolicy(kind, 6.0 if kind == "fixed" else None)
    try:
        shares = fallback_shares(topology, limits, policy)
    except FallbackDoesNotFit:
        assert kind == "fixed"
        return
    assert shares == fallback_shares(topology, limits, policy)  # same input, same output: no needless writes
    # the safe limit: lower of safe_*, static and the limit in force, checked by the reference's own arithmetic
    safe_limits = {
        n.id: NodeLimit(
            current_a=min(v for v in (n.safe_current_a, limits.get(n.id, NodeLimit()).current_a, n.max_current_a,
                                      float("inf")) if v is not None),
            non_ev_load_a=limits.get(n.id, NodeLimit()).non_ev_load_a,
        )
        for n in topology.nodes
    }
    evses = {e.key: e for e in topology.evses}
    fps = {k: footprint(evses[k], None, 0, v, None) for k, v in shares.items()}
    # (a node whose building alone is over its limit has no room: every share under it is 0)
    assert not [v for v in reference_violations(topology, safe_limits, fps) if v[2] > 1e-9]
    for key, share in shares.items():
        evse = evses[key]
        minimum = evse.min_current_a if evse.current_type is CurrentType.AC else evse.min_power_w / 690
        assert share == 0 or share >= minimum - 1e-9 or kind == "fixed"
