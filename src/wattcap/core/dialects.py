"""Charger behaviour families ("dialects"): where real chargers disagree about what a composite is.

The specifications leave room (see ``shared/research/ocpp-smart-charging.md`` A1–A26); chargers fill it
differently. wattcap never hard-codes one reading: each station names the family it belongs to and the engine
follows that family's answer to every open question. Adding a vendor family is one :class:`Dialect` value in
:data:`DIALECTS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from wattcap.core.holdings_policy import TxDefaultShadowing
from wattcap.core.model import OcppVersion


class NoLimitReport(StrEnum):
    """What the charger reports for an instant that no profile limits."""

    DEFAULT_LIMIT = "default_limit"  # its configured local limit (EVerest, OCTT TC_K_39)
    MINUS_ONE = "minus_one"  # -1, "undefined" (MicroOcpp)


class StationAggregation(StrEnum):
    """How the station-wide composite (evse / connector 0) is formed (A13)."""

    SUM_EVSES = "sum_evses"  # Σ EVSE composites (default limit for unlimited EVSEs), then station caps
    STATION_CAPS_ONLY = "station_caps_only"  # only the station-wide max profile


class TxMasking(StrEnum):
    """Where a TxProfile hides the TxDefaultProfile (A3)."""

    PER_PERIOD = "per_period"  # only where the TxProfile has a period; TxDefault shows through its gaps
    WHOLE_TRANSACTION = "whole_transaction"  # for as long as any TxProfile of the transaction is installed


class NeighbourMerge(StrEnum):
    """When two consecutive composite periods are reported as one."""

    LIMIT_AND_PHASES = "limit_and_phases"
    LIMIT_PHASES_AND_STACK_LEVEL = "limit_phases_and_stack_level"
    NEVER = "never"


class UnitChoice(StrEnum):
    """The unit of a composite when the request names none."""

    FIRST_SUPPORTED = "first_supported"  # the first configured rate unit (EVerest)
    FIRST_PROFILE = "first_profile"  # the unit of the first installed profile (MicroOcpp)


@dataclass(frozen=True, slots=True)
class Dialect:
    """One family's answers. Every field is a documented behaviour, not a tuning knob."""

    name: str
    description: str
    no_limit: NoLimitReport = NoLimitReport.DEFAULT_LIMIT
    station_aggregation: StationAggregation = StationAggregation.SUM_EVSES
    # TxDefault / TxProfile count in GetCompositeSchedule even without a transaction (K08.FR.06).
    simulates_transaction: bool = True
    # Converts A <-> W with nominal voltage x numberPhases; False keeps A and W limits apart.
    converts_units: bool = True
    tx_masking: TxMasking = TxMasking.PER_PERIOD
    neighbour_merge: NeighbourMerge = NeighbourMerge.LIMIT_AND_PHASES
    # minChargingRate raises the reported limit (it is informative only in the spec, A19).
    min_charging_rate_is_floor: bool = False
    # Limits are computed in IEEE float32 (reported values like 8.695652).
    float32_limits: bool = False
    # A missing numberPhases on an AC EVSE is taken as this many phases before combining (K01.FR.49).
    conform_missing_phases_ac: int | None = None
    # The composite period reports the stack level of the profile that sets it.
    reports_stack_level: bool = False
    # Which station-wide TxDefaults an EVSE's own TxDefault hides on that EVSE (R16-06, A4).
    tx_default_shadowing: TxDefaultShadowing = TxDefaultShadowing.NONE
    # A TxProfile without transactionId applies to the EVSE's transaction (1.6); False: it is ignored (K01.FR.03).
    tx_profile_without_transaction_id_applies: bool = True
    unit_when_unspecified: UnitChoice = UnitChoice.FIRST_SUPPORTED
    # Version-specific differences of the same family, applied by :meth:`for_version`.
    per_version: Mapping[OcppVersion, Mapping[str, Any]] = field(default_factory=dict, compare=False)

    def for_version(self, version: OcppVersion) -> Dialect:
        overrides = self.per_version.get(version)
        return replace(self, **overrides) if overrides else self


EVEREST = Dialect(
    name="everest",
    description="EVerest libocpp (OCA-certified): default limit in gaps, station composite = sum of EVSEs "
    "capped by the station max, A<->W conversion in float32, TxDefault shows through TxProfile gaps.",
    float32_limits=True,
    reports_stack_level=True,
    per_version=MappingProxyType(
        {
            # 1.6: a connector-0 TxDefault is copied into each connector, where one of the same level replaces it.
            OcppVersion.V16: {
                "neighbour_merge": NeighbourMerge.LIMIT_PHASES_AND_STACK_LEVEL,
                "tx_default_shadowing": TxDefaultShadowing.SAME_STACK_LEVEL,
            },
            OcppVersion.V201: {"conform_missing_phases_ac": 3, "tx_profile_without_transaction_id_applies": False},
            OcppVersion.V21: {"conform_missing_phases_ac": 3, "tx_profile_without_transaction_id_applies": False},
        }
    ),
)

MICROOCPP = Dialect(
    name="microocpp",
    description="MicroOcpp firmware library: -1 where nothing limits, station composite = station max only, "
    "TxDefault only while a transaction runs, no A<->W conversion, equal neighbours never merged, "
    "minChargingRate used as a floor.",
    no_limit=NoLimitReport.MINUS_ONE,
    station_aggregation=StationAggregation.STATION_CAPS_ONLY,
    simulates_transaction=False,
    converts_units=False,
    neighbour_merge=NeighbourMerge.NEVER,
    min_charging_rate_is_floor=True,
    tx_default_shadowing=TxDefaultShadowing.WHOLE_PURPOSE,
    unit_when_unspecified=UnitChoice.FIRST_PROFILE,
)

DIALECTS: Mapping[str, Dialect] = MappingProxyType({d.name: d for d in (EVEREST, MICROOCPP)})
DEFAULT_DIALECT = EVEREST


def get_dialect(name: str) -> Dialect:
    """The dialect called ``name``; raises KeyError naming the known ones."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise KeyError(f"unknown dialect {name!r}; known: {', '.join(sorted(DIALECTS))}") from None
