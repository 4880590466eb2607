"""Expected vs reported composites: the verdicts the control plane gives after every change."""

from __future__ import annotations

from wattcap.core.model import ChargingProfilePurpose, ChargingRateUnit, CompositePeriod, CompositeSchedule, ProfileRef
from wattcap.core.timeutil import utc
from wattcap.core.verification import (
    ReportedComposite,
    ReportedPeriod,
    Tolerance,
    Verdict,
    compare_composites,
)
from wattcap.ocpp.composite_json import reported_composite_from_json

START = utc(2026, 11, 25, 6)
REF = ProfileRef(7, ChargingProfilePurpose.TX_DEFAULT, 0, 1)


def expected(*periods: tuple[int, float, bool], unit: ChargingRateUnit = ChargingRateUnit.A) -> CompositeSchedule:
    """Periods as (startPeriod, limit, governed-by-a-profile)."""
    return CompositeSchedule(
        evse_id=1,
        schedule_start=START,
        duration=3600,
        charging_rate_unit=unit,
        periods=tuple(CompositePeriod(s, lim, 3, governed_by=(REF,) if gov else ()) for s, lim, gov in periods),
    )


def reported(
    *periods: tuple[int, float], unit: ChargingRateUnit = ChargingRateUnit.A, shift: int = 0, phases: int | None = None
) -> ReportedComposite:
    from datetime import timedelta

    return ReportedComposite(
        START + timedelta(seconds=shift), 3600, unit, tuple(ReportedPeriod(s, lim, phases) for s, lim in periods)
    )


def test_identical_schedules_are_applied():
    result = compare_composites(expected((0, 16, True), (1800, 10, True)), reported((0, 16), (1800, 10)))
    assert result.verdict is Verdict.APPLIED
    assert result.differences == ()


def test_a_different_limit_is_a_mismatch_with_the_interval_named():
    result = compare_composites(expected((0, 16, True), (1800, 10, True)), reported((0, 16), (1800, 12)))
    assert result.verdict is Verdict.MISMATCH
    [difference] = result.differences
    assert (difference.start, difference.end, difference.expected, difference.reported) == (1800, 3600, 10, 12)
    assert "1800s–3600s" in difference.describe(ChargingRateUnit.A)


def test_A9_time_base_a_few_seconds_late_is_not_a_difference():
    result = compare_composites(expected((0, 16, True), (1800, 10, True)), reported((0, 16), (1797, 10), shift=3))
    assert result.verdict is Verdict.APPLIED


def test_a_boundary_moved_beyond_the_tolerance_is_a_mismatch():
    result = compare_composites(expected((0, 16, True), (1800, 10, True)), reported((0, 16), (1860, 10)))
    assert result.verdict is Verdict.MISMATCH
    assert result.differences[0].start == 1800 and result.differences[0].end == 1860


def test_K08_FR_02_a_charger_that_answered_later_is_compared_from_its_receipt_on():
    # It received the request 12 s after wattcap computed the expected schedule: the seconds before are not a gap.
    result = compare_composites(expected((0, 16, True), (1800, 10, True)), reported((0, 16), (1788, 10), shift=12))
    assert result.verdict is Verdict.APPLIED
    late = compare_composites(expected((0, 16, True), (1800, 10, True)), reported((0, 16), (1848, 10), shift=12))
    assert late.verdict is Verdict.MISMATCH and late.differences[0].start == 1800


def test_A24_minus_one_matches_a_local_limit_period():
    result = compare_composites(expected((0, 16, True), (1800, 48, False)), reported((0, 16), (1800, -1)))
    assert result.verdict is Verdict.APPLIED


def test_A24_huge_default_matches_a_local_limit_period_when_declared_unconstrained():
    tolerance = Tolerance(unconstrained_at=1000)
    result = compare_composites(expected((0, 48, False)), reported((0, 1e6)), tolerance=tolerance)
    assert result.verdict is Verdict.APPLIED


def test_A10_A24_the_unconstrained_threshold_is_in_the_expected_unit():
    # 16 A reported as 11 040 W: far above a 48 A threshold as a number, but a real limit once converted.
    tolerance = Tolerance(unconstrained_at=48)
    watts = reported((0, 16 * 230 * 3), unit=ChargingRateUnit.W)
    assert compare_composites(expected((0, 16, True)), watts, tolerance=tolerance).verdict is Verdict.APPLIED


def test_A24_no_limit_where_a_profile_should_limit_is_a_mismatch():
    result = compare_composites(expected((0, 16, True)), reported((0, -1)))
    assert result.verdict is Verdict.MISMATCH
    assert result.differences[0].reported is None


def test_A10_reported_in_watts_is_converted_with_voltage_and_phases():
    result = compare_composites(expected((0, 16, True)), reported((0, 16 * 230 * 3), unit=ChargingRateUnit.W))
    assert result.verdict is Verdict.APPLIED
    one_phase = compare_composites(expected((0, 16, True)), reported((0, 3680), unit=ChargingRateUnit.W, phases=1))
    assert one_phase.verdict is Verdict.APPLIED


def test_small_rounding_is_within_tolerance():
    assert compare_composites(expected((0, 8.695652, True)), reported((0, 8.6))).verdict is Verdict.APPLIED
    assert compare_composites(expected((0, 8.7, True)), reported((0, 9.0))).verdict is Verdict.MISMATCH


def test_A9_reads_16_answer_with_start_schedule_only():
    payload = {
        "status": "Accepted",
        "connectorId": 1,
        "chargingSchedule": {
            "startSchedule": "2026-11-25T06:00:00Z",
            "duration": 3600,
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
        },
    }
    composite = reported_composite_from_json(payload, "1.6")
    assert composite is not None and composite.schedule_start == START
    assert compare_composites(expected((0, 16, True)), composite).verdict is Verdict.APPLIED


def test_reads_201_answer_and_rejected_gives_none():
    payload = {
        "status": "Accepted",
        "schedule": {
            "evseId": 1,
            "duration": 3600,
            "scheduleStart": "2026-11-25T06:00:00Z",
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11040.0, "numberPhases": 3}],
        },
    }
    composite = reported_composite_from_json(payload, "2.0.1")
    assert composite is not None and composite.periods[0].number_phases == 3
    assert compare_composites(expected((0, 16, True)), composite).verdict is Verdict.APPLIED
    assert reported_composite_from_json({"status": "Rejected"}, "2.0.1") is None


def test_dc_limits_in_the_other_unit_are_not_judged_without_the_dc_voltage():
    """A DC EVSE limited to 11 kW answers 27.5 A (at its 400 V DC): through 230 V x 3 phases that would read as
    18,975 W, a false mismatch. Without the DC voltage, A and W are not compared, and the check says so."""
    watts = ChargingRateUnit.W
    result = compare_composites(
        expected((0, 11_000.0, True), unit=watts), reported((0, 27.5), unit=ChargingRateUnit.A), voltage=None,
    )
    assert (result.verdict, result.differences, result.unjudged) == (Verdict.APPLIED, (), ((0, 3600),))
    assert "DC voltage" in (result.describe_unjudged() or "")
    # An expected period the engine converted from the other unit is not judged either; the rest is.
    converted = CompositeSchedule(
        evse_id=1, schedule_start=START, duration=3600, charging_rate_unit=watts,
        periods=(CompositePeriod(0, 11_000.0, 1, governed_by=(REF,)),
                 CompositePeriod(600, 6_900.0, 1, governed_by=(REF,), transformed=True)),
    )
    result = compare_composites(converted, reported((0, 11_000.0), (600, 20_000.0), unit=watts), voltage=None)
    assert (result.verdict, result.unjudged) == (Verdict.APPLIED, ((600, 3600),))
    result = compare_composites(converted, reported((0, 9_000.0), (600, 20_000.0), unit=watts), voltage=None)
    assert result.verdict is Verdict.MISMATCH and [(d.start, d.end) for d in result.differences] == [(0, 600)]
