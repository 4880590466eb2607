"""Sessions whose draw does not change are not rewritten once they have settled.

Found with ``benchmarks/load.py``: every EV draws 16 A (its own maximum) under a fair share of about 19 A, on
three phases, with a 24 h lease. The allocator reclaimed the EVs one by one as their measurements became
trustworthy (``reclaim_after_s`` after their allocation rose) and handed each reclaimed 1.1 A to the others,
which rose by a few tenths — a write each, and their ``raised_at`` restarted, so their own reclaim came another
``reclaim_after_s`` later, and gave more to the rest: a cascade of writes lasting minutes for a site of 20 whose
draw never changed. Two rules stop it:

* a session that already draws less than it was given (by more than the reclaim margin) is not given more while
  its draw cannot be judged yet: more would not be drawn, and it would only put the reclaim off;
* a reclaim that frees capacity nobody takes is not carried out: the session keeps its previous limit (a write
  for nobody's benefit only wears the charger's flash).
"""

from __future__ import annotations

from datetime import datetime

from wattcap.core.sitecap import (
    Acknowledged,
    AllocationPolicy,
    CoordinatorPolicy,
    EvseAllocation,
    FallbackPolicy,
    Node,
    Replan,
    SessionStarted,
    SetFallback,
    SetSessionLimit,
    SiteAllocation,
    SiteCapCoordinator,
    SiteTopology,
    Tick,
    allocate,
)
from wattcap.core.sitecap.model import EvseKey

from .strategies import ROTATIONS, T0, ac, at, demand

GRID = "grid"


def amps(result: SiteAllocation) -> dict[EvseKey, float]:
    return {k: a.current_a for k, a in result.evses.items()}


def drawing(key: EvseKey, amps_: float, seconds: float) -> object:
    return demand(key, measured_a=(amps_, amps_, amps_), measured_at=at(seconds), phases_in_use=3)


def test_a_session_already_drawing_less_than_its_share_is_not_raised_before_its_draw_can_be_judged():
    policy = AllocationPolicy(reclaim_margin_a=2.0, reclaim_after_s=60)
    topo = SiteTopology((Node(GRID, max_current_a=60.0),), tuple(ac("A", i, GRID) for i in range(1, 4)))
    # A1's allocation rose long ago; A2's and A3's 30 s ago. All three EVs draw 10 A under 20 A.
    previous = SiteAllocation(at(0), {
        ("A", 1): EvseAllocation(("A", 1), 20.0, 3, raised_at=at(-600), charged=True),
        ("A", 2): EvseAllocation(("A", 2), 20.0, 3, raised_at=at(-30), charged=True),
        ("A", 3): EvseAllocation(("A", 3), 20.0, 3, raised_at=at(-30), charged=True),
    })
    low = [drawing(("A", i), 10.0, 0) for i in range(1, 4)]
    r = allocate(topo, {}, low, now=at(0), previous=previous, policy=policy)
    # A1 is reclaimed to 12 A; A2 and A3 would not draw a share of its 8 A (they do not draw what they have).
    assert r.evses["A", 1].reclaim_cap == 12.0
    assert amps(r)["A", 2] == 20.0 and amps(r)["A", 3] == 20.0
    assert r.evses["A", 2].raised_at == at(-30)  # their reclaim is not put off
    # An EV that draws what it was given still gets more at once.
    full = [drawing(("A", 1), 10.0, 0), drawing(("A", 2), 19.5, 0), drawing(("A", 3), 10.0, 0)]
    r = allocate(topo, {}, full, now=at(0), previous=previous, policy=policy)
    assert amps(r)["A", 2] == 28.0


def test_a_reclaim_that_frees_capacity_nobody_takes_leaves_the_limit_as_it_was():
    policy = AllocationPolicy(reclaim_margin_a=2.0, reclaim_after_s=60)
    topo = SiteTopology((Node(GRID, max_current_a=60.0),), tuple(ac("A", i, GRID) for i in range(1, 4)))
    first = allocate(topo, {}, [demand(("A", i)) for i in range(1, 4)], now=T0, policy=policy)
    assert amps(first) == {("A", 1): 20.0, ("A", 2): 20.0, ("A", 3): 20.0}
    low = [drawing(("A", i), 16.0, 100) for i in range(1, 4)]
    r = allocate(topo, {}, low, now=at(100), previous=first, policy=policy)
    # Everyone draws 16 A: the reclaim is noted, but nobody would take what it frees.
    assert amps(r) == amps(first)
    assert all(a.reclaim_cap == 18.0 and a.binding == "demand" for a in r.evses.values())
    # A fourth session arrives: now the capacity is wanted, and the reclaim is carried out.
    more = [*low, demand(("A", 4), 100)]
    topo4 = SiteTopology(topo.nodes, (*topo.evses, ac("A", 4, GRID)))
    r = allocate(topo4, {}, more, now=at(101), previous=r, policy=policy)
    assert amps(r) == {("A", 1): 15.0, ("A", 2): 15.0, ("A", 3): 15.0, ("A", 4): 15.0}


def _load_site(n: int = 20) -> SiteTopology:
    """One site of ``benchmarks/load.py`` (``wattcap.sim.site.site_file_for``, share 0.6): 20 stations of one
    32 A three-phase EVSE on two feeders, rotations cycling."""
    nodes = (
        Node(GRID, max_current_a=384.0, safe_current_a=192.0, margin_a=2.0),
        Node("feeder-a", parent=GRID, max_current_a=269.0),
        Node("feeder-b", parent=GRID, max_current_a=269.0),
    )
    evses = tuple(
        ac(f"LD-{k:05d}", 1, "feeder-a" if k % 2 else "feeder-b", step_a=0.1, wiring=ROTATIONS[(k + 1) % 3],
           can_switch_phases=True)
        for k in range(1, n + 1)
    )
    return SiteTopology(nodes, evses)


def test_steady_sessions_whose_draw_does_not_change_are_not_rewritten():
    """The load benchmark in miniature: every EV draws the lower of 16 A and its limit (its fallback until its
    session limit lands), metered every 10 s on three phases; the shell re-plans every 5 s and ticks every
    second; chargers answer within a second. After the sessions' start-up writes nothing is written again."""
    topo = _load_site()
    policy = CoordinatorPolicy(lease_s=86400, renew_before_s=28800, fallback=FallbackPolicy("minimum"))
    coord = SiteCapCoordinator(topo, now=T0, policy=policy)
    keys = [e.key for e in topo.evses]
    limit: dict[EvseKey, float] = {}
    fallback: dict[EvseKey, float] = {}
    measured: dict[EvseKey, tuple[float, datetime]] = {}
    in_flight: list[tuple[float, object]] = []
    written: list[tuple[float, object]] = []

    def run(commands: list, t: float) -> None:  # type: ignore[type-arg]
        for c in commands:
            if isinstance(c, SetSessionLimit | SetFallback):
                written.append((t, c))
                in_flight.append((t + 1.0, c))

    for k in range(4000):  # 400 s in steps of 0.1 s
        t = k / 10
        now = at(t)
        for due in [w for w in in_flight if w[0] <= t]:
            in_flight.remove(due)
            c = due[1]
            (fallback if isinstance(c, SetFallback) else limit)[c.key] = c.current_a
            run(coord.handle(Acknowledged(c.command_id, now)), t)
        if k < len(keys):
            run(coord.handle(SessionStarted(keys[k], now)), t)
        for i, key in enumerate(keys):
            if k >= 100 and (k - 5 * i) % 100 == 0:
                a = min(16.0, limit.get(key, fallback.get(key, 0.0)))
                measured[key] = (a, now)
        if k % 10:
            continue
        if k % 50:
            run(coord.handle(Tick(now)), t)
            continue
        demands = [
            demand(key, 0.0, measured_a=(m[0], m[0], m[0]), measured_at=m[1], phases_in_use=3)
            if (m := measured.get(key)) else demand(key, 0.0)
            for key in keys
        ]
        run(coord.handle(Replan(now, {}, demands)), t)

    settled = [(t, c.key[0], type(c).__name__, c.current_a) for t, c in written if t > 30]
    assert settled == []
    assert all(16.0 <= a < 32.0 for a in limit.values())
