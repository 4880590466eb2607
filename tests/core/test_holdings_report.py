"""GetChargingProfiles filters (2.0.1 K09, 2.1); the wire messages are tested in tests/ocpp_adapters."""

from __future__ import annotations

import pytest

from wattcap.core.holdings import ChargerHoldings
from wattcap.core.holdings_report import (
    GetChargingProfilesRequest,
    GetChargingProfilesStatus,
    get_charging_profiles,
)
from wattcap.core.model import OcppVersion

from .holdings_helpers import EXTERNAL, TX, TX_DEFAULT
from .holdings_helpers import report_station as station

V201 = OcppVersion.V201
ACCEPTED = GetChargingProfilesStatus.ACCEPTED
NO_PROFILES = GetChargingProfilesStatus.NO_PROFILES
Get = GetChargingProfilesRequest


def reported(request: GetChargingProfilesRequest, holdings: ChargerHoldings | None = None):
    result = get_charging_profiles(station() if holdings is None else holdings, request)
    groups = [(r.evse_id, str(r.source), [e.profile.id for e in r.entries]) for r in result.reports]
    return result.status, groups


def test_K09_FR_06_omitted_evse_id_reports_all_grouped_per_evse_and_source():
    assert reported(Get(request_id=1)) == (
        ACCEPTED,
        [(0, "CSO", [1, 2]), (0, "EMS", [8]), (1, "CSO", [4, 3, 5]), (2, "SO", [9])],
    )


def test_K09_FR_05_evse_0_reports_only_the_stations_own_profiles():
    assert reported(Get(request_id=1, evse_id=0)) == (ACCEPTED, [(0, "CSO", [1, 2]), (0, "EMS", [8])])


def test_K09_FR_04_evse_id_reports_the_profiles_installed_on_that_evse():
    assert reported(Get(request_id=1, evse_id=1)) == (ACCEPTED, [(1, "CSO", [4, 3, 5])])


def test_K09_FR_03_criteria_match_as_logical_and():
    assert reported(Get(request_id=1, purpose=TX_DEFAULT, stack_level=1)) == (ACCEPTED, [(1, "CSO", [3])])
    assert reported(Get(request_id=1, evse_id=0, purpose=TX_DEFAULT)) == (ACCEPTED, [(0, "CSO", [2])])


def test_K09_FR_03_list_of_profile_ids():
    assert reported(Get(request_id=1, profile_ids=(2, 9, 77))) == (ACCEPTED, [(0, "CSO", [2]), (2, "SO", [9])])


def test_K09_FR_03_charging_limit_sources():
    assert reported(Get(request_id=1, sources=("EMS", "SO"))) == (ACCEPTED, [(0, "EMS", [8]), (2, "SO", [9])])
    assert reported(Get(request_id=1, sources=("CSO",), evse_id=2)) == (NO_PROFILES, [])


def test_K09_TC_K_52_external_constraints_are_reported_with_their_source():
    assert reported(Get(request_id=1, purpose=EXTERNAL)) == (ACCEPTED, [(0, "EMS", [8]), (2, "SO", [9])])


@pytest.mark.parametrize(
    "request_",
    [Get(request_id=1, evse_id=3), Get(request_id=1, profile_ids=(77,)), Get(request_id=1, purpose=TX, evse_id=2)],
)
def test_K09_no_match_is_NoProfiles(request_):
    assert reported(request_) == (NO_PROFILES, [])


def test_K09_empty_holdings_report_NoProfiles():
    assert reported(Get(request_id=1), ChargerHoldings.empty(V201)) == (NO_PROFILES, [])
