"""Combining the intermediate schedules of several purposes or EVSEs (1.6 §3.13.3, K08 remark, A3, A13)."""

from __future__ import annotations

from wattcap.core.composite.steps import Step, append_step, walk


def first_with_limit(preferred: list[Step], fallback: list[Step]) -> list[Step]:
    """Where ``preferred`` has a limit it is taken whole, elsewhere ``fallback`` shows through.

    This is how a TxProfile replaces the TxDefaultProfile (1.6 §3.13.1: "SHALL overrule", not a minimum;
    OCTT TC_066 / TC_K_41) and how an EVSE's own TxDefault hides the station-wide one in some dialects.
    """
    if _unlimited(preferred):
        return fallback
    if _unlimited(fallback):
        return preferred
    out: list[Step] = []
    for t, (a, b) in walk([preferred, fallback]):
        chosen = a if a.has_limit else b
        append_step(out, _at(chosen, t))
    return out


def lowest(schedules: list[list[Step]]) -> list[Step]:
    """The minimum of several schedules, current and power taken apart; phases = the fewest given.

    Ties keep the earlier schedule's attribution. (2.0.1 §3.7: "The lowest value … of numberPhases".)
    """
    limiting = [s for s in schedules if not _unlimited(s)]
    if len(limiting) <= 1:
        return limiting[0] if limiting else schedules[0]
    schedules = limiting
    out: list[Step] = []
    for t, steps in walk(schedules):
        merged = Step(t)
        for step in steps:
            if step.current is not None and (merged.current is None or step.current < merged.current):
                merged.current, merged.current_stack, merged.current_refs = (
                    step.current,
                    step.current_stack,
                    step.current_refs,
                )
            if step.power is not None and (merged.power is None or step.power < merged.power):
                merged.power, merged.power_stack, merged.power_refs = step.power, step.power_stack, step.power_refs
            if step.number_phases is not None and (
                merged.number_phases is None or step.number_phases < merged.number_phases
            ):
                merged.number_phases = step.number_phases
            if step.min_charging_rate is not None:
                merged.min_charging_rate = max(merged.min_charging_rate or 0.0, step.min_charging_rate)
        append_step(out, merged)
    return out


def summed(schedules: list[list[Step]], *, default_current: float, default_power: float) -> list[Step]:
    """The station-wide total of several EVSE schedules (connector / evse 0 = "expected grid consumption").

    An EVSE without a limit adds the station's default limit, so the total never pretends an unlimited
    EVSE draws nothing; phases = the most any EVSE uses. A unit no EVSE limits stays unlimited.
    """
    out: list[Step] = []
    for t, steps in walk(schedules):
        merged = Step(t)
        if any(s.current is not None for s in steps):
            merged.current = sum(s.current if s.current is not None else default_current for s in steps)
            merged.current_refs = tuple(r for s in steps for r in s.current_refs)
        if any(s.power is not None for s in steps):
            merged.power = sum(s.power if s.power is not None else default_power for s in steps)
            merged.power_refs = tuple(r for s in steps for r in s.power_refs)
        phases = [s.number_phases for s in steps if s.number_phases is not None]
        merged.number_phases = max(phases) if phases else None
        append_step(out, merged)
    return out


def _unlimited(steps: list[Step]) -> bool:
    return len(steps) == 1 and not steps[0].has_limit


def _at(step: Step, t: int) -> Step:
    if step.start == t:
        return step
    return Step(
        t,
        step.current,
        step.power,
        step.number_phases,
        step.current_stack,
        step.power_stack,
        step.current_refs,
        step.power_refs,
        step.min_charging_rate,
    )
