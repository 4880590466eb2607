"""Intermediate schedules: a list of :class:`Step` from the window start, each holding until the next one.

A step keeps a current limit and a power limit apart (a charger that converts units does so only at the end,
after every purpose is combined), each with the stack level and the profile it came from, so the final
composite can say which profile governs every period.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter

from wattcap.core.model import ProfileRef


@dataclass(slots=True)
class Step:
    start: int
    current: float | None = None
    power: float | None = None
    number_phases: int | None = None
    current_stack: int = 0
    power_stack: int = 0
    current_refs: tuple[ProfileRef, ...] = ()
    power_refs: tuple[ProfileRef, ...] = ()
    min_charging_rate: float | None = None

    @property
    def has_limit(self) -> bool:
        return self.current is not None or self.power is not None

    def values(self) -> tuple:
        """What tells two steps apart: a step whose values repeat the previous step's is not appended (chargers
        drop such intermediate periods). Refs and minChargingRate do not count, so the earlier step's stay.

        Every builder of a schedule (:mod:`.stacking`, :mod:`.combine`) compares values before it builds a
        step, so a repeated step is never made.
        """
        return self.current, self.power, self.number_phases, self.current_stack, self.power_stack


def union(refs: tuple[ProfileRef, ...], more: tuple[ProfileRef, ...]) -> tuple[ProfileRef, ...]:
    """``refs`` followed by those of ``more`` it does not hold yet (attribution of a merged period)."""
    if not more or more == refs:
        return refs
    return refs + tuple(r for r in more if r not in refs)


def absorb(last: Step, current_refs: tuple[ProfileRef, ...], power_refs: tuple[ProfileRef, ...]) -> None:
    """A repeated step is not appended, but the profiles that set it keep their share of the attribution."""
    last.current_refs = union(last.current_refs, current_refs)
    last.power_refs = union(last.power_refs, power_refs)


_START = itemgetter(0)


def changes(schedules: list[list[Step]]) -> Iterator[tuple[int, list[tuple[int, Step]]]]:
    """Every change point of several intermediate schedules, in time order, with the steps that begin there
    as ``(index of the schedule, step)`` pairs. One sort of all steps instead of a scan of every schedule at
    every change point: a station-wide sum over many EVSEs changes only a few of them at a time."""
    events = [(step.start, i, step) for i, steps in enumerate(schedules) for step in steps]
    events.sort(key=_START)  # stable, so equal starts stay in schedule order
    for t, group in groupby(events, key=_START):
        yield t, [(i, step) for _, i, step in group]


def walk(schedules: list[list[Step]]) -> Iterator[tuple[int, list[Step]]]:
    """Every change point of several intermediate schedules with the step of each in force there.

    All inputs start at the same window start, so at every change point each has a step in force. The list
    yielded is updated in place for the next change point: use it before advancing, copy it to keep it.
    (For the few schedules a purpose combination has; :func:`changes` suits many schedules.)
    """
    times = sorted({step.start for steps in schedules for step in steps})
    positions = [0] * len(schedules)
    current = [steps[0] for steps in schedules]
    for t in times:
        for i, steps in enumerate(schedules):
            j = positions[i] + 1
            while j < len(steps) and steps[j].start <= t:
                j += 1
            positions[i] = j - 1
            current[i] = steps[j - 1]
        yield t, current
