"""Composite read-back: ask the charger for its composite, compute the one the engine expects, compare, record.

The request always names the unit (A10); the answer is normalised by the OCPP adapter (scheduleStart or
startSchedule, A9) and by :func:`compare_composites` (the other unit, phases, a time base a few seconds off, -1
or a default at or above the station's local limit meaning "no limit", A24); an Accepted answer without a
schedule means nothing limits the EVSE. The expected composite comes from the engine, for the station's dialect,
over what the charger accepted (and what other parties are known to hold there).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from wattcap.core.composite import composite_schedule
from wattcap.core.dialects import StationAggregation
from wattcap.core.model import ChargingRateUnit, CompositeSchedule
from wattcap.core.station import StationConfig
from wattcap.core.verification import ReportedComposite, Tolerance, Verdict, compare_composites
from wattcap.ocpp import lifecycle_messages as messages
from wattcap.ocpp.composite_json import CompositeAnswerError, composite_to_json, reported_composite_from_json
from wattcap.server.lifecycle_types import CompositeCheck, LifecycleSettings
from wattcap.server.profile_context import StationContext
from wattcap.server.profile_exchange import Exchange, exchange_unsettled
from wattcap.server.stations import StationRegistry
from wattcap.store import Repository

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


class CompositeVerifier:
    def __init__(
        self,
        registry: StationRegistry,
        repository: Repository,
        clock: Callable[[], datetime],
        settings: LifecycleSettings,
    ) -> None:
        self.registry = registry
        self.repository = repository
        self.clock = clock
        self.settings = settings

    @staticmethod
    def unit(ctx: StationContext, preferred: ChargingRateUnit | None) -> ChargingRateUnit:
        """The unit to ask composites in: the changed profile's if the station takes it, else its first (A10)."""
        units = ctx.config.capabilities.rate_units or (ChargingRateUnit.A,)
        return preferred if preferred in units else units[0]

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
        """One GetCompositeSchedule, compared, and recorded as a verification result and an audit entry."""
        duration = duration or self.settings.verify_duration_s
        expected = self.expected(ctx, evse_id, unit, duration)
        call = messages.composite_call(ctx.version, evse_id, duration, unit)
        answer, finish = await exchange_unsettled(
            self.registry, self.repository, self.clock, ctx, call, evse_id=evse_id
        )
        check = self._judge(ctx, expected, answer, unit)
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
            expected, reported, voltage=ctx.config.supply_voltage_v,
            default_phases=ctx.config.default_number_phases, tolerance=self._tolerance(ctx, unit, expected.evse_id),
        )
        why = "; ".join(d.describe(expected.charging_rate_unit) for d in comparison.differences) or None
        return CompositeCheck(expected.evse_id, comparison.verdict, expected, answer.payload,
                              comparison.differences, why)
