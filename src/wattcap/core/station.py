"""What wattcap knows about a charging station: its EVSEs, its electrical facts and its smart-charging limits.

The composite engine, the validator and the holdings model all read from one :class:`StationConfig`, so a
station's capabilities (read from 1.6 configuration keys or the 2.0.1 device model) are stated once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from wattcap.core.dialects import DEFAULT_DIALECT, Dialect
from wattcap.core.model import ChargingProfilePurpose, ChargingRateUnit, OcppVersion

# What an OCA-certified stack (EVerest) reports where nothing limits, unless configured otherwise.
DEFAULT_LIMIT_A = 48.0
DEFAULT_LIMIT_W = 33_120.0  # 48 A x 230 V x 3 phases


class CurrentType(StrEnum):
    AC = "AC"
    DC = "DC"


@dataclass(frozen=True, slots=True)
class StationCapabilities:
    """Smart-charging limits a station reports (1.6 configuration keys / 2.0.1 SmartChargingCtrlr).

    None means "not reported": the validator then skips the check instead of guessing.
    """

    max_stack_level: int | None = None  # ChargeProfileMaxStackLevel / ProfileStackLevel (inclusive)
    rate_units: tuple[ChargingRateUnit, ...] = (ChargingRateUnit.A, ChargingRateUnit.W)
    max_periods_per_schedule: int | None = None  # ChargingScheduleMaxPeriods / PeriodsPerSchedule
    max_installed_profiles: int | None = None  # MaxChargingProfilesInstalled / Entries[ChargingProfiles].maxLimit
    phase_switching_3to1: bool = False  # ConnectorSwitch3to1PhaseSupported / Phases3to1
    ac_phase_switching: bool = False  # ACPhaseSwitchingSupported (phaseToUse)
    smart_charging_supported: bool = True
    external_constraints_allowed: bool = True
    supported_additional_purposes: tuple[ChargingProfilePurpose, ...] = ()  # 2.1


@dataclass(frozen=True, slots=True)
class StationConfig:
    """A station as wattcap models it.

    ``evse_ids`` are the ids the station actually has (from its device model or connector list): they need not
    be 1..N. ``default_limit_a``/``default_limit_w`` are the local limits the charger reports where no profile
    limits it (EVerest's ``CompositeScheduleDefaultLimitAmps/Watts``).
    """

    ocpp_version: OcppVersion = OcppVersion.V201
    dialect: Dialect = DEFAULT_DIALECT
    evse_ids: tuple[int, ...] = (1,)
    current_type: CurrentType = CurrentType.AC
    supply_phases: int = 3
    supply_voltage_v: float = 230.0
    default_limit_a: float = DEFAULT_LIMIT_A
    default_limit_w: float = DEFAULT_LIMIT_W
    default_number_phases: int = 3
    capabilities: StationCapabilities = field(default_factory=StationCapabilities)
    ignored_purposes_offline: tuple[ChargingProfilePurpose, ...] = ()

    def default_limit(self, unit: ChargingRateUnit) -> float:
        return self.default_limit_a if unit is ChargingRateUnit.A else self.default_limit_w

    def has_evse(self, evse_id: int) -> bool:
        return evse_id == 0 or evse_id in self.evse_ids
