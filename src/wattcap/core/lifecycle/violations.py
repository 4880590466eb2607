"""Does the charger keep to its limit? Measured current and power against the effective limit over time.

An accepted profile and a matching composite schedule are still no proof: chargers accept and ignore (A17), apply
a new default only to the next session (A16), or take tens of seconds to react (A17, libocpp #811). The meter
is the ground truth. A sample is judged against the limit the expected composite schedules set at its time:

* the limit in force is a step function built from the composites wattcap computed after each change
  (:func:`limit_steps`); a later composite replaces an earlier one from its start on;
* after a limit drops or first appears, the charger and the EV get ``reaction_s`` to follow: a sample at ``t`` is
  allowed the highest limit in force anywhere in ``[t - reaction_s, t]`` and is not judged when part of that
  window had no known limit; a raise applies at once;
* instants without a known limit, or where no profile limits the EVSE (the station's local limit), are not
  judged: wattcap cannot say what the charger may draw there;
* the comparison is in the unit of the limit in force: per-phase current (the highest phase) for ``A``, total
  active power for ``W``; a measurand in the other unit is converted with the nominal voltage and the phases;
  with no voltage known (a DC EVSE: its A is a DC current, its W depend on the DC voltage) nothing is converted,
  and a sample that would need it is not judged;
* a draw above ``allowed + max(abs, rel × allowed)`` is a violation; consecutive violating samples are one
  :class:`Violation` with the peak.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from wattcap.core.events import Measurand, MeterSample
from wattcap.core.model import ChargingRateUnit, CompositeSchedule

_A = ChargingRateUnit.A
_W = ChargingRateUnit.W


@dataclass(frozen=True, slots=True)
class DrawTolerance:
    """How far above its limit a charger may draw before wattcap calls it a violation.

    ``abs_current_a`` is per phase (1 A: meters and EVs are not exact, and IEC 61851 pilot duty cycles quantise the
    current); in W it becomes ``abs_current_a × voltage × phases``, or nothing without a voltage (DC: ``rel``
    alone). ``rel`` is a fraction of the limit. ``voltage_v`` None: A and W are not converted (DC, voltage unknown).
    """

    abs_current_a: float = 1.0
    rel: float = 0.05
    voltage_v: float | None = 230.0
    default_phases: int = 3

    def margin(self, allowed: float, unit: ChargingRateUnit, phases: int) -> float:
        if unit is _A:
            absolute = self.abs_current_a
        else:
            absolute = 0.0 if self.voltage_v is None else self.abs_current_a * self.voltage_v * phases
        return max(absolute, self.rel * allowed)


@dataclass(frozen=True, slots=True)
class LimitStep:
    """From ``start`` until ``end`` the EVSE may draw ``limit`` (None: no OCPP limit applies)."""

    start: datetime
    end: datetime
    limit: float | None
    unit: ChargingRateUnit
    number_phases: int | None


@dataclass(frozen=True, slots=True)
class Violation:
    """From ``start`` to ``end`` (the first and last violating samples) the EVSE drew up to ``measured`` while it
    was allowed ``allowed`` (both in ``unit``), over ``samples`` sampled instants."""

    evse_id: int
    start: datetime
    end: datetime
    allowed: float
    measured: float
    unit: ChargingRateUnit
    samples: int

    def describe(self) -> str:
        return (
            f"evse {self.evse_id} drew {self.measured:g} {self.unit.value} where {self.allowed:g} {self.unit.value} "
            f"was allowed, {self.start.isoformat()} to {self.end.isoformat()} ({self.samples} samples)"
        )


def limit_steps(timeline: Sequence[CompositeSchedule]) -> list[LimitStep]:
    """The effective limit over time: each composite from its start until the next composite's start (or its own
    end), period by period."""
    ordered = sorted(timeline, key=lambda c: c.schedule_start)
    steps: list[LimitStep] = []
    for i, composite in enumerate(ordered):
        window_end = composite.schedule_start + timedelta(seconds=composite.duration)
        if i + 1 < len(ordered):
            window_end = min(window_end, ordered[i + 1].schedule_start)
        for j, period in enumerate(composite.periods):
            start = composite.schedule_start + timedelta(seconds=period.start_period)
            following = composite.periods[j + 1].start_period if j + 1 < len(composite.periods) else None
            end = window_end if following is None else min(window_end, composite.schedule_start + timedelta(
                seconds=following))
            if start < end:
                limit = None if period.is_local_limit else period.limit
                steps.append(LimitStep(start, end, limit, composite.charging_rate_unit, period.number_phases))
    return steps


@dataclass(frozen=True, slots=True)
class _Instant:
    """The samples of one instant, by measurand: phase (None = total) -> value."""

    at: datetime
    currents: dict[str | None, float]
    powers: dict[str | None, float]

    @classmethod
    def of(cls, at: datetime, samples: Iterable[MeterSample]) -> _Instant:
        currents: dict[str | None, float] = {}
        powers: dict[str | None, float] = {}
        for s in samples:
            if s.measurand == Measurand.CURRENT_IMPORT and s.unit == "A" and s.phase != "N":
                currents[s.phase] = s.value
            elif s.measurand == Measurand.POWER_ACTIVE_IMPORT and s.unit == "W":
                powers[s.phase] = s.value
        return cls(at, currents, powers)

    def measured(self, unit: ChargingRateUnit, phases: int, voltage: float | None) -> float | None:
        per_phase = [v for p, v in self.currents.items() if p is not None]
        if unit is _A:
            if per_phase:
                return max(per_phase)
            if None in self.currents:
                return self.currents[None]
            power = self._total_power()
            return None if power is None or voltage is None else power / (voltage * phases)
        power = self._total_power()
        if power is not None:
            return power
        if voltage is None:
            return None
        if per_phase:
            return sum(per_phase) * voltage
        return None if None not in self.currents else self.currents[None] * voltage * phases

    def _total_power(self) -> float | None:
        if None in self.powers:
            return self.powers[None]
        return sum(self.powers.values()) if self.powers else None


def _in_unit(step: LimitStep, unit: ChargingRateUnit, phases: int, voltage: float | None) -> float | None:
    assert step.limit is not None
    if step.unit is unit:
        return step.limit
    if voltage is None:
        return None
    factor = voltage * (step.number_phases or phases)
    return step.limit * factor if unit is _W else step.limit / factor


def _covers(steps: Sequence[LimitStep], since: datetime) -> bool:
    """Whether ``steps`` (those reaching back to ``since``) leave no gap after ``since``: a limit that appeared
    within the reaction window is as new to the charger as a limit that dropped."""
    cursor = since
    for step in sorted(steps, key=lambda s: s.start):
        if step.start > cursor:
            return False
        cursor = max(cursor, step.end)
    return True


def _allowed(
    steps: Sequence[LimitStep], at: datetime, reaction: timedelta, tolerance: DrawTolerance
) -> tuple[float, ChargingRateUnit, int] | None:
    """(allowed, unit, phases) at ``at``, or None when it cannot be judged."""
    current = next((s for s in steps if s.start <= at < s.end), None)
    if current is None or current.limit is None:
        return None
    recent = [s for s in steps if s.start <= at and s.end > at - reaction]
    if any(s.limit is None for s in recent) or not _covers(recent, at - reaction):
        return None
    phases = current.number_phases or tolerance.default_phases
    limits = [_in_unit(s, current.unit, phases, tolerance.voltage_v) for s in recent]
    if None in limits:  # a limit of the reaction window in the other unit, and no voltage to convert it
        return None
    return max(limits), current.unit, phases  # type: ignore[type-var]


def find_violations(
    timeline: Sequence[CompositeSchedule],
    samples: Sequence[MeterSample],
    *,
    reaction_s: float = 30.0,
    tolerance: DrawTolerance | None = None,
) -> list[Violation]:
    """Where ``samples`` (of the EVSE of ``timeline``'s composites) exceed the limit, with the reaction allowance."""
    if not timeline:
        return []
    tolerance = tolerance or DrawTolerance()
    evse_id = timeline[0].evse_id
    steps = limit_steps(timeline)
    reaction = timedelta(seconds=reaction_s)
    violations: list[Violation] = []
    run: list[tuple[datetime, float, float, ChargingRateUnit]] = []

    def close_run() -> None:
        if run:
            peak = max(run, key=lambda r: r[1])
            violations.append(Violation(evse_id, run[0][0], run[-1][0], peak[2], peak[1], peak[3], len(run)))
            run.clear()

    for at, group in groupby(sorted(samples, key=lambda s: s.timestamp), key=lambda s: s.timestamp):
        judged = _allowed(steps, at, reaction, tolerance)
        if judged is None:
            continue
        allowed, unit, phases = judged
        measured = _Instant.of(at, group).measured(unit, phases, tolerance.voltage_v)
        if measured is None:
            continue
        if measured > allowed + tolerance.margin(allowed, unit, phases):
            run.append((at, measured, allowed, unit))
        else:
            close_run()
    close_run()
    return violations
