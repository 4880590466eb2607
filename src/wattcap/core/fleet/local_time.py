"""Local wall-clock time for fleet rules: days of the week, time-of-day windows, departures, durations.

People write rules in the site's wall-clock time ("visitors never above 11 kW during office hours", "80 % by
06:00"), while the core works in aware UTC. This module is the one place that crosses between them, with
:mod:`zoneinfo`, so that a window or a departure means the same wall-clock time on the days the clocks change.

Semantics, chosen so that a rule reads the way it is said:

- A window ``from``–``to`` is half-open, ``[from, to)``; ``to`` earlier than ``from`` wraps past midnight
  (``22:00``–``06:00`` is a night), ``to`` of ``00:00`` or ``24:00`` is the end of the day.
- Days name the day a window *opens*: ``22:00``–``06:00`` on ``fri`` covers Friday night until Saturday 06:00,
  and not Saturday night. Without a time of day, days are whole local calendar days.
- Windows compare wall-clock times, so on 2026-03-29 in Europe/Berlin ``01:00``–``04:00`` lasts two real hours
  and on 2026-10-25 three: the hour that repeats is inside the window both times.
- A departure "by HH:MM" is the next time the wall clock shows HH:MM strictly after the reference instant. When
  that time does not exist (the hour skipped in spring) it is the instant the clocks jump past it; when it
  exists twice (the hour repeated in autumn) it is the first one, the earlier deadline (the second only when the
  reference instant lies between the two).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

__all__ = [
    "ALL_DAYS",
    "DAY_NAMES",
    "Window",
    "as_utc",
    "day_set",
    "format_days",
    "next_wall_time",
    "parse_clock",
    "parse_day",
    "parse_duration",
]

#: Monday is 0, as :meth:`datetime.weekday` counts.
DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ALL_DAYS: frozenset[int] = frozenset(range(7))

_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
_DURATION = re.compile(
    r"^\s*(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m(?:in)?)?\s*(?:(?P<s>\d+)\s*s)?\s*$"
)


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive value is read as UTC (the core's convention) rather than refused, so evaluation is total."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_clock(text: str, *, end_of_day: bool = False) -> time:
    """``"HH:MM"`` (or ``"HH:MM:SS"``) to a time; ``"24:00"`` only where an end of day is meant (read as 00:00).

    Raises :class:`ValueError` with a reason a person can act on.
    """
    found = _CLOCK.match(text)
    if not found:
        raise ValueError(f"{text!r} is not a time of day; write it as HH:MM, e.g. \"06:00\"")
    hour, minute, second = int(found[1]), int(found[2]), int(found[3] or 0)
    if end_of_day and (hour, minute, second) == (24, 0, 0):
        return time(0, 0)
    if hour > 23 or minute > 59 or second > 59:
        limit = "00:00 to 24:00" if end_of_day else "00:00 to 23:59"
        raise ValueError(f"{text!r} is not a time of day (from {limit})")
    return time(hour, minute, second)


def format_clock(value: time, *, end: bool = False) -> str:
    """``HH:MM`` (with seconds only when there are some); an end at midnight reads ``24:00``."""
    if end and value == time(0, 0):
        return "24:00"
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def parse_duration(text: str) -> int:
    """``"7h"``, ``"90m"``, ``"1h30m"``, ``"45s"``, ``"2d"``, ``"0s"`` to whole seconds (ValueError otherwise)."""
    found = _DURATION.match(text)
    if not found or not any(found.groupdict().values()):
        raise ValueError(f"{text!r} is not a duration; write it like \"7h\", \"90m\", \"1h30m\" or \"45s\"")
    parts = {k: int(v or 0) for k, v in found.groupdict().items()}
    return ((parts["d"] * 24 + parts["h"]) * 60 + parts["m"]) * 60 + parts["s"]


def parse_day(text: str) -> frozenset[int]:
    """A day (``mon``, ``Monday``) or a range of days (``mon-fri``, ``fri-mon`` wraps) to weekday numbers."""
    names = [part.strip() for part in re.split(r"\s*[-–]\s*", text.strip(), maxsplit=1)]
    numbers = [_day_number(name) for name in names]
    if len(numbers) == 1:
        return frozenset(numbers)
    first, last = numbers
    span = (last - first) % 7
    return frozenset((first + i) % 7 for i in range(span + 1))


def _day_number(name: str) -> int:
    key = name.lower()
    if key in DAY_NAMES:
        return DAY_NAMES.index(key)
    if key in _FULL_NAMES:
        return _FULL_NAMES.index(key)
    close = difflib.get_close_matches(key, DAY_NAMES + _FULL_NAMES, n=1, cutoff=0.6)
    hint = f"; did you mean {DAY_NAMES[(DAY_NAMES + _FULL_NAMES).index(close[0]) % 7]!r}?" if close else ""
    raise ValueError(f"unknown day {name!r}{hint} (days are {', '.join(DAY_NAMES)}, or a range like mon-fri)")


def day_set(names: list[str]) -> frozenset[int]:
    """The union of several days and ranges (ValueError on the first unknown one)."""
    days: set[int] = set()
    for name in names:
        days |= parse_day(name)
    return frozenset(days)


def format_days(days: frozenset[int]) -> str:
    """``Mon–Fri``, ``Mon, Wed, Fri``, ``Sat–Sun``, or ``every day``: how a trace names a set of days."""
    if days == ALL_DAYS:
        return "every day"
    ordered = sorted(days)
    runs: list[list[int]] = []
    for day in ordered:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    label = [DAY_NAMES[r[0]].title() if len(r) == 1 else
             (f"{DAY_NAMES[r[0]].title()}–{DAY_NAMES[r[-1]].title()}" if len(r) > 2 else
              f"{DAY_NAMES[r[0]].title()}, {DAY_NAMES[r[-1]].title()}") for r in runs]
    return ", ".join(label)


@dataclass(frozen=True, slots=True)
class Window:
    """When a rule applies on the wall clock: a time of day (``start``/``end``, None for all day) on some days."""

    start: time | None = None
    end: time | None = None
    days: frozenset[int] = ALL_DAYS

    @property
    def wraps(self) -> bool:
        """Whether the time of day runs past midnight (``22:00``–``06:00``, or anything ending at 24:00)."""
        return self.start is not None and self.end is not None and self.end <= self.start

    def opened_on(self, local: datetime) -> int | None:
        """The weekday whose window contains the wall-clock time ``local``, or None when it is outside the hours.

        For the early-morning part of a window that wraps, that is the day before.
        """
        clock = local.time().replace(tzinfo=None, microsecond=0)
        weekday = local.weekday()
        if self.start is None or self.end is None:
            return weekday
        if not self.wraps:
            return weekday if self.start <= clock < self.end else None
        if clock >= self.start:
            return weekday
        if clock < self.end:
            return (weekday - 1) % 7
        return None

    def contains(self, local: datetime) -> bool:
        """Whether the wall-clock time ``local`` (in the rule set's zone) is inside the window."""
        day = self.opened_on(local)
        return day is not None and day in self.days

    def describe(self) -> str:
        """``08:00–18:00 Mon–Fri``, ``22:00–06:00``, ``Sat–Sun``: the window as a trace shows it."""
        parts = []
        if self.start is not None and self.end is not None:
            parts.append(f"{format_clock(self.start)}–{format_clock(self.end, end=True)}")
        if self.days != ALL_DAYS or not parts:
            parts.append(format_days(self.days))
        return " ".join(parts)

    def boundaries(self) -> tuple[time, ...]:
        """The wall-clock times at which being inside may change: the window's edges, or midnight for days."""
        if self.start is not None and self.end is not None:
            return (self.start, self.end) if self.days == ALL_DAYS else (self.start, self.end, time(0, 0))
        return (time(0, 0),)


def _wall_to_utc(day: date, clock: time, zone: tzinfo) -> datetime:
    """The first instant the wall clock in ``zone`` shows ``clock`` on ``day`` (or jumps past it in a gap)."""
    wall = datetime.combine(day, clock)
    first = wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the first of a repeated time
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # A skipped time: fold=1 reads it with the offset after the jump and lands before it; bisect to the jump.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    if low > high:
        low, high = high, low
    while (high - low) > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def next_wall_time(after: datetime, clock: time, zone: tzinfo) -> datetime:
    """The next instant strictly after ``after`` at which the wall clock in ``zone`` shows ``clock`` (aware UTC)."""
    after = as_utc(after)
    today = after.astimezone(zone).date()
    for offset in range(3):
        day = today + timedelta(days=offset)
        first = _wall_to_utc(day, clock, zone)
        if first > after:
            return first
        again = datetime.combine(day, clock).replace(tzinfo=zone, fold=1).astimezone(UTC)
        if again > after and again.astimezone(zone).replace(tzinfo=None) == datetime.combine(day, clock):
            return again  # a repeated hour, between its two occurrences: the second one is next
    raise AssertionError("unreachable: a wall-clock time recurs within two days")  # pragma: no cover
