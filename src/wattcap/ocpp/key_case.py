"""The ``ocpp`` package's camelCase ⇄ snake_case rewriting of every payload, with each key's spelling cached.

``ocpp.ChargePoint`` rewrites every incoming payload's keys to snake_case (for the ``@on`` handlers' keyword
arguments) and every answer's back to camelCase, with two regular-expression substitutions or a dozen
``str.replace`` per key: a quarter of the time a MeterValues spends in the server (``docs/benchmarks.md``, "Load").
wattcap's handlers read the wire payload, but the package's routing still needs the keywords. The same handful
of key names come back in every message, so :func:`install` swaps in versions that convert each distinct key once,
with the package's own functions, and reuse the answer: the output is the package's, key for key.

The cache is bounded (:data:`MAX_KEYS` per direction): a station inventing new keys in every message only makes
its own conversions uncached, never memory grow.
"""

from __future__ import annotations

from typing import Any

import ocpp.charge_point

MAX_KEYS = 4096

_package_to_snake = ocpp.charge_point.camel_to_snake_case
_package_to_camel = ocpp.charge_point.snake_to_camel_case
_snake: dict[str, str] = {}
_camel: dict[str, str] = {}


def _key(key: Any, cache: dict[str, str], convert: Any) -> Any:
    found = cache.get(key)
    if found is None:
        # The package's own conversion of this one key (it only ever looks at keys, never at values).
        found = next(iter(convert({key: None})))
        if len(cache) < MAX_KEYS and isinstance(key, str):
            cache[key] = found
    return found


def camel_to_snake_case(data: Any) -> Any:
    """``ocpp.charge_point.camel_to_snake_case``, each key converted once."""
    if isinstance(data, dict):
        return {_key(k, _snake, _package_to_snake): camel_to_snake_case(v) for k, v in data.items()}
    if isinstance(data, list):
        return [camel_to_snake_case(v) for v in data]
    return data


def snake_to_camel_case(data: Any) -> Any:
    """``ocpp.charge_point.snake_to_camel_case``, each key converted once."""
    if isinstance(data, dict):
        return {_key(k, _camel, _package_to_camel): snake_to_camel_case(v) for k, v in data.items()}
    if isinstance(data, list):
        return [snake_to_camel_case(v) for v in data]
    return data


def install() -> None:
    """Use the cached conversions in every ``ocpp.ChargePoint`` of this process (idempotent)."""
    ocpp.charge_point.camel_to_snake_case = camel_to_snake_case
    ocpp.charge_point.snake_to_camel_case = snake_to_camel_case


def uninstall() -> None:
    ocpp.charge_point.camel_to_snake_case = _package_to_snake
    ocpp.charge_point.snake_to_camel_case = _package_to_camel
