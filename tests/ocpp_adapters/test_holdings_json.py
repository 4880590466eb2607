"""The persisted form of the holdings, which survives a reboot (R16-13, K01.FR.27)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.holdings_helpers import EXTERNAL, MAX, TX, holdings_of, install_all, installs, make_profile
from wattcap.core.holdings import ChargerHoldings
from wattcap.core.holdings_policy import V16_POLICY
from wattcap.core.model import ChargingLimitSource, OcppVersion
from wattcap.ocpp.holdings_json import holdings_from_json, holdings_to_json
from wattcap.ocpp.profile_json import ProfileFormatError

# ---- persistence: R16-13, K01.FR.27 --------------------------------------------------------------------------


def test_R16_13_K01_FR_27_round_trip_of_a_1_6_station():
    holdings = holdings_of(
        OcppVersion.V16,
        (0, make_profile(1, purpose=MAX, schedule_id=None)),
        (1, make_profile(2, purpose=TX, transaction_id="42", schedule_id=None, duration=3600)),
    )
    stored = json.loads(json.dumps(holdings_to_json(holdings)))
    assert stored[0] == {
        "evseId": 0,
        "source": "CSO",
        "version": "1.6",
        "chargingProfile": {
            "chargingProfileId": 1,
            "chargingProfilePurpose": "ChargePointMaxProfile",
            "stackLevel": 0,
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "startSchedule": "2024-01-01T00:00:00Z",
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
            },
        },
    }
    assert holdings_from_json(stored, OcppVersion.V16) == holdings


def test_R16_13_restoring_keeps_a_vendor_policy_given_by_the_shell():
    policy = replace(V16_POLICY, deletes_ended_tx_profiles=False)
    holdings = holdings_of(policy, (1, make_profile(1, schedule_id=None)))
    assert holdings_from_json(holdings_to_json(holdings), policy).policy == policy


def test_K01_FR_27_round_trip_keeps_external_constraints_source_and_unknown_fields():
    profile = replace(make_profile(9, purpose=EXTERNAL), extra={"customData": {"vendorId": "x", "note": 1}})
    holdings = holdings_of(OcppVersion.V201, (2, profile, ChargingLimitSource.SO))
    stored = json.loads(json.dumps(holdings_to_json(holdings)))
    restored = holdings_from_json(stored, OcppVersion.V201)
    assert restored == holdings
    assert restored.entries[0].source == "SO"
    assert holdings_to_json(restored) == stored  # extra is not compared by ==, so compare the wire form too


@settings(deadline=None)
@given(st.lists(installs(OcppVersion.V201), max_size=20))
def test_K01_FR_27_round_trip_of_any_2_0_1_holdings(sequence):
    holdings = install_all(ChargerHoldings.empty(OcppVersion.V201), sequence)
    stored = json.loads(json.dumps(holdings_to_json(holdings)))
    restored = holdings_from_json(stored, OcppVersion.V201)
    assert restored == holdings
    assert holdings_to_json(restored) == stored


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"evseId": 1}, ""),
        ([{"version": "2.0.1", "chargingProfile": {}}], "[0].evseId"),
        ([{"evseId": -1, "version": "2.0.1", "chargingProfile": {}}], "[0].evseId"),
        ([{"evseId": 1, "version": "1.5", "chargingProfile": {}}], "[0].version"),
        ([{"evseId": 1, "version": "2.0.1", "source": 3, "chargingProfile": {}}], "[0].source"),
        ([{"evseId": 1, "version": "2.0.1", "chargingProfile": {"id": 1}}], "[0].chargingProfile.stackLevel"),
    ],
)
def test_R16_13_from_json_names_what_is_wrong(data, path):
    with pytest.raises(ProfileFormatError) as error:
        holdings_from_json(data, OcppVersion.V201)
    assert error.value.path == path


def test_K01_FR_05_from_json_refuses_a_file_holding_one_id_twice():
    entry = holdings_to_json(holdings_of(OcppVersion.V201, (1, make_profile(1))))[0]
    with pytest.raises(ProfileFormatError, match="held twice"):
        holdings_from_json([entry, {**entry, "evseId": 2}], OcppVersion.V201)
