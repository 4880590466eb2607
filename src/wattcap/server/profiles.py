"""The profile lifecycle: wattcap owns each station's charging profiles and keeps the charger in line with them.

:class:`ProfileService` is the imperative shell around :mod:`wattcap.core.lifecycle`:

* **set / update / clear / list**: ids and stack levels come from the purpose bands (:func:`allocate`); every
  profile is validated against the station's capabilities and dialect before anything is sent (errors refuse it
  with the findings, :class:`ProfileRefused`); an update resends the same id (never clear-and-reset, A2, A21);
* **remote start** with a Relative TxProfile without transactionId (TC_059_CSMS, TC_K_37_CSMS), bound to the
  transaction when it starts; every TxProfile is cleared by id when its transaction ends (A12);
* **verification** after each change: GetCompositeSchedule with an explicit unit (A10), normalised and compared
  with the engine's composite for the station's dialect (:func:`compare_composites`); verdicts applied, mismatch
  (with the differing intervals), rejected (with the charger's reason), unsupported, no answer;
* **measured draw**: MeterValues against the limits wattcap set, with a reaction allowance (:func:`find_violations`);
* **drift**: on boot and periodically, what the charger holds (2.0.1 GetChargingProfiles; 1.6 composites) is
  reconciled with what wattcap wants (:func:`plan_reconcile`), and every repair is recorded;
* **write limits**: writes are paced per station and purpose (:class:`WriteQueue`, :func:`plan_writes`).

Every request and answer is an operation in the store, every verification a verification result, and every
change, refusal, repair and violation an audit entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from wattcap.aio import stop_if_cancelled
from wattcap.core.events import (
    ChargingProfilesReported,
    HeartbeatReceived,
    MeterValuesReceived,
    StationEvent,
    TransactionEnded,
    TransactionStarted,
)
from wattcap.core.holdings import HeldProfile
from wattcap.core.holdings_clear import ClearChargingProfileRequest
from wattcap.core.holdings_report import GetChargingProfilesRequest
from wattcap.core.lifecycle import (
    DEFAULT_BANDS,
    RATE_LIMIT_EXCEEDED,
    Action,
    ActionKind,
    AllocationError,
    BandTable,
    Desired,
    DesiredStatus,
    WriteKey,
    allocate,
    plan_reconcile,
    prepare_profile,
    retry_after_s,
)
from wattcap.core.model import ChargingLimitSource, ChargingProfile, ChargingProfilePurpose, ChargingRateUnit
from wattcap.core.station import StationConfig
from wattcap.core.validation import Finding, RequestContext, has_errors
from wattcap.core.verification import Verdict
from wattcap.ocpp import lifecycle_messages as messages
from wattcap.ocpp.lifecycle_messages import WireCall
from wattcap.ocpp.validation import validate_profile
from wattcap.server.capabilities import CapabilityReader
from wattcap.server.charge_point import utc_now
from wattcap.server.event_hub import EventHub
from wattcap.server.lifecycle_types import (
    ChangeResult,
    CompositeCheck,
    LifecycleListener,
    LifecycleNews,
    LifecycleSettings,
    ProfileRefused,
    combined,
)
from wattcap.server.profile_context import ContextCache, StationContext, load_context
from wattcap.server.profile_draw import DrawMonitor
from wattcap.server.profile_exchange import Exchange, exchange, exchange_unsettled
from wattcap.server.profile_verify import CompositeVerifier, WritesOnTheWay
from wattcap.server.profile_writer import RateLimited, WriteQueue
from wattcap.server.stations import StationRegistry
from wattcap.store import DesiredProfile, ProfileIdTakenError, Repository, UnknownStationError, desired_from_profile
from wattcap.store.batch import Job

log = logging.getLogger("wattcap.server.profiles")

_TX = ChargingProfilePurpose.TX
#: How often a new profile's id is chosen again when another writer reserved it first. Each retry reads the
#: store, which holds every id reserved so far, so only writers that keep reserving in the same instant can
#: exhaust this: a bound, not a wait.
_RESERVE_ATTEMPTS = 5
_STATUS_OF_VERDICT = {
    Verdict.REJECTED: DesiredStatus.REJECTED,
    Verdict.UNSUPPORTED: DesiredStatus.UNSUPPORTED,
    Verdict.NO_ANSWER: DesiredStatus.NO_ANSWER,
}

__all__ = ["ChangeResult", "CompositeCheck", "LifecycleSettings", "ProfileRefused", "ProfileService"]


class ProfileService:
    #: How long the write path may reuse a station's context read from the store (with this process's own writes
    #: applied) before reading it again: the longest a change made by another process can go unseen by a write.
    context_reuse_s: float = 2.0

    def __init__(
        self,
        registry: StationRegistry,
        repository: Repository,
        hub: EventHub,
        clock: Callable[[], datetime] = utc_now,
        *,
        bands: BandTable = DEFAULT_BANDS,
        settings: LifecycleSettings | None = None,
        capabilities: CapabilityReader | None = None,
    ) -> None:
        self.registry = registry
        self.repository = repository
        self.hub = hub
        self.clock = clock
        self.bands = bands
        self.settings = settings or LifecycleSettings()
        self.capabilities = capabilities
        self.writes: WriteQueue[ChangeResult] = WriteQueue(
            clock, min_interval_s=self.settings.min_write_interval_s, max_retries=self.settings.rate_limit_retries
        )
        #: Boots handled per station (capabilities read and reconciled), for whoever waits on a boot.
        self.boot_count: dict[str, int] = defaultdict(int)
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._foreign: dict[str, tuple[HeldProfile, ...]] = {}
        #: Per station, the version of each profile the charger accepted last, kept while an update of it is not
        #: accepted yet: the charger still holds that version (StationContext.held_before).
        self._held_before: dict[str, dict[int, DesiredProfile]] = defaultdict(dict)
        #: Writes on their way to each station: a composite read-back waits for them to be stored.
        self.on_the_way = WritesOnTheWay()
        self.verifier = CompositeVerifier(
            registry, repository, clock, self.settings, writes=self.on_the_way, load=self._context
        )
        self.draw = DrawMonitor(repository, clock, self.settings, notify=self._publish)
        self._remote_starts: dict[tuple[str, int], int] = {}  # (station, evse) -> remoteStartId awaited
        self._request_ids = itertools.count(1)
        self._tasks: set[asyncio.Task] = set()
        self._changed = asyncio.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self._periodic: asyncio.Task | None = None
        self._listeners: list[LifecycleListener] = []
        self._contexts = ContextCache(self.context_reuse_s, store_changes=repository.station_changes)

    # ---- wiring ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen to boots and station events, and start the periodic reconcile."""
        self.registry.add_boot_listener(self._on_boot)
        self.registry.add_connection_listener(self._changed_station)
        self._unsubscribe = self.hub.subscribe(self._on_event)
        if self.settings.reconcile_interval_s:
            self._periodic = asyncio.create_task(self._reconcile_periodically(), name="profiles:reconcile")

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.registry.remove_connection_listener(self._changed_station)
        for task in [self._periodic, *self._tasks]:
            if task is not None:
                task.cancel()
        for task in [self._periodic, *self._tasks]:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.writes.close()

    async def drain(self) -> None:
        """Wait until the background work started so far (tx-end clears, bindings, draw checks) is done."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def wait_for(self, predicate: Callable[[], object], timeout: float = 10.0) -> object:
        """Wait until ``predicate()`` holds; re-checked whenever a boot or background task finishes."""
        async with asyncio.timeout(timeout):
            while not (value := predicate()):
                await self._changed.wait()
            return value

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(self._quietly(coro), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    @staticmethod
    async def _quietly(coro: Coroutine[Any, Any, Any]) -> None:
        """A station the store does not know has no profile lifecycle: its events are nobody's business here."""
        with contextlib.suppress(UnknownStationError):
            await coro

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("profile task %s failed", task.get_name(), exc_info=task.exception())
        self._notify()

    def _notify(self) -> None:
        """Wake every :meth:`wait_for` (each waits on the event that was current when it looked)."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _context(self, station_id: str) -> StationContext:
        """The station's context read from the store now (and kept for the write path)."""
        generation = self._contexts.generation(station_id)
        ctx = await load_context(
            self.registry, self.repository, station_id, self._foreign.get(station_id, ()),
            self.on_the_way.seen(station_id), tuple(self._held_before.get(station_id, {}).values()),
        )
        self._contexts.put(ctx, generation)
        return ctx

    async def _recent_context(self, station_id: str) -> StationContext:
        """The write path's context: the one read lately, with this process's writes since applied
        (:class:`ContextCache`), else read from the store."""
        return self._contexts.get(station_id) or await self._context(station_id)

    def _changed_station(self, station_id: str, *_: object) -> None:
        """Something the write path's context cannot follow changed the station: read it again next time."""
        self._contexts.invalidate(station_id)

    async def _exchange(
        self, ctx: StationContext, call: WireCall, evse_id: int | None, profile_id: int | None
    ) -> Exchange:
        return await exchange(
            self.registry, self.repository, self.clock, ctx, call, evse_id=evse_id, profile_id=profile_id
        )

    async def _exchange_unsettled(
        self, ctx: StationContext, call: WireCall, evse_id: int | None, profile_id: int | None
    ) -> tuple[Exchange, Job]:
        """The exchange, with the answer's record left for the caller to write with what the answer leads to."""
        return await exchange_unsettled(
            self.registry, self.repository, self.clock, ctx, call, evse_id=evse_id, profile_id=profile_id
        )

    # ---- listeners: what the live stream and the metrics are told -------------------------------------------

    def add_listener(self, listener: LifecycleListener) -> Callable[[], None]:
        """Call ``listener(news)`` with every change result sent or verified and every draw violation; returns
        the function that removes it. Listeners run synchronously and must not block (queue the work)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _publish(self, news: LifecycleNews) -> None:
        for listener in list(self._listeners):
            try:
                listener(news)
            except Exception:  # a listener's failure must never fail the change it was told about
                log.exception("lifecycle listener %r failed", listener)

    async def _published(self, change: Awaitable[ChangeResult]) -> ChangeResult:
        result = await change
        self._publish(result)
        return result

    async def context(self, station_id: str) -> StationContext:
        """The station as the lifecycle sees it now (with what other parties are known to hold), for previews."""
        return await self._context(station_id)

    # ---- set / update / clear / list --------------------------------------------------------------------------

    async def set_profile(
        self,
        station_id: str,
        evse_id: int,
        profile: ChargingProfile,
        *,
        band: str,
        actor: str = "api",
        reason: str | None = None,
        paced: bool = True,
        verify: bool = True,
    ) -> ChangeResult:
        """Install a new profile of ``band`` on ``evse_id``: wattcap picks its id and stack level (``profile``'s
        own are ignored), validates it, stores it as desired, sends it and verifies the composite.

        ``paced=False`` skips the write pacing (the site cap's safety writes); ``verify=False`` skips the composite
        read-back (a lease renewal that changes only validTo), so the charger's acceptance is the verdict."""
        purpose = self._band_purpose(band, profile)
        async with self._locks[station_id]:
            ctx = await self._recent_context(station_id)
            _, prepared, findings = await self._put_new(
                ctx, band, evse_id, profile, purpose, RequestContext.SET_CHARGING_PROFILE, actor, reason, "profile.set"
            )
        return await self._submit(station_id, ActionKind.SET, evse_id, prepared, findings, paced=paced, verify=verify)

    async def update_profile(
        self, station_id: str, profile_id: int, profile: ChargingProfile, *, actor: str = "api",
        reason: str | None = None, paced: bool = True, verify: bool = True,
    ) -> ChangeResult:
        """Replace a desired profile's content under the same id, stack level, purpose and EVSE (K01.FR.05)."""
        async with self._locks[station_id]:
            ctx = await self._recent_context(station_id)
            current = ctx.find(profile_id)
            if current is None or not DesiredStatus(current.status).present:
                raise ProfileRefused(f"station {station_id} has no desired profile {profile_id} to update")
            old = ctx.profiles[profile_id]
            if profile.purpose is not old.purpose:
                raise ProfileRefused(
                    f"profile {profile_id} is a {old.purpose.value}; an update keeps the purpose (set a new profile "
                    "in another band instead)"
                )
            prepared = prepare_profile(profile, profile_id=profile_id, stack_level=old.stack_level, purpose=old.purpose)
            findings = await self._validate(ctx, current.evse_id, prepared, RequestContext.SET_CHARGING_PROFILE, actor)
            if current.status == DesiredStatus.INSTALLED:
                self._held_before[station_id][profile_id] = current
            await self._put_desired(
                ctx, current.evse_id, prepared, current.owner, actor, reason, "profile.update", before=current.wire
            )
        return await self._submit(
            station_id, ActionKind.UPDATE, current.evse_id, prepared, findings, paced=paced, verify=verify
        )

    async def clear_profile(
        self, station_id: str, profile_id: int, *, actor: str = "api", reason: str | None = None,
        verify: bool = True,
    ) -> ChangeResult:
        """Clear one profile by id (A25) and stop wanting it once the charger confirmed (or never held it).

        ``verify=False`` skips the composite read-back (a clean-up whose result nobody reads), as for a set."""
        async with self._locks[station_id]:
            ctx = await self._context(station_id)
            current = ctx.find(profile_id)
            clearing = () if current is None else (
                self.repository.set_desired_status_job(
                    station_id, profile_id, DesiredStatus.CLEARING.value, reason=reason or f"cleared by {actor}"
                ),
            )
            await self.repository.write_together(
                *clearing,
                self.repository.append_audit_job(
                    actor, "profile.clear", target=f"{station_id}/{profile_id}",
                    reason=reason or ("" if current else "not a desired profile; cleared on request"),
                    before=None if current is None else current.wire,
                ),
            )
            self._changed_station(station_id)
        if current is None:
            return await self._submit_clear(station_id, profile_id, None, None)
        purpose = ChargingProfilePurpose(current.purpose)
        return await self._submit_clear(station_id, profile_id, current.evse_id, purpose, verify=verify)

    async def clear_profiles(
        self,
        station_id: str,
        *,
        evse_id: int | None = None,
        purpose: ChargingProfilePurpose | None = None,
        stack_level: int | None = None,
        on_wire: bool = False,
        actor: str = "api",
        reason: str | None = None,
    ) -> list[ChangeResult]:
        """Clear what matches the filter (fields AND-ed, none = all of wattcap's).

        By default each matching desired profile is cleared by its id, so another system's profiles that happen to
        match are never touched (A25). ``on_wire`` sends the filter itself as ClearChargingProfile criteria (what
        OCTT TC_067_CSMS / TC_K_06_CSMS ask for): it clears whatever matches on the charger, wattcap's or not.
        """
        criteria = ClearChargingProfileRequest(evse_id=evse_id, purpose=purpose, stack_level=stack_level)
        ctx = await self._context(station_id)
        matching = [
            d for d in ctx.desired
            if (evse_id is None or d.evse_id == evse_id)
            and (purpose is None or d.purpose == purpose.value)
            and (stack_level is None or d.stack_level == stack_level)
        ]
        if not on_wire:
            return [await self.clear_profile(station_id, d.profile_id, actor=actor, reason=reason) for d in matching]
        return [await self._published(self._clear_on_wire(ctx, criteria, matching, actor, reason))]

    async def station_config(self, station_id: str) -> StationConfig:
        """The station as the lifecycle models it now: version, dialect and the capabilities it reported."""
        return (await self._context(station_id)).config

    async def list_profiles(self, station_id: str) -> list[DesiredProfile]:
        """What wattcap wants the station to hold, with each profile's status."""
        return await self.repository.list_desired_profiles(station_id)

    async def held_profiles(self, station_id: str) -> list[HeldProfile] | None:
        """What the charger says it holds (2.0.1 GetChargingProfiles, every source); None when it cannot say
        (1.6) or did not answer."""
        return await self._read_held(await self._context(station_id))

    # ---- composite read-back --------------------------------------------------------------------------------

    async def composite(
        self, station_id: str, evse_id: int, *, duration: int | None = None, unit: ChargingRateUnit | None = None
    ) -> CompositeCheck:
        """Read the charger's composite for ``evse_id`` and compare it with the engine's (recorded)."""
        ctx = await self._context(station_id)
        return await self.verifier.check(ctx, evse_id, unit or self.verifier.unit(ctx, None), duration)

    async def verify(self, station_id: str, evse_id: int = 0, *, unit: ChargingRateUnit | None = None) -> ChangeResult:
        """Compare the composites of the EVSEs ``evse_id`` shapes (0: all of them) with the expected ones."""
        ctx = await self._context(station_id)
        chosen = unit or self.verifier.unit(ctx, None)
        checks = [await self.verifier.check(ctx, e, chosen) for e in ctx.evses_of(evse_id)]
        verdict = combined([c.verdict for c in checks])
        result = ChangeResult(station_id, "verify", None, evse_id, verdict, checks=tuple(checks))
        self._publish(result)
        return result

    # ---- remote start ----------------------------------------------------------------------------------------

    async def remote_start(
        self,
        station_id: str,
        evse_id: int,
        id_token: str,
        profile: ChargingProfile,
        *,
        band: str = "session",
        actor: str = "api",
        reason: str | None = None,
    ) -> ChangeResult:
        """Start a transaction on ``evse_id`` carrying ``profile`` as its TxProfile (RemoteStartTransaction /
        RequestStartTransaction): Relative and without transactionId, as TC_059_CSMS and TC_K_37_CSMS require
        (the validator refuses anything else, K05, R16-17). The profile is bound to the transaction when the
        station reports it started, and cleared by id when it ends."""
        purpose = self._band_purpose(band, profile)
        if evse_id < 1:
            raise ProfileRefused("a remote start with a profile names the EVSE it starts on (evse_id >= 1)")
        async with self._locks[station_id]:
            ctx = await self._context(station_id)
            ctx, prepared, findings = await self._put_new(
                ctx, band, evse_id, profile, purpose, RequestContext.REMOTE_START, actor, reason, "profile.remote_start"
            )
        remote_start_id = await self.repository.next_transaction_id("remote_start_id")
        self._remote_starts[station_id, evse_id] = remote_start_id
        call = messages.remote_start_call(ctx.version, evse_id, id_token, prepared, remote_start_id)
        async with self.on_the_way.sending(station_id):
            reply = await self._exchange(ctx, call, evse_id, prepared.id)
            verdict, why = reply.judged()
            if verdict is None:
                # Accepted: the charger holds the profile for the transaction it is about to start (K05, S16 §5.16.2).
                await self._mark(station_id, prepared.id, DesiredStatus.INSTALLED, None)
                verdict, why = Verdict.APPLIED, "accepted; verified when the transaction starts"
            elif verdict is not Verdict.NO_ANSWER:
                # No transaction will start, so there will be no profile; a silent charger may still start one.
                await self.repository.delete_desired_profile(station_id, prepared.id, reason=why)
                self._changed_station(station_id)
                self._remote_starts.pop((station_id, evse_id), None)
            else:
                await self._mark(station_id, prepared.id, DesiredStatus.NO_ANSWER, why)
        result = ChangeResult(station_id, "remote_start", prepared.id, evse_id, verdict, why, findings=findings)
        self._publish(result)
        return result

    # ---- drift ----------------------------------------------------------------------------------------------

    async def reconcile(self, station_id: str, *, actor: str = "wattcap:reconcile") -> list[ChangeResult]:
        """Compare what the charger holds with what wattcap wants and repair the difference (each repair audited)."""
        ctx = await self._context(station_id)
        wanted = [
            w for d in ctx.desired
            if (w := Desired.from_status(d.evse_id, ctx.profiles[d.profile_id], d.status)) is not None
        ]
        if messages.lists_profiles(ctx.version):
            held = await self._read_held(ctx)
            if held is None:
                return []
            actions = plan_reconcile(wanted, held, owns=self.bands.owns)
        else:
            drifted = await self._drifted(ctx, wanted)
            actions = plan_reconcile(wanted, None, drifted=drifted)
        results = [await self._repair(ctx, action, actor) for action in actions]
        # The limits the draw check holds meter values against, also after a restart of wattcap.
        ctx = await self._context(station_id)
        self._remember_limits(ctx, sorted({e for d in ctx.desired for e in ctx.evses_of(d.evse_id)}))
        return results

    async def _drifted(self, ctx: StationContext, wanted: Sequence[Desired]) -> set[int]:
        """The EVSEs whose composite differs from the expected one (1.6: the only view of what a charger holds)."""
        evses = sorted({e for w in wanted if w.present and w.confirmed for e in ctx.evses_of(w.evse_id)})
        unit = self.verifier.unit(ctx, None)
        return {e for e in evses if (await self.verifier.check(ctx, e, unit)).verdict is Verdict.MISMATCH}

    async def _repair(self, ctx: StationContext, action: Action, actor: str) -> ChangeResult:
        station_id = ctx.station_id
        target = f"{station_id}/{action.profile_id}"
        await self.repository.append_audit(
            actor, f"profile.repair.{action.kind.value}", target=target, reason=action.reason,
        )
        if action.kind is ActionKind.CLEAR:
            purpose = ctx.profiles[action.profile_id].purpose if ctx.find(action.profile_id) else None
            return await self._submit_clear(station_id, action.profile_id, action.evse_id, purpose)
        assert action.profile is not None
        try:
            findings = await self._validate(
                ctx, action.evse_id, action.profile, RequestContext.SET_CHARGING_PROFILE, actor
            )
        except ProfileRefused as refused:
            return ChangeResult(station_id, f"repair.{action.kind.value}", action.profile_id, action.evse_id,
                                Verdict.REJECTED, f"not sent: {refused}", findings=refused.findings)
        return await self._submit(station_id, action.kind, action.evse_id, action.profile, findings)

    async def _read_held(self, ctx: StationContext) -> list[HeldProfile] | None:
        if not messages.lists_profiles(ctx.version):
            return None
        request_id = next(self._request_ids)
        collector = self.hub.collector(
            ChargingProfilesReported, ctx.station_id, where=lambda e: e.request_id == request_id,
            last=lambda e: not e.more_to_come,
        )
        try:
            request = GetChargingProfilesRequest(request_id, sources=tuple(s.value for s in ChargingLimitSource))
            reply = await self._exchange(ctx, messages.get_profiles_call(ctx.version, request), None, None)
            if reply.status_in("NoProfiles"):
                events = []
            elif not reply.status_in("Accepted"):
                return None
            else:
                try:
                    events = await collector.wait(self.settings.report_timeout_s)
                except TimeoutError:
                    log.warning("station %s: ReportChargingProfiles did not complete", ctx.station_id)
                    return None
        finally:
            self.hub.release(collector)
        held = [HeldProfile(e.evse_id, p, str(e.source)) for e in events for p in e.profiles]
        self._foreign[ctx.station_id] = tuple(h for h in held if not self.bands.owns(h.profile.id))
        self._changed_station(ctx.station_id)
        return held

    # ---- sending ---------------------------------------------------------------------------------------------

    async def _submit(
        self, station_id: str, kind: ActionKind, evse_id: int, profile: ChargingProfile, findings: Sequence[Finding],
        *, paced: bool = True, verify: bool = True,
    ) -> ChangeResult:
        key = WriteKey(station_id, profile.purpose)
        return await self.writes.submit(
            key, profile.id,
            lambda: self._published(self._send_profile(station_id, kind, evse_id, profile, tuple(findings), verify)),
            paced=paced,
        )

    async def _submit_clear(
        self, station_id: str, profile_id: int, evse_id: int | None, purpose: ChargingProfilePurpose | None,
        *, verify: bool = True,
    ) -> ChangeResult:
        return await self.writes.submit(
            WriteKey(station_id, purpose), profile_id,
            lambda: self._published(self._send_clear(station_id, profile_id, evse_id, verify)),
        )

    async def _send_profile(
        self, station_id: str, kind: ActionKind, evse_id: int, profile: ChargingProfile,
        findings: tuple[Finding, ...], verify: bool = True,
    ) -> ChangeResult:
        ctx = await self._recent_context(station_id)
        call = messages.set_profile_call(ctx.version, evse_id, profile)
        async with self.on_the_way.sending(station_id):
            reply, finish = await self._exchange_unsettled(ctx, call, evse_id, profile.id)
            verdict, why = reply.judged()
            result = ChangeResult(station_id, kind.value, profile.id, evse_id, Verdict.APPLIED, findings=findings)
            # The answer and the profile's new status are written together (one transaction).
            if verdict is not None:
                result = replace(result, verdict=verdict, reason=why)
                if reply.answer is not None and reply.answer.reason_code == RATE_LIMIT_EXCEEDED:
                    await self.repository.write_together(finish)
                    wait = retry_after_s(reply.answer.additional_info, self.settings.rate_limit_retry_s)
                    raise RateLimited(wait, result)
                status = _STATUS_OF_VERDICT[verdict]
                marked = self._mark_job(station_id, profile.id, status, why)
                _, stored = await self.repository.write_together(finish, marked)
                self._contexts.apply(station_id, stored)
                return result
            installed = self._mark_job(station_id, profile.id, DesiredStatus.INSTALLED, None)
            _, stored = await self.repository.write_together(finish, installed)
            self._contexts.apply(station_id, stored)
            self._held_before[station_id].pop(profile.id, None)
        if not verify:
            # What the charger now holds is what was just sent: the context read before the send, with this
            # profile installed, is enough for the draw check (one store round trip less per write).
            self._remember_limits(ctx.with_installed(evse_id, profile), ctx.evses_of(evse_id))
            return replace(result, reason="accepted; not read back")
        return await self._after_change(station_id, result, evse_id, profile.schedule.charging_rate_unit)

    async def _send_clear(
        self, station_id: str, profile_id: int, evse_id: int | None, verify: bool = True
    ) -> ChangeResult:
        ctx = await self._context(station_id)
        call = messages.clear_call(ctx.version, ClearChargingProfileRequest(profile_id=profile_id))
        async with self.on_the_way.sending(station_id):
            reply = await self._exchange(ctx, call, evse_id, profile_id)
            result = ChangeResult(station_id, ActionKind.CLEAR.value, profile_id, evse_id, Verdict.APPLIED)
            if not reply.status_in("Accepted", "Unknown"):
                verdict, why = reply.judged()
                verdict = verdict or Verdict.REJECTED
                if verdict is not Verdict.NO_ANSWER and ctx.find(profile_id) is not None:
                    status = _STATUS_OF_VERDICT.get(verdict, DesiredStatus.REJECTED)
                    await self._mark(station_id, profile_id, status, why)
                return replace(result, verdict=verdict, reason=why)
            if reply.status_in("Unknown"):
                result = replace(result, reason=f"the charger held no profile {profile_id}")
            await self.repository.delete_desired_profile(station_id, profile_id, reason="cleared")
            self._held_before[station_id].pop(profile_id, None)
            self._changed_station(station_id)
        if evse_id is None:
            return result
        if not verify:
            ctx = await self._context(station_id)
            self._remember_limits(ctx, ctx.evses_of(evse_id))
            return result
        return await self._after_change(station_id, result, evse_id, None)

    async def _clear_on_wire(
        self, ctx: StationContext, criteria: ClearChargingProfileRequest, matching: Sequence[DesiredProfile],
        actor: str, reason: str | None,
    ) -> ChangeResult:
        station_id = ctx.station_id
        await self.repository.append_audit(
            actor, "profile.clear_criteria", target=station_id, reason=reason,
            before=[d.wire for d in matching],
        )
        async with self.on_the_way.sending(station_id):
            reply = await self._exchange(ctx, messages.clear_call(ctx.version, criteria), criteria.evse_id, None)
            result = ChangeResult(station_id, "clear_criteria", None, criteria.evse_id, Verdict.APPLIED)
            if not reply.status_in("Accepted", "Unknown"):
                verdict, why = reply.judged()
                return replace(result, verdict=verdict or Verdict.REJECTED, reason=why)
            for d in matching:
                await self.repository.delete_desired_profile(station_id, d.profile_id, reason="cleared by criteria")
                self._held_before[station_id].pop(d.profile_id, None)
            self._changed_station(station_id)
        return await self._after_change(station_id, result, criteria.evse_id or 0, None)

    async def _mark(self, station_id: str, profile_id: int, status: DesiredStatus, reason: str | None) -> None:
        self._contexts.apply(
            station_id, await self.repository.set_desired_status(station_id, profile_id, status.value, reason=reason)
        )

    def _mark_job(self, station_id: str, profile_id: int, status: DesiredStatus, reason: str | None) -> Job:
        return self.repository.set_desired_status_job(station_id, profile_id, status.value, reason=reason)

    # ---- after a change: verification and the limits kept for the draw check -------------------------------

    async def _after_change(
        self, station_id: str, result: ChangeResult, evse_id: int, unit: ChargingRateUnit | None
    ) -> ChangeResult:
        # Read once the other writes on their way are stored: the draw check and the read-back expect what the
        # charger holds, and it may hold those already.
        await self.on_the_way.quiet(station_id)
        ctx = await self._context(station_id)
        self._remember_limits(ctx, ctx.evses_of(evse_id))
        chosen = self.verifier.unit(ctx, unit)
        checks = tuple([await self.verifier.check(ctx, e, chosen) for e in ctx.evses_of(evse_id)])
        verdict = combined([c.verdict for c in checks])
        reason = result.reason or next((c.reason for c in checks if c.verdict is verdict and c.reason), None)
        return replace(result, verdict=verdict, reason=reason, checks=checks)

    def _remember_limits(self, ctx: StationContext, evse_ids: Sequence[int]) -> None:
        """Hand the draw check what each EVSE should follow from now on."""
        for evse in evse_ids:
            composite = self.verifier.expected(ctx, evse, None, self.settings.limits_horizon_s)
            self.draw.remember(ctx.station_id, ctx.config, composite)

    # ---- helpers ---------------------------------------------------------------------------------------------

    async def _put_new(
        self, ctx: StationContext, band: str, evse_id: int, profile: ChargingProfile,
        purpose: ChargingProfilePurpose, context: RequestContext, actor: str, reason: str | None, action: str,
    ) -> tuple[StationContext, ChargingProfile, tuple[Finding, ...]]:
        """Allocate, validate and store a new profile; returns the context it was decided on, the profile and the
        warnings. The id is chosen from what this node knows, which another node writing the same station at the
        same instant may have chosen too: the store reserves it (an insert, not an upsert), and an id taken
        meanwhile is chosen again, from the store as it is now (which holds the other writer's profile)."""
        for attempt in range(1, _RESERVE_ATTEMPTS + 1):
            prepared = await self._allocated(ctx, band, evse_id, profile, purpose, actor)
            findings = await self._validate(ctx, evse_id, prepared, context, actor)
            try:
                await self._put_desired(ctx, evse_id, prepared, band, actor, reason, action, before=None, new=True)
            except ProfileIdTakenError:
                log.info("profile id %s of %s was reserved by another writer (attempt %d); choosing again",
                         prepared.id, ctx.station_id, attempt)
                self._changed_station(ctx.station_id)
                ctx = await self._context(ctx.station_id)
                continue
            return ctx, prepared, findings
        raise ProfileRefused(
            f"band {band} on {ctx.station_id}: every id chosen was reserved by another writer first "
            f"({_RESERVE_ATTEMPTS} attempts); try again"
        )

    async def _allocated(
        self, ctx: StationContext, band: str, evse_id: int, profile: ChargingProfile,
        purpose: ChargingProfilePurpose, actor: str,
    ) -> ChargingProfile:
        """``profile`` with the id and stack level the band has free on this EVSE (refused, and audited, if none)."""
        try:
            slot = allocate(
                self.bands, band, evse_id, occupants=ctx.occupants(), policy=ctx.policy,
                max_stack_level=ctx.config.capabilities.max_stack_level,
            )
        except AllocationError as exc:
            await self._refused(ctx.station_id, None, actor, str(exc), ())
            raise ProfileRefused(str(exc)) from None
        return prepare_profile(profile, profile_id=slot.profile_id, stack_level=slot.stack_level, purpose=purpose)

    def _band_purpose(self, band: str, profile: ChargingProfile) -> ChargingProfilePurpose:
        try:
            purpose = self.bands[band].purpose
        except KeyError as exc:
            raise ProfileRefused(str(exc.args[0])) from None
        if profile.purpose is not purpose:
            raise ProfileRefused(f"band {band} holds {purpose.value} profiles, not {profile.purpose.value}")
        return purpose

    async def _validate(
        self, ctx: StationContext, evse_id: int, profile: ChargingProfile, context: RequestContext, actor: str
    ) -> tuple[Finding, ...]:
        """The warnings, if the profile may be sent; else the refusal is audited and raised."""
        findings = validate_profile(
            profile, ctx.version, evse_id=evse_id, station=ctx.config, installed=ctx.occupants(),
            transactions=ctx.transactions, context=context, now=self.clock(),
        )
        if has_errors(findings):
            await self._refused(ctx.station_id, profile.id, actor, "refused by validation", findings)
            raise ProfileRefused(f"profile not sent to {ctx.station_id}", findings)
        return tuple(findings)

    async def _refused(
        self, station_id: str, profile_id: int | None, actor: str, reason: str, findings: Sequence[Finding]
    ) -> None:
        target = station_id if profile_id is None else f"{station_id}/{profile_id}"
        await self.repository.append_audit(
            actor, "profile.refused", target=target, reason=reason, after=[str(f) for f in findings]
        )

    async def _put_desired(
        self, ctx: StationContext, evse_id: int, profile: ChargingProfile, owner: str, actor: str,
        reason: str | None, action: str, *, before: Any, new: bool = False,
    ) -> None:
        """Store the desired profile with its audit entry. ``new``: under an id nobody holds yet, else
        :class:`ProfileIdTakenError` and nothing stored; otherwise the profile of that id is replaced."""
        record = desired_from_profile(ctx.station_id, evse_id, profile, ctx.version, owner)
        put = self.repository.create_desired_profile_job if new else self.repository.put_desired_profile_job
        stored, _ = await self.repository.write_together(
            put(record, reason=reason or action),
            self.repository.append_audit_job(
                actor, action, target=f"{ctx.station_id}/{profile.id}", reason=reason, before=before,
                after=record.wire,
            ),
        )
        self._contexts.apply(ctx.station_id, stored)

    # ---- events ----------------------------------------------------------------------------------------------

    def _on_event(self, event: StationEvent) -> None:
        """Runs inside the station's message handling: anything that talks to the station goes into a task."""
        if not isinstance(event, MeterValuesReceived | HeartbeatReceived):
            # Recorded already (the hub tells subscribers after the store): the write path reads it again.
            self._changed_station(event.station_id)
        if isinstance(event, TransactionEnded):
            self._spawn(self._transaction_ended(event), f"{event.station_id}:tx-end")
        elif isinstance(event, TransactionStarted):
            self._spawn(self._transaction_started(event), f"{event.station_id}:tx-start")
        elif isinstance(event, MeterValuesReceived) and self.draw.watches(event.station_id, event.evse_id):
            self._spawn(self.draw.check(event), f"{event.station_id}:draw")

    async def _transaction_ended(self, event: TransactionEnded) -> None:
        """Clear the transaction's TxProfiles by id (A12: a 1.6 charger only SHOULD drop them)."""
        ctx = await self._context(event.station_id)
        ended = [
            d for d in ctx.desired
            if d.purpose == _TX.value and d.transaction_id == event.transaction_id
            and d.status != DesiredStatus.CLEARING
        ]
        for d in ended:
            await self.clear_profile(
                event.station_id, d.profile_id, actor="wattcap:transaction-end",
                reason=f"transaction {event.transaction_id} ended",
            )

    async def _transaction_started(self, event: TransactionStarted) -> None:
        """Bind the remote-start TxProfile waiting on this EVSE to the transaction, then verify it."""
        awaited = self._remote_starts.get((event.station_id, event.evse_id))
        if event.remote_start_id is not None and awaited is not None and event.remote_start_id != awaited:
            return  # another remote start's transaction
        async with self._locks[event.station_id]:
            ctx = await self._context(event.station_id)
            waiting = [
                d for d in ctx.desired
                if d.purpose == _TX.value and d.evse_id == event.evse_id and d.transaction_id is None
                and DesiredStatus(d.status).present
            ]
            for d in waiting:
                bound = replace(ctx.profiles[d.profile_id], transaction_id=event.transaction_id)
                record = desired_from_profile(
                    event.station_id, d.evse_id, bound, ctx.version, d.owner, status=DesiredStatus.INSTALLED.value
                )
                await self.repository.put_desired_profile(record, reason=f"bound to {event.transaction_id}")
                self._changed_station(event.station_id)
                await self.repository.append_audit(
                    "wattcap:remote-start", "profile.bound", target=f"{event.station_id}/{d.profile_id}",
                    reason=f"transaction {event.transaction_id} started", after=record.wire,
                )
        self._remote_starts.pop((event.station_id, event.evse_id), None)
        if waiting:
            result = ChangeResult(event.station_id, "bind", waiting[0].profile_id, event.evse_id, Verdict.APPLIED)
            self._publish(await self._after_change(event.station_id, result, event.evse_id, None))

    # ---- boot and periodic reconcile -------------------------------------------------------------------------

    async def _on_boot(self, station_id: str, version: object) -> None:
        """Read capabilities, then reconcile; runs in its own task after each accepted BootNotification."""
        self._changed_station(station_id)
        try:
            if self.capabilities is not None:
                await self.capabilities.read(station_id)
                self._changed_station(station_id)
            await self.reconcile(station_id, actor="wattcap:boot")
        except UnknownStationError:
            log.info("station %s is not registered in the store; no profile lifecycle", station_id)
        finally:
            self.boot_count[station_id] += 1
            self._notify()

    async def _reconcile_periodically(self) -> None:
        assert self.settings.reconcile_interval_s
        while True:
            await asyncio.sleep(self.settings.reconcile_interval_s)
            for station_id in list(self.registry):
                stop_if_cancelled()  # reconcile awaits the ocpp package's calls, which may swallow a cancel
                try:
                    await self.reconcile(station_id)
                except Exception:
                    log.exception("periodic reconcile of %s failed", station_id)
