"""Is the schedule an ISO 15118 EV plans to follow within the limits it was given? (K15.FR.11 / FR.12)

After the CSMS sends a TxProfile, the EV answers with its own charging profile, which the station forwards in
NotifyEVChargingSchedule. The CSMS accepts it if it stays within the limits, else rejects it and renegotiates
(K15.FR.13). "The limits" are the composite schedule the charger should follow for that EVSE: the TxProfile and
everything stacked with it (a station maximum, an external constraint).

The EV's schedule and the composite may be in different units; a value in W is compared with one in A through
the EVSE's voltage and phases (the only conversion OCPP itself defines). Where the composite has no profile (the
station's local limit applies) there is nothing for the CSMS to hold the EV to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from wattcap.core.model import ChargingRateUnit, ChargingSchedule, CompositeSchedule

__all__ = ["EVScheduleExcess", "ev_schedule_excesses"]

#: Rounding on the wire (0.1 A, whole W) must not make a faithful EV look greedy.
TOLERANCE = 0.1


@dataclass(frozen=True, slots=True)
class EVScheduleExcess:
    """From ``at`` the EV plans ``planned`` while the limit is ``limit`` (both in ``unit``)."""

    at: datetime
    planned: float
    limit: float
    unit: ChargingRateUnit

    def __str__(self) -> str:
        unit = self.unit.value
        return f"at {self.at.isoformat()} the EV plans {self.planned:g} {unit} above the limit {self.limit:g}"


def _convert(value: float, source: ChargingRateUnit, target: ChargingRateUnit, volts: float, phases: int) -> float:
    if source is target:
        return value
    if source is ChargingRateUnit.W:
        return value / (volts * phases)
    return value * volts * phases


def ev_schedule_excesses(
    planned: ChargingSchedule,
    time_base: datetime,
    limits: CompositeSchedule,
    *,
    voltage_v: float = 230.0,
    phases: int = 3,
) -> tuple[EVScheduleExcess, ...]:
    """Every step where ``planned`` (relative to ``time_base``, or to its own startSchedule) goes above ``limits``.

    Empty means the EV's schedule is within the limits. Only the overlap of the two schedules is judged: before
    the composite's window and after the EV's duration nothing is known to compare.
    """
    start = planned.start_schedule or time_base
    unit = limits.charging_rate_unit
    ev_points = [
        (start + timedelta(seconds=p.start_period), p.limit, p.number_phases or phases)
        for p in planned.periods if p.limit is not None
    ]
    if not ev_points:
        return ()
    ev_end = start + timedelta(seconds=planned.duration) if planned.duration else None
    window_end = limits.schedule_start + timedelta(seconds=limits.duration)
    edges = sorted(
        {t for t, _, _ in ev_points}
        | {limits.schedule_start + timedelta(seconds=p.start_period) for p in limits.periods}
    )
    excesses: list[EVScheduleExcess] = []
    for at in edges:
        if at < limits.schedule_start or at >= window_end or (ev_end is not None and at >= ev_end):
            continue
        current = [pt for pt in ev_points if pt[0] <= at]
        if not current:
            continue
        _, value, ev_phases = current[-1]
        period = limits.limit_at(int((at - limits.schedule_start).total_seconds()))
        if period.is_local_limit:
            continue
        value_in_unit = _convert(value, planned.charging_rate_unit, unit, voltage_v, ev_phases)
        if value_in_unit > period.limit + TOLERANCE:
            if excesses and excesses[-1].planned == value_in_unit and excesses[-1].limit == period.limit:
                continue  # the same excess carried over an edge of the other schedule
            excesses.append(EVScheduleExcess(at, value_in_unit, period.limit, unit))
    return tuple(excesses)
