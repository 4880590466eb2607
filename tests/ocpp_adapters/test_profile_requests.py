"""ClearChargingProfile / GetChargingProfiles requests and ReportChargingProfiles messages on the wire."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.holdings_helpers import EXTERNAL, MAX, TX_DEFAULT, install_all, installs
from core.holdings_helpers import report_station as station
from wattcap.core.holdings import ChargerHoldings
from wattcap.core.holdings_clear import ClearChargingProfileRequest
from wattcap.core.holdings_report import GetChargingProfilesRequest, get_charging_profiles
from wattcap.core.model import ChargingProfilePurpose, OcppVersion
from wattcap.ocpp.profile_json import ProfileFormatError, profile_from_json
from wattcap.ocpp.profile_requests import clear_request_from_json, get_request_from_json, report_payloads

V16 = OcppVersion.V16
V201 = OcppVersion.V201
Get = GetChargingProfilesRequest
Req = ClearChargingProfileRequest


# ---- ReportChargingProfilesRequest payloads ------------------------------------------------------------------


def test_K09_FR_01_reports_carry_the_request_id_and_split_with_tbc():
    result = get_charging_profiles(station(), Get(request_id=31))
    payloads = report_payloads(31, result.reports, V201, max_profiles_per_message=2)
    assert [(p["requestId"], p["evseId"], p["chargingLimitSource"], p["tbc"]) for p in payloads] == [
        (31, 0, "CSO", True),
        (31, 0, "EMS", True),
        (31, 1, "CSO", True),
        (31, 1, "CSO", True),
        (31, 2, "SO", False),
    ]
    assert [[c["id"] for c in p["chargingProfile"]] for p in payloads] == [[1, 2], [8], [4, 3], [5], [9]]


def test_K09_report_profiles_are_wire_json_of_the_version():
    result = get_charging_profiles(station(), Get(request_id=1, profile_ids=(4,)))
    (payload,) = report_payloads(1, result.reports, V201, max_profiles_per_message=10)
    assert payload["chargingProfile"][0]["transactionId"] == "t-1"
    assert profile_from_json(payload["chargingProfile"][0], V201) == station().find(4).profile


def test_K09_no_profiles_means_no_report_messages():
    assert report_payloads(1, (), V201, max_profiles_per_message=5) == []


@pytest.mark.parametrize(("version", "limit"), [(OcppVersion.V16, 5), (V201, 0)])
def test_K09_report_payloads_refuse_what_cannot_be_sent(version, limit):
    with pytest.raises(ValueError):
        report_payloads(1, get_charging_profiles(station(), Get(request_id=1)).reports, version, limit)


@settings(deadline=None)
@given(st.lists(installs(V201), max_size=25), st.integers(1, 4))
def test_K09_FR_03_chunks_keep_every_matching_profile_once_with_tbc_on_all_but_the_last(sequence, limit):
    holdings = install_all(ChargerHoldings.empty(V201), sequence)
    result = get_charging_profiles(holdings, Get(request_id=5))
    payloads = report_payloads(5, result.reports, V201, max_profiles_per_message=limit)
    sent = sorted((p["evseId"], p["chargingLimitSource"], c["id"]) for p in payloads for c in p["chargingProfile"])
    assert sent == sorted((e.evse_id, str(e.source), e.profile.id) for e in holdings)
    assert all(1 <= len(p["chargingProfile"]) <= limit for p in payloads)
    assert [p["tbc"] for p in payloads] == [True] * (len(payloads) - 1) + [False] * bool(payloads)
    for p in payloads:
        levels = [c["stackLevel"] for c in p["chargingProfile"]]
        assert levels == sorted(levels)


# ---- GetChargingProfilesRequest (K09) ------------------------------------------------------------------------


def with_criterion(**fields) -> dict:
    return {"requestId": 1, "chargingProfile": fields}


@pytest.mark.parametrize(
    ("version", "data", "expected"),
    [
        (V201, {"requestId": 3, "chargingProfile": {}}, Get(request_id=3)),
        (
            V201,
            {
                "requestId": 3,
                "evseId": 0,
                "chargingProfile": {
                    "chargingProfilePurpose": "ChargingStationExternalConstraints",
                    "stackLevel": 1,
                    "chargingProfileId": [4, 5],
                    "chargingLimitSource": ["EMS", "SO"],
                },
            },
            Get(request_id=3, evse_id=0, purpose=EXTERNAL, stack_level=1, profile_ids=(4, 5), sources=("EMS", "SO")),
        ),
        (OcppVersion.V21, with_criterion(chargingLimitSource=["Grid"]), Get(request_id=1, sources=("Grid",))),
    ],
)
def test_K09_FR_03_get_request_from_json(version, data, expected):
    assert get_request_from_json(data, version) == expected


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"chargingProfile": {}}, "requestId"),
        ({"requestId": 1}, "chargingProfile"),
        (with_criterion(chargingProfileId=[]), "chargingProfile.chargingProfileId"),
        (with_criterion(chargingProfileId=["1"]), "chargingProfile.chargingProfileId[0]"),
        (with_criterion(chargingLimitSource=["Grid"]), "chargingProfile.chargingLimitSource[0]"),
        (with_criterion(chargingProfilePurpose="ChargePointMaxProfile"), "chargingProfile.chargingProfilePurpose"),
    ],
)
def test_K09_get_request_from_json_names_what_is_wrong(data, path):
    with pytest.raises(ProfileFormatError) as error:
        get_request_from_json(data, V201)
    assert error.value.path == path


def test_K09_1_6_has_no_get_charging_profiles():
    with pytest.raises(ValueError):
        get_request_from_json({"requestId": 1, "chargingProfile": {}}, OcppVersion.V16)


# ---- ClearChargingProfileRequest (R16-11, K10) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "data", "expected"),
    [
        (V16, {}, Req()),
        (V16, {"id": 3, "connectorId": 0}, Req(profile_id=3, evse_id=0)),
        (V16, {"chargingProfilePurpose": "ChargePointMaxProfile", "stackLevel": 1}, Req(purpose=MAX, stack_level=1)),
        (V201, {}, Req()),
        (V201, {"chargingProfileId": 3}, Req(profile_id=3)),
        (
            V201,
            {"chargingProfileCriteria": {"evseId": 1, "chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 0}},
            Req(evse_id=1, purpose=TX_DEFAULT, stack_level=0),
        ),
        (
            OcppVersion.V21,
            {"chargingProfileCriteria": {"chargingProfilePurpose": "PriorityCharging"}},
            Req(purpose=ChargingProfilePurpose.PRIORITY_CHARGING),
        ),
    ],
)
def test_R16_11_K10_FR_02_clear_request_from_json(version, data, expected):
    assert clear_request_from_json(data, version) == expected


@pytest.mark.parametrize(
    ("version", "data", "path"),
    [
        (V16, {"chargingProfilePurpose": "ChargingStationMaxProfile"}, "chargingProfilePurpose"),
        (V16, {"id": "3"}, "id"),
        (V16, {"connectorId": True}, "connectorId"),
        (
            V201,
            {"chargingProfileCriteria": {"chargingProfilePurpose": "PriorityCharging"}},
            "chargingProfileCriteria.chargingProfilePurpose",
        ),
        (V201, {"chargingProfileCriteria": []}, "chargingProfileCriteria"),
        (V201, [], ""),
    ],
)
def test_K10_clear_request_from_json_rejects_what_the_version_cannot_say(version, data, path):
    with pytest.raises(ProfileFormatError) as error:
        clear_request_from_json(data, version)
    assert error.value.path == path
