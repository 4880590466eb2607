"""Fleet rules: which sessions get what, decided once per session and explained on request.

An operator writes rules ("premium users get 22 kW", "this van must be at 80 % by 06:00, charged when the grid
is cheap", "visitors never above 11 kW during office hours"); the shell evaluates them on Authorize, on
transaction start and again when something relevant changes (the EV announces its needs, a time window opens:
:func:`next_reevaluation` says when). :func:`evaluate` is pure and total: for any :class:`SessionFacts` it returns
an :class:`Evaluation` with the :class:`~wattcap.core.fleet.model.SessionPolicy` and a trace that says, rule by
rule and condition by condition, why each did or did not apply, which is also the dry run.

**Order.** Rules are tried by ``precedence`` (higher first, default 0), ties in the order they were written; the
first whose conditions all hold wins and the others are not consulted. A rule without conditions matches every
session, so it belongs last as the fleet's default.

**Conditions** (all optional, all must hold; a list holds when any item does): ``id_token``, ``id_token_group``,
``vehicle_id``, ``vehicle_type``, ``site``, ``station``, ``evse`` (``"station/evse"`` pairs or bare EVSE ids),
``connector_type`` and a wall-clock :class:`~wattcap.core.fleet.local_time.Window` (``time_of_day`` and
``days``). Texts are shell-style patterns (``depot-*``); id-tokens, groups and connector types compare without
regard to case, as OCPP's IdToken (CiString) does. A condition on something the session does not know (no
id-token group on a 1.6 Authorize, no vehicle) does not hold.

**Vehicles.** The rule set carries the operator's vehicle registry (id-token → vehicle). When the EV identifies
itself (2.0.1 EV data: the shell sets ``facts.vehicle``), that identity wins over the id-token: a card is lent
from car to car, the car plugged in is the car charging. If its id is in the registry, the registry entry is used
(the operator's type and battery), with anything the registry leaves out taken from the EV. Without EV data the
id-token's vehicle is used. :func:`resolve_vehicle` implements this; the trace says where the vehicle came from.

**Goals.** A rule's goal names its departure as a local ``by`` time, a ``within`` offset, or ``departure: ev`` (the
EV's own departure from 2.0.1 NotifyEVChargingNeeds, falling back to ``by``/``within`` when the EV gave none or one
already past); it is resolved here to an aware UTC :class:`~wattcap.core.fleet.model.ChargingGoal`. A goal whose
departure cannot be resolved is left out of the policy with a note, never an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from fnmatch import fnmatchcase
from zoneinfo import ZoneInfo

from wattcap.core.fleet.local_time import DAY_NAMES, Window, as_utc, format_clock, next_wall_time
from wattcap.core.fleet.model import (
    ChargingGoal,
    ProfileTemplate,
    SessionFacts,
    SessionPolicy,
    Strategy,
    Vehicle,
)

__all__ = [
    "Check",
    "Evaluation",
    "EvseRef",
    "GoalSpec",
    "Match",
    "Rule",
    "RuleSet",
    "RuleTrace",
    "evaluate",
    "never_reached",
    "next_reevaluation",
    "resolve_vehicle",
    "vehicle_for_token",
]

_GLOB = frozenset("*?[")
_DEFAULTS = SessionPolicy()


@dataclass(frozen=True, slots=True)
class EvseRef:
    """An EVSE a rule names: a station pattern and an EVSE id (None: every EVSE of the matching stations)."""

    station: str = "*"
    evse: int | None = None

    def matches(self, station_id: str, evse_id: int) -> bool:
        return fnmatchcase(station_id, self.station) and (self.evse is None or self.evse == evse_id)

    def __str__(self) -> str:
        return f"{self.station}/{'*' if self.evse is None else self.evse}"


@dataclass(frozen=True, slots=True)
class Match:
    """A rule's conditions; an empty tuple (or no window) is no condition on that fact."""

    id_token: tuple[str, ...] = ()
    id_token_group: tuple[str, ...] = ()
    vehicle_id: tuple[str, ...] = ()
    vehicle_type: tuple[str, ...] = ()
    site: tuple[str, ...] = ()
    station: tuple[str, ...] = ()
    evse: tuple[EvseRef, ...] = ()
    connector_type: tuple[str, ...] = ()
    window: Window | None = None

    @property
    def is_empty(self) -> bool:
        """No conditions at all: the rule matches every session."""
        return self == Match()


@dataclass(frozen=True, slots=True)
class GoalSpec:
    """A goal as written in a rule: its departure is still local (``by``), relative (``within_s``) or the EV's."""

    strategy: Strategy = Strategy.FASTEST
    energy_wh: float | None = None
    soc_percent: float | None = None
    by: time | None = None
    within_s: int | None = None
    from_ev: bool = False
    #: ``energy: ev``: the energy the EV asks for (2.0.1 NotifyEVChargingNeeds), else ``energy_wh`` / the SoC.
    energy_from_ev: bool = False

    def describe(self) -> str:
        amount = " and ".join(
            part for part in (
                "the EV's requested energy" if self.energy_from_ev else "",
                f"{self.soc_percent:g} % SoC" if self.soc_percent is not None else "",
                f"{self.energy_wh / 1000:g} kWh" if self.energy_wh is not None else "",
            ) if part
        )
        fallback = f"by {format_clock(self.by)}" if self.by is not None else (
            f"within {_duration_text(self.within_s)}" if self.within_s is not None else "")
        when = (f"by the EV's departure{', else ' + fallback if fallback else ''}" if self.from_ev else fallback)
        return f"{amount} {when}, {self.strategy.value}"


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its conditions and what it decides. ``line`` is where it was written (None from the API)."""

    name: str
    match: Match = Match()
    precedence: int = 0
    weight: float | None = None
    priority: int | None = None
    max_power_w: float | None = None
    max_current_a: float | None = None
    goal: GoalSpec | None = None
    template: ProfileTemplate | None = None
    description: str | None = None
    line: int | None = None
    index: int = 0

    def actions(self) -> tuple[str, ...]:
        """What the rule decides, one phrase per action, for traces and tables."""
        said = []
        if self.weight is not None:
            said.append(f"weight {self.weight:g}")
        if self.priority is not None:
            said.append(f"priority {self.priority}")
        if self.max_power_w is not None:
            said.append(f"at most {self.max_power_w / 1000:g} kW")
        if self.max_current_a is not None:
            said.append(f"at most {self.max_current_a:g} A")
        if self.goal is not None:
            said.append(f"goal {self.goal.describe()}")
        if self.template is not None:
            said.append(f"TxProfile template of {len(self.template.periods)} period(s) in {self.template.unit.value}")
        return tuple(said) or ("the defaults",)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A fleet's rules and vehicle registry, with the time zone their wall-clock times are in."""

    rules: tuple[Rule, ...] = ()
    vehicles: tuple[Vehicle, ...] = ()
    timezone: str = "UTC"
    mode: str = "first-match"
    source: str = "<rules>"

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # an unknown zone fails here, once, not in every evaluation (the loader explains it)
        if self.mode != "first-match":
            raise ValueError(f"unknown rule set mode {self.mode!r}; only 'first-match' exists")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def ordered(self) -> tuple[Rule, ...]:
        """The rules in the order they are tried: higher precedence first, then as written."""
        return tuple(sorted(self.rules, key=lambda r: (-r.precedence, r.index)))

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)


@dataclass(frozen=True, slots=True)
class Check:
    """One condition of one rule for one session: whether it held, and why, in words."""

    condition: str
    held: bool
    reason: str


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """A rule as evaluated: ``matched`` when all its conditions held, ``applied`` when it was the one chosen.

    Rules after the chosen one are still checked, so a dry run can show that a later rule would also have matched
    and was shadowed.
    """

    rule: Rule
    matched: bool
    applied: bool
    checks: tuple[Check, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(c.reason for c in self.checks)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The outcome for one session: the policy, the rule that gave it (None: defaults), and the trace."""

    policy: SessionPolicy
    rule: Rule | None
    trace: tuple[RuleTrace, ...]
    vehicle: Vehicle | None = None
    vehicle_source: str = "no vehicle known"

    def explain(self) -> str:
        """The dry run as plain text: one block per rule in evaluation order, then the policy."""
        lines = [f"vehicle: {self.vehicle_source}"]
        for entry in self.trace:
            verdict = "APPLIED" if entry.applied else ("matched, not reached" if entry.matched else "no match")
            where = f" (line {entry.rule.line})" if entry.rule.line is not None else ""
            lines.append(f"{entry.rule.name}{where}, precedence {entry.rule.precedence}: {verdict}")
            lines.extend(f"  {'✓' if c.held else '✗'} {c.reason}" for c in entry.checks)
        lines.append(f"policy: {'rule ' + repr(self.rule.name) if self.rule else 'defaults (no rule matched)'}")
        lines.extend(f"  {note}" for note in self.policy.notes)
        return "\n".join(lines)


def vehicle_for_token(ruleset: RuleSet, id_token: str | None) -> Vehicle | None:
    """The registered vehicle an id-token belongs to (compared without case, as OCPP IdTokens are), or None."""
    if not id_token:
        return None
    key = id_token.casefold()
    return next((v for v in ruleset.vehicles if any(t.casefold() == key for t in v.id_tokens)), None)


def resolve_vehicle(ruleset: RuleSet, facts: SessionFacts) -> tuple[Vehicle | None, str]:
    """The vehicle the rules see for a session and where it came from (see the module docstring for the order)."""
    own = facts.vehicle
    if own is not None:
        registered = next((v for v in ruleset.vehicles if v.id == own.id), None)
        if registered is None:
            return own, f"{own.id!r} from the EV's own data (not in the registry)"
        filled = {f.name: getattr(own, f.name) for f in dataclasses.fields(Vehicle)
                  if getattr(registered, f.name) is None and getattr(own, f.name) is not None}
        return dataclasses.replace(registered, **filled), f"{own.id!r} from the EV's own data, found in the registry"
    by_token = vehicle_for_token(ruleset, facts.id_token)
    if by_token is not None:
        return by_token, f"{by_token.id!r} from the registry, by id-token {facts.id_token!r}"
    return None, "no vehicle known"


def evaluate(ruleset: RuleSet, facts: SessionFacts) -> Evaluation:
    """Decide the policy for a session: the first rule, in precedence order, whose conditions all hold."""
    vehicle, source = resolve_vehicle(ruleset, facts)
    local = as_utc(facts.at).astimezone(ruleset.zone)
    chosen: Rule | None = None
    trace = []
    for rule in ruleset.ordered():
        checks = _checks(rule.match, facts, vehicle, local, ruleset.timezone)
        matched = all(c.held for c in checks)
        applied = matched and chosen is None
        if applied:
            chosen = rule
        trace.append(RuleTrace(rule, matched, applied, checks))
    policy = SessionPolicy() if chosen is None else _policy(chosen, facts, ruleset)
    return Evaluation(policy, chosen, tuple(trace), vehicle, source)


def next_reevaluation(ruleset: RuleSet, after: datetime) -> datetime | None:
    """The next instant after ``after`` when a rule's time window may open or close (None: no rule has one).

    The shell evaluates a session's rules again then, so "during office hours" ends at 18:00 without a new event.
    """
    clocks = {clock for rule in ruleset.rules if rule.match.window for clock in rule.match.window.boundaries()}
    zone = ruleset.zone
    return min((next_wall_time(after, clock, zone) for clock in clocks), default=None)


def never_reached(ruleset: RuleSet) -> tuple[tuple[Rule, Rule], ...]:
    """Rules that can never apply, each with the rule before it that matches every session and so shadows it.

    Not an error (a catch-all placed too high is sometimes deliberate while testing), but worth a warning when a
    file is checked.
    """
    shadowed = []
    catch_all: Rule | None = None
    for rule in ruleset.ordered():
        if catch_all is not None:
            shadowed.append((rule, catch_all))
        elif rule.match.is_empty:
            catch_all = rule
    return tuple(shadowed)


def _policy(rule: Rule, facts: SessionFacts, ruleset: RuleSet) -> SessionPolicy:
    notes = [f"rule {rule.name!r}" + (f" (line {rule.line})" if rule.line is not None else "")
             + ": " + ", ".join(rule.actions())]
    goal = _goal(rule.goal, facts, ruleset.zone, notes) if rule.goal is not None else None
    return SessionPolicy(
        rule=rule.name,
        weight=rule.weight if rule.weight is not None else _DEFAULTS.weight,
        priority=rule.priority if rule.priority is not None else _DEFAULTS.priority,
        max_power_w=rule.max_power_w,
        max_current_a=rule.max_current_a,
        goal=goal,
        template=rule.template,
        notes=tuple(notes),
    )


def _goal(spec: GoalSpec, facts: SessionFacts, zone: ZoneInfo, notes: list[str]) -> ChargingGoal | None:
    at = as_utc(facts.at)
    departure: datetime | None = None
    if spec.from_ev:
        if facts.ev_departure is not None and as_utc(facts.ev_departure) > at:
            departure = as_utc(facts.ev_departure)
            notes.append(f"goal departure {departure:%Y-%m-%dT%H:%M}Z, announced by the EV")
        elif facts.ev_departure is not None:
            notes.append("the EV's departure time is already past; it is not used")
    if departure is None and spec.by is not None:
        departure = next_wall_time(at, spec.by, zone)
        notes.append(f"goal departure {format_clock(spec.by)} {zone.key} is {departure:%Y-%m-%dT%H:%M}Z")
    elif departure is None and spec.within_s is not None:
        departure = at + timedelta(seconds=spec.within_s)
        notes.append(f"goal departure within {_duration_text(spec.within_s)} is {departure:%Y-%m-%dT%H:%M}Z")
    if departure is None:
        notes.append("goal left out: the EV announced no departure time and the rule gives no by/within fallback")
        return None
    energy_wh = spec.energy_wh
    if spec.energy_from_ev and facts.ev_energy_wh is not None:
        energy_wh = facts.ev_energy_wh
        notes.append(f"goal energy {energy_wh / 1000:g} kWh, requested by the EV")
        if spec.soc_percent is not None:
            return ChargingGoal(departure=departure, strategy=spec.strategy, energy_wh=energy_wh)
    elif spec.energy_from_ev and energy_wh is None and spec.soc_percent is None:
        notes.append("goal left out until the EV announces the energy it needs")
        return None
    return ChargingGoal(departure=departure, strategy=spec.strategy, energy_wh=energy_wh,
                        soc_percent=spec.soc_percent)


def _checks(match: Match, facts: SessionFacts, vehicle: Vehicle | None, local: datetime,
            zone_name: str) -> tuple[Check, ...]:
    if match.is_empty:
        return (Check("any", True, "no conditions: matches every session"),)
    checks = [
        _text_check("id_token", "id-token", facts.id_token, match.id_token, fold=True),
        _text_check("id_token_group", "id-token group", facts.id_token_group, match.id_token_group, fold=True),
        _text_check("vehicle_id", "vehicle", vehicle.id if vehicle else None, match.vehicle_id),
        _text_check("vehicle_type", "vehicle type", vehicle.type if vehicle else None, match.vehicle_type),
        _text_check("site", "site", facts.site_id, match.site),
        _text_check("station", "station", facts.station_id, match.station),
        _evse_check(match.evse, facts),
        _text_check("connector_type", "connector type", facts.connector_type, match.connector_type, fold=True),
        _window_check(match.window, local, zone_name),
    ]
    return tuple(c for c in checks if c is not None)


def _text_check(condition: str, label: str, value: str | None, patterns: tuple[str, ...],
                *, fold: bool = False) -> Check | None:
    if not patterns:
        return None
    shown = list(patterns)
    if value is None:
        return Check(condition, False, f"no {label} known (the rule needs one of {shown})")
    hit = _first_match(value, patterns, fold=fold)
    if hit is None:
        return Check(condition, False, f"{label} {value!r} is not one of {shown}")
    if _GLOB & set(hit):
        return Check(condition, True, f"{label} {value!r} matches {hit!r}")
    return Check(condition, True, f"{label} {value!r} is one of {shown}")


def _first_match(value: str, patterns: Iterable[str], *, fold: bool) -> str | None:
    key = value.casefold() if fold else value
    for pattern in patterns:
        if fnmatchcase(key, pattern.casefold() if fold else pattern):
            return pattern
    return None


def _evse_check(refs: tuple[EvseRef, ...], facts: SessionFacts) -> Check | None:
    if not refs:
        return None
    here = f"{facts.station_id}/{facts.evse_id}"
    shown = [str(r) for r in refs]
    if any(r.matches(facts.station_id, facts.evse_id) for r in refs):
        return Check("evse", True, f"EVSE {here} is one of {shown}")
    return Check("evse", False, f"EVSE {here} is not one of {shown}")


def _window_check(window: Window | None, local: datetime, zone_name: str) -> Check | None:
    if window is None:
        return None
    now = f"{local:%H:%M} {local:%a}"
    opened = window.opened_on(local)
    inside = window.contains(local)
    note = ""
    if opened is not None and opened != local.weekday() and inside:
        note = f"; the window opened {_day_title(opened)}"
    elif opened is not None and opened != local.weekday():
        note = f"; this is the end of {_day_title(opened)}'s window"
    verdict = "inside" if inside else "outside"
    return Check("time", inside, f"{now} is {verdict} {window.describe()} ({zone_name}{note})")


def _day_title(day: int) -> str:
    return DAY_NAMES[day].title()


def _duration_text(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)
    return text or "0s"
