"""Two things a held-back increase should not do, found with ``docs/site-cap/simulate_day.py`` (chargers that answer
a step of 60 s later, where an increase often waits a step or two for the decrease it needs).

1. **Reclaim** judges a session by its draw under the limit it was *given*. A session whose increase waited longer
   than ``AllocationPolicy.reclaim_after_s`` was measured drawing its old limit, "reclaimed" down to that draw plus
   the margin, and then climbed back two amps per reclaim period: the allocator dates ``raised_at`` from the plan,
   not from when the charger acknowledged the higher limit, and nothing tells it the limit never got there.
2. **Renewal.** While an increase waits, the lease of the limit in force is not renewed (the coordinator only ever
   writes the limit it wants), so a wait that outlasts ``renew_before_s`` lets the lease lapse while wattcap runs
   and the EV drops to its fallback (0 here: a pause) until the increase lands. With the shell's default lease
   (300 s, renewed 100 s before its end) that takes a longer wait than a 30 s call timeout allows; with a short
   lease it does not.

Each test states the expected behaviour; the coordinator now dates an unacknowledged raise from the current plan
(``SiteCapCoordinator._as_landed``) and renews the lease in force while a higher limit waits.
"""

from __future__ import annotations

from wattcap.core.sitecap import (
    Acknowledged,
    AllocationPolicy,
    CoordinatorPolicy,
    FallbackPolicy,
    Replan,
    SessionDemand,
    SetSessionLimit,
    Tick,
)

from .strategies import at, demand
from .test_transition import GRID, ac, ack_all, coordinator, site, writes


def drawing(key: tuple[str, int], started: float, amps: float, seconds: float) -> SessionDemand:
    return demand(key, started, measured_a=(amps, amps, amps), measured_at=at(seconds), phases_in_use=3)


def test_a_session_is_not_reclaimed_while_its_increase_is_still_held_back():
    topo = site(ac("A", 1, GRID), ac("A", 2, GRID))
    coord = coordinator(topo)  # zero fallbacks: an EVSE without a session limit draws nothing
    ack_all(coord, coord.handle(Replan(at(0), {}, [demand(("A", 1))])))
    # A2 arrives: the plan is 16 / 16. A1's decrease goes out; A2's increase waits for it.
    out = coord.handle(Replan(at(10), {}, [drawing(("A", 1), 0, 32.0, 9), demand(("A", 2), 10)]))
    [decrease] = writes(out)
    assert (decrease.key, decrease.current_a) == (("A", 1), 16.0)
    assert coord.allocation.evses["A", 2].current_a == 16.0
    # A1's charger is slow to answer. The shell re-plans on meter values meanwhile: A2 still draws nothing (it has
    # no limit to charge under), 70 s after its allocation rose.
    coord.handle(Replan(at(80), {}, [drawing(("A", 1), 0, 32.0, 79), drawing(("A", 2), 10, 0.0, 80)]))
    # A2 never had 16 A: its draw says nothing about what it would take.
    assert coord.allocation.evses["A", 2].current_a == 16.0
    released = coord.handle(Acknowledged(decrease.command_id, at(90)))
    released += coord.handle(Replan(at(96), {}, [drawing(("A", 1), 0, 16.0, 95), drawing(("A", 2), 10, 0.0, 95)]))
    assert [(c.key, c.current_a) for c in writes(released) if isinstance(c, SetSessionLimit)] == [(("A", 2), 16.0)]


def test_the_lease_in_force_is_renewed_while_a_higher_limit_waits():
    policy = CoordinatorPolicy(lease_s=60, renew_before_s=20, fallback=FallbackPolicy("zero"),
                               allocation=AllocationPolicy(reclaim_after_s=10))
    coord = coordinator(site(ac("A", 1, GRID), ac("A", 2, GRID)), policy)
    ack_all(coord, coord.handle(Replan(at(0), {}, [demand(("A", 1)), demand(("A", 2))])))  # 16 / 16, leased to 60 s
    # A2's EV draws 4 A: it is reclaimed to 6 A, and A1 may have 26 A once A2 is down.
    out = coord.handle(Replan(at(30), {}, [drawing(("A", 1), 0, 16.0, 29), drawing(("A", 2), 0, 4.0, 29)]))
    assert [(c.key, c.current_a) for c in writes(out)] == [(("A", 2), 6.0)]
    assert coord.allocation.evses["A", 1].current_a == 26.0
    # A2's charger answers within the call timeout, but slowly (at 58 s); the shell ticks every second meanwhile.
    sent = []
    for second in range(31, 58):
        sent += [c for c in writes(coord.handle(Tick(at(second)))) if c.key == ("A", 1)]
    # A1's 16 A lease ends at 60 s: it must have been renewed (or replaced) before, or A1 stops charging at 60 s.
    assert sent and all(c.lease_until is not None and c.lease_until > at(60) for c in sent)
    assert sent[0].current_a >= 16.0
