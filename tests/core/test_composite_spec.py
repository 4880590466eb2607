"""The worked examples of ``research/ocpp-smart-charging.md`` §3 (E1–E11) and the OCTT cases they cite.

Every expectation below is derived by hand from the example's text (the derivation is in each docstring), not
taken from the engine. OCTT writes expected start periods relative to ``x``, the delay between building the
profiles and the composite request; where a case is parametrised over ``x`` the profiles are built at ``T0`` and
the request is made at ``T0 + x``.

The dialect is EVerest unless a test says otherwise; the MicroOcpp tests cover each row of the dialect table in
``conformance/README.md`` where the two families disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from wattcap.core.composite import composite_schedule
from wattcap.core.dialects import EVEREST, MICROOCPP, Dialect, TxMasking
from wattcap.core.model import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    CompositeSchedule,
    InstalledProfile,
    OcppVersion,
    ProfileRef,
    RecurrencyKind,
    Transaction,
)
from wattcap.core.station import StationConfig
from wattcap.core.timeutil import utc

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

T0 = utc(2024, 3, 5, 12, 0, 0)
LOCAL_A = 48.0  # the station's local (default) limit in A
LOCAL_W = 33_120.0
TX_ID = "42"


# -- builders ------------------------------------------------------------------------------------------------


def profile(
    profile_id: int,
    purpose: ChargingProfilePurpose,
    periods: Sequence[tuple],
    *,
    stack_level: int = 0,
    kind: ChargingProfileKind = ABSOLUTE,
    start: datetime | None = T0,
    duration: int | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    unit: ChargingRateUnit = A,
    recurrency: RecurrencyKind | None = None,
    transaction_id: str | None = None,
    min_rate: float | None = None,
) -> ChargingProfile:
    """A profile with one schedule; ``periods`` are ``(startPeriod, limit)`` or ``(startPeriod, limit, phases)``."""
    schedule = ChargingSchedule(
        charging_rate_unit=unit,
        periods=tuple(ChargingSchedulePeriod(p[0], float(p[1]), p[2] if len(p) > 2 else None) for p in periods),
        id=1,
        start_schedule=None if kind is RELATIVE else start,
        duration=duration,
        min_charging_rate=min_rate,
    )
    return ChargingProfile(
        id=profile_id,
        stack_level=stack_level,
        purpose=purpose,
        kind=kind,
        schedules=(schedule,),
        recurrency_kind=recurrency,
        valid_from=valid_from,
        valid_to=valid_to,
        transaction_id=transaction_id,
    )


def station(
    version: OcppVersion = V16, dialect: Dialect = EVEREST, evses: int = 1, voltage: float = 230.0
) -> StationConfig:
    return StationConfig(
        ocpp_version=version,
        dialect=dialect.for_version(version),
        evse_ids=tuple(range(1, evses + 1)),
        supply_voltage_v=voltage,
        default_limit_a=LOCAL_A,
        default_limit_w=LOCAL_W,
    )


def composite(
    config: StationConfig,
    installed: Sequence[tuple[int, ChargingProfile]],
    *,
    evse: int = 1,
    start: datetime = T0,
    duration: int,
    unit: ChargingRateUnit = A,
    transactions: Sequence[Transaction] = (),
    simulate: bool = True,
    layers: bool = False,
) -> CompositeSchedule:
    return composite_schedule(
        config,
        [InstalledProfile(e, p) for e, p in installed],
        evse_id=evse,
        start=start,
        duration=duration,
        unit=unit,
        transactions=transactions,
        simulate_transaction=simulate,
        with_layers=layers,
    )


def assert_periods(result: CompositeSchedule, expected: Sequence[tuple[int, float]]) -> None:
    """Start periods exactly, limits to float32 precision (EVerest computes in float)."""
    got = [(p.start_period, p.limit) for p in result.periods]
    assert [s for s, _ in got] == [s for s, _ in expected], got
    assert [lim for _, lim in got] == pytest.approx([float(lim) for _, lim in expected], rel=1e-6), got


def ref(item: tuple[int, ChargingProfile]) -> ProfileRef:
    evse_id, p = item
    return ProfileRef(p.id, p.purpose, p.stack_level, evse_id)


def running(evse_id: int = 1, start: datetime = T0 - timedelta(minutes=10)) -> Transaction:
    return Transaction(evse_id=evse_id, transaction_id=TX_ID, start=start)


# -- E1: OCPP 1.6 §3.13.7 daily default profile (W, R16-10) --------------------------------------------------


def e1_profile() -> tuple[int, ChargingProfile]:
    """TxDefault 100, Recurring Daily from 2013-01-01T00:00Z, duration 86400, in W.

    00:00 11 kW, 08:00 6 kW, 20:00 11 kW (3 phases).
    """
    return (
        1,
        profile(
            100,
            TX_DEFAULT,
            [(0, 11_000, 3), (28_800, 6_000, 3), (72_000, 11_000, 3)],
            kind=RECURRING,
            recurrency=RecurrencyKind.DAILY,
            start=utc(2013, 1, 1),
            duration=86_400,
            unit=W,
        ),
    )


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        # 07:00 + 4 h: 11 kW until 08:00 (3600 s in), then 6 kW.
        ((7, 0), [(0, 11_000), (3_600, 6_000)]),
        # 19:30 + 4 h: 6 kW until 20:00 (1800 s in), then 11 kW.
        ((19, 30), [(0, 6_000), (1_800, 11_000)]),
    ],
)
def test_E1_daily_recurring_default_profile_in_W(clock, expected):
    """E1: the daily profile limits to 6 kW between 08:00 and 20:00 on any later day (transaction running)."""
    start = utc(2024, 3, 5, *clock)
    result = composite(station(), [e1_profile()], start=start, duration=14_400, unit=W, transactions=[running()])
    assert_periods(result, expected)
    assert {p.number_phases for p in result.periods} == {3}


def test_E1_R16_10_K01_FR_50_watts_converted_to_amps_per_phase():
    """E1 in A: current per phase = P / (230 V × 3): 11000/690 ≈ 15.94 A, 6000/690 ≈ 8.70 A."""
    start = utc(2024, 3, 5, 7, 0)
    result = composite(station(), [e1_profile()], start=start, duration=14_400, unit=A, transactions=[running()])
    assert_periods(result, [(0, 11_000 / 690), (3_600, 6_000 / 690)])
    assert all(p.transformed for p in result.periods)


# -- E2: combining purposes, TC_066_CS (1.6) = TC_K_41_CS (2.0.1) ----------------------------------------------


def e2_profiles(version: OcppVersion) -> list[tuple[int, ChargingProfile]]:
    """Max (evse 0) 0:10 for a day; TxDefault and TxProfile on the EVSE, validTo +401 s, built at T0."""
    valid_to = T0 + timedelta(seconds=401)
    return [
        (0, profile(1, MAX, [(0, 10)], duration=86_400)),
        (
            1,
            profile(
                2,
                TX_DEFAULT,
                [(0, 6), (60, 10), (120, 8), (180, 15), (260, 8)],
                duration=300,
                valid_to=valid_to,
            ),
        ),
        (
            1,
            profile(
                3,
                TX,
                [(0, 8), (50, 11), (140, 16), (200, 6), (240, 12)],
                duration=260,
                valid_to=valid_to,
                transaction_id=TX_ID,
            ),
        ),
    ]


@pytest.mark.parametrize("version", [V16, V201])
@pytest.mark.parametrize("x", [0, 4])
def test_E2_TC_066_TC_K_41_R16_08_tx_profile_replaces_tx_default_then_min_with_max(version, x):
    """E2, second by second (Max / TxDefault / TxProfile → composite):

    [0,50) 10/6/8 → 8: the TxProfile *replaces* the TxDefault (not min(6, 8, 10) = 6);
    [50,200) Tx 11 then 16, capped by Max → 10; [200,240) Tx 6 → 6; [240,260) Tx 12 → 10;
    [260,300) the TxProfile has ended, per-period fallback to TxDefault 8 (EVerest, A3); [300,400) Max 10.
    OCTT lists only ``0:8, (50−x):10, (200−x):6, (240−x):10``, which the result starts with.
    """
    result = composite(
        station(version),
        e2_profiles(version),
        start=T0 + timedelta(seconds=x),
        duration=400,
        transactions=[running()],
    )
    assert result.duration == 400
    assert_periods(result, [(0, 8), (50 - x, 10), (200 - x, 6), (240 - x, 10), (260 - x, 8), (300 - x, 10)])


def test_E2_TC_066_A3_whole_transaction_masking_gives_the_octt_tail():
    """A3, the other reading: a TxProfile masks the TxDefault for the whole transaction, so after the TxProfile
    ends at 260 the TxDefault (8) does not come back and the Max (10) holds to the end — OCTT's literal list
    ``0:8, 50:10, 200:6, 240:10``. A dialect that says ``tx_masking=WHOLE_TRANSACTION`` must report that."""
    whole = replace(EVEREST, tx_masking=TxMasking.WHOLE_TRANSACTION)
    result = composite(station(V16, whole), e2_profiles(V16), duration=400, transactions=[running()])
    assert_periods(result, [(0, 8), (50, 10), (200, 6), (240, 10)])


def test_E2_R16_08_without_tx_profile_tx_default_is_combined_with_max():
    """R16-08 "else TxDefault": with the TxProfile gone, min(TxDefault, Max) — 6, 10, 8, 10 (15 capped), 8, 10."""
    profiles = [item for item in e2_profiles(V16) if item[1].purpose is not TX]
    result = composite(station(), profiles, duration=400, transactions=[running()])
    assert_periods(result, [(0, 6), (60, 10), (120, 8), (180, 10), (260, 8), (300, 10)])


def test_E2_attribution_names_the_governing_profile_of_every_period():
    """Each period's ``governed_by`` is the profile whose limit it is (id, purpose, stack level, EVSE)."""
    max_, tx_default, tx = e2_profiles(V16)
    result = composite(station(), [max_, tx_default, tx], duration=400, transactions=[running()])
    # 0:8 TxProfile, 50:10 Max, 200:6 TxProfile, 240:10 Max, 260:8 TxDefault (fallback), 300:10 Max
    governing = [tx, max_, tx, max_, tx_default, max_]
    assert [p.governed_by for p in result.periods] == [(ref(item),) for item in governing]
    assert not any(p.is_local_limit for p in result.periods)


def test_attribution_merged_period_names_every_profile_that_sets_it():
    """TxDefault 10 then 15 at 60 s; Max 20 then 10 at 60 s: 10 A throughout, set by the TxDefault for the first
    minute and by the Max after it. EVerest reports one period (equal limit and phases), so its attribution must
    name both profiles, not only the TxDefault."""
    max_ = (0, profile(1, MAX, [(0, 20), (60, 10)]))
    tx_default = (1, profile(2, TX_DEFAULT, [(0, 10), (60, 15)]))
    result = composite(station(V201), [max_, tx_default], duration=120)
    assert_periods(result, [(0, 10)])
    assert set(result.periods[0].governed_by) == {ref(max_), ref(tx_default)}


# -- E3: stacking within one purpose, TC_072_CS (1.6) = TC_K_40_CS (2.0.1) -------------------------------------


def e3_profiles() -> list[tuple[int, ChargingProfile]]:
    valid_to = T0 + timedelta(seconds=401)
    return [
        (1, profile(1, TX_DEFAULT, [(0, 6), (100, 8), (200, 10)], stack_level=0, duration=400, valid_to=valid_to)),
        (1, profile(2, TX_DEFAULT, [(0, 7), (100, 9)], stack_level=1, duration=150, valid_to=valid_to)),
    ]


@pytest.mark.parametrize("version", [V16, V201])
@pytest.mark.parametrize("x", [0, 3])
def test_E3_TC_072_TC_K_40_K01_FR_17_lower_level_shows_through_after_duration(version, x):
    """E3: level 1 leads while it has periods (7, 9); at 150 its duration ends and level 0 takes over (8, 10)."""
    result = composite(station(version), e3_profiles(), start=T0 + timedelta(seconds=x), duration=350)
    assert_periods(result, [(0, 7), (100 - x, 9), (150 - x, 8), (200 - x, 10)])
    assert [p.stack_level for p in result.periods] == [1, 1, 0, 0]


def test_E3_attribution_follows_the_leading_stack_level():
    low, high = e3_profiles()
    result = composite(station(), [low, high], duration=350)
    assert [p.governed_by for p in result.periods] == [(ref(high),), (ref(high),), (ref(low),), (ref(low),)]


def test_K01_FR_17_higher_stack_level_overrules_even_with_a_higher_limit():
    """K01.FR.17 / R16-07: the higher stack level overrules; it is not a minimum (6 at level 0, 10 at level 1 → 10)."""
    installed = [
        (1, profile(1, TX_DEFAULT, [(0, 6)], stack_level=0)),
        (1, profile(2, TX_DEFAULT, [(0, 10)], stack_level=1)),
    ]
    assert_periods(composite(station(), installed, duration=600), [(0, 10)])


# -- E4: clearing, then recomputing, TC_067_CS (1.6) ---------------------------------------------------------


def e4_profiles() -> dict[int, tuple[int, ChargingProfile]]:
    valid_to = T0 + timedelta(seconds=401)
    return {
        1: (1, profile(1, TX_DEFAULT, [(0, 6), (60, 8), (200, 10)], stack_level=1, duration=400)),
        2: (1, profile(2, TX_DEFAULT, [(0, 7), (100, 9)], stack_level=0, duration=400, valid_to=valid_to)),
        3: (0, profile(3, MAX, [(0, 11), (200, 12)], duration=86_400, valid_to=valid_to)),
    }


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [
        # all three: profile 1 (level 1) leads the TxDefaults; min with Max 11/12 → 6, 8, 10.
        pytest.param((1, 2, 3), [(0, 6), (60, 8), (200, 10)], id="installed"),
        # steps 1-4, profile 1 cleared by id: 7, 9 (at ≥200: min(9, 12) = 9).
        pytest.param((2, 3), [(0, 7), (100, 9)], id="cleared-id-1"),
        # steps 5-8, TxDefault level 0 cleared: only the station max remains.
        pytest.param((3,), [(0, 11), (200, 12)], id="cleared-txdefault-level-0"),
        # steps 9-12, everything cleared: the local limit of the charging station.
        pytest.param((), [(0, LOCAL_A)], id="cleared-all"),
    ],
)
def test_E4_TC_067_composite_of_the_remaining_profiles(remaining, expected):
    """E4: after each ClearChargingProfile step the composite (350 s, no transaction) is that of what remains."""
    profiles = e4_profiles()
    result = composite(station(), [profiles[i] for i in remaining], duration=350)
    assert_periods(result, expected)


# -- E5–E8: validFrom, validTo, startSchedule, TxDefault during a transaction (2.0.1 OCTT) -------------------


def test_E5_TC_K_21_K01_FR_36_relative_profile_starts_at_valid_from():
    """E5: Relative TxDefault 0:6 valid from now+300 → the local limit, then 6 from 300 (K01.FR.36)."""
    installed = [(1, profile(1, TX_DEFAULT, [(0, 6)], kind=RELATIVE, valid_from=T0 + timedelta(seconds=300)))]
    result = composite(station(V201), installed, duration=400)
    assert_periods(result, [(0, LOCAL_A), (300, 6)])
    assert result.periods[0].governed_by == ()
    assert result.periods[0].is_local_limit
    assert result.periods[1].governed_by == (ref(installed[0]),)


def e6_profile(dev: int = 5) -> tuple[int, ChargingProfile]:
    """TxDefault on evse 0, Absolute from now, valid from now−dev to now+300, 0:6."""
    return (
        0,
        profile(
            1,
            TX_DEFAULT,
            [(0, 6)],
            valid_from=T0 - timedelta(seconds=dev),
            valid_to=T0 + timedelta(seconds=300),
        ),
    )


@pytest.mark.parametrize("evses", [1, 2, 3])
def test_E6_TC_K_22_K01_FR_37_valid_to_ends_the_limit_on_every_evse(evses):
    """E6: each EVSE reports 6 until validTo (300 s), then its local limit (K01.FR.37: valid while t < validTo)."""
    for evse in range(1, evses + 1):
        result = composite(station(V201, evses=evses), [e6_profile()], evse=evse, duration=400)
        assert_periods(result, [(0, 6), (300, LOCAL_A)])
        assert result.periods[1].is_local_limit


@pytest.mark.parametrize("evses", [1, 2, 3])
def test_E6_TC_K_22_A13_evse0_composite_is_the_sum_over_evses(evses):
    """E6 at evse 0: "6 × number of EVSEs", then each EVSE's local limit — summed: 48 × number of EVSEs.

    (Dialect table: the station-wide composite is the sum over EVSEs, each EVSE without a limit adding the
    default; TC_K_22 says "(300−x): local limit".)
    """
    result = composite(station(V201, evses=evses), [e6_profile()], evse=0, duration=400)
    assert_periods(result, [(0, 6 * evses), (300, LOCAL_A * evses)])


@pytest.mark.parametrize("dev", [0, 5])
def test_E7_TC_K_23_K01_FR_30_limit_starts_at_start_schedule_not_valid_from(dev):
    """E7: validFrom now−dev+50, startSchedule now−dev+60 → local limit, then 6 from 60−dev (K01.FR.30)."""
    installed = [
        (
            1,
            profile(
                1,
                TX_DEFAULT,
                [(0, 6)],
                start=T0 + timedelta(seconds=60 - dev),
                valid_from=T0 + timedelta(seconds=50 - dev),
                valid_to=T0 + timedelta(seconds=400 + dev),
            ),
        )
    ]
    result = composite(station(V201), installed, duration=300)
    assert_periods(result, [(0, LOCAL_A), (60 - dev, 6)])
    assert result.periods[0].is_local_limit


def test_E8_TC_K_28_K01_FR_32_tx_default_applies_to_the_running_transaction():
    """E8: a TxDefault 0:6 (duration 300) sent during a transaction governs it; cleared (TC_K_09) → local limit."""
    dev = 5
    item = (
        1,
        profile(
            1,
            TX_DEFAULT,
            [(0, 6)],
            duration=300,
            valid_from=T0 - timedelta(seconds=dev),
            valid_to=T0 + timedelta(seconds=300 + dev),
        ),
    )
    with_profile = composite(station(V201), [item], duration=300, transactions=[running()], simulate=False)
    assert_periods(with_profile, [(0, 6)])
    cleared = composite(station(V201), [], duration=300, transactions=[running()], simulate=False)
    assert_periods(cleared, [(0, LOCAL_A)])


# -- E9: station max and an evse-0 TxDefault with several EVSEs ----------------------------------------------


@pytest.mark.parametrize(("evses", "station_total"), [(2, 20), (4, 32)])
def test_E9_station_max_caps_the_sum_of_evse_tx_defaults(evses, station_total):
    """E9: TxDefault 10 A on evse 0 counts on every EVSE; evse 0 = min(10 × EVSEs, Max 32); each EVSE = 10."""
    max_ = (0, profile(1, MAX, [(0, 32)]))
    tx_default = (0, profile(2, TX_DEFAULT, [(0, 10)]))
    config = station(V201, evses=evses)
    total = composite(config, [max_, tx_default], evse=0, duration=3_600)
    assert_periods(total, [(0, station_total)])
    if station_total == 32:
        assert total.periods[0].governed_by == (ref(max_),)
    for evse in range(1, evses + 1):
        one = composite(config, [max_, tx_default], evse=evse, duration=3_600)
        assert_periods(one, [(0, 10)])
        assert one.periods[0].governed_by == (ref(tx_default),)


# -- E10: mixing A and W, numberPhases (K01.FR.49/50, 2.0.1 §3.7) ---------------------------------------------


def e10_profiles() -> list[tuple[int, ChargingProfile]]:
    """Max Recurring Daily from 2024-01-17 (A): 16/1ph, 16/3ph, 10/1ph, 10/3ph each hour; TxDefault Relative W."""
    return [
        (
            0,
            profile(
                1,
                MAX,
                [(0, 16, 1), (3_600, 16, 3), (7_200, 10, 1), (10_800, 10, 3)],
                kind=RECURRING,
                recurrency=RecurrencyKind.DAILY,
                start=utc(2024, 1, 17),
            ),
        ),
        (
            1,
            profile(
                2,
                TX_DEFAULT,
                [(0, 12_420), (300, 8_280), (600, 6_210), (900, 4_140), (1_200, 2_070)],
                kind=RELATIVE,
                duration=3_600,
                unit=W,
            ),
        ),
    ]


@pytest.mark.parametrize("version", [V16, V201])
@pytest.mark.parametrize(
    ("hour", "unit", "expected", "phases"),
    [
        # 3 phases: 12420/690 = 18 → min 16; 8280/690 = 12; 9; 6; 3.
        (1, A, [(0, 16), (300, 12), (600, 9), (900, 6), (1_200, 3)], 3),
        # 1 phase (min of Max 1 and default 3): 54, 36, 27, 18 → 16; 2070/230 = 9.
        (0, A, [(0, 16), (1_200, 9)], 1),
        # 3 phases, Max 10: 18, 12 → 10; then 9, 6, 3.
        (3, A, [(0, 10), (600, 9), (900, 6), (1_200, 3)], 3),
        # W, 1 phase: Max 10 A × 230 × 1 = 2300 W; only 2070 W is lower.
        (2, W, [(0, 2_300), (1_200, 2_070)], 1),
        # W, 3 phases: 10 A × 690 = 6900 W; then 6210, 4140, 2070.
        (3, W, [(0, 6_900), (600, 6_210), (900, 4_140), (1_200, 2_070)], 3),
    ],
)
def test_E10_K01_FR_50_conversion_uses_the_composite_periods_phases(version, hour, unit, expected, phases):
    """E10 (composites on 2024-01-02, before the Max's startSchedule: A7): phases = min over contributing profiles."""
    result = composite(station(version), e10_profiles(), start=utc(2024, 1, 2, hour), duration=3_600, unit=unit)
    assert_periods(result, expected)
    assert {p.number_phases for p in result.periods} == {phases}


def test_E10_A10_converted_periods_are_marked_and_attributed():
    """At 01:00 in A: 16 A is the Max's own limit; 12 A … 3 A are the TxDefault's watts converted (A10)."""
    max_, tx_default = e10_profiles()
    result = composite(station(V201), [max_, tx_default], start=utc(2024, 1, 2, 1), duration=3_600)
    assert [p.transformed for p in result.periods] == [False, True, True, True, True]
    assert [p.governed_by for p in result.periods] == [(ref(max_),)] + [(ref(tx_default),)] * 4


# -- E11: Relative and Recurring anchoring -----------------------------------------------------------------------


def test_E11a_relative_profile_is_anchored_at_transaction_start():
    """E11a: Relative 0:32, 3600:6 valid 12:00–20:00; plugged in at 10:00 → local limit, then 6 A from 12:00."""
    day = utc(2024, 3, 5)
    item = (
        1,
        profile(
            1,
            TX_DEFAULT,
            [(0, 32), (3_600, 6)],
            stack_level=1,
            kind=RELATIVE,
            valid_from=day + timedelta(hours=12),
            valid_to=day + timedelta(hours=20),
        ),
    )
    plugged = day + timedelta(hours=10)
    result = composite(station(V201), [item], start=plugged, duration=4 * 3_600, transactions=[running(start=plugged)])
    assert_periods(result, [(0, LOCAL_A), (7_200, 6)])


def test_E11a_relative_profile_ends_at_valid_to():
    """E11a: plugged in at 19:50 → 32 A for 10 minutes, then validTo (20:00) ends the profile."""
    day = utc(2024, 3, 5)
    item = (
        1,
        profile(
            1,
            TX_DEFAULT,
            [(0, 32), (3_600, 6)],
            stack_level=1,
            kind=RELATIVE,
            valid_from=day + timedelta(hours=12),
            valid_to=day + timedelta(hours=20),
        ),
    )
    plugged = day + timedelta(hours=19, minutes=50)
    result = composite(station(V201), [item], start=plugged, duration=3_600, transactions=[running(start=plugged)])
    assert_periods(result, [(0, 32), (600, LOCAL_A)])


def e11_recurring(duration: int | None = None, valid: tuple[datetime, datetime] | None = None):
    return (
        1,
        profile(
            1,
            TX_DEFAULT,
            [(0, 32), (3_600, 6)],
            kind=RECURRING,
            recurrency=RecurrencyKind.DAILY,
            start=utc(2024, 1, 1, 12),
            duration=duration,
            valid_from=valid[0] if valid else None,
            valid_to=valid[1] if valid else None,
        ),
    )


def test_E11b_daily_recurrence_continues_the_previous_day():
    """E11b: plugged in 2024-01-10 11:50 → 6 A (yesterday's occurrence) for 10 min, 32 A at 12:00, 6 A at 13:00."""
    plugged = utc(2024, 1, 10, 11, 50)
    result = composite(
        station(V201), [e11_recurring()], start=plugged, duration=7_200, transactions=[running(start=plugged)]
    )
    assert_periods(result, [(0, 6), (600, 32), (4_200, 6)])


E11C_VALIDITY = (utc(2024, 2, 1, 12), utc(2024, 3, 1, 9))


def test_E11c_R16_09_recurrence_with_duration_falls_back_to_default():
    """E11c: duration 5 h, so the 2024-02-09 occurrence ended at 17:00.

    Plugged in 2024-02-10 11:50: local limit, 32 A at 12:00, 6 A at 13:00, local limit again at 17:00.
    """
    plugged = utc(2024, 2, 10, 11, 50)
    result = composite(
        station(V201),
        [e11_recurring(18_000, E11C_VALIDITY)],
        start=plugged,
        duration=6 * 3_600,
        transactions=[running(start=plugged)],
    )
    assert_periods(result, [(0, LOCAL_A), (600, 32), (4_200, 6), (18_600, LOCAL_A)])


def test_E11c_no_occurrence_active_before_valid_to_means_local_limit():
    """E11c, 2024-03-01 08:00: yesterday's occurrence ran 12:00–17:00 and validTo is 09:00, so the local limit
    applies throughout (the libocpp doc's "6 A until 09:00" is the error noted in E11c and is not reproduced)."""
    plugged = utc(2024, 3, 1, 8)
    result = composite(
        station(V201),
        [e11_recurring(18_000, E11C_VALIDITY)],
        start=plugged,
        duration=7_200,
        transactions=[running(start=plugged)],
    )
    assert_periods(result, [(0, LOCAL_A)])
    assert result.periods[0].is_local_limit


# -- further single rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("max_limit", "tx_limit", "expected"), [(10, 16, 10), (20, 16, 16)])
def test_R16_08_composite_is_min_of_max_and_tx(max_limit, tx_limit, expected):
    """R16-08: composite = min(ChargePointMax, TxProfile)."""
    installed = [(0, profile(1, MAX, [(0, max_limit)])), (1, profile(2, TX, [(0, tx_limit)], transaction_id=TX_ID))]
    result = composite(station(), installed, duration=600, transactions=[running()])
    assert_periods(result, [(0, expected)])


def test_K01_FR_11_K01_FR_12_periods_at_or_after_duration_are_not_executed():
    """K01.FR.11/12: 0:6 holds until 100 s (duration); 100:8 and 150:4 start at/after it and never run."""
    installed = [(1, profile(1, TX_DEFAULT, [(0, 6), (100, 8), (150, 4)], duration=100))]
    assert_periods(composite(station(), installed, duration=300), [(0, 6), (100, LOCAL_A)])


def test_R16_09_nothing_beyond_the_recurrence_period_is_executed():
    """R16-09: a daily schedule with a period at 25 h: that period is cut by the next day's occurrence.

    Window 23:30 + 2 h: 8 A (from 01:00 the day before) until midnight, 6 A from the new occurrence, 8 A at 01:00.
    """
    installed = [
        (
            1,
            profile(
                1,
                TX_DEFAULT,
                [(0, 6), (3_600, 8), (90_000, 2)],
                kind=RECURRING,
                recurrency=RecurrencyKind.DAILY,
                start=utc(2024, 1, 1),
            ),
        )
    ]
    result = composite(station(), installed, start=utc(2024, 3, 5, 23, 30), duration=7_200)
    assert_periods(result, [(0, 8), (1_800, 6), (5_400, 8)])


def test_K08_FR_06_everest_computes_as_if_a_transaction_ran():
    """K08.FR.06: no transaction → TxDefault still counts; a Relative one is anchored at the request start."""
    installed = [(1, profile(1, TX_DEFAULT, [(0, 10), (120, 12)], kind=RELATIVE, duration=300))]
    result = composite(station(V201), installed, duration=600)
    assert_periods(result, [(0, 10), (120, 12), (300, LOCAL_A)])


def test_K01_FR_09_33_v201_tx_profile_only_for_its_transaction():
    """2.0.1: a TxProfile applies to the transaction whose id it names (K01.FR.04/33), otherwise not at all."""
    installed = [(1, profile(1, TX_DEFAULT, [(0, 10)])), (1, profile(2, TX, [(0, 6)], transaction_id=TX_ID))]
    mine = composite(station(V201), installed, duration=60, transactions=[running()])
    other = composite(
        station(V201), installed, duration=60, transactions=[Transaction(1, "other", T0 - timedelta(minutes=5))]
    )
    assert_periods(mine, [(0, 6)])
    assert_periods(other, [(0, 10)])


# -- layers --------------------------------------------------------------------------------------------------


def test_with_layers_returns_one_layer_per_purpose_present():
    """E2 with layers: one stacked layer each for TxProfile, TxDefault and Max, in their own units and sources."""
    max_, tx_default, tx = e2_profiles(V16)
    result = composite(station(), [max_, tx_default, tx], duration=400, transactions=[running()], layers=True)
    by_purpose = {layer.purpose: layer for layer in result.layers}
    assert sorted(layer.purpose for layer in result.layers) == sorted([MAX, TX_DEFAULT, TX])

    def shape(purpose):
        return [(p.start_period, p.limit) for p in by_purpose[purpose].periods]

    assert shape(TX_DEFAULT) == [(0, 6), (60, 10), (120, 8), (180, 15), (260, 8), (300, None)]
    assert shape(TX) == [(0, 8), (50, 11), (140, 16), (200, 6), (240, 12), (260, None)]
    assert shape(MAX) == [(0, 10)]
    assert {p.source for p in by_purpose[TX].periods if p.limit is not None} == {ref(tx)}
    assert {p.unit for p in by_purpose[MAX].periods} == {A}


@pytest.mark.parametrize(
    "purposes",
    [(), (MAX,), (TX_DEFAULT,), (TX_DEFAULT, TX_DEFAULT), (MAX, TX_DEFAULT, TX, EXTERNAL)],
    ids=["none", "max", "txdefault", "two-txdefaults", "all-four"],
)
def test_with_layers_one_layer_per_purpose_for_any_set(purposes):
    """Two profiles of one purpose still make one layer; no profiles, no layers; ``with_layers=False``, none."""
    installed = [
        (0 if purpose is MAX else 1, profile(i, purpose, [(0, 10 + i)], stack_level=i, transaction_id=TX_ID))
        for i, purpose in enumerate(purposes, start=1)
    ]
    result = composite(station(V201), installed, duration=60, transactions=[running()], layers=True)
    assert sorted(layer.purpose for layer in result.layers) == sorted(set(purposes))
    plain = composite(station(V201), installed, duration=60, transactions=[running()])
    assert plain.layers == ()
    assert plain.periods == result.periods


# -- MicroOcpp: where the families disagree (conformance/README.md dialect table) -------------------------------


def micro(evses: int = 1) -> StationConfig:
    return station(V16, MICROOCPP, evses=evses)


def test_A24_microocpp_reports_minus_one_where_nothing_limits():
    """A24: MicroOcpp reports -1 ("undefined") where EVerest reports its local limit."""
    assert_periods(composite(micro(), [], duration=600), [(0, -1)])
    assert_periods(composite(station(), [], duration=600), [(0, LOCAL_A)])
    item = (1, profile(1, TX_DEFAULT, [(0, 10)], duration=300))
    assert_periods(composite(micro(), [item], duration=600, transactions=[running()]), [(0, 10), (300, -1)])


def test_A13_microocpp_station_composite_is_the_station_max_only():
    """A13: connector 0 in MicroOcpp = the ChargePointMax alone (32), not min(Σ TxDefault, Max) = 20 as in E9."""
    max_ = (0, profile(1, MAX, [(0, 32)]))
    tx_default = (0, profile(2, TX_DEFAULT, [(0, 10)]))
    both = [running(1), running(2)]
    assert_periods(composite(micro(2), [max_, tx_default], evse=0, duration=600, transactions=both), [(0, 32)])
    assert_periods(composite(micro(2), [tx_default], evse=0, duration=600, transactions=both), [(0, -1)])


def test_K08_FR_06_microocpp_counts_tx_default_only_with_a_transaction():
    """MicroOcpp ignores K08.FR.06: without a transaction the TxDefault does not count, even when simulating."""
    item = (1, profile(1, TX_DEFAULT, [(0, 10)]))
    assert_periods(composite(micro(), [item], duration=600, simulate=True), [(0, -1)])
    assert_periods(composite(micro(), [item], duration=600, transactions=[running()]), [(0, 10)])
    assert_periods(composite(station(), [item], duration=600, simulate=True), [(0, 10)])


@pytest.mark.parametrize(("unit", "micro_limit"), [(A, 16), (W, 2_000)])
def test_A10_microocpp_keeps_amps_and_watts_apart(unit, micro_limit):
    """A10: Max 16 A and TxDefault 2000 W. MicroOcpp answers each unit from its own profiles only; EVerest
    converts: in A min(16, 2000/690 ≈ 2.90), in W min(2000, 16 × 690 = 11040) = 2000."""
    installed = [(0, profile(1, MAX, [(0, 16)])), (1, profile(2, TX_DEFAULT, [(0, 2_000)], unit=W))]
    tx = [running()]
    assert_periods(composite(micro(), installed, duration=600, unit=unit, transactions=tx), [(0, micro_limit)])
    everest_limit = 2_000 / 690 if unit is A else 2_000
    assert_periods(composite(station(), installed, duration=600, unit=unit, transactions=tx), [(0, everest_limit)])


def equal_neighbours() -> tuple[int, ChargingProfile]:
    """A TxDefault whose first two periods have the same limit: 0:10, 100:10, 200:12."""
    return (1, profile(1, TX_DEFAULT, [(0, 10), (100, 10), (200, 12)]))


def test_everest_merges_equal_neighbours():
    """Dialect table: EVerest reports a new period only where limit or numberPhases (1.6: or stack level) change."""
    result = composite(station(), [equal_neighbours()], duration=600, transactions=[running()])
    assert_periods(result, [(0, 10), (200, 12)])


def test_microocpp_never_merges_equal_neighbours():
    """Dialect table: MicroOcpp emits a period at every change point of a schedule (its getCompositeSchedule loop
    steps from one period boundary to the next), so 0:10, 100:10 stay two periods."""
    result = composite(micro(), [equal_neighbours()], duration=600, transactions=[running()])
    assert_periods(result, [(0, 10), (100, 10), (200, 12)])


def test_A19_microocpp_min_charging_rate_is_a_floor():
    """A19: minChargingRate 8 on a 6 A schedule raises MicroOcpp's limit to 8; EVerest ignores it (informative)."""
    item = (1, profile(1, TX_DEFAULT, [(0, 6)], min_rate=8))
    tx = [running()]
    assert_periods(composite(micro(), [item], duration=600, transactions=tx), [(0, 8)])
    assert_periods(composite(station(), [item], duration=600, transactions=tx), [(0, 6)])


def test_A4_R16_06_microocpp_evse_tx_default_hides_station_tx_default():
    """A4 / R16-06: MicroOcpp — the connector's own TxDefault (level 0, 16) wins over the connector-0 one (level 2,
    10) on that connector only; EVerest pools both and the higher stack level (10) wins."""
    installed = [(0, profile(1, TX_DEFAULT, [(0, 10)], stack_level=2)), (1, profile(2, TX_DEFAULT, [(0, 16)]))]
    tx = [running(1), running(2)]
    assert_periods(composite(micro(2), installed, evse=1, duration=600, transactions=tx), [(0, 16)])
    assert_periods(composite(micro(2), installed, evse=2, duration=600, transactions=tx), [(0, 10)])
    assert_periods(composite(station(V16, evses=2), installed, evse=1, duration=600, transactions=tx), [(0, 10)])
