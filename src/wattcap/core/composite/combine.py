"""Combining the intermediate schedules of several purposes or EVSEs (1.6 §3.13.3, K08 remark, A3, A13).

Each combination walks the change points of its inputs and appends a step only where the combined values
change (:meth:`Step.values`), deciding that before any step is built: most change points of a long window
repeat the step before them.
"""

from __future__ import annotations

from itertools import chain

from wattcap.core.composite.steps import Step, absorb, changes, walk


def first_with_limit(preferred: list[Step], fallback: list[Step], *, dedupe: bool = True) -> list[Step]:
    """Where ``preferred`` has a limit it is taken whole, elsewhere ``fallback`` shows through.

    This is how a TxProfile replaces the TxDefaultProfile (1.6 §3.13.1: "SHALL overrule", not a minimum;
    OCTT TC_066 / TC_K_41) and how an EVSE's own TxDefault hides the station-wide one in some dialects.
    """
    if _unlimited(preferred):
        return fallback
    if _unlimited(fallback):
        return preferred
    out: list[Step] = []
    previous = None
    for t, (a, b) in walk([preferred, fallback]):
        chosen = a if a.has_limit else b
        values = chosen.values()
        if out and values == previous and dedupe:
            absorb(out[-1], chosen.current_refs, chosen.power_refs)
            continue
        out.append(_at(chosen, t))
        previous = values
    return out


def lowest(schedules: list[list[Step]], *, dedupe: bool = True) -> list[Step]:
    """The minimum of several schedules, current and power taken apart; phases = the fewest given.

    Ties keep the earlier schedule's attribution. (2.0.1 §3.7: "The lowest value … of numberPhases".)
    """
    limiting = [s for s in schedules if not _unlimited(s)]
    if len(limiting) <= 1:
        return limiting[0] if limiting else schedules[0]
    out: list[Step] = []
    previous = None
    for t, steps in walk(limiting):
        current = power = phases = min_rate = None
        current_stack = power_stack = 0
        current_refs = power_refs = ()
        for step in steps:
            value = step.current
            if value is not None and (current is None or value < current):
                current, current_stack, current_refs = value, step.current_stack, step.current_refs
            value = step.power
            if value is not None and (power is None or value < power):
                power, power_stack, power_refs = value, step.power_stack, step.power_refs
            value = step.number_phases
            if value is not None and (phases is None or value < phases):
                phases = value
            if step.min_charging_rate is not None:
                min_rate = max(min_rate or 0.0, step.min_charging_rate)
        values = (current, power, phases, current_stack, power_stack)
        if out and values == previous and dedupe:
            absorb(out[-1], current_refs, power_refs)
            continue
        out.append(Step(t, current, power, phases, current_stack, power_stack, current_refs, power_refs, min_rate))
        previous = values
    return out


def summed(schedules: list[list[Step]], *, default_current: float, default_power: float) -> list[Step]:
    """The station-wide total of several EVSE schedules (connector / evse 0 = "expected grid consumption").

    An EVSE without a limit adds the station's default limit, in both units, so the total never pretends an
    unlimited EVSE draws nothing (OCTT TC_K_22: 6 A x EVSEs; EVerest sums current and power this way even
    where no EVSE sets that unit); phases = the most any EVSE uses.

    Each EVSE's contribution is kept in a slot that changes only when that EVSE's schedule does; the totals
    are re-added in EVSE order at every change point, so they are the same floats as a plain sum.
    """
    n = len(schedules)
    currents = [default_current] * n  # each EVSE's current, or the default where it has none
    powers = [default_power] * n
    current_refs: list[tuple] = [()] * n
    power_refs: list[tuple] = [()] * n
    phases: list[float] = [_NO_PHASES] * n  # numberPhases, or -inf where none is given (so max() skips it)
    has_current = [False] * n
    has_power = [False] * n

    def take(i: int, step: Step) -> None:
        has_current[i] = step.current is not None
        currents[i] = step.current if has_current[i] else default_current
        has_power[i] = step.power is not None
        powers[i] = step.power if has_power[i] else default_power
        current_refs[i], power_refs[i] = step.current_refs, step.power_refs
        phases[i] = step.number_phases if step.number_phases is not None else _NO_PHASES

    for i, steps in enumerate(schedules):
        take(i, steps[0])
    out: list[Step] = []
    previous = None
    for t, changed in changes(schedules):
        for i, step in changed:
            take(i, step)
        current = sum(currents)
        power = sum(powers)
        most_phases = max(phases)
        if most_phases == _NO_PHASES:
            most_phases = None
        values = (current, power, most_phases, 0, 0)
        if out and values == previous:
            absorb(out[-1], tuple(chain.from_iterable(current_refs)), tuple(chain.from_iterable(power_refs)))
            continue
        out.append(
            Step(
                t,
                current,
                power,
                most_phases,
                current_refs=tuple(chain.from_iterable(current_refs)),
                power_refs=tuple(chain.from_iterable(power_refs)),
            )
        )
        previous = values
    return out


_NO_PHASES = float("-inf")


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
