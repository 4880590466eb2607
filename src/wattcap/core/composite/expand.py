"""Expansion of one installed profile into dated entries over a window (the time semantics of a schedule).

A schedule's periods become absolute ``[start, end)`` intervals in whole epoch seconds:

* occurrence start: Absolute → ``startSchedule`` (else ``validFrom``, else now); Relative → the transaction
  start on that EVSE, else now (K08.FR.06 computes "as if" a transaction ran); Recurring → the latest
  recurrence at or before now (UTC arithmetic, also when ``startSchedule`` lies in the future: A7), then every
  24 h / 7 d up to the window end; Dynamic (2.1) → now.
* a period ends at the next period's start, at ``duration`` (K01.FR.11/12, R16-09), at the next recurrence
  (1.6 errata 3.44) and at ``validTo`` (K01.FR.37); it starts no earlier than ``validFrom`` (K01.FR.36).
* a first period not at 0 (K01.FR.31) and periods out of order (K01.FR.35) are skipped, as chargers do.

Everything that does not depend on the window (epoch seconds of the profile's dates, which periods survive
the order rules, the caps) is worked out once per profile by :func:`profile_timing` and remembered; a request
then only places the surviving periods in its window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from wattcap.core.model import (
    RECURRENCE_PERIOD_S,
    ChargingProfile,
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


# A period that survives the order rules, placed in an occurrence (seconds from the occurrence start):
# (offset, until, limit, number_phases, period), where ``until`` is the next listed period's start, the
# duration or the recurrence, whichever comes first. A plain tuple: cheap to build, unpacked in one step.
PlacedPeriod = tuple[int, int, float, int | None, ChargingSchedulePeriod]


class ProfileTiming(NamedTuple):
    """What :func:`expand` needs of a profile that no request changes, in epoch seconds (immutable, cheap to
    build: a profile's first composite pays for it).

    ``anchor`` is the recurrence anchor (Recurring) or the fixed occurrence start (Absolute); None means "the
    request decides" (Relative, Dynamic, an Absolute profile without dates). ``valid_to`` ends the periods of
    an occurrence earlier than their own span where it comes first.
    """

    kind: ChargingProfileKind
    anchor: int | None
    recurrence: int | None
    valid_from: int | None
    valid_to: int | None
    is_power: bool
    min_charging_rate: float | None
    periods: tuple[PlacedPeriod, ...]


def profile_timing(profile: ChargingProfile) -> ProfileTiming:
    """The request-independent part of the expansion of ``profile`` (see :class:`ProfileTiming`)."""
    schedule = profile.schedule
    kind = profile.kind
    anchor: int | None = None
    recurrence: int | None = None
    if kind is ChargingProfileKind.RECURRING:
        if profile.recurrency_kind is not None:
            recurrence = RECURRENCE_PERIOD_S.get(profile.recurrency_kind)
        if schedule.start_schedule is not None:
            anchor = floor_epoch(schedule.start_schedule)
    elif kind is ChargingProfileKind.ABSOLUTE:
        if schedule.start_schedule is not None:
            anchor = floor_epoch(schedule.start_schedule)
        elif profile.valid_from is not None:
            anchor = floor_epoch(profile.valid_from)
    cap = INT32_MAX
    if schedule.duration is not None:
        cap = min(cap, schedule.duration)
    if recurrence is not None:
        cap = min(cap, recurrence)
    return ProfileTiming(
        kind=kind,
        anchor=anchor,
        recurrence=recurrence,
        valid_from=floor_epoch(profile.valid_from) if profile.valid_from is not None else None,
        valid_to=floor_epoch(profile.valid_to) if profile.valid_to is not None else None,
        is_power=schedule.charging_rate_unit is ChargingRateUnit.W,
        min_charging_rate=schedule.min_charging_rate,
        periods=_placed_periods(schedule.periods, cap),
    )


def _placed_periods(periods: tuple[ChargingSchedulePeriod, ...], cap: int) -> tuple[PlacedPeriod, ...]:
    """The periods a charger uses: a first period not at 0 and out-of-order periods are skipped, and so are
    periods without a limit (2.1 operation modes). A period still ends where the *next listed* period starts,
    even when that one is skipped for being out of order (what the reference implementation does), and no
    later than ``cap`` (duration, recurrence)."""
    out: list[PlacedPeriod] = []
    previous_start = None
    for k, period in enumerate(periods):
        offset = period.start_period
        if (k == 0 and offset != 0) or (previous_start is not None and offset <= previous_start):
            continue
        previous_start = offset
        if period.limit is None:
            continue
        following = periods[k + 1].start_period if k + 1 < len(periods) else INT32_MAX
        out.append((offset, min(cap, following), period.limit, period.number_phases, period))
    return tuple(out)


# Timings by profile identity. A cached value holds its profile, so the id cannot be reused by another
# object while the entry lives; a profile is frozen, so its timing never goes stale. The cache is cleared
# whole when full: simple, safe under threads, and a station holds far fewer profiles than the bound.
_TIMINGS: dict[int, tuple[ChargingProfile, ProfileTiming, dict[int, ProfileRef]]] = {}
_TIMINGS_MAX = 4096


def _cached(profile: ChargingProfile) -> tuple[ChargingProfile, ProfileTiming, dict[int, ProfileRef]]:
    hit = _TIMINGS.get(id(profile))
    if hit is not None and hit[0] is profile:
        return hit
    if len(_TIMINGS) >= _TIMINGS_MAX:
        _TIMINGS.clear()
    hit = (profile, profile_timing(profile), {})
    _TIMINGS[id(profile)] = hit
    return hit


def forget_timings() -> None:
    """Empty the timing cache: the next expansion of every profile starts cold (benchmarks measure that)."""
    _TIMINGS.clear()


def occurrence_starts(
    installed: InstalledProfile, *, now: int, window_end: int, session_start: int | None
) -> list[int]:
    """Start times (epoch s) of the occurrences of the profile's schedule that can touch ``[now, window_end]``."""
    return list(_occurrences(_cached(installed.profile)[1], now, window_end, session_start))


def _occurrences(timing: ProfileTiming, now: int, window_end: int, session_start: int | None) -> list[int] | range:
    kind = timing.kind
    if kind is ChargingProfileKind.RECURRING:
        period, anchor = timing.recurrence, timing.anchor
        if period is None or anchor is None:
            return []  # a Recurring profile needs a recurrency kind and a start
        first = now - ((now - anchor) % period)
        return range(first, window_end + 1, period)
    if kind is ChargingProfileKind.RELATIVE:
        return [session_start if session_start is not None else now]
    if kind is ChargingProfileKind.ABSOLUTE and timing.anchor is not None:
        return [timing.anchor]
    return [now]  # an Absolute profile without dates, or Dynamic (2.1): a single occurrence that starts now


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
    _, timing, refs = _cached(profile)
    ref = refs.get(installed.evse_id)
    if ref is None:
        ref = refs[installed.evse_id] = ProfileRef(profile.id, profile.purpose, profile.stack_level, installed.evse_id)
    stack_level = profile.stack_level
    is_power = timing.is_power
    min_charging_rate = timing.min_charging_rate
    valid_from = timing.valid_from
    valid_to = timing.valid_to
    entries: list[Entry] = []
    for occurrence in _occurrences(timing, now, window_end, session_start):
        valid_until = None if valid_to is None else valid_to - occurrence
        for offset, until, limit, phases, period in timing.periods:
            start = occurrence + offset
            if start > window_end:
                break  # offsets only grow (and validFrom only moves a start later)
            end = occurrence + (until if valid_until is None or until <= valid_until else valid_until)
            if valid_from is not None and valid_from > start:
                if valid_from >= end:
                    continue
                start = valid_from
                if start > window_end:
                    break
            if end <= start or end <= now:
                continue
            if phases is None:
                phases = missing_phases
            entries.append(Entry(start, end, stack_level, limit, is_power, phases, min_charging_rate, ref, period))
    return entries
