"""A depot/workplace day under the site cap, in 60 s steps, with the pure coordinator and simple, honest chargers.

Run from the repository root::

    .venv/bin/python docs/site-cap/simulate_day.py            # writes docs/site-cap/day.png, prints a summary

Nothing here talks to a network or a database: :class:`~wattcap.core.sitecap.SiteCapCoordinator` gets the inputs the
shell (``wattcap.server.sitecap.controller``) would give it — sessions starting and ending, the limits in force
with the building's load, measured draw, and each write's outcome — and its commands go to model chargers:

* a charger answers each command **one step later** (the rejecting one answers ``Rejected`` during its hour, and
  keeps what it held), and applies what it accepts when it answers;
* it **enforces the limit in force**: its session limit while the lease runs, else its fallback (TxDefault); a
  session limit belongs to its transaction and goes with it;
* its **EV draws** min(that limit, the EV's own maximum), and the EV's maximum tapers linearly from 80 % state of
  charge to a tenth at full; an AC EV does not charge below 6 A, draws on its own phases (1 or 3) through the
  EVSE's wiring; a DC EV draws balanced power.

The physics (which grid phase carries what, node loads, the check) is written out here and does not use the
coordinator's own footprint arithmetic, so it checks the coordinator rather than repeating it.

**The check.** At every step, for every node and grid phase (and in W where a node has a power limit), what the
chargers really draw plus the building's load stays within the limit in force, except in the step in which that
limit dropped: the chargers' acknowledgements come a step later, and no control plane is faster than that.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wattcap.core.sitecap import (
    Acknowledged,
    CoordinatorPolicy,
    EvseSpec,
    GridPhase,
    Node,
    NodeLimit,
    NotifyOperator,
    Rejected,
    Replan,
    SessionDemand,
    SessionEnded,
    SessionStarted,
    SetFallback,
    SetSessionLimit,
    SiteCapCoordinator,
    SiteTopology,
)
from wattcap.core.sitecap.signals import LimitPoint, LimitSchedule, LoadReading, resolve_limits
from wattcap.core.station import CurrentType

HERE = Path(__file__).resolve().parent
DAY = datetime(2026, 5, 4, tzinfo=UTC)  # a Monday
STEP_S = 60
VOLTAGE = 230.0
AC_MIN_A = 6.0
TOL = 1e-6
L1, L2, L3 = GridPhase.L1, GridPhase.L2, GridPhase.L3
ROTATIONS = ((L1, L2, L3), (L2, L3, L1), (L3, L1, L2))
PHASE = {L1: 0, L2: 1, L3: 2}

GRID_A, SAFE_A, MARGIN_A = 160.0, 100.0, 3.0
REJECTING = ("AC05", 1)
RENEW_BEFORE_S = 100


# ---- the site -------------------------------------------------------------------------------------------------


def depot() -> SiteTopology:
    """A 160 A grid connection (safe 100 A, margin 3 A) with two feeders: feeder A (80 A) with eight AC EVSEs,
    feeder B (125 A, 80 kW) with four 11 kW wallboxes and two 50 kW DC chargers. Two of the 22 kW EVSEs are
    single-phase; phase rotation cycles L1L2L3, L2L3L1, L3L1L2."""
    nodes = (
        Node("grid", max_current_a=GRID_A, safe_current_a=SAFE_A, margin_a=MARGIN_A),
        Node("feeder-a", parent="grid", max_current_a=80.0),
        Node("feeder-b", parent="grid", max_current_a=125.0, max_power_w=80_000.0),
    )
    evses = []
    for n in range(1, 13):
        single = n in (3, 7)
        evses.append(EvseSpec(
            f"AC{n:02d}", 1, "feeder-a" if n <= 8 else "feeder-b", wiring=ROTATIONS[(n - 1) % 3],
            phases=1 if single else 3, max_current_a=32.0 if n <= 8 else 16.0, step_a=1.0,
        ))
    for n in (1, 2):
        evses.append(EvseSpec(
            f"DC{n}", 1, "feeder-b", current_type=CurrentType.DC, max_power_w=50_000.0, min_power_w=2_000.0,
            step_w=500.0, max_current_a=72.5,
        ))
    return SiteTopology(nodes, tuple(evses))


def building_load(minute: float) -> tuple[float, float, float]:
    """The building's own draw on the grid connection per phase (A): offices from 7 to 18, a kitchen at noon."""
    anchors = [(0, 12), (5, 12), (6, 16), (7, 28), (8, 44), (9, 52), (11, 56), (12, 64), (13, 55), (16, 50),
               (17, 42), (18, 30), (20, 20), (22, 14), (24, 12)]
    hour = (minute / 60.0) % 24
    for (h0, a0), (h1, a1) in itertools.pairwise(anchors):
        if h0 <= hour <= h1:
            base = a0 + (a1 - a0) * (hour - h0) / (h1 - h0)
            break
    wobble = 1.5 * math.sin(minute / 17.0) + 0.8 * math.sin(minute / 5.3)  # smooth: well under the margin a minute
    return (base * 1.1 + wobble, base + 0.5 * wobble, base * 0.9 - 0.3 * wobble)


# ---- the fleet ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvType:
    name: str
    capacity_kwh: float
    phases: int = 3  # AC phases the on-board charger uses
    max_a: float = 16.0  # AC, per phase
    max_w: float = 0.0  # DC


COMPACT = EvType("compact 1-ph 32 A", 42.0, phases=1, max_a=32.0)
OLDER = EvType("older 1-ph 16 A", 30.0, phases=1, max_a=16.0)
MID = EvType("mid 3-ph 16 A", 60.0, phases=3, max_a=16.0)
LARGE = EvType("large 3-ph 32 A", 77.0, phases=3, max_a=32.0)
VAN = EvType("van 3-ph 16 A", 75.0, phases=3, max_a=16.0)
DC_CAR = EvType("DC car", 70.0, max_w=100_000.0)


@dataclass(frozen=True)
class Visit:
    key: tuple[str, int]
    arrive: int  # minutes from midnight
    depart: int  # may be after the end of the day (overnight vans)
    ev: EvType
    soc: float
    target: float

    @property
    def need_kwh(self) -> float:
        return (self.target - self.soc) * self.ev.capacity_kwh


def fleet(seed: int = 7) -> list[Visit]:
    """Who comes when: vans charged overnight leave early; commuters arrive 7–9:30 and leave 16:15–18:45; some
    bays turn over at noon; the vans return 16:20–18:30 for the night; the DC chargers see a car every hour or two."""
    rnd = random.Random(seed)
    visits: list[Visit] = []
    commuters = [COMPACT, MID, LARGE, OLDER, MID, LARGE, COMPACT, MID]
    for n in range(1, 13):
        key = (f"AC{n:02d}", 1)
        free = 0
        if n in (1, 2, 4, 9, 10):  # a van charged overnight, leaving in the morning
            leave = rnd.randint(5 * 60 + 30, 7 * 60)
            visits.append(Visit(key, 0, leave, VAN, rnd.uniform(0.45, 0.6), 1.0))
            free = leave + 15
        arrive = max(free, rnd.randint(7 * 60, 9 * 60 + 30))
        if n in (5, 6, 11):  # a morning visitor, then an afternoon one
            leave = rnd.randint(11 * 60, 12 * 60)
            visits.append(Visit(key, arrive, leave, rnd.choice(commuters), rnd.uniform(0.2, 0.5), 0.9))
            arrive = leave + rnd.randint(10, 50)
            leave = rnd.randint(15 * 60 + 30, 17 * 60 + 30)
        else:
            leave = rnd.randint(16 * 60 + 15, 18 * 60 + 45)
        ev = commuters[(n * 3) % len(commuters)]
        visits.append(Visit(key, arrive, leave, ev, rnd.uniform(0.15, 0.55), rnd.choice((0.8, 0.9, 1.0))))
        if n in (1, 2, 4, 8, 9, 10, 12):  # the vans back for the night
            back = max(leave + 10, rnd.randint(16 * 60 + 20, 18 * 60 + 30))
            visits.append(Visit(key, back, 36 * 60, VAN, rnd.uniform(0.15, 0.35), 1.0))
    for n, first in ((1, 7 * 60 + 10), (2, 7 * 60 + 45)):
        key, t = (f"DC{n}", 1), first
        while t < 21 * 60:
            dwell = rnd.randint(20, 45)
            visits.append(Visit(key, t, t + dwell, DC_CAR, rnd.uniform(0.2, 0.5), 0.8))
            t += dwell + rnd.randint(30, 120)
    return sorted(visits, key=lambda v: (v.arrive, v.key))


# ---- the chargers ----------------------------------------------------------------------------------------------


@dataclass
class Held:
    current_a: float
    phases: int
    power_w: float | None
    lease_until: datetime | None
    session: int  # the transaction it belongs to

    def same(self, cmd: SetSessionLimit) -> bool:
        return (self.current_a, self.phases, self.power_w) == (cmd.current_a, cmd.phases, cmd.power_w)


@dataclass
class Charger:
    spec: EvseSpec
    fallback_a: float = 0.0
    limit: Held | None = None
    visit: Visit | None = None
    session: int = 0  # counts transactions
    soc: float = 0.0
    delivered: dict[Visit, float] = field(default_factory=lambda: defaultdict(float))
    delivered_kwh: float = 0.0
    inbox: list[tuple[SetSessionLimit | SetFallback, int]] = field(default_factory=list)
    obeys: bool = True  # False: draws what the EV wants whatever it holds (for the check's own test)
    draw: float = 0.0  # A per phase (AC) or W (DC), during the current step
    draw_phases: int = 0

    @property
    def dc(self) -> bool:
        return self.spec.current_type is CurrentType.DC

    def in_force(self, now: datetime) -> tuple[float, int, float | None]:
        """(A per phase, phases, W) the charger lets the EV draw now: the session limit while its lease runs, else
        the fallback on all of the EVSE's phases."""
        lim = self.limit
        if lim is not None and lim.session == self.session and (lim.lease_until is None or now < lim.lease_until):
            return lim.current_a, lim.phases, lim.power_w
        phases = 3 if self.dc else self.spec.phases
        return self.fallback_a, phases, self.fallback_a * 3 * VOLTAGE if self.dc else None

    def ev_max(self) -> float:
        """What the EV itself takes now (A per phase for AC, W for DC), tapering from 80 % to full."""
        visit = self.visit
        if visit is None or self.soc >= visit.target - 1e-9:
            return 0.0
        # constant current to 80 %, then a linear taper down to a tenth at full (where a charger ends CV charging)
        taper = 1.0 if self.soc <= 0.8 else max(0.1, (1.0 - self.soc) / 0.2)
        return (visit.ev.max_w if self.dc else visit.ev.max_a) * taper

    def step_draw(self, now: datetime) -> None:
        """Set what the EV draws during the step that starts at ``now``."""
        self.draw, self.draw_phases = 0.0, 0
        if self.visit is None:
            return
        want = self.ev_max()
        current_a, phases, power_w = self.in_force(now)
        if self.dc:
            allowed = power_w if power_w is not None else current_a * 3 * VOLTAGE
            self.draw = want if not self.obeys else min(want, allowed)
            self.draw_phases = 3 if self.draw > 0 else 0
            return
        ev_phases = min(self.visit.ev.phases, self.spec.phases)
        if not self.obeys:
            self.draw, self.draw_phases = want, ev_phases
            return
        if current_a < AC_MIN_A - 1e-9:  # the pilot cannot go below 6 A: the EV pauses
            return
        self.draw = min(want, current_a)
        self.draw_phases = min(ev_phases, phases) if self.draw > 0 else 0

    def grid_loads(self) -> tuple[float, float, float]:
        """The grid-phase currents of the step's draw, through the EVSE's wiring."""
        loads = [0.0, 0.0, 0.0]
        if self.dc:
            per_phase = self.draw / (3 * VOLTAGE)
            return (per_phase, per_phase, per_phase)
        for p in range(self.draw_phases):
            loads[PHASE[self.spec.wiring[p]]] += self.draw
        return (loads[0], loads[1], loads[2])

    def power_w(self) -> float:
        return self.draw if self.dc else self.draw * self.draw_phases * VOLTAGE

    def charge(self, seconds: float) -> None:
        visit = self.visit
        if visit is None or self.draw <= 0:
            return
        kwh = min(self.power_w() * seconds / 3.6e6, (visit.target - self.soc) * visit.ev.capacity_kwh)
        self.soc += kwh / visit.ev.capacity_kwh
        self.delivered_kwh += kwh

    def measured(self) -> tuple[tuple[float, float, float] | None, float | None, int | None]:
        """What its meter reports (per EVSE phase L1..L3 before wiring, or W) and on how many phases."""
        if self.dc:
            return None, self.draw, None
        per = tuple(self.draw if p < self.draw_phases else 0.0 for p in range(3))
        return per, None, (self.draw_phases or None)  # type: ignore[return-value]


# ---- the day -----------------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    start_min: int = 0
    minutes: int = 24 * 60
    drop: tuple[int, int] = (17 * 60, 18 * 60)  # the grid operator halves the connection
    reject: tuple[int, int] = (10 * 60, 11 * 60)  # ``rejecting`` answers Rejected to every write meanwhile
    rejecting: tuple[str, int] = REJECTING
    disobeying: tuple[tuple[str, int], ...] = ()  # chargers that ignore their limits (the check's own test)
    seed: int = 7


@dataclass
class Excess:
    minute: int
    node: str
    dimension: str
    load: float
    limit: float
    after_drop: bool


@dataclass
class Result:
    scenario: Scenario
    topology: SiteTopology
    minutes: list[int] = field(default_factory=list)
    cap_a: list[float] = field(default_factory=list)  # grid limit in force (A per phase)
    safe_a: list[float] = field(default_factory=list)  # what the fallbacks must fit: min(safe, in force)
    draw_a: list[float] = field(default_factory=list)  # grid: EVs + building, worst phase
    building_a: list[float] = field(default_factory=list)  # worst phase
    offline_a: list[float] = field(default_factory=list)  # building + every fallback held, worst phase
    ev_kw: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    alloc_kw: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    #: per step: "" (idle), charging, paused, done (the EV is full), unknown (counted at its worst case)
    state: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    excesses: list[Excess] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    delivered: dict[Visit, float] = field(default_factory=lambda: defaultdict(float))
    delivered_kwh: float = 0.0
    left: int = 0  # EVs that left before the end
    left_wanted_kwh: float = 0.0
    left_got_kwh: float = 0.0
    satisfied: int = 0
    paused_sessions: set[tuple[tuple[str, int], int]] = field(default_factory=set)
    paused_minutes: int = 0
    lapsed_minutes: int = 0  # session-minutes on a lower fallback because a lease ran out while wattcap wanted more
    session_writes: int = 0
    renewals: int = 0
    fallback_writes: int = 0
    session_hours: float = 0.0
    rejected: int = 0
    notices: list[str] = field(default_factory=list)

    def at(self, minute: int) -> int:
        return self.minutes.index(minute)

    @property
    def forbidden(self) -> list[Excess]:
        return [e for e in self.excesses if not e.after_drop]


def simulate(scenario: Scenario | None = None) -> Result:
    scenario = scenario or Scenario()
    topology = depot()
    t0 = DAY + timedelta(minutes=scenario.start_min)
    # As wattcap serve sets it for lease_s = 300 (renewed 100 s before its end), the allocator's defaults.
    policy = CoordinatorPolicy(lease_s=300, renew_before_s=RENEW_BEFORE_S)
    chargers = {e.key: Charger(e, obeys=e.key not in scenario.disobeying) for e in topology.evses}
    # The chargers hold a fallback of 0 when the day starts, and the coordinator is told so (as the shell reads
    # back the TxDefault profiles it installed before).
    coordinator = SiteCapCoordinator(topology, now=t0, policy=policy,
                                     installed_fallbacks={k: 0.0 for k in chargers})
    end_min = scenario.start_min + scenario.minutes
    visits = [v for v in fleet(scenario.seed) if v.arrive < end_min and v.depart > scenario.start_min]
    result = Result(scenario, topology, visits=visits)
    for key in chargers:
        for series in (result.ev_kw, result.alloc_kw):
            series[key] = []
        result.state[key] = []
    drop_start, drop_end = scenario.drop
    schedule = LimitSchedule("grid", (
        LimitPoint(DAY, current_a=GRID_A),
        LimitPoint(DAY + timedelta(minutes=drop_start), current_a=GRID_A / 2),
        LimitPoint(DAY + timedelta(minutes=drop_end), current_a=GRID_A),
    ), received_at=DAY, ttl_s=2 * 86_400, source="dso")
    nodes = {n.id: n for n in topology.nodes}
    parents = {n.id: n.parent for n in topology.nodes}
    previous_limits: dict[str, NodeLimit] | None = None
    outbox: list[tuple[SetSessionLimit | SetFallback, int]] = []  # with the transaction it was sent for

    def run(event: object) -> None:
        for command in coordinator.handle(event):  # type: ignore[arg-type]
            if isinstance(command, NotifyOperator):
                result.notices.append(command.message)
                continue
            charger = chargers[command.key]
            if isinstance(command, SetSessionLimit):
                result.session_writes += 1
                held = charger.limit
                if held is not None and held.session == charger.session and held.same(command):
                    result.renewals += 1
            else:
                result.fallback_writes += 1
            outbox.append((command, charger.session))

    for minute in range(scenario.start_min, end_min):
        now = DAY + timedelta(minutes=minute)
        # 1. The chargers answer what was sent in the previous step.
        for charger in chargers.values():
            answers, charger.inbox = charger.inbox, []
            for command, session in answers:
                rejecting = charger.spec.key == scenario.rejecting and scenario.reject[0] <= minute < scenario.reject[1]
                if rejecting:
                    result.rejected += 1
                    run(Rejected(command.command_id, "Rejected", now))
                    continue
                if isinstance(command, SetFallback):
                    charger.fallback_a = command.current_a
                elif session == charger.session and charger.visit is not None:
                    charger.limit = Held(command.current_a, command.phases, command.power_w, command.lease_until,
                                         session)
                # else: a limit for a transaction that has ended; nothing to apply (the shell acknowledges it)
                run(Acknowledged(command.command_id, now))
        # 2. EVs leave and arrive.
        for charger in chargers.values():
            visit = charger.visit
            if visit is not None and visit.depart <= minute:
                charger.visit, charger.limit = None, None
                run(SessionEnded(charger.spec.key, now))
        for visit in visits:
            if visit.arrive == minute or (visit.arrive < scenario.start_min and minute == scenario.start_min):
                charger = chargers[visit.key]
                charger.session += 1
                charger.visit, charger.soc, charger.limit = visit, visit.soc, None
                result.session_hours += (min(visit.depart, end_min) - max(visit.arrive, scenario.start_min)) / 60
                run(SessionStarted(visit.key, now))
        # 3. The limits in force (the DSO's schedule, the building's load as its EMS reports it) and a re-plan with
        # the sessions' measured draw of the last step.
        load = LoadReading("grid", building_load(minute), received_at=now, ttl_s=120, source="ems")
        limits = resolve_limits(topology, now, [schedule], [load])
        demands = []
        for key, charger in sorted(chargers.items()):
            if charger.visit is None:
                continue
            measured_a, measured_w, phases = charger.measured()
            fresh = minute > max(charger.visit.arrive, scenario.start_min)  # a step drawn: a meter value
            demands.append(SessionDemand(
                key, started_at=DAY + timedelta(minutes=charger.visit.arrive),
                measured_a=measured_a if fresh else None, measured_w=measured_w if fresh else None,
                phases_in_use=phases, measured_at=now - timedelta(seconds=STEP_S) if fresh else None,
            ))
        run(Replan(now, limits, demands))
        for command, session in outbox:
            chargers[command.key].inbox.append((command, session))
        outbox.clear()
        # 4. What flows during the step, checked against the limits in force.
        for charger in chargers.values():
            charger.step_draw(now)
        _record(result, minute, now, chargers, coordinator, limits, nodes, parents, previous_limits)
        for charger in chargers.values():
            charger.charge(STEP_S)
        previous_limits = limits
    result.delivered_kwh = sum(result.delivered.values())
    for visit in visits:
        if visit.depart <= end_min:
            result.left += 1
            result.left_wanted_kwh += visit.need_kwh
            result.left_got_kwh += result.delivered[visit]
            result.satisfied += result.delivered[visit] >= visit.need_kwh - 0.05
    return result


def _record(result: Result, minute: int, now: datetime, chargers: dict[tuple[str, int], Charger],
            coordinator: SiteCapCoordinator, limits: dict[str, NodeLimit], nodes: dict[str, Node],
            parents: dict[str, str | None], previous: dict[str, NodeLimit] | None) -> None:
    loads = {n: [0.0, 0.0, 0.0, 0.0] for n in nodes}
    offline = [0.0, 0.0, 0.0]
    allocation = coordinator.allocation.evses if coordinator.allocation is not None else {}
    view = coordinator.view()["evses"]
    for key, charger in chargers.items():
        grid = charger.grid_loads()
        node: str | None = charger.spec.node
        while node is not None:
            row = loads[node]
            for p in range(3):
                row[p] += grid[p]
            row[3] += charger.power_w()
            node = parents[node]
        fb_phases = 3 if charger.dc else charger.spec.phases
        for p in range(fb_phases):
            offline[PHASE[charger.spec.wiring[p]]] += charger.fallback_a
        result.ev_kw[key].append(charger.power_w() / 1000)
        a = allocation.get(key)
        unknown = bool(view[f"{key[0]}/{key[1]}"]["unknown"])  # counted at its worst case
        if charger.visit is None:
            result.alloc_kw[key].append(0.0)
            result.state[key].append("unknown" if unknown else "")
            continue
        result.delivered[charger.visit] += min(charger.power_w() * STEP_S / 3.6e6,
                                               (charger.visit.target - charger.soc) * charger.visit.ev.capacity_kwh)
        if a is None:
            result.alloc_kw[key].append(0.0)
        elif charger.dc:
            result.alloc_kw[key].append((a.power_w or 0.0) / 1000)
        else:
            result.alloc_kw[key].append(a.current_a * a.phases * VOLTAGE / 1000)
        wants = charger.ev_max() > 0
        held = charger.limit
        if a is not None and held is not None and held.session == charger.session and held.lease_until is not None \
                and now >= held.lease_until:
            # The lease ran out while wattcap wanted more than the fallback, and the fallback is less than it held.
            if charger.dc:
                dropped = min(a.power_w or 0.0, held.power_w or 0.0) > charger.fallback_a * 3 * VOLTAGE + 1e-6
            else:
                dropped = min(a.current_a, held.current_a) > charger.fallback_a + 1e-9
            result.lapsed_minutes += dropped
        if unknown:
            state = "unknown"
        elif not wants:
            state = "done"
        elif a is not None and a.paused:
            state = "paused"
            result.paused_minutes += 1
            result.paused_sessions.add((key, charger.session))
        else:
            state = "charging"
        result.state[key].append(state)
    building = limits["grid"].non_ev_load_a
    grid_cap = limits["grid"].current_a or math.inf
    result.minutes.append(minute)
    result.cap_a.append(grid_cap)
    result.safe_a.append(min(SAFE_A, grid_cap))
    result.building_a.append(max(building))
    result.draw_a.append(max(loads["grid"][p] + building[p] for p in range(3)))
    result.offline_a.append(max(offline[p] + building[p] for p in range(3)))
    for node_id, node in nodes.items():
        lim = limits[node_id]
        extra = lim.non_ev_load_a
        before = previous[node_id] if previous is not None else lim
        dropped = _below(lim.current_a, before.current_a) or _below(lim.power_w, before.power_w)
        row = loads[node_id]
        if lim.current_a is not None:
            for p, name in enumerate(("L1", "L2", "L3")):
                if row[p] + extra[p] > lim.current_a + TOL:
                    result.excesses.append(Excess(minute, node_id, name, row[p] + extra[p], lim.current_a, dropped))
        if lim.power_w is not None:
            watts = row[3] + node.voltage_v * sum(extra)
            if watts > lim.power_w + TOL:
                result.excesses.append(Excess(minute, node_id, "W", watts, lim.power_w, dropped))


def _below(now: float | None, before: float | None) -> bool:
    return now is not None and (before is None or now < before - TOL)


# ---- the figures and the plot -----------------------------------------------------------------------------------


def clock(minute: float) -> str:
    minute = int(minute)
    return f"{minute // 60:02d}:{minute % 60:02d}"


def summary(result: Result) -> str:
    s = result.scenario
    peak = max(range(len(result.minutes)), key=lambda i: result.draw_a[i])
    dropped = {e.minute for e in result.excesses if e.after_drop}
    utilisation = max((i for i, m in enumerate(result.minutes) if m not in dropped),
                      key=lambda i: result.draw_a[i] / result.cap_a[i])
    in_drop = [i for i, m in enumerate(result.minutes) if s.drop[0] < m < s.drop[1]]
    first = [e for e in result.excesses if e.after_drop]
    offline = max(range(len(result.minutes)), key=lambda i: result.offline_a[i] - result.safe_a[i])
    sessions = len(result.visits)
    lines = [
        f"simulated {clock(s.start_min)}–{clock(s.start_min + s.minutes)} in {STEP_S} s steps: "
        f"{len(result.topology.evses)} EVSEs, {sessions} sessions, {result.session_hours:.1f} session-hours",
        f"peak grid draw (EVs + building, worst phase): {result.draw_a[peak]:.1f} A at {clock(result.minutes[peak])} "
        f"against a cap of {result.cap_a[peak]:.0f} A (building {result.building_a[peak]:.1f} A); highest share of "
        f"the cap in force {100 * result.draw_a[utilisation] / result.cap_a[utilisation]:.1f} % at "
        f"{clock(result.minutes[utilisation])}",
    ]
    if in_drop:
        worst = max(in_drop, key=lambda i: result.draw_a[i])
        lines.append(
            f"grid limit halved {clock(s.drop[0])}–{clock(s.drop[1])}: after its first step the draw peaks at "
            f"{result.draw_a[worst]:.1f} A against {result.cap_a[worst]:.0f} A"
        )
    if first:
        worst_first = max(first, key=lambda e: e.load - e.limit)
        lines.append(
            f"over the limit only in the step the limit dropped: {len(first)} node/phase readings at "
            f"{', '.join(sorted({clock(e.minute) for e in first}))}, worst {worst_first.node} {worst_first.dimension} "
            f"{worst_first.load:.1f} against {worst_first.limit:.1f} (the chargers answer a step later)"
        )
    lines += [
        f"any other step over a limit: {len(result.forbidden)}",
        f"offline (building + every fallback held), worst against the safe limit: {result.offline_a[offline]:.1f} A "
        f"against {result.safe_a[offline]:.0f} A at {clock(result.minutes[offline])}",
        f"energy delivered: {result.delivered_kwh:.1f} kWh; the {result.left} EVs that left got "
        f"{100 * result.left_got_kwh / result.left_wanted_kwh:.0f} % of the {result.left_wanted_kwh:.0f} kWh they "
        f"wanted ({_share(result, dc=False)} at AC, {_share(result, dc=True)} at DC), {result.satisfied} of them all "
        f"of it",
        f"sessions paused at some point while wanting energy: {len(result.paused_sessions)} of {sessions} "
        f"({result.paused_minutes} session-minutes)",
        f"session-minutes on a lower fallback because a lease ran out while wattcap ran: {result.lapsed_minutes}",
        f"writes: {result.session_writes} session limits ({result.renewals} of them lease renewals) and "
        f"{result.fallback_writes} fallbacks; per session-hour {result.session_writes / result.session_hours:.1f} "
        f"session-limit writes ({result.renewals / result.session_hours:.1f} renewals), "
        f"{(result.session_writes + result.fallback_writes) / result.session_hours:.1f} in all",
        f"{s.rejecting[0]} rejected {result.rejected} writes {clock(s.reject[0])}–{clock(s.reject[1])}: counted at its "
        f"worst case meanwhile; operator notices: {len(result.notices)}",
    ]
    return "\n".join(lines)


def _share(result: Result, *, dc: bool) -> str:
    end = result.scenario.start_min + result.scenario.minutes
    left = [v for v in result.visits if v.depart <= end and (v.ev.max_w > 0) == dc]
    wanted = sum(v.need_kwh for v in left)
    return f"{100 * sum(result.delivered[v] for v in left) / wanted:.0f} %" if wanted else "-"


def plot(result: Result, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    s = result.scenario
    hours = [m / 60 for m in result.minutes]
    fig, (top, middle, bottom) = plt.subplots(
        3, 1, figsize=(13, 12), sharex=True, gridspec_kw={"height_ratios": [3, 3, 2.2]}, constrained_layout=True
    )
    for ax in (top, middle, bottom):
        ax.axvspan(s.drop[0] / 60, s.drop[1] / 60, color="#d62728", alpha=0.08, lw=0)
        ax.axvspan(s.reject[0] / 60, s.reject[1] / 60, color="#9467bd", alpha=0.08, lw=0)
        ax.grid(alpha=0.3)
    top.fill_between(hours, result.building_a, step="post", color="#bbbbbb", label="building (non-EV) load")
    top.step(hours, result.draw_a, where="post", color="#1f77b4", lw=1.4, label="site draw: EVs + building")
    top.step(hours, result.cap_a, where="post", color="black", lw=1.6, label="cap: grid limit in force")
    top.step(hours, result.safe_a, where="post", color="black", lw=1, ls="--",
             label="safe limit (what holds offline)")
    top.step(hours, result.offline_a, where="post", color="#ff7f0e", lw=1.2, ls=":",
             label="offline worst case: building + every fallback")
    top.set_ylabel("grid current, worst phase [A]")
    top.set_ylim(0, GRID_A * 1.12)
    top.legend(loc="upper left", fontsize=8, ncol=2)
    top.text(s.drop[0] / 60 + 0.05, GRID_A * 1.05, "grid limit halved", fontsize=8, color="#d62728")
    top.text(s.reject[0] / 60 + 0.05, GRID_A * 1.05, f"{s.rejecting[0]} rejects writes", fontsize=8, color="#9467bd")
    top.set_title("A depot/workplace day under the site cap (60 s steps, chargers answer a step later)")
    for minute in sorted({e.minute for e in result.excesses if e.after_drop}):
        i = result.at(minute)
        top.annotate(f"{result.draw_a[i]:.0f} A for one step:\nthe chargers answer a step later",
                     xy=(hours[i], result.draw_a[i]), xytext=(hours[i] - 4.2, result.draw_a[i] - 45),
                     fontsize=8, arrowprops={"arrowstyle": "->", "lw": 0.8})

    keys = sorted(result.alloc_kw)
    colors = plt.get_cmap("tab20")(range(len(keys)))
    middle.stackplot(hours, [result.alloc_kw[k] for k in keys], step="post", colors=colors, alpha=0.85,
                     labels=[k[0] for k in keys])
    total_draw = [sum(result.ev_kw[k][i] for k in keys) for i in range(len(hours))]
    middle.step(hours, total_draw, where="post", color="black", lw=1, label="EVs' actual draw")
    middle.set_ylabel("allocated per session, stacked [kW]")
    middle.set_ylim(0, max(sum(result.alloc_kw[k][i] for k in keys) for i in range(len(hours))) * 1.3)
    middle.legend(loc="upper left", fontsize=7, ncol=8)

    palette = {"charging": "#2ca02c", "paused": "#d62728", "done": "#c7e9c0", "unknown": "#9467bd"}
    for row, key in enumerate(keys):
        states = result.state[key]
        start = 0
        for i in range(1, len(states) + 1):
            if i == len(states) or states[i] != states[start]:
                if states[start]:
                    bottom.broken_barh([(hours[start], (i - start) / 60)], (row - 0.4, 0.8),
                                       color=palette[states[start]], lw=0)
                start = i
    bottom.set_yticks(range(len(keys)), [k[0] for k in keys], fontsize=7)
    bottom.invert_yaxis()
    bottom.legend(handles=[Patch(color=c, label=n) for n, c in palette.items()], loc="lower left", fontsize=7,
                  ncol=4)
    bottom.set_xlabel("hour of the day")
    bottom.set_xlim(hours[0], hours[-1] + 1 / 60)
    bottom.set_xticks(range(int(hours[0]), int(hours[-1]) + 2, 2))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "day.png")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    result = simulate()
    print(summary(result))
    assert not result.forbidden, f"over a limit outside the step after a drop: {result.forbidden[:5]}"
    if not args.no_plot:
        plot(result, args.out)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
