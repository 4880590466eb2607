"""When EVs arrive and leave: everyone at once, a day at a depot, or a scenario file.

An :class:`Arrival` is an EV plugging into one EVSE at an offset from the start of the simulation, with an
optional departure. With an ``id_token`` the station authorizes and starts charging on its own; without one
the EV waits for a RemoteStart / RequestStartTransaction from the control plane.

Scenario file (JSON)::

    {"arrivals": [
        {"at": 0, "station": "SIM-001", "evse": 1, "ev": "van", "soc": 0.3, "departure": 28800},
        {"at": "2026-03-02T18:00:00Z", "station": "SIM-002", "evse": 2,
         "ev": {"battery_wh": 60000, "ac_max_current_a": 16, "ac_phases": 1}, "idToken": null}
    ]}

``at`` and ``departure`` are seconds after the start of the simulation or ISO 8601 times; ``ev`` names a model
of :data:`wattcap.sim.ev.EV_MODELS` or gives :class:`~wattcap.sim.ev.EVSpec` fields; ``idToken`` defaults to a
token of its own (``null``: wait for a remote start); ``targetSoc`` defaults to 1.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from wattcap.core.station import CurrentType
from wattcap.core.timeutil import TimestampError, parse_timestamp
from wattcap.sim.ev import EV, EV_MODELS, EVSpec
from wattcap.sim.spec import StationSpec


class ScenarioError(ValueError):
    """A scenario file that cannot be read; the message names the entry and field."""


@dataclass(frozen=True, slots=True)
class Arrival:
    """One EV visit. Offsets are seconds of simulated time after the start."""

    at_s: float
    station_id: str
    evse_id: int
    ev: EVSpec
    soc: float = 0.3
    departure_s: float | None = None
    target_soc: float = 1.0
    id_token: str | None = None

    def vehicle(self, start: datetime) -> EV:
        """The EV as it plugs in, for a simulation that started at ``start``."""
        departure = None if self.departure_s is None else start + timedelta(seconds=self.departure_s)
        return EV(self.ev, soc=self.soc, target_soc=self.target_soc, departure=departure, id_token=self.id_token)


def default_token(station_id: str, evse_id: int) -> str:
    return f"TAG-{station_id}-{evse_id}"


def _fitting_models(station: StationSpec) -> list[EVSpec]:
    # Random arrivals bring well-behaved EVs only: a misbehaving one (``plans_above_limit``) is asked for by name.
    models = [m for m in EV_MODELS.values() if not m.plans_above_limit]
    if station.current_type is CurrentType.DC:
        return models
    return [m for m in models if station.phases == 3 or m.ac_phases == 1] or models


def arrivals_now(stations: Iterable[StationSpec], seed: int = 1) -> list[Arrival]:
    """``--arrivals now``: an EV on every EVSE at the start, charging at once, staying until stopped."""
    out = []
    for station in stations:
        rng = random.Random(f"now/{seed}/{station.station_id}")
        for evse in station.evses:
            out.append(
                Arrival(
                    0.0,
                    station.station_id,
                    evse.evse_id,
                    rng.choice(_fitting_models(station)),
                    soc=round(rng.uniform(0.1, 0.5), 2),
                    id_token=default_token(station.station_id, evse.evse_id),
                )
            )
    return out


def depot_day(stations: Iterable[StationSpec], seed: int = 1) -> list[Arrival]:
    """A day at a depot, starting at 16:00: vehicles return between 16:00 and 20:00 with 15–50 % charge and
    leave between 05:00 and 07:00; a third of the EVSEs also see a short top-up the next day (arriving 11:00–13:00)."""
    hour = 3600.0
    out = []
    for station in stations:
        rng = random.Random(f"depot/{seed}/{station.station_id}")
        models = _fitting_models(station)
        for evse in station.evses:
            token = default_token(station.station_id, evse.evse_id)
            arrive = rng.uniform(0, 4 * hour)
            leave = rng.uniform(13 * hour, 15 * hour)
            ev = rng.choice(models)
            out.append(
                Arrival(
                    arrive,
                    station.station_id,
                    evse.evse_id,
                    ev,
                    round(rng.uniform(0.15, 0.5), 2),
                    leave,
                    id_token=token,
                )
            )
            if rng.random() < 1 / 3:
                top_up = rng.uniform(19 * hour, 21 * hour)
                out.append(
                    Arrival(
                        top_up,
                        station.station_id,
                        evse.evse_id,
                        ev,
                        round(rng.uniform(0.4, 0.7), 2),
                        top_up + rng.uniform(0.5 * hour, 1.5 * hour),
                        id_token=token,
                    )
                )
    return sorted(out, key=lambda a: a.at_s)


def load_arrivals(path: Path | str, start: datetime) -> list[Arrival]:
    """Read a scenario file (see the module docstring); times given as ISO 8601 are taken relative to ``start``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    return arrivals_from_json(data, start)


def arrivals_from_json(data: Any, start: datetime) -> list[Arrival]:
    entries = data.get("arrivals") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise ScenarioError("expected an object with a list 'arrivals'")
    return sorted((_arrival(item, f"arrivals[{i}]", start) for i, item in enumerate(entries)), key=lambda a: a.at_s)


def _arrival(item: Any, path: str, start: datetime) -> Arrival:
    if not isinstance(item, Mapping):
        raise ScenarioError(f"{path}: expected an object")
    for key in ("at", "station", "evse"):
        if key not in item:
            raise ScenarioError(f"{path}.{key}: required field is missing")
    station, evse = item["station"], item["evse"]
    if not isinstance(station, str) or isinstance(evse, bool) or not isinstance(evse, int):
        raise ScenarioError(f"{path}: 'station' must be a string and 'evse' an integer")
    departure = item.get("departure")
    return Arrival(
        at_s=_offset(item["at"], f"{path}.at", start),
        station_id=station,
        evse_id=evse,
        ev=_ev_spec(item.get("ev", "compact"), f"{path}.ev"),
        soc=_fraction(item.get("soc", 0.3), f"{path}.soc"),
        departure_s=None if departure is None else _offset(departure, f"{path}.departure", start),
        target_soc=_fraction(item.get("targetSoc", 1.0), f"{path}.targetSoc"),
        id_token=item["idToken"] if "idToken" in item else default_token(station, evse),
    )


def _offset(value: Any, path: str, start: datetime) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return (parse_timestamp(value) - start).total_seconds()
        except TimestampError as exc:
            raise ScenarioError(f"{path}: {exc}") from None
    raise ScenarioError(f"{path}: expected seconds or an ISO 8601 time, got {value!r}")


def _fraction(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ScenarioError(f"{path}: expected a number between 0 and 1, got {value!r}")
    return float(value)


_EV_FIELDS = {f.name for f in fields(EVSpec)}


def _ev_spec(value: Any, path: str) -> EVSpec:
    if isinstance(value, str):
        if value not in EV_MODELS:
            raise ScenarioError(f"{path}: unknown EV model {value!r}; known: {', '.join(sorted(EV_MODELS))}")
        return EV_MODELS[value]
    if isinstance(value, Mapping):
        unknown = set(value) - _EV_FIELDS
        if unknown:
            raise ScenarioError(f"{path}: unknown fields {', '.join(sorted(unknown))}")
        try:
            return EVSpec(**value)
        except (TypeError, ValueError) as exc:
            raise ScenarioError(f"{path}: {exc}") from None
    raise ScenarioError(f"{path}: expected a model name or an object")


def for_stations(arrivals: Sequence[Arrival], station_ids: Iterable[str]) -> list[Arrival]:
    """The arrivals at the given stations (one process's share)."""
    wanted = set(station_ids)
    return [a for a in arrivals if a.station_id in wanted]
