"""Fleet rules, evaluated: each condition, first match and precedence, the vehicle registry, the policy a rule
gives (goals resolved to UTC), the dry-run trace, and the issue's three example rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from textwrap import dedent

import pytest

from wattcap.core.fleet.loader import load_rules
from wattcap.core.fleet.model import ChargingGoal, SessionFacts, SessionPolicy, Strategy, Vehicle
from wattcap.core.fleet.rules import RuleSet, evaluate, never_reached, next_reevaluation, resolve_vehicle

from .examples import ISSUE_RULES

#: Tuesday 2026-03-31, 12:05 UTC = 14:05 in Berlin (CEST).
TUESDAY = datetime(2026, 3, 31, 12, 5, tzinfo=UTC)


def rules(text: str) -> RuleSet:
    return load_rules(dedent(text))


def facts(**given: object) -> SessionFacts:
    base: dict[str, object] = {"at": TUESDAY, "station_id": "depot-1", "evse_id": 1}
    return SessionFacts(**(base | given))  # type: ignore[arg-type]


def winner(ruleset: RuleSet, **given: object) -> str | None:
    return evaluate(ruleset, facts(**given)).policy.rule


ISSUE_EXAMPLES = load_rules(ISSUE_RULES + """\
  - name: free-tier
    match: {id_token_group: free}
    max_power_kw: 7
""")


# -- the issue's examples -------------------------------------------------------------------------------------


def test_the_delivery_van_must_be_at_80_percent_by_six_charged_while_the_grid_is_cheap():
    evening = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)  # 22:00 in Berlin
    result = evaluate(ISSUE_EXAMPLES, facts(at=evening, id_token="04A1B2C3"))
    assert result.rule is not None and result.rule.name == "vans-by-six"
    assert result.policy.priority == 10
    assert result.policy.goal == ChargingGoal(departure=datetime(2026, 4, 1, 4, 0, tzinfo=UTC),
                                              strategy=Strategy.CHEAPEST, soc_percent=80)


def test_premium_users_get_22_kw_and_the_free_tier_7_kw():
    premium = evaluate(ISSUE_EXAMPLES, facts(id_token_group="premium")).policy
    free = evaluate(ISSUE_EXAMPLES, facts(id_token_group="free")).policy
    assert (premium.max_power_w, premium.weight) == (22_000, 2)
    assert (free.max_power_w, free.weight) == (7_000, 1)


def test_visitors_are_capped_at_11_kw_during_office_hours_only():
    assert evaluate(ISSUE_EXAMPLES, facts(id_token_group="visitors")).policy.max_power_w == 11_000
    evening = TUESDAY.replace(hour=17)  # 19:05 in Berlin
    saturday = TUESDAY + timedelta(days=4)
    assert evaluate(ISSUE_EXAMPLES, facts(id_token_group="visitors", at=evening)).policy == SessionPolicy()
    assert evaluate(ISSUE_EXAMPLES, facts(id_token_group="visitors", at=saturday)).policy == SessionPolicy()


def test_a_session_no_rule_matches_gets_the_default_policy_and_no_rule():
    result = evaluate(ISSUE_EXAMPLES, facts(id_token="UNKNOWN"))
    assert result.rule is None and result.policy == SessionPolicy()
    assert [t.matched for t in result.trace] == [False, False, False, False]


# -- conditions -----------------------------------------------------------------------------------------------

CONDITIONS = rules("""
    vehicles:
      - {id: van-07, type: delivery-van, id_tokens: [04A1B2C3]}
    rules:
      - {name: token, match: {id_token: [AA11, BB22]}}
      - {name: group, match: {id_token_group: staff}}
      - {name: vehicle, match: {vehicle_id: "car-*"}}
      - {name: type, match: {vehicle_type: delivery-van}}
      - {name: site, match: {site: [north, south]}}
      - {name: station, match: {station: "depot-*"}}
      - {name: evse-pair, match: {evse: [yard-1/2]}}
      - {name: evse-any-station, match: {evse: 7}}
      - {name: connector, match: {connector_type: cCCS2}}
""")


@pytest.mark.parametrize(("given", "rule"), [
    ({"id_token": "bb22"}, "token"),
    ({"id_token_group": "STAFF"}, "group"),
    ({"vehicle": Vehicle(id="car-3")}, "vehicle"),
    ({"id_token": "04a1b2c3"}, "type"),
    ({"site_id": "south"}, "site"),
    ({"station_id": "depot-9"}, "station"),
    ({"station_id": "yard-1", "evse_id": 2}, "evse-pair"),
    ({"station_id": "yard-5", "evse_id": 7}, "evse-any-station"),
    ({"station_id": "yard-1", "connector_type": "ccCS2"}, "connector"),
    ({"station_id": "yard-1", "evse_id": 3}, None),
])
def test_each_condition_matches_its_fact(given: dict[str, object], rule: str | None):
    assert winner(CONDITIONS, **given) == rule


def test_all_conditions_of_a_rule_must_hold_and_any_item_of_a_list_may():
    ruleset = rules("""
        rules:
          - {name: both, match: {station: [north-*, south-*], id_token_group: fleet}}
    """)
    assert winner(ruleset, station_id="south-2", id_token_group="fleet") == "both"
    assert winner(ruleset, station_id="south-2", id_token_group="visitors") is None
    assert winner(ruleset, station_id="east-1", id_token_group="fleet") is None


def test_a_condition_on_an_unknown_fact_does_not_hold_and_says_so():
    result = evaluate(rules("rules: [{name: g, match: {id_token_group: fleet}}]"), facts())
    assert result.trace[0].reasons == ("no id-token group known (the rule needs one of ['fleet'])",)


def test_station_ids_compare_with_case_and_id_tokens_without():
    ruleset = rules("rules: [{name: s, match: {station: Depot-1}}, {name: t, match: {id_token: abc}}]")
    assert winner(ruleset, station_id="depot-1") is None
    assert winner(ruleset, id_token="ABC") == "t"


# -- order ----------------------------------------------------------------------------------------------------


def test_the_first_matching_rule_in_file_order_wins():
    ruleset = rules("""
        rules:
          - {name: first, match: {station: "depot-*"}, max_power_kw: 11}
          - {name: second, match: {station: depot-1}, max_power_kw: 22}
    """)
    result = evaluate(ruleset, facts())
    assert result.policy.rule == "first" and result.policy.max_power_w == 11_000
    assert [(t.rule.name, t.matched, t.applied) for t in result.trace] == [
        ("first", True, True), ("second", True, False)]


def test_higher_precedence_is_tried_first_and_ties_keep_file_order():
    ruleset = rules("""
        rules:
          - {name: catch-all}
          - {name: tie-a, precedence: 5}
          - {name: urgent, precedence: 9}
          - {name: tie-b, precedence: 5}
    """)
    result = evaluate(ruleset, facts())
    assert [t.rule.name for t in result.trace] == ["urgent", "tie-a", "tie-b", "catch-all"]
    assert result.policy.rule == "urgent"


def test_a_rule_without_conditions_matches_every_session():
    result = evaluate(rules("rules: [{name: default, max_current_a: 16}]"), facts())
    assert result.policy.max_current_a == 16
    assert result.trace[0].reasons == ("no conditions: matches every session",)


def test_rules_after_a_catch_all_are_reported_as_never_reached():
    ruleset = rules("""
        rules:
          - {name: everyone}
          - {name: premium, match: {id_token_group: premium}}
          - {name: urgent, precedence: 1, match: {id_token_group: ops}}
    """)
    assert [(rule.name, by.name) for rule, by in never_reached(ruleset)] == [("premium", "everyone")]


# -- vehicles -------------------------------------------------------------------------------------------------

REGISTRY = rules("""
    vehicles:
      - {id: van-07, type: delivery-van, battery_kwh: 75, id_tokens: [04A1B2C3]}
      - {id: car-01, type: pool-car, id_tokens: [CAFE01]}
    rules:
      - {name: vans, match: {vehicle_type: delivery-van}}
""")


def test_an_id_token_finds_its_vehicle_in_the_registry():
    vehicle, source = resolve_vehicle(REGISTRY, facts(id_token="04a1b2c3"))
    assert vehicle is not None and vehicle.id == "van-07" and vehicle.battery_wh == 75_000
    assert source == "'van-07' from the registry, by id-token '04a1b2c3'"


def test_the_ev_s_own_identity_wins_over_the_id_token_of_a_lent_card():
    ev = Vehicle(id="car-01")
    result = evaluate(REGISTRY, facts(id_token="04A1B2C3", vehicle=ev))
    assert result.vehicle is not None and result.vehicle.type == "pool-car"
    assert result.policy.rule is None


def test_a_registered_ev_keeps_the_operator_s_data_and_gains_what_only_the_ev_said():
    ev = Vehicle(id="van-07", type="van", max_ac_current_a=16)
    vehicle, source = resolve_vehicle(REGISTRY, facts(vehicle=ev))
    assert vehicle == Vehicle(id="van-07", type="delivery-van", battery_wh=75_000, max_ac_current_a=16,
                              id_tokens=("04A1B2C3",))
    assert "found in the registry" in source


def test_an_unregistered_ev_is_taken_as_it_describes_itself():
    ev = Vehicle(id="WMI-123", type="delivery-van")
    assert evaluate(REGISTRY, facts(vehicle=ev)).policy.rule == "vans"


# -- goals ----------------------------------------------------------------------------------------------------


def test_a_goal_within_a_duration_is_due_that_long_after_the_evaluation():
    ruleset = rules("rules: [{name: g, goal: {energy_kwh: 30, within: 7h30m, strategy: solar}}]")
    goal = evaluate(ruleset, facts()).policy.goal
    assert goal == ChargingGoal(departure=TUESDAY + timedelta(hours=7, minutes=30), strategy=Strategy.SOLAR,
                                energy_wh=30_000)


def test_a_goal_on_the_ev_s_departure_uses_it_and_falls_back_when_the_ev_gave_none():
    ruleset = rules("""
        timezone: Europe/Berlin
        rules: [{name: g, goal: {soc_percent: 90, departure: ev, by: "07:00"}}]
    """)
    leaves = TUESDAY + timedelta(hours=5)
    assert evaluate(ruleset, facts(ev_departure=leaves)).policy.goal.departure == leaves  # type: ignore[union-attr]
    fallback = evaluate(ruleset, facts()).policy.goal
    assert fallback is not None and fallback.departure == datetime(2026, 4, 1, 5, 0, tzinfo=UTC)


def test_a_goal_on_the_ev_s_departure_without_one_or_a_fallback_is_left_out_with_a_note():
    ruleset = rules("rules: [{name: g, max_power_kw: 11, goal: {soc_percent: 90, departure: ev}}]")
    policy = evaluate(ruleset, facts(ev_departure=TUESDAY - timedelta(hours=1))).policy
    assert policy.goal is None and policy.max_power_w == 11_000
    assert "the EV's departure time is already past; it is not used" in policy.notes
    assert any(n.startswith("goal left out") for n in policy.notes)


def test_a_goal_on_the_evs_energy_uses_what_the_ev_asks_for_and_waits_for_it():
    # ISO 15118: NotifyEVChargingNeeds carries the energy the EV needs; ``energy: ev`` plans exactly that.
    ruleset = rules("rules: [{name: g, goal: {energy: ev, departure: ev, within: 8h}}]")
    asked = evaluate(ruleset, facts(ev_energy_wh=42_000.0, ev_departure=TUESDAY + timedelta(hours=3))).policy
    assert asked.goal is not None and asked.goal.energy_wh == 42_000.0
    assert asked.goal.departure == TUESDAY + timedelta(hours=3)
    waiting = evaluate(ruleset, facts()).policy
    assert waiting.goal is None and any("until the EV announces" in n for n in waiting.notes)
    # with a fallback amount, that is used until the EV says more
    fallback = evaluate(rules("rules: [{name: g, goal: {energy: ev, energy_kwh: 20, within: 8h}}]"), facts())
    assert fallback.policy.goal is not None and fallback.policy.goal.energy_wh == 20_000.0


def test_a_tx_profile_template_is_handed_to_the_policy():
    ruleset = rules("""
        rules:
          - name: slow-start
            tx_profile: {unit: A, periods: [{start: 0s, limit: 10}, {start: 1h, limit: 32, phases: 3}]}
    """)
    template = evaluate(ruleset, facts()).policy.template
    assert template is not None and template.unit == "A"
    assert [(p.start_s, p.limit, p.number_phases) for p in template.periods] == [(0, 10, None), (3600, 32, 3)]


# -- the trace ------------------------------------------------------------------------------------------------


def test_the_dry_run_says_for_every_rule_and_condition_why():
    result = evaluate(ISSUE_EXAMPLES, facts(id_token_group="visitors", at=TUESDAY.replace(hour=19)))
    by_rule = {t.rule.name: t.reasons for t in result.trace}
    assert by_rule["visitors-office-hours"] == (
        "id-token group 'visitors' is one of ['visitors']",
        "21:05 Tue is outside 08:00–18:00 Mon–Fri (Europe/Berlin)",
    )
    assert by_rule["premium"] == ("id-token group 'visitors' is not one of ['premium']",)
    assert by_rule["vans-by-six"] == ("no vehicle type known (the rule needs one of ['delivery-van'])",)


def test_the_dry_run_names_a_pattern_that_matched():
    result = evaluate(rules("rules: [{name: s, match: {station: [yard-*, depot-*]}}]"), facts())
    assert result.trace[0].reasons == ("station 'depot-1' matches 'depot-*'",)


def test_the_explanation_shows_the_applied_rule_the_shadowed_one_and_the_policy():
    ruleset = rules("""
        rules:
          - {name: depot, match: {station: "depot-*"}, max_power_kw: 11}
          - {name: everyone}
    """)
    text = evaluate(ruleset, facts()).explain()
    assert "depot (line 3), precedence 0: APPLIED" in text
    assert "everyone (line 4), precedence 0: matched, not reached" in text
    assert "rule 'depot' (line 3): at most 11 kW" in text


# -- when to evaluate again -----------------------------------------------------------------------------------


def test_the_next_reevaluation_is_when_a_window_opens_or_closes():
    assert next_reevaluation(ISSUE_EXAMPLES, TUESDAY) == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)  # 18:00 CEST
    late = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)
    assert next_reevaluation(ISSUE_EXAMPLES, late) == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # midnight: days


def test_without_time_conditions_there_is_nothing_to_reevaluate_for():
    assert next_reevaluation(rules("rules: [{name: a, match: {station: x}}]"), TUESDAY) is None
