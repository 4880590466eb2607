"""OCPP-J framing at the transport boundary: what is answered, under which id and code, per version."""

from __future__ import annotations

import json

import pytest

from wattcap.core.model import OcppVersion
from wattcap.ocpp.rpc import (
    REDACTED,
    Frame,
    FrameProblem,
    call_error_frame,
    call_error_of,
    fix_outbound_frame,
    format_violation_code,
    parse_frame,
    redact_frame,
)

V16, V201 = OcppVersion.V16, OcppVersion.V201


def reply(problem: Frame | FrameProblem) -> list:
    assert isinstance(problem, FrameProblem)
    assert problem.reply is not None
    return json.loads(problem.reply)


def test_ocpp_j_16_names_the_syntax_error_formation_violation():
    assert format_violation_code(V16) == "FormationViolation"
    assert format_violation_code(V201) == "FormatViolation"


@pytest.mark.parametrize("text", ["not json", "{", "", "[2, 'single quotes']"])
@pytest.mark.parametrize(("version", "code"), [(V16, "FormationViolation"), (V201, "FormatViolation")])
def test_non_json_frame_is_answered_with_message_id_minus_1(text, version, code):
    answer = reply(parse_frame(text, version))
    assert answer[:3] == [4, "-1", code]
    assert isinstance(answer[3], str) and answer[4] == {}


@pytest.mark.parametrize("text", ['{"a": 1}', "42", '"text"', "[]", "null", "[2]", "[2, 17, \"Heartbeat\", {}]"])
def test_non_array_or_id_less_frame_is_answered_with_message_id_minus_1(text):
    assert reply(parse_frame(text, V201))[:3] == [4, "-1", "FormatViolation"]


def test_broken_call_with_readable_id_is_answered_under_its_id():
    assert reply(parse_frame('[2, "m1", "Heartbeat"]', V16))[:3] == [4, "m1", "FormationViolation"]
    assert reply(parse_frame('[2, "m2", "Heartbeat", []]', V201))[:3] == [4, "m2", "FormatViolation"]
    assert reply(parse_frame('[2, "m3", 7, {}]', V201))[:3] == [4, "m3", "FormatViolation"]


def test_unknown_message_type_is_message_type_not_supported_in_201():
    assert reply(parse_frame('[7, "m1", "Heartbeat", {}]', V201))[:3] == [4, "m1", "MessageTypeNotSupported"]
    assert reply(parse_frame('[7, "m1", "Heartbeat", {}]', V16))[:3] == [4, "m1", "FormationViolation"]
    assert reply(parse_frame('[true, "m1", "Heartbeat", {}]', V16))[:3] == [4, "m1", "FormationViolation"]


def test_broken_responses_are_never_answered():
    for text in ('[3, "m1"]', '[3, "m1", []]', '[4, "m1", 5]', '[4, "m1", "GenericError", "x", []]'):
        problem = parse_frame(text, V201)
        assert isinstance(problem, FrameProblem) and problem.reply is None, text


def test_well_formed_messages_pass():
    call = parse_frame('[2, "m1", "Heartbeat", {}]', V16)
    assert isinstance(call, Frame) and (call.message_id, call.action, call.payload) == ("m1", "Heartbeat", {})
    result = parse_frame('[3, "m1", {"status": "Accepted"}]', V16)
    assert isinstance(result, Frame) and result.payload == {"status": "Accepted"} and result.action is None
    for text in ('[4, "m1", "GenericError", "x", {}]', '[4, "m1", "GenericError", "x"]'):
        assert isinstance(parse_frame(text, V201), Frame)


def test_outbound_callerrors_use_16_names_on_16_connections():
    frame = call_error_frame("m1", "FormatViolation", "bad", {"cause": "x"})
    assert json.loads(fix_outbound_frame(frame, V16)) == [4, "m1", "FormationViolation", "bad", {"cause": "x"}]
    occurrence = call_error_frame("m2", "OccurrenceConstraintViolation", "bad")
    assert json.loads(fix_outbound_frame(occurrence, V16))[2] == "OccurenceConstraintViolation"
    assert fix_outbound_frame(frame, V201) is frame
    other = call_error_frame("m3", "ProtocolError", "bad")
    assert fix_outbound_frame(other, V16) == other


def test_outbound_results_and_calls_pass_unchanged():
    result = '[3,"m1",{"errorCode":"FormatViolation"}]'
    assert fix_outbound_frame(result, V16) is result


def test_frame_log_masks_16_authorization_key():
    frame = json.dumps([2, "m1", "ChangeConfiguration", {"key": "AuthorizationKey", "value": "0123456789abcdef"}])
    redacted = redact_frame(frame)
    assert "0123456789abcdef" not in redacted
    assert json.loads(redacted)[3] == {"key": "AuthorizationKey", "value": REDACTED}


def test_frame_log_masks_201_basic_auth_password():
    data = [
        {"attributeValue": "s3cret-password-1234", "component": {"name": "SecurityCtrlr"},
         "variable": {"name": "BasicAuthPassword"}},
        {"attributeValue": "60", "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
    ]
    redacted = json.loads(redact_frame(json.dumps([2, "m1", "SetVariables", {"setVariableData": data}])))
    assert [item["attributeValue"] for item in redacted[3]["setVariableData"]] == [REDACTED, "60"]


def test_frame_log_keeps_ordinary_frames_and_masks_unreadable_ones():
    assert redact_frame('[2,"m1","Heartbeat",{}]') == '[2,"m1","Heartbeat",{}]'
    assert redact_frame('AuthorizationKey garbage') == REDACTED


def test_call_error_of_reads_only_callerrors():
    assert call_error_of(call_error_frame("m1", "ProtocolError", "x")) == ("m1", "ProtocolError")
    assert call_error_of('[3,"m1",{}]') is None
    assert call_error_of("[4, broken") is None


def test_outbound_date_times_are_found_along_the_schema():
    from wattcap.ocpp.datetimes import is_utc_z, non_utc_datetimes, request_schema

    schema = request_schema(V201, "SetChargingProfile")
    payload = {"evseId": 1, "chargingProfile": {
        "id": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
        "validFrom": "2026-03-01T00:00:00Z", "validTo": "2026-03-02T00:00:00+00:00",
        "chargingSchedule": [{"id": 1, "startSchedule": "2026-03-01T00:00:00", "chargingRateUnit": "A",
                              "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6}]}]}}
    assert non_utc_datetimes(payload, schema) == [
        "chargingProfile.validTo",
        "chargingProfile.chargingSchedule[0].startSchedule",
    ]
    v16 = request_schema(V16, "SetChargingProfile")
    millis = {"connectorId": 1, "csChargingProfiles": {"validFrom": "2026-03-01T00:00:00.123Z"}}
    assert non_utc_datetimes(millis, v16) == []
    assert request_schema(V16, "NoSuchAction") is None
    assert is_utc_z("2026-03-01T00:00:00.5Z") and not is_utc_z("2026-03-01 00:00:00Z")
