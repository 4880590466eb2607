"""A depot in simulated time: fleet rules, the charging planner and the site cap composed, step by step (pure).

A :class:`DepotScenario` is a site (its topology: a grid connection and EVSEs), a rules file (YAML, read with
:func:`~wattcap.core.fleet.loader.load_rules`), a price series (and changes to it announced during the run) and
the vans and cars that visit (:class:`Visit`: when each arrives and leaves, its EV model, SoC and id-token).
:func:`simulate_depot` runs it in fixed steps (60 s by default) on a simulated clock and composes the real core
the way the control plane's shell does (``wattcap.server.fleet.service``):

1. **Rules** — when a visit arrives its :class:`~wattcap.core.fleet.model.SessionFacts` (id-token, id-token
   group, the EV's identity and SoC) go through :func:`~wattcap.core.fleet.rules.evaluate`; the policy gives the
   allocator's priority and weight, a ceiling, and perhaps a charging goal with a departure.
2. **Planning** — every session with a goal is planned jointly per site with
   :func:`~wattcap.core.fleet.planner.plan_sessions` over 15-minute slots until the last departure: at every slot
   boundary, when a session arrives or leaves and when the price series changes. The window's capacity is the
   grid connection's (:func:`~wattcap.core.fleet.inputs.ev_capacity_w`) less what sessions without a goal
   hold (their minimum when the goals outrank them, else what they are allocated now). What is left of a goal
   is the goal less what was delivered (a SoC goal: from the SoC now). A new plan reaches a session through
   :class:`~wattcap.core.fleet.planner_gate.ReplanGate` (at most once per ``replan_min_s``, except a new
   session's first plan).
3. **Site cap** — each step every session's demand is shaped by its policy and its plan's power for now
   (:func:`~wattcap.core.fleet.inputs.shaped_demand`: a ceiling; 0 pauses it) and the whole site is allocated
   with :func:`~wattcap.core.sitecap.allocate` (the previous allocation fed back, measured draw for reclaim).
4. **Physics** — each EV draws min(its allocation, what its charging curve accepts) (:mod:`wattcap.sim.ev`),
   and the energy goes into its battery for the step.

Everything is recorded per step (site draw per grid phase against the cap, each session's allocation, plan, draw
and SoC, the price) and every visit ends with a :class:`VanOutcome`: its goal, what it got, whether it was met,
and whether the planner said up front that it could not be. Nothing reads a clock or touches a file: the same
scenario gives the same result (HiGHS is deterministic; only its solve times vary, and a time limit that is
reached could in principle make a plan depend on the machine's speed — the recorded ``status`` says when).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from wattcap.core.fleet.inputs import ev_capacity_w, goal_energy_wh, reserved_w, series_values, shaped_demand
from wattcap.core.fleet.loader import load_rules
from wattcap.core.fleet.model import ChargingGoal, SessionFacts, SessionPolicy, Vehicle
from wattcap.core.fleet.planner import (
    PlanningWindow,
    ReplanGate,
    ReplanTrigger,
    SessionGoal,
    SessionPlan,
    plan_sessions,
)
from wattcap.core.fleet.rules import Evaluation, RuleSet, evaluate
from wattcap.core.sitecap.allocate import AllocationPolicy, allocate
from wattcap.core.sitecap.model import (
    EvseAllocation,
    EvseKey,
    EvseSpec,
    GridPhase,
    Node,
    NodeLimit,
    SessionDemand,
    SiteAllocation,
    SiteTopology,
)
from wattcap.core.sitecap.transition import (
    Acknowledged,
    CoordinatorCommand,
    CoordinatorPolicy,
    Replan,
    SessionEnded,
    SessionStarted,
    SetFallback,
    SetSessionLimit,
    SiteCapCoordinator,
    Tick,
)
from wattcap.core.station import CurrentType
from wattcap.sim.ev import EV, NO_DRAW, Draw, EVSpec, ac_draw, dc_draw

__all__ = [
    "DAY_PRICES",
    "DEPOT_VAN",
    "FLEET_VAN",
    "NIGHT",
    "NIGHT_PRICES",
    "NIGHT_RULES",
    "CoordinatorPolicy",
    "DepotResult",
    "DepotScenario",
    "PlanRecord",
    "PlannerSettings",
    "SessionTrace",
    "VanOutcome",
    "Visit",
    "depot_day",
    "depot_night",
    "depot_site",
    "simulate_depot",
    "with_planner",
]

_PHASES = (GridPhase.L1, GridPhase.L2, GridPhase.L3)


@dataclass(frozen=True, slots=True)
class Visit:
    """One vehicle's stay: it plugs into ``evse`` at ``arrival`` and leaves at ``departure`` (whatever it got).

    ``id_token`` / ``group`` are what it authorises with; ``vehicle_id`` is the identity the EV itself reports
    (2.0.1 EV data; None: the rules find the vehicle by id-token); ``report_soc`` whether the EV tells its SoC.
    """

    name: str
    evse: EvseKey
    arrival: datetime
    departure: datetime
    spec: EVSpec
    soc: float = 0.2
    id_token: str | None = None
    group: str | None = None
    vehicle_id: str | None = None
    report_soc: bool = True


@dataclass(frozen=True, slots=True)
class PlannerSettings:
    """How the simulated shell plans: slot length, HiGHS's limits, how often a charger may get a new plan."""

    slot_s: int = 900
    time_limit_s: float = 2.0
    mip_rel_gap: float = 1e-3
    replan_min_s: float = 300.0
    #: Plan at all (False: no plans; every session gets its share of the cap until its goal is met and then
    #: stops: the "as fast as possible" day to compare with).
    enabled: bool = True
    #: Re-plan at every slot boundary (False: only on arrivals, departures and price changes).
    every_slot: bool = True


@dataclass(frozen=True, slots=True)
class DepotScenario:
    """A depot's day: ``topology`` (see :func:`depot_site`), the rules document, prices as steps
    ``(from, price per kWh)``, price series announced during the run ``(at, steps)`` (each replaces the series),
    and the visits. The run covers ``start`` to ``end`` in steps of ``step_s``."""

    topology: SiteTopology
    rules_yaml: str
    visits: tuple[Visit, ...]
    start: datetime
    end: datetime
    prices: tuple[tuple[datetime, float], ...] = ()
    price_updates: tuple[tuple[datetime, tuple[tuple[datetime, float], ...]], ...] = ()
    step_s: int = 60
    site_id: str = "depot"
    planner: PlannerSettings = field(default_factory=PlannerSettings)
    allocation: AllocationPolicy = field(default_factory=AllocationPolicy)
    #: None: the allocator's result is what the chargers enforce. A policy: the allocation goes through
    #: :class:`~wattcap.core.sitecap.SiteCapCoordinator` (decreases first, leases, TxDefault fallbacks) to chargers
    #: that acknowledge every write at once, and the EVs draw what the chargers then hold.
    coordinator: CoordinatorPolicy | None = None


@dataclass(frozen=True, slots=True)
class PlanRecord:
    """One joint plan: when, why, for which sessions, how long HiGHS took and what it said."""

    at: datetime
    triggers: tuple[str, ...]
    sessions: tuple[str, ...]
    solve_s: float
    wall_s: float
    status: str
    gap: float
    plans: dict[str, SessionPlan]
    sent: tuple[str, ...]


@dataclass(slots=True)
class SessionTrace:
    """One visit's series, one value per step of the run (None while it is not plugged in)."""

    name: str
    allocation_w: list[float | None]
    plan_w: list[float | None]
    draw_w: list[float | None]
    soc: list[float | None]
    #: What stopped the allocation growing (the allocator's ``binding``: "plan" for a plan's pause, a node id …).
    binding: list[str | None]


@dataclass(frozen=True, slots=True)
class VanOutcome:
    """How a visit ended. ``goal_wh`` is None without a goal; ``met`` then is None too.

    ``planned_infeasible`` / ``planned_shortfall_wh``: what the planner said the first time it planned the visit
    (the shortfall it expected at departure). ``shortfall_wh`` is what really was missing when it left.
    """

    name: str
    evse: EvseKey
    rule: str | None
    arrival: datetime
    departure: datetime
    goal_departure: datetime | None
    goal_wh: float | None
    delivered_wh: float
    soc_start: float
    soc_end: float
    met: bool | None
    shortfall_wh: float
    planned_infeasible: bool
    planned_shortfall_wh: float
    cost: float


@dataclass(slots=True)
class DepotResult:
    """The run: per step the time, the price, the grid connection's per-phase limit for EVs (after its margin)
    and the site's draw per grid phase and in W; per visit its trace and outcome; every plan made."""

    times: list[datetime]
    price: list[float | None]
    cap_a: list[tuple[float, float, float]]
    cap_w: list[float]
    draw_a: list[tuple[float, float, float]]
    draw_w: list[float]
    traces: dict[str, SessionTrace]
    outcomes: dict[str, VanOutcome]
    plans: list[PlanRecord]
    step_s: int
    evaluations: dict[str, Evaluation]
    wall_s: float = 0.0
    #: With the coordinator: every step at which its footprint invariant did not hold (time, message).
    violations: list[tuple[datetime, str]] = field(default_factory=list)
    #: With the coordinator: how many session-limit and fallback writes went to the chargers.
    writes: int = 0

    @property
    def energy_kwh(self) -> float:
        return sum(self.draw_w) * self.step_s / 3600 / 1000

    @property
    def cost(self) -> float:
        """What the site's EV energy cost at the prices in force when it was drawn."""
        return sum(w * (p or 0.0) for w, p in zip(self.draw_w, self.price, strict=True)) * self.step_s / 3.6e6

    def over_cap(self, tolerance_a: float = 1e-6) -> list[tuple[datetime, int, float, float]]:
        """Every (time, grid phase index, drawn A, cap A) where the site drew more than its cap."""
        return [(t, p, d[p], c[p]) for t, d, c in zip(self.times, self.draw_a, self.cap_a, strict=True)
                for p in range(3) if d[p] > c[p] + tolerance_a]

    def at(self, when: datetime) -> int:
        """The index of the step that covers ``when``."""
        return int((when - self.times[0]).total_seconds() // self.step_s)

    def solve_times(self) -> list[float]:
        return [p.solve_s for p in self.plans]


def depot_site(
    evses: int, *, grid_a: float, margin_a: float = 0.0, evse_max_a: float = 32.0, station_prefix: str = "DEPOT",
    voltage_v: float = 230.0,
) -> SiteTopology:
    """A depot: one grid connection of ``grid_a`` per phase and ``evses`` three-phase AC EVSEs under it (one
    EVSE per station, ``DEPOT01/1`` …, wired with a rotating phase order as electricians do to balance one-phase
    cars)."""
    rotations = ((0, 1, 2), (1, 2, 0), (2, 0, 1))
    root = Node("grid", max_current_a=grid_a, margin_a=margin_a, voltage_v=voltage_v)
    specs = tuple(
        EvseSpec(f"{station_prefix}{i + 1:02d}", 1, "grid", wiring=tuple(_PHASES[k] for k in rotations[i % 3]),
                 phases=3, max_current_a=evse_max_a, voltage_v=voltage_v)  # type: ignore[arg-type]
        for i in range(evses)
    )
    return SiteTopology((root,), specs)


# ---- the run ---------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Session:
    visit: Visit
    evse: EvseSpec
    ev: EV
    facts: SessionFacts
    evaluation: Evaluation
    delivered_wh: float = 0.0
    cost: float = 0.0
    plan: SessionPlan | None = None
    first_plan: SessionPlan | None = None
    draw: Draw = NO_DRAW
    measured_at: datetime | None = None

    @property
    def policy(self) -> SessionPolicy:
        return self.evaluation.policy

    @property
    def goal(self) -> ChargingGoal | None:
        return self.policy.goal

    @property
    def key(self) -> EvseKey:
        return self.visit.evse

    def goal_wh(self) -> float | None:
        """The goal's energy as it was when the session arrived (None: no goal or not knowable)."""
        if self.goal is None:
            return None
        soc = self.facts.soc_percent
        return goal_energy_wh(self.goal, self.evaluation.vehicle, soc)

    def remaining_wh(self) -> float | None:
        """What is still to deliver for the goal: from the SoC now for a SoC goal, else the goal less delivered."""
        goal = self.goal
        if goal is None:
            return None
        vehicle = self.evaluation.vehicle
        if goal.soc_percent is not None and vehicle is not None and vehicle.battery_wh and self.visit.report_soc:
            return goal_energy_wh(goal, vehicle, self.ev.soc * 100.0)
        need = self.goal_wh()
        return None if need is None else max(0.0, need - self.delivered_wh)


def _vehicle_fact(visit: Visit) -> Vehicle | None:
    return Vehicle(visit.vehicle_id) if visit.vehicle_id is not None else None


def _max_power_w(session: _Session) -> tuple[float, float]:
    """The most and least power (W) the session can be planned at: the lowest of the EVSE's, the rule's and the
    vehicle's (as the registry knows it) maximum, and the EVSE's minimum (6 A on its phases for AC)."""
    evse, policy, vehicle = session.evse, session.policy, session.evaluation.vehicle
    volts, phases = evse.voltage_v, evse.phases
    dc = evse.current_type is CurrentType.DC
    ceilings: list[float | None] = [
        policy.max_power_w,
        evse.max_power_w if evse.max_power_w is not None else evse.max_current_a * volts * phases,
    ]
    if policy.max_current_a is not None and not dc:
        ceilings.append(policy.max_current_a * volts * phases)
    if vehicle is not None and not dc and vehicle.max_ac_current_a is not None:
        ceilings.append(vehicle.max_ac_current_a * volts * min(phases, vehicle.ac_phases or phases))
    if vehicle is not None and dc and vehicle.max_dc_power_w is not None:
        ceilings.append(vehicle.max_dc_power_w)
    max_w = min(c for c in ceilings if c is not None)
    min_w = evse.min_power_w if dc else evse.min_current_a * volts * phases
    return max(max_w, min_w), min(min_w, max_w)


def _allocated_w(allocation: EvseAllocation | None, evse: EvseSpec) -> float:
    if allocation is None or allocation.paused:
        return 0.0
    if allocation.power_w is not None:
        return allocation.power_w
    return allocation.current_a * evse.voltage_v * allocation.phases


class _Depot:
    """The simulated shell: the sessions, the plans and the allocation carried from step to step."""

    def __init__(self, scenario: DepotScenario, ruleset: RuleSet) -> None:
        self.s = scenario
        self.rules = ruleset
        self.evses = {e.key: e for e in scenario.topology.evses}
        self.sessions: dict[str, _Session] = {}
        self.allocation: SiteAllocation | None = None
        self.gate = ReplanGate(scenario.planner.replan_min_s)
        self.prices = tuple(scenario.prices)
        self.plans: list[PlanRecord] = []
        self.evaluations: dict[str, Evaluation] = {}
        root = next(n for n in scenario.topology.nodes if n.parent is None)
        self.root = root
        self.limits: dict[str, NodeLimit] = {}
        #: A plan the gate held back: when to plan again, and why.
        self.retry: tuple[datetime, ReplanTrigger] | None = None
        self.coordinator: SiteCapCoordinator | None = None
        #: What each charger holds (coordinator mode): its session limit and its TxDefault fallback (A per phase).
        self.held: dict[EvseKey, SetSessionLimit] = {}
        self.fallback_a: dict[EvseKey, float] = {key: 0.0 for key in self.evses}
        self.notices: list[str] = []
        self.writes = 0
        if scenario.coordinator is not None:
            self.coordinator = SiteCapCoordinator(
                scenario.topology, now=scenario.start, policy=scenario.coordinator,
                installed_fallbacks=dict(self.fallback_a),
            )

    def _carry(self, commands: list[CoordinatorCommand], now: datetime) -> None:
        """Chargers that do what they are told and acknowledge it at once."""
        assert self.coordinator is not None
        queue = list(commands)
        while queue:
            command = queue.pop(0)
            if isinstance(command, SetSessionLimit):
                self.held[command.key] = command
            elif isinstance(command, SetFallback):
                self.fallback_a[command.key] = command.current_a
            else:
                self.notices.append(command.message)
                continue
            self.writes += 1
            queue.extend(self.coordinator.handle(Acknowledged(command.command_id, now)))

    def _offered(self, session: _Session, now: datetime) -> tuple[float, int, float | None]:
        """(A per phase, phases, W for DC) the EV may draw: the allocation, or what its charger holds now."""
        evse = session.evse
        if self.coordinator is None:
            allocated = self.allocation.evses.get(session.key) if self.allocation is not None else None
            if allocated is None or allocated.paused:
                return 0.0, evse.phases, 0.0
            return allocated.current_a, allocated.phases, allocated.power_w
        held = self.held.get(session.key)
        if held is not None and (held.lease_until is None or now < held.lease_until):
            return held.current_a, held.phases, held.power_w
        fallback = self.fallback_a.get(session.key, 0.0)
        return fallback, evse.phases, fallback * 3 * evse.voltage_v

    # -- arrivals and departures -----------------------------------------------------------------------------

    def arrive(self, visit: Visit, now: datetime) -> None:
        evse = self.evses[visit.evse]
        ev = EV(visit.spec, soc=visit.soc, target_soc=1.0, departure=visit.departure, id_token=visit.id_token)
        facts = SessionFacts(
            at=now, station_id=evse.station_id, evse_id=evse.evse_id, site_id=self.s.site_id,
            id_token=visit.id_token, id_token_group=visit.group, vehicle=_vehicle_fact(visit),
            soc_percent=visit.soc * 100.0 if visit.report_soc else None,
        )
        evaluation = evaluate(self.rules, facts)
        self.evaluations[visit.name] = evaluation
        self.sessions[visit.name] = _Session(visit, evse, ev, facts, evaluation)
        if self.coordinator is not None:
            self._carry(self.coordinator.handle(SessionStarted(visit.evse, now)), now)

    def leave(self, name: str, now: datetime) -> VanOutcome:
        session = self.sessions.pop(name)
        self.gate = self.gate.forget(session.key)
        if self.coordinator is not None:
            self.held.pop(session.key, None)  # a session limit belongs to its transaction
            self._carry(self.coordinator.handle(SessionEnded(session.key, now)), now)
        goal_wh = session.goal_wh()
        shortfall = max(0.0, goal_wh - session.delivered_wh) if goal_wh is not None else 0.0
        first = session.first_plan
        return VanOutcome(
            name=name, evse=session.key, rule=session.policy.rule, arrival=session.visit.arrival,
            departure=now, goal_departure=session.goal.departure if session.goal is not None else None,
            goal_wh=goal_wh, delivered_wh=session.delivered_wh, soc_start=session.visit.soc, soc_end=session.ev.soc,
            met=None if goal_wh is None else shortfall <= _met_tolerance_wh(goal_wh), shortfall_wh=shortfall,
            planned_infeasible=first is not None and not first.feasible,
            planned_shortfall_wh=first.shortfall_wh if first is not None else 0.0, cost=session.cost,
        )

    # -- planning --------------------------------------------------------------------------------------------

    def plan(self, now: datetime, triggers: Sequence[ReplanTrigger]) -> None:
        settings = self.s.planner
        goals: list[tuple[_Session, SessionGoal]] = []
        reserved = self._reserved_w()
        for name in sorted(self.sessions):
            session = self.sessions[name]
            goal = session.goal
            need = session.remaining_wh()
            if goal is None or need is None or goal.departure <= now:
                continue
            max_w, min_w = _max_power_w(session)
            goals.append((session, SessionGoal(
                key=session.key, departure=goal.departure, energy_wh=need, max_power_w=max_w, min_power_w=min_w,
                available_from=now, strategy=goal.strategy, priority=session.policy.priority,
                reserved_w=reserved.get(session.key, 0.0),
            )))
        if not goals:
            return
        slot_s = settings.slot_s
        aligned = datetime.fromtimestamp(math.floor(now.timestamp() / slot_s) * slot_s, tz=now.tzinfo)
        end = max(g.departure for _, g in goals)
        count = max(1, math.ceil((end - aligned).total_seconds() / slot_s))
        starts = [aligned + timedelta(seconds=slot_s * i) for i in range(count)]
        fixed = self._fixed_w(min(g.priority for _, g in goals), {s.key for s, _ in goals}, reserved)
        # What the plans share is the capacity above every EVSE's fallback reservation (the allocator holds those
        # whatever the EVSEs draw) and above what sessions without a goal hold beyond theirs.
        held = fixed + sum(reserved.values())
        capacity = tuple(max(0.0, c - held) if math.isfinite(c) else 1e9
                         for c in ev_capacity_w(self.s.topology, starts))
        prices = None
        if self.prices:
            values = series_values(self.prices, starts, default=None)
            prices = tuple(0.0 if v is None else v for v in values)
        window = PlanningWindow(aligned, capacity, prices, slot_s=slot_s)
        started = time.perf_counter()
        result = plan_sessions([g for _, g in goals], window, now=now, time_limit_s=settings.time_limit_s,
                               mip_rel_gap=settings.mip_rel_gap)
        wall = time.perf_counter() - started
        sent: list[str] = []
        # The most pressing trigger decides whether a charger that had a plan recently gets the new one now.
        trigger = triggers[0] if triggers else ReplanTrigger.SESSION_CHANGE
        for session, _ in goals:
            plan = result.plan_for(session.key)
            if session.first_plan is None:
                session.first_plan = plan
            # A session's first plan always goes (the gate has not seen it); later ones wait out the interval.
            decision = self.gate.admit(session.key, now, trigger)
            if decision.allowed:
                self.gate = decision.gate
                session.plan = plan
                sent.append(session.visit.name)
            elif decision.retry_at is not None:
                self.retry = (min(self.retry[0], decision.retry_at) if self.retry else decision.retry_at, trigger)
        self.plans.append(PlanRecord(
            at=now, triggers=tuple(t.value for t in triggers), sessions=tuple(s.visit.name for s, _ in goals),
            solve_s=result.solve_seconds, wall_s=wall, status=result.status, gap=result.gap,
            plans={s.visit.name: result.plan_for(s.key) for s, _ in goals}, sent=tuple(sent),
        ))

    def _reserved_w(self) -> dict[EvseKey, float]:
        """Each EVSE's fallback share in W (coordinator mode; without it the allocator reserves nothing)."""
        if self.coordinator is None:
            return {}
        return reserved_w(self.evses, self.coordinator.fallback_shares())

    def _fixed_w(self, goal_priority: int, planned: set[EvseKey], reserved: dict[EvseKey, float]) -> float:
        """What sessions without a goal hold: the minimum of those the goals outrank (the allocator grows a higher
        priority class to its ceilings before a lower one grows past its minimums), else their allocation now."""
        total = 0.0
        evses = self.allocation.evses if self.allocation is not None else {}
        for session in self.sessions.values():
            if session.key in planned:
                continue
            evse = session.evse
            if session.policy.priority < goal_priority:
                phases = min(evse.phases, session.visit.spec.ac_phases)
                total += max(0.0, evse.min_current_a * evse.voltage_v * phases - reserved.get(session.key, 0.0))
            else:
                allocated = evses.get(session.key)
                holds = _allocated_w(allocated, evse) if allocated is not None else (
                    evse.max_current_a * evse.voltage_v * evse.phases)
                total += max(0.0, holds - reserved.get(session.key, 0.0))
        return total

    # -- one step --------------------------------------------------------------------------------------------

    def demands(self, now: datetime) -> list[SessionDemand]:
        out = []
        for name in sorted(self.sessions):
            session = self.sessions[name]
            evse = session.evse
            draw = session.draw
            measured = None
            if session.measured_at is not None:
                currents = [draw.current_a if i < draw.phases else 0.0 for i in range(3)]
                measured = (currents[0], currents[1], currents[2])
            vehicle = session.evaluation.vehicle
            demand = SessionDemand(
                key=session.key, started_at=session.visit.arrival,
                max_current_a=vehicle.max_ac_current_a if vehicle is not None else None,
                measured_a=measured, measured_at=session.measured_at,
                phases_in_use=session.visit.spec.ac_phases if session.visit.spec.ac_phases < evse.phases else None,
            )
            planned = session.plan.power_at(now) if session.plan is not None else None
            if not self.s.planner.enabled and session.goal is not None and (session.remaining_wh() or 0.0) <= 0:
                planned = 0.0  # no planner: the session charges as fast as it can and stops once its goal is met
            out.append(shaped_demand(demand, session.policy, evse, planned))
        return out

    def step(self, now: datetime, dt_s: int, price: float | None) -> tuple[list[float], float]:
        if self.coordinator is None:
            self.allocation = allocate(self.s.topology, self.limits, self.demands(now), now=now,
                                       previous=self.allocation, policy=self.s.allocation)
        else:
            self._carry(self.coordinator.handle(Replan(now, self.limits, self.demands(now))), now)
            # An acknowledged decrease counts at its old footprint until the EV has followed it (reaction_s);
            # the increases that wait for it go out then, within the step.
            reaction = timedelta(seconds=self.coordinator.policy.reaction_s)
            self._carry(self.coordinator.handle(Tick(now + reaction)), now + reaction)
            self.allocation = self.coordinator.allocation
        phase_a = [0.0, 0.0, 0.0]
        total_w = 0.0
        for name in sorted(self.sessions):
            session = self.sessions[name]
            evse = session.evse
            current_a, phases, power_w = self._offered(session, now)
            if evse.current_type is CurrentType.DC:
                draw = dc_draw(session.ev, power_w or 0.0)
            else:
                draw = ac_draw(session.ev, current_a, phases, evse.voltage_v)
            before = session.ev.soc
            session.ev = session.ev.charged(draw.power_w * dt_s / 3600)
            energy = (session.ev.soc - before) * session.visit.spec.battery_wh
            session.delivered_wh += energy
            session.cost += energy / 1000 * (price or 0.0)
            session.draw = draw
            session.measured_at = now
            if evse.current_type is CurrentType.DC:
                for p in range(3):
                    phase_a[p] += draw.power_w / (3 * evse.voltage_v)
            else:
                for i in range(draw.phases):
                    phase_a[_PHASES.index(evse.wiring[i])] += draw.current_a
            total_w += draw.power_w
        return phase_a, total_w


def _met_tolerance_wh(goal_wh: float) -> float:
    """A goal counts as met within 0.5 % or 50 Wh, whichever is more: the allocator floors limits to its 0.1 A
    step, and the last minutes of a plan are held as whole-step limits."""
    return max(50.0, 0.005 * goal_wh)


def simulate_depot(scenario: DepotScenario) -> DepotResult:
    """Run ``scenario`` from its start to its end (see the module docstring)."""
    started = time.perf_counter()
    ruleset = load_rules(scenario.rules_yaml, f"{scenario.site_id}.yaml")
    depot = _Depot(scenario, ruleset)
    root, dt = depot.root, scenario.step_s
    cap_phase = (root.max_current_a - root.margin_a) if root.max_current_a is not None else math.inf
    cap_w = cap_phase * 3 * root.voltage_v
    if root.max_power_w is not None:
        cap_w = min(cap_w, root.max_power_w - root.margin_w)
    pending = sorted(scenario.visits, key=lambda v: (v.arrival, v.name))
    updates = sorted(scenario.price_updates, key=lambda u: u[0])
    names = [v.name for v in scenario.visits]
    if len(set(names)) != len(names):
        raise ValueError("visit names must be unique")
    steps = int((scenario.end - scenario.start).total_seconds() // dt)
    result = DepotResult(
        times=[], price=[], cap_a=[], cap_w=[], draw_a=[], draw_w=[],
        traces={n: SessionTrace(n, *([None] * steps for _ in range(5))) for n in names},  # type: ignore[arg-type]
        outcomes={}, plans=depot.plans, step_s=dt, evaluations=depot.evaluations,
    )
    for k in range(steps):
        now = scenario.start + timedelta(seconds=k * dt)
        triggers: list[ReplanTrigger] = []
        for name in sorted(depot.sessions):
            if depot.sessions[name].visit.departure <= now:
                result.outcomes[name] = depot.leave(name, now)
                triggers.append(ReplanTrigger.SESSION_CHANGE)
        while pending and pending[0].arrival <= now:
            visit = pending.pop(0)
            if visit.departure > now:
                depot.arrive(visit, now)
                triggers.append(ReplanTrigger.SESSION_CHANGE)
        while updates and updates[0][0] <= now:
            depot.prices = tuple(updates.pop(0)[1])
            triggers.insert(0, ReplanTrigger.PRICES)
        if scenario.planner.every_slot and now.timestamp() % scenario.planner.slot_s == 0:
            triggers.append(ReplanTrigger.MEASURED_DRAW)
        if depot.retry is not None and depot.retry[0] <= now:
            triggers.append(depot.retry[1])
            depot.retry = None
        if scenario.planner.enabled and triggers:
            depot.plan(now, list(dict.fromkeys(triggers)))
        price = series_values(depot.prices, [now], default=None)[0] if depot.prices else None
        phase_a, total_w = depot.step(now, dt, price)
        if depot.coordinator is not None:
            result.violations.extend((now, str(v)) for v in depot.coordinator.violations())
        result.times.append(now)
        result.price.append(price)
        result.cap_a.append((cap_phase, cap_phase, cap_phase))
        result.cap_w.append(cap_w)
        result.draw_a.append((phase_a[0], phase_a[1], phase_a[2]))
        result.draw_w.append(total_w)
        allocation = depot.allocation
        for name, session in depot.sessions.items():
            trace = result.traces[name]
            allocated = allocation.evses.get(session.key) if allocation is not None else None
            trace.allocation_w[k] = _allocated_w(allocated, session.evse)
            trace.plan_w[k] = session.plan.power_at(now) if session.plan is not None else None
            trace.draw_w[k] = session.draw.power_w
            trace.soc[k] = session.ev.soc
            trace.binding[k] = allocated.binding if allocated is not None else None
    end = scenario.start + timedelta(seconds=steps * dt)
    for name in sorted(depot.sessions):
        result.outcomes[name] = depot.leave(name, end)
    result.writes = depot.writes
    result.wall_s = time.perf_counter() - started
    return result


def with_planner(scenario: DepotScenario, **changes: object) -> DepotScenario:
    """``scenario`` with its planner settings changed (``enabled=False``: the as-fast-as-possible baseline)."""
    return replace(scenario, planner=replace(scenario.planner, **changes))  # type: ignore[arg-type]


# ---- the documented depot: the night and a 20-van day ----------------------------------------------------

#: The night of the depot example (UTC): prices cheap before 02:00, dear 02:00–04:00, normal after.
NIGHT = datetime(2026, 11, 25, tzinfo=UTC)


def _at(hours: float) -> datetime:
    return NIGHT + timedelta(hours=hours)


#: A delivery van with a 90 kWh pack on a 16 A three-phase on-board charger (11 kW).
DEPOT_VAN = EVSpec("depot-van", battery_wh=90_000, ac_max_current_a=16, ac_phases=3)

NIGHT_RULES = """\
timezone: UTC
vehicles:
  - id: van-07
    type: delivery-van
    battery_kwh: 90
    max_ac_current_a: 16
    ac_phases: 3
    id_tokens: [04A1B2C3]
rules:
  - name: vans-by-five
    description: a van needs 60 kWh by 05:00, charged when the grid is cheap; vans before visitors
    match: {vehicle_type: delivery-van}
    priority: high
    goal: {energy_kwh: 60, by: "05:00", strategy: cheapest}
  - name: visitors
    description: everyone else shares what is left, at most 11 kW each
    max_power_kw: 11
"""

NIGHT_PRICES: tuple[tuple[datetime, float], ...] = ((_at(18), 0.10), (_at(26), 0.40), (_at(28), 0.25))


def depot_night(**planner: object) -> DepotScenario:
    """The issue's depot example: van-07 plugs in at 22:00 needing 60 kWh by 05:00 (more than four cheap hours
    at its 11 kW give), two visitors' cars charge alongside, and the grid connection (40 A per phase, 27.6 kW)
    cannot carry all three at full power. Runs 21:00–06:00 in 60 s steps."""
    saloon = EVSpec("saloon", battery_wh=77_000, ac_max_current_a=16, ac_phases=3)
    return DepotScenario(
        topology=depot_site(3, grid_a=40),
        rules_yaml=NIGHT_RULES,
        visits=(
            Visit("van-07", ("DEPOT01", 1), _at(22), _at(29), DEPOT_VAN, soc=0.1, id_token="04A1B2C3"),
            Visit("car-a", ("DEPOT02", 1), _at(21.5), _at(30), saloon, soc=0.1, id_token="GUEST-A"),
            Visit("car-b", ("DEPOT03", 1), _at(23), _at(27), saloon, soc=0.3, id_token="GUEST-B"),
        ),
        start=_at(21), end=_at(30), prices=NIGHT_PRICES,
        planner=PlannerSettings(**planner),  # type: ignore[arg-type]
    )


#: A 75 kWh van on 11 kW, as in the simulator's catalogue.
FLEET_VAN = EVSpec("van", battery_wh=75_000, ac_max_current_a=16, ac_phases=3)


def _day_rules() -> str:
    vehicles = "".join(
        f"  - {{id: van-{i:02d}, type: van, battery_kwh: 75, max_ac_current_a: 16, ac_phases: 3, "
        f"id_tokens: [VAN{i:02d}]}}\n" for i in range(1, 21))
    return f"""\
timezone: UTC
vehicles:
{vehicles}rules:
  - name: late-breakfast
    description: van-20 comes back at 04:00 and wants 40 kWh by 05:30 (it cannot have it)
    precedence: 10
    match: {{vehicle_id: van-20}}
    goal: {{energy_kwh: 40, by: "05:30", strategy: cheapest}}
  - name: early-shift
    match: {{id_token_group: early}}
    goal: {{energy_kwh: 45, by: "05:30", strategy: cheapest}}
  - name: late-shift
    match: {{id_token_group: late}}
    goal: {{energy_kwh: 48, by: "07:00", strategy: cheapest}}
  - name: to-eighty
    match: {{id_token_group: soc}}
    goal: {{soc_percent: 80, by: "06:00", strategy: cheapest}}
  - name: day-hop
    description: vans back from the morning round leave again within five hours
    match: {{id_token_group: day}}
    goal: {{energy_kwh: 20, within: 5h, strategy: fastest}}
"""


DAY_PRICES: tuple[tuple[datetime, float], ...] = (
    (_at(16), 0.30), (_at(17), 0.35), (_at(21), 0.12), (_at(26), 0.20), (_at(28), 0.18), (_at(31), 0.28),
)


def depot_day(**planner: object) -> DepotScenario:
    """A day at a depot with 20 vans and 17 EVSEs under a 160 A (110 kW) grid connection, 16:00 to 16:00:

    * 12 shift vans arrive 16:30–20:10, every 20 minutes; the early shift needs 45 kWh by 05:30, the late one
      48 kWh by 07:00;
    * 4 vans with a SoC goal (80 % by 06:00) arrive 18:10–19:55 at 20–41 %;
    * 3 vans back from the morning round at 08:00–09:20 want 20 kWh within 5 h, as fast as possible;
    * van-20 plugs in at 04:00 wanting 40 kWh by 05:30: 16.6 kWh is all 11 kW can give in 90 minutes.

    Plugged in together the night vans could draw 187 kW: the cap binds all evening.
    """
    visits: list[Visit] = []
    for i in range(12):
        group = "early" if i % 2 == 0 else "late"
        visits.append(Visit(
            f"van-{i + 1:02d}", (f"DEPOT{i + 1:02d}", 1), _at(16.5 + i / 3), _at(29.5 if group == "early" else 31),
            FLEET_VAN, soc=0.10 + 0.004 * i, id_token=f"VAN{i + 1:02d}", group=group))
    for j in range(4):
        n = 13 + j
        visits.append(Visit(
            f"van-{n:02d}", (f"DEPOT{n:02d}", 1), _at(18 + 1 / 6 + j * 35 / 60), _at(30), FLEET_VAN,
            soc=0.20 + 0.07 * j, id_token=f"VAN{n:02d}", group="soc"))
    for j in range(3):
        n = 17 + j
        visits.append(Visit(
            f"van-{n:02d}", (f"DEPOT{j + 1:02d}", 1), _at(32 + j * 2 / 3), _at(37.5 + j / 2), FLEET_VAN, soc=0.3,
            id_token=f"VAN{n:02d}", group="day"))
    visits.append(Visit("van-20", ("DEPOT17", 1), _at(28), _at(29.5), FLEET_VAN, soc=0.1, id_token="VAN20",
                        group="late", vehicle_id="van-20"))
    return DepotScenario(
        topology=depot_site(17, grid_a=160), rules_yaml=_day_rules(), visits=tuple(visits), start=_at(16),
        end=_at(40), prices=DAY_PRICES, planner=PlannerSettings(**planner),  # type: ignore[arg-type]
    )
