"""Calls to a station in wire JSON: a :class:`~wattcap.ocpp.lifecycle_messages.WireCall` in, the answer's wire
JSON out.

The pure adapters in :mod:`wattcap.ocpp` write and read OCPP as it is on the wire (camelCase); the ``ocpp``
package wants its own call dataclasses and hands back snake_cased dicts. This is the one place that translates
between the two, on top of :meth:`StationRegistry.call` (which keeps its exceptions: CallTimeout, CallRejected,
StationNotConnected …). Nested objects can stay camelCase on the way out: the package only rewrites keys with
underscores, and OCPP 1.6/2.0.1 keys have none.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case

from wattcap.ocpp.lifecycle_messages import WireCall
from wattcap.server.stations import StationRegistry

_PACKAGES = {"1.6": "ocpp.v16.call", "2.0.1": "ocpp.v201.call"}


def to_package_call(version: str, call: WireCall) -> Any:
    """The ``ocpp`` package's request dataclass for ``call`` in ``version``."""
    module = import_module(_PACKAGES[str(version)])
    kwargs = {_snake(key): value for key, value in call.payload.items()}
    return getattr(module, call.action)(**kwargs)


def _snake(key: str) -> str:
    """A top-level field name as the package's dataclass field (its own conversion, so the spellings agree)."""
    return next(iter(camel_to_snake_case({key: None})))


def answer_to_wire(result: Any) -> dict[str, Any]:
    """The package's result dataclass as the wire JSON the station sent."""
    return remove_nones(snake_to_camel_case(serialize_as_dict(result)))


async def call_wire(registry: StationRegistry, station_id: str, call: WireCall) -> dict[str, Any]:
    """Send ``call`` to the station in its current version and return the answer as wire JSON."""
    version = registry.version(station_id)
    return answer_to_wire(await registry.call(station_id, to_package_call(version, call)))
