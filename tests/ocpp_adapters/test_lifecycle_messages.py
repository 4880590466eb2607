"""The lifecycle's requests in 1.6 and 2.0.1 wire form (A10, A25, K09.FR.03, K05, TC_059 / TC_K_37)."""

from __future__ import annotations

import pytest

from core.holdings_helpers import MAX, TX, TX_DEFAULT, make_profile
from wattcap.core.holdings_clear import ClearChargingProfileRequest
from wattcap.core.holdings_report import GetChargingProfilesRequest
from wattcap.core.model import ChargingProfileKind, ChargingRateUnit
from wattcap.ocpp import lifecycle_messages as m
from wattcap.ocpp.profile_requests import clear_request_from_json, clear_request_to_json, get_request_from_json
from wattcap.ocpp.validation.schema import schema_hits


def test_set_profile_in_both_versions():
    profile = make_profile(30_000, limit=10.0)
    v16 = m.set_profile_call("1.6", 1, profile)
    v201 = m.set_profile_call("2.0.1", 1, profile)
    assert v16.action == v201.action == "SetChargingProfile"
    assert v16.payload["connectorId"] == 1 and v16.payload["csChargingProfiles"]["chargingProfileId"] == 30_000
    assert v201.payload["evseId"] == 1 and v201.payload["chargingProfile"]["id"] == 30_000


def test_A10_composite_requests_always_name_the_unit():
    assert m.composite_call("1.6", 2, 600, ChargingRateUnit.W).payload == {
        "connectorId": 2, "duration": 600, "chargingRateUnit": "W"
    }
    assert m.composite_call("2.0.1", 0, 300, ChargingRateUnit.A).payload == {
        "evseId": 0, "duration": 300, "chargingRateUnit": "A"
    }


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_A25_clear_by_id_sends_the_id_alone_and_round_trips(version):
    by_id = ClearChargingProfileRequest(profile_id=5, evse_id=1, purpose=TX_DEFAULT, stack_level=0)
    wire = clear_request_to_json(by_id, version)
    assert wire == ({"id": 5} if version == "1.6" else {"chargingProfileId": 5})
    criteria = ClearChargingProfileRequest(evse_id=1, purpose=MAX, stack_level=2)
    assert clear_request_from_json(clear_request_to_json(criteria, version), version) == criteria
    assert clear_request_to_json(ClearChargingProfileRequest(), version) == {}  # clear all


def test_v16_clear_criteria_use_the_16_purpose_name():
    wire = clear_request_to_json(ClearChargingProfileRequest(purpose=MAX), "1.6")
    assert wire == {"chargingProfilePurpose": "ChargePointMaxProfile"}


def test_K09_FR_03_get_charging_profiles_names_a_criterion():
    request = GetChargingProfilesRequest(7, sources=("CSO", "EMS"))
    call = m.get_profiles_call("2.0.1", request)
    assert call.payload == {"requestId": 7, "chargingProfile": {"chargingLimitSource": ["CSO", "EMS"]}}
    assert get_request_from_json(call.payload, "2.0.1") == request
    with pytest.raises(ValueError, match=r"K09\.FR\.03"):
        m.get_profiles_call("2.0.1", GetChargingProfilesRequest(8))
    assert m.lists_profiles("2.0.1") and not m.lists_profiles("1.6")


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_TC_059_TC_K_37_remote_start_carries_a_relative_tx_profile_without_transaction_id(version):
    profile = make_profile(50_000, purpose=TX, kind=ChargingProfileKind.RELATIVE, limit=16.0)
    call = m.remote_start_call(version, 1, "TOKEN", profile, remote_start_id=42)
    sent = call.payload["chargingProfile"]
    assert sent["chargingProfileKind"] == "Relative" and "transactionId" not in sent
    assert sent["chargingProfilePurpose"] == "TxProfile"
    if version == "1.6":
        assert call.action == "RemoteStartTransaction" and call.payload["idTag"] == "TOKEN"
        assert "remoteStartId" not in call.payload
    else:
        assert call.action == "RequestStartTransaction" and call.payload["remoteStartId"] == 42
        assert call.payload["idToken"] == {"idToken": "TOKEN", "type": "Central"}
    assert list(schema_hits(sent, version)) == []


def test_answers_read_the_status_and_the_reason():
    answer = m.read_status({"status": "Rejected", "statusInfo": {"reasonCode": "RateLimitExceeded",
                                                                  "additionalInfo": "retry in 30 s"}})
    assert not answer.accepted and answer.reason() == "Rejected (RateLimitExceeded: retry in 30 s)"
    assert m.read_status({"status": "NotSupported"}).unsupported
    assert m.read_status({"status": "Accepted"}).accepted
