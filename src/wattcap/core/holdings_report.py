"""GetChargingProfiles / ReportChargingProfiles (2.0.1 K09, 2.1): which held profiles a request reports, and how.

Filters (K09.FR.03): the given criteria, purpose, stackLevel, chargingProfileId[] and chargingLimitSource[],
match as a logical AND. The CSMS is meant to send either ids or the other fields; when it sends both, the ids
are one more filter (the schema: "If omitted, the Charging Station SHALL not filter on chargingProfileId").
``evseId`` 0 reports only the station's own profiles, > 0 the profiles installed on that EVSE, omitted all of
them (K09.FR.04/05/06); nothing matching answers ``NoProfiles``.

A ReportChargingProfilesRequest carries one evseId and one chargingLimitSource, so the matches are grouped per
(evse, source); a group larger than the message limit is split, and every message but the last says
``tbc: true``. Profiles go lowest stackLevel first (the 2.1 schema asks for it; 2.0.1 does not mind).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from wattcap.core.holdings import ChargerHoldings, HeldProfile
from wattcap.core.holdings_policy import ChargingLimitSource
from wattcap.core.holdings_wire import join, optional_int, optional_purpose, read_object
from wattcap.core.model import ChargingProfilePurpose, OcppVersion
from wattcap.ocpp.profile_json import ProfileFormatError, profile_to_json

# Versions that have the message, and the chargingLimitSource values each accepts (None: any string, 2.1).
_SOURCES: dict[OcppVersion, frozenset[str] | None] = {
    OcppVersion.V201: frozenset(s.value for s in ChargingLimitSource),
    OcppVersion.V21: None,
}


class GetChargingProfilesStatus(StrEnum):
    ACCEPTED = "Accepted"
    NO_PROFILES = "NoProfiles"


@dataclass(frozen=True, slots=True)
class GetChargingProfilesRequest:
    """A GetChargingProfiles request in model terms; None means "field not given"."""

    request_id: int
    evse_id: int | None = None
    purpose: ChargingProfilePurpose | None = None
    stack_level: int | None = None
    profile_ids: tuple[int, ...] | None = None
    sources: tuple[str, ...] | None = None

    def matches(self, entry: HeldProfile) -> bool:
        profile = entry.profile
        return (
            (self.evse_id is None or entry.evse_id == self.evse_id)
            and (self.purpose is None or profile.purpose == self.purpose)
            and (self.stack_level is None or profile.stack_level == self.stack_level)
            and (self.profile_ids is None or profile.id in self.profile_ids)
            and (self.sources is None or entry.source in self.sources)
        )


@dataclass(frozen=True, slots=True)
class ProfileReport:
    """The profiles of one (evse, source) pair, as one or more ReportChargingProfilesRequests carry them."""

    evse_id: int
    source: str
    entries: tuple[HeldProfile, ...]


class ReportResult(NamedTuple):
    status: GetChargingProfilesStatus
    reports: tuple[ProfileReport, ...]


def get_charging_profiles(holdings: ChargerHoldings, request: GetChargingProfilesRequest) -> ReportResult:
    """The response status and the matching profiles grouped per (evse, source), in (evse, source) order."""
    groups: dict[tuple[int, str], list[HeldProfile]] = {}
    for entry in holdings:
        if request.matches(entry):
            groups.setdefault((entry.evse_id, str(entry.source)), []).append(entry)
    reports = tuple(
        ProfileReport(evse_id, source, tuple(sorted(found, key=lambda e: (e.profile.stack_level, e.profile.id))))
        for (evse_id, source), found in sorted(groups.items())
    )
    status = GetChargingProfilesStatus.ACCEPTED if reports else GetChargingProfilesStatus.NO_PROFILES
    return ReportResult(status, reports)


def report_payloads(
    request_id: int,
    reports: tuple[ProfileReport, ...],
    version: OcppVersion | str,
    max_profiles_per_message: int,
) -> list[dict[str, Any]]:
    """The ReportChargingProfilesRequest payloads for ``reports``, at most ``max_profiles_per_message`` each."""
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


def _optional_list(data, key: str, path: str, read_item) -> tuple | None:
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
