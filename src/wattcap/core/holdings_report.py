"""GetChargingProfiles / ReportChargingProfiles (2.0.1 K09, 2.1): which held profiles a request reports, and how.

Filters (K09.FR.03): the given criteria, purpose, stackLevel, chargingProfileId[] and chargingLimitSource[],
match as a logical AND. The CSMS is meant to send either ids or the other fields; when it sends both, the ids
are one more filter (the schema: "If omitted, the Charging Station SHALL not filter on chargingProfileId").
``evseId`` 0 reports only the station's own profiles, > 0 the profiles installed on that EVSE, omitted all of
them (K09.FR.04/05/06); nothing matching answers ``NoProfiles``.

A ReportChargingProfilesRequest carries one evseId and one chargingLimitSource, so the matches are grouped per
(evse, source); a group larger than the message limit is split, and every message but the last says
``tbc: true`` (the OCPP adapter's ``report_payloads`` in ``ocpp/profile_requests.py`` writes the messages).
Profiles go lowest stackLevel first (the 2.1 schema asks for it; 2.0.1 does not mind).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from wattcap.core.holdings import ChargerHoldings, HeldProfile
from wattcap.core.model import ChargingProfilePurpose


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
