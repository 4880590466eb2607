"""Stack-level resolution within one purpose (K01.FR.17, R16-07, 2.0.1 §3.6 "leading schedule").

At any instant the leading entry is the one with the highest stack level that has a period defined then;
a higher level whose schedule has ended or not yet begun lets lower levels show through (OCTT TC_072 /
TC_K_40). Equal stack levels overlapping (which install rules should prevent) resolve to the entry that
started first, as the reference implementation does.
"""

from __future__ import annotations

from wattcap.core.composite.expand import Entry
from wattcap.core.composite.steps import Step, append_step


def _step_from(start: int, entry: Entry | None) -> Step:
    if entry is None:
        return Step(start)
    if entry.is_power:
        return Step(
            start,
            power=entry.limit,
            number_phases=entry.number_phases,
            power_stack=entry.stack_level,
            power_refs=(entry.ref,),
            min_charging_rate=entry.min_charging_rate,
        )
    return Step(
        start,
        current=entry.limit,
        number_phases=entry.number_phases,
        current_stack=entry.stack_level,
        current_refs=(entry.ref,),
        min_charging_rate=entry.min_charging_rate,
    )


def leading_schedule(entries: list[Entry], *, now: int, end: int) -> list[Step]:
    """The intermediate schedule of one purpose over ``[now, end)``: one step at ``now`` at least.

    A zero-length window still yields the step in force at ``now`` (what a charger reports then).
    """
    ranked = sorted(entries, key=lambda e: (-e.stack_level, e.start))
    steps: list[Step] = []
    t = now
    while True:
        rank = next((i for i, e in enumerate(ranked) if e.start <= t < e.end), None)
        leader = ranked[rank] if rank is not None else None
        if leader is not None:
            following = leader.end
            for higher in ranked[:rank]:
                if t < higher.start < following:
                    following = higher.start
        else:
            following = min((e.start for e in ranked if e.start > t), default=end)
        append_step(steps, _step_from(t, leader))
        t = following
        if t >= end:
            return steps
