"""The 2.0.1 device model of a simulated station: one table behind GetVariables, SetVariables and GetBaseReport.

A control plane learns about a 2.0.1 station in two ways: GetVariables (the ``SmartChargingCtrlr`` values) and
the NotifyReport messages that follow a GetBaseReport (the ``EVSE`` and ``Connector`` components with their ids,
``SupplyPhases`` with 0 meaning DC, and ``Entries[ChargingProfiles].maxLimit``, a variable characteristic that
GetVariables cannot ask for). Both answers are read from the one table :func:`device_model` builds, so a station
cannot report one thing through GetVariables and another in its base report.

Pure: the table is built from the station and its settings at the moment of the request. The adapter
(:mod:`wattcap.sim.protocol_v201`) sends it; :mod:`wattcap.ocpp.capabilities` is the control plane's reader of
the same names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wattcap.core.station import CurrentType
from wattcap.core.timeutil import format_timestamp
from wattcap.sim.protocol import StationSettings
from wattcap.sim.station import ConnectorStatus, SimStation

#: (component name, EVSE id, connector id, variable name, variable instance): how OCPP 2.0.1 addresses a variable.
VariableKey = tuple[str, int | None, int | None, str, str | None]

FULL_INVENTORY = "FullInventory"
CONFIGURATION_INVENTORY = "ConfigurationInventory"
SUMMARY_INVENTORY = "SummaryInventory"
# SummaryInventory: what relates to the station's current charging availability (and to problem conditions,
# of which a simulated station has none): the availability of the station, its EVSEs and their connectors.
_SUMMARY_COMPONENTS = frozenset({"ChargingStation", "EVSE", "Connector"})
_SUMMARY_VARIABLES = frozenset({"AvailabilityState", "Available"})
_CONNECTOR_TYPES = {CurrentType.AC: "cType2", CurrentType.DC: "cCCS2"}
_SMART = "SmartChargingCtrlr"


@dataclass(frozen=True, slots=True)
class DeviceVariable:
    """One variable of one component, with the characteristics a report carries (``data_type``: DataEnumType)."""

    component: str
    variable: str
    value: str
    data_type: str = "string"
    evse_id: int | None = None
    connector_id: int | None = None
    instance: str | None = None
    writable: bool = False
    unit: str | None = None
    max_limit: float | None = None
    values_list: str | None = None

    @property
    def key(self) -> VariableKey:
        return (self.component, self.evse_id, self.connector_id, self.variable, self.instance)

    def component_json(self) -> dict[str, Any]:
        component: dict[str, Any] = {"name": self.component}
        if self.evse_id is not None:
            component["evse"] = {"id": self.evse_id}
            if self.connector_id is not None:
                component["evse"]["connectorId"] = self.connector_id
        return component

    def variable_json(self) -> dict[str, Any]:
        variable: dict[str, Any] = {"name": self.variable}
        if self.instance is not None:
            variable["instance"] = self.instance
        return variable

    def report_data(self) -> dict[str, Any]:
        """This variable as a NotifyReport ``ReportDataType`` (camelCase wire JSON)."""
        attribute = {"type": "Actual", "value": self.value, "mutability": "ReadWrite" if self.writable else "ReadOnly"}
        characteristics: dict[str, Any] = {"dataType": self.data_type, "supportsMonitoring": False}
        if self.unit is not None:
            characteristics["unit"] = self.unit
        if self.max_limit is not None:
            characteristics["maxLimit"] = self.max_limit
        if self.values_list is not None:
            characteristics["valuesList"] = self.values_list
        return {
            "component": self.component_json(),
            "variable": self.variable_json(),
            "variableAttribute": [attribute],
            "variableCharacteristics": characteristics,
        }


def key_of(component: Mapping[str, Any], variable: Mapping[str, Any]) -> VariableKey:
    """The key of a request's camelCase ``component`` and ``variable`` objects."""
    evse = component.get("evse") or {}
    return (component["name"], evse.get("id"), evse.get("connectorId"), variable["name"], variable.get("instance"))


def _boolean(value: bool) -> str:
    return "true" if value else "false"


def _number(value: float) -> str:
    """A decimal as the device model writes it: no exponent, no float noise, no trailing ``.0``."""
    return f"{round(float(value), 1):.1f}".removesuffix(".0")


def device_model(station: SimStation, settings: StationSettings) -> tuple[DeviceVariable, ...]:
    """Every variable the station reports, in report order: controllers, the station, then each EVSE and its
    connector. Capabilities are the ones it *reports* (its personality may misreport them)."""
    return (*_controllers(station, settings), *_charging_station(station), *_evses(station))


def _controllers(station: SimStation, settings: StationSettings) -> list[DeviceVariable]:
    caps = station.config.capabilities
    units = ",".join(u.value for u in caps.rate_units)
    variables = [
        DeviceVariable(_SMART, "Available", "true", "boolean"),
        DeviceVariable(_SMART, "Enabled", "true", "boolean"),
    ]
    # Limits a personality may leave unreported are absent from the model, as on a charger that lacks them.
    if caps.max_stack_level is not None:
        variables.append(DeviceVariable(_SMART, "ProfileStackLevel", str(caps.max_stack_level), "integer"))
    if caps.max_periods_per_schedule is not None:
        variables.append(DeviceVariable(_SMART, "PeriodsPerSchedule", str(caps.max_periods_per_schedule), "integer"))
    return [
        *variables,
        DeviceVariable(_SMART, "RateUnit", units, "MemberList", values_list=units),
        DeviceVariable(_SMART, "ACPhaseSwitchingSupported", _boolean(caps.ac_phase_switching), "boolean"),
        DeviceVariable(_SMART, "Phases3to1", _boolean(caps.phase_switching_3to1), "boolean"),
        # Actual: how many it holds now; maxLimit: how many fit (what validation counts against, A12).
        DeviceVariable(_SMART, "Entries", str(len(station.holdings)), "integer", instance="ChargingProfiles",
                       max_limit=caps.max_installed_profiles),
        DeviceVariable("SampledDataCtrlr", "TxUpdatedInterval", str(int(settings.meter_interval_s)), "integer",
                       writable=True, unit="s"),
        DeviceVariable("OCPPCommCtrlr", "HeartbeatInterval", str(int(settings.heartbeat_interval_s)), "integer",
                       writable=True, unit="s"),
    ]


def _charging_station(station: SimStation) -> list[DeviceVariable]:
    spec = station.spec
    return [
        DeviceVariable("ChargingStation", "AvailabilityState", "Available", "OptionList"),
        DeviceVariable("ChargingStation", "Available", "true", "boolean"),
        DeviceVariable("ChargingStation", "Model", spec.model),
        DeviceVariable("ChargingStation", "VendorName", spec.vendor),
    ]


def _evses(station: SimStation) -> list[DeviceVariable]:
    spec = station.spec
    phases = str(spec.phases if spec.current_type is CurrentType.AC else 0)  # SupplyPhases 0: DC
    out: list[DeviceVariable] = []
    for evse in spec.evses:
        view = station.evse(evse.evse_id)
        state = "Available" if view.status is ConnectorStatus.AVAILABLE else "Occupied"
        e, c = evse.evse_id, 1  # one connector per EVSE
        out += [
            DeviceVariable("EVSE", "AvailabilityState", state, "OptionList", evse_id=e),
            DeviceVariable("EVSE", "Available", "true", "boolean", evse_id=e),
            DeviceVariable("EVSE", "Power", _number(view.power_w), "decimal", evse_id=e, unit="W",
                           max_limit=spec.hardware_power_w(evse)),
            DeviceVariable("EVSE", "SupplyPhases", phases, "integer", evse_id=e),
            DeviceVariable("Connector", "AvailabilityState", state, "OptionList", evse_id=e, connector_id=c),
            DeviceVariable("Connector", "Available", "true", "boolean", evse_id=e, connector_id=c),
            DeviceVariable("Connector", "ConnectorType", _CONNECTOR_TYPES[spec.current_type], evse_id=e,
                           connector_id=c),
            DeviceVariable("Connector", "SupplyPhases", phases, "integer", evse_id=e, connector_id=c),
        ]
    return out


def base_report(model: Iterable[DeviceVariable], report_base: str) -> tuple[DeviceVariable, ...]:
    """The variables a GetBaseReport of ``report_base`` lists: everything (FullInventory; monitoring settings
    would be left out, the simulator has none), what the operator can set (ConfigurationInventory), or what
    says whether the station and its EVSEs can charge now (SummaryInventory)."""
    if report_base == FULL_INVENTORY:
        return tuple(model)
    if report_base == CONFIGURATION_INVENTORY:
        return tuple(v for v in model if v.writable)
    if report_base == SUMMARY_INVENTORY:
        return tuple(v for v in model if v.component in _SUMMARY_COMPONENTS and v.variable in _SUMMARY_VARIABLES)
    raise ValueError(f"unknown reportBase {report_base!r}")


def notify_report_payloads(
    request_id: int, generated_at: datetime, variables: Sequence[DeviceVariable], per_message: int
) -> list[dict[str, Any]]:
    """The NotifyReport payloads carrying ``variables``: ``per_message`` at most in each, ``seqNo`` from 0, and
    ``tbc`` true on every message but the last (B07)."""
    if per_message < 1:
        raise ValueError("per_message must be at least 1")
    chunks = [variables[i : i + per_message] for i in range(0, len(variables), per_message)]
    return [
        {
            "requestId": request_id,
            "generatedAt": format_timestamp(generated_at),
            "seqNo": seq,
            "tbc": seq + 1 < len(chunks),
            "reportData": [v.report_data() for v in chunk],
        }
        for seq, chunk in enumerate(chunks)
    ]
