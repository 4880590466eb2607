"""OCPP-J RPC framing: the checks and fixes the ``ocpp`` package leaves out.

The package ignores frames it cannot unpack (a charger sending garbage never hears why) and names a schema
failure ``FormatViolation`` on 1.6 connections, where OCPP-J 1.6 §4.2.3 calls it ``FormationViolation`` (and
keeps the typo ``OccurenceConstraintViolation``). These pure functions sit between the WebSocket and the
package: :func:`parse_frame` classifies what arrived, :func:`fix_outbound_frame` renames error codes on
their way out, so everything the server sends on a 1.6 connection speaks 1.6.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from wattcap.core.model import OcppVersion

CALL, CALL_RESULT, CALL_ERROR = 2, 3, 4
#: The message id of a CALLERROR answering a frame whose own id cannot be read (OCPP-J 2.0.1 §4.2.3).
UNKNOWN_MESSAGE_ID = "-1"

# 2.0.1 spelling -> 1.6 spelling, for CALLERRORs the server sends on a 1.6 connection.
_V16_ERROR_NAMES = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
}


def format_violation_code(version: OcppVersion) -> str:
    """The error code for a syntactically broken message in ``version``."""
    return "FormationViolation" if version is OcppVersion.V16 else "FormatViolation"


def call_error_frame(message_id: str, code: str, description: str, details: dict[str, Any] | None = None) -> str:
    """A CALLERROR frame ``[4, id, code, description, details]``."""
    return json.dumps([CALL_ERROR, message_id, code, description, details or {}], separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame that is a well-formed OCPP-J message (the package can route it)."""

    message: list[Any]

    @property
    def message_type(self) -> int:
        return self.message[0]

    @property
    def message_id(self) -> str:
        return self.message[1]

    @property
    def action(self) -> str | None:
        return self.message[2] if self.message_type == CALL else None

    @property
    def payload(self) -> Any:
        if self.message_type == CALL:
            return self.message[3]
        return self.message[2] if self.message_type == CALL_RESULT else None


@dataclass(frozen=True, slots=True)
class FrameProblem:
    """A frame that is not an OCPP-J message. ``reply`` is the CALLERROR to send, None when none is allowed."""

    description: str
    reply: str | None


def _problem(version: OcppVersion, message_id: str, description: str, code: str | None = None) -> FrameProblem:
    code = code or format_violation_code(version)
    return FrameProblem(description, call_error_frame(message_id, code, description))


def parse_frame(text: str, version: OcppVersion) -> Frame | FrameProblem:
    """Classify one text frame received on a ``version`` connection.

    Anything that is not JSON, not an array, or has no readable message id is answered with a CALLERROR
    carrying id ``"-1"``; a CALL with a readable id but a broken shape is answered under its own id. A broken
    CALLRESULT or CALLERROR is never answered (OCPP-J forbids answering a response) and only reported.
    """
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return _problem(version, UNKNOWN_MESSAGE_ID, "frame is not valid JSON")
    if not isinstance(message, list) or not message:
        return _problem(version, UNKNOWN_MESSAGE_ID, "frame is not a JSON array [MessageTypeId, MessageId, ...]")
    message_type = message[0]
    if len(message) < 2 or not isinstance(message[1], str) or not message[1]:
        return _problem(version, UNKNOWN_MESSAGE_ID, "frame has no MessageId string")
    message_id = message[1]
    if isinstance(message_type, bool) or not isinstance(message_type, int):
        return _problem(version, message_id, "MessageTypeId is not an integer")
    if message_type == CALL:
        if len(message) != 4 or not isinstance(message[2], str) or not isinstance(message[3], dict):
            return _problem(version, message_id, "a CALL is [2, MessageId, Action, {payload}]")
        return Frame(message)
    if message_type == CALL_RESULT:
        if len(message) != 3 or not isinstance(message[2], dict):
            return FrameProblem("a CALLRESULT is [3, MessageId, {payload}]", None)
        return Frame(message)
    if message_type == CALL_ERROR:
        if len(message) not in (4, 5) or not all(isinstance(part, str) for part in message[2:4]):
            return FrameProblem("a CALLERROR is [4, MessageId, errorCode, errorDescription, {details}]", None)
        if len(message) == 5 and not isinstance(message[4], dict):
            return FrameProblem("CALLERROR errorDetails is not an object", None)
        return Frame(message)
    if version is OcppVersion.V16:
        return _problem(version, message_id, f"MessageTypeId {message_type} is not 2, 3 or 4")
    return _problem(version, message_id, f"MessageTypeId {message_type} is not supported", "MessageTypeNotSupported")


def fix_outbound_frame(text: str, version: OcppVersion) -> str:
    """``text`` with 2.0.1 error-code names replaced by their 1.6 names when ``version`` is 1.6.

    Only CALLERROR frames are touched (cheap prefix test first); everything else passes through unchanged.
    """
    if version is not OcppVersion.V16 or not text.lstrip().startswith("[4"):
        return text
    try:
        message = json.loads(text)
    except ValueError:
        return text
    if len(message) >= 3 and message[2] in _V16_ERROR_NAMES:
        message[2] = _V16_ERROR_NAMES[message[2]]
        return json.dumps(message, separators=(",", ":"))
    return text


def call_error_of(text: str) -> tuple[str, str] | None:
    """(message id, error code) if ``text`` is a CALLERROR frame, else None (cheap for other frames)."""
    if not text.lstrip().startswith("[4"):
        return None
    try:
        message = json.loads(text)
    except ValueError:
        return None
    if isinstance(message, list) and len(message) >= 3 and message[0] == CALL_ERROR:
        return str(message[1]), str(message[2])
    return None


_SECRET_VARIABLES = ("AuthorizationKey", "BasicAuthPassword")
REDACTED = "***"


def redact_frame(text: str) -> str:
    """``text`` with station passwords masked, for frame logging.

    The CSMS rotates passwords with 1.6 ChangeConfiguration(key=AuthorizationKey) and 2.0.1
    SetVariables(SecurityCtrlr.BasicAuthPassword); logging those frames verbatim would leak them.
    """
    if not any(name in text for name in _SECRET_VARIABLES):
        return text
    try:
        message = json.loads(text)
    except ValueError:
        return REDACTED
    if not isinstance(message, list) or len(message) != 4 or not isinstance(message[3], dict):
        return REDACTED
    payload = message[3]
    if payload.get("key") in _SECRET_VARIABLES and "value" in payload:
        payload["value"] = REDACTED
    for item in payload.get("setVariableData") or []:
        if isinstance(item, dict) and (item.get("variable") or {}).get("name") in _SECRET_VARIABLES:
            item["attributeValue"] = REDACTED
    return json.dumps(message, separators=(",", ":"))
