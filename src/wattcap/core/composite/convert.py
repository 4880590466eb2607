"""From a combined intermediate schedule to the reported composite: units, defaults, rounding, compaction."""

from __future__ import annotations

import struct
from dataclasses import replace

from wattcap.core.composite.steps import Step, union
from wattcap.core.dialects import Dialect, NeighbourMerge, NoLimitReport
from wattcap.core.model import ChargingRateUnit, CompositePeriod, ProfileRef
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

    Whether a step merges into the period before it is decided on its values, before a period is built.
    """
    want_power = unit is ChargingRateUnit.W
    merge = dialect.neighbour_merge
    merges = merge is not NeighbourMerge.NEVER
    with_stack_level = merge is NeighbourMerge.LIMIT_PHASES_AND_STACK_LEVEL
    unlimited = _unlimited_value(want_power, station, dialect)
    out: list[CompositePeriod] = []
    last: tuple = ()  # (limit, phases, stack level) of the last period reported
    for step in steps:
        limit, stack_level, refs, transformed = _limit(step, want_power, station, dialect, unlimited)
        if dialect.float32_limits:
            rounded = float32(limit)
            if rounded != limit:  # keep an exact limit as it is (an int stays an int)
                limit = rounded
        if (
            out
            and merges
            and limit == last[0]
            and step.number_phases == last[1]
            and (not with_stack_level or stack_level == last[2])
        ):
            merged_refs = union(out[-1].governed_by, refs)
            if merged_refs is not out[-1].governed_by:  # the merged period credits every profile that sets it
                out[-1] = replace(out[-1], governed_by=merged_refs)
            continue
        out.append(
            CompositePeriod(
                step.start - now,
                limit,
                step.number_phases,
                stack_level=stack_level,
                governed_by=refs,
                transformed=transformed,
            )
        )
        last = (limit, step.number_phases, stack_level)
    return tuple(out)


def _unlimited_value(want_power: bool, station: StationConfig, dialect: Dialect) -> float:
    """What the charger reports where nothing limits it."""
    if dialect.no_limit is NoLimitReport.MINUS_ONE:
        return -1.0
    return station.default_limit_w if want_power else station.default_limit_a


def _limit(
    step: Step, want_power: bool, station: StationConfig, dialect: Dialect, unlimited: float
) -> tuple[float, int, tuple[ProfileRef, ...], bool]:
    """(limit in the wanted unit, its stack level, the profiles that set it, whether it was converted)."""
    if want_power:
        native, native_stack, native_refs = step.power, step.power_stack, step.power_refs
        other, other_stack, other_refs = step.current, step.current_stack, step.current_refs
    else:
        native, native_stack, native_refs = step.current, step.current_stack, step.current_refs
        other, other_stack, other_refs = step.power, step.power_stack, step.power_refs
    if not dialect.converts_units:
        other = None
    if native is None and other is None:
        return unlimited, 0, (), False
    transformed = False
    if other is not None:
        phases = step.number_phases or station.default_number_phases
        factor = station.supply_voltage_v * phases
        converted = other * factor if want_power else other / factor
        if native is None or converted < native:
            native, native_stack, native_refs, transformed = converted, other_stack, other_refs, True
    limit = native
    if dialect.min_charging_rate_is_floor and step.min_charging_rate is not None:
        limit = max(limit, step.min_charging_rate)
    return limit, native_stack, native_refs, transformed
