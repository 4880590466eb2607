"""From a combined intermediate schedule to the reported composite: units, defaults, rounding, compaction."""

from __future__ import annotations

import struct

from wattcap.core.composite.steps import Step
from wattcap.core.dialects import Dialect, NeighbourMerge, NoLimitReport
from wattcap.core.model import ChargingRateUnit, CompositePeriod
from wattcap.core.station import StationConfig

_F32 = struct.Struct("f")


def float32(value: float) -> float:
    """``value`` rounded to IEEE single precision, as chargers that compute in ``float`` report it."""
    return _F32.unpack(_F32.pack(value))[0]


def to_periods(
    steps: list[Step], *, unit: ChargingRateUnit, now: int, station: StationConfig, dialect: Dialect
) -> tuple[CompositePeriod, ...]:
    """Composite periods in ``unit``, relative to ``now``.

    A limit in the other unit converts with the nominal voltage and the period's phases (K01.FR.50, 1.6
    §7.12; phases default to the station's default, normally 3) when the dialect converts; an instant with no
    limit reports the station's local limit (or -1 in dialects that say "undefined").
    """
    want_power = unit is ChargingRateUnit.W
    voltage = station.supply_voltage_v
    out: list[CompositePeriod] = []
    merge = dialect.neighbour_merge
    for step in steps:
        period = _period(step, want_power, voltage, now, station, dialect)
        if dialect.float32_limits:
            period = _with_limit(period, float32(period.limit))
        if out and merge is not NeighbourMerge.NEVER and _same(out[-1], period, merge):
            continue
        out.append(period)
    return tuple(out)


def _period(
    step: Step, want_power: bool, voltage: float, now: int, station: StationConfig, dialect: Dialect
) -> CompositePeriod:
    offset = step.start - now
    native, native_stack, native_refs = (
        (step.power, step.power_stack, step.power_refs)
        if want_power
        else (step.current, step.current_stack, step.current_refs)
    )
    other, other_stack, other_refs = (
        (step.current, step.current_stack, step.current_refs)
        if want_power
        else (step.power, step.power_stack, step.power_refs)
    )
    if not dialect.converts_units:
        other = None
    if native is None and other is None:
        if dialect.no_limit is NoLimitReport.MINUS_ONE:
            limit = -1.0
        else:
            limit = station.default_limit_w if want_power else station.default_limit_a
        return CompositePeriod(offset, limit, step.number_phases, stack_level=0)
    transformed = False
    if other is not None:
        phases = step.number_phases or station.default_number_phases
        factor = voltage * phases
        converted = other * factor if want_power else other / factor
        if native is None or converted < native:
            native, native_stack, native_refs, transformed = converted, other_stack, other_refs, True
    limit = native
    if dialect.min_charging_rate_is_floor and step.min_charging_rate is not None:
        limit = max(limit, step.min_charging_rate)
    return CompositePeriod(
        offset, limit, step.number_phases, stack_level=native_stack, governed_by=native_refs, transformed=transformed
    )


def _with_limit(period: CompositePeriod, limit: float) -> CompositePeriod:
    if limit == period.limit:
        return period
    return CompositePeriod(
        period.start_period,
        limit,
        period.number_phases,
        period.phase_to_use,
        period.stack_level,
        period.governed_by,
        period.transformed,
    )


def _same(a: CompositePeriod, b: CompositePeriod, merge: NeighbourMerge) -> bool:
    if a.limit != b.limit or a.number_phases != b.number_phases:
        return False
    return merge is not NeighbourMerge.LIMIT_PHASES_AND_STACK_LEVEL or a.stack_level == b.stack_level
