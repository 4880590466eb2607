"""Measured draw against the effective limit, with the reaction allowance (A17, A16, R16-10 units)."""

from __future__ import annotations

from datetime import timedelta

from wattcap.core.events import Measurand, MeterSample
from wattcap.core.lifecycle import DrawTolerance, find_violations, limit_steps
from wattcap.core.model import ChargingRateUnit, CompositePeriod, CompositeSchedule, ProfileRef

from .holdings_helpers import T0, TX_DEFAULT

A, W = ChargingRateUnit.A, ChargingRateUnit.W
REF = (ProfileRef(30_000, TX_DEFAULT, 0, 1),)


def composite(start_s: int, *periods: tuple[int, float | None], unit=A, duration=3600) -> CompositeSchedule:
    return CompositeSchedule(
        evse_id=1,
        schedule_start=T0 + timedelta(seconds=start_s),
        duration=duration,
        charging_rate_unit=unit,
        periods=tuple(
            CompositePeriod(s, limit or 48.0, number_phases=3, governed_by=REF if limit else ())
            for s, limit in periods
        ),
    )


def amps(at_s: int, *per_phase: float) -> list[MeterSample]:
    return [
        MeterSample(T0 + timedelta(seconds=at_s), Measurand.CURRENT_IMPORT, v, "A", phase=f"L{i + 1}")
        for i, v in enumerate(per_phase)
    ]


def watts(at_s: int, value: float) -> list[MeterSample]:
    return [MeterSample(T0 + timedelta(seconds=at_s), Measurand.POWER_ACTIVE_IMPORT, value, "W")]


def test_A17_drawing_above_the_limit_is_a_violation_with_its_peak_and_span():
    timeline = [composite(0, (0, 10.0))]
    samples = amps(60, 9, 9, 9) + amps(120, 16, 15, 16) + amps(180, 17, 16, 12) + amps(240, 10, 10, 10)
    [v] = find_violations(timeline, samples, reaction_s=30)
    assert (v.start, v.end, v.allowed, v.measured, v.unit, v.samples) == (
        T0 + timedelta(seconds=120), T0 + timedelta(seconds=180), 10.0, 17.0, A, 2,
    )
    assert "drew 17 A where 10 A was allowed" in v.describe()


def test_reaction_time_allowance_after_a_limit_drops():
    timeline = [composite(0, (0, 16.0), (600, 6.0))]
    # 20 s after the drop the old 16 A still counts; 40 s after it, 6 A does.
    assert find_violations(timeline, amps(620, 15, 15, 15), reaction_s=30) == []
    [v] = find_violations(timeline, amps(640, 15, 15, 15), reaction_s=30)
    assert v.allowed == 6.0
    # A raise applies at once: no grace is needed to draw more.
    raised = [composite(0, (0, 6.0), (600, 16.0))]
    assert find_violations(raised, amps(601, 15, 15, 15), reaction_s=30) == []


def test_a_later_composite_replaces_an_earlier_one_from_its_start():
    timeline = [composite(0, (0, 16.0)), composite(300, (0, 8.0))]
    steps = limit_steps(timeline)
    assert [(s.start - T0, s.limit) for s in steps] == [(timedelta(0), 16.0), (timedelta(seconds=300), 8.0)]
    assert find_violations(timeline, amps(200, 15, 15, 15)) == []
    assert len(find_violations(timeline, amps(400, 15, 15, 15))) == 1


def test_unknown_or_unlimited_times_are_not_judged():
    timeline = [composite(100, (0, 10.0), (600, None))]
    assert find_violations(timeline, amps(50, 30, 30, 30)) == []  # before wattcap knew a limit
    assert find_violations(timeline, amps(700, 30, 30, 30)) == []  # the local limit: not wattcap's to judge
    assert find_violations(timeline, amps(5000, 30, 30, 30)) == []  # after the composite's window
    assert find_violations(timeline, amps(110, 30, 30, 30), reaction_s=30) == []  # within the reaction window


def test_tolerance_absorbs_meter_noise():
    timeline = [composite(0, (0, 10.0))]
    assert find_violations(timeline, amps(60, 10.9, 10.4, 10.0)) == []
    assert len(find_violations(timeline, amps(60, 11.2, 10.0, 10.0))) == 1
    loose = DrawTolerance(abs_current_a=2.0)
    assert find_violations(timeline, amps(60, 11.9, 10.0, 10.0), tolerance=loose) == []


def test_power_limits_are_judged_on_total_power_and_current_limits_convert_power():
    power_limit = [composite(0, (0, 6900.0), unit=W)]  # 10 A x 3 x 230 V
    assert find_violations(power_limit, watts(60, 7000)) == []
    [v] = find_violations(power_limit, watts(60, 11_040))
    assert (v.unit, v.measured) == (W, 11_040)
    # Per-phase currents against a W limit: summed and multiplied by the nominal voltage.
    [v] = find_violations(power_limit, amps(60, 16, 16, 16))
    assert v.measured == 16 * 3 * 230
    # Total power against an A limit: divided by voltage and phases.
    current_limit = [composite(0, (0, 10.0))]
    [v] = find_violations(current_limit, watts(60, 11_040))
    assert v.measured == 16.0


def test_a_dc_limit_is_held_against_the_dc_measurand_of_its_own_unit_never_through_an_ac_voltage():
    """A DC EVSE's A limit is a DC current: 40 kW at 50 A DC (800 V) is within it, though 40 kW / (230 V x 3) is
    58 A. Without the DC voltage a sample in the other unit, or a limit of the reaction window in the other unit,
    is not judged."""
    dc = DrawTolerance(voltage_v=None, default_phases=1)
    current_limit = [composite(0, (0, 50.0))]
    assert find_violations(current_limit, watts(60, 40_000), tolerance=dc) == []
    dc_current = [MeterSample(T0 + timedelta(seconds=60), Measurand.CURRENT_IMPORT, 60.0, "A")]
    [v] = find_violations(current_limit, dc_current, tolerance=dc)
    assert (v.unit, v.measured, v.allowed) == (A, 60.0, 50.0)
    power_limit = [composite(0, (0, 20_000.0), unit=W)]
    assert find_violations(power_limit, amps(60, 60.0), tolerance=dc) == []
    [v] = find_violations(power_limit, watts(60, 22_000), tolerance=dc)  # 5 %: no AC amperes in the margin
    assert (v.unit, v.measured) == (W, 22_000)
    in_amps_then_watts = [composite(0, (0, 50.0)), composite(100, (0, 20_000.0), unit=W)]
    assert find_violations(in_amps_then_watts, watts(110, 30_000), reaction_s=30, tolerance=dc) == []
