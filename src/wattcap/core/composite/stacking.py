"""Stack-level resolution within one purpose (K01.FR.17, R16-07, 2.0.1 §3.6 "leading schedule").

At any instant the leading entry is the one with the highest stack level that has a period defined then;
a higher level whose schedule has ended or not yet begun lets lower levels show through (OCTT TC_072 /
TC_K_40). Equal stack levels overlapping (which install rules should prevent) resolve to the entry that
started first, as the reference implementation does.
"""

from __future__ import annotations

from collections.abc import Iterator
from heapq import heappop, heappush

from wattcap.core.composite.expand import Entry
from wattcap.core.composite.steps import Step, absorb


def _step_from(start: int, entry: Entry | None) -> Step:
    # Positional arguments (half the cost of keywords): this runs for every step of every purpose.
    if entry is None:
        return Step(start)
    refs = (entry.ref,)
    if entry.is_power:
        return Step(
            start,
            None,  # current
            entry.limit,  # power
            entry.number_phases,
            0,  # current_stack
            entry.stack_level,  # power_stack
            (),  # current_refs
            refs,  # power_refs
            entry.min_charging_rate,
        )
    return Step(
        start,
        entry.limit,  # current
        None,  # power
        entry.number_phases,
        entry.stack_level,  # current_stack
        0,  # power_stack
        refs,  # current_refs
        (),  # power_refs
        entry.min_charging_rate,
    )


def _values(entry: Entry | None) -> tuple | None:
    """What :meth:`Step.values` would hold for the step ``entry`` makes, as a key (None: no limit)."""
    if entry is None:
        return None
    return (entry.is_power, entry.limit, entry.number_phases, entry.stack_level)


def _rank(entry: Entry) -> tuple[int, int]:
    return -entry.stack_level, entry.start


# Up to this many entries a plain scan for the leader beats keeping a heap (measured on the corpus and on a
# 7-day, 10-profile EVSE); both find the same leader.
_SCAN_MAX = 24


def leading_schedule(entries: list[Entry], *, now: int, end: int, dedupe: bool = True) -> list[Step]:
    """The intermediate schedule of one purpose over ``[now, end)``: one step at ``now`` at least.

    A zero-length window still yields the step in force at ``now`` (what a charger reports then).

    The leader can only change where an entry starts or ends, so only those instants are visited, and a
    step is made only where the leader's values change (``dedupe``; a charger that never merges periods gets
    a step wherever the leader changes). A repeated step still credits the profile that repeats it.
    """
    if not entries:
        return [Step(now)]
    ranked = sorted(entries, key=_rank)
    instants = {now}
    for entry in ranked:
        if now < entry.start < end:
            instants.add(entry.start)
        if now < entry.end < end:
            instants.add(entry.end)
    leaders = _by_scan if len(ranked) <= _SCAN_MAX else _by_heap
    steps: list[Step] = []
    last: Entry | bool | None = False  # the previous instant's leader (False before the first)
    previous: tuple | bool | None = False  # the values of the last step made
    for t, leader in leaders(ranked, sorted(instants)):
        if leader is last:
            continue
        last = leader
        values = _values(leader)
        if values != previous or not dedupe:
            steps.append(_step_from(t, leader))
            previous = values
        elif leader is not None:
            refs = (leader.ref,)
            absorb(steps[-1], () if leader.is_power else refs, refs if leader.is_power else ())
    return steps


def _by_scan(ranked: list[Entry], instants: list[int]) -> Iterator[tuple[int, Entry | None]]:
    """The leader at each instant: the first entry in rank order in force then."""
    for t in instants:
        for entry in ranked:
            if entry.start <= t < entry.end:
                yield t, entry
                break
        else:
            yield t, None


def _by_heap(ranked: list[Entry], instants: list[int]) -> Iterator[tuple[int, Entry | None]]:
    """The same leaders, with the started entries on a heap by rank; an ended entry leaves the heap once it
    reaches the top, so each entry is pushed and popped once."""
    by_start = sorted(range(len(ranked)), key=lambda i: ranked[i].start)
    started: list[int] = []
    waiting = 0  # the next entry (in by_start) to start
    for t in instants:
        while waiting < len(by_start) and ranked[by_start[waiting]].start <= t:
            heappush(started, by_start[waiting])
            waiting += 1
        while started and ranked[started[0]].end <= t:
            heappop(started)
        yield t, ranked[started[0]] if started else None
