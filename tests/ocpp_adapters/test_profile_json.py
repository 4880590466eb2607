"""ChargingProfile wire JSON <-> model: per-version names and what each version can carry."""

from __future__ import annotations

import pytest

from wattcap.core.model import ChargingProfilePurpose, OcppVersion
from wattcap.ocpp.profile_json import ProfileFormatError, profile_from_json, profile_to_json

V16_MAX = {
    "chargingProfileId": 1,
    "stackLevel": 0,
    "chargingProfilePurpose": "ChargePointMaxProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": {
        "startSchedule": "2026-01-01T00:00:00Z",
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 32.0}],
    },
}


def test_16_station_max_reads_as_the_neutral_purpose_and_writes_back_its_16_name():
    profile = profile_from_json(V16_MAX, OcppVersion.V16)
    assert profile.purpose is ChargingProfilePurpose.CHARGING_STATION_MAX
    assert profile_to_json(profile, OcppVersion.V16)["chargingProfilePurpose"] == "ChargePointMaxProfile"
    assert profile_to_json(profile, OcppVersion.V201)["chargingProfilePurpose"] == "ChargingStationMaxProfile"


def test_16_transaction_id_is_an_integer_on_the_wire_and_text_in_the_model():
    data = {**V16_MAX, "chargingProfilePurpose": "TxProfile", "transactionId": 42}
    profile = profile_from_json(data, "1.6")
    assert profile.transaction_id == "42"
    assert profile_to_json(profile, "1.6")["transactionId"] == 42


@pytest.mark.parametrize(
    ("version", "field", "value"),
    [
        ("1.6", "chargingProfilePurpose", "ChargingStationExternalConstraints"),
        ("1.6", "chargingProfilePurpose", "ChargingStationMaxProfile"),
        ("1.6", "chargingProfilePurpose", "PriorityCharging"),
        ("1.6", "chargingProfileKind", "Dynamic"),
    ],
)
def test_a_version_rejects_names_it_does_not_have(version, field, value):
    with pytest.raises(ProfileFormatError) as error:
        profile_from_json({**V16_MAX, field: value}, version)
    assert error.value.path == field


def test_201_has_no_21_purposes_or_dynamic_kind_but_21_does():
    data = {
        "id": 5,
        "stackLevel": 0,
        "chargingProfilePurpose": "PriorityCharging",
        "chargingProfileKind": "Dynamic",
        "chargingSchedule": [
            {"id": 1, "chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000.0}]}
        ],
    }
    with pytest.raises(ProfileFormatError):
        profile_from_json(data, "2.0.1")
    assert profile_from_json(data, "2.1").purpose is ChargingProfilePurpose.PRIORITY_CHARGING


def test_missing_required_field_names_its_path():
    broken = {**V16_MAX, "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"limit": 6}]}}
    with pytest.raises(ProfileFormatError) as error:
        profile_from_json(broken, "1.6")
    assert error.value.path == "chargingSchedule.chargingSchedulePeriod[0].startPeriod"


def test_unknown_fields_survive_a_round_trip():
    data = {**V16_MAX, "customData": {"vendorId": "acme", "x": 1}}
    assert profile_to_json(profile_from_json(data, "1.6"), "1.6")["customData"] == {"vendorId": "acme", "x": 1}
