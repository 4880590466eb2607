"""Expansion of one installed profile into dated entries over a window (the time semantics of a schedule).

A schedule's periods become absolute ``[start, end)`` intervals in whole epoch seconds:

* occurrence start: Absolute → ``startSchedule`` (else ``validFrom``, else now); Relative → the transaction
  start on that EVSE, else now (K08.FR.06 computes "as if" a transaction ran); Recurring → the latest
  recurrence at or before now (UTC arithmetic, also when ``startSchedule`` lies in the future: A7), then every
  24 h / 7 d up to the window end; Dynamic (2.1) → now.
* a period ends at the next period's start, at ``duration`` (K01.FR.11/12, R16-09), at the next recurrence
  (1.6 errata 3.44) and at ``validTo`` (K01.FR.37); it starts no earlier than ``validFrom`` (K01.FR.36).
* a first period not at 0 (K01.FR.31) and periods out of order (K01.FR.35) are skipped, as chargers do.
"""

from __future__ import annotations

from dataclasses import dataclass

from wattcap.core.model import (
    RECURRENCE_PERIOD_S,
    ChargingProfileKind,
    ChargingRateUnit,
    ChargingSchedulePeriod,
    InstalledProfile,
    ProfileRef,
)
from wattcap.core.timeutil import floor_epoch

INT32_MAX = 2_147_483_647


@dataclass(slots=True)
class Entry:
    """One period of one occurrence of a profile, placed in time."""

    start: int
    end: int
    stack_level: int
    limit: float
    is_power: bool
    number_phases: int | None
    min_charging_rate: float | None
    ref: ProfileRef
    period: ChargingSchedulePeriod


def occurrence_starts(
    installed: InstalledProfile, *, now: int, window_end: int, session_start: int | None
) -> list[int]:
    """Start times (epoch s) of the occurrences of the profile's schedule that can touch ``[now, window_end]``."""
    profile = installed.profile
    schedule = profile.schedule
    kind = profile.kind
    if kind is ChargingProfileKind.RECURRING:
        if profile.recurrency_kind is None or schedule.start_schedule is None:
            return []
        period = RECURRENCE_PERIOD_S[profile.recurrency_kind]
        anchor = floor_epoch(schedule.start_schedule)
        first = now - ((now - anchor) % period)
        return list(range(first, window_end + 1, period))
    if kind is ChargingProfileKind.RELATIVE:
        return [session_start if session_start is not None else now]
    if kind is ChargingProfileKind.ABSOLUTE:
        if schedule.start_schedule is not None:
            return [floor_epoch(schedule.start_schedule)]
        if profile.valid_from is not None:
            return [floor_epoch(profile.valid_from)]
        return [now]
    return [now]  # Dynamic (2.1): a single period that starts now


def expand(
    installed: InstalledProfile,
    *,
    now: int,
    window_end: int,
    session_start: int | None,
    missing_phases: int | None = None,
) -> list[Entry]:
    """The dated entries of ``installed`` that can matter in ``[now, window_end]``.

    ``missing_phases`` replaces an absent ``numberPhases`` (a charger that conforms profiles, K01.FR.49).
    Periods without a limit (2.1 operation modes) are not limits and are left out.
    """
    profile = installed.profile
    schedule = profile.schedule
    ref = ProfileRef(profile.id, profile.purpose, profile.stack_level, installed.evse_id)
    is_power = schedule.charging_rate_unit is ChargingRateUnit.W
    valid_from = floor_epoch(profile.valid_from) if profile.valid_from is not None else None
    valid_to = floor_epoch(profile.valid_to) if profile.valid_to is not None else None
    recurrence = (
        RECURRENCE_PERIOD_S.get(profile.recurrency_kind)
        if (profile.kind is ChargingProfileKind.RECURRING and profile.recurrency_kind is not None)
        else None
    )
    periods = schedule.periods
    entries: list[Entry] = []
    for occurrence in occurrence_starts(installed, now=now, window_end=window_end, session_start=session_start):
        caps = [INT32_MAX]
        if schedule.duration is not None:
            caps.append(schedule.duration)
        if recurrence is not None:
            caps.append(recurrence)
        if valid_to is not None:
            caps.append(valid_to - occurrence)
        cap = min(caps)
        previous_start = None
        for k, period in enumerate(periods):
            offset = period.start_period
            if (k == 0 and offset != 0) or (previous_start is not None and offset <= previous_start):
                continue
            previous_start = offset
            if period.limit is None:
                continue
            following = periods[k + 1].start_period if k + 1 < len(periods) else INT32_MAX
            start = occurrence + offset
            end = occurrence + min(cap, following)
            if valid_from is not None and valid_from > start:
                if valid_from >= end:
                    continue
                start = valid_from
            if end <= start or end <= now or start > window_end:
                continue
            phases = period.number_phases if period.number_phases is not None else missing_phases
            entries.append(
                Entry(
                    start,
                    end,
                    profile.stack_level,
                    period.limit,
                    is_power,
                    phases,
                    schedule.min_charging_rate,
                    ref,
                    period,
                )
            )
    return entries
