"""A profile as wattcap sends it: its allocated id and stack level, its band's purpose, limits on the wire grid.

Every limit that leaves wattcap goes through :func:`wattcap.core.limits.wire_limit` (one fraction digit,
truncated, A20): 1.6 schemas reject ``21.399999999999995`` (``multipleOf 0.1``) and a truncated limit is never
above the one computed. The comparison with what the charger later reports then starts from the same numbers.
"""

from __future__ import annotations

from dataclasses import replace

from wattcap.core.limits import wire_limit
from wattcap.core.model import ChargingProfile, ChargingProfilePurpose, ChargingSchedule, ChargingSchedulePeriod

_PERIOD_LIMITS = ("limit", "limit_l2", "limit_l3", "discharge_limit", "discharge_limit_l2", "discharge_limit_l3")


def _period(period: ChargingSchedulePeriod) -> ChargingSchedulePeriod:
    changes = {name: wire_limit(value) for name in _PERIOD_LIMITS if (value := getattr(period, name)) is not None}
    return replace(period, **changes) if changes else period


def _schedule(schedule: ChargingSchedule, index: int) -> ChargingSchedule:
    minimum = schedule.min_charging_rate
    return replace(
        schedule,
        id=schedule.id if schedule.id is not None else index,
        periods=tuple(_period(p) for p in schedule.periods),
        min_charging_rate=None if minimum is None else wire_limit(minimum),
    )


def with_wire_limits(profile: ChargingProfile) -> ChargingProfile:
    """``profile`` with every limit (and minChargingRate) truncated to one fraction digit, and schedule ids set
    (2.0.1 requires one; the position in the list is as good as any and stays stable across updates)."""
    schedules = tuple(_schedule(s, i) for i, s in enumerate(profile.schedules))
    return replace(profile, schedules=schedules)


def prepare_profile(
    template: ChargingProfile, *, profile_id: int, stack_level: int, purpose: ChargingProfilePurpose
) -> ChargingProfile:
    """``template`` with wattcap's id, stack level and purpose, ready for validation and sending."""
    return with_wire_limits(replace(template, id=profile_id, stack_level=stack_level, purpose=purpose))
