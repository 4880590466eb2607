"""The thing being validated: a profile, where it goes, what the station holds, and the facts of its OCPP version.

Rules never ask which OCPP version they are looking at. Everything that differs between versions and that a
rule needs (field names for paths and messages, whether replacement by stack level exists, whether the charger
can give a reasonCode) is a :class:`VersionFacts` value, selected once per request.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from wattcap.core.model import (
    ChargingProfile,
    ChargingProfilePurpose,
    ChargingSchedule,
    ChargingSchedulePeriod,
    InstalledProfile,
    OcppVersion,
    Transaction,
)
from wattcap.core.station import StationCapabilities, StationConfig


class RequestContext(StrEnum):
    """Which message carries the profile: the rules for a profile differ by who sends it and why."""

    SET_CHARGING_PROFILE = "SetChargingProfile"
    # The profile inside RemoteStartTransaction (1.6) / RequestStartTransaction (2.0.1, 2.1): a TxProfile for a
    # transaction that does not exist yet.
    REMOTE_START = "RemoteStart"
    # A profile the charger reports (ReportChargingProfiles, or an external limit it holds as a
    # ChargingStationExternalConstraints profile): checked for sanity, never "sent" by wattcap.
    CHARGER_REPORTED = "ChargerReported"


@dataclass(frozen=True, slots=True)
class VersionFacts:
    """What one OCPP version calls things, and the few behaviours in which versions differ."""

    version: OcppVersion
    evse_field: str  # the request field naming the target: connectorId / evseId
    evse_noun: str
    profile_id_field: str
    schedule_is_list: bool
    purpose_names: Mapping[ChargingProfilePurpose, str]
    has_status_info: bool  # 1.6 answers a bare status; 2.x adds statusInfo.reasonCode
    replaces_by_stack_level: bool  # 1.6: same (stackLevel, purpose) on a connector replaces (R16-05)

    def purpose(self, purpose: ChargingProfilePurpose) -> str:
        return self.purpose_names.get(purpose, purpose.value)

    def schedule(self, index: int, field: str | None = None) -> str:
        base = f"chargingSchedule[{index}]" if self.schedule_is_list else "chargingSchedule"
        return f"{base}.{field}" if field else base

    def period(self, schedule: int, period: int, field: str | None = None) -> str:
        base = f"{self.schedule(schedule)}.chargingSchedulePeriod[{period}]"
        return f"{base}.{field}" if field else base


_V2_COMMON = {
    "evse_field": "evseId",
    "evse_noun": "EVSE",
    "profile_id_field": "id",
    "schedule_is_list": True,
    "purpose_names": MappingProxyType({}),
    "has_status_info": True,
    "replaces_by_stack_level": False,
}

VERSION_FACTS: Mapping[OcppVersion, VersionFacts] = MappingProxyType(
    {
        OcppVersion.V16: VersionFacts(
            version=OcppVersion.V16,
            evse_field="connectorId",
            evse_noun="connector",
            profile_id_field="chargingProfileId",
            schedule_is_list=False,
            purpose_names=MappingProxyType({ChargingProfilePurpose.CHARGING_STATION_MAX: "ChargePointMaxProfile"}),
            has_status_info=False,
            replaces_by_stack_level=True,
        ),
        OcppVersion.V201: VersionFacts(version=OcppVersion.V201, **_V2_COMMON),
        OcppVersion.V21: VersionFacts(version=OcppVersion.V21, **_V2_COMMON),
    }
)


def json_path(parts: Iterable[str | int]) -> str:
    """``["chargingSchedule", 0, "limit"]`` -> ``chargingSchedule[0].limit`` (the path style of findings)."""
    out = ""
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


@dataclass(frozen=True, slots=True)
class ProfileRequest:
    """A profile on its way to (or reported by) one EVSE of one station, with everything the rules consult.

    ``evse_id`` is the request's evseId / connectorId (0 = the station). ``installed`` is what the station
    holds before this request; ``transactions`` are the transactions running now. ``now`` is only needed by
    the rules that compare with the current time; they stay silent without it.
    """

    profile: ChargingProfile
    facts: VersionFacts
    evse_id: int
    station: StationConfig
    installed: tuple[InstalledProfile, ...] = ()
    transactions: tuple[Transaction, ...] = ()
    context: RequestContext = RequestContext.SET_CHARGING_PROFILE
    now: datetime | None = None
    iso15118: bool = False

    @property
    def caps(self) -> StationCapabilities:
        return self.station.capabilities

    @property
    def purpose_name(self) -> str:
        return self.facts.purpose(self.profile.purpose)

    @property
    def others(self) -> tuple[InstalledProfile, ...]:
        """Installed profiles with a different id: the ones this profile does not simply replace."""
        return tuple(held for held in self.installed if held.profile.id != self.profile.id)

    def transactions_on(self, evse_id: int) -> tuple[Transaction, ...]:
        """Transactions on ``evse_id``; for 0 (the station) every transaction, since a station profile covers all."""
        return tuple(t for t in self.transactions if evse_id == 0 or t.evse_id == evse_id)

    def schedules(self) -> Iterator[tuple[int, ChargingSchedule]]:
        return enumerate(self.profile.schedules)

    def periods(self) -> Iterator[tuple[int, int, ChargingSchedulePeriod]]:
        for i, schedule in enumerate(self.profile.schedules):
            for j, period in enumerate(schedule.periods):
                yield i, j, period
