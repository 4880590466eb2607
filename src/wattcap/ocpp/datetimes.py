"""Outbound date-time discipline: every ``date-time`` field the CSMS sends is UTC with ``Z``.

The ``ocpp`` package validates without a format checker, so ``"now"`` or a time with an offset passes as a
date-time. Strict chargers (and OCPP's own examples) expect ``2026-03-01T10:00:00Z``. The schema says which
fields are date-times; :func:`non_utc_datetimes` walks a payload along its schema and names the offenders.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

from wattcap.core.model import OcppVersion

_UTC_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")


def is_utc_z(text: Any) -> bool:
    """Whether ``text`` is an RFC 3339 date-time in UTC written with ``Z``."""
    return isinstance(text, str) and _UTC_Z.fullmatch(text) is not None


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        return root.get("definitions", {}).get(ref.removeprefix("#/definitions/"), {})
    return node


def datetime_fields(payload: Any, schema: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(JSON path, value) of every value in ``payload`` that ``schema`` declares ``format: date-time``."""

    def walk(node: Mapping[str, Any], value: Any, path: str) -> Iterator[tuple[str, Any]]:
        node = _resolve(node, schema)
        if node.get("format") == "date-time":
            yield path, value
        elif isinstance(value, Mapping):
            properties = node.get("properties", {})
            for key, item in value.items():
                if key in properties:
                    yield from walk(properties[key], item, f"{path}.{key}" if path else key)
        elif isinstance(value, list) and isinstance(node.get("items"), Mapping):
            for i, item in enumerate(value):
                yield from walk(node["items"], item, f"{path}[{i}]")

    yield from walk(schema, payload, "")


def non_utc_datetimes(payload: Any, schema: Mapping[str, Any]) -> list[str]:
    """Paths of date-time fields in ``payload`` that are not UTC with ``Z``."""
    return [path for path, value in datetime_fields(payload, schema) if not is_utc_z(value)]


@functools.lru_cache(maxsize=256)
def request_schema(version: OcppVersion, action: str) -> Mapping[str, Any] | None:
    """The JSON schema of a ``version`` request ``action`` as shipped in the ``ocpp`` package, or None.

    Read from the files directly: the package's own validator cache is keyed without its float parser, so
    asking it for a 1.6 SetChargingProfile validator first would break its Decimal handling.
    """
    folder, name = ("v16", f"{action}.json") if version is OcppVersion.V16 else ("v201", f"{action}Request.json")
    try:
        text = resources.files("ocpp").joinpath(folder, "schemas", name).read_text(encoding="utf-8-sig")
    except (FileNotFoundError, OSError):
        return None
    return json.loads(text)
