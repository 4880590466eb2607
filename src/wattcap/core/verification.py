"""Does the charger do what it should? Expected vs reported composites, and measured draw vs the limit.

Chargers report composites in many shapes (A9, A10, A24): the other unit, ``-1`` or a huge default where
nothing limits, a time base a few seconds off because they computed on receipt. Comparing naively produces
false alarms; comparing loosely hides real failures. The rules here are explicit:

* both schedules are step functions over the same window; they are compared on every segment between the
  change points of either, after shifting the reported one onto the expected time base; a charger that answered
  later computed from its receipt on (K08.FR.02), so the seconds before its schedule start are not compared;
* a reported limit below zero, or at or above ``unconstrained_at``, means "no OCPP limit" and matches an
  expected local-limit period (one whose ``governed_by`` is empty);
* a reported schedule in the other unit is converted with the nominal voltage and the period's phases; with no
  voltage known (a DC EVSE: its A is a DC current, whose W depend on the DC voltage) nothing is converted, and
  what would need a conversion (a reported schedule in the other unit, an expected period the engine converted)
  is not judged but listed in :attr:`CompositeComparison.unjudged`;
* limits match within ``tolerance_abs`` or ``tolerance_rel`` (whichever is larger), start times within
  ``start_tolerance_s`` (a boundary that moved less than that is not a difference).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from wattcap.core.model import ChargingRateUnit, CompositeSchedule


class Verdict(StrEnum):
    APPLIED = "applied"  # the charger reports what wattcap expects
    MISMATCH = "mismatch"  # it reports something else (see the differences)
    REJECTED = "rejected"  # it refused the change (with its reason)
    UNSUPPORTED = "unsupported"  # it does not support the feature (NotSupported / NotImplemented)
    NO_ANSWER = "no_answer"  # it did not answer in time


@dataclass(frozen=True, slots=True)
class ReportedPeriod:
    start_period: int
    limit: float
    number_phases: int | None = None


@dataclass(frozen=True, slots=True)
class ReportedComposite:
    """A GetCompositeSchedule answer, normalised by the OCPP adapter (``ocpp/composite_json.py``)."""

    schedule_start: datetime
    duration: int | None
    charging_rate_unit: ChargingRateUnit
    periods: tuple[ReportedPeriod, ...]


@dataclass(frozen=True, slots=True)
class Tolerance:
    tolerance_abs: float = 0.1  # A (or W when comparing in W: set accordingly)
    tolerance_rel: float = 0.01
    start_tolerance_s: int = 5
    unconstrained_at: float | None = None  # reported limits >= this (in the expected unit) mean "no limit"

    def limits_match(self, expected: float, reported: float) -> bool:
        return abs(expected - reported) <= max(self.tolerance_abs, self.tolerance_rel * abs(expected))


@dataclass(frozen=True, slots=True)
class Difference:
    """Over ``[start, end)`` seconds from the expected schedule start, the two disagree."""

    start: int
    end: int
    expected: float | None  # None: no profile limits here (the local limit applies)
    reported: float | None  # None: the charger reports no limit here

    def describe(self, unit: ChargingRateUnit) -> str:
        def text(value: float | None) -> str:
            return "no limit" if value is None else f"{value:g} {unit.value}"

        return f"{self.start}s–{self.end}s: expected {text(self.expected)}, reported {text(self.reported)}"


@dataclass(frozen=True, slots=True)
class CompositeComparison:
    verdict: Verdict
    differences: tuple[Difference, ...] = ()
    unjudged: tuple[tuple[int, int], ...] = ()  # [start, end) seconds not compared: a conversion needs the voltage

    def describe_unjudged(self) -> str | None:
        if not self.unjudged:
            return None
        spans = ", ".join(f"{a}s–{b}s" for a, b in self.unjudged)
        return f"not compared over {spans}: A and W of a DC EVSE convert only with its DC voltage, which is unknown"


def _expected_steps(expected: CompositeSchedule) -> list[tuple[int, float | None]]:
    return [(p.start_period, None if p.is_local_limit else p.limit) for p in expected.periods]


def _shift(reported: ReportedComposite, expected: CompositeSchedule, tolerance: Tolerance) -> int:
    """Seconds from the expected schedule start to the reported one (0 within the start tolerance: the charger
    computed on receipt, a moment later, and reports the same schedule)."""
    shift = round((reported.schedule_start - expected.schedule_start).total_seconds())
    return 0 if abs(shift) <= tolerance.start_tolerance_s else shift


def _reported_steps(reported: ReportedComposite, expected: CompositeSchedule, *, voltage: float | None,
                    default_phases: int, tolerance: Tolerance) -> list[tuple[int, float | None]]:
    shift = _shift(reported, expected, tolerance)
    want = expected.charging_rate_unit
    steps: list[tuple[int, float | None]] = []
    for period in reported.periods:
        limit: float | None = period.limit
        if limit < 0:
            limit = None
        else:
            if reported.charging_rate_unit is not want:
                assert voltage is not None  # the caller does not compare other-unit answers without one
                factor = voltage * (period.number_phases or default_phases)
                limit = limit * factor if want is ChargingRateUnit.W else limit / factor
            # unconstrained_at is in the expected unit, so it is applied after the conversion.
            if tolerance.unconstrained_at is not None and limit >= tolerance.unconstrained_at:
                limit = None
        steps.append((max(0, period.start_period + shift), limit))
    if not steps or steps[0][0] > 0:
        steps.insert(0, (0, None))
    return steps


def _value_at(steps: list[tuple[int, float | None]], t: int) -> float | None:
    value = steps[0][1]
    for start, limit in steps:
        if start > t:
            break
        value = limit
    return value


def compare_composites(expected: CompositeSchedule, reported: ReportedComposite, *, voltage: float | None = 230.0,
                       default_phases: int = 3, tolerance: Tolerance | None = None) -> CompositeComparison:
    """Compare over the expected window; :attr:`Verdict.APPLIED` or :attr:`Verdict.MISMATCH` with differences.

    ``voltage`` None: A and W cannot be converted (see the module notes); the parts that would need it are left
    out, and an answer that is all in the other unit is compared nowhere (APPLIED, with everything unjudged)."""
    tolerance = tolerance or Tolerance()
    end = max(expected.duration, 1)
    if voltage is None and reported.charging_rate_unit is not expected.charging_rate_unit:
        return CompositeComparison(Verdict.APPLIED, (), ((0, end),))
    want = _expected_steps(expected)
    got = _reported_steps(reported, expected, voltage=voltage, default_phases=default_phases, tolerance=tolerance)
    unjudged = _converted_spans(expected, end) if voltage is None else []
    # K08.FR.02: the charger computes "from the moment of message receipt"; one that received the request more than
    # the tolerance later (a slow link, a busy charger) says nothing about the time before, which is not a gap.
    covered = max(0, _shift(reported, expected, tolerance))
    points = sorted({s for s, _ in want} | {s for s, _ in got} | {covered})
    points = [p for p in points if covered <= p < end]
    raw: list[Difference] = []
    for i, start in enumerate(points):
        stop = points[i + 1] if i + 1 < len(points) else end
        if any(a <= start < b for a, b in unjudged):
            continue
        a, b = _value_at(want, start), _value_at(got, start)
        same = (a is None and b is None) or (a is not None and b is not None and tolerance.limits_match(a, b))
        if not same:
            raw.append(Difference(start, stop, a, b))
    differences = _drop_boundary_jitter(_merge(raw), tolerance.start_tolerance_s)
    return CompositeComparison(
        Verdict.MISMATCH if differences else Verdict.APPLIED, tuple(differences), tuple(unjudged)
    )


def _converted_spans(expected: CompositeSchedule, end: int) -> list[tuple[int, int]]:
    """Where the expected limit is the engine's conversion from the other unit (with a voltage it assumed)."""
    spans: list[tuple[int, int]] = []
    periods = expected.periods
    for i, period in enumerate(periods):
        if period.transformed:
            stop = periods[i + 1].start_period if i + 1 < len(periods) else end
            if spans and spans[-1][1] == period.start_period:
                spans[-1] = (spans[-1][0], stop)
            else:
                spans.append((period.start_period, stop))
    return spans


def _merge(differences: Sequence[Difference]) -> list[Difference]:
    out: list[Difference] = []
    for d in differences:
        if out and out[-1].end == d.start and (out[-1].expected, out[-1].reported) == (d.expected, d.reported):
            out[-1] = Difference(out[-1].start, d.end, d.expected, d.reported)
        else:
            out.append(d)
    return out


def _drop_boundary_jitter(differences: list[Difference], start_tolerance_s: int) -> list[Difference]:
    """A difference no longer than the start tolerance is a boundary the charger placed a moment off."""
    return [d for d in differences if d.end - d.start > start_tolerance_s]
