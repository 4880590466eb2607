"""The site cap's shell: feeds a site's events and signals to the pure coordinator and carries out its commands.

:class:`SiteCapController` runs one site. It knows the active sessions (from the store at start, then from
TransactionStarted / TransactionEnded), their measured draw (MeterValues), which stations are connected, and the
site's signals (:class:`~wattcap.server.sitecap.signals.SignalBoard`). On every trigger (a session starts or
ends, a signal arrives, a station comes or goes, measured draw changes, or the periodic tick that renews leases)
it hands the coordinator the facts and gets back commands:

* ``SetSessionLimit``: a TxProfile for the EVSE's transaction, leased (validTo), through the
  :class:`~wattcap.server.profiles.ProfileService` in the ``session`` band: validated, stored, sent unpaced;
* ``SetFallback``: the EVSE's TxDefaultProfile in the ``default`` band;
* ``NotifyOperator``: an audit entry and a warning.

Each write's outcome goes back to the coordinator (acknowledged, rejected, no answer), which is what lets it
hold back increases until the decreases they depend on are confirmed. All decisions are the coordinator's; this
module never compares two limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from wattcap.core import sitecap
from wattcap.core.events import (
    Measurand,
    MeterValuesReceived,
    StationEvent,
    TransactionEnded,
    TransactionStarted,
)
from wattcap.core.model import ChargingProfilePurpose
from wattcap.core.sitecap.model import EvseKey, EvseSpec, PhaseCurrents, SessionDemand
from wattcap.core.sitecap.profiles import fallback_profile, rate_unit_for, session_limit_profile
from wattcap.core.sitecap.signals import resolve_limits
from wattcap.core.station import StationConfig
from wattcap.core.verification import Verdict
from wattcap.server.event_hub import EventHub
from wattcap.server.lifecycle_types import ChangeResult, ProfileRefused
from wattcap.server.profiles import ProfileService
from wattcap.server.sitecap.config import SiteDefinition
from wattcap.server.sitecap.signals import SignalBoard
from wattcap.server.stations import StationCallError, StationRegistry
from wattcap.store import Repository

log = logging.getLogger("wattcap.sitecap")

__all__ = ["SiteCapController", "SiteCapSettings"]

ACTOR = "wattcap:site-cap"
_PHASES = ("L1", "L2", "L3")


@dataclass(frozen=True, slots=True)
class SiteCapSettings:
    #: The coordinator is asked again at least this often (lease renewal, stale signals).
    tick_s: float = 1.0
    #: Events closer together than this are handled in one go.
    debounce_s: float = 0.2
    #: Measured draw alone re-plans at most this often (reclaim and give-back do not need to be instant).
    meter_replan_s: float = 10.0
    #: Without any change the whole site is still re-planned this often (pause holds ending, reclaim falling due);
    #: in between, a turn of the loop only renews leases and retries (a re-plan looks at every EVSE).
    replan_s: float = 5.0
    #: Read the composite back after a session's first limit and after fallback changes (not lease renewals).
    verify_first_limit: bool = True
    #: How long a connecting station's boot handling may take before it is written to anyway.
    boot_wait_s: float = 30.0


@dataclass(slots=True)
class _Session:
    transaction_id: str
    started_at: datetime
    measured_a: PhaseCurrents | None = None
    measured_w: float | None = None
    measured_at: datetime | None = None
    phases_in_use: int | None = None


class SiteCapController:
    def __init__(
        self,
        site: SiteDefinition,
        profiles: ProfileService,
        hub: EventHub,
        registry: StationRegistry,
        repository: Repository,
        *,
        clock: Callable[[], datetime],
        settings: SiteCapSettings | None = None,
        policy: Any = None,
        on_allocation: Callable[[SiteCapController], None] | None = None,
    ) -> None:
        self.site = site
        self.profiles = profiles
        self.hub = hub
        self.registry = registry
        self.repository = repository
        self.clock = clock
        self.settings = settings or SiteCapSettings()
        self.signals = SignalBoard(site, self.trigger)
        self.evses: dict[EvseKey, EvseSpec] = {e.key: e for e in site.topology.evses}
        self.sessions: dict[EvseKey, _Session] = {}
        self.policy = self._policy(policy)
        self.coordinator = sitecap.SiteCapCoordinator(site.topology, policy=self.policy, now=clock())
        self.on_allocation = on_allocation
        #: Fleet rules' hook: a session's demand with its weight, priority and ceilings (None: as measured).
        self.demand_shaper: Callable[[SessionDemand, EvseSpec], SessionDemand] | None = None
        #: Fleet planner's hook: the session limit's periods with the plan's next steps within the lease.
        self.profile_shaper: Callable[..., tuple[Any, ...]] | None = None
        self.last_limits: dict[str, Any] = {}
        self.replans = 0
        self.last_allocation_s = 0.0
        #: How long each write took, from its turn at the EVSE to the charger's answer (benchmarks read it).
        self.write_seconds: list[float] = []
        self.writes = 0
        self.notices: list[str] = []
        self._session_profile: dict[tuple[EvseKey, str], int] = {}
        self._fallback_profile: dict[EvseKey, int] = {}
        self._verified: set[tuple[EvseKey, str]] = set()
        self._configs: dict[str, tuple[int, StationConfig]] = {}
        #: Stations with a write validation refused -> their boots handled by then. A refusal rests on what the
        #: station's capabilities said; once they are read again (a later boot handled, even one that finished
        #: after ``boot_wait_s`` or came without a reconnect), its unknown EVSEs are retried at once.
        self._refused_at_boot: dict[str, int] = {}
        # One write at a time per EVSE and kind: a second write must reuse the first's profile id (the same id
        # replaces, K01.FR.05 / R16-05), and two ids at two stack levels would let a stale lease win.
        self._write_locks: dict[tuple[EvseKey, str], asyncio.Lock] = defaultdict(asyncio.Lock)
        self._wake = asyncio.Event()
        self._meter_dirty = False
        self._last_meter_replan: datetime | None = None
        self._dirty = True  # something other than measured draw changed: re-plan on the next turn
        self._last_replan: datetime | None = None
        self._task: asyncio.Task | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._writes: set[asyncio.Task] = set()
        self._outcomes: list[Any] = []
        self._idle = asyncio.Event()
        self._idle.set()

    def _policy(self, policy: Any) -> Any:
        if policy is not None:
            return policy
        # Renewed when a third of the lease is left: two missed renewals still do not let a lease lapse.
        return sitecap.CoordinatorPolicy(
            lease_s=self.site.lease_s,
            renew_before_s=max(1, self.site.lease_s // 3),
            fallback=sitecap.FallbackPolicy(self.site.fallback, self.site.fallback_current_a),
        )

    # ---- life cycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Adopt the store's active sessions and wattcap's own profiles, then start the loop."""
        installed: dict[EvseKey, float | None] = {}
        for station_id in sorted(self.site.station_ids):
            try:
                active = await self.repository.active_transactions(station_id)
                desired = await self.repository.list_desired_profiles(station_id)
            except Exception:  # a station not registered yet: it joins when it connects
                log.info("site %s: station %s is not in the store yet", self.site.id, station_id)
                continue
            for tx in active:
                key = (station_id, tx.evse_id)
                if key in self.evses:
                    self.sessions[key] = _Session(tx.transaction_id, tx.started_at or self.clock())
            for d in desired:
                key = (station_id, d.evse_id)
                if key not in self.evses:
                    continue
                if d.owner == "session" and d.transaction_id is not None:
                    self._session_profile[key, d.transaction_id] = d.profile_id
                elif d.owner == "default" and d.purpose == ChargingProfilePurpose.TX_DEFAULT.value:
                    self._fallback_profile[key] = d.profile_id
                    if d.status == "installed":
                        installed[key] = await self._installed_fallback(station_id, d.profile_id, key)
        now = self.clock()
        # What the chargers are known to hold: an EVSE without an acknowledged fallback counts at its worst case
        # until its first one is acknowledged.
        self.coordinator = sitecap.SiteCapCoordinator(
            self.site.topology, policy=self.policy, now=now,
            installed_fallbacks={k: v for k, v in installed.items() if v is not None},
        )
        for key in self.sessions:
            self._feed(sitecap.SessionStarted(key, now))
        for station_id in self.site.station_ids:
            if station_id not in self.registry:
                self._feed(sitecap.StationOffline(station_id, now))
        self._unsubscribe = self.hub.subscribe(self._on_event)
        self.registry.add_connection_listener(self._on_connection)
        self._task = asyncio.create_task(self._run(), name=f"site-cap:{self.site.id}")
        self.trigger()

    async def _installed_fallback(self, station_id: str, profile_id: int, key: EvseKey) -> float | None:
        """The per-phase current of a fallback wattcap installed before a restart (None if not in A)."""
        ctx = await self.profiles.context(station_id)
        profile = ctx.profiles.get(profile_id)
        if profile is None or not profile.schedule.periods:
            return None
        limit = profile.schedule.periods[0].limit
        if limit is None:
            return None
        if profile.schedule.charging_rate_unit.value == "A":
            return limit
        evse = self.evses[key]
        return limit / (evse.voltage_v * (profile.schedule.periods[0].number_phases or evse.phases))

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        tasks = [t for t in (self._task, *self._writes) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def trigger(self) -> None:
        """Re-plan the site on the loop's next turn (sessions, connections, signals or rules changed)."""
        self._dirty = True
        self._wake.set()

    async def settled(self, timeout: float = 10.0) -> None:
        """Wait until no write is in flight and nothing is waiting to be planned (tests, benchmarks)."""
        async with asyncio.timeout(timeout):
            while True:
                await self._idle.wait()
                await asyncio.sleep(self.settings.debounce_s * 2)
                if self._idle.is_set() and not self._wake.is_set() and not self._writes:
                    return

    # ---- events -------------------------------------------------------------------------------------------

    def _on_event(self, event: StationEvent) -> None:
        if event.station_id not in self.site.station_ids:
            return
        if isinstance(event, TransactionStarted):
            key = (event.station_id, event.evse_id)
            if key in self.evses:
                self.sessions[key] = _Session(event.transaction_id, event.at)
                self._feed(sitecap.SessionStarted(key, self.clock()))
                self.trigger()
        elif isinstance(event, TransactionEnded):
            key = (event.station_id, event.evse_id)
            session = self.sessions.get(key)
            if session is not None and session.transaction_id == event.transaction_id:
                del self.sessions[key]
                self._session_profile.pop((key, event.transaction_id), None)
                self._feed(sitecap.SessionEnded(key, self.clock()))
                self.trigger()
        elif isinstance(event, MeterValuesReceived):
            self._on_meter(event)

    def _on_meter(self, event: MeterValuesReceived) -> None:
        session = self.sessions.get((event.station_id, event.evse_id))
        if session is None:
            return
        latest = max((s.timestamp for s in event.samples), default=None)
        if latest is None or (session.measured_at is not None and latest < session.measured_at):
            return  # a queued, older value arriving after a newer one
        currents: dict[str, float] = {}
        power: float | None = None
        for sample in event.samples:
            if sample.timestamp != latest:
                continue
            if sample.measurand == Measurand.CURRENT_IMPORT and sample.phase in _PHASES:
                currents[sample.phase] = sample.value
            elif sample.measurand == Measurand.CURRENT_IMPORT and sample.phase is None:
                currents.setdefault("L1", sample.value)
            elif sample.measurand == Measurand.POWER_ACTIVE_IMPORT and sample.phase is None:
                power = sample.value
        if currents:
            session.measured_a = tuple(currents.get(p, 0.0) for p in _PHASES)  # type: ignore[assignment]
            session.phases_in_use = sum(1 for v in currents.values() if v > 0.5) or None
        if power is not None:
            session.measured_w = power
        session.measured_at = latest
        self._meter_dirty = True
        self._wake.set()  # measured draw alone re-plans at most every meter_replan_s (see _replan)

    def _on_connection(self, station_id: str, connected: bool) -> None:
        if station_id not in self.site.station_ids:
            return
        if not connected:
            self._feed(sitecap.StationOffline(station_id, self.clock()))
            self.trigger()
            return
        self._spawn(self._online_after_boot(station_id, self.profiles.boot_count[station_id]))

    async def _online_after_boot(self, station_id: str, boots: int) -> None:
        """A station that connects is written to once the lifecycle has handled its boot (capabilities read, what
        it holds reconciled): before that the validator knows neither its EVSEs nor its units. A station that
        reconnects without booting is taken as it was after ``boot_wait_s``."""
        with contextlib.suppress(TimeoutError):
            booted = lambda: self.profiles.boot_count[station_id] > boots  # noqa: E731
            await self.profiles.wait_for(booted, self.settings.boot_wait_s)
        if station_id in self.registry:
            self._feed(sitecap.StationOnline(station_id, self.clock()))
            self.trigger()

    def _reread_after_refusal(self) -> None:
        for station_id, boots in list(self._refused_at_boot.items()):
            if self.profiles.boot_count[station_id] > boots:
                del self._refused_at_boot[station_id]
                if station_id in self.registry:
                    self._feed(sitecap.StationOnline(station_id, self.clock()))  # retries its unknown EVSEs
                    self._dirty = True

    # ---- the loop -----------------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancel that comes as the wake does,
            # and the loop would outlive its close (wattcap.aio)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.tick_s):
                    await self._wake.wait()
            await asyncio.sleep(self.settings.debounce_s)
            self._wake.clear()
            try:
                self._reread_after_refusal()
                self._replan()
            except Exception:
                log.exception("site %s: re-allocation failed", self.site.id)

    def _demands(self) -> list[SessionDemand]:
        demands = [
            SessionDemand(
                key=key, started_at=s.started_at, measured_a=s.measured_a, measured_w=s.measured_w,
                phases_in_use=s.phases_in_use, measured_at=s.measured_at,
            )
            for key, s in sorted(self.sessions.items())
        ]
        if self.demand_shaper is None:
            return demands
        return [self.demand_shaper(d, self.evses[d.key]) for d in demands]

    def _replan(self) -> None:
        now = self.clock()
        meter_due = self._meter_dirty and (
            self._last_meter_replan is None
            or (now - self._last_meter_replan).total_seconds() >= self.settings.meter_replan_s
        )
        limits = resolve_limits(
            self.site.topology, now, self.signals.schedules.values(), self.signals.loads.values(),
            self.site.fallback_load_a,
        )
        periodic = self._last_replan is None or (now - self._last_replan).total_seconds() >= self.settings.replan_s
        if not (self._dirty or meter_due or periodic or limits != self.last_limits):
            # Nothing the allocation depends on changed (a write settled, a lease is due): no need to look at
            # every EVSE again, which at a thousand EVSEs per re-plan kept the loop busy during a drop.
            self._feed(sitecap.Tick(now))
            return
        self._dirty = False
        self._last_replan = now
        if meter_due:
            self._meter_dirty = False
            self._last_meter_replan = now
        self.last_limits = limits
        self.replans += 1
        started = time.perf_counter()
        self._feed(sitecap.Replan(now, limits, self._demands()))
        self.last_allocation_s = time.perf_counter() - started
        if self.on_allocation is not None:
            self.on_allocation(self)

    def _feed(self, event: Any) -> None:
        for command in self.coordinator.handle(event):
            self._execute(command)

    def _outcome(self, event: Any) -> None:
        """A write's outcome, handed to the coordinator with the others of this turn of the event loop: writes
        settle in bursts (group commit), and the coordinator decides the next writes once per burst."""
        self._outcomes.append(event)
        if len(self._outcomes) == 1:
            asyncio.get_running_loop().call_soon(self._flush_outcomes)

    def _flush_outcomes(self) -> None:
        events, self._outcomes = self._outcomes, []
        try:
            commands = self.coordinator.handle_all(events)
        except Exception:
            log.exception("site %s: outcomes could not be handled", self.site.id)
            return
        for command in commands:
            self._execute(command)

    # ---- commands ------------------------------------------------------------------------------------------

    def _execute(self, command: Any) -> None:
        if isinstance(command, sitecap.NotifyOperator):
            self.notices.append(command.message)
            log.warning("site %s: %s", self.site.id, command.message)
            target = self.site.id if command.key is None else f"{self.site.id}/{command.key[0]}/{command.key[1]}"
            self._spawn(self.repository.append_audit(ACTOR, "site_cap.notice", target=target, reason=command.message))
        elif isinstance(command, sitecap.SetSessionLimit):
            self._spawn(self._write(command, "session", self._send_session_limit))
        elif isinstance(command, sitecap.SetFallback):
            self._spawn(self._write(command, "fallback", self._send_fallback))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._writes.add(task)
        self._idle.clear()

        def done(t: asyncio.Task) -> None:
            self._writes.discard(t)
            if not self._writes:
                self._idle.set()

        task.add_done_callback(done)

    async def _write(
        self, command: Any, kind: str, send: Callable[[Any], Awaitable[ChangeResult | None]]
    ) -> None:
        """Carry out one write (after any earlier one to the same EVSE) and tell the coordinator how it went."""
        self.writes += 1
        try:
            async with self._write_locks[command.key, kind]:
                started = time.perf_counter()
                result: ChangeResult | None = await send(command)
                self.write_seconds.append(time.perf_counter() - started)
        except ProfileRefused as refused:
            self._refused_at_boot.setdefault(command.key[0], self.profiles.boot_count[command.key[0]])
            log.warning("site %s: %s to %s not sent: %s", self.site.id, kind, command.key, refused)
            self._outcome(sitecap.Rejected(command.command_id, f"not sent: {refused}", self.clock()))
        except StationCallError as exc:
            self._outcome(sitecap.NoAnswer(command.command_id, self.clock()))
            log.info("site %s: write to %s not answered: %s", self.site.id, command.key, exc)
        except Exception:
            log.exception("site %s: write to %s failed", self.site.id, command.key)
            self._outcome(sitecap.NoAnswer(command.command_id, self.clock()))
        else:
            log.info(
                "site %s: %s %s/%s %s -> %s %s", self.site.id, command.command_id, command.key[0], command.key[1],
                kind, "nothing to send" if result is None else result.verdict.value,
                "" if result is None else (result.reason or ""),
            )
            if result is None:  # nothing to send (the session is gone): the EVSE holds its fallback
                self._outcome(sitecap.Acknowledged(command.command_id, self.clock()))
            elif result.verdict in (Verdict.APPLIED, Verdict.MISMATCH):
                if result.verdict is Verdict.MISMATCH:
                    log.warning("site %s: %s accepted a limit but reports another composite: %s",
                                self.site.id, command.key, result.reason)
                self._outcome(sitecap.Acknowledged(command.command_id, self.clock()))
            elif result.verdict is Verdict.NO_ANSWER:
                self._outcome(sitecap.NoAnswer(command.command_id, self.clock()))
            else:
                self._outcome(sitecap.Rejected(command.command_id, result.reason or result.verdict.value,
                                               self.clock()))

    async def _config(self, station_id: str) -> StationConfig:
        """The station's capabilities (its units), read once per boot: they change only when it reboots."""
        boots = self.profiles.boot_count[station_id]
        cached = self._configs.get(station_id)
        if cached is None or cached[0] != boots:
            cached = (boots, await self.profiles.station_config(station_id))
            self._configs[station_id] = cached
        return cached[1]

    async def _send_session_limit(self, command: Any) -> ChangeResult | None:
        key: EvseKey = command.key
        session = self.sessions.get(key)
        if session is None:
            return None
        evse = self.evses[key]
        config = await self._config(key[0])
        profile = session_limit_profile(
            evse, transaction_id=session.transaction_id, current_a=command.current_a, phases=command.phases,
            power_w=command.power_w, lease_until=command.lease_until, now=self.clock(),
            unit=rate_unit_for(evse, config.capabilities.rate_units),
        )
        if self.profile_shaper is not None:
            schedule = profile.schedules[0]
            periods = self.profile_shaper(
                key, evse, schedule.periods, schedule.start_schedule, command.lease_until, schedule.charging_rate_unit,
            )
            profile = replace(profile, schedules=(replace(schedule, periods=periods),))
        marker = (key, session.transaction_id)
        verify = self.settings.verify_first_limit and marker not in self._verified
        profile_id = self._session_profile.get(marker)
        reason = f"site {self.site.id}: {command.current_a:g} A x {command.phases}"
        if profile_id is not None:
            try:
                return await self.profiles.update_profile(
                    key[0], profile_id, profile, actor=ACTOR, reason=reason, paced=False, verify=verify,
                )
            except ProfileRefused:
                self._session_profile.pop(marker, None)  # no longer desired (cleared): set a new one
        result = await self.profiles.set_profile(
            key[0], key[1], profile, band="session", actor=ACTOR, reason=reason, paced=False, verify=verify,
        )
        if result.profile_id is not None:
            self._session_profile[marker] = result.profile_id
        if result.verdict in (Verdict.APPLIED, Verdict.MISMATCH):
            self._verified.add(marker)
        return result

    async def _send_fallback(self, command: Any) -> ChangeResult:
        key: EvseKey = command.key
        evse = self.evses[key]
        config = await self._config(key[0])
        profile = fallback_profile(
            evse, current_a=command.current_a, phases=command.phases, now=self.clock(),
            unit=rate_unit_for(evse, config.capabilities.rate_units),
        )
        reason = f"site {self.site.id}: offline share {command.current_a:g} A"
        profile_id = self._fallback_profile.get(key)
        if profile_id is not None:
            with contextlib.suppress(ProfileRefused):
                return await self.profiles.update_profile(
                    key[0], profile_id, profile, actor=ACTOR, reason=reason, paced=False,
                    verify=self.settings.verify_first_limit,
                )
        result = await self.profiles.set_profile(
            key[0], key[1], profile, band="default", actor=ACTOR, reason=reason, paced=False,
            verify=self.settings.verify_first_limit,
        )
        if result.profile_id is not None:
            self._fallback_profile[key] = result.profile_id
        return result

    # ---- what the API and UI show --------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The site now: node limits in force, each EVSE's session, allocation, what is in force and pending."""
        view = self.coordinator.view() if hasattr(self.coordinator, "view") else {}
        return {
            "site": self.site.id,
            "at": self.clock().isoformat(),
            "limits": {
                node: {"current_a": lim.current_a, "power_w": lim.power_w, "non_ev_load_a": list(lim.non_ev_load_a),
                       "source": lim.source}
                for node, lim in self.last_limits.items()
            },
            "sessions": {f"{k[0]}/{k[1]}": {"transaction_id": s.transaction_id, "measured_a": s.measured_a}
                         for k, s in self.sessions.items()},
            "coordinator": view,
            "notices": self.notices[-20:],
        }

