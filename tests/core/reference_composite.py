"""A brute-force reference for composite schedules: the limit of every single second, evaluated on its own.

Written from the rule texts, not from wattcap's engine (which works with dated intervals, intermediate steps and
merging): here each second ``t`` of the window is judged afresh, so there are no interval boundaries to get
wrong.

At a second ``t`` (research/ocpp-smart-charging.md §1.5, §1.6, §2.10; everest-composite-algorithm.md §2–§6):

* a profile *has a limit at t* when it is valid (validFrom ≤ t < validTo, K01.FR.36/37) and its schedule has a
  period defined at t: the occurrence that started last at or before t (Absolute: startSchedule; Relative: the
  EVSE's transaction start, else the request start, K08.FR.06; Recurring: startSchedule + k × 24 h / 7 d, also
  before the first startSchedule, A7), not past ``duration`` (K01.FR.11), the last period with startPeriod ≤ the
  offset (K01.FR.12);
* per purpose, the profile with the highest stack level that has a limit at t leads (K01.FR.17, R16-07);
  an EVSE pools its own profiles with the station-wide (evse 0) ones;
* the TxProfile (of the EVSE's transaction) replaces the TxDefaultProfile where it has a limit (R16-08, A3
  per period); both count only with a transaction or when one is simulated (K08.FR.06);
* the result is the minimum of that, the ExternalConstraints and the station max, each converted to the requested
  unit with the nominal voltage × numberPhases, numberPhases being the lowest of the contributing limits (2.0.1
  §3.7; default 3, R16-10, K01.FR.49/50); a 2.0.1 AC station reads a missing numberPhases as 3 (K01.FR.49);
* where no profile limits the EVSE, the station's local (default) limit applies.

Only EVSE composites of the EVerest family are modelled (the station-wide sum is checked against the EVSE
composites in the property tests), and only the cases the property tests generate (no equal stack levels
competing, no 2.1 fields, AC).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from wattcap.core.model import (
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    InstalledProfile,
    OcppVersion,
    RecurrencyKind,
    Transaction,
)
from wattcap.core.station import StationConfig

MAX = ChargingProfilePurpose.CHARGING_STATION_MAX
TX_DEFAULT = ChargingProfilePurpose.TX_DEFAULT
TX = ChargingProfilePurpose.TX
EXTERNAL = ChargingProfilePurpose.CHARGING_STATION_EXTERNAL_CONSTRAINTS

DAY = 86_400
WEEK = 7 * DAY


@lru_cache(maxsize=4_096)
def seconds(value: datetime) -> int:
    """Whole seconds since the epoch, floored (chargers evaluate in whole seconds)."""
    return math.floor(value.timestamp())


@dataclass(frozen=True, slots=True)
class Limit:
    """The limit one profile sets at one second, in the profile's own unit."""

    value: float
    unit: ChargingRateUnit
    phases: int | None
    source: InstalledProfile


@dataclass(frozen=True, slots=True)
class Sample:
    """The composite at one second: the limit in the requested unit, its phases, and what set it."""

    limit: float
    number_phases: int | None
    sources: tuple[InstalledProfile, ...]  # empty: the local (default) limit

    @property
    def is_local_limit(self) -> bool:
        return not self.sources


class Reference:
    """The composite of ``installed`` for one request window, one second at a time."""

    def __init__(
        self,
        station: StationConfig,
        installed: Sequence[InstalledProfile],
        *,
        start: datetime,
        duration: int,
        transactions: Iterable[Transaction] = (),
        simulate_transaction: bool = True,
    ) -> None:
        self.station = station
        self.installed = tuple(installed)
        self.now = seconds(start)
        self.duration = duration
        self.transactions = {t.evse_id: t for t in transactions}
        self.simulate = simulate_transaction
        self.missing_phases = None if station.ocpp_version is OcppVersion.V16 else 3
        self._pools: dict[tuple[ChargingProfilePurpose, int], tuple[InstalledProfile, ...]] = {}

    # -- one profile ---------------------------------------------------------------------------------------

    def limit_of(self, item: InstalledProfile, t: int, evse_id: int) -> Limit | None:
        """What ``item`` says at second ``t`` for ``evse_id`` (None: no period defined, or not valid)."""
        profile = item.profile
        schedule = profile.schedule
        if profile.valid_from is not None and t < seconds(profile.valid_from):
            return None
        if profile.valid_to is not None and t >= seconds(profile.valid_to):
            return None
        occurrence = self._occurrence(item, t, evse_id)
        if occurrence is None or t < occurrence:
            return None
        offset = t - occurrence
        if schedule.duration is not None and offset >= schedule.duration:
            return None
        current = None
        for period in schedule.periods:
            if period.start_period <= offset:
                current = period
        if current is None or current.limit is None:
            return None
        phases = current.number_phases if current.number_phases is not None else self.missing_phases
        return Limit(current.limit, schedule.charging_rate_unit, phases, item)

    def _occurrence(self, item: InstalledProfile, t: int, evse_id: int) -> int | None:
        profile = item.profile
        schedule = profile.schedule
        if profile.kind is ChargingProfileKind.RELATIVE:
            transaction = self.transactions.get(evse_id)
            return seconds(transaction.start) if transaction and transaction.start else self.now
        if profile.kind is ChargingProfileKind.RECURRING:
            if schedule.start_schedule is None or profile.recurrency_kind is None:
                return None
            period = DAY if profile.recurrency_kind is RecurrencyKind.DAILY else WEEK
            anchor = seconds(schedule.start_schedule)
            return anchor + (t - anchor) // period * period
        if schedule.start_schedule is not None:
            return seconds(schedule.start_schedule)
        return seconds(profile.valid_from) if profile.valid_from is not None else self.now

    # -- one purpose ---------------------------------------------------------------------------------------

    def leading(self, items: Sequence[InstalledProfile], t: int, evse_id: int) -> Limit | None:
        """The limit of the highest stack level that has one at ``t`` (``items`` by descending stack level)."""
        for item in items:
            limit = self.limit_of(item, t, evse_id)
            if limit is not None:
                return limit
        return None

    def _profiles(self, purpose: ChargingProfilePurpose, evse_id: int) -> tuple[InstalledProfile, ...]:
        """The profiles of ``purpose`` that apply to ``evse_id`` (its own and the station-wide ones), highest
        stack level first. TxProfiles only when they belong to the EVSE's transaction."""
        key = (purpose, evse_id)
        if key not in self._pools:
            pool = [
                p
                for p in self.installed
                if p.profile.purpose is purpose
                and p.evse_id in (0, evse_id)
                and (purpose is not TX or self._tx_applies(p, evse_id))
            ]
            self._pools[key] = tuple(sorted(pool, key=lambda p: -p.profile.stack_level))
        return self._pools[key]

    def _tx_applies(self, item: InstalledProfile, evse_id: int) -> bool:
        wanted = item.profile.transaction_id
        transaction = self.transactions.get(evse_id)
        if wanted is None:
            return self.station.ocpp_version is OcppVersion.V16  # 2.0.1: K01.FR.03, no id → not applied
        return transaction is not None and transaction.transaction_id == wanted

    # -- one EVSE, one second ------------------------------------------------------------------------------

    def evse_limits(self, evse_id: int, t: int) -> list[Limit]:
        """The EVSE's limits at ``t`` before the station max: Tx-or-TxDefault and ExternalConstraints."""
        out: list[Limit] = []
        if evse_id in self.transactions or self.simulate:
            tx = self.leading(self._profiles(TX, evse_id), t, evse_id)
            charging = tx if tx is not None else self.leading(self._profiles(TX_DEFAULT, evse_id), t, evse_id)
            if charging is not None:
                out.append(charging)
        external = self.leading(self._profiles(EXTERNAL, evse_id), t, evse_id)
        if external is not None:
            out.append(external)
        return out

    def station_max(self, t: int) -> Limit | None:
        return self.leading(self._profiles(MAX, 0), t, 0)

    def combine(self, limits: Sequence[Limit], unit: ChargingRateUnit) -> Sample:
        """The lowest of ``limits`` in ``unit``; the local limit when there is none."""
        if not limits:
            return Sample(self.station.default_limit(unit), None, ())
        given = [limit.phases for limit in limits if limit.phases is not None]
        phases = min(given) if given else None
        factor = self.station.supply_voltage_v * (phases or self.station.default_number_phases)
        values = [self.convert(limit, unit, factor) for limit in limits]
        lowest = min(values)
        return Sample(
            lowest, phases, tuple(limit.source for limit, v in zip(limits, values, strict=True) if v == lowest)
        )

    @staticmethod
    def convert(limit: Limit, unit: ChargingRateUnit, factor: float) -> float:
        if limit.unit is unit:
            return limit.value
        return limit.value * factor if unit is ChargingRateUnit.W else limit.value / factor

    def evse_sample(self, evse_id: int, t: int, unit: ChargingRateUnit) -> Sample:
        """The composite of ``evse_id`` at ``t``: its own limits and the station max combined."""
        station_max = self.station_max(t)
        return self.combine([*self.evse_limits(evse_id, t), *([station_max] if station_max else [])], unit)

    # -- the window ----------------------------------------------------------------------------------------

    def window(self) -> range:
        """Every second of the request window."""
        return range(self.now, self.now + self.duration)

    def composite(self, evse_id: int, unit: ChargingRateUnit) -> list[Sample]:
        """One sample per second of the window for an EVSE (evse_id > 0)."""
        return [self.evse_sample(evse_id, t, unit) for t in self.window()]
