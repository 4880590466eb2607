"""ClearChargingProfile: which held profiles a request removes, in both versions.

The two versions agree on the matching (their differences are the wire shape, handled by
:func:`clear_request_from_json`, and which purposes the CSMS may not touch, a field of the install policy):

* an id, when given, selects that profile and every other field is ignored (1.6 E16 3.26; 2.0.1 K10.FR.03 vs
  K10.FR.04 "NOT K10.FR.03");
* otherwise the given fields match as a logical AND (R16-11, K10.FR.04); a request without fields clears all
  (E16 3.25, E20 3.179);
* evse/connector 0 means the profiles installed for the whole station, not those that apply to every EVSE
  (E16 "the charging profile for the overall Charge Point"; A25);
* nothing cleared answers ``Unknown`` (R16-11, K10.FR.01);
* 2.0.1/2.1: ExternalConstraints profiles are never cleared by the CSMS; criteria naming that purpose answer
  ``Unknown`` (K10.FR.06, as EVerest does), and clear-all or other criteria skip them (A25).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from wattcap.core.holdings import ChargerHoldings, HeldProfile
from wattcap.core.holdings_wire import optional_int, optional_purpose, read_object
from wattcap.core.model import ChargingProfilePurpose, OcppVersion


class ClearChargingProfileStatus(StrEnum):
    ACCEPTED = "Accepted"
    UNKNOWN = "Unknown"


@dataclass(frozen=True, slots=True)
class ClearChargingProfileRequest:
    """A ClearChargingProfile request in version-neutral terms; None means "field not given"."""

    profile_id: int | None = None
    evse_id: int | None = None
    purpose: ChargingProfilePurpose | None = None
    stack_level: int | None = None

    def matches(self, entry: HeldProfile) -> bool:
        """Whether ``entry`` is selected (before the CSMS-protection rule): id alone, else the AND of the rest."""
        if self.profile_id is not None:
            return entry.profile.id == self.profile_id
        return (
            (self.evse_id is None or entry.evse_id == self.evse_id)
            and (self.purpose is None or entry.profile.purpose == self.purpose)
            and (self.stack_level is None or entry.profile.stack_level == self.stack_level)
        )


class ClearResult(NamedTuple):
    holdings: ChargerHoldings
    cleared: tuple[HeldProfile, ...]
    status: ClearChargingProfileStatus


def clear_charging_profiles(holdings: ChargerHoldings, request: ClearChargingProfileRequest) -> ClearResult:
    """Apply ``request`` to ``holdings``: the new holdings, the profiles removed, and the response status."""
    protected = holdings.policy.csms_protected_purposes
    if request.profile_id is None and request.purpose in protected:
        return ClearResult(holdings, (), ClearChargingProfileStatus.UNKNOWN)
    cleared = tuple(e for e in holdings if request.matches(e) and e.profile.purpose not in protected)
    status = ClearChargingProfileStatus.ACCEPTED if cleared else ClearChargingProfileStatus.UNKNOWN
    return ClearResult(holdings.without(cleared), cleared, status)


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

