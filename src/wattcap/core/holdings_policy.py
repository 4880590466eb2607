"""How each OCPP version installs, replaces, applies and forgets charging profiles, stated as data.

:class:`~wattcap.core.holdings.ChargerHoldings` follows one :class:`InstallPolicy`, chosen once per station
from its OCPP version (and, for a simulated charger, its vendor personality). The holdings code never asks which
version it is looking at: every difference between 1.6 and 2.0.1/2.1 is a field here.

The rules (``shared/research/ocpp-smart-charging.md``):

* 1.6 (R16-05, §1.3): the same chargingProfileId, *or* the same (stackLevel, purpose), replaces. Whether that
  pair is unique per connector or per charge point is ambiguity A1; per connector is what EVerest and MicroOcpp
  do and what A1 recommends, the literal "in a Charge Point" is :attr:`StackLevelScope.PER_CHARGE_POINT`.
* 2.0.1/2.1 (A2, K01.FR.05): only the same id replaces, and never an existing ExternalConstraints profile
  when the CSMS is the one installing (the validator rejects such a request; the holdings refuse it too).
* A connector-specific TxDefaultProfile overrides the connector-0 one for that connector only (R16-06); how far
  that override reaches is ambiguity A4 (:class:`TxDefaultShadowing`).
* A TxProfile ceases to be valid when its transaction ends (1.6 §7.10, K01 "duration of the transaction");
  1.6 only says it SHOULD be deleted (A12), so keeping it is a policy option.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from wattcap.core.model import ChargingLimitSource as ChargingLimitSource  # re-exported: defined in the model
from wattcap.core.model import ChargingProfile, ChargingProfilePurpose, OcppVersion


class StackLevelScope(StrEnum):
    """Where a (stackLevel, purpose) pair must be unique, i.e. which existing profile a new one replaces (A1)."""

    PER_CONNECTOR = "per_connector"  # EVerest, MicroOcpp, CitrineOS; A1 recommendation
    PER_CHARGE_POINT = "per_charge_point"  # literal S16 §3.13.2 "in a Charge Point"


class TxDefaultShadowing(StrEnum):
    """Which station-wide (evse 0) TxDefaultProfiles an EVSE-specific TxDefaultProfile hides on its EVSE (A4)."""

    # 2.0.1 (K01.FR.14/15): both apply and compete by stack level; an equal stack level is refused at install.
    NONE = "none"
    # 1.6 as EVerest implements R16-06: the EVSE-specific profile replaces the station-wide one of its level.
    SAME_STACK_LEVEL = "same_stack_level"
    # MicroOcpp: any EVSE-specific TxDefaultProfile hides every station-wide one.
    WHOLE_PURPOSE = "whole_purpose"


def hidden_by_evse_tx_default(
    station_profile: ChargingProfile, evse_levels: frozenset[int], shadowing: TxDefaultShadowing
) -> bool:
    """Whether an EVSE's own TxDefaultProfiles (at ``evse_levels``) hide this station-wide profile there (A4).

    One rule for the holdings (what applies where) and the composite engine (what the charger computes). The
    engine refines WHOLE_PURPOSE instant by instant: the EVSE's own TxDefault hides the station-wide ones
    where it has a period.
    """
    if station_profile.purpose is not ChargingProfilePurpose.TX_DEFAULT or not evse_levels:
        return False
    if shadowing is TxDefaultShadowing.WHOLE_PURPOSE:
        return True
    return shadowing is TxDefaultShadowing.SAME_STACK_LEVEL and station_profile.stack_level in evse_levels


@dataclass(frozen=True, slots=True)
class InstallPolicy:
    """One station's answers to "which profile replaces which, applies where, and lives how long".

    ``version`` is also the wire version used when the holdings are persisted or reported. A vendor personality
    is a variant made with :func:`dataclasses.replace`, e.g. ``replace(V16_POLICY, deletes_ended_tx_profiles=False)``.
    """

    name: str
    version: OcppVersion
    # None: only the same id replaces (2.0.1 K01.FR.05). Otherwise the same (stackLevel, purpose) within this
    # scope replaces too (1.6 R16-05).
    stack_level_scope: StackLevelScope | None
    tx_default_shadowing: TxDefaultShadowing
    # False models a 1.6 station that keeps a finished transaction's TxProfiles (only a SHOULD, A12).
    deletes_ended_tx_profiles: bool = True
    # Purposes the CSMS can neither replace (K01.FR.05) nor clear (K10.FR.06).
    csms_protected_purposes: frozenset[ChargingProfilePurpose] = frozenset()


_EXTERNAL = frozenset({ChargingProfilePurpose.CHARGING_STATION_EXTERNAL_CONSTRAINTS})

V16_POLICY = InstallPolicy(
    name="ocpp1.6",
    version=OcppVersion.V16,
    stack_level_scope=StackLevelScope.PER_CONNECTOR,
    tx_default_shadowing=TxDefaultShadowing.SAME_STACK_LEVEL,
)
V201_POLICY = InstallPolicy(
    name="ocpp2.0.1",
    version=OcppVersion.V201,
    stack_level_scope=None,
    tx_default_shadowing=TxDefaultShadowing.NONE,
    csms_protected_purposes=_EXTERNAL,
)
V21_POLICY = InstallPolicy(
    name="ocpp2.1",
    version=OcppVersion.V21,
    stack_level_scope=None,
    tx_default_shadowing=TxDefaultShadowing.NONE,
    csms_protected_purposes=_EXTERNAL,
)

INSTALL_POLICIES: Mapping[OcppVersion, InstallPolicy] = MappingProxyType(
    {p.version: p for p in (V16_POLICY, V201_POLICY, V21_POLICY)}
)


def install_policy(version: OcppVersion | str) -> InstallPolicy:
    """The specification's policy for ``version``."""
    return INSTALL_POLICIES[OcppVersion(version)]
