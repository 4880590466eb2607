"""ClearChargingProfile: which held profiles a request removes, in both versions.

The two versions agree on the matching (their differences are the wire shape, read by the OCPP adapter's
``clear_request_from_json`` in ``ocpp/profile_requests.py``, and which purposes the CSMS may not touch, a field
of the install policy):

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
from typing import NamedTuple

from wattcap.core.holdings import ChargerHoldings, HeldProfile
from wattcap.core.model import ChargingProfilePurpose


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
    # Criteria naming a protected purpose select only protected profiles, so they end as Unknown (K10.FR.06).
    cleared = tuple(e for e in holdings if request.matches(e) and e.profile.purpose not in protected)
    status = ClearChargingProfileStatus.ACCEPTED if cleared else ClearChargingProfileStatus.UNKNOWN
    return ClearResult(holdings.without(cleared), cleared, status)
