"""What a station says about its smart charging, from 1.6 configuration keys or the 2.0.1 device model.

Validation needs the station's limits before anything is sent (§6 note 2): the highest stack level (inclusive,
A5), the rate units, periods per schedule, how many profiles fit (A12), phase switching, whether smart charging
exists at all (K01.FR.29), and which EVSEs there are (A26: ids from the device model, not a count).

* 1.6: GetConfiguration of the smart-charging keys (§1.9); ``NumberOfConnectors`` gives the connectors and
  ``SupportedFeatureProfiles`` whether ``SmartCharging`` is there.
* 2.0.1: GetVariables of ``SmartChargingCtrlr`` (§2.9; "ChargingProfileMaxStackLevel" in requirement texts is
  ``ProfileStackLevel``, ``Entries[ChargingProfiles].maxLimit`` is the capacity) and GetBaseReport for the EVSE
  device model (``EVSE`` components with their ids and ``SupplyPhases``, 0 meaning DC).

The raw answers are kept as one document (:func:`document_v16` / :func:`document_v201`), which the store keeps;
:func:`station_facts` reads that document, so what was stored is always what validation uses. Values a station
got wrong are skipped with a note, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from wattcap.core.model import ChargingRateUnit, OcppVersion
from wattcap.core.station import CurrentType, StationCapabilities, StationConfig

# 1.6 (§1.9): key -> StationCapabilities field. ConnectorSwitch3to1PhaseSupported is optional.
_KEYS_16: Mapping[str, str] = {
    "ChargeProfileMaxStackLevel": "max_stack_level",
    "ChargingScheduleAllowedChargingRateUnit": "rate_units",
    "ChargingScheduleMaxPeriods": "max_periods_per_schedule",
    "MaxChargingProfilesInstalled": "max_installed_profiles",
    "ConnectorSwitch3to1PhaseSupported": "phase_switching_3to1",
}
REQUIRED_KEYS_16 = (
    "ChargeProfileMaxStackLevel",
    "ChargingScheduleAllowedChargingRateUnit",
    "ChargingScheduleMaxPeriods",
    "MaxChargingProfilesInstalled",
)
CONFIGURATION_KEYS_16 = (*_KEYS_16, "NumberOfConnectors", "SupportedFeatureProfiles")

_SMART = "SmartChargingCtrlr"
# 2.0.1 (§2.9): (variable, variable instance, attribute type) of SmartChargingCtrlr -> field.
_VARIABLES_201: Mapping[tuple[str, str | None, str], str] = {
    ("ProfileStackLevel", None, "Actual"): "max_stack_level",
    ("RateUnit", None, "Actual"): "rate_units",
    ("PeriodsPerSchedule", None, "Actual"): "max_periods_per_schedule",
    ("Entries", "ChargingProfiles", "MaxLimit"): "max_installed_profiles",
    ("Phases3to1", None, "Actual"): "phase_switching_3to1",
    ("ACPhaseSwitchingSupported", None, "Actual"): "ac_phase_switching",
    ("Available", None, "Actual"): "available",
    ("Enabled", None, "Actual"): "enabled",
}
REQUIRED_VARIABLES_201 = ("ProfileStackLevel", "RateUnit", "PeriodsPerSchedule")

_UNITS_16 = {"Current": ChargingRateUnit.A, "Power": ChargingRateUnit.W}
_UNITS_201 = {"A": ChargingRateUnit.A, "W": ChargingRateUnit.W}


@dataclass(frozen=True, slots=True)
class StationFacts:
    """What a capability document says. None: not reported (the station default stays)."""

    capabilities: StationCapabilities
    evse_ids: tuple[int, ...] | None = None
    supply_phases: int | None = None
    current_type: CurrentType | None = None
    missing: tuple[str, ...] = ()  # required keys/variables the station did not report
    notes: tuple[str, ...] = field(default=(), compare=False)  # values that could not be read

    def apply(self, config: StationConfig) -> StationConfig:
        """``config`` with everything these facts know."""
        changes: dict[str, Any] = {"capabilities": self.capabilities}
        if self.evse_ids:
            changes["evse_ids"] = self.evse_ids
        if self.supply_phases:
            changes["supply_phases"] = self.supply_phases
        if self.current_type is not None:
            changes["current_type"] = self.current_type
        return replace(config, **changes)

    def summary(self) -> dict[str, Any]:
        """A readable JSON summary (stored beside the raw answers; never read back)."""
        caps = self.capabilities
        return {
            "maxStackLevel": caps.max_stack_level,
            "rateUnits": [u.value for u in caps.rate_units],
            "maxPeriodsPerSchedule": caps.max_periods_per_schedule,
            "maxInstalledProfiles": caps.max_installed_profiles,
            "phaseSwitching3to1": caps.phase_switching_3to1,
            "acPhaseSwitching": caps.ac_phase_switching,
            "smartChargingSupported": caps.smart_charging_supported,
            "evseIds": None if self.evse_ids is None else list(self.evse_ids),
            "supplyPhases": self.supply_phases,
            "currentType": None if self.current_type is None else self.current_type.value,
            "missing": list(self.missing),
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------------------------------------
# requests


def configuration_request() -> dict[str, Any]:
    """GetConfiguration payload (1.6)."""
    return {"key": list(CONFIGURATION_KEYS_16)}


def variables_request() -> dict[str, Any]:
    """GetVariables payload (2.0.1): every SmartChargingCtrlr value wattcap reads.

    ``Entries[ChargingProfiles].maxLimit`` is a variable characteristic, which GetVariables cannot ask for
    (its attributeType is Actual/Target/MinSet/MaxSet): it comes with the device report.
    """
    data = []
    for variable, instance, attribute in _VARIABLES_201:
        if attribute == "Actual":
            item: dict[str, Any] = {"component": {"name": _SMART}, "variable": {"name": variable}}
            if instance is not None:
                item["variable"]["instance"] = instance
            data.append(item)
    return {"getVariableData": data}


def base_report_request(request_id: int) -> dict[str, Any]:
    """GetBaseReport payload (2.0.1): the full inventory, which lists every EVSE component."""
    return {"requestId": request_id, "reportBase": "FullInventory"}


# ---------------------------------------------------------------------------------------------------------
# documents


def document_v16(answer: Mapping[str, Any] | None) -> dict[str, Any]:
    """The stored document of a 1.6 GetConfiguration.conf (wire JSON; None if there was none)."""
    answer = answer or {}
    document = {
        "ocppVersion": OcppVersion.V16.value,
        "configurationKey": list(answer.get("configurationKey") or []),
        "unknownKey": list(answer.get("unknownKey") or []),
    }
    document["summary"] = station_facts(document).summary()
    return document


def document_v201(variables: Sequence[Mapping[str, Any]], report: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The stored document of 2.0.1 ``getVariableResult`` items and NotifyReport ``reportData`` items."""
    document = {
        "ocppVersion": OcppVersion.V201.value,
        "getVariableResult": [dict(v) for v in variables],
        "reportData": [dict(r) for r in report],
    }
    document["summary"] = station_facts(document).summary()
    return document


def station_facts(document: Mapping[str, Any]) -> StationFacts:
    """What a stored capability document says (an empty or unreadable one says nothing)."""
    version = document.get("ocppVersion")
    if version == OcppVersion.V16.value:
        return _facts_v16(document)
    if version in (OcppVersion.V201.value, OcppVersion.V21.value):
        return _facts_v201(document)
    return StationFacts(StationCapabilities())


# ---------------------------------------------------------------------------------------------------------
# reading values


class _Reader:
    """Reads raw string values into capability fields, noting what it cannot read."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def integer(self, name: str, raw: Any) -> int | None:
        try:
            value = int(str(raw).strip())
        except ValueError:
            self.notes.append(f"{name}: {raw!r} is not an integer; ignored")
            return None
        if value < 0:
            self.notes.append(f"{name}: {value} is negative; ignored")
            return None
        return value

    def boolean(self, name: str, raw: Any) -> bool | None:
        text = str(raw).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        self.notes.append(f"{name}: {raw!r} is not a boolean; ignored")
        return None

    def units(self, name: str, raw: Any, names: Mapping[str, ChargingRateUnit]) -> tuple[ChargingRateUnit, ...] | None:
        parts = [p.strip() for p in str(raw).split(",") if p.strip()]
        units = tuple(dict.fromkeys(names[p] for p in parts if p in names))
        unknown = [p for p in parts if p not in names]
        if unknown:
            self.notes.append(f"{name}: {', '.join(unknown)} not a rate unit; ignored")
        return units or None


def _capabilities(values: Mapping[str, Any], reader: _Reader, unit_names: Mapping[str, ChargingRateUnit]) -> dict:
    """StationCapabilities keyword arguments from raw values keyed by field name."""
    readers: dict[str, Callable[[str, Any], Any]] = {
        "max_stack_level": reader.integer,
        "max_periods_per_schedule": reader.integer,
        "max_installed_profiles": reader.integer,
        "rate_units": lambda n, r: reader.units(n, r, unit_names),
        "phase_switching_3to1": reader.boolean,
        "ac_phase_switching": reader.boolean,
    }
    out: dict[str, Any] = {}
    for name, read in readers.items():
        if name in values:
            value = read(name, values[name])
            if value is not None:
                out[name] = value
    return out


def _facts_v16(document: Mapping[str, Any]) -> StationFacts:
    raw = {
        str(item.get("key")): item.get("value")
        for item in document.get("configurationKey") or []
        if isinstance(item, Mapping) and item.get("value") is not None
    }
    reader = _Reader()
    values = {field_name: raw[key] for key, field_name in _KEYS_16.items() if key in raw}
    caps = _capabilities(values, reader, _UNITS_16)
    if "SupportedFeatureProfiles" in raw:
        profiles = {p.strip() for p in str(raw["SupportedFeatureProfiles"]).split(",")}
        caps["smart_charging_supported"] = "SmartCharging" in profiles
    evse_ids = None
    if "NumberOfConnectors" in raw:
        count = reader.integer("NumberOfConnectors", raw["NumberOfConnectors"])
        evse_ids = tuple(range(1, count + 1)) if count else None
    missing = tuple(k for k in REQUIRED_KEYS_16 if k not in raw)
    return StationFacts(StationCapabilities(**caps), evse_ids, missing=missing, notes=tuple(reader.notes))


@dataclass(frozen=True, slots=True)
class _DeviceValue:
    component: str
    evse_id: int | None
    variable: str
    instance: str | None
    attribute: str
    value: Any


def _device_values(document: Mapping[str, Any]) -> list[_DeviceValue]:
    """GetVariables results and report data as one list of (component, variable, attribute) values."""
    out: list[_DeviceValue] = []
    for item in document.get("getVariableResult") or []:
        if item.get("attributeStatus") != "Accepted" or item.get("attributeValue") is None:
            continue
        component, variable = item.get("component") or {}, item.get("variable") or {}
        out.append(_DeviceValue(
            component.get("name", ""), (component.get("evse") or {}).get("id"), variable.get("name", ""),
            variable.get("instance"), item.get("attributeType", "Actual"), item["attributeValue"],
        ))
    for item in document.get("reportData") or []:
        component, variable = item.get("component") or {}, item.get("variable") or {}
        evse_id = (component.get("evse") or {}).get("id")
        base = (component.get("name", ""), evse_id, variable.get("name", ""), variable.get("instance"))
        for attribute in item.get("variableAttribute") or []:
            if attribute.get("value") is not None:
                out.append(_DeviceValue(*base, attribute.get("type", "Actual"), attribute["value"]))
        limit = (item.get("variableCharacteristics") or {}).get("maxLimit")
        if limit is not None:
            out.append(_DeviceValue(*base, "MaxLimit", limit))
    return out


def _facts_v201(document: Mapping[str, Any]) -> StationFacts:
    reader = _Reader()
    device = _device_values(document)
    values: dict[str, Any] = {}
    for v in device:
        name = _VARIABLES_201.get((v.variable, v.instance, v.attribute)) if v.component == _SMART else None
        if name is not None:
            values.setdefault(name, v.value)
    caps = _capabilities(values, reader, _UNITS_201)
    flags = [reader.boolean(n, values[n]) for n in ("available", "enabled") if n in values]
    if flags:
        caps["smart_charging_supported"] = all(f is not False for f in flags)
    evses = _evse_ids(device)
    phases = _supply_phases(device, reader)
    current = None if phases is None else (CurrentType.DC if phases == 0 else CurrentType.AC)
    found = {(v.variable, v.instance) for v in device if v.component == _SMART}
    missing = tuple(n for n in REQUIRED_VARIABLES_201 if (n, None) not in found)
    return StationFacts(StationCapabilities(**caps), evses, phases or None, current, missing, tuple(reader.notes))


def _evse_ids(device: Iterable[_DeviceValue]) -> tuple[int, ...] | None:
    ids = sorted({v.evse_id for v in device if v.component in ("EVSE", "Connector") and v.evse_id})
    return tuple(ids) or None


def _supply_phases(device: Iterable[_DeviceValue], reader: _Reader) -> int | None:
    """The EVSEs' SupplyPhases (the smallest, if they differ: the conservative one); 0 means DC."""
    found = [
        reader.integer("SupplyPhases", v.value)
        for v in device
        if v.component == "EVSE" and v.variable == "SupplyPhases" and v.attribute == "Actual"
    ]
    known = [p for p in found if p is not None]
    return min(known) if known else None
