"""A RuleSet written back as the document it was read from (JSON data for the API, or YAML text).

So that the API can show the rules in force in the very form it accepts them, and a rule set built in code can be
saved as a file. Reading what this writes gives the same rule set back (line numbers aside): the loader and this
module are each other's inverse, and ``tests/core/fleet/test_rules_dump.py`` holds them to it.
"""

from __future__ import annotations

from typing import Any

import yaml

from wattcap.core.fleet.local_time import ALL_DAYS, DAY_NAMES, Window, format_clock
from wattcap.core.fleet.model import PRIORITY_CLASSES, ProfileTemplate, Vehicle
from wattcap.core.fleet.rules import GoalSpec, Match, Rule, RuleSet

__all__ = ["dump_rules", "rules_to_data"]


def rules_to_data(ruleset: RuleSet) -> dict[str, Any]:
    """The rule set as the JSON document :func:`~wattcap.core.fleet.loader.rules_from_data` reads."""
    return {
        "timezone": ruleset.timezone,
        "mode": ruleset.mode,
        "vehicles": [_vehicle(v) for v in ruleset.vehicles],
        "rules": [_rule(r) for r in ruleset.rules],
    }


def dump_rules(ruleset: RuleSet) -> str:
    """The rule set as a YAML rules file, keys in the documented order."""
    return yaml.safe_dump(rules_to_data(ruleset), sort_keys=False, allow_unicode=True, width=120)


def _vehicle(vehicle: Vehicle) -> dict[str, Any]:
    data: dict[str, Any] = {"id": vehicle.id}
    optional = {
        "type": vehicle.type,
        "battery_kwh": vehicle.battery_wh / 1000 if vehicle.battery_wh is not None else None,
        "max_ac_current_a": vehicle.max_ac_current_a,
        "ac_phases": vehicle.ac_phases,
        "max_dc_power_kw": vehicle.max_dc_power_w / 1000 if vehicle.max_dc_power_w is not None else None,
        "id_tokens": list(vehicle.id_tokens) or None,
    }
    return data | {k: v for k, v in optional.items() if v is not None}


def _rule(rule: Rule) -> dict[str, Any]:
    data: dict[str, Any] = {"name": rule.name}
    if rule.description is not None:
        data["description"] = rule.description
    if rule.precedence:
        data["precedence"] = rule.precedence
    if not rule.match.is_empty:
        data["match"] = _match(rule.match)
    named = {v: k for k, v in PRIORITY_CLASSES.items()}
    optional = {
        "weight": rule.weight,
        "priority": named.get(rule.priority, rule.priority) if rule.priority is not None else None,
        "max_power_kw": rule.max_power_w / 1000 if rule.max_power_w is not None else None,
        "max_current_a": rule.max_current_a,
        "goal": _goal(rule.goal) if rule.goal is not None else None,
        "tx_profile": _template(rule.template) if rule.template is not None else None,
    }
    return data | {k: v for k, v in optional.items() if v is not None}


def _match(match: Match) -> dict[str, Any]:
    texts = {
        "id_token": match.id_token, "id_token_group": match.id_token_group, "vehicle_id": match.vehicle_id,
        "vehicle_type": match.vehicle_type, "site": match.site, "station": match.station,
    }
    data: dict[str, Any] = {k: list(v) for k, v in texts.items() if v}
    if match.evse:
        data["evse"] = [ref.evse if ref.station == "*" and ref.evse is not None else str(ref) for ref in match.evse]
    if match.connector_type:
        data["connector_type"] = list(match.connector_type)
    if match.window is not None:
        data |= _window(match.window)
    return data


def _window(window: Window) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if window.start is not None and window.end is not None:
        data["time_of_day"] = {"from": format_clock(window.start), "to": format_clock(window.end, end=True)}
    if window.days != ALL_DAYS or not data:
        data["days"] = [DAY_NAMES[d] for d in sorted(window.days)]
    return data


def _goal(goal: GoalSpec) -> dict[str, Any]:
    optional = {
        "energy_kwh": goal.energy_wh / 1000 if goal.energy_wh is not None else None,
        "soc_percent": goal.soc_percent,
        "by": format_clock(goal.by) if goal.by is not None else None,
        "within": f"{goal.within_s}s" if goal.within_s is not None else None,
        "departure": "ev" if goal.from_ev else None,
        "strategy": goal.strategy.value,
    }
    return {k: v for k, v in optional.items() if v is not None}


def _template(template: ProfileTemplate) -> dict[str, Any]:
    periods = []
    for period in template.periods:
        entry: dict[str, Any] = {"start": period.start_s, "limit": period.limit}
        if period.number_phases is not None:
            entry["phases"] = period.number_phases
        periods.append(entry)
    return {"unit": template.unit.value, "periods": periods}
