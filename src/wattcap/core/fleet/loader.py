"""Read a fleet rules document (YAML from a file, or the same document as JSON through the API) into a RuleSet.

A rules file is checked as a whole before anything is deployed: every problem is reported in one pass, each with
its line and column (YAML) or its JSON path (API), and a reason that says what to write instead. A document
with any issue is refused entirely (:class:`RuleFileError`); there is no partially loaded rule set.

The document::

    timezone: Europe/Berlin          # IANA zone of every wall-clock time below; default UTC
    mode: first-match                # the only mode: the first rule (by precedence, then as written) wins
    vehicles:                        # the id-token → vehicle registry
      - id: van-07                   # required, unique
        type: delivery-van
        battery_kwh: 75
        max_ac_current_a: 32
        ac_phases: 3
        max_dc_power_kw: 50
        id_tokens: [04A1B2C3]        # a token belongs to at most one vehicle (compared without case)
    rules:
      - name: vans-by-six            # required, unique
        description: free text, shown by `wattcap rules explain`
        precedence: 10               # optional integer, higher is tried first; default 0
        match:                       # optional; all conditions must hold, a list holds when any item does
          id_token: [04A1B2C3]       # texts are patterns: depot-*, van-?? ...
          id_token_group: fleet
          vehicle_id: van-07
          vehicle_type: delivery-van
          site: depot
          station: depot-*
          evse: [depot-1/2, "depot-*/1", 3]   # station/evse pairs, or an EVSE id on any station
          connector_type: cType2
          time_of_day: {from: "08:00", to: "18:00"}   # wraps past midnight when to < from
          days: [mon-fri, sun]       # mon..sun, full names, ranges
        weight: 2                    # > 0, the allocator's share
        priority: high               # an integer or low | normal | high | critical
        max_power_kw: 22
        max_current_a: 16
        goal:
          soc_percent: 80            # and/or energy_kwh
          by: "06:00"                # or within: 7h; or departure: ev (the EV's own, by/within as fallback)
          strategy: cheapest         # fastest (default) | cheapest | solar
        tx_profile:
          unit: A                    # A | W
          periods:
            - {start: 0s, limit: 16}
            - {start: 2h, limit: 32, phases: 3}

Everything is validated here; :mod:`wattcap.core.fleet.rules` trusts what it is given.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from wattcap.core.fleet.document import Located, RuleFileError, RuleIssue, from_data, from_yaml, kind_of
from wattcap.core.fleet.local_time import ALL_DAYS, Window, parse_clock, parse_day, parse_duration
from wattcap.core.fleet.model import (
    PRIORITY_CLASSES,
    ProfileTemplate,
    Strategy,
    TemplatePeriod,
    Vehicle,
)
from wattcap.core.fleet.rules import EvseRef, GoalSpec, Match, Rule, RuleSet
from wattcap.core.model import ChargingRateUnit

__all__ = ["RuleFileError", "RuleIssue", "load_rules", "rules_from_data"]

T = TypeVar("T")

TOP_KEYS = ("timezone", "mode", "vehicles", "rules")
VEHICLE_KEYS = ("id", "type", "battery_kwh", "max_ac_current_a", "ac_phases", "max_dc_power_kw", "id_tokens")
MATCH_KEYS = ("id_token", "id_token_group", "vehicle_id", "vehicle_type", "site", "station", "evse",
              "connector_type", "time_of_day", "days")
ACTION_KEYS = ("weight", "priority", "max_power_kw", "max_current_a", "goal", "tx_profile")
RULE_KEYS = ("name", "description", "precedence", "match", *ACTION_KEYS)
GOAL_KEYS = ("energy_kwh", "energy", "soc_percent", "by", "within", "departure", "strategy")
PROFILE_KEYS = ("unit", "periods")
PERIOD_KEYS = ("start", "limit", "phases")
WINDOW_KEYS = ("from", "to")
MODES = ("first-match",)


def load_rules(text: str, source: str = "<rules>") -> RuleSet:
    """The rule set in a YAML document; :class:`RuleFileError` lists every issue with its line and column."""
    issues: list[RuleIssue] = []
    root = from_yaml(text, issues)
    ruleset = _document(root, source, issues) if root is not None else None
    if issues or ruleset is None:
        raise RuleFileError(issues, source)
    return ruleset


def rules_from_data(data: Mapping[str, Any], source: str = "<api>") -> RuleSet:
    """The same document as JSON data (the API's form); issues carry JSON paths like ``rules[2].match.days[0]``."""
    issues: list[RuleIssue] = []
    ruleset = _document(from_data(data), source, issues)
    if issues or ruleset is None:
        raise RuleFileError(issues, source)
    return ruleset


class _Reader:
    """Checks one document, collecting issues and carrying on so that one pass finds them all."""

    def __init__(self, issues: list[RuleIssue]) -> None:
        self.issues = issues

    def fail(self, node: Located, reason: str) -> None:
        self.issues.append(node.issue(reason))

    # -- shapes -------------------------------------------------------------------------------------------------

    def mapping(self, node: Located, known: tuple[str, ...], what: str,
                hints: Mapping[str, str] | None = None) -> dict[str, Located] | None:
        """The known fields of a mapping; each unknown key is an issue at the key, with a suggestion."""
        if not isinstance(node.value, dict):
            self.fail(node, f"{what} must be a mapping, not {kind_of(_plain(node))}")
            return None
        for key in node.value:
            if key in known:
                continue
            if hints and key in hints:
                reason = f"unknown key {key!r} in {what}; {hints[key]}"
            else:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                suggestion = f"did you mean {close[0]!r}?" if close else f"expected one of {', '.join(known)}"
                reason = f"unknown key {key!r} in {what}; {suggestion}"
            self.issues.append(node.key_issue(key, reason))
        return {k: v for k, v in node.value.items() if k in known}

    def items(self, node: Located, what: str) -> list[Located]:
        """A list, or a single value standing for a list of one (``vehicle_type: van``)."""
        if isinstance(node.value, list):
            return node.value
        if isinstance(node.value, dict) or node.value is None:
            self.fail(node, f"{what} must be a value or a list, not {kind_of(node.value)}")
            return []
        return [node]

    def sequence(self, node: Located, what: str) -> list[Located]:
        if isinstance(node.value, list):
            return node.value
        self.fail(node, f"{what} must be a list, not {kind_of(_plain(node))}")
        return []

    # -- scalars ------------------------------------------------------------------------------------------------

    def text(self, node: Located, what: str) -> str | None:
        """A text; a YAML plain scalar is taken as written (``0012``, ``yes``, ``18:00`` stay texts)."""
        if isinstance(node.value, str):
            value = node.value
        elif node.text is not None and node.value is not None and not isinstance(node.value, dict | list):
            value = node.text
        else:
            self.fail(node, f"{what} must be a text, not {kind_of(_plain(node))}")
            return None
        if not value.strip():
            self.fail(node, f"{what} must not be empty")
            return None
        return value

    def texts(self, node: Located, what: str) -> tuple[str, ...]:
        found = [self.text(item, what) for item in self.items(node, what)]
        return tuple(t for t in found if t is not None)

    def number(self, node: Located, what: str, *, positive: bool = False, minimum: float | None = None,
               maximum: float | None = None) -> float | None:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.fail(node, f"{what} must be a number, not {kind_of(_plain(node))}")
            return None
        if positive and value <= 0:
            self.fail(node, f"{what} must be greater than 0, not {value:g}")
            return None
        if minimum is not None and value < minimum:
            self.fail(node, f"{what} must be at least {minimum:g}, not {value:g}")
            return None
        if maximum is not None and value > maximum:
            self.fail(node, f"{what} must be at most {maximum:g}, not {value:g}")
            return None
        return float(value)

    def integer(self, node: Located, what: str) -> int | None:
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            self.fail(node, f"{what} must be a whole number, not {kind_of(_plain(node))}")
            return None
        return node.value

    def parsed(self, node: Located, what: str, parse: Callable[[str], T]) -> T | None:
        """A text read by ``parse``; its ValueError becomes the issue's reason."""
        value = self.text(node, what)
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as exc:
            self.fail(node, f"{what}: {exc}")
            return None

    def duration(self, node: Located, what: str) -> int | None:
        """Seconds as a whole number, or a text like ``2h``/``90m``/``1h30m``."""
        if node.text is not None and ":" in node.text:
            self.fail(node, f"{what}: {node.text!r} is not a duration; write it like \"1h30m\" or \"90m\"")
            return None
        if isinstance(node.value, int) and not isinstance(node.value, bool):
            seconds = node.value
        else:
            parsed = self.parsed(node, what, parse_duration)
            if parsed is None:
                return None
            seconds = parsed
        if seconds < 0:
            self.fail(node, f"{what} must not be negative")
            return None
        return seconds

    def choice(self, node: Located, what: str, options: tuple[str, ...]) -> str | None:
        value = self.text(node, what)
        if value is None:
            return None
        if value in options:
            return value
        folded = {o.casefold(): o for o in options}
        if value.casefold() in folded:
            return folded[value.casefold()]
        close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"expected one of {', '.join(options)}"
        self.fail(node, f"unknown {what} {value!r}; {hint}")
        return None


def _plain(node: Located) -> Any:
    """The value as a reason shows it: what was written where YAML 1.1 read it otherwise (``18:00`` is 1080)."""
    value = node.value
    if isinstance(value, int | float) and not isinstance(value, bool) and node.text is not None:
        return value if str(value) == node.text else node.text
    return value


# -- the document ---------------------------------------------------------------------------------------------


def _document(root: Located, source: str, issues: list[RuleIssue]) -> RuleSet | None:
    read = _Reader(issues)
    top = read.mapping(root, TOP_KEYS, "the document")
    if top is None:
        return None
    timezone = _timezone(read, top["timezone"]) if "timezone" in top else "UTC"
    mode = read.choice(top["mode"], "mode", MODES) if "mode" in top else "first-match"
    vehicles = _vehicles(read, top["vehicles"]) if "vehicles" in top else ()
    if "rules" not in top:
        read.fail(root, "the document has no 'rules:' (a list of rules; it may be empty)")
        rules: tuple[Rule, ...] = ()
    else:
        rules = _rules(read, top["rules"])
    if timezone is None or mode is None:
        return None
    return RuleSet(rules=rules, vehicles=vehicles, timezone=timezone, mode=mode, source=source)


def _timezone(read: _Reader, node: Located) -> str | None:
    name = read.text(node, "timezone")
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(name, sorted(available_timezones()), n=1, cutoff=0.8)
        hint = f"did you mean {close[0]!r}?" if close else "use an IANA name such as 'Europe/Berlin' or 'UTC'"
        read.fail(node, f"unknown time zone {name!r}; {hint}")
        return None
    return name


def _vehicles(read: _Reader, node: Located) -> tuple[Vehicle, ...]:
    vehicles: list[Vehicle] = []
    seen: dict[str, int | None] = {}
    token_owner: dict[str, str] = {}
    for item in read.sequence(node, "vehicles"):
        fields = read.mapping(item, VEHICLE_KEYS, "a vehicle")
        if fields is None:
            continue
        if "id" not in fields:
            read.fail(item, "a vehicle needs an 'id'")
        vehicle_id = read.text(fields["id"], "a vehicle's id") if "id" in fields else None
        if vehicle_id is not None and vehicle_id in seen:
            read.fail(fields["id"], f"vehicle {vehicle_id!r} is defined twice (first on line {seen[vehicle_id]})"
                      if seen[vehicle_id] is not None else f"vehicle {vehicle_id!r} is defined twice")
            vehicle_id = None
        elif vehicle_id is not None:
            seen[vehicle_id] = fields["id"].line
        tokens = []
        for token_node in read.items(fields["id_tokens"], "id_tokens") if "id_tokens" in fields else []:
            token = read.text(token_node, "an id-token")
            if token is None:
                continue
            owner = token_owner.get(token.casefold())
            if owner is not None:
                read.fail(token_node, f"id-token {token!r} already belongs to vehicle {owner!r}")
                continue
            token_owner[token.casefold()] = vehicle_id or "?"
            tokens.append(token)
        kwh = _optional(fields, "battery_kwh", lambda n: read.number(n, "battery_kwh", positive=True))
        dc_kw = _optional(fields, "max_dc_power_kw", lambda n: read.number(n, "max_dc_power_kw", positive=True))
        phases = _optional(fields, "ac_phases", lambda n: _phases(read, n, "ac_phases"))
        vehicle = Vehicle(
            id=vehicle_id or "",
            type=_optional(fields, "type", lambda n: read.text(n, "a vehicle's type")),
            battery_wh=kwh * 1000 if kwh is not None else None,
            max_ac_current_a=_optional(fields, "max_ac_current_a",
                                       lambda n: read.number(n, "max_ac_current_a", positive=True)),
            ac_phases=phases,
            max_dc_power_w=dc_kw * 1000 if dc_kw is not None else None,
            id_tokens=tuple(tokens),
        )
        if vehicle_id is not None:
            vehicles.append(vehicle)
    return tuple(vehicles)


def _optional(fields: dict[str, Located], key: str, read: Callable[[Located], T]) -> T | None:
    return read(fields[key]) if key in fields else None


def _phases(read: _Reader, node: Located, what: str) -> int | None:
    value = read.integer(node, what)
    if value is not None and value not in (1, 2, 3):
        read.fail(node, f"{what} must be 1, 2 or 3, not {value}")
        return None
    return value


# -- rules ----------------------------------------------------------------------------------------------------

_MISPLACED_IN_RULE = {key: "conditions go under 'match:'" for key in MATCH_KEYS}
_MISPLACED_IN_MATCH = {key: "actions go next to 'match:', not inside it" for key in ACTION_KEYS}
_MISPLACED_IN_MATCH.update({"from": "write time_of_day: {from: ..., to: ...}",
                            "to": "write time_of_day: {from: ..., to: ...}"})


def _rules(read: _Reader, node: Located) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    names: dict[str, int | None] = {}
    for index, item in enumerate(read.sequence(node, "rules")):
        rule = _rule(read, item, index, names)
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def _rule(read: _Reader, node: Located, index: int, names: dict[str, int | None]) -> Rule | None:
    fields = read.mapping(node, RULE_KEYS, "a rule", _MISPLACED_IN_RULE)
    if fields is None:
        return None
    before = len(read.issues)
    name = read.text(fields["name"], "a rule's name") if "name" in fields else None
    if "name" not in fields:
        read.fail(node, "a rule needs a 'name' (it is how traces and the API refer to it)")
    elif name is not None and name in names:
        first = names[name]
        read.fail(fields["name"], f"rule name {name!r} is used twice" + (f" (first on line {first})" if first else ""))
    elif name is not None:
        names[name] = fields["name"].line
    precedence = read.integer(fields["precedence"], "precedence") if "precedence" in fields else 0
    match = _match(read, fields["match"]) if "match" in fields else Match()
    weight = _optional(fields, "weight", lambda n: read.number(n, "weight", positive=True))
    priority = _optional(fields, "priority", lambda n: _priority(read, n))
    max_kw = _optional(fields, "max_power_kw", lambda n: read.number(n, "max_power_kw", positive=True))
    max_a = _optional(fields, "max_current_a", lambda n: read.number(n, "max_current_a", positive=True))
    goal = _optional(fields, "goal", lambda n: _goal(read, n))
    template = _optional(fields, "tx_profile", lambda n: _template(read, n))
    description = _optional(fields, "description", lambda n: read.text(n, "description"))
    if len(read.issues) > before or name is None or precedence is None or match is None:
        return None
    return Rule(name=name, match=match, precedence=precedence, weight=weight, priority=priority,
                max_power_w=max_kw * 1000 if max_kw is not None else None, max_current_a=max_a, goal=goal,
                template=template, description=description, line=node.line, index=index)


def _priority(read: _Reader, node: Located) -> int | None:
    if isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    classes = tuple(PRIORITY_CLASSES)
    value = read.choice(node, "priority class", classes) if isinstance(node.value, str) else None
    if value is None and not isinstance(node.value, str):
        read.fail(node, f"priority must be a whole number or one of {', '.join(classes)}, "
                        f"not {kind_of(_plain(node))}")
    return PRIORITY_CLASSES[value] if value is not None else None


def _match(read: _Reader, node: Located) -> Match | None:
    if node.value is None:
        return Match()  # `match:` with nothing under it: no conditions
    fields = read.mapping(node, MATCH_KEYS, "match", _MISPLACED_IN_MATCH)
    if fields is None:
        return None

    def texts(key: str, what: str) -> tuple[str, ...]:
        return read.texts(fields[key], what) if key in fields else ()

    window = None
    if "time_of_day" in fields or "days" in fields:
        window = _window(read, fields.get("time_of_day"), fields.get("days"))
    return Match(
        id_token=texts("id_token", "an id-token"),
        id_token_group=texts("id_token_group", "an id-token group"),
        vehicle_id=texts("vehicle_id", "a vehicle id"),
        vehicle_type=texts("vehicle_type", "a vehicle type"),
        site=texts("site", "a site"),
        station=texts("station", "a station"),
        evse=tuple(_evses(read, fields["evse"])) if "evse" in fields else (),
        connector_type=texts("connector_type", "a connector type"),
        window=window,
    )


def _evses(read: _Reader, node: Located) -> list[EvseRef]:
    refs = []
    for item in read.items(node, "evse"):
        if isinstance(item.value, int) and not isinstance(item.value, bool):
            evse: int | None = item.value
            station = "*"
        else:
            written = read.text(item, "an EVSE")
            if written is None:
                continue
            station, slash, number = written.rpartition("/")
            if not slash or not station:
                read.fail(item, f"EVSE {written!r} must be 'station/evse' (like 'depot-1/2' or 'depot-*/*') "
                                "or an EVSE id")
                continue
            if number == "*":
                evse = None
            elif number.isdigit():
                evse = int(number)
            else:
                read.fail(item, f"EVSE {written!r}: {number!r} is not an EVSE id (a whole number, or *)")
                continue
        if evse is not None and evse < 1:
            read.fail(item, f"EVSE id {evse} is not an EVSE: sessions run on EVSE 1 and up")
            continue
        refs.append(EvseRef(station, evse))
    return refs


def _window(read: _Reader, hours: Located | None, days_node: Located | None) -> Window | None:
    start = end = None
    ok = True
    if hours is not None:
        fields = read.mapping(hours, WINDOW_KEYS, "time_of_day")
        if fields is None:
            return None
        for key in WINDOW_KEYS:
            if key not in fields:
                read.fail(hours, f"time_of_day needs '{key}' (a local time like \"08:00\")")
                ok = False
        if "from" in fields:
            start = read.parsed(fields["from"], "time_of_day.from", parse_clock)
        if "to" in fields:
            end = read.parsed(fields["to"], "time_of_day.to", lambda t: parse_clock(t, end_of_day=True))
        if start is not None and end is not None and start == end:
            read.fail(hours, "time_of_day is empty (from equals to); leave it out to mean the whole day")
            ok = False
        ok = ok and start is not None and end is not None
    days: frozenset[int] = ALL_DAYS
    if days_node is not None:
        found: set[int] = set()
        entries = read.items(days_node, "days")
        if not entries and isinstance(days_node.value, list):
            read.fail(days_node, "days is empty; leave it out to mean every day")
            ok = False
        for entry in entries:
            parsed = read.parsed(entry, "days", parse_day)
            if parsed is None:
                ok = False
            else:
                found |= parsed
        days = frozenset(found) if found else ALL_DAYS
    return Window(start, end, days) if ok else None


def _goal(read: _Reader, node: Located) -> GoalSpec | None:
    fields = read.mapping(node, GOAL_KEYS, "goal")
    if fields is None:
        return None
    before = len(read.issues)
    energy = _optional(fields, "energy_kwh", lambda n: read.number(n, "energy_kwh", positive=True))
    soc = _optional(fields, "soc_percent", lambda n: read.number(n, "soc_percent", positive=True, maximum=100))
    energy_from_ev = False
    if "energy" in fields:
        energy_from_ev = read.choice(fields["energy"], "energy", ("ev",)) == "ev"
    if not {"energy_kwh", "soc_percent", "energy"} & fields.keys():
        read.fail(node, "a goal needs an amount: energy_kwh, soc_percent, or energy: ev (what the EV asks for)")
    by = _optional(fields, "by", lambda n: read.parsed(n, "by", parse_clock))
    within = _optional(fields, "within", lambda n: read.duration(n, "within"))
    if within == 0:
        read.fail(fields["within"], "within must be longer than 0s")
    from_ev = False
    if "departure" in fields:
        from_ev = read.choice(fields["departure"], "departure", ("ev",)) == "ev"
    if "by" in fields and "within" in fields:
        read.fail(fields["within"], "a goal has one fallback departure: 'by' or 'within', not both")
    if not {"by", "within", "departure"} & fields.keys():
        read.fail(node, "a goal needs a departure: by: \"HH:MM\", within: <duration>, or departure: ev")
    strategy = Strategy.FASTEST
    if "strategy" in fields:
        chosen = read.choice(fields["strategy"], "strategy", tuple(s.value for s in Strategy))
        strategy = Strategy(chosen) if chosen is not None else strategy
    if len(read.issues) > before:
        return None
    return GoalSpec(strategy=strategy, energy_wh=energy * 1000 if energy is not None else None, soc_percent=soc,
                    by=by, within_s=within, from_ev=from_ev, energy_from_ev=energy_from_ev)


def _template(read: _Reader, node: Located) -> ProfileTemplate | None:
    fields = read.mapping(node, PROFILE_KEYS, "tx_profile")
    if fields is None:
        return None
    before = len(read.issues)
    unit = read.choice(fields["unit"], "unit", ("A", "W")) if "unit" in fields else None
    if "unit" not in fields:
        read.fail(node, "tx_profile needs a 'unit': A (per phase) or W (all phases)")
    if "periods" not in fields:
        read.fail(node, "tx_profile needs 'periods' (a list of {start, limit})")
    periods: list[TemplatePeriod] = []
    previous: int | None = None
    items = read.sequence(fields["periods"], "periods") if "periods" in fields else []
    if "periods" in fields and not items and isinstance(fields["periods"].value, list):
        read.fail(fields["periods"], "periods is empty; a tx_profile needs at least one period starting at 0s")
    for position, item in enumerate(items):
        period = read.mapping(item, PERIOD_KEYS, "a period")
        if period is None:
            continue
        for key in ("start", "limit"):
            if key not in period:
                read.fail(item, f"a period needs '{key}'")
        start = read.duration(period["start"], "start") if "start" in period else None
        limit = read.number(period["limit"], "limit", minimum=0) if "limit" in period else None
        phases = _phases(read, period["phases"], "phases") if "phases" in period else None
        if start is not None and position == 0 and start != 0:
            read.fail(period["start"], f"the first period must start at 0s, not {start}s")
        elif start is not None and previous is not None and start <= previous:
            read.fail(period["start"], f"periods must start in increasing order: {start}s is not after {previous}s")
        if start is not None:
            previous = start
        if start is not None and limit is not None:
            periods.append(TemplatePeriod(start, limit, phases))
    if len(read.issues) > before or unit is None:
        return None
    return ProfileTemplate(ChargingRateUnit(unit), tuple(periods))
