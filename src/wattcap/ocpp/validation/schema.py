"""A ChargingProfile's shape, judged by the official OCPP JSON schemas of its version.

The schemas come with the ``ocpp`` package wattcap already depends on, so wattcap restates none of them
(required fields, types, enum values, unknown fields, list sizes, 2.0.1 ``transactionId`` length, 2.1 ranges).
They are read once per version and kept; validation itself is a pure function of the JSON.

Two schema keywords are judged differently from a plain schema validator: ``multipleOf 0.1`` (1.6), which
fails on binary floats (8.1 / 0.1 is 80.99999999999999) and is therefore checked with decimal arithmetic by
rule R16-10; and ``date-time``, where a timestamp without a zone is its own finding because chargers read it in
local time (A7, A22) while a malformed one is a plain value error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources import files
from typing import Any

from jsonschema import FormatChecker
from jsonschema.protocols import Validator
from jsonschema.validators import extend, validator_for

from wattcap.core.model import OcppVersion
from wattcap.core.timeutil import TimestampError, has_zone, parse_timestamp
from wattcap.core.validation.request import json_path
from wattcap.core.validation.rule import Hit

# Which schema file holds the ChargingProfile of each version, and where inside it.
_SOURCES: Mapping[OcppVersion, tuple[str, str, str]] = {
    OcppVersion.V16: ("v16", "SetChargingProfile.json", "#/properties/csChargingProfiles"),
    OcppVersion.V201: ("v201", "SetChargingProfileRequest.json", "#/definitions/ChargingProfileType"),
    OcppVersion.V21: ("v21", "SetChargingProfileRequest.json", "#/definitions/ChargingProfileType"),
}

TYPE_RULE = "WC-S01"
OCCURRENCE_RULE = "WC-S02"
VALUE_RULE = "WC-S03"
NAIVE_TIME_SENT_RULE = "WC-S04"
NAIVE_TIME_REPORTED_RULE = "WC-W02"


@cache
def _validator(version: OcppVersion) -> Validator:
    package, name, pointer = _SOURCES[version]
    root = json.loads((files("ocpp") / package / "schemas" / name).read_text(encoding="utf-8"))
    # A root that only points at the profile: the message's own fields (evseId …) are not the profile's.
    schema = {
        "$schema": root["$schema"],
        "$ref": pointer,
        "properties": root.get("properties", {}),
        "definitions": root.get("definitions", {}),
    }
    checker = FormatChecker(formats=())
    checker.checks("date-time")(_zoned_time)
    # multipleOf is judged in decimal by R16-10: the stock keyword misjudges floats and fails on Decimal input.
    validator_class = extend(validator_for(schema), {"multipleOf": _judged_elsewhere})
    return validator_class(schema, format_checker=checker)


def _judged_elsewhere(validator: Any, value: Any, instance: Any, schema: Any) -> Iterator[Any]:
    return iter(())


def _zoned_time(value: Any) -> bool:
    # Non-strings are the "type" keyword's business. has_zone is False for anything that is not a usable zoned
    # date-time, including an offset that moves the time outside the datetime range.
    if not isinstance(value, str):
        return True
    return has_zone(value)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _is_naive_time(value: Any) -> bool:
    """A readable date-time that lacks only its zone (``_zoned_time`` already said it is not a zoned one)."""
    try:
        parse_timestamp(value, assume_utc=True)
    except TimestampError:
        return False
    return True


def schema_hits(data: Any, version: OcppVersion) -> Iterator[tuple[str, Hit]]:
    """``(rule id, hit)`` for every way ``data`` departs from ``version``'s ChargingProfile schema.

    A timestamp without a zone yields a hit for both the "sent" and the "reported" rule; the caller keeps the
    one that applies to its context.
    """
    seen: set[tuple[str, str]] = set()

    def emit(rule_id: str, path: str, message: str) -> Iterator[tuple[str, Hit]]:
        if (rule_id, path) not in seen:
            seen.add((rule_id, path))
            yield rule_id, Hit(path, message)

    for err in _validator(version).iter_errors(data):
        parts = list(err.absolute_path)
        path = json_path(parts)
        kind, value, instance = err.validator, err.validator_value, err.instance
        if kind == "type":
            expected = value if isinstance(value, str) else " or ".join(value)
            yield from emit(TYPE_RULE, path, f"expected {expected}, got {_json_kind(instance)}")
        elif kind == "required":
            for key in value:
                if isinstance(instance, Mapping) and key not in instance:
                    yield from emit(OCCURRENCE_RULE, json_path([*parts, key]), "required field is missing")
        elif kind in ("minItems", "maxItems"):
            bound = "at least" if kind == "minItems" else "at most"
            yield from emit(OCCURRENCE_RULE, path, f"needs {bound} {value} item(s), has {len(instance)}")
        elif kind == "additionalProperties":
            known = err.schema.get("properties", {})
            for key in instance:
                if key not in known:
                    yield from emit(
                        VALUE_RULE,
                        json_path([*parts, str(key)]),
                        f"{key!r} is not a field of an OCPP {version.value} charging profile here; "
                        "a charger validating its schema rejects the message",
                    )
        elif kind == "format" and _is_naive_time(instance):
            message = (
                f"{instance!r} has no time zone; chargers read such times in their local zone (A7, A22). "
                "Send UTC with a trailing Z"
            )
            yield from emit(NAIVE_TIME_SENT_RULE, path, message)
            yield from emit(NAIVE_TIME_REPORTED_RULE, path, f"{instance!r} has no time zone; read as UTC")
        elif kind == "format":
            yield from emit(VALUE_RULE, path, f"{instance!r} is not a valid ISO 8601 date-time")
        elif kind == "enum":
            yield from emit(VALUE_RULE, path, f"{instance!r} is not one of {', '.join(map(str, value))}")
        else:
            yield from emit(VALUE_RULE, path, err.message)
