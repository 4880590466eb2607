"""Composite read-back: ask the charger for its composite, compute the one the engine expects, compare, record.

The request always names the unit (A10); the answer is normalised by the OCPP adapter (scheduleStart or
startSchedule, A9) and by :func:`compare_composites` (the other unit, phases, a time base a few seconds off, -1
or a default at or above the station's local limit meaning "no limit", A24); an Accepted answer without a
schedule means nothing limits the EVSE. The expected composite comes from the engine, for the station's dialect,
over what the charger accepted (and what other parties are known to hold there).

What the charger accepted is known only once each write's answer is in the store: while a write to the station is
on its way (a fallback sent together with a session limit, say), the charger may hold it already and the store not
say so yet, and a composite read then is compared with an expectation that lacks it. A read-back therefore waits
until no write to the station is on its way (:class:`WritesOnTheWay`), and asks again if one went out while it asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from wattcap.core.composite import composite_schedule
from wattcap.core.dialects import StationAggregation
from wattcap.core.model import ChargingRateUnit, CompositeSchedule
from wattcap.core.station import CurrentType, StationConfig
from wattcap.core.verification import ReportedComposite, Tolerance, Verdict, compare_composites
from wattcap.ocpp import lifecycle_messages as messages
from wattcap.ocpp.composite_json import CompositeAnswerError, composite_to_json, reported_composite_from_json
from wattcap.server.lifecycle_types import CompositeCheck, LifecycleSettings
from wattcap.server.profile_context import StationContext
from wattcap.server.profile_exchange import Exchange, exchange_unsettled
from wattcap.server.stations import StationRegistry
from wattcap.store import Repository
from wattcap.store.batch import Job

ACTOR = "wattcap:verification"


def unconstrained_at(config: StationConfig, evse_id: int, unit: ChargingRateUnit) -> float:
    """A reported limit at or above this means "no OCPP limit" (A24): an EVSE's local limit; for the whole station
    (evse 0) of a dialect that sums its EVSEs (A13), the sum of their local limits. With the EVSE's limit as the
    threshold, a station composite of 10 A on one EVSE plus 48 A of local limit on the other (58 A, set by a
    profile) would be read as "no limit" and every such read-back would be a false mismatch."""
    default = config.default_limit(unit)
    if evse_id == 0 and config.dialect.station_aggregation is StationAggregation.SUM_EVSES:
        return default * max(1, len(config.evse_ids))
    return default


def conversion_voltage(config: StationConfig) -> float | None:
    """The voltage A and W of the station's limits convert with: the nominal AC voltage, or None on DC, where an A
    limit is a DC current and its W depend on the DC voltage, which no station fact wattcap reads tells it (the
    supply voltage it knows is the AC grid's). None: compare A with A and W with W only, and judge nothing else."""
    return None if config.current_type is CurrentType.DC else config.supply_voltage_v


class WritesOnTheWay:
    """The profile writes (set, clear, remote start) of this process on their way to each station: from just
    before the request goes out until its outcome is in the store.

    A composite read-back is only as good as the context it is compared with: the context must be read while no
    write is on its way, and no write may go out before the charger answered. :meth:`seen` says whether a context
    read now can be trusted (and under which count of writes); :meth:`holding` keeps new writes back for one
    exchange, for a read-back that found a write going out while it asked.
    """

    def __init__(self) -> None:
        self._active: dict[str, int] = {}
        self._begun: dict[str, int] = {}  # writes begun per station, ever: a read-back compares it before and after
        self._held: set[str] = set()
        self._changed: dict[str, asyncio.Event] = {}

    def seen(self, station_id: str) -> int | None:
        """The count of writes begun so far, if none is on its way now (None: a context read now may lack one)."""
        return None if self._active.get(station_id) else self._begun.get(station_id, 0)

    async def quiet(self, station_id: str) -> int:
        """Wait until no write to the station is on its way; the count of writes begun then."""
        await self._wait(station_id, lambda: not self._active.get(station_id))
        return self._begun.get(station_id, 0)

    @asynccontextmanager
    async def sending(self, station_id: str) -> AsyncIterator[None]:
        """One write, from before its request goes out until its outcome is stored."""
        await self._wait(station_id, lambda: station_id not in self._held)
        self._active[station_id] = self._active.get(station_id, 0) + 1
        self._begun[station_id] = self._begun.get(station_id, 0) + 1
        try:
            yield
        finally:
            left = self._active.pop(station_id) - 1
            if left:
                self._active[station_id] = left
            self._notify(station_id)

    @asynccontextmanager
    async def holding(self, station_id: str) -> AsyncIterator[int]:
        """No new write goes out until this ends; entered once the writes on their way are stored."""
        await self._wait(station_id, lambda: station_id not in self._held)
        self._held.add(station_id)
        try:
            yield await self.quiet(station_id)
        finally:
            self._held.discard(station_id)
            self._notify(station_id)

    async def _wait(self, station_id: str, ready: Callable[[], bool]) -> None:
        while not ready():
            await self._changed.setdefault(station_id, asyncio.Event()).wait()

    def _notify(self, station_id: str) -> None:
        changed = self._changed.pop(station_id, None)
        if changed is not None:
            changed.set()


@dataclass(frozen=True, slots=True)
class _Asked:
    """One composite request and what it is compared with: the context it was computed from, the expectation."""

    ctx: StationContext
    expected: CompositeSchedule
    answer: Exchange
    finish: Job


class CompositeVerifier:
    def __init__(
        self,
        registry: StationRegistry,
        repository: Repository,
        clock: Callable[[], datetime],
        settings: LifecycleSettings,
        *,
        writes: WritesOnTheWay | None = None,
        load: Callable[[str], Awaitable[StationContext]] | None = None,
    ) -> None:
        self.registry = registry
        self.repository = repository
        self.clock = clock
        self.settings = settings
        self.writes = writes or WritesOnTheWay()
        # How a context is read again when the one given may lack a write (stamped with WritesOnTheWay.seen).
        self.load = load

    @staticmethod
    def unit(ctx: StationContext, preferred: ChargingRateUnit | None) -> ChargingRateUnit:
        """The unit to ask composites in: the changed profile's if the station takes it, else its first (A10); on DC
        W where it takes W, the unit wattcap limits DC in (an answer in the other unit could not be compared)."""
        units = ctx.config.capabilities.rate_units or (ChargingRateUnit.A,)
        if preferred in units:
            return preferred
        if ctx.config.current_type is CurrentType.DC and ChargingRateUnit.W in units:
            return ChargingRateUnit.W
        return units[0]

    def expected(
        self, ctx: StationContext, evse_id: int, unit: ChargingRateUnit | None, duration: int
    ) -> CompositeSchedule:
        """The engine's composite for ``evse_id`` from now, over what the charger should hold."""
        return composite_schedule(
            ctx.config, ctx.expected_installed(), evse_id=evse_id, start=self.clock(), duration=duration, unit=unit,
            transactions=ctx.transactions,
        )

    async def check(
        self, ctx: StationContext, evse_id: int, unit: ChargingRateUnit, duration: int | None = None
    ) -> CompositeCheck:
        """One GetCompositeSchedule, compared, and recorded as a verification result and an audit entry.

        Compared with a context read while no write to the station was on its way; an answer given while one went
        out may or may not include it, so it is only logged, and the charger asked again with new writes held back
        for that one exchange."""
        duration = duration or self.settings.verify_duration_s
        asked = await self._ask(ctx, evse_id, unit, duration, held=False)
        if asked is None:
            async with self.writes.holding(ctx.station_id):
                asked = await self._ask(ctx, evse_id, unit, duration, held=True)
        assert asked is not None
        ctx, expected, finish = asked.ctx, asked.expected, asked.finish
        check = self._judge(ctx, expected, asked.answer, unit)
        # The answer, the verification and its audit entry in one transaction.
        await self.repository.write_together(
            finish,
            self.repository.record_verification_job(
                ctx.station_id, evse_id, check.verdict.value, expected=composite_to_json(expected),
                reported=check.reported, differences=check.differences, detail=check.reason, checked_at=self.clock(),
            ),
            self.repository.append_audit_job(
                ACTOR, f"profile.verified.{check.verdict.value}", target=f"{ctx.station_id}/{evse_id}",
                reason=check.reason, after={"differences": check.differences},
            ),
        )
        return check

    async def _ask(
        self, ctx: StationContext, evse_id: int, unit: ChargingRateUnit, duration: int, *, held: bool
    ) -> _Asked | None:
        """Ask for the composite once no write is on its way; None if one went out before the answer came."""
        station_id = ctx.station_id
        seen = await self.writes.quiet(station_id)
        if self.load is not None and ctx.writes_seen != seen:
            ctx = await self.load(station_id)
        expected = self.expected(ctx, evse_id, unit, duration)
        call = messages.composite_call(ctx.version, evse_id, duration, unit)
        answer, finish = await exchange_unsettled(
            self.registry, self.repository, self.clock, ctx, call, evse_id=evse_id
        )
        now_seen = self.writes.seen(station_id)
        if held or self.load is None or (now_seen is not None and now_seen == ctx.writes_seen):
            return _Asked(ctx, expected, answer, finish)
        await self.repository.write_together(finish)
        return None

    def _tolerance(self, ctx: StationContext, unit: ChargingRateUnit, evse_id: int) -> Tolerance:
        s = self.settings
        return Tolerance(
            tolerance_abs=s.verify_abs_a if unit is ChargingRateUnit.A else s.verify_abs_w,
            tolerance_rel=s.verify_rel,
            start_tolerance_s=s.verify_start_tolerance_s,
            # Chargers report -1 or their own local limit where nothing limits them (A24): a limit at or above
            # the local limit (of the EVSE, or of the whole station) is "no OCPP limit".
            unconstrained_at=unconstrained_at(ctx.config, evse_id, unit),
        )

    def _judge(
        self, ctx: StationContext, expected: CompositeSchedule, answer: Exchange, unit: ChargingRateUnit
    ) -> CompositeCheck:
        verdict, why = answer.judged()
        if verdict is not None:
            return CompositeCheck(expected.evse_id, verdict, expected, answer.payload, reason=why)
        assert answer.payload is not None
        try:
            reported = reported_composite_from_json(answer.payload, ctx.version)
        except CompositeAnswerError as exc:
            return CompositeCheck(expected.evse_id, Verdict.MISMATCH, expected, answer.payload, reason=str(exc))
        if reported is None:  # Accepted without a schedule: nothing limits the EVSE (A24)
            reported = ReportedComposite(expected.schedule_start, expected.duration, unit, ())
        comparison = compare_composites(
            expected, reported, voltage=conversion_voltage(ctx.config),
            default_phases=ctx.config.default_number_phases, tolerance=self._tolerance(ctx, unit, expected.evse_id),
        )
        notes = [d.describe(expected.charging_rate_unit) for d in comparison.differences]
        notes.append(comparison.describe_unjudged() or "")
        why = "; ".join(n for n in notes if n) or None
        return CompositeCheck(expected.evse_id, comparison.verdict, expected, answer.payload,
                              comparison.differences, why)
