"""ClearChargingProfile, GetChargingProfiles and ReportChargingProfiles payloads to and from the core's terms.

The matching is version-neutral and lives in the core (:mod:`wattcap.core.holdings_clear`,
:mod:`wattcap.core.holdings_report`); this adapter only reads the small request objects into
:class:`~wattcap.core.holdings_clear.ClearChargingProfileRequest` /
:class:`~wattcap.core.holdings_report.GetChargingProfilesRequest` and writes the ReportChargingProfilesRequest
messages.

Strict about shape, as :mod:`wattcap.ocpp.profile_json` is: a wrong type or a purpose the version does not
have raises :class:`~wattcap.ocpp.profile_json.ProfileFormatError` with the JSON path, so the adapter can answer
with a CALLERROR instead of clearing or reporting the wrong profiles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from wattcap.core.holdings_clear import ClearChargingProfileRequest
from wattcap.core.holdings_report import GetChargingProfilesRequest, ProfileReport
from wattcap.core.model import ChargingLimitSource, OcppVersion
from wattcap.core.model import ChargingProfilePurpose as P
from wattcap.ocpp.profile_json import ProfileFormatError, profile_to_json

_T = TypeVar("_T")

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

# Versions that have GetChargingProfiles/ReportChargingProfiles, and the chargingLimitSource values each accepts
# (None: any string, 2.1).
_SOURCES: dict[OcppVersion, frozenset[str] | None] = {
    OcppVersion.V201: frozenset(s.value for s in ChargingLimitSource),
    OcppVersion.V21: None,
}


# ---------------------------------------------------------------------------------------------------------
# small readers


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


def wire_purpose(purpose: P, version: OcppVersion) -> str:
    """The name ``version`` gives ``purpose`` (1.6: ChargePointMaxProfile); ValueError if it has none."""
    name = next((wire for wire, model in PURPOSE_NAMES[version].items() if model is purpose), None)
    if name is None:
        raise ValueError(f"OCPP {version} has no purpose {purpose.value}")
    return name


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# ---------------------------------------------------------------------------------------------------------
# ClearChargingProfile (1.6 R16-11, 2.0.1/2.1 K10)


@dataclass(frozen=True, slots=True)
class _ClearShape:
    """Where a version's ClearChargingProfile request keeps its fields."""

    id_key: str
    criteria_key: str | None  # None: the criteria are top-level fields
    evse_key: str


_V2_SHAPE = _ClearShape(id_key="chargingProfileId", criteria_key="chargingProfileCriteria", evse_key="evseId")
_SHAPES = {
    OcppVersion.V16: _ClearShape(id_key="id", criteria_key=None, evse_key="connectorId"),
    OcppVersion.V201: _V2_SHAPE,
    OcppVersion.V21: _V2_SHAPE,
}


def clear_request_from_json(data: Any, version: OcppVersion | str) -> ClearChargingProfileRequest:
    """Read a ClearChargingProfile request payload of ``version`` (raises ProfileFormatError with the path)."""
    version = OcppVersion(version)
    shape = _SHAPES[version]
    body = read_object(data, "")
    criteria, path = body, ""
    if shape.criteria_key is not None:
        path = shape.criteria_key
        raw = body.get(shape.criteria_key)
        criteria = {} if raw is None else read_object(raw, path)
    return ClearChargingProfileRequest(
        profile_id=optional_int(body, shape.id_key, ""),
        evse_id=optional_int(criteria, shape.evse_key, path),
        purpose=optional_purpose(criteria, "chargingProfilePurpose", path, version),
        stack_level=optional_int(criteria, "stackLevel", path),
    )


def clear_request_to_json(request: ClearChargingProfileRequest, version: OcppVersion | str) -> dict[str, Any]:
    """The ClearChargingProfile payload of ``version`` for ``request`` (the inverse of the reader above).

    An id is sent alone: the other fields would be ignored anyway (E16 3.26, K10.FR.03), 2.0.1 wants either the id
    or the criteria (K10.FR.02, A25), and OCTT TC_067_CSMS / TC_K_05_CSMS expect exactly that.
    """
    version = OcppVersion(version)
    shape = _SHAPES[version]
    if request.profile_id is not None:
        return {shape.id_key: request.profile_id}
    criteria: dict[str, Any] = {}
    if request.evse_id is not None:
        criteria[shape.evse_key] = request.evse_id
    if request.purpose is not None:
        criteria["chargingProfilePurpose"] = wire_purpose(request.purpose, version)
    if request.stack_level is not None:
        criteria["stackLevel"] = request.stack_level
    if shape.criteria_key is None or not criteria:
        return criteria
    return {shape.criteria_key: criteria}


# ---------------------------------------------------------------------------------------------------------
# GetChargingProfiles / ReportChargingProfiles (2.0.1 K09, 2.1)


def report_payloads(
    request_id: int,
    reports: tuple[ProfileReport, ...],
    version: OcppVersion | str,
    max_profiles_per_message: int,
) -> list[dict[str, Any]]:
    """The ReportChargingProfilesRequest payloads for ``reports``, at most ``max_profiles_per_message`` each.

    A group larger than the message limit is split, and every message but the last says ``tbc: true``.
    """
    version = OcppVersion(version)
    if version not in _SOURCES:
        raise ValueError(f"OCPP {version} has no ReportChargingProfiles")
    if max_profiles_per_message < 1:
        raise ValueError("a ReportChargingProfilesRequest carries at least one profile")
    payloads: list[dict[str, Any]] = []
    for report in reports:
        for start in range(0, len(report.entries), max_profiles_per_message):
            chunk = report.entries[start : start + max_profiles_per_message]
            payloads.append(
                {
                    "requestId": request_id,
                    "chargingLimitSource": str(report.source),
                    "evseId": report.evse_id,
                    "chargingProfile": [profile_to_json(e.profile, version) for e in chunk],
                    "tbc": True,
                }
            )
    if payloads:
        payloads[-1]["tbc"] = False
    return payloads


def get_request_from_json(data: Any, version: OcppVersion | str) -> GetChargingProfilesRequest:
    """Read a GetChargingProfilesRequest payload of ``version`` (raises ProfileFormatError with the path)."""
    version = OcppVersion(version)
    if version not in _SOURCES:
        raise ValueError(f"OCPP {version} has no GetChargingProfiles")
    body = read_object(data, "")
    request_id = optional_int(body, "requestId", "")
    if request_id is None:
        raise ProfileFormatError("requestId", "required field is missing")
    if "chargingProfile" not in body:
        raise ProfileFormatError("chargingProfile", "required field is missing")
    path = "chargingProfile"
    criterion = read_object(body["chargingProfile"], path)
    ids = _optional_list(criterion, "chargingProfileId", path, _int_item)
    allowed = _SOURCES[version]
    sources = _optional_list(criterion, "chargingLimitSource", path, lambda v, p: _source_item(v, p, allowed))
    return GetChargingProfilesRequest(
        request_id=request_id,
        evse_id=optional_int(body, "evseId", ""),
        purpose=optional_purpose(criterion, "chargingProfilePurpose", path, version),
        stack_level=optional_int(criterion, "stackLevel", path),
        profile_ids=ids,
        sources=sources,
    )


def get_request_to_json(request: GetChargingProfilesRequest, version: OcppVersion | str) -> dict[str, Any]:
    """The GetChargingProfilesRequest payload of ``version`` for ``request`` (the inverse of the reader above).

    K09.FR.03: the CSMS names ids or at least one criterion; a request without either asks for nothing, so it is
    refused here rather than sent.
    """
    version = OcppVersion(version)
    if version not in _SOURCES:
        raise ValueError(f"OCPP {version} has no GetChargingProfiles")
    criterion: dict[str, Any] = {}
    if request.purpose is not None:
        criterion["chargingProfilePurpose"] = wire_purpose(request.purpose, version)
    if request.stack_level is not None:
        criterion["stackLevel"] = request.stack_level
    if request.profile_ids is not None:
        criterion["chargingProfileId"] = list(request.profile_ids)
    if request.sources is not None:
        criterion["chargingLimitSource"] = [str(s) for s in request.sources]
    if not criterion and request.evse_id is None:
        raise ValueError("K09.FR.03: name profile ids or one of evseId, purpose, stackLevel, chargingLimitSource")
    body: dict[str, Any] = {"requestId": request.request_id, "chargingProfile": criterion}
    if request.evse_id is not None:
        body["evseId"] = request.evse_id
    return body


def _optional_list(
    data: Mapping[str, Any], key: str, path: str, read_item: Callable[[Any, str], _T]
) -> tuple[_T, ...] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ProfileFormatError(join(path, key), f"expected a non-empty list, got {value!r}")
    return tuple(read_item(item, f"{join(path, key)}[{i}]") for i, item in enumerate(value))


def _int_item(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProfileFormatError(path, f"expected an integer, got {value!r}")
    return value


def _source_item(value: Any, path: str, allowed: frozenset[str] | None) -> str:
    if not isinstance(value, str) or (allowed is not None and value not in allowed):
        raise ProfileFormatError(path, f"{value!r} is not a chargingLimitSource")
    return value
