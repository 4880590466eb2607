"""The composite schedule of an EVSE or a whole station: what the charger will do, period by period.

Order of combination (1.6 §3.13.1/3.13.3, K02 remark, K08):

1. per purpose, the leading schedule by stack level (:mod:`.stacking`), over the EVSE's own profiles pooled
   with the station-wide (evse 0) ones;
2. TxProfile over TxDefaultProfile (:func:`.combine.first_with_limit`), only while a transaction runs or is
   simulated (GetCompositeSchedule computes "as if", K08.FR.06);
3. the minimum with ChargingStationExternalConstraints;
4. for the station (evse 0) the sum over EVSEs, or only the station caps, as the dialect says (A13);
5. the minimum with the ChargingStationMaxProfile;
6. conversion to the requested unit, the local limit where nothing limits, compaction (:mod:`.convert`).

Every place where chargers disagree is a field of the station's :class:`~wattcap.core.dialects.Dialect`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from wattcap.core.composite.combine import first_with_limit, lowest, summed
from wattcap.core.composite.convert import to_periods
from wattcap.core.composite.expand import Entry, expand
from wattcap.core.composite.stacking import leading_schedule
from wattcap.core.composite.steps import Step
from wattcap.core.dialects import NeighbourMerge, StationAggregation, TxMasking, UnitChoice
from wattcap.core.holdings_policy import TxDefaultShadowing, hidden_by_evse_tx_default
from wattcap.core.model import (
    ChargingProfilePurpose,
    ChargingRateUnit,
    CompositeLayer,
    CompositeSchedule,
    InstalledProfile,
    LayerPeriod,
    Transaction,
)
from wattcap.core.station import CurrentType, StationConfig
from wattcap.core.timeutil import floor_epoch, from_epoch

_MAX = ChargingProfilePurpose.CHARGING_STATION_MAX
_TX = ChargingProfilePurpose.TX
_TX_DEFAULT = ChargingProfilePurpose.TX_DEFAULT
_EXTERNAL = ChargingProfilePurpose.CHARGING_STATION_EXTERNAL_CONSTRAINTS


class _Calculation:
    """One composite request: the window, the station and the profiles, with per-request caches."""

    def __init__(
        self,
        station: StationConfig,
        installed: Sequence[InstalledProfile],
        *,
        now: int,
        end: int,
        transactions: Iterable[Transaction],
        simulate_transaction: bool,
        offline: bool,
        with_layers: bool,
    ) -> None:
        self.station = station
        self.dialect = station.dialect
        self.now = now
        self.end = end
        ignored = set(station.ignored_purposes_offline) if offline else ()
        # Grouped once per request: every EVSE of a station-wide sum asks for its own and evse 0's profiles.
        self.held: dict[tuple[int, ChargingProfilePurpose], list[InstalledProfile]] = {}
        for item in installed:
            purpose = item.profile.purpose
            if purpose not in ignored:
                group = self.held.get((item.evse_id, purpose))
                if group is None:
                    self.held[item.evse_id, purpose] = [item]
                else:
                    group.append(item)
        self.transactions = {t.evse_id: t for t in transactions}
        self.simulate = simulate_transaction and self.dialect.simulates_transaction
        self.missing_phases = self.dialect.conform_missing_phases_ac if station.current_type is CurrentType.AC else None
        self.layers: list[CompositeLayer] | None = [] if with_layers else None
        # A charger that never merges neighbours reports a period at every change of any layer.
        self.dedupe = self.dialect.neighbour_merge is not NeighbourMerge.NEVER
        # Leading schedules by (session start, the profiles pooled), kept only while summing EVSEs: EVSEs with
        # no profiles of their own pool the same station-wide ones, which are then stacked once, not per EVSE.
        self.stacked: dict[tuple, list[Step]] | None = None

    # -- entries -------------------------------------------------------------------------------------------

    def _held(self, purpose: ChargingProfilePurpose, *evse_ids: int) -> list[InstalledProfile]:
        """The profiles of ``purpose`` installed on ``evse_ids``, in that order (then in installation order)."""
        out: list[InstalledProfile] = []
        for evse_id in evse_ids:
            out += self.held.get((evse_id, purpose), ())
        return out

    def _entries(self, profiles: Iterable[InstalledProfile], session_start: int | None) -> list[Entry]:
        out: list[Entry] = []
        for item in profiles:
            out += expand(
                item,
                now=self.now,
                window_end=self.end,
                session_start=session_start,
                missing_phases=self.missing_phases,
            )
        return out

    def _leading(
        self, profiles: list[InstalledProfile], session_start: int | None, purpose, evse_id: int
    ) -> list[Step]:
        if not profiles:
            return [Step(self.now)]
        if self.stacked is None:
            steps = leading_schedule(
                self._entries(profiles, session_start), now=self.now, end=self.end, dedupe=self.dedupe
            )
        else:
            key = (session_start, *map(id, profiles))  # self.held keeps them alive, so no id is reused
            steps = self.stacked.get(key)
            if steps is None:
                steps = leading_schedule(
                    self._entries(profiles, session_start), now=self.now, end=self.end, dedupe=self.dedupe
                )
                self.stacked[key] = steps
        if self.layers is not None:
            self.layers.append(_layer(purpose, evse_id, steps, self.now))
        return steps

    # -- per EVSE ------------------------------------------------------------------------------------------

    def evse(self, evse_id: int) -> list[Step]:
        """Steps 1–3 for one EVSE (no station max yet)."""
        transaction = self.transactions.get(evse_id)
        session_start = floor_epoch(transaction.start) if transaction and transaction.start else None
        if transaction is not None or self.simulate:
            tx_profiles = [p for p in self._held(_TX, 0, evse_id) if self._tx_applies(p, transaction)]
            tx = self._leading(tx_profiles, session_start, _TX, evse_id)
            tx_default = self._tx_default(evse_id, session_start)
            if self.dialect.tx_masking is TxMasking.WHOLE_TRANSACTION and tx_profiles:
                charging = tx  # the TxProfile overrules the TxDefault for the whole transaction (A3, OCTT TC_066)
            else:
                charging = first_with_limit(tx, tx_default, dedupe=self.dedupe)
        else:
            charging = [Step(self.now)]
        external = self._held(_EXTERNAL, 0, evse_id)
        if not external:
            return charging
        return lowest([self._leading(external, session_start, _EXTERNAL, evse_id), charging], dedupe=self.dedupe)

    def _tx_default(self, evse_id: int, session_start: int | None) -> list[Step]:
        """The TxDefault layer of an EVSE: its own TxDefaultProfiles and the station-wide ones (R16-06, A4)."""
        own = self._held(_TX_DEFAULT, evse_id)
        station_wide = self._held(_TX_DEFAULT, 0)
        shadowing = self.dialect.tx_default_shadowing
        if shadowing is TxDefaultShadowing.WHOLE_PURPOSE and own:
            # Instant by instant: where the EVSE's own TxDefault has a period it hides every station-wide one.
            return first_with_limit(
                self._leading(own, session_start, _TX_DEFAULT, evse_id),
                self._leading(station_wide, session_start, _TX_DEFAULT, 0),
                dedupe=self.dedupe,
            )
        if shadowing is TxDefaultShadowing.SAME_STACK_LEVEL and own:
            levels = frozenset(p.profile.stack_level for p in own)
            station_wide = [p for p in station_wide if not hidden_by_evse_tx_default(p.profile, levels, shadowing)]
        return self._leading(station_wide + own, session_start, _TX_DEFAULT, evse_id)

    def _tx_applies(self, item: InstalledProfile, transaction: Transaction | None) -> bool:
        """A TxProfile binds to its transaction (R16-04, K01.FR.09/33)."""
        wanted = item.profile.transaction_id
        if wanted is None:
            return self.dialect.tx_profile_without_transaction_id_applies
        return transaction is not None and transaction.transaction_id == wanted

    # -- station -------------------------------------------------------------------------------------------

    def station_max(self) -> list[Step]:
        return self._leading(self._held(_MAX, 0), None, _MAX, 0)

    def total(self, evse_id: int) -> list[Step]:
        if evse_id != 0:
            return lowest([self.evse(evse_id), self.station_max()], dedupe=self.dedupe)
        if self.dialect.station_aggregation is StationAggregation.STATION_CAPS_ONLY or not self.station.evse_ids:
            return self.station_max()
        self.stacked = {}
        per_evse = [self.evse(e) for e in self.station.evse_ids]
        total = summed(
            per_evse, default_current=self.station.default_limit_a, default_power=self.station.default_limit_w
        )
        return lowest([total, self.station_max()], dedupe=self.dedupe)


def composite_schedule(
    station: StationConfig,
    installed: Sequence[InstalledProfile],
    *,
    evse_id: int,
    start: datetime,
    duration: int,
    unit: ChargingRateUnit | None = None,
    transactions: Iterable[Transaction] = (),
    simulate_transaction: bool = True,
    offline: bool = False,
    with_layers: bool = False,
) -> CompositeSchedule:
    """The composite schedule the station should report for ``evse_id`` (0 = the whole station).

    ``installed`` is what the charger holds (use :mod:`wattcap.core.holdings` to get there from requests);
    ``start`` and ``duration`` are the GetCompositeSchedule window, floored to whole seconds as chargers do.
    ``unit`` None lets the charger choose as its dialect says. ``with_layers`` also returns each purpose's
    stacked schedule (for previews); it costs time, so the hot path leaves it off.
    """
    now, end, schedule_start = _window(start, duration)
    calculation = _Calculation(
        station,
        installed,
        now=now,
        end=end,
        transactions=transactions,
        simulate_transaction=simulate_transaction,
        offline=offline,
        with_layers=with_layers,
    )
    steps = calculation.total(evse_id)
    chosen = unit or _choose_unit(station, installed)
    periods = to_periods(steps, unit=chosen, now=now, station=station, dialect=station.dialect)
    return CompositeSchedule(
        evse_id=evse_id,
        schedule_start=schedule_start,
        duration=end - now,
        charging_rate_unit=chosen,
        periods=periods,
        layers=tuple(calculation.layers or ()),
    )


def _window(start: datetime, duration: int) -> tuple[int, int, datetime]:
    """(now, end, schedule start) of a request: ``start`` and ``start + duration`` floored to whole seconds.

    A negative duration is a zero-length window at its end. The usual request (a whole-second UTC start, an
    integer duration, a window inside the datetime range) needs no datetime arithmetic; anything else takes
    the general path, which gives the same answer (or the same OverflowError).
    """
    if start.tzinfo is UTC and not start.microsecond and type(duration) is int:
        now = floor_epoch(start)
        end = now + duration
        if _EPOCH_MIN <= end <= _EPOCH_MAX:
            return (now, end, start) if duration >= 0 else (end, end, from_epoch(end))
    now = floor_epoch(start)
    end = floor_epoch(start + timedelta(seconds=duration))
    now = min(now, end)
    return now, end, from_epoch(now)


_EPOCH_MIN = floor_epoch(datetime.min.replace(tzinfo=UTC))
_EPOCH_MAX = floor_epoch(datetime.max.replace(tzinfo=UTC))


def _choose_unit(station: StationConfig, installed: Sequence[InstalledProfile]) -> ChargingRateUnit:
    if station.dialect.unit_when_unspecified is UnitChoice.FIRST_PROFILE and installed:
        return installed[0].profile.schedule.charging_rate_unit
    return station.capabilities.rate_units[0] if station.capabilities.rate_units else ChargingRateUnit.A


def _layer(purpose: ChargingProfilePurpose, evse_id: int, steps: list[Step], now: int) -> CompositeLayer:
    periods = []
    for step in steps:
        if step.current is not None:
            periods.append(
                LayerPeriod(
                    step.start - now,
                    step.current,
                    ChargingRateUnit.A,
                    step.number_phases,
                    step.current_refs[0] if step.current_refs else None,
                )
            )
        elif step.power is not None:
            periods.append(
                LayerPeriod(
                    step.start - now,
                    step.power,
                    ChargingRateUnit.W,
                    step.number_phases,
                    step.power_refs[0] if step.power_refs else None,
                )
            )
        else:
            periods.append(LayerPeriod(step.start - now, None, None, None, None))
    return CompositeLayer(purpose, evse_id, tuple(periods))
