"""The wire form: JSON shape per version, time zones, what a version can carry, and how numbers are written."""

from __future__ import annotations

import copy
import json
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.validation_helpers import (
    EXTERNAL,
    PRIORITY,
    REMOTE_START,
    REPORTED,
    SET,
    V16,
    V21,
    V201,
    VERSIONS,
    check,
    check_json,
    error_ids,
    of_rule,
    only,
    period,
    profile,
    remote_start_profile,
    rule_ids,
    schedule,
    station,
    with_schedule,
)
from wattcap.core.model import ChargingProfileKind
from wattcap.ocpp.profile_json import profile_to_json
from wattcap.ocpp.validation import ChargerResponse, RequestContext, Severity, has_errors, validate_profile


def wire(version=V201, p=None) -> dict[str, Any]:
    return profile_to_json(p or profile(), version)


def first_schedule(data: dict[str, Any]) -> dict[str, Any]:
    raw = data["chargingSchedule"]
    return raw[0] if isinstance(raw, list) else raw


PERIOD0 = {V16: "chargingSchedule.chargingSchedulePeriod[0]", V201: "chargingSchedule[0].chargingSchedulePeriod[0]"}


# --- shape: types, required fields, values -------------------------------------------------------------------


@pytest.mark.parametrize("version", [V16, V201])
def test_WC_S01_wrong_type_is_reported_at_its_wire_path(version):
    data = wire(version)
    first_schedule(data)["chargingSchedulePeriod"][0]["startPeriod"] = "0"
    finding = only(check_json(data, version), "WC-S01")
    assert finding.path == f"{PERIOD0[version]}.startPeriod"
    assert finding.response is ChargerResponse.TYPE_CONSTRAINT_VIOLATION


@pytest.mark.parametrize("garbage", [None, [], "profile", 3, 2.5, True])
def test_WC_S01_a_profile_that_is_not_an_object(garbage):
    findings = check_json(garbage, V201)
    assert [(f.rule_id, f.path) for f in findings] == [("WC-S01", "")]


@pytest.mark.parametrize(("version", "field"), [(V16, "connectorId"), (V201, "evseId")])
def test_WC_S01_the_request_evse_id_is_an_integer(version, field):
    for bad in ("1", None, True):
        assert only(check_json(wire(version), version, evse_id=bad), "WC-S01").path == field


def test_WC_S01_validate_profile_given_something_else_than_a_profile():
    assert rule_ids(check({"id": 1}, V201)) == {"WC-S01"}


@pytest.mark.parametrize("version", [V16, V201])
def test_WC_S02_every_missing_required_field_is_reported(version):
    data = wire(version)
    del data["stackLevel"]
    del first_schedule(data)["chargingRateUnit"]
    paths = {f.path for f in of_rule(check_json(data, version), "WC-S02")}
    prefix = "chargingSchedule" if version is V16 else "chargingSchedule[0]"
    assert paths == {"stackLevel", f"{prefix}.chargingRateUnit"}


def test_WC_S02_at_most_three_schedules_in_201():
    data = wire(V201)
    data["chargingSchedule"] = [dict(first_schedule(data), id=i) for i in range(4)]
    findings = check_json(data, V201)
    assert only(findings, "WC-S02").path == "chargingSchedule"
    assert error_ids(findings) == {"WC-S02"}  # K01.FR.34 at the same path is not repeated


@pytest.mark.parametrize(
    ("version", "purpose"),
    [(V16, "ChargingStationMaxProfile"), (V16, "ChargingStationExternalConstraints"), (V201, "PriorityCharging")],
)
def test_WC_S03_a_purpose_the_version_does_not_have(version, purpose):
    data = wire(version)
    data["chargingProfilePurpose"] = purpose
    assert only(check_json(data, version, evse_id=0), "WC-S03").path == "chargingProfilePurpose"


def test_WC_S03_unknown_fields_break_the_16_schema_but_2x_custom_data_is_fine():
    data16 = dict(wire(V16), customData={"vendorId": "acme"})
    assert only(check_json(data16, V16), "WC-S03").path == "customData"
    assert check_json(dict(wire(V201), customData={"vendorId": "acme"}), V201) == []


def test_WC_S03_201_transaction_id_is_at_most_36_characters():
    data = dict(wire(V201), chargingProfilePurpose="TxProfile", transactionId="x" * 37)
    assert only(check_json(data, V201), "WC-S03").path == "transactionId"


def test_WC_S03_malformed_timestamp():
    data = dict(wire(V201), validFrom="yesterday")
    assert only(check_json(data, V201), "WC-S03").path == "validFrom"


@pytest.mark.parametrize(
    ("version", "changes", "path"),
    [
        (V16, {"purpose": EXTERNAL}, "chargingProfilePurpose"),
        (V201, {"purpose": PRIORITY}, "chargingProfilePurpose"),
        (V201, {"kind": ChargingProfileKind.DYNAMIC}, "chargingProfileKind"),
    ],
)
def test_WC_S03_a_model_value_the_version_cannot_write(version, changes, path):
    assert only(check(profile(**changes), version, evse_id=0), "WC-S03").path == path


def test_WC_S03_models_16_cannot_write_at_all():
    two = profile(schedules=(schedule(), schedule(id=2)))
    assert only(check(two, V16), "WC-S03").path == "chargingSchedule"
    named = profile(purpose=profile().purpose, transaction_id="abc")
    assert only(check(named, V16), "WC-S03").path == "transactionId"


def test_WC_S03_reader_explains_what_the_16_schema_lets_through():
    data = wire(V16)
    first_schedule(data)["chargingSchedulePeriod"] = []  # the 1.6 schema has no minItems here
    assert only(check_json(data, V16), "WC-S03").path == "chargingSchedule.chargingSchedulePeriod"


# --- time zones ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("context", [SET, REMOTE_START])
def test_WC_S04_timestamp_without_zone_in_a_sent_profile(context):
    data = wire(V201)
    first_schedule(data)["startSchedule"] = "2024-01-01T00:00:00"
    findings = check_json(data, V201, context=context)
    assert only(findings, "WC-S04").path == "chargingSchedule[0].startSchedule"
    assert has_errors(findings)


def test_WC_S04_timestamps_with_an_offset_are_fine():
    data = wire(V201)
    first_schedule(data)["startSchedule"] = "2024-01-01T01:00:00+01:00"
    assert check_json(data, V201) == []


def test_WC_W02_charger_reported_timestamp_without_zone_is_a_warning():
    data = dict(wire(V16), validFrom="2024-01-01T00:00:00")
    findings = check_json(data, V16, context=REPORTED)
    assert only(findings, "WC-W02").path == "validFrom"
    assert not of_rule(findings, "WC-S04") and not has_errors(findings)


# --- what a version can carry -------------------------------------------------------------------------------


def test_WC_S05_fields_a_version_cannot_carry_are_not_dropped_silently():
    v2x = profile(period(setpoint=5.0))
    assert only(check(v2x, V201), "WC-S05").path == "chargingSchedule[0].chargingSchedulePeriod[0]"
    assert check(v2x, V21) == []
    phase = profile(period(number_phases=1, phase_to_use=1))
    assert only(check(phase, V16, station=station(ac_phase_switching=True)), "WC-S05").path == PERIOD0[V16]


def test_WC_S05_a_schedule_id_on_a_16_profile_loses_nothing():
    assert check(with_schedule(profile(), id=7), V16) == []


# --- numbers ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "ok"),
    [(8.1, True), (21.4, True), (6, True), (10.55, False), (0.1 + 0.2, False), (21.399999999999995, False)],
)
def test_R16_10_limit_is_a_multiple_of_a_tenth_in_decimal(limit, ok):
    findings = check(profile(period(limit=limit)), V16)
    assert (of_rule(findings, "R16-10") == []) is ok
    if not ok:
        assert of_rule(findings, "R16-10")[0].response is ChargerResponse.PROPERTY_CONSTRAINT_VIOLATION


def test_R16_10_exact_decimal_json_is_judged_on_its_text():
    text = json.dumps(wire(V16)).replace('"limit": 16.0', '"limit": 10.55')
    assert only(check_json(json.loads(text, parse_float=Decimal), V16), "R16-10").path == f"{PERIOD0[V16]}.limit"
    fine = json.loads(text.replace("10.55", "8.10"), parse_float=Decimal)
    assert check_json(fine, V16) == []


def test_R16_10_min_charging_rate_too():
    p = with_schedule(profile(), min_charging_rate=6.25)
    assert only(check(p, V16), "R16-10").path == "chargingSchedule.minChargingRate"


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=1_000_000))
def test_R16_10_every_one_decimal_value_passes(tenths):
    assert of_rule(check(profile(period(limit=tenths / 10)), V16), "R16-10") == []


def test_WC_W01_201_limit_with_more_than_one_fraction_digit_is_a_warning():
    p = profile(period(limit=10.55))
    findings = check(p, V201)
    assert only(findings, "WC-W01").severity is Severity.WARNING and not has_errors(findings)
    assert check(p, V21) == []


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"limit": -1.0}, "chargingSchedule[0].chargingSchedulePeriod[0].limit"),
        ({"limit": math.nan}, "chargingSchedule[0].chargingSchedulePeriod[0].limit"),
        ({"limit": math.inf}, "chargingSchedule[0].chargingSchedulePeriod[0].limit"),
    ],
)
def test_WC_E13_limits_are_finite_and_not_negative(changes, path):
    assert only(check(profile(period(**changes)), V201), "WC-E13").path == path


def test_WC_E13_min_charging_rate_and_21_numbers():
    p = with_schedule(profile(), min_charging_rate=-6.0)
    assert only(check(p, V16), "WC-E13").path == "chargingSchedule.minChargingRate"
    assert check(profile(period(setpoint=-5.0, operation_mode=None)), V21) == []  # a setpoint may discharge
    assert only(check(profile(period(setpoint=math.inf)), V21), "WC-E13").path.endswith("setpoint")


def test_a_schema_error_is_not_explained_twice():
    data = dict(wire(V21), stackLevel=-1)  # the 2.1 schema has minimum 0, the 2.0.1 one does not
    assert rule_ids(check_json(data, V21)) == {"WC-S03"}
    assert rule_ids(check_json(dict(wire(V201), stackLevel=-1), V201)) == {"WC-E01"}


# --- nothing raises -----------------------------------------------------------------------------------------

_KEYS = sorted(
    {key for version in VERSIONS for key in json.dumps(wire(version)).split('"')[1::2] if key.isalpha()}
    | {"transactionId", "recurrencyKind", "validTo", "numberPhases", "phaseToUse", "operationMode", "limit_L2"}
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["2024-01-01T00:00:00", "0001-01-01T00:00:00+01:00", "TxProfile", "Relative", "A"])
)
_JSONISH = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=6), inner),
    max_leaves=24,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


@settings(max_examples=250, deadline=None)
@given(data=_JSONISH, version=st.sampled_from(VERSIONS), context=st.sampled_from(list(RequestContext)))
def test_arbitrary_json_never_raises(data, version, context):
    findings = check_json(data, version, context=context)
    assert isinstance(findings, list)


@settings(max_examples=250, deadline=None)
@given(version=st.sampled_from(VERSIONS), garbage=_JSONISH, pick=st.integers(min_value=0), st_data=st.data())
def test_a_valid_profile_with_one_field_replaced_by_garbage_never_raises(version, garbage, pick, st_data):
    data = wire(version, remote_start_profile() if pick % 2 else profile())
    paths = _paths(data)[1:]
    target = paths[pick % len(paths)]
    mutated = copy.deepcopy(data)
    parent = mutated
    for key in target[:-1]:
        parent = parent[key]
    parent[target[-1]] = garbage
    context = st_data.draw(st.sampled_from(list(RequestContext)))
    findings = check_json(mutated, version, context=context, evse_id=st_data.draw(st.integers(-2, 3)))
    assert all(f.path is not None for f in findings)


def test_validate_profile_rejects_an_unknown_version_loudly():
    with pytest.raises(ValueError):
        validate_profile(profile(), "1.5", evse_id=1, station=station())
