"""Validating OCPP-J payloads against the ``ocpp`` package's own JSON schemas, about 100 times faster.

The ``ocpp`` package validates every message both ways (incoming calls and their answers, our calls and the
station's answers) with the pure-Python ``jsonschema`` Draft 4 validator: about 300 µs for a MeterValues, the
largest cost on the inbound message path (``../shared/research/python-stack.md``). :func:`validate_payload` is a
drop-in for the package's ``validate_payload``; :func:`install` puts it in place (``ocpp.charge_point`` calls it
by that name). It gives the same verdicts with the same errors, plus a ``date-time`` check the package does not do:

* the schema files are the package's (read once per action, version and direction), compiled with
  ``jsonschema-rs``; a valid payload — nearly every one — costs about a microsecond;
* an invalid payload is handed to the package's own validator, so the error (TypeConstraintViolation,
  FormatViolation, ProtocolError, …) and its details are exactly what the package raises;
* the three 1.6 messages whose ``multipleOf 0.1`` the package judges in ``Decimal`` (SetChargingProfile and
  RemoteStartTransaction calls, GetCompositeSchedule answers) go to the package as they are, Decimal
  re-parsing included: the package's verdict on them is kept, side effect and all;
* ``date-time`` fields must hold a date-time: text that is no time at all (``"now"``) is a FormatViolation,
  which the package lets through. A time without a zone is still accepted — chargers send them, and the adapters
  read them as UTC and log it (``wattcap.ocpp.messages_common.read_time``). Other formats (``uri``) are not
  checked, as in the package.

Where ``jsonschema-rs`` is stricter than the package on something other than a date-time (a Draft 4 integer
written ``1.0``), the package's verdict wins: nothing the package accepts is refused for any other reason.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import ocpp.charge_point
import ocpp.messages
from ocpp.exceptions import FormatViolationError
from ocpp.messages import Call, CallResult, MessageType

from wattcap.core.timeutil import TimestampError, parse_timestamp

_SCHEMAS = Path(ocpp.messages.__file__).parent
#: 1.6 messages the package validates in Decimal (``multipleOf 0.1``): (message type id, action).
_DECIMAL_V16 = frozenset({
    (MessageType.Call, "SetChargingProfile"),
    (MessageType.Call, "RemoteStartTransaction"),
    (MessageType.CallResult, "GetCompositeSchedule"),
})
#: The package's validator, kept for the invalid payloads and the Decimal messages (and to uninstall).
package_validate_payload = ocpp.messages.validate_payload
_package_validate = ocpp.messages._validate_payload


def _readable_time(value: Any) -> bool:
    try:
        parse_timestamp(value)
    except TimestampError:
        return False
    return True


def _any_uri(value: Any) -> bool:
    return True  # the package checks no format; only date-time is added here


@cache
def schema_validator(message_type_id: int, action: str, ocpp_version: str) -> Any:
    """The compiled schema of one message, from the package's file of that name (None if there is none)."""
    name = action
    if message_type_id == MessageType.CallResult:
        name += "Response"
    elif ocpp_version in ("2.0", "2.0.1", "2.1"):
        name += "Request"
    if ocpp_version == "2.0":
        name += "_v1p0"
    path = _SCHEMAS / ("v" + ocpp_version.replace(".", "")) / "schemas" / f"{name}.json"
    try:
        schema = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None
    # Draft 4, as the package; unknown formats ignored, date-time as a readable time.
    return jsonschema_rs.Draft4Validator(
        schema, validate_formats=True, formats={"date-time": _readable_time, "uri": _any_uri}
    )


def check(message: Call | CallResult, ocpp_version: str) -> None:
    """Raise what the package's validator raises for ``message``, or FormatViolation for a bad date-time."""
    if type(message) not in (Call, CallResult) or ocpp_version not in ("1.6", "2.0", "2.0.1", "2.1"):
        _package_validate(message, ocpp_version)  # the package's own error for these
        return
    validator = schema_validator(message.message_type_id, message.action, ocpp_version)
    if validator is None:
        _package_validate(message, ocpp_version)  # NotImplementedError, as the package raises
        return
    if ocpp_version == "1.6" and (message.message_type_id, message.action) in _DECIMAL_V16:
        # Read the times before the package re-parses the payload in Decimal (which jsonschema-rs cannot read).
        bad_time = _bad_time(validator, message.payload)
        _package_validate(message, ocpp_version)
    else:
        try:
            if validator.is_valid(message.payload):
                return
        except (TypeError, ValueError):  # a value jsonschema-rs cannot read (not JSON): the package decides
            pass
        _package_validate(message, ocpp_version)  # raises the package's error if the package refuses it
        bad_time = _bad_time(validator, message.payload)
    if bad_time is not None:
        raise FormatViolationError(details={"cause": f"{bad_time} is not a date-time", "ocpp_message": message})
    # Otherwise only jsonschema-rs objected (e.g. an integer written 1.0): the package's verdict stands.


def valid(message: Call | CallResult, ocpp_version: str) -> bool:
    """True when :func:`check` accepts ``message`` on its own, without the package's validator: a payload the
    compiled schema finds valid (not one of the Decimal messages, which only the package judges). False says
    nothing about the verdict: ask :func:`check` (or the package's routing) then."""
    if ocpp_version not in ("1.6", "2.0", "2.0.1", "2.1") or type(message) not in (Call, CallResult):
        return False
    if ocpp_version == "1.6" and (message.message_type_id, message.action) in _DECIMAL_V16:
        return False
    validator = schema_validator(message.message_type_id, message.action, ocpp_version)
    if validator is None:
        return False
    try:
        return bool(validator.is_valid(message.payload))
    except (TypeError, ValueError):
        return False


def _bad_time(validator: Any, payload: Any) -> str | None:
    """Where ``payload`` holds text that is no date-time, and what (None if nowhere)."""
    try:
        errors = list(validator.iter_errors(payload))
    except (TypeError, ValueError):
        return None
    for error in errors:
        if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Format):
            where = "/".join(str(p) for p in error.instance_path) or "payload"
            return f"{where}: {error.instance!r}"
    return None


async def validate_payload(message: Call | CallResult, ocpp_version: str) -> None:
    """The package's ``validate_payload``, inline (no thread hop): see the module's description."""
    check(message, ocpp_version)


def install() -> None:
    """Validate every ``ocpp.ChargePoint`` message of this process with :func:`validate_payload` (idempotent)."""
    ocpp.charge_point.validate_payload = validate_payload


def uninstall() -> None:
    ocpp.charge_point.validate_payload = package_validate_payload


def installed() -> bool:
    return ocpp.charge_point.validate_payload is validate_payload
