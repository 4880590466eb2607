"""The fleet rules and the planner as a service of the control plane.

:class:`FleetService` follows every session: when one starts it gathers the facts (id token and its group, the
vehicle from the registry, the EVSE and its site), evaluates the rules (:mod:`wattcap.core.fleet.rules`) and keeps
the decision with its trace, for the API's dry run and the audit. It evaluates again when something the rules look
at changes: the EV announces its needs (2.0.1 NotifyEVChargingNeeds), a new rule set is put in place.

A session with a goal is planned (:mod:`wattcap.core.fleet.planner`) together with the other goal sessions of its
site, over the site's capacity for EVs (the cap in force and as signalled ahead, less the building load and the
sessions that have no plan), the price and solar series. It is planned again when prices, solar, the cap, the
EV's needs or another session change, and periodically as the delivered energy moves on; a
:class:`~wattcap.core.fleet.planner_gate.ReplanGate` lets a session be re-planned at most once per ``replan_min_s``
unless it must be (its goal changed, the cap fell below its plan, its EV's schedule was rejected).

How a decision reaches the charger depends on where the EVSE is:

* **on a site with a site cap**: the rules' weight and priority, the ceiling, and the plan's power for now shape
  the session's demand to the allocator (:func:`~wattcap.core.fleet.inputs.shaped_demand`); the site cap's own
  leased TxProfile carries the result, with the plan's next steps within the lease. One writer per EVSE: the site
  cap never fights the fleet service over a profile id.
* **elsewhere**: the service writes the TxProfile itself (Absolute, the ``session`` band, validTo at the
  departure): the plan, else the rule's template, else its ceiling.

All decisions are pure functions of the core; this module gathers facts and carries results.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from wattcap.aio import stop_if_cancelled
from wattcap.core.events import (
    EVChargingNeedsNotified,
    EVChargingScheduleNotified,
    Measurand,
    MeterValuesReceived,
    StationEvent,
    TransactionEnded,
    TransactionStarted,
)
from wattcap.core.fleet import planner as fleet_planner
from wattcap.core.fleet.ev_schedule import ev_schedule_excesses
from wattcap.core.fleet.inputs import ev_capacity_w, goal_energy_wh, reserved_w, series_values, shaped_demand
from wattcap.core.fleet.model import SessionFacts, SessionPolicy
from wattcap.core.fleet.planner_gate import MUST_TRIGGERS, ReplanGate, ReplanTrigger
from wattcap.core.fleet.planner_model import PlanningWindow, SessionGoal, SessionPlan, SitePlan
from wattcap.core.fleet.planner_profile import plan_limit
from wattcap.core.fleet.profiles import standalone_profile
from wattcap.core.fleet.rules import Evaluation, RuleSet, evaluate, next_reevaluation
from wattcap.core.model import (
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedulePeriod,
    CompositePeriod,
    CompositeSchedule,
    ProfileRef,
)
from wattcap.core.sitecap.model import EvseKey, EvseSpec, SessionDemand
from wattcap.core.sitecap.signals import SignalKind
from wattcap.core.station import CurrentType

if TYPE_CHECKING:
    from wattcap.server.runtime import ControlPlane
    from wattcap.server.sitecap.controller import SiteCapController

log = logging.getLogger("wattcap.fleet")

__all__ = ["FleetService", "FleetSettings"]

ACTOR = "wattcap:fleet"
SLOT_S = 900
#: How long a TxProfile sent to an EVSE still counts when judging its EV's schedule (one replaced in between).
JUDGE_MEMORY_S = 300
#: How far ahead a plan may look at most (a departure further out is planned up to here, the rest deferred).
MAX_HORIZON_S = 48 * 3600


@dataclass(frozen=True, slots=True)
class FleetSettings:
    #: Goal sessions are re-planned at least this often (the plan follows the delivered energy).
    plan_every_s: float = 60.0
    #: ... and at most this often per session, unless the cap fell below the plan (then at once).
    replan_min_s: float = 30.0
    #: Events closer together than this are handled in one go.
    debounce_s: float = 0.2
    slot_s: int = SLOT_S
    #: The planner's time limit and accepted optimality gap per site (100 sessions: ~2 s at 1 %).
    plan_time_limit_s: float = 3.0
    plan_gap: float = 1e-2


@dataclass(slots=True)
class FleetSession:
    """What the service knows of one running session."""

    key: EvseKey
    transaction_id: str
    started_at: datetime
    facts: SessionFacts
    site_id: str | None = None
    evaluation: Evaluation | None = None
    meter_start_wh: float | None = None
    register_wh: float | None = None
    soc_percent: float | None = None
    needs: EVChargingNeedsNotified | None = None
    plan: SessionPlan | None = None
    planned_at: datetime | None = None
    planned_need_wh: float | None = None
    #: Profile id of the TxProfile this service wrote (stations without a site cap only) and what it said.
    profile_id: int | None = None
    sent_shape: tuple | None = None
    #: How the EV's last ISO 15118 schedule was answered (K15.FR.11/12), None before the first.
    ev_schedule_status: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def policy(self) -> SessionPolicy | None:
        return None if self.evaluation is None else self.evaluation.policy

    @property
    def delivered_wh(self) -> float:
        if self.register_wh is None or self.meter_start_wh is None:
            return 0.0
        return max(0.0, self.register_wh - self.meter_start_wh)


class FleetService:
    """Rules and plans for every session of the plane. Implements the plane's ``Service`` and the hub's
    ``EVJudge``."""

    def __init__(
        self, plane: ControlPlane, rules: RuleSet | None = None, *, rules_text: str | None = None,
        settings: FleetSettings | None = None,
    ) -> None:
        self.plane = plane
        self.rules = rules
        self.rules_text = rules_text
        self.settings = settings or FleetSettings()
        self.sessions: dict[EvseKey, FleetSession] = {}
        self.site_plans: dict[str | None, SitePlan] = {}
        self.plans_made = 0
        self._wake = asyncio.Event()
        self._urgent: dict[EvseKey, ReplanTrigger] = {}
        self._gate = ReplanGate(self.settings.replan_min_s)
        self._task: asyncio.Task | None = None
        self._undo: list[Callable[[], None]] = []
        self._writes: set[asyncio.Task] = set()
        self._next_window: datetime | None = None
        self._locks: dict[EvseKey, asyncio.Lock] = {}
        self._pending_needs: dict[EvseKey, EVChargingNeedsNotified] = {}
        #: The TxProfile schedules sent to each EVSE lately (site-cap leases and this service's own), as limits.
        self._sent_tx: dict[EvseKey, list[tuple[datetime, CompositeSchedule]]] = {}

    # ---- wiring ----------------------------------------------------------------------------------------------

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.plane.clock

    def _site_cap(self) -> Any:
        return getattr(self.plane, "site_cap", None)

    def _controller(self, site_id: str | None) -> SiteCapController | None:
        site_cap = self._site_cap()
        if site_cap is None or site_id is None:
            return None
        return site_cap.controllers.get(site_id)

    async def start(self) -> None:
        """Adopt the sessions already running (after a restart), then follow events."""
        site_cap = self._site_cap()
        if site_cap is not None:
            for controller in site_cap.controllers.values():
                controller.demand_shaper = self.shape_demand
                controller.profile_shaper = self.shape_session_limit
                controller.signals.on_change = self._on_signal(controller.site.id, controller.signals.on_change)
        for tx in await self.plane.repository.active_transactions():
            await self._session_started(
                TransactionStarted(tx.station_id, tx.started_at or self.clock(), evse_id=tx.evse_id,
                                   transaction_id=tx.transaction_id, id_token=tx.id_token,
                                   meter_start_wh=tx.meter_start_wh),
                audit=False,
            )
        self._undo.append(self.plane.hub.subscribe(self._on_event))
        self.plane.hub.ev_judge = self
        self._task = asyncio.create_task(self._run(), name="fleet:planner")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._writes):
            task.cancel()
        for undo in self._undo:
            undo()
        if self.plane.hub.ev_judge is self:
            self.plane.hub.ev_judge = None

    def _on_signal(self, site_id: str, then: Callable[[], None]) -> Callable[[], None]:
        """A new price, solar, limit or load signal: every goal session of the site asks to be planned again."""

        def changed() -> None:
            then()
            for session in self.sessions.values():
                if session.site_id == site_id:
                    self._urgent.setdefault(session.key, ReplanTrigger.PRICES)
            self._wake.set()

        return changed

    def trigger(self, urgent: EvseKey | None = None, why: ReplanTrigger = ReplanTrigger.SESSION_CHANGE) -> None:
        if urgent is not None:
            current = self._urgent.get(urgent)
            if current is None or why in MUST_TRIGGERS:
                self._urgent[urgent] = why
        self._wake.set()

    # ---- rules -----------------------------------------------------------------------------------------------

    def dry_run(self, facts: SessionFacts, rules: RuleSet | None = None) -> Evaluation:
        """Which rule of ``rules`` (default: those in force) applies to ``facts`` and why; nothing changes."""
        ruleset = rules or self.rules
        if ruleset is None:
            raise LookupError("no rules are in force")
        return evaluate(ruleset, facts)

    async def replace_rules(self, rules: RuleSet, text: str | None, *, actor: str) -> int:
        """Put ``rules`` in force and evaluate every running session again; returns how many changed rule."""
        self.rules, self.rules_text = rules, text
        changed = 0
        for session in self.sessions.values():
            before = None if session.evaluation is None else session.evaluation.policy.rule
            self._evaluate(session)
            after = None if session.evaluation is None else session.evaluation.policy.rule
            changed += before != after
            self._urgent[session.key] = ReplanTrigger.GOAL_CHANGED
        self._next_window = None
        await self.plane.repository.append_audit(
            actor, "fleet.rules", target="fleet", reason=f"{len(rules.rules)} rules; {changed} sessions changed rule",
        )
        self.trigger()
        return changed

    def _evaluate(self, session: FleetSession) -> None:
        if self.rules is None:
            session.evaluation = None
            return
        session.facts = replace(session.facts, at=self.clock())
        session.evaluation = evaluate(self.rules, session.facts)

    def _windows_due(self, now: datetime) -> None:
        """A rule's time window opened or closed since the last look: evaluate every session again."""
        if self.rules is None:
            return
        if self._next_window is None:
            self._next_window = next_reevaluation(self.rules, now)
            return
        if now >= self._next_window:
            for session in self.sessions.values():
                self._evaluate(session)
            self._next_window = next_reevaluation(self.rules, now)

    # ---- events ----------------------------------------------------------------------------------------------

    def _on_event(self, event: StationEvent) -> None:
        if isinstance(event, TransactionStarted):
            self._spawn(self._session_started(event))
        elif isinstance(event, TransactionEnded):
            session = self.sessions.get((event.station_id, event.evse_id))
            if session is not None and session.transaction_id == event.transaction_id:
                del self.sessions[session.key]
                self._gate = self._gate.forget(session.key)
                self.trigger()
        elif isinstance(event, MeterValuesReceived):
            self._on_meter(event)
        elif isinstance(event, EVChargingNeedsNotified):
            self._on_needs(event)

    def _on_meter(self, event: MeterValuesReceived) -> None:
        session = self.sessions.get((event.station_id, event.evse_id))
        if session is None:
            return
        for sample in event.samples:
            if sample.measurand is Measurand.ENERGY_ACTIVE_IMPORT_REGISTER and sample.phase is None:
                wh = sample.value * 1000.0 if sample.unit == "kWh" else sample.value
                if session.meter_start_wh is None:
                    session.meter_start_wh = wh
                session.register_wh = wh
            elif sample.measurand is Measurand.SOC:
                session.soc_percent = sample.value

    def _on_needs(self, event: EVChargingNeedsNotified) -> None:
        key = (event.station_id, event.evse_id)
        session = self.sessions.get(key)
        if session is None:  # the transaction's start is still being handled (or has not come yet: K15.FR.16)
            self._pending_needs[key] = event
            return
        session.needs = event
        session.facts = replace(session.facts, ev_energy_wh=event.energy_amount_wh, ev_departure=event.departure_time)
        self._evaluate(session)
        self.trigger(urgent=key, why=ReplanTrigger.GOAL_CHANGED)

    async def _session_started(self, event: TransactionStarted, *, audit: bool = True) -> None:
        key = (event.station_id, event.evse_id)
        site_cap = self._site_cap()
        site_id = None if site_cap is None else site_cap.site_of(event.station_id)
        group = None
        if event.id_token is not None:
            with contextlib.suppress(Exception):
                token = await self.plane.repository.get_id_token(event.id_token)
                group = None if token is None else token.group_id
        facts = SessionFacts(
            at=self.clock(), station_id=event.station_id, evse_id=event.evse_id, site_id=site_id,
            id_token=event.id_token, id_token_group=group,
        )
        session = FleetSession(key, event.transaction_id, event.at, facts, site_id=site_id,
                               meter_start_wh=event.meter_start_wh)
        previous = self.sessions.get(key)
        if previous is not None and previous.transaction_id == event.transaction_id:
            session.needs, session.register_wh = previous.needs, previous.register_wh
        self.sessions[key] = session
        needs = self._pending_needs.pop(key, None)
        if needs is not None and needs.at >= event.at - timedelta(seconds=60):
            session.needs = needs
            session.facts = replace(facts, ev_energy_wh=needs.energy_amount_wh, ev_departure=needs.departure_time)
        self._evaluate(session)
        if audit and session.evaluation is not None:
            policy = session.evaluation.policy
            await self.plane.repository.append_audit(
                ACTOR, "fleet.rule", target=f"{event.station_id}/{event.evse_id}",
                reason=f"transaction {event.transaction_id}: "
                       + (f"rule {policy.rule!r}" if policy.rule else "no rule matched (defaults)"),
            )
        self.trigger(urgent=key, why=ReplanTrigger.GOAL_CHANGED)

    # ---- what the site cap asks ------------------------------------------------------------------------------

    def ceiling_w(self, key: EvseKey, evse: EvseSpec | None, at: datetime) -> float | None:
        """The power the plan (or the rule's template) allows the session at ``at``; None: no such limit."""
        session = self.sessions.get(key)
        if session is None:
            return None
        ceiling: float | None = None
        if session.plan is not None:
            ceiling = session.plan.power_at(at)
        policy = session.policy
        if policy is not None and policy.template is not None:
            offset = (at - session.started_at).total_seconds()
            steps = [p for p in policy.template.periods if p.start_s <= offset]
            if steps:
                step = steps[-1]
                watts = step.limit
                if policy.template.unit is ChargingRateUnit.A:
                    volts = evse.voltage_v if evse is not None else 230.0
                    phases = step.number_phases or (evse.phases if evse is not None else 3)
                    watts = step.limit * volts * phases
                ceiling = watts if ceiling is None else min(ceiling, watts)
        return ceiling

    def shape_demand(self, demand: SessionDemand, evse: EvseSpec) -> SessionDemand:
        """The site cap's hook: the session's demand with the rules' weight, priority and ceilings."""
        session = self.sessions.get(demand.key)
        if session is None:
            return demand
        return shaped_demand(demand, session.policy, evse, self.ceiling_w(demand.key, evse, self.clock()))

    def shape_session_limit(
        self, key: EvseKey, evse: EvseSpec, periods: tuple[ChargingSchedulePeriod, ...], start: datetime,
        until: datetime | None, unit: ChargingRateUnit,
    ) -> tuple[ChargingSchedulePeriod, ...]:
        """The site cap's leased TxProfile with the plan's next steps until the lease ends: never above the
        allocated limit (the site cap counts that), lower where the plan is."""
        session = self.sessions.get(key)
        if session is None or session.plan is None or until is None or len(periods) != 1:
            self._remember_sent(key, start, until, unit, periods)
            return periods
        first = periods[0]
        assert first.limit is not None
        out = [first]
        for slot in session.plan.slots:
            if slot.start <= start or slot.start >= until:
                continue
            offset = int((slot.start - start).total_seconds())
            limit = plan_limit(slot.power_w, unit, evse.voltage_v, first.number_phases or evse.phases)
            limit = min(first.limit, limit)
            if limit != out[-1].limit:
                out.append(replace(first, start_period=offset, limit=limit))
        self._remember_sent(key, start, until, unit, tuple(out))
        return tuple(out)

    def _remember_sent(
        self, key: EvseKey, start: datetime | None, until: datetime | None, unit: ChargingRateUnit,
        periods: tuple[ChargingSchedulePeriod, ...],
    ) -> None:
        """Keep what a TxProfile sent to ``key`` allows, for judging the EV's schedule made from it."""
        if start is None or not periods:
            return
        now = self.clock()
        duration = int(((until or start + timedelta(days=1)) - start).total_seconds())
        ref = (ProfileRef(0, ChargingProfilePurpose.TX, 0, key[1]),)
        limits = CompositeSchedule(key[1], start, max(1, duration), unit, tuple(
            CompositePeriod(p.start_period, p.limit if p.limit is not None else 0.0, number_phases=p.number_phases,
                            governed_by=ref) for p in periods))
        sent = [(at, c) for at, c in self._sent_tx.get(key, []) if (now - at).total_seconds() <= JUDGE_MEMORY_S]
        self._sent_tx[key] = [*sent[-3:], (now, limits)]

    # ---- the EV judge (K15) ----------------------------------------------------------------------------------

    def charging_needs(self, event: EVChargingNeedsNotified) -> str:
        # K15.FR.03-05: a schedule follows at once for a known session, and for one not started yet when its
        # transaction starts (Processing); with no rules and no site cap nothing would follow (Rejected: the EV
        # charges by the charger's own limits).
        key = (event.station_id, event.evse_id)
        site_cap = self._site_cap()
        if self.rules is None and (site_cap is None or site_cap.site_of(event.station_id) is None):
            return "Rejected"
        return "Accepted" if key in self.sessions else "Processing"

    async def charging_schedule(self, event: EVChargingScheduleNotified) -> str:
        """K15.FR.11/12: judged against the composite the charger should follow (what wattcap knows it holds)."""
        if event.schedule is None:
            return "Rejected"
        ctx = await self.plane.profiles.context(event.station_id)
        evse = self._evse(event.station_id, event.evse_id)
        # The station forwards the EV's schedule right after it accepted a TxProfile, possibly before wattcap has
        # recorded that answer: what the charger holds is what it is known to hold plus the TxProfiles on their way
        # to this EVSE (not other writes in flight, such as a new fallback the charger has not seen yet).
        # The TxProfile the EV's schedule was made from may already have been replaced by a newer one that is still
        # on its way (a lease renewed, a plan's next step): the EV is within its limits if it is within those of a
        # TxProfile sent to it in the last JUDGE_MEMORY_S seconds. Limits compare in the EV's own unit (a DC
        # schedule in W is never converted through an AC voltage).
        key = (event.station_id, event.evse_id)
        unit = event.schedule.charging_rate_unit
        dc = evse is not None and evse.current_type is CurrentType.DC
        if dc and unit is ChargingRateUnit.A:
            # DC amperes at the EV's battery voltage, which wattcap does not know: nothing to hold them against.
            log.info("fleet: %s/%s EV schedule in DC amperes: not judged", *key)
            return "Accepted"
        known = ctx.expected_installed()
        arriving = tuple(
            o for o in ctx.occupants()
            if o.evse_id == event.evse_id and o.profile.purpose is ChargingProfilePurpose.TX and o not in known
        )
        candidates = [self.plane.preview.composite(ctx, event.evse_id, start=event.time_base, duration=24 * 3600,
                                                   unit=unit, installed=known + arriving)]
        candidates += [c for at, c in self._sent_tx.get(key, [])
                       if (event.at - at).total_seconds() <= JUDGE_MEMORY_S and c.charging_rate_unit is unit]
        excesses: tuple = ()
        for composite in candidates:
            excesses = ev_schedule_excesses(
                event.schedule, event.time_base, composite,
                voltage_v=evse.voltage_v if evse else 230.0, phases=evse.phases if evse else 3,
            )
            if not excesses:
                break
        session = self.sessions.get((event.station_id, event.evse_id))
        if session is not None:
            session.ev_schedule_status = "Rejected" if excesses else "Accepted"
        if not excesses:
            return "Accepted"
        if session is not None:
            session.notes.append(f"EV schedule rejected: {excesses[0]}")
            session.sent_shape = None  # K15.FR.13: renegotiate: the TxProfile goes out again even if unchanged
            self.trigger(urgent=session.key, why=ReplanTrigger.RENEGOTIATE)
        log.info("fleet: %s/%s EV schedule rejected: %s", event.station_id, event.evse_id, excesses[0])
        return "Rejected"

    # ---- planning --------------------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            stop_if_cancelled()  # plan_all awaits library calls that may have swallowed a cancel (wattcap.aio)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.plan_every_s):
                    await self._wake.wait()
            await asyncio.sleep(self.settings.debounce_s)
            self._wake.clear()
            try:
                self._windows_due(self.clock())
                await self.plan_all()
            except Exception:
                log.exception("fleet: planning failed")

    def _evse(self, station_id: str, evse_id: int) -> EvseSpec | None:
        site_cap = self._site_cap()
        if site_cap is None:
            return None
        site_id = site_cap.site_of(station_id)
        controller = self._controller(site_id)
        return None if controller is None else controller.evses.get((station_id, evse_id))

    def _goal(self, session: FleetSession, now: datetime, evse: EvseSpec | None) -> SessionGoal | None:
        policy = session.policy
        if policy is None or policy.goal is None:
            return None
        goal = policy.goal
        vehicle = session.evaluation.vehicle if session.evaluation is not None else None
        need = goal_energy_wh(goal, vehicle, session.soc_percent, session.facts.ev_energy_wh)
        if need is None:
            return None
        need = max(0.0, need - session.delivered_wh) if goal.soc_percent is None or session.soc_percent is None \
            else need
        volts = evse.voltage_v if evse is not None else 230.0
        phases = evse.phases if evse is not None else 3
        ceilings = [policy.max_power_w]
        dc = evse is not None and evse.current_type is CurrentType.DC
        if evse is not None:
            ceilings.append(evse.max_power_w if evse.max_power_w is not None else evse.max_current_a * volts * phases)
        if policy.max_current_a is not None and not dc:
            ceilings.append(policy.max_current_a * volts * phases)
        if vehicle is not None and not dc and vehicle.max_ac_current_a is not None:
            ceilings.append(vehicle.max_ac_current_a * volts * (vehicle.ac_phases or phases))
        if vehicle is not None and dc and vehicle.max_dc_power_w is not None:
            ceilings.append(vehicle.max_dc_power_w)
        needs = session.needs
        if needs is not None and needs.ev_max_power_w:
            ceilings.append(needs.ev_max_power_w)
        if needs is not None and needs.ev_max_current_a and not dc:
            ceilings.append(needs.ev_max_current_a * volts * phases)
        max_w = min((c for c in ceilings if c is not None), default=22_000.0)
        min_w = 0.0
        if evse is not None:
            min_w = evse.min_power_w if dc else evse.min_current_a * volts * phases
        departure = goal.departure
        return SessionGoal(
            key=session.key, departure=departure, energy_wh=need, max_power_w=max(max_w, min_w),
            min_power_w=min(min_w, max_w), available_from=now, strategy=goal.strategy, priority=policy.priority,
        )

    async def plan_all(self) -> None:
        """Plan every site's goal sessions (each site jointly), then hand the results to the chargers."""
        now = self.clock()
        by_site: dict[str | None, list[FleetSession]] = {}
        for session in self.sessions.values():
            by_site.setdefault(session.site_id, []).append(session)
        for site_id, sessions in by_site.items():
            due = [s.key for s in sessions if self._due(s, now)]
            if due:
                await self._plan_site(site_id, sessions, now)
                for key in due:
                    self._urgent.pop(key, None)
        for session in list(self.sessions.values()):
            controller = self._controller(session.site_id)
            if controller is not None:
                continue
            self._spawn(self._send_standalone(session))
        for site_id in by_site:
            controller = self._controller(site_id)
            if controller is not None:
                controller.trigger()

    def _due(self, session: FleetSession, now: datetime) -> bool:
        """Whether the session's plan may be made again now (through the gate: see the module docstring)."""
        if session.policy is None or session.policy.goal is None:
            return False
        trigger = self._urgent.get(session.key)
        if session.plan is None:
            trigger = ReplanTrigger.GOAL_CHANGED
        elif trigger is None:
            if session.planned_at is None or (now - session.planned_at).total_seconds() < self.settings.plan_every_s:
                return False
            trigger = ReplanTrigger.MEASURED_DRAW
        decision = self._gate.admit(session.key, now, trigger)
        if decision.allowed:
            self._gate = decision.gate
        return decision.allowed

    def _window(self, site_id: str | None, start: datetime, end: datetime, fixed_w: float) -> PlanningWindow:
        slot_s = self.settings.slot_s
        aligned = datetime.fromtimestamp(math.floor(start.timestamp() / slot_s) * slot_s, tz=start.tzinfo)
        count = max(1, math.ceil((end - aligned).total_seconds() / slot_s))
        starts = [aligned + timedelta(seconds=slot_s * i) for i in range(count)]
        controller = self._controller(site_id)
        prices = solar = None
        if controller is None:
            capacity = tuple(1e9 for _ in starts)
        else:
            board = controller.signals
            capacity = ev_capacity_w(
                controller.site.topology, starts, board.schedules.values(), board.loads.values(),
                controller.site.fallback_load_a,
            )
            capacity = tuple(max(0.0, c - fixed_w) if math.isfinite(c) else 1e9 for c in capacity)
            price = board.series.get(SignalKind.PRICE)
            if price is not None:
                prices = series_values([(p.start, p.value) for p in price[0].points], starts, default=None)
            sun = board.series.get(SignalKind.SOLAR)
            if sun is not None:
                solar = series_values([(p.start, p.value) for p in sun[0].points], starts, default=0.0)
        price_series = None if prices is None else tuple(0.0 if v is None else v for v in prices)
        solar_series = None if solar is None else tuple(0.0 if v is None else v for v in solar)
        return PlanningWindow(aligned, capacity, price_series, solar_series, slot_s=slot_s)

    def _reserved_w(self, site_id: str | None) -> dict[EvseKey, float]:
        """Every EVSE's fallback share in W: the site cap holds it whatever the EVSE draws (a new session there
        starts at it before anyone is asked), so plans share only the capacity above these."""
        controller = self._controller(site_id)
        if controller is None:
            return {}
        return reserved_w(controller.evses, controller.coordinator.fallback_shares())

    def _fixed_w(self, site_id: str | None, planned: set[EvseKey], reserved: dict[EvseKey, float]) -> float:
        """What the site's sessions without a plan are allocated now above their reservation (held for the
        horizon)."""
        controller = self._controller(site_id)
        if controller is None or controller.coordinator.allocation is None:
            return 0.0
        total = 0.0
        for key, allocation in controller.coordinator.allocation.evses.items():
            if key in planned:
                continue
            evse = controller.evses.get(key)
            holds = 0.0
            if allocation.power_w is not None:
                holds = allocation.power_w
            elif evse is not None:
                holds = allocation.current_a * evse.voltage_v * allocation.phases
            total += max(0.0, holds - reserved.get(key, 0.0))
        return total

    async def _plan_site(self, site_id: str | None, sessions: list[FleetSession], now: datetime) -> None:
        goals: list[tuple[FleetSession, SessionGoal]] = []
        reserved = self._reserved_w(site_id)
        for session in sessions:
            goal = self._goal(session, now, self._evse(*session.key))
            if goal is not None:
                goals.append((session, replace(goal, reserved_w=reserved.get(session.key, 0.0))))
        if not goals:
            return
        end = min(max(g.departure for _, g in goals), now + timedelta(seconds=MAX_HORIZON_S))
        end = max(end, now + timedelta(seconds=self.settings.slot_s))
        held = self._fixed_w(site_id, {s.key for s, _ in goals}, reserved) + sum(reserved.values())
        window = self._window(site_id, now, end, held)
        started = time.perf_counter()
        # HiGHS runs in a thread: a large site takes seconds, and the stations' messages must not wait for it.
        result = await asyncio.to_thread(
            fleet_planner.plan_sessions, [g for _, g in goals], window,
            time_limit_s=self.settings.plan_time_limit_s, mip_rel_gap=self.settings.plan_gap,
        )
        elapsed = time.perf_counter() - started
        self.site_plans[site_id] = result
        self.plans_made += 1
        for session, goal in goals:
            session.plan = result.plan_for(session.key)
            session.planned_at = now
            session.planned_need_wh = goal.energy_wh
            if not session.plan.feasible:
                note = f"goal short by {session.plan.shortfall_wh:.0f} Wh at departure"
                if not session.notes or session.notes[-1] != note:
                    session.notes.append(note)
        log.info("fleet: planned %d sessions on %s in %.3f s (%s)", len(goals), site_id or "no site", elapsed,
                 result.status)

    # ---- stations without a site cap -------------------------------------------------------------------------
    # The write is unpaced: it is one session's own limit, answered by the charger at once (a plan is rewritten
    # at most once per replan_min_s, and only when what it says ahead changed).

    async def _send_standalone(self, session: FleetSession) -> None:
        """Write the session's TxProfile where no site cap carries it: the plan, the template or the ceiling
        (only when it changed since the last write)."""
        policy = session.policy
        if policy is None:
            return
        station_id, evse_id = session.key
        try:
            config = await self.plane.profiles.station_config(station_id)
        except Exception:
            log.info("fleet: no capabilities of %s yet; its TxProfile waits", station_id)
            return
        max_periods = None if session.needs is None else session.needs.max_schedule_tuples
        profile = standalone_profile(
            session.plan, policy, transaction_id=session.transaction_id, started_at=session.started_at,
            now=self.clock(), units=config.capabilities.rate_units, voltage_v=config.supply_voltage_v,
            phases=config.default_number_phases, max_periods=max_periods,
        )
        if profile is None:
            return
        shape = (profile.kind, profile.schedules[0].charging_rate_unit,
                 tuple((p.start_period, p.limit) for p in profile.schedules[0].periods)
                 if profile.kind.value == "Relative" else
                 tuple((profile.schedules[0].start_schedule + timedelta(seconds=p.start_period), p.limit)
                       for p in profile.schedules[0].periods if profile.schedules[0].start_schedule is not None))
        if session.sent_shape is not None and _same_from(session.sent_shape, shape, self.clock()):
            return
        reason = f"fleet rule {policy.rule!r}" if policy.rule else "fleet"
        async with self._locks.setdefault(session.key, asyncio.Lock()):
            if session.profile_id is not None:
                result = await self.plane.profiles.update_profile(
                    station_id, session.profile_id, profile, actor=ACTOR, reason=reason, paced=False, verify=False,
                )
            else:
                result = await self.plane.profiles.set_profile(
                    station_id, evse_id, profile, band="session", actor=ACTOR, reason=reason, paced=False,
                    verify=False,
                )
        if result.profile_id is not None:
            session.profile_id = result.profile_id
        session.sent_shape = shape
        schedule = profile.schedules[0]
        if profile.kind.value == "Absolute":
            self._remember_sent(session.key, schedule.start_schedule, profile.valid_to, schedule.charging_rate_unit,
                                schedule.periods)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    # ---- what the API shows ----------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        now = self.clock()
        out: dict[str, Any] = {"rules": None if self.rules is None else len(self.rules.rules), "sessions": []}
        for key, s in sorted(self.sessions.items()):
            policy = s.policy
            entry: dict[str, Any] = {
                "station_id": key[0], "evse_id": key[1], "transaction_id": s.transaction_id, "site_id": s.site_id,
                "rule": None if policy is None else policy.rule,
                "weight": None if policy is None else policy.weight,
                "priority": None if policy is None else policy.priority,
                "delivered_wh": round(s.delivered_wh, 1), "notes": list(s.notes[-5:]),
                "vehicle": None if s.evaluation is None or s.evaluation.vehicle is None else s.evaluation.vehicle.id,
                "ev_schedule": s.ev_schedule_status,
            }
            if policy is not None and policy.goal is not None:
                entry["goal"] = {
                    "departure": policy.goal.departure.isoformat(), "strategy": policy.goal.strategy.value,
                    "energy_wh": policy.goal.energy_wh, "soc_percent": policy.goal.soc_percent,
                }
            if s.plan is not None:
                entry["plan"] = {
                    "feasible": s.plan.feasible, "energy_wh": round(s.plan.energy_wh, 1),
                    "shortfall_wh": round(s.plan.shortfall_wh, 1), "cost": s.plan.cost,
                    "power_now_w": round(s.plan.power_at(now), 1),
                    "slots": [{"start": p.start.isoformat(), "end": p.end.isoformat(), "power_w": round(p.power_w, 1)}
                              for p in s.plan.slots],
                }
            out["sessions"].append(entry)
        return out


def _same_from(sent: tuple, new: tuple, now: datetime) -> bool:
    """Whether the new TxProfile says what the sent one says from now on (a re-plan that changed nothing ahead
    is not written again: every write wears the charger's flash and costs a round trip)."""
    if sent[:2] != new[:2]:
        return False
    if new[0].value == "Relative":
        return sent[2] == new[2]

    def ahead(steps: tuple) -> list:
        current = [s for s in steps if s[0] <= now][-1:]
        return current + [s for s in steps if s[0] > now]

    def values(steps: list) -> list:
        merged: list = []
        for at, limit in steps:
            if not merged or merged[-1][1] != limit:
                merged.append((at, limit))
        return [(None if i == 0 else at, limit) for i, (at, limit) in enumerate(merged)]

    return values(ahead(sent[2])) == values(ahead(new[2]))
