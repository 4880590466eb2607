"""What a station tells the control plane, in version-neutral terms.

The OCPP adapters turn 1.6 and 2.0.1 messages into these events; the shell persists them and the core reacts
to them. Nothing here knows which OCPP version carried the event. Units are SI (W, A, Wh, V), times aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from wattcap.core.model import ChargingLimitSource, ChargingProfile, ChargingSchedule


class Measurand(StrEnum):
    """The measurands wattcap uses (OCPP names)."""

    POWER_ACTIVE_IMPORT = "Power.Active.Import"
    CURRENT_IMPORT = "Current.Import"
    ENERGY_ACTIVE_IMPORT_REGISTER = "Energy.Active.Import.Register"
    CURRENT_OFFERED = "Current.Offered"
    POWER_OFFERED = "Power.Offered"
    VOLTAGE = "Voltage"
    SOC = "SoC"


@dataclass(frozen=True, slots=True)
class MeterSample:
    """One sampled value, normalised to SI units (kW → W, kWh → Wh). ``phase`` like ``L1`` or None (total)."""

    timestamp: datetime
    measurand: Measurand | str
    value: float
    unit: str
    phase: str | None = None
    context: str | None = None  # Sample.Periodic, Transaction.Begin, …


@dataclass(frozen=True, slots=True)
class StationEvent:
    station_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class StationBooted(StationEvent):
    vendor: str
    model: str
    serial_number: str | None = None
    firmware_version: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class HeartbeatReceived(StationEvent):
    pass


@dataclass(frozen=True, slots=True)
class ConnectorStatusChanged(StationEvent):
    evse_id: int  # 0 = the station itself
    connector_id: int
    status: str  # Available, Occupied / Charging, Faulted … as the station said it
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class TransactionStarted(StationEvent):
    evse_id: int
    transaction_id: str
    id_token: str | None = None
    meter_start_wh: float | None = None
    remote_start_id: int | None = None
    sequence: int | None = None  # 2.0.1 seqNo, for ordering and de-duplication of queued messages


@dataclass(frozen=True, slots=True)
class TransactionEnded(StationEvent):
    evse_id: int
    transaction_id: str
    meter_stop_wh: float | None = None
    reason: str | None = None
    sequence: int | None = None


@dataclass(frozen=True, slots=True)
class MeterValuesReceived(StationEvent):
    evse_id: int
    transaction_id: str | None
    samples: tuple[MeterSample, ...]
    sequence: int | None = None


@dataclass(frozen=True, slots=True)
class ChargingLimitNotified(StationEvent):
    """An external system limits the station (2.0.1 NotifyChargingLimit)."""

    source: ChargingLimitSource | str
    evse_id: int | None = None
    is_grid_critical: bool | None = None
    schedules: tuple[ChargingSchedule, ...] = ()


@dataclass(frozen=True, slots=True)
class ChargingLimitCleared(StationEvent):
    source: ChargingLimitSource | str
    evse_id: int | None = None


@dataclass(frozen=True, slots=True)
class ChargingProfilesReported(StationEvent):
    """A ReportChargingProfiles message; ``more_to_come`` is its ``tbc``."""

    request_id: int
    source: ChargingLimitSource | str
    evse_id: int
    profiles: tuple[ChargingProfile, ...]
    more_to_come: bool = False


@dataclass(frozen=True, slots=True)
class EVChargingNeedsNotified(StationEvent):
    evse_id: int
    requested_energy_transfer: str
    departure_time: datetime | None = None
    energy_amount_wh: float | None = None
    ev_max_current_a: float | None = None
    ev_max_power_w: float | None = None
    max_schedule_tuples: int | None = None


@dataclass(frozen=True, slots=True)
class SecurityEventNotified(StationEvent):
    kind: str
    tech_info: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeviceReportReceived(StationEvent):
    """One part (``seq_no``) of a device-model report the CSMS asked for with ``request_id`` (2.0.1 NotifyReport).

    ``report_data`` stays the wire JSON (``ReportDataType`` objects): the device model is vendor-shaped and
    is kept verbatim rather than squeezed into a model wattcap does not need yet.
    """

    request_id: int
    seq_no: int
    generated_at: datetime
    more_to_come: bool = False
    report_data: tuple[Mapping[str, Any], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class EVChargingScheduleNotified(StationEvent):
    """The schedule an ISO 15118 EV plans to follow (2.0.1 NotifyEVChargingSchedule), relative to ``time_base``."""

    evse_id: int
    time_base: datetime
    schedule: ChargingSchedule | None
