"""Readers for the small request objects of ClearChargingProfile and GetChargingProfiles.

Strict about shape, as :mod:`wattcap.ocpp.profile_json` is: a wrong type or a purpose the version does not
have raises :class:`~wattcap.ocpp.profile_json.ProfileFormatError` with the JSON path, so the adapter can answer
with a CALLERROR instead of clearing or reporting the wrong profiles.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from wattcap.core.model import ChargingProfilePurpose as P
from wattcap.core.model import OcppVersion
from wattcap.ocpp.profile_json import ProfileFormatError

# The purpose names each version's schemas allow, wire name -> model.
PURPOSE_NAMES: Mapping[OcppVersion, Mapping[str, P]] = MappingProxyType(
    {
        OcppVersion.V16: MappingProxyType(
            {"ChargePointMaxProfile": P.CHARGING_STATION_MAX, "TxDefaultProfile": P.TX_DEFAULT, "TxProfile": P.TX}
        ),
        OcppVersion.V201: MappingProxyType(
            {
                p.value: p
                for p in (P.CHARGING_STATION_MAX, P.TX_DEFAULT, P.TX, P.CHARGING_STATION_EXTERNAL_CONSTRAINTS)
            }
        ),
        OcppVersion.V21: MappingProxyType({p.value: p for p in P}),
    }
)


def read_object(data: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ProfileFormatError(path, f"expected an object, got {type(data).__name__}")
    return data


def optional_int(data: Mapping[str, Any], key: str, path: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProfileFormatError(join(path, key), f"expected an integer, got {value!r}")
    return value


def optional_purpose(data: Mapping[str, Any], key: str, path: str, version: OcppVersion) -> P | None:
    value = data.get(key)
    if value is None:
        return None
    names = PURPOSE_NAMES[version]
    if not isinstance(value, str) or value not in names:
        raise ProfileFormatError(join(path, key), f"{value!r} is not one of {', '.join(names)}")
    return names[value]


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
