"""What is fixed about a simulated station: its EVSEs, its electrics, what it reports, its personality.

A :class:`StationSpec` is a value (a fleet builds thousands from a seed); :meth:`StationSpec.engine_config`
states it the way the composite engine and the validator read a station, with the personality's dialect and
reported capabilities applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from wattcap.core.model import ChargingProfilePurpose, ChargingRateUnit, OcppVersion
from wattcap.core.station import DEFAULT_LIMIT_A, DEFAULT_LIMIT_W, CurrentType, StationCapabilities, StationConfig
from wattcap.sim.personalities import DEFAULT_PERSONALITY, Personality

A, W = ChargingRateUnit.A, ChargingRateUnit.W

# Who names a transaction: the station (2.0.1 transactionId) or the control plane (1.6 StartTransaction.conf).
STATION_ASSIGNS_TRANSACTION_IDS: Mapping[OcppVersion, bool] = MappingProxyType(
    {OcppVersion.V16: False, OcppVersion.V201: True, OcppVersion.V21: True}
)


@dataclass(frozen=True, slots=True)
class EvseSpec:
    """One EVSE's hardware: the most it can deliver (per phase on AC, total on DC)."""

    evse_id: int
    max_current_a: float = 32.0
    max_power_w: float = 50_000.0


DEFAULT_CAPABILITIES = StationCapabilities(
    max_stack_level=8,
    max_periods_per_schedule=24,
    max_installed_profiles=32,
    phase_switching_3to1=True,
)


@dataclass(frozen=True, slots=True)
class StationSpec:
    """Everything fixed about one simulated station."""

    station_id: str
    ocpp_version: OcppVersion = OcppVersion.V201
    evses: tuple[EvseSpec, ...] = (EvseSpec(1),)
    current_type: CurrentType = CurrentType.AC
    phases: int = 3
    voltage_v: float = 230.0  # AC: nominal phase voltage; DC: nominal output voltage
    capabilities: StationCapabilities = DEFAULT_CAPABILITIES
    personality: Personality = DEFAULT_PERSONALITY
    vendor: str = "wattcap"
    firmware: str = "sim-1"

    def __post_init__(self) -> None:
        ids = [e.evse_id for e in self.evses]
        if not ids or len(set(ids)) != len(ids) or min(ids) < 1:
            raise ValueError("a station needs at least one EVSE, with distinct ids >= 1")
        if self.current_type is CurrentType.AC and self.phases not in (1, 3):
            raise ValueError("an AC station has 1 or 3 phases")

    @property
    def model(self) -> str:
        """The model name it boots with: its personality, so a control plane can see what it talks to."""
        return f"sim-{self.personality.name}"

    @property
    def control_unit(self) -> ChargingRateUnit:
        """The unit the station regulates in: current per phase on AC, power on DC."""
        return A if self.current_type is CurrentType.AC else W

    def hardware_limit(self, evse: EvseSpec) -> float:
        """The EVSE's maximum in :attr:`control_unit`."""
        return evse.max_current_a if self.current_type is CurrentType.AC else evse.max_power_w

    def hardware_power_w(self, evse: EvseSpec) -> float:
        if self.current_type is CurrentType.AC:
            return evse.max_current_a * self.voltage_v * self.phases
        return evse.max_power_w

    def reported_capabilities(self) -> StationCapabilities:
        overrides = self.personality.reported_capabilities
        return replace(self.capabilities, **overrides) if overrides else self.capabilities

    def engine_config(self) -> StationConfig:
        """The station as the composite engine and the acceptance rules see it."""
        personality = self.personality
        ac = self.current_type is CurrentType.AC
        return StationConfig(
            ocpp_version=self.ocpp_version,
            dialect=personality.make_dialect(self.ocpp_version),
            evse_ids=tuple(e.evse_id for e in self.evses),
            current_type=self.current_type,
            supply_phases=self.phases if ac else 1,
            supply_voltage_v=self.voltage_v,
            # Where nothing limits, an EVerest-family station reports its configured default (48 A / 33 120 W
            # unless set), not its hardware maximum; the hardware still caps what it draws.
            default_limit_a=personality.reported_default_limit_a or DEFAULT_LIMIT_A,
            default_limit_w=personality.reported_default_limit_w or DEFAULT_LIMIT_W,
            default_number_phases=self.phases if ac else 1,
            capabilities=self.reported_capabilities(),
            ignored_purposes_offline=tuple(ChargingProfilePurpose) if personality.forgets_profiles_offline else (),
        )
