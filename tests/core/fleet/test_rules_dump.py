"""Writing a rule set back: what :func:`dump_rules` / :func:`rules_to_data` write reads back as the same rule set."""

from __future__ import annotations

import dataclasses
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from wattcap.core.fleet.dump import dump_rules, rules_to_data
from wattcap.core.fleet.loader import load_rules, rules_from_data
from wattcap.core.fleet.rules import RuleSet

FLEET = """\
timezone: Europe/Berlin
vehicles:
  - {id: van-07, type: delivery-van, battery_kwh: 75, max_ac_current_a: 32, ac_phases: 3, max_dc_power_kw: 50,
     id_tokens: [04A1B2C3, "0012"]}
  - {id: car-01}
rules:
  - name: vans-by-six
    description: the vans leave at six
    precedence: 2
    match: {vehicle_type: delivery-van, evse: [depot-1/2, "yard-*/*", 3], connector_type: cType2}
    goal: {soc_percent: 80, energy_kwh: 40, by: "06:00", departure: ev, strategy: cheapest}
    priority: high
  - name: nights
    match: {time_of_day: {from: "22:00", to: "24:00"}, days: [fri-mon]}
    priority: 3
    tx_profile: {unit: W, periods: [{start: 0s, limit: 7400}, {start: 2h, limit: 11000, phases: 3}]}
  - name: weekend
    match: {days: [sat, sun], site: [north, "s*"]}
    goal: {energy_kwh: 10, within: 1h30m, strategy: solar}
  - name: default
    weight: 0.5
    max_power_kw: 7.4
    max_current_a: 16
"""


def without_lines(ruleset: RuleSet) -> RuleSet:
    rules = tuple(dataclasses.replace(r, line=None) for r in ruleset.rules)
    return dataclasses.replace(ruleset, rules=rules, source="-")


def test_a_dumped_file_reads_back_as_the_same_rule_set():
    original = load_rules(FLEET)
    assert without_lines(load_rules(dump_rules(original))) == without_lines(original)


def test_the_json_form_reads_back_through_the_api_loader():
    original = load_rules(FLEET)
    data = json.loads(json.dumps(rules_to_data(original)))
    assert without_lines(rules_from_data(data)) == without_lines(original)


def test_only_what_a_rule_says_is_written():
    data = rules_to_data(load_rules("rules: [{name: r, match: {station: a}, max_power_kw: 11}]"))
    assert data == {"timezone": "UTC", "mode": "first-match", "vehicles": [],
                    "rules": [{"name": "r", "match": {"station": ["a"]}, "max_power_kw": 11.0}]}


@settings(max_examples=40, deadline=None)
@given(kw=st.integers(1, 3500).map(lambda n: n / 10), weight=st.integers(1, 100).map(lambda n: n / 4),
       precedence=st.integers(-5, 5), priority=st.integers(-30, 30))
def test_numbers_survive_the_round_trip(kw: float, weight: float, precedence: int, priority: int):
    original = rules_from_data({"rules": [{"name": "r", "max_power_kw": kw, "weight": weight,
                                           "precedence": precedence, "priority": priority}]})
    assert without_lines(rules_from_data(rules_to_data(original))) == without_lines(original)
