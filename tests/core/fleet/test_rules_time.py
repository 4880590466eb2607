"""Wall-clock time in fleet rules: windows past midnight, the days a window opens on, the DST change days in
Europe/Berlin (2026-03-29: 02:00 → 03:00; 2026-10-25: 03:00 → 02:00), departures "by HH:MM", durations, days."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from textwrap import dedent
from zoneinfo import ZoneInfo

import pytest

from wattcap.core.fleet.loader import load_rules
from wattcap.core.fleet.local_time import (
    Window,
    format_days,
    next_wall_time,
    parse_clock,
    parse_day,
    parse_duration,
)
from wattcap.core.fleet.model import SessionFacts
from wattcap.core.fleet.rules import RuleSet, evaluate

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def ruleset(match: str, goal: str = "") -> RuleSet:
    return load_rules(dedent(f"""\
        timezone: Europe/Berlin
        rules:
          - name: r
            match: {match}
            {goal}
    """))


def applies(rules: RuleSet, at: datetime) -> bool:
    return evaluate(rules, SessionFacts(at=at, station_id="s", evse_id=1)).rule is not None


def minutes_inside(rules: RuleSet, day_start: datetime, day_end: datetime) -> int:
    count, at = 0, day_start
    while at < day_end:
        count += applies(rules, at)
        at += timedelta(minutes=1)
    return count


# -- windows --------------------------------------------------------------------------------------------------

NIGHT = ruleset('{time_of_day: {from: "22:00", to: "06:00"}}')


@pytest.mark.parametrize(("local", "inside"), [
    (berlin(2026, 6, 2, 21, 59), False),
    (berlin(2026, 6, 2, 22, 0), True),
    (berlin(2026, 6, 2, 23, 59), True),
    (berlin(2026, 6, 3, 0, 0), True),
    (berlin(2026, 6, 3, 5, 59), True),
    (berlin(2026, 6, 3, 6, 0), False),
    (berlin(2026, 6, 3, 12, 0), False),
])
def test_a_window_ending_before_it_starts_wraps_past_midnight_and_is_half_open(local: datetime, inside: bool):
    assert applies(NIGHT, local) is inside


def test_days_name_the_day_a_night_window_opens():
    friday_night = ruleset('{time_of_day: {from: "22:00", to: "06:00"}, days: [fri]}')
    assert applies(friday_night, berlin(2026, 6, 5, 23, 0))  # Fri 23:00
    assert applies(friday_night, berlin(2026, 6, 6, 2, 0))  # Sat 02:00: Friday's night
    assert not applies(friday_night, berlin(2026, 6, 6, 23, 0))  # Sat 23:00: Saturday's night
    assert not applies(friday_night, berlin(2026, 6, 5, 2, 0))  # Fri 02:00: Thursday's night


def test_the_trace_says_which_day_opened_a_night_window():
    friday_night = ruleset('{time_of_day: {from: "22:00", to: "06:00"}, days: [fri]}')
    saturday = evaluate(friday_night, SessionFacts(at=berlin(2026, 6, 6, 2, 0), station_id="s", evse_id=1))
    friday = evaluate(friday_night, SessionFacts(at=berlin(2026, 6, 5, 2, 0), station_id="s", evse_id=1))
    assert saturday.trace[0].reasons == ("02:00 Sat is inside 22:00–06:00 Fri (Europe/Berlin; the window opened Fri)",)
    assert friday.trace[0].reasons == (
        "02:00 Fri is outside 22:00–06:00 Fri (Europe/Berlin; this is the end of Thu's window)",)


def test_a_window_to_24_00_runs_to_the_end_of_the_day():
    evening = ruleset('{time_of_day: {from: "18:00", to: "24:00"}}')
    assert applies(evening, berlin(2026, 6, 2, 23, 59))
    assert not applies(evening, berlin(2026, 6, 3, 0, 0))


def test_days_without_a_time_of_day_are_whole_local_days():
    weekend = ruleset("{days: [sat-sun]}")
    assert applies(weekend, utc(2026, 6, 5, 22, 0))  # Sat 00:00 in Berlin, still Friday in UTC
    assert not applies(weekend, utc(2026, 6, 7, 22, 0))  # Mon 00:00 in Berlin


def test_in_spring_a_wall_clock_window_over_the_skipped_hour_is_an_hour_shorter():
    early = ruleset('{time_of_day: {from: "01:00", to: "04:00"}}')
    assert applies(early, utc(2026, 3, 29, 0, 30))  # 01:30 CET
    assert applies(early, utc(2026, 3, 29, 1, 0))  # 03:00 CEST, the instant after 01:59:59 CET
    assert not applies(early, utc(2026, 3, 29, 2, 0))  # 04:00 CEST
    assert minutes_inside(early, utc(2026, 3, 28, 22, 0), utc(2026, 3, 29, 22, 0)) == 120


def test_in_autumn_the_repeated_hour_is_inside_a_window_both_times():
    repeated = ruleset('{time_of_day: {from: "02:00", to: "03:00"}}')
    assert applies(repeated, utc(2026, 10, 25, 0, 30))  # 02:30 CEST
    assert applies(repeated, utc(2026, 10, 25, 1, 30))  # 02:30 CET
    assert minutes_inside(repeated, utc(2026, 10, 24, 22, 0), utc(2026, 10, 25, 23, 0)) == 120


@pytest.mark.parametrize(("opens", "closes"), [
    (utc(2026, 3, 27, 7, 0), utc(2026, 3, 27, 17, 0)),  # Friday before, CET
    (utc(2026, 3, 30, 6, 0), utc(2026, 3, 30, 16, 0)),  # Monday after, CEST
    (utc(2026, 10, 23, 6, 0), utc(2026, 10, 23, 16, 0)),  # Friday before, CEST
    (utc(2026, 10, 26, 7, 0), utc(2026, 10, 26, 17, 0)),  # Monday after, CET
])
def test_office_hours_stay_at_08_00_to_18_00_local_either_side_of_a_clock_change(opens: datetime, closes: datetime):
    office = ruleset('{time_of_day: {from: "08:00", to: "18:00"}, days: [mon-fri]}')
    assert not applies(office, opens - timedelta(minutes=1))
    assert applies(office, opens)
    assert applies(office, closes - timedelta(minutes=1))
    assert not applies(office, closes)


# -- departures -----------------------------------------------------------------------------------------------

VANS = ruleset("{}", 'goal: {soc_percent: 80, by: "06:00"}')


def departure(rules: RuleSet, at: datetime) -> datetime:
    goal = evaluate(rules, SessionFacts(at=at, station_id="s", evse_id=1)).policy.goal
    assert goal is not None
    return goal.departure


def test_by_06_00_after_a_22_00_arrival_is_the_next_morning():
    assert departure(VANS, berlin(2026, 6, 2, 22, 0)) == utc(2026, 6, 3, 4, 0)


def test_by_06_00_after_a_05_00_arrival_is_the_same_morning():
    assert departure(VANS, berlin(2026, 6, 3, 5, 0)) == utc(2026, 6, 3, 4, 0)


def test_by_06_00_at_06_00_exactly_is_the_next_day():
    assert departure(VANS, berlin(2026, 6, 3, 6, 0)) == utc(2026, 6, 4, 4, 0)


def test_by_06_00_over_the_spring_change_night_is_seven_real_hours_after_22_00():
    arrival = berlin(2026, 3, 28, 22, 0)
    assert departure(VANS, arrival) == utc(2026, 3, 29, 4, 0)
    assert departure(VANS, arrival) - arrival == timedelta(hours=7)


def test_by_06_00_over_the_autumn_change_night_is_nine_real_hours_after_22_00():
    arrival = berlin(2026, 10, 24, 22, 0)
    assert departure(VANS, arrival) == utc(2026, 10, 25, 5, 0)
    assert departure(VANS, arrival) - arrival == timedelta(hours=9)


def test_a_departure_in_the_skipped_hour_is_the_instant_the_clocks_jump():
    assert next_wall_time(berlin(2026, 3, 29, 0, 0), time(2, 30), BERLIN) == utc(2026, 3, 29, 1, 0)


def test_a_departure_in_the_repeated_hour_is_its_first_occurrence_unless_that_has_passed():
    assert next_wall_time(berlin(2026, 10, 25, 0, 0), time(2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)
    assert next_wall_time(utc(2026, 10, 25, 1, 0), time(2, 30), BERLIN) == utc(2026, 10, 25, 1, 30)


# -- texts ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    ("0s", 0), ("45s", 45), ("90m", 5400), ("7h", 25200), ("1h30m", 5400), ("2d", 172800), ("1h 15min", 4500)])
def test_durations_are_written_in_days_hours_minutes_and_seconds(text: str, seconds: int):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "7", "h", "1.5h", "-2h", "7 hours"])
def test_a_duration_without_a_unit_or_with_an_unknown_one_is_refused(text: str):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(("text", "days"), [
    ("mon", {0}), ("Sunday", {6}), ("mon-fri", {0, 1, 2, 3, 4}), ("fri-mon", {4, 5, 6, 0}), ("sat – sun", {5, 6})])
def test_days_are_short_or_full_names_or_ranges(text: str, days: set[int]):
    assert parse_day(text) == days


def test_a_set_of_days_is_shown_as_ranges():
    assert format_days(frozenset({0, 1, 2, 3, 4})) == "Mon–Fri"
    assert format_days(frozenset({0, 2, 4})) == "Mon, Wed, Fri"
    assert format_days(frozenset(range(7))) == "every day"
    assert Window(time(8), time(18), frozenset({0, 1, 2, 3, 4})).describe() == "08:00–18:00 Mon–Fri"


def test_24_00_is_a_time_only_where_a_window_ends():
    assert parse_clock("24:00", end_of_day=True) == time(0)
    with pytest.raises(ValueError, match="from 00:00 to 23:59"):
        parse_clock("24:00")
