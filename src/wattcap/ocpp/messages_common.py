"""What the 1.6 and 2.0.1 message adapters share: timestamps, units, sampled values, Decimal clean-up, and the
messages both versions word alike (Heartbeat, SecurityEventNotification).

The adapters are pure: they take the wire payload of one message (camelCase JSON, already schema-checked by
the ``ocpp`` package) and return :class:`Converted` — the version-neutral events plus warnings about what
the station got wrong but wattcap could still read. The shell logs the warnings; nothing here raises on a
payload that passed the schema, because nothing a charger sends may crash the server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from wattcap.core.events import (
    HeartbeatReceived,
    Measurand,
    MeterSample,
    MeterValuesReceived,
    SecurityEventNotified,
    StationEvent,
)
from wattcap.core.model import ChargingProfile, ChargingSchedule, OcppVersion
from wattcap.core.timeutil import TimestampError, has_zone, parse_timestamp
from wattcap.ocpp.profile_json import ProfileFormatError, profile_from_json

#: One message's wire payload: camelCase JSON as the station sent it.
Payload = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Converted:
    """The events one message stands for, in order, and what was odd about it."""

    events: tuple[StationEvent, ...] = ()
    warnings: tuple[str, ...] = ()


class Notes:
    """Collects warnings while an adapter reads one message."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> None:
        self.items.append(text)

    def result(self, *events: StationEvent) -> Converted:
        return Converted(tuple(events), tuple(self.items))


def read_time(value: Any, field: str, fallback: datetime, notes: Notes) -> datetime:
    """An inbound OCPP timestamp as aware UTC.

    The package checks no ``date-time`` format, so anything may arrive here: a time without a zone is read
    as UTC (common in charger firmware) and noted; text that is no time at all is replaced by ``fallback``
    (the receive time) and noted, rather than failing the message.
    """
    if value is None:
        return fallback
    try:
        parsed = parse_timestamp(value)
    except TimestampError:
        notes.add(f"{field}: {value!r} is not a date-time; used the receive time")
        return fallback
    if not has_zone(value):
        notes.add(f"{field}: {value!r} has no time zone; read as UTC")
    return parsed


# unit as sent -> (SI unit, power of ten to apply)
_UNIT_SCALE: Mapping[str, tuple[str, int]] = {
    "kW": ("W", 3),
    "kWh": ("Wh", 3),
    "kvar": ("var", 3),
    "kvarh": ("varh", 3),
    "kVA": ("VA", 3),
    "kVAh": ("VAh", 3),
    "Celcius": ("Celsius", 0),  # the 1.6 schema's spelling
}


def default_unit(measurand: str) -> str | None:
    """The unit a sample without one is in.

    The specs say "Wh" for every measurand, which is only right for energy; chargers that omit the unit of
    a current or a power mean the measurand's natural unit, so that is what wattcap assumes.
    """
    if measurand.startswith("Energy.Reactive"):
        return "varh"
    if measurand.startswith("Energy.Apparent"):
        return "VAh"
    if measurand.startswith("Energy"):
        return "Wh"
    if measurand.startswith("Power.Reactive"):
        return "var"
    if measurand == "Power.Factor":
        return None
    if measurand.startswith("Power"):
        return "W"
    if measurand.startswith("Current"):
        return "A"
    if measurand == "Voltage":
        return "V"
    if measurand == "SoC":
        return "Percent"
    if measurand == "Frequency":
        return "Hertz"
    return None


def _measurand(name: str) -> Measurand | str:
    try:
        return Measurand(name)
    except ValueError:
        return name


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


#: Reads the unit of one sampled value the way its version writes it: (unit as sent, power of ten), or None
#: to skip a value that is no number (after noting why). ``(raw sampled value, its path, notes)``.
UnitReader = Callable[[Mapping[str, Any], str, Notes], tuple[str | None, int] | None]


def sampled_values(
    meter_values: Any, now: datetime, notes: Notes, field: str, unit_of: UnitReader
) -> list[MeterSample]:
    """The samples of a ``meterValue`` list, normalised to SI, in order; unreadable values noted and skipped.

    Both versions nest ``sampledValue`` lists with ``value``, ``measurand``, ``phase`` and ``context`` in
    ``meterValue`` entries with a timestamp; they differ only in how a value states its unit, which is
    ``unit_of``'s job.
    """
    samples: list[MeterSample] = []
    for i, meter_value in enumerate(meter_values or []):
        where = f"{field}[{i}]"
        at = read_time(meter_value.get("timestamp"), f"{where}.timestamp", now, notes)
        for j, raw in enumerate(meter_value.get("sampledValue") or []):
            path = f"{where}.sampledValue[{j}]"
            unit = unit_of(raw, path, notes)
            if unit is not None:
                item = _sample(raw, *unit, at, path, notes)
                if item is not None:
                    samples.append(item)
    return samples


def _sample(
    raw: Mapping[str, Any], unit: str | None, multiplier: int, at: datetime, path: str, notes: Notes
) -> MeterSample | None:
    """One sampled value normalised to SI (kW → W, kWh → Wh, 10^multiplier applied), or None if unreadable.

    Scaling is done in decimal so that "12.345" kWh becomes exactly 12345.0 Wh.
    """
    name = raw.get("measurand") or Measurand.ENERGY_ACTIVE_IMPORT_REGISTER.value
    raw_value = raw.get("value")
    number = _decimal(raw_value)
    if number is None:
        notes.add(f"{path}: value {raw_value!r} of {name} is not a number; sample skipped")
        return None
    unit = unit or default_unit(name) or ""
    si_unit, power = _UNIT_SCALE.get(unit, (unit, 0))
    value = float(number.scaleb(power + multiplier))
    return MeterSample(at, _measurand(name), value, si_unit, raw.get("phase"), raw.get("context"))


def meter_values_message(
    station_id: str, payload: Payload, now: datetime, unit_of: UnitReader, evse_id: int, transaction_id: str | None
) -> Converted:
    """A MeterValues message: one event, at the time of its first sample (the receive time if it has none)."""
    notes = Notes()
    samples = sampled_values(payload.get("meterValue"), now, notes, "meterValue", unit_of)
    at = samples[0].timestamp if samples else now
    return notes.result(MeterValuesReceived(station_id, at, evse_id, transaction_id, tuple(samples)))


def heartbeat(station_id: str, now: datetime) -> Converted:
    return Converted((HeartbeatReceived(station_id, now),))


def security_event(station_id: str, payload: Payload, now: datetime) -> Converted:
    """SecurityEventNotification, alike in 2.0.1 and the 1.6 Security Whitepaper extension."""
    notes = Notes()
    event = SecurityEventNotified(
        station_id,
        read_time(payload.get("timestamp"), "timestamp", now, notes),
        kind=payload["type"],
        tech_info=payload.get("techInfo"),
    )
    return notes.result(event)


def energy_register_wh(samples: Iterable[MeterSample], context: str) -> float | None:
    """The total Energy.Active.Import.Register reading taken in ``context`` (Transaction.Begin/End), if any."""
    for item in samples:
        if (
            item.measurand == Measurand.ENERGY_ACTIVE_IMPORT_REGISTER
            and item.context == context
            and item.phase is None
            and item.unit == "Wh"
        ):
            return item.value
    return None


def schedules_from_json(items: Iterable[Any], version: OcppVersion, field: str, notes: Notes) -> tuple:
    """ChargingSchedule objects (2.0.1 ``ChargingScheduleType``) read with the profile codec.

    :mod:`wattcap.ocpp.profile_json` reads schedules only inside a profile, so each schedule is wrapped in a
    neutral carrier profile and taken back out; that keeps one reader for schedules everywhere.
    """
    out: list[ChargingSchedule] = []
    for i, item in enumerate(items):
        carrier = {
            "id": 0,
            "stackLevel": 0,
            "chargingProfilePurpose": "ChargingStationExternalConstraints",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [item],
        }
        try:
            out.extend(profile_from_json(carrier, version).schedules)
        except ProfileFormatError as exc:
            notes.add(f"{field}[{i}]: unreadable schedule ({exc}); skipped")
    return tuple(out)


def profiles_from_json(items: Iterable[Any], version: OcppVersion, field: str, notes: Notes) -> tuple:
    out: list[ChargingProfile] = []
    for i, item in enumerate(items):
        try:
            out.append(profile_from_json(item, version))
        except ProfileFormatError as exc:
            notes.add(f"{field}[{i}]: unreadable charging profile ({exc}); skipped")
    return tuple(out)


def without_decimals(value: Any) -> Any:
    """``value`` with every :class:`~decimal.Decimal` replaced by a float, recursively (dicts, lists, dataclasses).

    The ``ocpp`` package re-parses 1.6 SetChargingProfile / RemoteStartTransaction requests and
    GetCompositeSchedule results with ``parse_float=Decimal``; a Decimal that travels on into another
    message makes plain ``json.dumps`` raise TypeError. Everything crossing the boundary goes through here.
    """
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: without_decimals(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(without_decimals(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: without_decimals(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    return value


def evse_of(payload: Mapping[str, Any], field: str = "evse") -> tuple[int | None, int | None]:
    """(evse id, connector id) of a 2.0.1 ``EVSEType`` field, or (None, None) when absent."""
    evse = payload.get(field)
    if not isinstance(evse, Mapping):
        return None, None
    return evse.get("id"), evse.get("connectorId")
