"""Limit governance, rule by rule: one test per rule id (named after it), then grants, scope and precedence."""

from __future__ import annotations

import pytest

from wattcap.core import governance as gov
from wattcap.core.governance import ANY, Grant, GrantError, LimitSource, Rule, Signal, Target
from wattcap.core.lifecycle import DEFAULT_BANDS
from wattcap.core.model import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
)

TX = ChargingProfilePurpose.TX
TX_DEFAULT = ChargingProfilePurpose.TX_DEFAULT
SESSION = DEFAULT_BANDS["session"]
OPERATOR_SESSION = DEFAULT_BANDS["operator-session"]
CP1 = Target("CP1", 1)

FLEET = Grant(stations=frozenset({"CP1"}), purposes=frozenset({TX}), bands=frozenset({"session"}), max_a=32.0)


def profile(limit: float, unit: ChargingRateUnit = ChargingRateUnit.A, purpose=TX, phases: int | None = 3):
    return ChargingProfile(
        id=0, stack_level=0, purpose=purpose, kind=ChargingProfileKind.RELATIVE,
        schedules=(ChargingSchedule(unit, (ChargingSchedulePeriod(0, 6.0, number_phases=phases),
                                           ChargingSchedulePeriod(600, limit, number_phases=phases))),),
    )


def rules(refusals) -> list[Rule]:
    return [r.rule for r in refusals]


# ---- one test per rule id ---------------------------------------------------------------------------------


def test_gov_readonly_refuses_every_change_of_a_read_only_client():
    reader = Grant(stations=frozenset({ANY}), sites=frozenset({ANY}), purposes=frozenset(ChargingProfilePurpose),
                   bands=frozenset(b.name for b in DEFAULT_BANDS), signals=frozenset(Signal), read_only=True)
    assert rules(gov.check_profile(reader, CP1, SESSION, profile(16))) == [Rule.READONLY]
    assert rules(gov.check_write(reader, CP1)) == [Rule.READONLY]
    assert rules(gov.check_signal(reader, "price", "depot")) == [Rule.READONLY]
    assert gov.check_read(reader, CP1) == []


def test_gov_scope_refuses_a_station_an_evse_or_a_site_outside_the_grant():
    [refusal] = gov.check_profile(FLEET, Target("CP9", 1), SESSION, profile(16))
    assert refusal.rule is Rule.SCOPE
    assert "station CP9" not in refusal.message and "EVSE CP9/1" in refusal.message
    assert "stations CP1" in refusal.message
    assert rules(gov.check_read(FLEET, Target("CP9"))) == [Rule.SCOPE]
    assert rules(gov.check_signal(Grant(sites=frozenset({"a"}), signals=frozenset(Signal)), "price", "b")) == [
        Rule.SCOPE
    ]


def test_gov_purpose_refuses_a_purpose_the_grant_does_not_name():
    no_tx = Grant(stations=frozenset({"CP1"}), purposes=frozenset({TX_DEFAULT}), bands=frozenset({"session"}))
    [refusal] = gov.check_profile(no_tx, CP1, SESSION, profile(16))
    assert refusal.rule is Rule.PURPOSE and "TxProfile" in refusal.message and "TxDefaultProfile" in refusal.message


def test_gov_band_refuses_a_band_the_grant_does_not_name():
    [refusal] = gov.check_profile(FLEET, CP1, OPERATOR_SESSION, profile(16))
    assert refusal.rule is Rule.BAND
    assert "operator-session" in refusal.message and "stack levels 2..2" in refusal.message


def test_gov_max_limit_refuses_a_limit_above_the_maximum_in_either_unit():
    [refusal] = gov.check_profile(FLEET, CP1, SESSION, profile(40))
    assert refusal.rule is Rule.MAX_LIMIT
    assert "chargingSchedulePeriod[1].limit" in refusal.message and "32 A" in refusal.message
    # 23 kW on three phases at 230 V is 33.3 A: above 32 A although given in W.
    [converted] = gov.check_profile(FLEET, CP1, SESSION, profile(23_000, ChargingRateUnit.W))
    assert converted.rule is Rule.MAX_LIMIT and "33.3 A" in converted.message
    assert gov.check_profile(FLEET, CP1, SESSION, profile(22_000, ChargingRateUnit.W)) == []
    # A W maximum holds an A limit converted with the period's phases (1 phase: 32 A is 7360 W).
    watts = Grant(stations=frozenset({"CP1"}), purposes=frozenset({TX}), bands=frozenset({"session"}), max_w=7400)
    assert gov.check_profile(watts, CP1, SESSION, profile(32, phases=1)) == []
    assert rules(gov.check_profile(watts, CP1, SESSION, profile(32, phases=3))) == [Rule.MAX_LIMIT]


def test_gov_signal_refuses_a_signal_the_grant_does_not_name():
    ems = Grant(sites=frozenset({"depot"}), signals=frozenset({Signal.BUILDING_LOAD}))
    assert gov.check_signal(ems, "building_load", "depot") == []
    [refusal] = gov.check_signal(ems, "site_limit", "depot")
    assert refusal.rule is Rule.SIGNAL and "site_limit" in refusal.message and "building_load" in refusal.message
    assert rules(gov.check_signal(ems, "weather", "depot")) == [Rule.SIGNAL]


def test_gov_rules_refuses_fleet_rules_from_a_client_not_over_every_station_with_txprofiles():
    operator = Grant(stations=frozenset({ANY}), purposes=frozenset({TX, TX_DEFAULT}))
    assert gov.check_rules_change(operator) == []
    [refusal] = gov.check_rules_change(FLEET)  # one station only
    assert refusal.rule is Rule.RULES and "CP1" in refusal.message
    assert rules(gov.check_rules_change(Grant(stations=frozenset({ANY}), purposes=frozenset({TX_DEFAULT})))) == [
        Rule.RULES]
    assert rules(gov.check_rules_change(Grant(stations=frozenset({ANY}), purposes=frozenset({TX}), read_only=True))) \
        == [Rule.READONLY]


def test_every_rule_has_a_test_and_a_description():
    tested = {name for name in globals() if name.startswith("test_gov_")}
    for rule in Rule:
        assert f"test_{rule.value.lower().replace('-', '_')}" in {n.rsplit("_refuses", 1)[0] for n in tested}, rule
        assert gov.RULE_DESCRIPTIONS[rule]


# ---- several rules at once, scope, grants ---------------------------------------------------------------------


def test_every_applicable_refusal_is_reported_in_a_fixed_order():
    nothing = Grant(stations=frozenset({"CP2"}), max_a=10, read_only=True)
    assert rules(gov.check_profile(nothing, CP1, SESSION, profile(16))) == [
        Rule.READONLY, Rule.SCOPE, Rule.PURPOSE, Rule.BAND, Rule.MAX_LIMIT,
    ]


def test_a_granted_change_is_not_refused():
    assert gov.check_profile(FLEET, CP1, SESSION, profile(32)) == []
    assert gov.check_profile(FLEET, CP1, SESSION, None) == []  # a clear


@pytest.mark.parametrize(("target", "allowed"), [
    (Target("CP1", 1, "depot"), True),  # the whole station is granted
    (Target("CP2", 0, "depot"), True),  # a station of a granted site
    (Target("CP3", 2, None), True),  # one granted EVSE
    (Target("CP3", 1, None), False),  # another EVSE of that station
    (Target("CP3", 0, None), False),  # the station as a whole shapes EVSEs that are not granted
    (Target(site_id="depot"), True),
    (Target(site_id="yard"), False),
    (Target("CP4", 1, "yard"), False),
])
def test_scope_covers_stations_sites_and_single_evses(target: Target, allowed: bool):
    scoped = Grant(sites=frozenset({"depot"}), stations=frozenset({"CP1"}), evses=frozenset({("CP3", 2)}))
    assert gov.covers(scoped, target) is allowed


def test_a_station_with_one_granted_evse_is_visible_but_not_its_other_evses():
    scoped = Grant(evses=frozenset({("CP3", 2)}))
    assert gov.check_read(scoped, Target("CP3")) == []
    assert gov.check_read(scoped, Target("CP3", 2)) == []
    assert rules(gov.check_read(scoped, Target("CP3", 1))) == [Rule.SCOPE]


def test_star_grants_every_station_or_every_site():
    assert gov.covers(Grant(stations=frozenset({ANY})), Target("anything", 7))
    assert gov.covers(Grant(sites=frozenset({ANY})), Target("CP1", 1, "any-site"))
    assert not gov.covers(Grant(sites=frozenset({ANY})), Target("CP1", 1, None))  # on no site


def test_a_grant_round_trips_through_its_document():
    document = {"sites": ["depot"], "stations": ["CP1"], "evses": ["CP3/2"], "purposes": ["TxProfile"],
                "bands": ["session"], "max_a": 32, "max_w": None, "signals": ["price"], "read_only": False}
    granted = Grant.from_json(document)
    assert granted.evses == {("CP3", 2)} and granted.max_a == 32.0
    assert Grant.from_json(granted.to_json()) == granted


@pytest.mark.parametrize(("document", "path"), [
    ({"station": ["CP1"]}, "station"),
    ({"evses": ["CP1"]}, "evses[0]"),
    ({"evses": ["CP1/0"]}, "evses[0]"),
    ({"purposes": ["Nope"]}, "purposes[0]"),
    ({"signals": ["weather"]}, "signals[0]"),
    ({"max_a": -1}, "max_a"),
    ({"max_w": "lots"}, "max_w"),
    ({"read_only": "yes"}, "read_only"),
    ({"stations": [""]}, "stations[0]"),
])
def test_a_malformed_grant_is_refused_naming_the_field(document, path):
    with pytest.raises(GrantError) as refused:
        Grant.from_json(document)
    assert refused.value.path == path


def test_grant_problems_name_unknown_bands_missing_purposes_and_an_empty_scope():
    problems = Grant(bands=frozenset({"session", "nope"})).problems(DEFAULT_BANDS)
    assert any("unknown band 'nope'" in p for p in problems)
    assert any("band session holds TxProfile" in p for p in problems)
    assert any(p.startswith("scope:") for p in problems)
    assert FLEET.problems(DEFAULT_BANDS) == []


# ---- precedence and sources -------------------------------------------------------------------------------


def test_precedence_lists_each_purposes_bands_with_the_prevailing_one_first():
    order = {p.purpose: [b.name for b in p.bands] for p in gov.precedence(DEFAULT_BANDS)}
    assert order == {
        ChargingProfilePurpose.CHARGING_STATION_MAX: ["operator-cap", "site-cap"],
        TX_DEFAULT: ["operator-default", "default"],
        TX: ["operator-session", "session"],
    }


@pytest.mark.parametrize(("actor", "owner", "source"), [
    ("api:fleet", "wattcap", LimitSource.API_CLIENT),
    ("api:ops", "operator", LimitSource.API_CLIENT),
    ("wattcap:sitecap", "wattcap", LimitSource.SITE_CAP),
    ("wattcap:fleet", "wattcap", LimitSource.FLEET_RULE),
    ("cli:alice", "wattcap", LimitSource.OPERATOR),
    (None, "operator", LimitSource.OPERATOR),
    ("wattcap:reconcile", "wattcap", LimitSource.WATTCAP),
])
def test_the_source_of_a_limit_follows_its_actor_and_band(actor, owner, source):
    assert gov.source_of(actor, owner) is source
