"""The fast validator refuses exactly what the ``ocpp`` package refuses, with the same error, plus unreadable
date-times — on a corpus of valid messages of both versions and every mutation of each (a field removed, its
type changed, an unknown field added, a string too long, an enum value unknown, an integer written 1.0)."""

from __future__ import annotations

import copy
import decimal
from collections.abc import Iterator
from typing import Any

import ocpp.charge_point
import ocpp.messages
import pytest
from ocpp.exceptions import FormatViolationError
from ocpp.messages import Call, CallResult

from wattcap.ocpp import message_schemas

T = "2026-11-25T10:00:00.123Z"

# (version, "call" | "result", action, payload): valid messages.
VALID: list[tuple[str, str, str, dict[str, Any]]] = [
    ("1.6", "call", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M",
                                         "chargePointSerialNumber": "S1", "firmwareVersion": "1.0"}),
    ("1.6", "result", "BootNotification", {"status": "Accepted", "currentTime": T, "interval": 300}),
    ("1.6", "call", "Heartbeat", {}),
    ("1.6", "result", "Heartbeat", {"currentTime": T}),
    ("1.6", "call", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging",
                                           "timestamp": T}),
    ("1.6", "call", "StartTransaction", {"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": T}),
    ("1.6", "result", "StartTransaction", {"transactionId": 7, "idTagInfo": {"status": "Accepted"}}),
    ("1.6", "call", "StopTransaction", {"transactionId": 7, "meterStop": 1200, "timestamp": T, "reason": "Local",
                                        "transactionData": [{"timestamp": T, "sampledValue": [{"value": "1"}]}]}),
    ("1.6", "call", "MeterValues", {"connectorId": 1, "transactionId": 7, "meterValue": [{"timestamp": T,
        "sampledValue": [
            {"value": "1200", "context": "Sample.Periodic", "measurand": "Energy.Active.Import.Register",
             "unit": "Wh", "location": "Outlet"},
            {"value": "16.0", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
        ]}]}),
    ("1.6", "call", "Authorize", {"idTag": "TAG"}),
    ("1.6", "result", "GetConfiguration", {"configurationKey": [{"key": "K", "readonly": True, "value": "1"}],
                                           "unknownKey": ["X"]}),
    ("1.6", "call", "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": {
        "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute", "chargingSchedule": {"chargingRateUnit": "A", "startSchedule": T,
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}]}}}),
    ("1.6", "result", "GetCompositeSchedule", {"status": "Accepted", "connectorId": 1, "scheduleStart": T,
        "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.0}]}}),
    ("2.0.1", "call", "BootNotification", {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V",
                                                                                   "serialNumber": "S1"}}),
    ("2.0.1", "result", "BootNotification", {"currentTime": T, "interval": 300, "status": "Accepted"}),
    ("2.0.1", "call", "StatusNotification", {"timestamp": T, "connectorStatus": "Occupied", "evseId": 1,
                                             "connectorId": 1}),
    ("2.0.1", "call", "TransactionEvent", {"eventType": "Updated", "timestamp": T,
        "triggerReason": "MeterValuePeriodic", "seqNo": 3,
        "transactionInfo": {"transactionId": "tx-1", "chargingState": "Charging"},
        "evse": {"id": 1, "connectorId": 1}, "idToken": {"idToken": "TAG", "type": "ISO14443"},
        "meterValue": [{"timestamp": T, "sampledValue": [{"value": 1200.5, "measurand": "Energy.Active.Import.Register",
                                                          "unitOfMeasure": {"unit": "Wh"}}]}]}),
    ("2.0.1", "result", "TransactionEvent", {"idTokenInfo": {"status": "Accepted"}}),
    ("2.0.1", "call", "MeterValues", {"evseId": 1, "meterValue": [{"timestamp": T, "sampledValue": [
        {"value": 16.0, "measurand": "Current.Import", "phase": "L1", "context": "Sample.Periodic"}]}]}),
    ("2.0.1", "call", "NotifyReport", {"requestId": 1, "generatedAt": T, "seqNo": 0, "tbc": False, "reportData": [
        {"component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "Enabled"},
         "variableAttribute": [{"type": "Actual", "value": "true"}]}]}),
    ("2.0.1", "call", "SetChargingProfile", {"evseId": 1, "chargingProfile": {"id": 1, "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute", "chargingSchedule": [
            {"id": 1, "startSchedule": T, "chargingRateUnit": "W",
             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000.0}]}]}}),
    ("2.0.1", "result", "GetCompositeSchedule", {"status": "Accepted", "schedule": {"evseId": 1, "duration": 60,
        "scheduleStart": T, "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.0}]}}),
]


def _wrong(value: Any) -> list[Any]:
    """Values of other types than ``value`` (and an integer written 1.0, which Draft 4 does not call an integer)."""
    if isinstance(value, bool):
        return [1, "true"]
    if isinstance(value, int):
        return [float(value), str(value), True, None]
    if isinstance(value, float):
        return ["1.5", None, [1.5]]
    if isinstance(value, str):
        return [5, "x" * 2000, "NotAValueOfAnyEnum", "now", "2026-11-25T10:00:00", "2026-13-45T99:00:00Z", ""]
    if isinstance(value, list):
        return [[], {}, "x"]
    if isinstance(value, dict):
        return [[], "x", {}]
    return [0]


def _mutations(payload: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every single-point change of ``payload``: (description, changed copy)."""
    def changed(at: tuple[Any, ...], how: str, value: Any = None) -> Any:
        out = copy.deepcopy(payload)
        target = out
        for key in at[:-1]:
            target = target[key]
        if how == "delete":
            del target[at[-1]]
        elif how == "extra":
            target[at[-1]]["unexpectedField"] = 1
        else:
            target[at[-1]] = value
        return out

    def walk(node: Any, at: tuple[Any, ...]) -> Iterator[tuple[str, Any]]:
        if isinstance(node, dict):
            if at:
                yield f"{at} extra field", changed(at, "extra")
            for key, value in node.items():
                yield f"{(*at, key)} removed", changed((*at, key), "delete")
                for wrong in _wrong(value):
                    yield f"{(*at, key)} = {wrong!r:.40}", changed((*at, key), "set", wrong)
                yield from walk(value, (*at, key))
        elif isinstance(node, list) and node:
            yield from walk(node[0], (*at, 0))

    out = copy.deepcopy(payload)
    out["unexpectedField"] = 1
    yield "top-level extra field", out
    yield from walk(payload, path)


def _message(kind: str, action: str, payload: Any) -> Call | CallResult:
    if kind == "call":
        return Call("1", action, copy.deepcopy(payload))
    return CallResult("1", copy.deepcopy(payload), action=action)


def _outcome(validate: Any, message: Call | CallResult, version: str) -> tuple[str, str] | None:
    try:
        validate(message, version)
    except Exception as exc:
        details = getattr(exc, "details", None) or {}
        cause = str(details.get("cause", "")) if isinstance(details, dict) else ""
        return type(exc).__name__, cause
    return None


def _unreadable_time(text: Any) -> bool:
    # The corpus's times are T and the zone-less "2026-11-25T10:00:00"; every other text put there is no time.
    return isinstance(text, str) and text not in (T, "2026-11-25T10:00:00")


CASES = [
    pytest.param(version, kind, action, payload, id=f"{version}-{action}-{kind}-{n}-{what}")
    for version, kind, action, valid in VALID
    for n, (what, payload) in enumerate([("valid", valid), *_mutations(valid)])
]


def test_the_corpus_is_large_and_mixed():
    package = ocpp.messages._validate_payload
    verdicts = [_outcome(package, _message(k, a, p), v) for v, k, a, p in (c.values for c in CASES)]
    refused = sum(v is not None for v in verdicts)
    assert len(CASES) > 600 and refused > 300 and len(CASES) - refused > 150


@pytest.mark.parametrize(("version", "kind", "action", "payload"), CASES)
def test_same_verdict_as_the_package(version, kind, action, payload):
    expected = _outcome(ocpp.messages._validate_payload, _message(kind, action, payload), version)
    got = _outcome(message_schemas.check, _message(kind, action, payload), version)
    if expected is not None:
        assert got == expected  # same error class, same cause
        return
    times = _date_times(payload)
    if any(_unreadable_time(t) for t in times):
        assert got is not None and got[0] == "FormatViolationError" and "is not a date-time" in got[1]
    else:
        assert got is None


def _date_times(payload: Any) -> list[Any]:
    """Every value in ``payload`` sitting where a date-time belongs in these messages."""
    found: list[Any] = []
    keys = {"timestamp", "currentTime", "startSchedule", "scheduleStart", "generatedAt", "expiryDate", "validFrom",
            "validTo"}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in keys:
                    found.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload)
    return found


def test_a_time_without_zone_passes_and_text_that_is_no_time_does_not():
    def meter(at: str) -> Call:
        return Call("1", "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": at, "sampledValue": [
            {"value": "1"}]}]})

    message_schemas.check(meter("2026-03-01T10:00:00"), "1.6")  # read as UTC by the adapter, and logged
    message_schemas.check(meter("2026-03-01T10:00:00+02:00"), "1.6")
    ocpp.messages._validate_payload(meter("now"), "1.6")  # the package lets it through
    with pytest.raises(FormatViolationError):
        message_schemas.check(meter("now"), "1.6")


def test_the_1_6_decimal_messages_keep_the_packages_handling():
    # multipleOf 0.1 is judged in Decimal by the package, which rewrites the payload; that is kept as it is.
    message = Call("1", "SetChargingProfile", copy.deepcopy(VALID[11][3]))
    message_schemas.check(message, "1.6")
    limit = message.payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
    assert isinstance(limit, decimal.Decimal)
    bad = copy.deepcopy(VALID[11][3])
    bad["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = 4.11
    assert _outcome(message_schemas.check, Call("1", "SetChargingProfile", bad), "1.6") == _outcome(
        ocpp.messages._validate_payload, Call("1", "SetChargingProfile", bad), "1.6")


def test_unknown_actions_fail_as_in_the_package():
    for version in ("1.6", "2.0.1"):
        message = Call("1", "NoSuchAction", {})
        assert _outcome(message_schemas.check, message, version) == _outcome(
            ocpp.messages._validate_payload, message, version)


def test_install_replaces_the_packages_validator_and_uninstall_restores_it():
    before = ocpp.charge_point.validate_payload
    try:
        message_schemas.install()
        assert message_schemas.installed()
        assert ocpp.charge_point.validate_payload is message_schemas.validate_payload
        message_schemas.uninstall()
        assert ocpp.charge_point.validate_payload is ocpp.messages.validate_payload
    finally:
        ocpp.charge_point.validate_payload = before
