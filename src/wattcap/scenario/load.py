"""Reading scenario JSON into the model. Errors name the line and the field; nothing here raises a bare error."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wattcap.core.composite import composite_schedule
from wattcap.core.dialects import get_dialect
from wattcap.core.model import (
    ChargingProfilePurpose,
    ChargingRateUnit,
    CompositeSchedule,
    InstalledProfile,
    OcppVersion,
    Transaction,
)
from wattcap.core.station import CurrentType, StationCapabilities, StationConfig
from wattcap.core.timeutil import TimestampError, parse_timestamp
from wattcap.ocpp.profile_json import ProfileFormatError, profile_from_json


class ScenarioError(ValueError):
    """A scenario that cannot be read; ``path`` names the field (``profiles[2].profile.chargingSchedule``)."""

    def __init__(self, path: str, message: str, *, line: int | None = None) -> None:
        self.path = path
        self.message = message
        self.line = line
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{path}: {message}" if path else f"{where}{message}")

    def at_line(self, line: int) -> ScenarioError:
        return ScenarioError(self.path, self.message, line=line)


@dataclass(frozen=True, slots=True)
class CompositeRequest:
    evse_id: int
    start: datetime
    duration: int
    unit: ChargingRateUnit | None
    simulate_transaction: bool = True
    offline: bool = False


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    version: OcppVersion
    station: StationConfig
    installed: tuple[InstalledProfile, ...]
    request: CompositeRequest
    now: datetime
    transactions: tuple[Transaction, ...]
    expected: Mapping[str, Any] | None = None
    check: Mapping[str, Any] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def composite(self, *, with_layers: bool = False) -> CompositeSchedule:
        """The composite schedule this scenario asks for, as its station would report it."""
        request = self.request
        return composite_schedule(
            self.station,
            self.installed,
            evse_id=request.evse_id,
            start=request.start,
            duration=request.duration,
            unit=request.unit,
            transactions=self.transactions,
            simulate_transaction=request.simulate_transaction,
            offline=request.offline,
            with_layers=with_layers,
        )


def _version(text: Any) -> tuple[OcppVersion, OcppVersion]:
    """(version of the profile JSON, version whose dialect variant applies)."""
    if text is None:
        return OcppVersion.V201, OcppVersion.V201
    if isinstance(text, str) and text.startswith("2.0.1(") and "2.1" in text:
        return OcppVersion.V21, OcppVersion.V201  # a 2.0.1 station carrying 2.1 fields
    try:
        version = OcppVersion(text)
    except ValueError:
        raise ScenarioError("ocpp_version", f"{text!r} is not one of 1.6, 2.0.1, 2.1") from None
    return version, version


def _time(value: Any, path: str) -> datetime:
    try:
        return parse_timestamp(value)
    except TimestampError as exc:
        raise ScenarioError(path, str(exc)) from None


def _int(value: Any, path: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(path, f"expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ScenarioError(path, f"must be at least {minimum}, got {value}")
    return value


def _number(config: Mapping[str, Any], key: str, default: float) -> float:
    value = config.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"config.{key}", f"expected a number, got {value!r}")
    return float(value)


def _unit(value: Any, path: str) -> ChargingRateUnit | None:
    if value is None:
        return None
    try:
        return ChargingRateUnit(value)
    except ValueError:
        raise ScenarioError(path, f"{value!r} is not A or W") from None


def _station(config: Any, version: OcppVersion) -> StationConfig:
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise ScenarioError("config", "expected an object")
    try:
        dialect = get_dialect(config.get("dialect", "everest")).for_version(version)
    except KeyError as exc:
        raise ScenarioError("config.dialect", exc.args[0]) from None
    if "evse_ids" in config:
        ids = config["evse_ids"]
        if not isinstance(ids, list) or not ids:
            raise ScenarioError("config.evse_ids", "expected a non-empty list of EVSE ids")
        evse_ids = tuple(_int(i, f"config.evse_ids[{n}]", minimum=1) for n, i in enumerate(ids))
    else:
        key = "evse_count" if "evse_count" in config else "connector_count"
        count = _int(config.get(key, 1), f"config.{key}", minimum=1)
        evse_ids = tuple(range(1, count + 1))
    units = config.get("charging_rate_units_supported", ["A", "W"])
    if not isinstance(units, list) or not units:
        raise ScenarioError("config.charging_rate_units_supported", 'expected a non-empty list like ["A", "W"]')
    rate_units = tuple(_unit(u, f"config.charging_rate_units_supported[{i}]") for i, u in enumerate(units))
    try:
        current_type = CurrentType(config.get("evse_phase_type", "AC"))
    except ValueError:
        raise ScenarioError("config.evse_phase_type", "expected AC or DC") from None
    ignored = []
    for i, text in enumerate(config.get("ignored_purposes_offline", [])):
        try:
            ignored.append(ChargingProfilePurpose(text))
        except ValueError:
            raise ScenarioError(f"config.ignored_purposes_offline[{i}]", f"{text!r} is not a purpose") from None

    def optional_int(key: str) -> int | None:
        return None if config.get(key) is None else _int(config[key], f"config.{key}", minimum=0)

    capabilities = StationCapabilities(
        max_stack_level=optional_int("max_stack_level"),
        rate_units=rate_units,  # type: ignore[arg-type]
        max_periods_per_schedule=optional_int("max_periods_per_schedule"),
        max_installed_profiles=optional_int("max_installed_profiles"),
        ac_phase_switching=bool(config.get("ac_phase_switching_supported", False)),
        phase_switching_3to1=bool(config.get("phase_switching_3to1_supported", False)),
    )
    return StationConfig(
        ocpp_version=version,
        dialect=dialect,
        evse_ids=evse_ids,
        current_type=current_type,
        supply_phases=_int(config.get("station_supply_phases", 3), "config.station_supply_phases", minimum=1),
        supply_voltage_v=_number(config, "supply_voltage_V", 230.0),
        default_limit_a=_number(config, "default_limit_A", 48.0),
        default_limit_w=_number(config, "default_limit_W", 33_120.0),
        default_number_phases=_int(config.get("default_number_phases") or 3, "config.default_number_phases", minimum=1),
        capabilities=capabilities,
        ignored_purposes_offline=tuple(ignored),
    )


def _transactions(value: Any) -> tuple[Transaction, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        path = f"transaction[{i}]" if isinstance(value, list) else "transaction"
        if not isinstance(item, Mapping):
            raise ScenarioError(path, "expected an object {evse_id, transaction_id, start}")
        tx_id = item.get("transaction_id")
        start = item.get("start")
        out.append(
            Transaction(
                evse_id=_int(item.get("evse_id", 1), f"{path}.evse_id", minimum=1),
                transaction_id=None if tx_id is None else str(tx_id),
                start=None if start is None else _time(start, f"{path}.start"),
            )
        )
    return tuple(out)


def parse_scenario(data: Any, *, default_id: str = "scenario") -> Scenario:
    """One scenario from its JSON object. Raises :class:`ScenarioError` naming the field."""
    if not isinstance(data, Mapping):
        raise ScenarioError("", "a scenario is a JSON object")
    version, dialect_version = _version(data.get("ocpp_version"))
    station = _station(data.get("config"), dialect_version)
    profiles = data.get("profiles", [])
    if not isinstance(profiles, list):
        raise ScenarioError("profiles", "expected a list of {evse_id, profile}")
    installed = []
    for i, item in enumerate(profiles):
        if not isinstance(item, Mapping) or "profile" not in item:
            raise ScenarioError(f"profiles[{i}]", "expected an object {evse_id, profile}")
        evse_id = _int(item.get("evse_id", 0), f"profiles[{i}].evse_id", minimum=0)
        try:
            profile = profile_from_json(item["profile"], version)
        except ProfileFormatError as exc:
            raise ScenarioError(f"profiles[{i}].profile.{exc.path}".rstrip("."), exc.message) from None
        installed.append(InstalledProfile(evse_id, profile))
    request = data.get("request", {})
    if not isinstance(request, Mapping):
        raise ScenarioError("request", "expected an object")
    now_text = data.get("now") or request.get("start")
    if now_text is None:
        raise ScenarioError("request.start", "give request.start or now (the charger's clock)")
    now = _time(now_text, "now" if data.get("now") else "request.start")
    start = _time(request["start"], "request.start") if request.get("start") else now
    duration = request.get("duration_s", 86_400)
    if isinstance(duration, bool) or not isinstance(duration, int):
        raise ScenarioError("request.duration_s", f"expected whole seconds, got {duration!r}")
    evse_id = _int(request.get("evse_id", 0), "request.evse_id", minimum=0)
    if not station.has_evse(evse_id):
        raise ScenarioError("request.evse_id", f"the station has no EVSE {evse_id} (it has {list(station.evse_ids)})")
    composite_request = CompositeRequest(
        evse_id=evse_id,
        start=start,
        duration=duration,
        unit=_unit(request.get("unit"), "request.unit"),
        simulate_transaction=bool(request.get("simulate_transaction_active", True)),
        offline=bool(request.get("is_offline", False)),
    )
    expected = data.get("expected")
    check = data.get("check")
    return Scenario(
        id=str(data.get("id") or default_id),
        version=version,
        station=station,
        installed=tuple(installed),
        request=composite_request,
        now=now,
        transactions=_transactions(data.get("transaction")),
        expected=expected if isinstance(expected, Mapping) else None,
        check=check if isinstance(check, Mapping) else None,
        raw=data,
    )


def load_scenarios(text: str, *, name: str = "-") -> Iterator[Scenario | ScenarioError]:
    """Scenarios from a file's text: one JSON object, or JSON Lines. Bad lines yield a ScenarioError."""
    stripped = text.strip()
    if not stripped:
        yield ScenarioError("", f"{name} holds no scenario")
        return
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, Mapping):
        try:
            yield parse_scenario(whole, default_id=name)
        except ScenarioError as exc:
            yield exc
        return
    if isinstance(whole, list):
        yield ScenarioError("", "expected one JSON object or one object per line, not a JSON array")
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield ScenarioError("", f"not JSON ({exc.msg} at column {exc.colno})", line=number)
            continue
        try:
            yield parse_scenario(data, default_id=f"{name}:{number}")
        except ScenarioError as exc:
            yield exc.at_line(number)
