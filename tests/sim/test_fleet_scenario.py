"""Fleets and arrivals: reproducible from a seed, shaped like a real site, read from scenario files."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from wattcap.core.model import OcppVersion
from wattcap.core.station import CurrentType
from wattcap.sim.fleet import FleetOptions, VersionMix, make_fleet, make_station, station_id
from wattcap.sim.scenario import ScenarioError, arrivals_from_json, arrivals_now, depot_day, for_stations

from .helpers import T0


def test_station_ids_are_numbered_with_at_least_three_digits():
    assert station_id("SIM", 1, 5) == "SIM-001"
    assert station_id("DEPOT", 42, 2000) == "DEPOT-0042"


def test_a_fleet_is_a_function_of_its_seed():
    options = FleetOptions(count=50, versions=VersionMix.MIXED, seed=3)
    assert make_fleet(options) == make_fleet(options)
    assert make_fleet(options) != make_fleet(FleetOptions(count=50, versions=VersionMix.MIXED, seed=4))
    share = make_fleet(options, [2, 4, 6])
    assert share == [make_station(options, n) for n in (2, 4, 6)]


def test_a_fleet_is_varied_like_a_real_site():
    fleet = make_fleet(FleetOptions(count=200, versions=VersionMix.MIXED))
    assert {s.ocpp_version for s in fleet} == {OcppVersion.V16, OcppVersion.V201}
    assert {len(s.evses) for s in fleet} == {1, 2, 3, 4}
    assert {s.current_type for s in fleet} == {CurrentType.AC, CurrentType.DC}
    assert {s.phases for s in fleet if s.current_type is CurrentType.AC} == {1, 3}
    assert all(s.evses[0].max_current_a >= 6 for s in fleet)


def test_fleet_options_fix_what_they_name():
    fleet = make_fleet(
        FleetOptions(
            count=6,
            versions=VersionMix.V16,
            evses=2,
            current_type=CurrentType.DC,
            personalities=("whole-amps", "watts-only"),
        )
    )
    assert {s.ocpp_version for s in fleet} == {OcppVersion.V16}
    assert {len(s.evses) for s in fleet} == {2}
    assert {s.current_type for s in fleet} == {CurrentType.DC}
    assert [s.personality.name for s in fleet[:3]] == ["whole-amps", "watts-only", "whole-amps"]


def test_arrivals_now_put_an_authorizing_ev_on_every_evse():
    fleet = make_fleet(FleetOptions(count=10))
    arrivals = arrivals_now(fleet)
    assert len(arrivals) == sum(len(s.evses) for s in fleet)
    assert all(a.at_s == 0 and a.id_token and a.departure_s is None for a in arrivals)
    one_phase = {s.station_id for s in fleet if s.current_type is CurrentType.AC and s.phases == 1}
    assert all(a.ev.ac_phases == 1 for a in arrivals if a.station_id in one_phase)


def test_a_depot_day_returns_in_the_evening_and_leaves_in_the_morning():
    fleet = make_fleet(FleetOptions(count=20))
    arrivals = depot_day(fleet)
    hour = 3600
    evening = [a for a in arrivals if a.at_s < 4 * hour]
    assert len(evening) == sum(len(s.evses) for s in fleet)
    assert all(13 * hour <= a.departure_s <= 15 * hour for a in evening)
    assert [a.at_s for a in arrivals] == sorted(a.at_s for a in arrivals)
    assert depot_day(fleet) == arrivals


def test_a_scenario_file_reads_offsets_times_models_and_tokens():
    data = {
        "arrivals": [
            {
                "at": "2026-03-02T09:00:00Z",
                "station": "SIM-002",
                "evse": 2,
                "idToken": None,
                "ev": {"battery_wh": 50000, "ac_phases": 1},
                "departure": 7200,
            },
            {"at": 60, "station": "SIM-001", "evse": 1, "ev": "van", "soc": 0.5, "targetSoc": 0.8},
        ]
    }
    first, second = arrivals_from_json(data, T0)
    assert (first.at_s, first.station_id, first.ev.model) == (60, "SIM-001", "van")
    assert first.id_token == "TAG-SIM-001-1" and first.target_soc == 0.8
    assert (second.at_s, second.id_token, second.ev.ac_phases) == (3600, None, 1)
    assert second.vehicle(T0).departure == T0 + timedelta(seconds=7200)
    assert for_stations([first, second], ["SIM-002"]) == [second]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"station": "S", "evse": 1}, r"arrivals\[0\].at"),
        ({"at": 0, "station": "S", "evse": 1, "ev": "tractor"}, "unknown EV model"),
        ({"at": 0, "station": "S", "evse": 1, "ev": {"wings": 2}}, "unknown fields"),
        ({"at": 0, "station": "S", "evse": 1, "soc": 2}, "between 0 and 1"),
        ({"at": "yesterday", "station": "S", "evse": 1}, "ISO 8601"),
    ],
)
def test_a_bad_scenario_entry_is_named(entry, message):
    with pytest.raises(ScenarioError, match=message):
        arrivals_from_json({"arrivals": [entry]}, T0)


def test_a_scenario_file_must_hold_a_list():
    with pytest.raises(ScenarioError):
        arrivals_from_json(json.loads("[]"), T0)
