"""Properties of rule evaluation that hold for any session: it is total and deterministic, the first rule in
precedence order wins, a trace covers every rule once, wall-clock windows agree with a minute-of-day reference,
and a "by" departure is the next time the wall clock shows it."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattcap.core.fleet.loader import load_rules, rules_from_data
from wattcap.core.fleet.local_time import Window, next_wall_time
from wattcap.core.fleet.model import SessionFacts, Vehicle
from wattcap.core.fleet.rules import evaluate

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]

RULES = load_rules("""\
timezone: Europe/Berlin
vehicles:
  - {id: van-07, type: delivery-van, battery_kwh: 75, id_tokens: [04A1B2C3]}
rules:
  - name: vans
    match: {vehicle_type: delivery-van, time_of_day: {from: "22:00", to: "06:00"}}
    goal: {soc_percent: 80, by: "06:00", departure: ev, strategy: cheapest}
  - name: visitors
    match: {id_token_group: visitors, time_of_day: {from: "08:00", to: "18:00"}, days: [mon-fri]}
    max_power_kw: 11
  - name: depot
    precedence: 3
    match: {station: "depot-*", evse: ["depot-*/1", 2], connector_type: [cType2]}
    goal: {energy_kwh: 20, within: 7h}
  - name: premium
    match: {id_token_group: premium, site: [north, south]}
    weight: 2
    tx_profile: {unit: A, periods: [{start: 0, limit: 16}, {start: 2h, limit: 32}]}
  - name: weekend
    match: {days: [sat-sun]}
    priority: low
""")

instants = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))
words = st.one_of(st.none(), st.sampled_from(["visitors", "premium", "04a1b2c3", "depot-1", "north", "cType2"]),
                  st.text(max_size=8))
session_facts = st.builds(
    SessionFacts,
    at=instants,
    station_id=st.one_of(st.sampled_from(["depot-1", "depot-22", "yard"]), st.text(max_size=8)),
    evse_id=st.integers(min_value=0, max_value=10),
    site_id=words,
    id_token=words,
    id_token_group=words,
    vehicle=st.one_of(st.none(), st.builds(Vehicle, id=st.sampled_from(["van-07", "x"]), type=words)),
    connector_type=words,
    ev_departure=st.one_of(st.none(), instants),
)


@FAST
@given(session_facts)
def test_evaluation_is_total_and_deterministic(facts: SessionFacts):
    first = evaluate(RULES, facts)
    assert evaluate(RULES, facts) == first
    assert len(first.trace) == len(RULES.rules)
    assert [t.rule.name for t in first.trace] == [r.name for r in RULES.ordered()]


@FAST
@given(session_facts)
def test_the_applied_rule_is_the_first_matching_one_and_its_goal_lies_ahead(facts: SessionFacts):
    result = evaluate(RULES, facts)
    matching = [t.rule for t in result.trace if t.matched]
    assert result.rule == (matching[0] if matching else None)
    assert sum(t.applied for t in result.trace) == (1 if matching else 0)
    if result.policy.goal is not None:
        assert result.policy.goal.departure > facts.at


@FAST
@given(precedences=st.lists(st.integers(min_value=-3, max_value=3), min_size=1, max_size=8),
       matching=st.data())
def test_the_highest_precedence_matching_rule_wins_ties_by_file_order(precedences: list[int], matching: st.DataObject):
    hits = matching.draw(st.lists(st.booleans(), min_size=len(precedences), max_size=len(precedences)))
    document = {"rules": [
        {"name": f"r{i}", "precedence": p, "match": {"station": "here" if hit else "elsewhere"}}
        for i, (p, hit) in enumerate(zip(precedences, hits, strict=True))]}
    result = evaluate(rules_from_data(document), SessionFacts(at=datetime(2026, 1, 1, tzinfo=UTC),
                                                              station_id="here", evse_id=1))
    candidates = [(-p, i) for i, (p, hit) in enumerate(zip(precedences, hits, strict=True)) if hit]
    expected = f"r{min(candidates)[1]}" if candidates else None
    assert result.policy.rule == expected


clocks = st.times().map(lambda t: t.replace(microsecond=0))


@FAST
@given(start=clocks, end=clocks, at=instants, zone=st.sampled_from(ZONES),
       days=st.frozensets(st.integers(0, 6), min_size=1))
def test_a_window_contains_a_time_exactly_when_its_minute_of_day_reference_says(
        start: time, end: time, at: datetime, zone: str, days: frozenset[int]):
    local = at.astimezone(ZoneInfo(zone))
    window = Window(start, end, days)
    def seconds(value: time) -> int:
        return value.hour * 3600 + value.minute * 60 + value.second

    now = seconds(local.time())
    span = (seconds(end) - seconds(start)) % 86400 or 86400  # from == to: the whole day round
    inside_hours = (now - seconds(start)) % 86400 < span
    opened = local.weekday() if now >= seconds(start) else (local.weekday() - 1) % 7
    expected = inside_hours and opened in days
    assert window.contains(local) is expected


@FAST
@given(at=instants, clock=clocks, zone=st.sampled_from(ZONES))
def test_a_departure_by_a_wall_time_is_the_next_instant_showing_it(at: datetime, clock: time, zone: str):
    tz = ZoneInfo(zone)
    departure = next_wall_time(at, clock, tz)
    assert at < departure <= at + timedelta(hours=27)
    shown = departure.astimezone(tz).time().replace(tzinfo=None)
    if shown != clock:  # only where the wall clock skips the time: then it is the instant it jumps past it
        assert shown > clock and (departure - timedelta(seconds=1)).astimezone(tz).time().replace(tzinfo=None) < clock
