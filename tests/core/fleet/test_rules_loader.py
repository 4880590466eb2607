"""Reading fleet rules files: every refusal carries its line and column (YAML) or its JSON path (API), all issues
are found in one pass, YAML 1.1's surprises are defused, and the YAML and JSON forms read the same."""

from __future__ import annotations

import json
from textwrap import dedent

import pytest
import yaml

from wattcap.core.fleet.loader import RuleFileError, RuleIssue, load_rules, rules_from_data
from wattcap.core.fleet.model import PRIORITY_CLASSES, Strategy
from wattcap.core.fleet.rules import EvseRef

from .examples import ISSUE_RULES

EXAMPLE = ISSUE_RULES


def issues(text: str) -> list[tuple[int | None, str]]:
    """(line, reason) of every issue in a document that must be refused."""
    with pytest.raises(RuleFileError) as refused:
        load_rules(dedent(text))
    return [(i.line, i.reason) for i in refused.value.issues]


def only_issue(text: str) -> tuple[int | None, str]:
    found = issues(text)
    assert len(found) == 1, found
    return found[0]


def test_the_issue_s_example_document_reads_as_written():
    ruleset = load_rules(EXAMPLE, source="fleet.yaml")
    assert ruleset.timezone == "Europe/Berlin" and ruleset.source == "fleet.yaml"
    assert [r.name for r in ruleset.rules] == ["vans-by-six", "visitors-office-hours", "premium"]
    assert [r.line for r in ruleset.rules] == [9, 13, 16]
    van = ruleset.vehicles[0]
    assert (van.id, van.type, van.battery_wh, van.max_ac_current_a, van.id_tokens) == (
        "van-07", "delivery-van", 75_000, 32, ("04A1B2C3",))
    vans, visitors, premium = ruleset.rules
    assert vans.priority == PRIORITY_CLASSES["high"] and vans.goal is not None
    assert (vans.goal.soc_percent, vans.goal.strategy) == (80, Strategy.CHEAPEST)
    assert visitors.max_power_w == 11_000 and visitors.match.window is not None
    assert visitors.match.window.describe() == "08:00–18:00 Mon–Fri"
    assert (premium.max_power_w, premium.weight) == (22_000, 2)


def test_the_same_document_as_json_reads_the_same_without_lines():
    from_yaml = load_rules(EXAMPLE)
    from_json = rules_from_data(json.loads(json.dumps(yaml.safe_load(EXAMPLE))), source="<rules>")
    without_lines = [r.__class__(**{**{f: getattr(r, f) for f in r.__dataclass_fields__}, "line": None})
                     for r in from_yaml.rules]
    assert from_json.rules == tuple(without_lines)
    assert from_json.vehicles == from_yaml.vehicles and from_json.timezone == from_yaml.timezone


def test_defaults_are_utc_first_match_and_no_vehicles():
    ruleset = load_rules("rules: []")
    assert (ruleset.timezone, ruleset.mode, ruleset.vehicles, ruleset.rules) == ("UTC", "first-match", (), ())


def test_evse_references_are_pairs_with_patterns_or_bare_ids():
    ruleset = load_rules('rules: [{name: e, match: {evse: [depot-1/2, "yard-*/*", 3]}}]')
    assert ruleset.rules[0].match.evse == (EvseRef("depot-1", 2), EvseRef("yard-*", None), EvseRef("*", 3))


def test_an_anchor_and_merge_key_share_conditions_between_rules():
    ruleset = load_rules(dedent("""\
        rules:
          - name: a
            match: &depot {site: depot, days: [mon-fri]}
          - name: b
            match: {<<: *depot, id_token_group: staff}
    """))
    assert ruleset.rules[1].match.site == ("depot",) and ruleset.rules[1].match.id_token_group == ("staff",)


# -- YAML 1.1 surprises ---------------------------------------------------------------------------------------


def test_an_unquoted_time_stays_a_time_although_yaml_reads_18_00_as_a_number():
    ruleset = load_rules("rules: [{name: r, match: {time_of_day: {from: 08:00, to: 18:00}}}]")
    window = ruleset.rules[0].match.window
    assert window is not None and window.describe() == "08:00–18:00"


def test_unquoted_tokens_keep_their_digits_as_written():
    ruleset = load_rules("vehicles: [{id: 0012, id_tokens: [0012, 1e5, yes]}]\nrules: []")
    assert ruleset.vehicles[0].id == "0012" and ruleset.vehicles[0].id_tokens == ("0012", "1e5", "yes")


def test_a_quoted_number_is_not_a_number():
    assert only_issue("""
        rules:
          - {name: r, max_power_kw: "11"}
    """) == (3, "max_power_kw must be a number, not the text '11'")


# -- every refusal, with its line -----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "line", "reason"), [
    ("rules:\n  - {name: r, match: {statoin: a}}\n", 2, "unknown key 'statoin' in match; did you mean 'station'?"),
    ("rules:\n  - name: r\n    max_power: 11\n", 3, "unknown key 'max_power' in a rule; did you mean 'max_power_kw'?"),
    ("rules:\n  - name: r\n    days: [mon]\n", 3, "unknown key 'days' in a rule; conditions go under 'match:'"),
    ("rules:\n  - name: r\n    match:\n      weight: 2\n", 4,
     "unknown key 'weight' in match; actions go next to 'match:', not inside it"),
    ("rules:\n  - {name: r, match: {days: [mon, tues]}}\n", 2,
     "days: unknown day 'tues'; did you mean 'tue'? (days are mon, tue, wed, thu, fri, sat, sun, "
     "or a range like mon-fri)"),
    ('rules:\n  - name: r\n    match:\n      time_of_day: {from: "8am", to: "18:00"}\n', 4,
     "time_of_day.from: '8am' is not a time of day; write it as HH:MM, e.g. \"06:00\""),
    ('rules:\n  - name: r\n    match:\n      time_of_day:\n        from: "08:00"\n        to: "08:00"\n', 5,
     "time_of_day is empty (from equals to); leave it out to mean the whole day"),
    ('rules:\n  - name: r\n    match:\n      time_of_day: {from: "08:00"}\n', 4,
     "time_of_day needs 'to' (a local time like \"08:00\")"),
    ("rules:\n  - {name: r, priority: urgent}\n", 2, "unknown priority class 'urgent'; expected one of low, normal, "
     "high, critical"),
    ("rules:\n  - {name: r, priority: 1.5}\n", 2,
     "priority must be a whole number or one of low, normal, high, critical, not the number 1.5"),
    ("rules:\n  - name: r\n  - name: r\n", 3, "rule name 'r' is used twice (first on line 2)"),
    ("rules:\n  - {name: r, weight: 0}\n", 2, "weight must be greater than 0, not 0"),
    ("rules:\n  - {name: r, weight: -1}\n", 2, "weight must be greater than 0, not -1"),
    ("rules:\n  - {name: r, precedence: high}\n", 2, "precedence must be a whole number, not the text 'high'"),
    ("rules:\n  - name: r\n    goal: {soc_percent: 80}\n", 3,
     'a goal needs a departure: by: "HH:MM", within: <duration>, or departure: ev'),
    ('rules:\n  - name: r\n    goal: {by: "06:00"}\n', 3,
     "a goal needs an amount: energy_kwh, soc_percent, or energy: ev (what the EV asks for)"),
    ('rules:\n  - name: r\n    goal:\n      soc_percent: 80\n      by: "06:00"\n      strategy: greenest\n', 6,
     "unknown strategy 'greenest'; expected one of fastest, cheapest, solar"),
    ('rules:\n  - name: r\n    goal: {soc_percent: 120, by: "06:00"}\n', 3, "soc_percent must be at most 100, not 120"),
    ('rules:\n  - name: r\n    goal: {energy_kwh: 20, by: "06:00", within: 2h}\n', 3,
     "a goal has one fallback departure: 'by' or 'within', not both"),
    ("rules:\n  - name: r\n    goal: {energy_kwh: 20, within: 1:30}\n", 3,
     "within: '1:30' is not a duration; write it like \"1h30m\" or \"90m\""),
    ("rules:\n  - name: r\n    goal: {energy_kwh: 20, departure: car}\n", 3,
     "unknown departure 'car'; expected one of ev"),
    ("rules:\n  - name: r\n    tx_profile:\n      unit: A\n      periods:\n        - {start: 10s, limit: 16}\n", 6,
     "the first period must start at 0s, not 10s"),
    ("rules:\n  - name: r\n    tx_profile:\n      unit: A\n      periods:\n        - {start: 0s, limit: 16}\n"
     "        - {start: 2h, limit: 32}\n        - {start: 1h, limit: 8}\n", 8,
     "periods must start in increasing order: 3600s is not after 7200s"),
    ("rules:\n  - name: r\n    tx_profile:\n      unit: kW\n      periods: [{start: 0, limit: 16}]\n", 4,
     "unknown unit 'kW'; did you mean 'W'?"),
    ("rules:\n  - name: r\n    tx_profile:\n      unit: A\n      periods: [{start: 0, limit: 16, phases: 4}]\n", 5,
     "phases must be 1, 2 or 3, not 4"),
    ("timezone: Europe/Berlim\nrules: []\n", 1, "unknown time zone 'Europe/Berlim'; did you mean 'Europe/Berlin'?"),
    ("timezone: Mars/Olympus\nrules: []\n", 1,
     "unknown time zone 'Mars/Olympus'; use an IANA name such as 'Europe/Berlin' or 'UTC'"),
    ("mode: merge\nrules: []\n", 1, "unknown mode 'merge'; expected one of first-match"),
    ("vehicles:\n  - {id: van-07}\n  - {id: van-07}\nrules: []\n", 3,
     "vehicle 'van-07' is defined twice (first on line 2)"),
    ("vehicles:\n  - {id: a, id_tokens: [T1]}\n  - {id: b, id_tokens: [t1]}\nrules: []\n", 3,
     "id-token 't1' already belongs to vehicle 'a'"),
    ("vehicles:\n  - {type: van}\nrules: []\n", 2, "a vehicle needs an 'id'"),
    ("rules:\n  - {name: r, match: {evse: [depot-1]}}\n", 2,
     "EVSE 'depot-1' must be 'station/evse' (like 'depot-1/2' or 'depot-*/*') or an EVSE id"),
    ("rules:\n  - {name: r, match: {evse: [0]}}\n", 2, "EVSE id 0 is not an EVSE: sessions run on EVSE 1 and up"),
    ("rules:\n  - match: {site: a}\n", 2, "a rule needs a 'name' (it is how traces and the API refer to it)"),
    ("rules:\n  - {name: r, match: {station: {id: a}}}\n", 2, "a station must be a value or a list, not a mapping"),
    ("rules:\n  - name: r\n    name: s\n", 3, "'name' is given twice in this mapping (first on line 2)"),
    ("timezone: UTC\n", 1, "the document has no 'rules:' (a list of rules; it may be empty)"),
    ("rules: {name: r}\n", 1, "rules must be a list, not a mapping"),
    ("- name: r\n", 1, "the document must be a mapping, not a list"),
    ("", 1, "the document is empty; it needs at least 'rules:'"),
    ("rules:\n  - {name: r\n", 3, "while parsing a flow mapping expected ',' or '}', but got '<stream end>'"),
])
def test_each_refusal_names_its_line_and_reason(text: str, line: int, reason: str):
    assert only_issue(text) == (line, reason)


def test_all_issues_of_a_file_are_reported_in_one_pass_in_line_order():
    found = issues("""\
        timezone: Europe/Berlinn
        rules:
          - name: a
            weight: 0
            match: {days: [mon, someday]}
          - name: a
            goal: {strategy: cheep}
    """)
    assert [line for line, _ in found] == [1, 4, 5, 6, 7, 7, 7]
    assert "rule name 'a' is used twice (first on line 3)" in [reason for _, reason in found]


def test_an_issue_carries_line_column_and_path():
    with pytest.raises(RuleFileError) as refused:
        load_rules("rules:\n  - name: r\n    match: {days: [mon, funday]}\n", source="fleet.yaml")
    assert refused.value.issues == [RuleIssue(3, 25, "rules[0].match.days[1]", refused.value.issues[0].reason)]
    assert str(refused.value).startswith("fleet.yaml:3:25: days: unknown day 'funday'")


# -- the API's JSON form --------------------------------------------------------------------------------------


def test_json_issues_carry_a_path_instead_of_a_line():
    with pytest.raises(RuleFileError) as refused:
        rules_from_data({"rules": [{"name": "a"}, {"name": "b"}, {"name": "c", "match": {"days": ["mon", "moon"]}}]})
    (issue,) = refused.value.issues
    assert (issue.line, issue.path) == (None, "rules[2].match.days[1]")
    assert issue.reason.startswith("days: unknown day 'moon'; did you mean 'mon'?")
    assert issue.where("<api>") == "<api>: rules[2].match.days[1]"


def test_json_times_must_be_texts():
    with pytest.raises(RuleFileError) as refused:
        rules_from_data({"rules": [{"name": "a", "match": {"time_of_day": {"from": 800, "to": "18:00"}}}]})
    assert [(i.path, i.reason) for i in refused.value.issues] == [
        ("rules[0].match.time_of_day.from", "time_of_day.from must be a text, not the number 800")]


def test_json_refuses_non_finite_numbers():
    with pytest.raises(RuleFileError) as refused:
        rules_from_data({"rules": [{"name": "a", "max_power_kw": float("inf")}]})
    assert refused.value.issues[0].path == "rules[0].max_power_kw"
