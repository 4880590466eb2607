"""The version-neutral charging-profile model.

One model serves OCPP 1.6, 2.0.1 and (as far as representable) 2.1. Names follow OCPP 2.0.1, the richest
version wattcap computes with; the OCPP adapters (package ``ocpp``, beside ``core``) translate the 1.6 spellings
(``ChargePointMaxProfile``, ``chargingProfileId``, a single ``chargingSchedule`` object, integer transaction
ids) at the edge, so the core never asks which version it is looking at.

Conventions, held everywhere in the core:

* times are aware UTC :class:`datetime.datetime` values;
* durations and ``startPeriod`` are integer seconds;
* a limit is a ``float`` in the unit named next to it (:class:`ChargingRateUnit`); the wire form (at most one
  fraction digit, no float artefacts) is produced by :func:`wattcap.core.limits.wire_limit`;
* fields wattcap does not interpret (``customData``, ``salesTariff`` …) are kept verbatim in ``extra`` so a
  profile converts to JSON and back without loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class OcppVersion(StrEnum):
    V16 = "1.6"
    V201 = "2.0.1"
    V21 = "2.1"


class ChargingProfilePurpose(StrEnum):
    """What a profile is for. 1.6 ``ChargePointMaxProfile`` is :attr:`CHARGING_STATION_MAX`."""

    CHARGING_STATION_MAX = "ChargingStationMaxProfile"
    TX_DEFAULT = "TxDefaultProfile"
    TX = "TxProfile"
    CHARGING_STATION_EXTERNAL_CONSTRAINTS = "ChargingStationExternalConstraints"
    # OCPP 2.1
    PRIORITY_CHARGING = "PriorityCharging"
    LOCAL_GENERATION = "LocalGeneration"


class ChargingProfileKind(StrEnum):
    ABSOLUTE = "Absolute"
    RECURRING = "Recurring"
    RELATIVE = "Relative"
    DYNAMIC = "Dynamic"  # OCPP 2.1


class RecurrencyKind(StrEnum):
    DAILY = "Daily"
    WEEKLY = "Weekly"


RECURRENCE_PERIOD_S: Mapping[RecurrencyKind, int] = MappingProxyType(
    {RecurrencyKind.DAILY: 86_400, RecurrencyKind.WEEKLY: 604_800}
)


class ChargingRateUnit(StrEnum):
    """``A`` is current per phase; ``W`` is total power over all phases."""

    A = "A"
    W = "W"


class OperationMode(StrEnum):
    """OCPP 2.1 ``OperationModeEnumType``."""

    IDLE = "Idle"
    CHARGING_ONLY = "ChargingOnly"
    CENTRAL_SETPOINT = "CentralSetpoint"
    EXTERNAL_SETPOINT = "ExternalSetpoint"
    EXTERNAL_LIMITS = "ExternalLimits"
    CENTRAL_FREQUENCY = "CentralFrequency"
    LOCAL_FREQUENCY = "LocalFrequency"
    LOCAL_LOAD_BALANCING = "LocalLoadBalancing"


class ChargingLimitSource(StrEnum):
    """Who set a limit: OCPP ``ChargingLimitSourceEnumType`` (2.0.1; an open string of at most 20 in 2.1).

    :attr:`CSO` is the CSMS (the charging station operator): profiles it sets are reported with CSO. External
    constraints keep the source they were reported with (K11.FR.06, TC_K_34), e.g. an energy management
    system (:attr:`EMS`) or the system operator (:attr:`SO`).
    """

    EMS = "EMS"
    OTHER = "Other"
    SO = "SO"
    CSO = "CSO"


@dataclass(frozen=True, slots=True)
class ChargingSchedulePeriod:
    """One step of a schedule: from ``start_period`` seconds after the schedule start until the next one.

    ``limit`` is optional only in OCPP 2.1 (where the operation mode does not need it).
    """

    start_period: int
    limit: float | None = None
    number_phases: int | None = None
    phase_to_use: int | None = None
    # OCPP 2.1
    limit_l2: float | None = None
    limit_l3: float | None = None
    discharge_limit: float | None = None
    discharge_limit_l2: float | None = None
    discharge_limit_l3: float | None = None
    setpoint: float | None = None
    setpoint_l2: float | None = None
    setpoint_l3: float | None = None
    setpoint_reactive: float | None = None
    setpoint_reactive_l2: float | None = None
    setpoint_reactive_l3: float | None = None
    preconditioning_request: bool | None = None
    evse_sleep: bool | None = None
    v2x_baseline: float | None = None
    operation_mode: OperationMode | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class ChargingSchedule:
    """A list of periods with a time base. ``id`` is absent in 1.6 and required in 2.0.1."""

    charging_rate_unit: ChargingRateUnit
    periods: tuple[ChargingSchedulePeriod, ...]
    id: int | None = None
    start_schedule: datetime | None = None
    duration: int | None = None
    min_charging_rate: float | None = None
    # OCPP 2.1
    limit_at_soc: Mapping[str, Any] | None = None
    power_tolerance: float | None = None
    use_local_time: bool | None = None
    randomized_delay: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class ChargingProfile:
    """A charging profile as the station holds it, whichever OCPP version carried it.

    ``transaction_id`` is a string in every version (1.6 integer ids are kept as their decimal text).
    ``schedules`` holds 1 schedule in 1.6 and 1–3 in 2.0.1/2.1 (more than one only with ISO 15118).
    """

    id: int
    stack_level: int
    purpose: ChargingProfilePurpose
    kind: ChargingProfileKind
    schedules: tuple[ChargingSchedule, ...]
    recurrency_kind: RecurrencyKind | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: str | None = None
    # OCPP 2.1
    max_offline_duration: int | None = None
    invalid_after_offline_duration: bool | None = None
    dyn_update_interval: int | None = None
    dyn_update_time: datetime | None = None
    price_schedule_signature: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def schedule(self) -> ChargingSchedule:
        """The schedule that drives the limit: the first one (the others are ISO 15118 alternatives)."""
        return self.schedules[0]


@dataclass(frozen=True, slots=True)
class InstalledProfile:
    """A profile together with where it is installed: ``evse_id`` 0 is the station (1.6 connector 0)."""

    evse_id: int
    profile: ChargingProfile


@dataclass(frozen=True, slots=True)
class Transaction:
    """A transaction on an EVSE. ``start`` None means "running since before any window of interest"."""

    evse_id: int
    transaction_id: str | None = None
    start: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProfileRef:
    """Which installed profile governs a composite period (the attribution shown to users)."""

    profile_id: int
    purpose: ChargingProfilePurpose
    stack_level: int
    evse_id: int


@dataclass(frozen=True, slots=True)
class CompositePeriod:
    """One period of a composite schedule, with the profiles that set its limit.

    ``governed_by`` is empty where no profile limits the EVSE and the station's local (default) limit applies;
    for a station-wide composite that sums EVSEs it names every profile that contributed to the sum.
    """

    start_period: int
    limit: float
    number_phases: int | None = None
    phase_to_use: int | None = None
    stack_level: int | None = None
    governed_by: tuple[ProfileRef, ...] = ()
    # The limit was converted from the other unit (W <-> A), so it depends on voltage and phases (A10).
    transformed: bool = False
    # OCPP 2.1 (carried where the engine computes them)
    limit_l2: float | None = None
    limit_l3: float | None = None
    setpoint: float | None = None
    discharge_limit: float | None = None
    operation_mode: OperationMode | None = None

    @property
    def is_local_limit(self) -> bool:
        return not self.governed_by


@dataclass(frozen=True, slots=True)
class LayerPeriod:
    """A period of one layer (one purpose's stacked result), in that layer's own unit; None = no limit."""

    start_period: int
    limit: float | None
    unit: ChargingRateUnit | None
    number_phases: int | None
    source: ProfileRef | None


@dataclass(frozen=True, slots=True)
class CompositeLayer:
    """The stacked result of one purpose on one EVSE before purposes are combined (for previews and charts)."""

    purpose: ChargingProfilePurpose
    evse_id: int
    periods: tuple[LayerPeriod, ...]


@dataclass(frozen=True, slots=True)
class CompositeSchedule:
    """What a charger should do over a window: OCPP 2.0.1 ``CompositeScheduleType`` plus attribution."""

    evse_id: int
    schedule_start: datetime
    duration: int
    charging_rate_unit: ChargingRateUnit
    periods: tuple[CompositePeriod, ...]
    layers: tuple[CompositeLayer, ...] = ()

    def limit_at(self, offset_s: int) -> CompositePeriod:
        """The period in force ``offset_s`` seconds after ``schedule_start``."""
        current = self.periods[0]
        for period in self.periods:
            if period.start_period > offset_s:
                break
            current = period
        return current
