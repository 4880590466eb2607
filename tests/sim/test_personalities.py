"""Vendor personalities: each entry of the catalogue shows its one deviation on a station without a network."""

from __future__ import annotations

from pathlib import Path

import pytest

from wattcap.core.model import OcppVersion, RecurrencyKind
from wattcap.core.timeutil import utc
from wattcap.sim.ev import EV
from wattcap.sim.personalities import PERSONALITIES, AcceptanceTest, get_personality

from .helpers import BIG_EV, T0, A, K, P, W, at, charging, profile, station

DOCS = Path(__file__).parents[2] / "docs" / "simulator.md"


def test_every_deviation_names_the_acceptance_test_it_should_fail():
    for personality in PERSONALITIES.values():
        assert personality.summary and personality.evidence
        if personality.name != "everest":
            assert isinstance(personality.fails, AcceptanceTest), personality.name
    failing = {p.fails for p in PERSONALITIES.values()}
    assert set(AcceptanceTest) <= failing  # every acceptance family has a charger that fails it


def test_every_personality_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    for name in PERSONALITIES:
        assert f"`{name}`" in text, name


def test_unknown_personality_names_the_known_ones():
    with pytest.raises(KeyError, match="everest"):
        get_personality("nope")


def test_accept_and_ignore_accepts_reports_and_charges_at_full_power():
    s = station(personality="accept-and-ignore")
    tx = charging(s)
    assert s.set_charging_profile(1, profile(1, 10.0, transaction_id=tx), T0)[0].accepted
    assert s.evse(1).current_a == 32.0
    assert s.composite_answer(1, 600, None, T0).schedule.periods[0].limit == 10.0


def test_ignores_number_phases_keeps_all_phases():
    s = station(personality="ignores-number-phases")
    tx = charging(s)
    s.set_charging_profile(1, profile(1, 16.0, number_phases=1, transaction_id=tx), T0)
    assert (s.evse(1).phases, s.evse(1).current_a) == (3, 16.0)


def test_whole_amps_rounds_the_applied_current():
    s = station(personality="whole-amps")
    tx = charging(s)
    s.set_charging_profile(1, profile(1, 15.6, transaction_id=tx), T0)
    assert s.evse(1).current_a == 16.0


def test_slow_to_react_applies_a_new_limit_30_s_late():
    s = station(personality="slow-to-react")
    tx = charging(s)
    s.set_charging_profile(1, profile(1, 10.0, transaction_id=tx), at(100))
    s.advance(at(129))
    assert s.evse(1).current_a == 32.0
    s.advance(at(131))
    assert s.evse(1).current_a == 10.0


def test_slow_ramp_moves_one_amp_per_second():
    s = station(personality="slow-ramp")
    tx = charging(s)
    s.set_charging_profile(1, profile(1, 12.0, transaction_id=tx), at(100))
    s.advance(at(110))
    assert s.evse(1).current_a == pytest.approx(22.0)
    s.advance(at(200))
    assert s.evse(1).current_a == 12.0


def test_per_connector_station_max_gives_each_evse_the_whole_max():
    s = station(personality="per-connector-station-max", evses=2)
    charging(s, 1)
    charging(s, 2)
    s.set_charging_profile(0, profile(1, 32.0, purpose=P.CHARGING_STATION_MAX), T0)
    assert s.evse(1).current_a + s.evse(2).current_a == 64.0


def test_tx_default_next_session_keeps_the_running_session_unchanged():
    s = station(personality="tx-default-next-session")
    charging(s)
    s.set_charging_profile(1, profile(1, 10.0, purpose=P.TX_DEFAULT), at(10))
    assert s.evse(1).current_a == 32.0
    s.unplug(1, at(20))
    charging(s, now=at(30))
    assert s.evse(1).current_a == 10.0


def test_recurrence_from_midnight_shifts_a_daily_profile():
    start = utc(2026, 3, 1, 6)  # daily from 06:00: 10 A for the first hour, then 20 A
    daily = profile(
        1,
        (10.0, 20.0),
        purpose=P.TX_DEFAULT,
        kind=K.RECURRING,
        recurrency=RecurrencyKind.DAILY,
        start=start,
        step_s=3600,
    )
    compliant, shifted = station(), station(personality="recurrence-from-midnight")
    for s in (compliant, shifted):
        s.set_charging_profile(1, daily, T0)
    six = T0.replace(hour=6, minute=30)
    assert compliant.composite_answer(1, 60, None, six).schedule.periods[0].limit == 10.0
    assert shifted.composite_answer(1, 60, None, six).schedule.periods[0].limit == 20.0


@pytest.mark.parametrize(
    ("name", "bad", "reason"),
    [
        ("stack-level-0-only", profile(1, 10.0, purpose=P.TX_DEFAULT, stack_level=1), "InvalidStackLevel"),
        ("exclusive-max-stack-level", profile(1, 10.0, purpose=P.TX_DEFAULT, stack_level=3), "InvalidStackLevel"),
        ("amps-only", profile(1, 7000.0, purpose=P.TX_DEFAULT, unit=W), "UnsupportedRateUnit"),
        ("watts-only", profile(1, 10.0, purpose=P.TX_DEFAULT), "UnsupportedRateUnit"),
        ("no-station-max", profile(1, 10.0, purpose=P.CHARGING_STATION_MAX), "InvalidProfile"),
        ("no-relative", profile(1, 10.0, purpose=P.TX_DEFAULT, kind=K.RELATIVE), "InvalidProfile"),
        ("rejects-zero", profile(1, 0.0, purpose=P.TX_DEFAULT), "InvalidValue"),
    ],
)
def test_refusing_personalities_reject_what_a_compliant_station_accepts(name, bad, reason):
    evse_id = 0 if bad.purpose is P.CHARGING_STATION_MAX else 1
    assert station().set_charging_profile(evse_id, bad, T0)[0].accepted
    verdict, _ = station(personality=name).set_charging_profile(evse_id, bad, T0)
    assert (verdict.accepted, verdict.reason_code) == (False, reason)


def test_exclusive_max_stack_level_reports_three_and_takes_two():
    s = station(personality="exclusive-max-stack-level")
    assert s.config.capabilities.max_stack_level == 3
    assert s.set_charging_profile(1, profile(1, 10.0, purpose=P.TX_DEFAULT, stack_level=2), T0)[0].accepted


@pytest.mark.parametrize("version", [OcppVersion.V16, OcppVersion.V201])
def test_drops_tx_profiles_on_reconnect(version):
    s = station(personality="drops-tx-profiles-on-reconnect", version=version)
    tx = charging(s)
    s.set_charging_profile(1, profile(1, 10.0, transaction_id=tx), T0)
    s.set_online(False, at(10))
    assert s.evse(1).current_a == 10.0  # offline it still holds
    s.set_online(True, at(20))
    assert s.evse(1).current_a == 32.0


def test_forgets_profiles_offline_charges_unlimited_without_the_link():
    s = station(personality="forgets-profiles-offline")
    tx = charging(s)
    s.set_charging_profile(1, profile(1, 10.0, transaction_id=tx), T0)
    s.set_online(False, at(10))
    assert s.evse(1).current_a == 32.0
    s.set_online(True, at(20))
    assert s.evse(1).current_a == 10.0


def test_composite_quirks():
    assert not station(personality="composite-rejected").composite_answer(1, 600, None, T0).accepted
    empty = station(personality="composite-empty").composite_answer(1, 600, None, T0)
    assert empty.accepted and empty.schedule is None
    other = station(personality="composite-other-unit").composite_answer(1, 600, A, T0)
    assert other.schedule.charging_rate_unit is W
    assert station(personality="composite-minus-one").composite_answer(1, 600, None, T0).schedule.periods[0].limit == -1
    huge = station(personality="composite-huge-default").composite_answer(1, 600, None, T0)
    assert huge.schedule.periods[0].limit == 999.0


def test_huge_default_is_only_reported_never_drawn():
    s = station(personality="composite-huge-default")
    charging(s)
    assert s.evse(1).current_a == 32.0


def test_microocpp_family_reports_minus_one_and_no_tx_default_without_a_transaction():
    s = station(personality="microocpp")
    s.set_charging_profile(1, profile(1, 10.0, purpose=P.TX_DEFAULT), T0)
    assert [p.limit for p in s.composite_answer(1, 600, None, T0).schedule.periods] == [-1]
    s.plug_in(1, EV(BIG_EV), T0, id_token="T")
    s.authorization_result(1, "T", True, T0)
    assert s.evse(1).current_a == 10.0
    assert [p.limit for p in s.composite_answer(1, 600, None, T0).schedule.periods] == [10.0]
