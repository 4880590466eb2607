"""ChargingProfile JSON of OCPP 1.6, 2.0.1 and 2.1 to and from the version-neutral model.

Each version is a declarative table of fields (:class:`_Codec`); one generic reader and writer serve all of
them, so adding a 2.1 field is one table row. Conversion is lossless: fields the model does not interpret are
kept in ``extra`` and written back unchanged; timestamps are normalised to UTC with ``Z``.

Reading is strict about shape (a missing required field or a wrong type raises :class:`ProfileFormatError`
with the JSON path) and lenient about what the validator judges (an unknown enum value is an error here too,
since the model cannot hold it; a timestamp without a zone is read as UTC and flagged by the validator).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from wattcap.core.model import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    OcppVersion,
    OperationMode,
    RecurrencyKind,
)
from wattcap.core.timeutil import TimestampError, format_timestamp, parse_timestamp


class ProfileFormatError(ValueError):
    """JSON that cannot be a charging profile; ``path`` is a JSON path like ``chargingSchedule[0].limit``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


# ---------------------------------------------------------------------------------------------------------
# value kinds: (read, write)


def _read_int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or int(value) != value:
        raise ProfileFormatError(path, f"expected an integer, got {value!r}")
    return int(value)


def _read_number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ProfileFormatError(path, f"expected a number, got {value!r}")
    return float(value)


def _read_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ProfileFormatError(path, f"expected true or false, got {value!r}")
    return value


def _read_str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise ProfileFormatError(path, f"expected a string, got {value!r}")
    return value


def _read_time(value: Any, path: str):
    try:
        return parse_timestamp(value)
    except TimestampError as exc:
        raise ProfileFormatError(path, str(exc)) from None


def _enum(enum_type: type, aliases: Mapping[str, str] | None = None):
    def read(value: Any, path: str):
        text = aliases.get(value, value) if aliases and isinstance(value, str) else value
        try:
            return enum_type(text)
        except ValueError:
            allowed = ", ".join(m.value for m in enum_type)
            raise ProfileFormatError(path, f"{value!r} is not one of {allowed}") from None

    return read


def _number_out(value: float) -> float | int:
    return value


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class _Field:
    key: str  # JSON name
    attr: str  # model attribute
    read: Callable[[Any, str], Any]
    write: Callable[[Any], Any] = _identity
    required: bool = False


def _fields(*rows: tuple) -> tuple[_Field, ...]:
    return tuple(_Field(*row) for row in rows)


_TIME = (_read_time, format_timestamp)

_PERIOD_201 = _fields(
    ("startPeriod", "start_period", _read_int, _identity, True),
    ("limit", "limit", _read_number, _number_out, True),
    ("numberPhases", "number_phases", _read_int),
    ("phaseToUse", "phase_to_use", _read_int),
)
_PERIOD_21 = _fields(
    ("startPeriod", "start_period", _read_int, _identity, True),
    ("limit", "limit", _read_number, _number_out),  # optional in 2.1 when the operationMode needs none
    ("numberPhases", "number_phases", _read_int),
    ("phaseToUse", "phase_to_use", _read_int),
    ("limit_L2", "limit_l2", _read_number),
    ("limit_L3", "limit_l3", _read_number),
    ("dischargeLimit", "discharge_limit", _read_number),
    ("dischargeLimit_L2", "discharge_limit_l2", _read_number),
    ("dischargeLimit_L3", "discharge_limit_l3", _read_number),
    ("setpoint", "setpoint", _read_number),
    ("setpoint_L2", "setpoint_l2", _read_number),
    ("setpoint_L3", "setpoint_l3", _read_number),
    ("setpointReactive", "setpoint_reactive", _read_number),
    ("setpointReactive_L2", "setpoint_reactive_l2", _read_number),
    ("setpointReactive_L3", "setpoint_reactive_l3", _read_number),
    ("preconditioningRequest", "preconditioning_request", _read_bool),
    ("evseSleep", "evse_sleep", _read_bool),
    ("v2xBaseline", "v2x_baseline", _read_number),
    ("operationMode", "operation_mode", _enum(OperationMode), str),
)
_SCHEDULE_COMMON = _fields(
    ("startSchedule", "start_schedule", *_TIME),
    ("duration", "duration", _read_int),
    ("chargingRateUnit", "charging_rate_unit", _enum(ChargingRateUnit), str, True),
    ("minChargingRate", "min_charging_rate", _read_number),
)
_SCHEDULE_21_EXTRA = _fields(
    ("limitAtSoC", "limit_at_soc", lambda v, p: dict(v)),
    ("powerTolerance", "power_tolerance", _read_number),
    ("useLocalTime", "use_local_time", _read_bool),
    ("randomizedDelay", "randomized_delay", _read_int),
)
_PROFILE_COMMON = _fields(
    ("stackLevel", "stack_level", _read_int, _identity, True),
    ("chargingProfileKind", "kind", _enum(ChargingProfileKind), str, True),
    ("recurrencyKind", "recurrency_kind", _enum(RecurrencyKind), str),
    ("validFrom", "valid_from", *_TIME),
    ("validTo", "valid_to", *_TIME),
)
_PROFILE_21_EXTRA = _fields(
    ("maxOfflineDuration", "max_offline_duration", _read_int),
    ("invalidAfterOfflineDuration", "invalid_after_offline_duration", _read_bool),
    ("dynUpdateInterval", "dyn_update_interval", _read_int),
    ("dynUpdateTime", "dyn_update_time", *_TIME),
    ("priceScheduleSignature", "price_schedule_signature", _read_str),
)


_PURPOSES_201 = frozenset(
    {
        ChargingProfilePurpose.CHARGING_STATION_MAX,
        ChargingProfilePurpose.TX_DEFAULT,
        ChargingProfilePurpose.TX,
        ChargingProfilePurpose.CHARGING_STATION_EXTERNAL_CONSTRAINTS,
    }
)
_KINDS_201 = frozenset({ChargingProfileKind.ABSOLUTE, ChargingProfileKind.RECURRING, ChargingProfileKind.RELATIVE})


@dataclass(frozen=True, slots=True)
class _Codec:
    version: OcppVersion
    id_key: str
    purpose_aliases: Mapping[str, str]  # wire -> model
    schedule_is_list: bool
    transaction_id_is_int: bool
    period_fields: tuple[_Field, ...]
    schedule_fields: tuple[_Field, ...]
    profile_fields: tuple[_Field, ...]
    schedule_id: bool
    purposes: frozenset[ChargingProfilePurpose] = frozenset(ChargingProfilePurpose)
    kinds: frozenset[ChargingProfileKind] = frozenset(ChargingProfileKind)

    @property
    def purpose_out(self) -> Mapping[str, str]:
        return {model: wire for wire, model in self.purpose_aliases.items()}


_V16 = _Codec(
    version=OcppVersion.V16,
    id_key="chargingProfileId",
    purpose_aliases={"ChargePointMaxProfile": ChargingProfilePurpose.CHARGING_STATION_MAX.value},
    schedule_is_list=False,
    transaction_id_is_int=True,
    period_fields=_PERIOD_201[:3],
    schedule_fields=_SCHEDULE_COMMON,
    profile_fields=_PROFILE_COMMON,
    schedule_id=False,
    purposes=_PURPOSES_201 - {ChargingProfilePurpose.CHARGING_STATION_EXTERNAL_CONSTRAINTS},
    kinds=_KINDS_201,
)
_V201 = _Codec(
    version=OcppVersion.V201,
    id_key="id",
    purpose_aliases={},
    schedule_is_list=True,
    transaction_id_is_int=False,
    period_fields=_PERIOD_201,
    schedule_fields=_SCHEDULE_COMMON,
    profile_fields=_PROFILE_COMMON,
    schedule_id=True,
    purposes=_PURPOSES_201,
    kinds=_KINDS_201,
)
_V21 = _Codec(
    version=OcppVersion.V21,
    id_key="id",
    purpose_aliases={},
    schedule_is_list=True,
    transaction_id_is_int=False,
    period_fields=_PERIOD_21,
    schedule_fields=_SCHEDULE_COMMON + _SCHEDULE_21_EXTRA,
    profile_fields=_PROFILE_COMMON + _PROFILE_21_EXTRA,
    schedule_id=True,
)
_CODECS = {OcppVersion.V16: _V16, OcppVersion.V201: _V201, OcppVersion.V21: _V21}


def _codec(version: OcppVersion | str) -> _Codec:
    return _CODECS[OcppVersion(version)]


def _read_object(data: Any, fields: tuple[_Field, ...], path: str, skip: tuple[str, ...] = ()):
    if not isinstance(data, Mapping):
        raise ProfileFormatError(path, f"expected an object, got {type(data).__name__}")
    values: dict[str, Any] = {}
    known = {f.key for f in fields} | set(skip)
    for f in fields:
        if f.key in data and data[f.key] is not None:
            values[f.attr] = f.read(data[f.key], _join(path, f.key))
        elif f.required:
            raise ProfileFormatError(_join(path, f.key), "required field is missing")
    extra = {k: v for k, v in data.items() if k not in known}
    return values, extra


def _write_object(obj: Any, fields: tuple[_Field, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        value = getattr(obj, f.attr)
        if value is not None:
            out[f.key] = f.write(value)
    return out


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _read_periods(data: Any, codec: _Codec, path: str) -> tuple[ChargingSchedulePeriod, ...]:
    if not isinstance(data, list) or not data:
        raise ProfileFormatError(path, "expected a non-empty list of periods")
    periods = []
    for i, item in enumerate(data):
        values, extra = _read_object(item, codec.period_fields, _join(path, i))
        periods.append(ChargingSchedulePeriod(**values, extra=extra))
    return tuple(periods)


def _read_schedule(data: Any, codec: _Codec, path: str) -> ChargingSchedule:
    skip = ("chargingSchedulePeriod", "id") if codec.schedule_id else ("chargingSchedulePeriod",)
    values, extra = _read_object(data, codec.schedule_fields, path, skip)
    if codec.schedule_id:
        if "id" not in data:
            raise ProfileFormatError(_join(path, "id"), "required field is missing")
        values["id"] = _read_int(data["id"], _join(path, "id"))
    periods_path = _join(path, "chargingSchedulePeriod")
    if "chargingSchedulePeriod" not in data:
        raise ProfileFormatError(periods_path, "required field is missing")
    periods = _read_periods(data["chargingSchedulePeriod"], codec, periods_path)
    return ChargingSchedule(periods=periods, **values, extra=extra)


def profile_from_json(data: Any, version: OcppVersion | str) -> ChargingProfile:
    """Read a ChargingProfile as sent on the wire for ``version`` (e.g. ``csChargingProfiles`` in 1.6)."""
    codec = _codec(version)
    skip = (codec.id_key, "chargingProfilePurpose", "chargingSchedule", "transactionId")
    values, extra = _read_object(data, codec.profile_fields, "", skip)
    if codec.id_key not in data:
        raise ProfileFormatError(codec.id_key, "required field is missing")
    values["id"] = _read_int(data[codec.id_key], codec.id_key)
    if "chargingProfilePurpose" not in data:
        raise ProfileFormatError("chargingProfilePurpose", "required field is missing")
    purpose_reader = _enum(ChargingProfilePurpose, codec.purpose_aliases)
    purpose = purpose_reader(data["chargingProfilePurpose"], "chargingProfilePurpose")
    if (
        codec.version is OcppVersion.V16
        and purpose.value == "ChargingStationMaxProfile"
        and (data["chargingProfilePurpose"] != "ChargePointMaxProfile")
    ):
        raise ProfileFormatError("chargingProfilePurpose", "1.6 calls the station maximum ChargePointMaxProfile")
    if purpose not in codec.purposes:
        raise ProfileFormatError("chargingProfilePurpose", f"OCPP {codec.version.value} has no purpose {purpose.value}")
    if values["kind"] not in codec.kinds:
        raise ProfileFormatError(
            "chargingProfileKind", f"OCPP {codec.version.value} has no kind {values['kind'].value}"
        )
    values["purpose"] = purpose
    if data.get("transactionId") is not None:
        tx = data["transactionId"]
        if codec.transaction_id_is_int:
            values["transaction_id"] = str(_read_int(tx, "transactionId"))
        else:
            values["transaction_id"] = _read_str(tx, "transactionId")
    if "chargingSchedule" not in data:
        raise ProfileFormatError("chargingSchedule", "required field is missing")
    raw = data["chargingSchedule"]
    if codec.schedule_is_list:
        if not isinstance(raw, list) or not raw:
            raise ProfileFormatError("chargingSchedule", "expected a non-empty list of schedules")
        schedules = tuple(_read_schedule(s, codec, f"chargingSchedule[{i}]") for i, s in enumerate(raw))
    else:
        schedules = (_read_schedule(raw, codec, "chargingSchedule"),)
    return ChargingProfile(schedules=schedules, **values, extra=extra)


def _write_schedule(schedule: ChargingSchedule, codec: _Codec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if codec.schedule_id:
        out["id"] = schedule.id if schedule.id is not None else 0
    out.update(_write_object(schedule, codec.schedule_fields))
    out["chargingSchedulePeriod"] = [{**_write_object(p, codec.period_fields), **p.extra} for p in schedule.periods]
    out.update(schedule.extra)
    return out


def schedule_to_json(schedule: ChargingSchedule, version: OcppVersion | str) -> dict[str, Any]:
    """The wire JSON of one schedule on its own (2.0.1 NotifyEVChargingSchedule, NotifyChargingLimit)."""
    return _write_schedule(schedule, _codec(version))


def profile_to_json(profile: ChargingProfile, version: OcppVersion | str) -> dict[str, Any]:
    """The wire JSON of ``profile`` for ``version``. Raises ProfileFormatError if the version cannot carry it."""
    codec = _codec(version)
    out: dict[str, Any] = {codec.id_key: profile.id}
    out["chargingProfilePurpose"] = codec.purpose_out.get(profile.purpose.value, profile.purpose.value)
    out.update(_write_object(profile, codec.profile_fields))
    if profile.transaction_id is not None:
        if codec.transaction_id_is_int:
            if not profile.transaction_id.isdigit():
                raise ProfileFormatError("transactionId", "OCPP 1.6 transaction ids are integers")
            out["transactionId"] = int(profile.transaction_id)
        else:
            out["transactionId"] = profile.transaction_id
    if codec.schedule_is_list:
        out["chargingSchedule"] = [_write_schedule(s, codec) for s in profile.schedules]
    else:
        if len(profile.schedules) != 1:
            raise ProfileFormatError("chargingSchedule", "OCPP 1.6 carries exactly one schedule")
        out["chargingSchedule"] = _write_schedule(profile.schedules[0], codec)
    out.update(profile.extra)
    return out
