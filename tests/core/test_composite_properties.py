"""Properties of the composite engine over random small stations, checked against a brute-force reference.

The generator (``cases``) builds 1–3 EVSEs and 0–6 profiles of random purpose (TxProfile only on an EVSE, the
station max only on evse 0), kind (Absolute, Relative, Recurring Daily; the station max never Relative,
K01.FR.38), stack level 0–3, 1–4 periods with increasing start periods, optional duration / validFrom / validTo,
unit A or W and numberPhases 1, 3 or absent, transactions on some EVSEs, and a request window of 1 s – 2 h
starting on a whole second; profile times are drawn around the window so that they matter. The dialect is
EVerest (1.6 or 2.0.1 variant); limits are compared to float32 precision.

Restrictions, each an edge the rules leave open or where chargers differ (``reference_composite`` does not model
them):

* no two profiles of one purpose that can meet on an EVSE share a stack level (K01.FR.06 forbids it; which one
  then leads is implementation-defined);
* limits stay at or below the station's local limit (48 A / 33 120 W). Above it, libocpp caps the station-wide
  sum by the *other* unit's summed default (``merge_profiles_by_summing_limits`` always adds the default of both
  units), a quirk no rule asks for; and a profile above the local limit is no longer undercut by the fallback;
* transactions have a known start (a Relative profile of a transaction "started long ago" has no defined anchor).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wattcap.core.composite import composite_schedule
from wattcap.core.dialects import EVEREST
from wattcap.core.model import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    CompositePeriod,
    CompositeSchedule,
    InstalledProfile,
    OcppVersion,
    ProfileRef,
    RecurrencyKind,
    Transaction,
)
from wattcap.core.station import StationConfig
from wattcap.core.timeutil import utc

from .reference_composite import Reference

MAX = ChargingProfilePurpose.CHARGING_STATION_MAX
TX_DEFAULT = ChargingProfilePurpose.TX_DEFAULT
TX = ChargingProfilePurpose.TX
EXTERNAL = ChargingProfilePurpose.CHARGING_STATION_EXTERNAL_CONSTRAINTS
ABSOLUTE = ChargingProfileKind.ABSOLUTE
RELATIVE = ChargingProfileKind.RELATIVE
RECURRING = ChargingProfileKind.RECURRING
A = ChargingRateUnit.A
W = ChargingRateUnit.W
V16 = OcppVersion.V16
V201 = OcppVersion.V201

BASE = utc(2024, 1, 10)
HOUR = 3_600
DAY = 86_400
LOCAL_A = 48.0
LOCAL_W = 33_120.0
REL = 1e-6  # float32 carries ~7 significant digits

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
THOROUGH = settings(FAST, max_examples=60)


# -- the generator -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A station with its installed profiles, its transactions and one composite request window."""

    station: StationConfig
    installed: tuple[InstalledProfile, ...]
    start: datetime
    duration: int
    unit: ChargingRateUnit
    transactions: tuple[Transaction, ...]
    simulate: bool

    @property
    def evse_ids(self) -> tuple[int, ...]:
        return self.station.evse_ids

    def composite(self, evse_id: int, installed: tuple[InstalledProfile, ...] | None = None) -> CompositeSchedule:
        return composite_schedule(
            self.station,
            self.installed if installed is None else installed,
            evse_id=evse_id,
            start=self.start,
            duration=self.duration,
            unit=self.unit,
            transactions=self.transactions,
            simulate_transaction=self.simulate,
        )

    def reference(self) -> Reference:
        return Reference(
            self.station,
            self.installed,
            start=self.start,
            duration=self.duration,
            transactions=self.transactions,
            simulate_transaction=self.simulate,
        )

    def without(self, purpose: ChargingProfilePurpose) -> tuple[InstalledProfile, ...]:
        return tuple(p for p in self.installed if p.profile.purpose is not purpose)


def _limits(unit: ChargingRateUnit):
    """Limits at or below the local limit: any value with one fraction digit (A) or in 10 W steps (W), or one of a
    few common ones, so that equal limits meet (ties, merging); the W ones are A values × 230 V × 1 or 3 phases."""
    if unit is A:
        common = st.sampled_from([0.0, 6.0, 10.0, 16.0, 32.0, LOCAL_A])
        return common | st.integers(0, int(LOCAL_A * 10)).map(lambda n: n / 10)
    common = st.sampled_from([0.0, 1_380.0, 2_300.0, 4_140.0, 6_900.0, 11_040.0, 22_080.0, LOCAL_W])
    return common | st.integers(0, int(LOCAL_W) // 10).map(lambda n: n * 10.0)


@st.composite
def periods(draw, unit: ChargingRateUnit, span: int) -> tuple[ChargingSchedulePeriod, ...]:
    """1–4 periods, the first at 0, strictly increasing (K01.FR.31/35), spaced on the scale of the window."""
    count = draw(st.integers(1, 4))
    starts = [0]
    for _ in range(count - 1):
        starts.append(starts[-1] + draw(st.integers(1, max(2, span))))
    return tuple(
        ChargingSchedulePeriod(start, draw(_limits(unit)), draw(st.sampled_from([None, 1, 3]))) for start in starts
    )


@st.composite
def profiles(
    draw,
    profile_id: int,
    *,
    now: datetime,
    span: int,
    evse_ids: tuple[int, ...],
    version: OcppVersion,
    units: tuple[ChargingRateUnit, ...],
    kinds: tuple[ChargingProfileKind, ...],
    purpose: ChargingProfilePurpose | None = None,
    validity: bool = True,
) -> InstalledProfile:
    """One profile whose times fall around the request window ``[now, now + span)``, so that it often matters."""

    reach = min(2 * HOUR, 2 * span)  # how far before the window a profile may begin

    def around(before: int, after: int) -> datetime:
        return now + timedelta(seconds=draw(st.integers(-before, after)))

    # TxDefault and TxProfile weighted up: their interplay (R16-08, A3) is where most rules meet.
    purposes = [MAX, TX_DEFAULT, TX_DEFAULT, TX, TX] + ([EXTERNAL] if version is V201 else [])
    purpose = purpose or draw(st.sampled_from(purposes))
    if purpose is MAX:
        evse_id = 0
    elif purpose is TX:
        evse_id = draw(st.sampled_from(evse_ids))
    else:
        evse_id = draw(st.sampled_from((0, *evse_ids)))
    kind = draw(st.sampled_from([k for k in kinds if not (purpose is MAX and k is RELATIVE)] or [ABSOLUTE]))
    unit = draw(st.sampled_from(units))
    if kind is RECURRING:
        start = around(reach, span) + timedelta(days=draw(st.integers(-3, 1)))
    elif kind is ABSOLUTE:
        start = around(reach, span)
    else:
        start = None
    schedule = ChargingSchedule(
        charging_rate_unit=unit,
        periods=draw(periods(unit, span)),
        id=1,
        start_schedule=start,
        duration=draw(st.none() | st.integers(1, span + reach)),
    )
    valid_from = around(reach, span) if validity and draw(st.booleans()) else None
    valid_to = around(reach // 2, span + reach) if validity and draw(st.booleans()) else None
    transaction_id = draw(st.sampled_from([f"tx{evse_id}", None, f"tx{evse_id}", "other"])) if purpose is TX else None
    return InstalledProfile(
        evse_id,
        ChargingProfile(
            id=profile_id,
            stack_level=draw(st.integers(0, 3)),
            purpose=purpose,
            kind=kind,
            schedules=(schedule,),
            recurrency_kind=RecurrencyKind.DAILY if kind is RECURRING else None,
            valid_from=valid_from,
            valid_to=valid_to,
            transaction_id=transaction_id,
        ),
    )


def _conflicts(a: InstalledProfile, b: InstalledProfile) -> bool:
    """Same purpose and stack level where both can lead on one EVSE (left open by the rules: K01.FR.06)."""
    same = a.profile.purpose is b.profile.purpose and a.profile.stack_level == b.profile.stack_level
    return same and (a.evse_id == b.evse_id or 0 in (a.evse_id, b.evse_id))


def _compatible(installed: list[InstalledProfile]) -> tuple[InstalledProfile, ...]:
    kept: list[InstalledProfile] = []
    for item in installed:
        if not any(_conflicts(item, other) for other in kept):
            kept.append(item)
    return tuple(kept)


@st.composite
def cases(
    draw,
    *,
    single_unit: bool = False,
    kinds: tuple[ChargingProfileKind, ...] = (ABSOLUTE, RELATIVE, RECURRING),
    validity: bool = True,
    require: ChargingProfilePurpose | None = None,
) -> Case:
    """A random case; ``require`` makes the first profile one of that purpose (so it survives de-duplication)."""
    version = draw(st.sampled_from([V16, V201]))
    evse_ids = tuple(range(1, draw(st.sampled_from([1, 2, 3])) + 1))
    start = BASE + timedelta(seconds=draw(st.integers(0, DAY - 1)))
    duration = draw(st.integers(1, 2 * HOUR))
    unit = draw(st.sampled_from([A, W]))
    units = (unit,) if single_unit else (A, W)
    count = draw(st.sampled_from(range(7))) + (1 if require else 0)  # uniform: integers() favours small counts
    installed = [
        draw(
            profiles(
                i + 1,
                now=start,
                span=duration,
                evse_ids=evse_ids,
                version=version,
                units=units,
                kinds=kinds,
                validity=validity,
                purpose=require if i == 0 else None,
            )
        )
        for i in range(count)
    ]
    transactions = tuple(
        Transaction(e, f"tx{e}", start - timedelta(seconds=draw(st.integers(0, min(2 * HOUR, 2 * duration)))))
        for e in evse_ids
        if draw(st.integers(0, 3))  # a transaction on 3 EVSEs in 4
    )
    return Case(
        station=StationConfig(
            ocpp_version=version,
            dialect=EVEREST.for_version(version),
            evse_ids=evse_ids,
            default_limit_a=LOCAL_A,
            default_limit_w=LOCAL_W,
        ),
        installed=_compatible(installed),
        start=start,
        duration=duration,
        unit=unit,
        transactions=transactions,
        simulate=draw(st.booleans()),
    )


# -- helpers -------------------------------------------------------------------------------------------------


def per_second(schedule: CompositeSchedule) -> list[CompositePeriod]:
    """The period in force at every second of the window."""
    out: list[CompositePeriod] = []
    for i, period in enumerate(schedule.periods):
        end = schedule.periods[i + 1].start_period if i + 1 < len(schedule.periods) else schedule.duration
        out.extend([period] * (end - period.start_period))
    return out


def close(a: float, b: float) -> bool:
    return a == pytest.approx(b, rel=REL, abs=1e-6)


def at_most(a: float, b: float) -> bool:
    return a <= b or close(a, b)


def item_of(case: Case, ref: ProfileRef) -> InstalledProfile:
    (item,) = [p for p in case.installed if p.profile.id == ref.profile_id]
    return item


def as_ref(item: InstalledProfile) -> ProfileRef:
    return ProfileRef(item.profile.id, item.profile.purpose, item.profile.stack_level, item.evse_id)


# -- the engine against the brute-force reference ------------------------------------------------------------


@THOROUGH
@given(cases())
def test_K08_FR_04_engine_matches_brute_force_reference_every_second(case: Case):
    """Every second of every EVSE composite: the engine's limit and numberPhases are the reference's."""
    reference = case.reference()
    for evse_id in case.evse_ids:
        engine = per_second(case.composite(evse_id))
        expected = reference.composite(evse_id, case.unit)
        assert len(engine) == len(expected) == case.duration
        for offset, (got, want) in enumerate(zip(engine, expected, strict=True)):
            assert close(got.limit, want.limit), (evse_id, offset, got, want)
            assert got.number_phases == want.number_phases, (evse_id, offset, got, want)


# -- (a) the station max is never exceeded --------------------------------------------------------------------


@FAST
@given(cases(single_unit=True, require=MAX))
def test_R16_08_composite_never_exceeds_the_station_max(case: Case):
    """§3.13.3: at no second does an EVSE or the station exceed the station max in force then (single unit)."""
    reference = case.reference()
    maxima = [reference.station_max(t) for t in reference.window()]
    for evse_id in (0, *case.evse_ids):
        for offset, (got, station_max) in enumerate(zip(per_second(case.composite(evse_id)), maxima, strict=True)):
            if station_max is not None:
                assert at_most(got.limit, station_max.value), (evse_id, offset, got, station_max)


# -- (b) monotonicity: taking away a limit that is combined by minimum -----------------------------------------


def _something_shows_through(case: Case, removed: InstalledProfile) -> bool:
    """Whether removing ``removed`` can reveal a profile it *overruled* (rather than undercut).

    Within a purpose a higher stack level overrules a lower one (K01.FR.17), and a TxProfile replaces the
    TxDefault (R16-08, E2: 8 A over a 6 A TxDefault); taking such a profile away may uncover a lower limit, so
    monotonicity holds only for profiles that hide nothing.
    """
    purpose = removed.profile.purpose
    shared = (0, removed.evse_id) if removed.evse_id else (0, *case.evse_ids)
    for other in case.installed:
        if other is removed or other.evse_id not in shared:
            continue
        if other.profile.purpose is purpose:
            return True
        if purpose is TX and other.profile.purpose is TX_DEFAULT:
            return True
    return False


@FAST
@given(cases(single_unit=True), st.data())
def test_R16_08_removing_the_governing_profile_never_lowers_a_limit(case: Case, data):
    """Removing the profile that governs a period never lowers any EVSE's limit at any second, for a profile that
    overrules nothing (see ``_something_shows_through``); the local limit it falls back to is above every limit."""
    evse_id = data.draw(st.sampled_from(case.evse_ids))
    governed = [p for p in case.composite(evse_id).periods if p.governed_by]
    assume(governed)
    removed = item_of(case, data.draw(st.sampled_from(governed)).governed_by[0])
    assume(not _something_shows_through(case, removed))
    remaining = tuple(p for p in case.installed if p is not removed)
    for evse in case.evse_ids:
        before = per_second(case.composite(evse))
        after = per_second(case.composite(evse, remaining))
        for offset, (old, new) in enumerate(zip(before, after, strict=True)):
            assert at_most(old.limit, new.limit), (evse, offset, old, new)


# -- (c) adding a station max never raises a limit -------------------------------------------------------------


@FAST
@given(cases(single_unit=True), st.data())
def test_R16_08_adding_a_station_max_never_raises_a_limit(case: Case, data):
    """A new ChargingStationMaxProfile is combined by minimum, so no composite (EVSE or station) rises anywhere.

    It gets stack level 0, below every existing station max: a higher level would *overrule* them (K01.FR.17)
    and could raise the limit where it has periods.
    """
    assume(all(p.profile.stack_level > 0 for p in case.installed if p.profile.purpose is MAX))
    drawn = data.draw(
        profiles(
            max((p.profile.id for p in case.installed), default=0) + 1,
            now=case.start,
            span=case.duration,
            evse_ids=case.evse_ids,
            version=case.station.ocpp_version,
            units=(case.unit,),
            kinds=(ABSOLUTE, RECURRING),
            purpose=MAX,
        )
    )
    added = (*case.installed, InstalledProfile(0, replace(drawn.profile, stack_level=0)))
    for evse_id in (0, *case.evse_ids):
        before = per_second(case.composite(evse_id))
        after = per_second(case.composite(evse_id, added))
        for offset, (old, new) in enumerate(zip(before, after, strict=True)):
            assert at_most(new.limit, old.limit), (evse_id, offset, old, new)


# -- (d) the shape of a composite -------------------------------------------------------------------------------


@FAST
@given(cases())
def test_K08_FR_02_periods_start_at_zero_increase_and_differ_from_their_neighbour(case: Case):
    """The window is [start, start + duration); periods start at 0, strictly increase and lie inside it, and
    EVerest reports a new period only when limit or numberPhases change (1.6: or the stack level; notes §7)."""
    for evse_id in (0, *case.evse_ids):
        result = case.composite(evse_id)
        assert result.duration == case.duration
        starts = [p.start_period for p in result.periods]
        assert starts[0] == 0
        assert all(a < b for a, b in itertools.pairwise(starts))
        assert starts[-1] < result.duration
        for a, b in itertools.pairwise(result.periods):
            same = a.limit == b.limit and a.number_phases == b.number_phases
            if case.station.ocpp_version is V16:
                same = same and a.stack_level == b.stack_level
            assert not same, (evse_id, a, b)


# -- (e) the station-wide composite -----------------------------------------------------------------------------


@FAST
@given(cases(single_unit=True))
def test_A13_station_composite_is_the_capped_sum_of_evse_composites(case: Case):
    """evse 0 (EVerest) = min(station max, Σ EVSE composites without the station max), second by second, in A.

    Requests in A only: EVerest sums current and power separately (each unlimited EVSE adding the default of
    both units) and converts after summing, so a W request can be capped by the summed current default
    (``test_A13_everest_sums_both_units_before_converting``); in A with A profiles the two agree.
    """
    assume(case.unit is A)
    reference = case.reference()
    without_max = case.without(MAX)
    evses = [per_second(case.composite(e, without_max)) for e in case.evse_ids]
    station = per_second(case.composite(0))
    for offset, t in enumerate(reference.window()):
        total = sum(column[offset].limit for column in evses)
        station_max = reference.station_max(t)
        expected = total if station_max is None else min(total, station_max.value)
        assert close(station[offset].limit, expected), (offset, station[offset], expected)


def test_A13_station_sum_adds_the_local_limit_of_every_unlimited_evse():
    """README dialect table: evse 0 = Σ over EVSEs, each EVSE without a limit adding the default (48 A).

    Two EVSEs, a 10 A TxDefault on EVSE 1 for 300 s: 10 + 48 = 58 A, then 48 + 48 = 96 A once it has ended.
    """
    schedule = ChargingSchedule(A, (ChargingSchedulePeriod(0, 10.0),), id=1, start_schedule=BASE, duration=300)
    item = InstalledProfile(1, ChargingProfile(1, 0, TX_DEFAULT, ABSOLUTE, (schedule,)))
    station = StationConfig(ocpp_version=V201, dialect=EVEREST.for_version(V201), evse_ids=(1, 2))
    result = composite_schedule(station, [item], evse_id=0, start=BASE, duration=600, unit=A)
    assert [(p.start_period, p.limit) for p in result.periods] == [(0, 58.0), (300, 96.0)]


def test_A13_everest_sums_both_units_before_converting():
    """EVerest's station sum adds current and power apart, each EVSE without that unit adding its default, then
    converts: one EVSE at 20 000 W on 1 phase still gets the summed current default 48 A x 230 V x 1 = 11 040 W."""
    period = ChargingSchedulePeriod(0, 20_000.0, number_phases=1)
    schedule = ChargingSchedule(W, (period,), id=1, start_schedule=BASE, duration=600)
    item = InstalledProfile(1, ChargingProfile(1, 0, TX_DEFAULT, ABSOLUTE, (schedule,)))
    station = StationConfig(ocpp_version=V201, dialect=EVEREST.for_version(V201), evse_ids=(1,))
    result = composite_schedule(station, [item], evse_id=0, start=BASE, duration=600, unit=W)
    assert (result.periods[0].start_period, result.periods[0].limit) == (0, 11_040.0)


# -- (f) time shifts ------------------------------------------------------------------------------------------


def _shifted(value: datetime | None, delta: timedelta) -> datetime | None:
    return None if value is None else value + delta


def _shift_profile(item: InstalledProfile, delta: timedelta) -> InstalledProfile:
    p = item.profile
    schedules = tuple(replace(s, start_schedule=_shifted(s.start_schedule, delta)) for s in p.schedules)
    moved = replace(
        p, schedules=schedules, valid_from=_shifted(p.valid_from, delta), valid_to=_shifted(p.valid_to, delta)
    )
    return InstalledProfile(item.evse_id, moved)


def _shift(case: Case, delta: timedelta, *, profiles_too: bool) -> Case:
    installed = tuple(_shift_profile(p, delta) for p in case.installed) if profiles_too else case.installed
    transactions = tuple(replace(t, start=_shifted(t.start, delta)) for t in case.transactions)
    return replace(case, installed=installed, start=case.start + delta, transactions=transactions)


@FAST
@given(cases(), st.integers(-400, 400).filter(bool))
def test_shifting_every_time_by_whole_days_leaves_the_composite_unchanged(case: Case, days: int):
    """Profiles, transactions and request moved together by whole days: the same periods and attribution."""
    moved_case = _shift(case, timedelta(days=days), profiles_too=True)
    for evse_id in (0, *case.evse_ids):
        original, moved = case.composite(evse_id), moved_case.composite(evse_id)
        assert moved.schedule_start == original.schedule_start + timedelta(days=days)
        assert moved.periods == original.periods


@FAST
@given(cases(kinds=(RECURRING,), validity=False), st.integers(-60, 60).filter(bool))
def test_A7_daily_recurring_profiles_give_the_same_composite_every_day(case: Case, days: int):
    """Daily Recurring profiles restart every 24 h at the time of day of their startSchedule (A7: also before
    it), so the same request (and transactions) on another day gives the same composite."""
    moved_case = _shift(case, timedelta(days=days), profiles_too=False)
    for evse_id in (0, *case.evse_ids):
        assert moved_case.composite(evse_id).periods == case.composite(evse_id).periods


# -- attribution ------------------------------------------------------------------------------------------------


@FAST
@given(cases())
def test_attribution_names_a_profile_that_sets_each_period(case: Case):
    """``governed_by`` names (id, purpose, stack level, evse) a profile whose limit the period's limit is at the
    period's start, and is empty exactly where no profile limits the EVSE (the local limit applies)."""
    reference = case.reference()
    for evse_id in case.evse_ids:
        for period in case.composite(evse_id).periods:
            sample = reference.evse_sample(evse_id, reference.now + period.start_period, case.unit)
            assert period.is_local_limit == sample.is_local_limit, (evse_id, period, sample)
            if period.is_local_limit:
                assert period.limit == case.station.default_limit(case.unit)
                continue
            assert {as_ref(item_of(case, r)) for r in period.governed_by} == set(period.governed_by)
            named = {r.profile_id for r in period.governed_by}
            assert named & {s.profile.id for s in sample.sources}, (evse_id, period, sample)
