"""K15.FR.11 / FR.12: the CSMS accepts the EV's schedule only if it stays within the limits it was given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wattcap.core.fleet.ev_schedule import ev_schedule_excesses
from wattcap.core.model import (
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    CompositePeriod,
    CompositeSchedule,
    ProfileRef,
)

T0 = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)
TX = (ProfileRef(50_000, ChargingProfilePurpose.TX, 0, 1),)


def limits(*steps: tuple[int, float, bool], unit: ChargingRateUnit = ChargingRateUnit.A) -> CompositeSchedule:
    periods = tuple(CompositePeriod(s, limit, governed_by=TX if governed else ()) for s, limit, governed in steps)
    return CompositeSchedule(1, T0, 4 * 3600, unit, periods)


def ev(*steps: tuple[int, float], unit: ChargingRateUnit = ChargingRateUnit.A, duration: int | None = None,
       start: datetime | None = None) -> ChargingSchedule:
    periods = tuple(ChargingSchedulePeriod(s, limit=v) for s, v in steps)
    return ChargingSchedule(unit, periods, start_schedule=start, duration=duration)


def test_K15_FR_11_a_schedule_within_the_limits_is_accepted() -> None:
    given = limits((0, 32.0, True), (3600, 16.0, True))
    assert ev_schedule_excesses(ev((0, 32.0), (3600, 16.0)), T0, given) == ()
    assert ev_schedule_excesses(ev((0, 20.0), (1800, 10.0)), T0, given) == ()


def test_K15_FR_12_a_schedule_above_the_limit_is_named_with_when_and_how_much() -> None:
    given = limits((0, 32.0, True), (3600, 16.0, True))
    # The EV keeps 32 A past the drop to 16 A at one hour.
    [excess] = ev_schedule_excesses(ev((0, 32.0)), T0, given)
    assert excess.at == T0 + timedelta(hours=1)
    assert (excess.planned, excess.limit) == (32.0, 16.0)


def test_K15_FR_12_an_ev_schedule_in_watts_is_compared_through_voltage_and_phases() -> None:
    given = limits((0, 16.0, True))
    assert ev_schedule_excesses(ev((0, 11_000.0), unit=ChargingRateUnit.W), T0, given) == ()  # 15.9 A
    [excess] = ev_schedule_excesses(ev((0, 22_000.0), unit=ChargingRateUnit.W), T0, given)
    assert round(excess.planned, 1) == 31.9


def test_wire_rounding_is_not_an_excess() -> None:
    assert ev_schedule_excesses(ev((0, 16.05)), T0, limits((0, 16.0, True))) == ()


def test_where_no_profile_limits_the_evse_there_is_nothing_to_exceed() -> None:
    given = limits((0, 16.0, True), (3600, 48.0, False))
    assert ev_schedule_excesses(ev((0, 16.0), (3600, 40.0)), T0, given) == ()


def test_the_ev_schedule_is_judged_from_its_own_start_and_only_within_its_duration() -> None:
    given = limits((0, 32.0, True), (7200, 6.0, True))
    later = ev((0, 32.0), start=T0 + timedelta(minutes=30), duration=3600)  # ends before the drop
    assert ev_schedule_excesses(later, T0, given) == ()
    longer = ev((0, 32.0), start=T0 + timedelta(minutes=30), duration=3 * 3600)
    assert [e.at for e in ev_schedule_excesses(longer, T0, given)] == [T0 + timedelta(hours=2)]
