"""The thin async shell of the acceptance suite: drive stations through the control plane, collect the evidence,
hand it to the judge.

Everything goes the way production goes: profiles through the :class:`~wattcap.server.profiles.ProfileService`
(bands, validation, pacing, the composite read-back), the site cap through a :class:`CapControl`, the link cut
through the station registry's quarantine; the evidence is what the control plane recorded (its results, its
operations log, the meter values in the store). The runner decides nothing: what to send comes from
:mod:`.plan`, verdicts from :mod:`.judge`.

It is safe on a live site: it refuses to start when the planned limits could take the stations under test above
``AcceptanceSettings.site_cap_a`` (:func:`wattcap.acceptance.plan.site_peak`), never touches a profile it did
not set, and restores the stations' profiles afterwards, also after a failure or Ctrl-C (:mod:`.restore`).

Callable from Python (the API and the UI will expose it)::

    report = await run_acceptance(plane, ["CP1", "CP2"], settings=AcceptanceSettings(site_cap_a=100))
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Protocol

from wattcap.acceptance.attendant import Attendant, Unattended
from wattcap.acceptance.capcontrol import CapControl, StationMaxCapControl, answered_at
from wattcap.acceptance.checks import ALL_CHECKS, AcceptanceTest, CheckVerdict
from wattcap.acceptance.evidence import (
    AcceptanceReport,
    ActionOutcome,
    CapStepRecord,
    CheckEvidence,
    CheckResult,
    Finding,
    SiteCapEvidence,
    Snapshot,
    StationSummary,
    StepRecord,
)
from wattcap.acceptance.judge import held_station_max_a, judge_check, judge_site_cap
from wattcap.acceptance.plan import (
    PLANNERS,
    STATION_ORDER,
    AcceptanceSettings,
    Action,
    ClearProfile,
    CutLink,
    ReadComposite,
    SetProfile,
    StationFacts,
    StepPlan,
    UpdateProfile,
    plan_site_cap,
    site_peak,
)
from wattcap.acceptance.restore import plan_restore
from wattcap.core.events import Measurand, MeterSample, MeterValuesReceived
from wattcap.ocpp.profile_json import profile_from_json
from wattcap.server.lifecycle_types import ProfileRefused
from wattcap.server.profile_context import load_context
from wattcap.server.profiles import ProfileService
from wattcap.server.stations import StationRegistry
from wattcap.store import DesiredProfile, Repository

log = logging.getLogger("wattcap.acceptance")
ACTOR = "acceptance"
_MEASURANDS = (Measurand.CURRENT_IMPORT.value, Measurand.POWER_ACTIVE_IMPORT.value)


class AcceptancePlane(Protocol):
    """What the suite needs of a running control plane: ``wattcap.server.runtime.ControlPlane`` has it, and so has
    :class:`wattcap.acceptance.control_plane.InProcessPlane`."""

    repository: Repository
    registry: StationRegistry
    profiles: ProfileService
    clock: Callable[[], datetime]


class AcceptanceRefused(RuntimeError):
    """The suite did not start: the planned limits could exceed the site cap (nothing was sent)."""


@dataclass(frozen=True, slots=True)
class Progress:
    """A line of the live display: ``station_id`` ("site" for the site cap), the check, what happens now."""

    station_id: str
    check: AcceptanceTest | None
    status: str
    verdict: CheckVerdict | None = None


class MeterWatch:
    """The latest meter values of each EVSE, as the control plane records them (its event hub), so the runner's
    waits look at memory instead of polling the store. The evidence itself is read from the store afterwards."""

    KEEP = 64

    def __init__(self) -> None:
        self._seen: dict[tuple[str, int], list[tuple[datetime, float]]] = {}

    def __call__(self, event: object) -> None:
        if not isinstance(event, MeterValuesReceived):
            return
        currents = [s.value for s in event.samples
                    if str(s.measurand) == Measurand.CURRENT_IMPORT and s.phase in ("L1", "L2", "L3")]
        if not currents:
            return
        at = max(s.timestamp for s in event.samples)
        rows = self._seen.setdefault((event.station_id, event.evse_id), [])
        rows.append((at, max(currents)))
        rows.sort(key=lambda r: r[0])
        del rows[:-self.KEEP]

    def since(self, station_id: str, evse_id: int, at: datetime) -> list[float]:
        """The highest phase current of each sample at or after ``at``, in time order."""
        return [v for t, v in self._seen.get((station_id, evse_id), ()) if t >= at]

    def demand(self, station_id: str, evse_id: int) -> float:
        """The most the EVSE was seen to draw (the EV's demand when nothing limited it)."""
        return max((v for _, v in self._seen.get((station_id, evse_id), ())), default=0.0)


CapControlFactory = Callable[[ProfileService, Sequence[StationFacts], Callable[[], datetime]], CapControl]


class AcceptanceRunner:
    def __init__(
        self,
        plane: AcceptancePlane,
        station_ids: Sequence[str],
        *,
        checks: Sequence[AcceptanceTest] = ALL_CHECKS,
        settings: AcceptanceSettings | None = None,
        attendant: Attendant | None = None,
        cap_control: CapControlFactory = StationMaxCapControl,
        progress: Callable[[Progress], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        poll_s: float = 1.0,
    ) -> None:
        self.plane = plane
        self.station_ids = list(dict.fromkeys(station_ids))
        self.checks = tuple(c for c in ALL_CHECKS if c in set(checks))
        self.settings = settings or AcceptanceSettings()
        self.attendant = attendant or Unattended()
        self.cap_factory = cap_control
        self.progress = progress or (lambda _: None)
        self.sleep = sleep  # station time
        self.poll_s = poll_s  # station seconds between looks at the store
        self.clock = plane.clock
        self.profiles = plane.profiles
        self.repository = plane.repository
        self.registry = plane.registry
        self._added: dict[str, set[int]] = {s: set() for s in self.station_ids}
        self._cap: CapControl | None = None
        self.meters = MeterWatch()
        self._started = self.clock()

    # ---- the run -----------------------------------------------------------------------------------------

    async def run(self) -> AcceptanceReport:
        unsubscribe = self.profiles.hub.subscribe(self.meters)
        try:
            return await self._run()
        finally:
            unsubscribe()

    async def _run(self) -> AcceptanceReport:
        started = self._started = self.clock()
        connected = await self._wait_connected()
        missing = [s for s in self.station_ids if s not in connected]
        facts = {s: await self._facts(s) for s in connected}
        for station_id, f in facts.items():
            self._say(station_id, None, "waiting for EVs charging on every EVSE")
            await self.attendant.sessions(station_id, f.evse_ids, "the acceptance checks",
                                          lambda s=station_id, e=f.evse_ids: self._charging(s, e))
        facts = {s: await self._facts(s) for s in connected}
        await self._check_safety(facts)
        before = {s: await self.profiles.list_profiles(s) for s in connected}
        results: list[CheckResult] = []
        site: CheckResult | None = None
        restored: list[str] = []
        try:
            if AcceptanceTest.SITE_CAP in self.checks and facts:
                per_station, site = await self._site_cap(facts)
                results.extend(per_station.values())
            groups = await asyncio.gather(*(self._station_checks(facts[s]) for s in connected))
            results.extend(r for group in groups for r in group)
        finally:
            restored = await self._restore(before, facts)
        for station_id in missing:
            for check in self.checks:
                reason = f"{station_id} did not connect within {self.settings.connect_timeout_s:g} s"
                results.append(CheckResult(check, station_id, CheckVerdict.INCONCLUSIVE, reason,
                                           (Finding(CheckVerdict.INCONCLUSIVE, reason),)))
        order = {c: i for i, c in enumerate(ALL_CHECKS)}
        results.sort(key=lambda r: (self.station_ids.index(r.station_id), order[r.check]))
        stations = tuple(self._summary(s, facts.get(s), results) for s in self.station_ids)
        return AcceptanceReport(started, self.clock(), self.checks, stations, tuple(results), site,
                                settings=_settings_dict(self.settings), restored=tuple(restored))

    def _say(self, station_id: str, check: AcceptanceTest | None, status: str,
             verdict: CheckVerdict | None = None) -> None:
        self.progress(Progress(station_id, check, status, verdict))

    async def _wait_connected(self) -> list[str]:
        deadline = self.clock() + timedelta(seconds=self.settings.connect_timeout_s)
        while True:
            connected = [s for s in self.station_ids if s in self.registry]
            if len(connected) == len(self.station_ids) or self.clock() >= deadline:
                return connected
            for s in self.station_ids:
                if s not in connected:
                    self._say(s, None, "waiting for the station to connect")
            await self.sleep(self.poll_s)

    async def _check_safety(self, facts: dict[str, StationFacts]) -> None:
        cap = self.settings.site_cap_a
        if cap is None:
            return
        held = {}
        for station_id in facts:
            bound = held_station_max_a(await self._snapshot(station_id))
            if bound is not None:
                held[station_id] = bound
        peaks = site_peak(list(facts.values()), self.checks, self.settings, self.clock(), held)
        total = sum(p.peak_a for p in peaks)
        if total > cap:
            detail = "; ".join(f"{p.station_id} up to {p.peak_a:g} A ({p.why})" for p in peaks)
            raise AcceptanceRefused(
                f"the planned limits could take the stations to {total:g} A per phase, above the site cap of "
                f"{cap:g} A: {detail}. Test fewer stations at once, lower --cap-levels, or install a station max "
                "first; nothing was sent"
            )

    # ---- facts, sessions, samples --------------------------------------------------------------------------

    async def _facts(self, station_id: str) -> StationFacts:
        ctx = await load_context(self.registry, self.repository, station_id)
        record = await self.repository.get_station(station_id)
        evses = await self.repository.list_evses(station_id)
        return StationFacts(
            station_id,
            ctx.config,
            {t.evse_id: t for t in ctx.transactions},
            dialect=(record.dialect if record and record.dialect else ctx.config.dialect.name),
            vendor=record.vendor if record else None,
            model=record.model if record else None,
            firmware=record.firmware_version if record else None,
            evse_max_a={e.evse_id: e.max_current_a for e in evses if e.max_current_a},
        )

    async def _snapshot(self, station_id: str) -> Snapshot:
        ctx = await load_context(self.registry, self.repository, station_id)
        return Snapshot(self.clock(), ctx.config, ctx.expected_installed(), ctx.transactions)

    async def _charging(self, station_id: str, evse_ids: Sequence[int]) -> bool:
        active = {t.evse_id for t in await self.repository.active_transactions(station_id)}
        return all(e in active for e in evse_ids)

    async def _samples(self, station_id: str, evse_ids: Sequence[int], start: datetime,
                       end: datetime) -> dict[int, tuple[MeterSample, ...]]:
        out = {}
        for evse_id in evse_ids:
            stored = await self.repository.meter_samples(station_id, start, end + timedelta(seconds=1),
                                                         evse_id=evse_id, measurands=_MEASURANDS)
            out[evse_id] = tuple(
                MeterSample(s.measured_at, s.measurand, s.value, s.unit, s.phase, s.context) for s in stored
            )
        return out

    async def _wait_samples(self, station_id: str, evse_ids: Sequence[int], target: datetime,
                            timeout_s: float) -> bool:
        """Until every EVSE has a meter value at or after ``target`` (they may arrive late: a queue)."""
        deadline = max(target, self.clock()) + timedelta(seconds=timeout_s)
        while any(not self.meters.since(station_id, e, target) for e in evse_ids):
            if self.clock() >= deadline:
                return False
            await self.sleep(self.poll_s)
        return True

    async def _settle(self, station_id: str, evse_ids: Sequence[int], since: datetime) -> None:
        """Until each EVSE draws what its EV wants again (the most it was seen to draw), or settle_max_s: the next
        check's first limit then drops from there, not from wherever a slow charger's ramp (or its late raise) had
        got to, so a slow charger fails every check the same way, every time."""
        s = self.settings
        deadline = since + timedelta(seconds=s.settle_max_s)

        def steady(evse_id: int) -> bool:
            values = self.meters.since(station_id, evse_id, since)
            return bool(values) and values[-1] >= self.meters.demand(station_id, evse_id) - s.settle_tolerance_a

        while self.clock() < deadline and not all(steady(e) for e in evse_ids):
            await self.sleep(self.poll_s)

    # ---- 1. the site cap -------------------------------------------------------------------------------------

    async def _site_cap(self, facts: dict[str, StationFacts]) -> tuple[dict[str, CheckResult], CheckResult]:
        check = AcceptanceTest.SITE_CAP
        charging = {s: [e for e in f.evse_ids if e in f.transactions] for s, f in facts.items()}
        baseline = self.clock()
        for station_id in facts:
            self._say(station_id, check, "baseline: waiting for a steady draw")
        await asyncio.gather(*(self._settle(s, e, baseline) for s, e in charging.items()))
        self._cap = self.cap_factory(self.profiles, list(facts.values()), self.clock)
        records: list[CapStepRecord] = []
        try:
            for step in plan_site_cap(sum(len(f.evse_ids) for f in facts.values()), self.settings):
                for station_id in facts:
                    self._say(station_id, check, step.name)
                started = self.clock()
                applied = await self._cap.set_cap(step.cap_a)
                settled = self.clock()
                target = started + timedelta(seconds=self.settings.reaction_s + (settled - started).total_seconds() + 1)
                await asyncio.gather(*(self._wait_samples(s, e, target, self.settings.observe_timeout_s)
                                       for s, e in charging.items()))
                records.append(CapStepRecord(step, started, settled, applied.shares, dict(applied.refused),
                                             dict(applied.results), self.clock(), dict(applied.answered)))
        finally:
            await self._cap.restore()
        ended = self.clock()
        samples = {s: await self._samples(s, f.evse_ids, baseline, ended) for s, f in facts.items()}
        evidence = SiteCapEvidence(facts, baseline, tuple(records), samples, ended)
        per_station, site = judge_site_cap(evidence, self.settings)
        for station_id, result in per_station.items():
            self._say(station_id, check, result.verdict.value, result.verdict)
        return per_station, site

    # ---- 2-6. the per-station checks -------------------------------------------------------------------------

    async def _station_checks(self, facts: StationFacts) -> list[CheckResult]:
        results = []
        for check in STATION_ORDER:
            if check not in self.checks:
                continue
            station_id = facts.station_id
            if check is not AcceptanceTest.VENDOR_VARIANCE:
                evse_ids = facts.evse_ids
                await self.attendant.sessions(station_id, evse_ids, f"check {check.value}",
                                              lambda s=station_id, e=evse_ids: self._charging(s, e))
            facts = await self._facts(station_id)
            try:
                evidence = await self._run_check(check, facts)
                result = judge_check(evidence, self.settings)
            except (asyncio.CancelledError, KeyboardInterrupt):
                raise
            except Exception as exc:  # one check's crash must not end the run (or skip the restore)
                log.exception("acceptance check %s on %s failed", check.value, station_id)
                reason = f"the check could not run: {type(exc).__name__}: {exc}"
                result = CheckResult(check, station_id, CheckVerdict.INCONCLUSIVE, reason,
                                     (Finding(CheckVerdict.INCONCLUSIVE, reason),))
            self._say(station_id, check, result.verdict.value, result.verdict)
            results.append(result)
        return results

    async def _run_check(self, check: AcceptanceTest, facts: StationFacts) -> CheckEvidence:
        keys: dict[str, int] = {}
        records: list[StepRecord] = []
        started = self.clock()
        try:
            for plan in PLANNERS[check](facts, self.settings):
                records.append(await self._run_step(check, facts, plan, keys))
        finally:
            for key in list(keys):
                await self._act(check, facts, ClearProfile(key), keys)
        ended = self.clock()
        samples = await self._samples(facts.station_id, facts.evse_ids, started, ended)
        return CheckEvidence(check, facts, tuple(records), samples, started, ended)

    async def _run_step(self, check: AcceptanceTest, facts: StationFacts, plan: StepPlan,
                        keys: dict[str, int]) -> StepRecord:
        started = self.clock()
        step = plan(started)
        station_id = facts.station_id
        self._say(station_id, check, step.name)
        outcomes: list[ActionOutcome] = []
        settled = started
        offline = None
        for action in step.actions:
            outcome = await self._act(check, facts, action, keys, step.name)
            outcomes.append(outcome)
            if isinstance(action, SetProfile | UpdateProfile | ClearProfile) and outcome.result is not None:
                settled = max(settled, outcome.answered or outcome.finished)
            if isinstance(action, CutLink):
                offline = (outcome.started, outcome.finished)
        snapshot = await self._snapshot(station_id)
        charging = [e for e in facts.evse_ids if e in facts.transactions]
        notes: list[str] = []
        if step.settle:
            await self._settle(station_id, charging, started)
        elif step.measured and step.observe_s > 0 and charging:
            target = started + timedelta(seconds=step.observe_s + (settled - started).total_seconds())
            timeout = self.settings.observe_timeout_s + (self.settings.replay_timeout_s if offline else 0.0)
            if not await self._wait_samples(station_id, charging, target, timeout):
                notes.append(f"no meter values came for {timeout:g} s after the step's observation time")
        return StepRecord(step, started, settled, tuple(outcomes), snapshot, self.clock(), offline, tuple(notes))

    async def _act(self, check: AcceptanceTest, facts: StationFacts, action: Action, keys: dict[str, int],
                   step: str = "cleanup") -> ActionOutcome:
        """One action, never cut in half: on Ctrl-C the lifecycle call in flight finishes (so its profile id is
        known, and no store transaction is left holding a lock) before the cancellation goes on to the restore."""
        task = asyncio.ensure_future(self._act_now(check, facts, action, keys, step))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 60)
            raise

    async def _act_now(self, check: AcceptanceTest, facts: StationFacts, action: Action, keys: dict[str, int],
                       step: str) -> ActionOutcome:
        station_id = facts.station_id
        started = self.clock()
        reason = f"acceptance {check.slug}: {step}"
        if isinstance(action, CutLink):
            return await self._cut(station_id, action, started)
        if isinstance(action, ReadComposite):
            read = await self.profiles.composite(station_id, action.evse_id, duration=action.duration_s,
                                                 unit=action.unit or facts.unit)
            return ActionOutcome(action, started, self.clock(), read=read)
        if isinstance(action, ClearProfile):
            profile_id = keys.pop(action.key, None)
            if profile_id is None:
                return ActionOutcome(action, started, self.clock(), note="nothing to clear")
            result = await self.profiles.clear_profile(station_id, profile_id, actor=ACTOR, reason=reason,
                                                       verify=action.verify)
            finished = self.clock()
            return ActionOutcome(action, started, finished, result=result, profile_id=profile_id,
                                 answered=await answered_at(self.repository, station_id, profile_id))
        try:
            if isinstance(action, UpdateProfile) and action.key in keys:
                result = await self.profiles.update_profile(station_id, keys[action.key], action.profile,
                                                            actor=ACTOR, reason=reason, verify=action.verify)
            else:
                result = await self.profiles.set_profile(station_id, action.evse_id, action.profile, band=action.band,
                                                         actor=ACTOR, reason=reason, verify=action.verify)
        except ProfileRefused as refused:
            return ActionOutcome(action, started, self.clock(), refused=str(refused))
        finished = self.clock()
        if result.profile_id is not None:
            keys[action.key] = result.profile_id
            self._added[station_id].add(result.profile_id)
        return ActionOutcome(action, started, finished, result=result, profile_id=result.profile_id,
                             answered=await answered_at(self.repository, station_id, result.profile_id))

    async def _cut(self, station_id: str, action: CutLink, started: datetime) -> ActionOutcome:
        """The control plane's quarantine: close the link, refuse reconnects until the expiry, then wait for the
        charger to come back (on its own back-off)."""
        until = started + timedelta(seconds=action.seconds)
        self.registry.quarantine(station_id, until, "acceptance: fallback check")
        self._say(station_id, AcceptanceTest.FALLBACK, f"link cut for {action.seconds:g} s")
        try:
            await self.registry.cut(station_id, "acceptance: fallback check")
            while station_id in self.registry and self.clock() < until:
                await self.sleep(self.poll_s)
            while self.clock() < until:
                await self.sleep(min(self.poll_s, max(0.0, (until - self.clock()).total_seconds())))
        finally:
            self.registry.release(station_id)
        deadline = self.clock() + timedelta(seconds=self.settings.replay_timeout_s)
        while station_id not in self.registry and self.clock() < deadline:
            await self.sleep(self.poll_s)
        back = station_id in self.registry
        note = None if back else f"did not reconnect within {self.settings.replay_timeout_s:g} s"
        return ActionOutcome(action, started, self.clock(), note=note)

    # ---- restore -----------------------------------------------------------------------------------------

    async def _restore(self, before: dict[str, list[DesiredProfile]], facts: dict[str, StationFacts]) -> list[str]:
        """Back to the snapshot: the suite's profiles cleared, anything wanted before and gone set again."""
        done: list[str] = []
        if self._cap is not None:
            with contextlib.suppress(Exception):
                await self._cap.restore()
        for station_id, snapshot in before.items():
            self.registry.release(station_id)
            try:
                self._added[station_id].update(await self._set_by_suite(station_id))
                after = await self.profiles.list_profiles(station_id)
                running = [t.transaction_id for t in await self.repository.active_transactions(station_id)]
                plan = plan_restore(snapshot, after, added=self._added.get(station_id, ()),
                                    running_transactions=running)
                for profile_id in plan.clear:
                    await self.profiles.clear_profile(station_id, profile_id, actor=ACTOR,
                                                      reason="acceptance: restore")
                    done.append(f"{station_id}: cleared profile {profile_id} left by the suite")
                for desired in plan.reset:
                    done.append(await self._reset(station_id, desired))
                done.extend(f"{station_id}: {why}" for why in plan.skipped)
                done.extend(f"{station_id}: profile {pid} appeared during the run and is not the suite's: left "
                            "alone" for pid in plan.foreign)
            except Exception as exc:  # report, and go on with the other stations
                log.exception("restoring %s failed", station_id)
                done.append(f"{station_id}: restore failed: {type(exc).__name__}: {exc}")
        return done

    async def _set_by_suite(self, station_id: str) -> set[int]:
        """The profiles the audit log says the suite set on ``station_id`` during this run (a safety net for a
        change interrupted before its id reached the runner)."""
        entries = await self.repository.audit_entries(actor=ACTOR, since=self._started, targets_under=[station_id],
                                                      limit=None)
        ids = set()
        for entry in entries:
            if entry.action in ("profile.set", "profile.update") and entry.target:
                with contextlib.suppress(ValueError):
                    ids.add(int(entry.target.rsplit("/", 1)[1]))
        return ids

    async def _reset(self, station_id: str, desired: DesiredProfile) -> str:
        profile = profile_from_json(desired.wire, desired.ocpp_version)
        try:
            current = {d.profile_id for d in await self.profiles.list_profiles(station_id)}
            if desired.profile_id in current:
                await self.profiles.update_profile(station_id, desired.profile_id, profile, actor=ACTOR,
                                                   reason="acceptance: restore")
                return f"{station_id}: profile {desired.profile_id} set back to its content before the run"
            result = await self.profiles.set_profile(station_id, desired.evse_id, profile, band=desired.owner,
                                                     actor=ACTOR, reason="acceptance: restore")
            return f"{station_id}: profile {desired.profile_id} set again (now {result.profile_id})"
        except (ProfileRefused, KeyError) as exc:
            return f"{station_id}: profile {desired.profile_id} could not be restored: {exc}"

    # ---- summary ----------------------------------------------------------------------------------------------

    def _summary(self, station_id: str, facts: StationFacts | None, results: Sequence[CheckResult]) -> StationSummary:
        mine = [r for r in results if r.station_id == station_id]
        variance = next((r for r in mine if r.check is AcceptanceTest.VENDOR_VARIANCE), None)
        quirks = list(variance.quirks) if variance else []
        for r in mine:
            for f in r.findings:
                if f.verdict is CheckVerdict.UNSUPPORTED and f.text not in quirks:
                    quirks.append(_short(f.text))
        return StationSummary(
            station_id,
            facts.version.value if facts else "?",
            facts.vendor if facts else None,
            facts.model if facts else None,
            facts.firmware if facts else None,
            facts.dialect if facts else "?",
            variance.observed_dialect if variance else None,
            tuple(dict.fromkeys(quirks)),
            {r.check: r.verdict for r in mine},
        )


def _short(text: str) -> str:
    return text if len(text) <= 140 else text[:137] + "..."


def _settings_dict(settings: AcceptanceSettings) -> dict[str, object]:
    return asdict(settings)


async def run_acceptance(
    plane: AcceptancePlane, station_ids: Sequence[str], **options: object
) -> AcceptanceReport:
    """Run the suite on ``station_ids`` through ``plane`` (see :class:`AcceptanceRunner` for the options)."""
    return await AcceptanceRunner(plane, station_ids, **options).run()  # type: ignore[arg-type]


__all__ = ["AcceptancePlane", "AcceptanceRefused", "AcceptanceRunner", "MeterWatch", "Progress", "run_acceptance"]
