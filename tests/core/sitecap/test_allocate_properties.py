"""Properties of ``allocate`` on random small sites, checked against the naive reference (``reference.py``).

* fairness: every session is within one step of the weighted max-min fair allocation the reference computes;
* safety: footprints (max of allocation and fallback, reservations) stay within every node's headroom;
* min-or-nothing: a session gets 0 or at least its minimum;
* determinism: the order of demands does not matter, and the same input gives the same output;
* no flapping: fed its own result back under constant input, the allocation settles and stays put.
"""

from __future__ import annotations

import random
from dataclasses import replace

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wattcap.core.sitecap import SiteAllocation, allocate
from wattcap.core.station import CurrentType

from .reference import (
    base_feasible,
    footprint,
    reference_allocation,
    reference_violations,
)
from .strategies import T0, at, demands_for, fallbacks_for, node_limits, sites

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIGHT = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def cases(draw: st.DrawFn, *, allow_switch: bool = False, reserve: bool = True):  # type: ignore[no-untyped-def]
    topology = draw(sites(allow_switch=allow_switch))
    limits = draw(node_limits(topology))
    demands = draw(demands_for(topology))
    fallbacks = draw(fallbacks_for(topology))
    reserved = {}
    if reserve and draw(st.booleans()):
        evse = draw(st.sampled_from(topology.evses))
        reserved[evse.key] = (16.0, 1 if evse.phases == 1 and evse.current_type is CurrentType.AC else 3)
    return topology, limits, demands, fallbacks, reserved


def level(evse, allocation) -> float:  # type: ignore[no-untyped-def]
    return allocation.power_w if evse.current_type is CurrentType.DC else allocation.current_a


def step_of(evse) -> float:  # type: ignore[no-untyped-def]
    return evse.step_w if evse.current_type is CurrentType.DC else evse.step_a


def footprints_of(topology, result: SiteAllocation, fallbacks, reserved):  # type: ignore[no-untyped-def]
    out = {}
    for e in topology.evses:
        a = result.evses.get(e.key)
        lvl = None if a is None or a.paused else level(e, a)
        out[e.key] = footprint(e, lvl, a.phases if a else 0, fallbacks.get(e.key, 0.0), reserved.get(e.key))
    return out


@SETTINGS
@given(cases())
def test_each_session_is_within_one_step_of_the_weighted_max_min_fair_share(case):  # type: ignore[no-untyped-def]
    topology, limits, demands, fallbacks, reserved = case
    assume(base_feasible(topology, limits, fallbacks, reserved))
    result = allocate(topology, limits, demands, now=T0, fallbacks=fallbacks, reserved=reserved)
    expected = reference_allocation(topology, limits, demands, fallbacks, reserved)
    evses = {e.key: e for e in topology.evses}
    assert set(result.evses) == set(expected)
    for key, (ref_level, ref_phases) in expected.items():
        got = result.evses[key]
        assert got.paused == (ref_level is None), (key, got, ref_level)
        if ref_level is None:
            continue
        assert got.phases == ref_phases
        assert abs(level(evses[key], got) - ref_level) <= step_of(evses[key]) + 1e-6, (key, got, ref_level)


@LIGHT
@given(cases(allow_switch=True))
def test_footprints_never_exceed_a_node_that_had_room(case):  # type: ignore[no-untyped-def]
    """Where the fallbacks, reservations and non-EV load alone fit, the allocation fits too; where they do not,
    the allocation adds nothing there."""
    topology, limits, demands, fallbacks, reserved = case
    result = allocate(topology, limits, demands, now=T0, fallbacks=fallbacks, reserved=reserved)
    floor = {(n, d): load for n, d, load, _ in reference_violations(topology, limits, footprints_of(
        topology, SiteAllocation(T0), fallbacks, reserved))}
    for node, dim, load, cap in reference_violations(
        topology, limits, footprints_of(topology, result, fallbacks, reserved)
    ):
        assert (node, dim) in floor, f"{node} {dim}: {load} > {cap} although it fitted with everyone paused"
        assert load <= floor[node, dim] + 1e-6


@LIGHT
@given(cases(allow_switch=True))
def test_min_or_nothing_steps_and_ceilings(case):  # type: ignore[no-untyped-def]
    topology, limits, demands, fallbacks, reserved = case
    result = allocate(topology, limits, demands, now=T0, fallbacks=fallbacks, reserved=reserved)
    evses = {e.key: e for e in topology.evses}
    for key, a in result.evses.items():
        evse = evses[key]
        value = level(evse, a)
        if a.paused:
            assert value == 0
            continue
        if evse.current_type is CurrentType.DC:
            assert value >= max(evse.min_power_w, evse.step_w) - 1e-9
            assert value <= evse.max_power_w + 1e-6
            assert abs(a.current_a - value / (3 * evse.voltage_v)) < 1e-6
        else:
            assert value >= evse.min_current_a - 1e-9
            assert value <= evse.max_current_a + 1e-9
            assert a.power_w is None
        steps = value / step_of(evse)
        assert abs(steps - round(steps)) < 1e-6 or abs(value - evse.min_current_a) < 1e-9
        assert a.binding


@settings(max_examples=60, deadline=None)
@given(cases(allow_switch=True), st.randoms(use_true_random=False))
def test_same_input_same_output_whatever_the_order_of_demands(case, rnd: random.Random):  # type: ignore[no-untyped-def]
    topology, limits, demands, fallbacks, reserved = case
    first = allocate(topology, limits, demands, now=T0, fallbacks=fallbacks, reserved=reserved)
    shuffled = list(demands)
    rnd.shuffle(shuffled)
    again = allocate(topology, limits, shuffled, now=T0, fallbacks=dict(reversed(list(fallbacks.items()))),
                     reserved=reserved)
    assert first == again


def _shape(result: SiteAllocation) -> dict:  # type: ignore[type-arg]
    return {k: (a.current_a, a.phases, a.power_w, a.paused) for k, a in result.evses.items()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(allow_switch=True), st.lists(st.sampled_from((None, 0.0, 3.0, 7.5)), min_size=7, max_size=7))
def test_constant_input_settles_and_never_flaps(case, draws):  # type: ignore[no-untyped-def]
    """Fed back its own result every 2 minutes with nothing else changing (measured draw included), the
    allocation may change while timers run out (pause, phase hold, reclaim settle), then stays put."""
    topology, limits, demands, fallbacks, reserved = case
    demands = [
        replace(d, measured_a=None if m is None else (m, m, m)) for d, m in zip(demands, draws, strict=False)
    ]
    previous = None
    shapes = []
    for k in range(14):
        previous = allocate(topology, limits, demands, now=at(120 * k), previous=previous, fallbacks=fallbacks,
                            reserved=reserved)
        shapes.append(_shape(previous))
    assert all(s == shapes[-1] for s in shapes[-5:]), shapes[-5:]
