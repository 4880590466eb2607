"""Intermediate schedules: a list of :class:`Step` from the window start, each holding until the next one.

A step keeps a current limit and a power limit apart (a charger that converts units does so only at the end,
after every purpose is combined), each with the stack level and the profile it came from, so the final
composite can say which profile governs every period.
"""

from __future__ import annotations

from dataclasses import dataclass

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

    def same_values(self, other: Step, *, with_stack_level: bool) -> bool:
        if (self.current, self.power, self.number_phases) != (other.current, other.power, other.number_phases):
            return False
        return not with_stack_level or (self.current_stack, self.power_stack) == (
            other.current_stack,
            other.power_stack,
        )


def append_step(steps: list[Step], step: Step, *, with_stack_level: bool = True) -> None:
    """Append ``step`` unless it only repeats the previous one (chargers drop such intermediate periods)."""
    if steps and steps[-1].same_values(step, with_stack_level=with_stack_level):
        return
    steps.append(step)


def walk(schedules: list[list[Step]]) -> list[tuple[int, list[Step]]]:
    """Every change point of several intermediate schedules with the step of each in force there.

    All inputs start at the same window start, so at every change point each has a step in force.
    """
    times = sorted({step.start for steps in schedules for step in steps})
    indices = [0] * len(schedules)
    out = []
    for t in times:
        current = []
        for i, steps in enumerate(schedules):
            j = indices[i]
            while j + 1 < len(steps) and steps[j + 1].start <= t:
                j += 1
            indices[i] = j
            current.append(steps[j])
        out.append((t, current))
    return out
