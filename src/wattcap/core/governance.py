"""Limit governance: which system may set which limit, as plain data and pure checks.

Many parties limit the power of one site: the grid operator (the connection's limit schedule), the building's
energy management system (its own load), a fleet tool (how fast each vehicle charges), an operator overriding
everything, wattcap's own site-cap allocator, and external systems a charger reports through
NotifyChargingLimit. OCPP gives them no namespace, and an HTTP API without one lets any of them overwrite any
other. So every API client carries a :class:`Grant` that says, as data:

* **scope** — which sites, stations and single EVSEs it may act on (``*`` for all);
* **purposes** and **bands** — which profile purposes and which purpose bands (the stack-level ranges of
  :class:`~wattcap.core.lifecycle.bands.BandTable`) it may write: the band fixes where its profiles stack, so a
  fleet tool confined to ``session`` can never outrank an operator in ``operator-session``;
* **maximum limit** — in A per phase and/or W total;
* **signals** — which site-level inputs it may post (``site_limit``, ``building_load``, ``price``, ``solar``);
* **read-only** — may it change anything at all.

The checks return every :class:`Refusal` that applies, each naming its rule (:class:`Rule`), in a fixed order,
so a refused request is explained completely and nothing partial is applied by the caller. Which band prevails
over which is not decided here: it is the band table's stack levels (:func:`precedence` describes it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from wattcap.core.lifecycle.bands import BandTable, PurposeBand
from wattcap.core.model import ChargingProfile, ChargingProfilePurpose, ChargingRateUnit

#: In a grant's sites or stations: every one.
ANY = "*"


class Rule(StrEnum):
    """The governance rules; a refusal names the one that refused."""

    READONLY = "GOV-READONLY"  # a read-only client asked for a change
    SCOPE = "GOV-SCOPE"  # the site, station or EVSE is outside the client's scope
    PURPOSE = "GOV-PURPOSE"  # the profile purpose is not granted
    BAND = "GOV-BAND"  # the purpose band (stack-level range) is not granted
    MAX_LIMIT = "GOV-MAX-LIMIT"  # a limit above the client's maximum
    SIGNAL = "GOV-SIGNAL"  # the signal type is not granted
    RULES = "GOV-RULES"  # fleet rules shape every session: only a client over every station with TxProfiles


#: What each rule guards, for the governance listing and the documentation.
RULE_DESCRIPTIONS: Mapping[Rule, str] = {
    Rule.READONLY: "A read-only client may not change anything.",
    Rule.SCOPE: "Sites, stations and EVSEs outside the client's scope can be neither read nor changed.",
    Rule.PURPOSE: "A client writes only the profile purposes it is granted.",
    Rule.BAND: "A client writes only in the purpose bands (stack-level ranges) it is granted.",
    Rule.MAX_LIMIT: "No limit above the client's maximum (A per phase, W total; the other unit converted).",
    Rule.SIGNAL: "A client posts only the site signals it is granted.",
    Rule.RULES: "Only a client granted every station and TxProfiles may replace the fleet rules (they decide the "
                "TxProfile of every session).",
}


class Signal(StrEnum):
    """Site-level inputs a client may post (the site-cap allocator reads them)."""

    SITE_LIMIT = "site_limit"  # the grid connection's limit schedule (grid operator)
    BUILDING_LOAD = "building_load"  # non-EV load measured or forecast (building EMS)
    PRICE = "price"  # energy price series
    SOLAR = "solar"  # local generation forecast or measurement


class LimitSource(StrEnum):
    """Where a limit in force comes from (shown with every limit the API lists)."""

    API_CLIENT = "api_client"
    SITE_CAP = "site_cap"  # wattcap's site-cap allocator
    FLEET_RULE = "fleet_rule"  # a rule of wattcap's fleet logic
    OPERATOR = "operator"  # a person, on the command line or through an operator band
    EXTERNAL = "external"  # reported by the charger (NotifyChargingLimit): EMS, SO, Other
    WATTCAP = "wattcap"  # the lifecycle itself (drift repair, transaction end)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request may not be carried out; ``rule`` is the :class:`Rule` that refused it."""

    rule: Rule
    message: str

    def __str__(self) -> str:
        return f"{self.rule.value}: {self.message}"


class GrantError(ValueError):
    """A grant document that cannot be a :class:`Grant`; ``path`` names the field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


EvseRef = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Grant:
    """What one API client may do. Empty sets grant nothing; ``None`` maxima impose no maximum.

    ``evses`` are single EVSEs (station id, EVSE id ≥ 1) granted without their station: a station-wide action
    (EVSE 0) on such a station is outside the scope, since it shapes EVSEs that were not granted.
    """

    sites: frozenset[str] = frozenset()
    stations: frozenset[str] = frozenset()
    evses: frozenset[EvseRef] = frozenset()
    purposes: frozenset[ChargingProfilePurpose] = frozenset()
    bands: frozenset[str] = frozenset()
    max_a: float | None = None
    max_w: float | None = None
    signals: frozenset[Signal] = frozenset()
    read_only: bool = False

    @property
    def everywhere(self) -> bool:
        """Whether the scope is every station (so listings need no filter)."""
        return ANY in self.stations

    def to_json(self) -> dict[str, Any]:
        """The stored form (and the grant file's keys), lists sorted so equal grants store equally."""
        return {
            "sites": sorted(self.sites),
            "stations": sorted(self.stations),
            "evses": [f"{s}/{e}" for s, e in sorted(self.evses)],
            "purposes": sorted(p.value for p in self.purposes),
            "bands": sorted(self.bands),
            "max_a": self.max_a,
            "max_w": self.max_w,
            "signals": sorted(s.value for s in self.signals),
            "read_only": self.read_only,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Grant:
        """Read a grant document; raises :class:`GrantError` naming the field. Unknown keys are refused, since a
        misspelt key would otherwise silently grant less (or, worse, be believed to restrict more)."""
        if not isinstance(data, Mapping):
            raise GrantError("", "a grant is an object")
        unknown = sorted(set(data) - _GRANT_KEYS)
        if unknown:
            raise GrantError(unknown[0], f"unknown grant key (known: {', '.join(sorted(_GRANT_KEYS))})")
        return cls(
            sites=frozenset(_names(data, "sites")),
            stations=frozenset(_names(data, "stations")),
            evses=frozenset(_evse(text, f"evses[{i}]") for i, text in enumerate(_names(data, "evses"))),
            purposes=frozenset(_member(ChargingProfilePurpose, data, "purposes")),
            bands=frozenset(_names(data, "bands")),
            max_a=_maximum(data, "max_a"),
            max_w=_maximum(data, "max_w"),
            signals=frozenset(_member(Signal, data, "signals")),
            read_only=_flag(data, "read_only"),
        )

    def problems(self, bands: BandTable) -> list[str]:
        """What is inconsistent in this grant against ``bands`` (empty: fine). Kept apart from parsing because
        the band table is deployment configuration, not part of the grant."""
        known = {b.name for b in bands}
        found = [f"bands: unknown band {name!r} (known: {', '.join(sorted(known))})" for name in
                 sorted(self.bands - known)]
        for name in sorted(self.bands & known):
            if bands[name].purpose not in self.purposes:
                found.append(f"bands: band {name} holds {bands[name].purpose.value}, which purposes does not grant")
        if not (self.sites or self.stations or self.evses):
            found.append("scope: no site, station or EVSE (use '*' for every station)")
        return found


_GRANT_KEYS = frozenset({"sites", "stations", "evses", "purposes", "bands", "max_a", "max_w", "signals", "read_only"})


def _names(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise GrantError(key, "expected a list of names")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise GrantError(f"{key}[{i}]", f"expected a non-empty name, got {item!r}")
    return [item.strip() for item in value]


def _member(enum: type[StrEnum], data: Mapping[str, Any], key: str) -> list[Any]:
    found = []
    for i, name in enumerate(_names(data, key)):
        try:
            found.append(enum(name))
        except ValueError:
            raise GrantError(f"{key}[{i}]", f"{name!r} is not one of {', '.join(m.value for m in enum)}") from None
    return found


def _evse(text: str, path: str) -> EvseRef:
    station, slash, evse = text.rpartition("/")
    if not slash or not station or not evse.isdigit() or int(evse) < 1:
        raise GrantError(path, f"{text!r} is not STATION/EVSE with an EVSE id of 1 or more")
    return station, int(evse)


def _maximum(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise GrantError(key, f"expected a finite number of at least 0, got {value!r}")
    return float(value)


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise GrantError(key, f"expected true or false, got {value!r}")
    return value


# ---- what a request acts on ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """What a request acts on: a station (``evse_id`` None or 0 for all of it, else one EVSE), or a site alone
    (``station_id`` None). ``site_id`` is the site the station belongs to, as the shell knows it."""

    station_id: str | None = None
    evse_id: int | None = None
    site_id: str | None = None

    def describe(self) -> str:
        if self.station_id is None:
            return f"site {self.site_id}"
        where = f"station {self.station_id}" if not self.evse_id else f"EVSE {self.station_id}/{self.evse_id}"
        return where if self.site_id is None else f"{where} (site {self.site_id})"


def _site_granted(grant: Grant, site_id: str | None) -> bool:
    return site_id is not None and (ANY in grant.sites or site_id in grant.sites)


def _station_granted(grant: Grant, station_id: str, site_id: str | None) -> bool:
    return ANY in grant.stations or station_id in grant.stations or _site_granted(grant, site_id)


def covers(grant: Grant, target: Target) -> bool:
    """Whether ``target`` is within the grant's scope for acting on it."""
    if target.station_id is None:
        return _site_granted(grant, target.site_id)
    if _station_granted(grant, target.station_id, target.site_id):
        return True
    return bool(target.evse_id) and (target.station_id, target.evse_id) in grant.evses


def sees(grant: Grant, station_id: str, site_id: str | None = None) -> bool:
    """Whether the client may see ``station_id`` at all: its whole station, or one of its EVSEs, is granted."""
    return _station_granted(grant, station_id, site_id) or any(s == station_id for s, _ in grant.evses)


def _scope_refusal(grant: Grant, target: Target, *, visible: bool = False) -> Refusal | None:
    allowed = sees(grant, target.station_id, target.site_id) if visible and target.station_id else covers(grant, target)
    if allowed:
        return None
    return Refusal(Rule.SCOPE, f"{target.describe()} is outside this client's scope ({_describe_scope(grant)})")


def _describe_scope(grant: Grant) -> str:
    parts = []
    if grant.sites:
        parts.append("sites " + ", ".join(sorted(grant.sites)))
    if grant.stations:
        parts.append("stations " + ", ".join(sorted(grant.stations)))
    if grant.evses:
        parts.append("EVSEs " + ", ".join(f"{s}/{e}" for s, e in sorted(grant.evses)))
    return "; ".join(parts) or "nothing"


def _readonly_refusal(grant: Grant) -> Refusal | None:
    return Refusal(Rule.READONLY, "this client is read-only") if grant.read_only else None


def _present(*refusals: Refusal | None) -> list[Refusal]:
    return [r for r in refusals if r is not None]


def check_read(grant: Grant, target: Target) -> list[Refusal]:
    """Reading about ``target``: a station is readable when any part of it is granted; an EVSE or a site only
    when it is itself in scope."""
    return _present(_scope_refusal(grant, target, visible=not target.evse_id))


def check_write(grant: Grant, target: Target) -> list[Refusal]:
    """A change at ``target`` that is not a profile or a signal (a verification, a reconcile)."""
    return _present(_readonly_refusal(grant), _scope_refusal(grant, target))


def check_profile(
    grant: Grant,
    target: Target,
    band: PurposeBand,
    profile: ChargingProfile | None = None,
    *,
    voltage_v: float = 230.0,
    default_phases: int = 3,
) -> list[Refusal]:
    """Setting, replacing or clearing a profile of ``band`` at ``target``.

    ``profile`` is the new content (None for a clear): its purpose must be granted (a profile whose purpose
    differs from the band's is refused by the lifecycle anyway) and none of its limits may exceed the grant's
    maxima. A limit in the other unit is converted with ``voltage_v`` and the period's phases (else
    ``default_phases``), as the composite engine does.
    """
    purpose = band.purpose if profile is None else profile.purpose
    purpose_refusal = None
    if purpose not in grant.purposes or band.purpose not in grant.purposes:
        granted = ", ".join(sorted(p.value for p in grant.purposes)) or "none"
        purpose_refusal = Refusal(Rule.PURPOSE, f"purpose {purpose.value} is not granted (granted: {granted})")
    band_refusal = None
    if band.name not in grant.bands:
        granted = ", ".join(sorted(grant.bands)) or "none"
        band_refusal = Refusal(
            Rule.BAND,
            f"band {band.name} (stack levels {band.low}..{band.high} of {band.purpose.value}) is not granted "
            f"(granted: {granted})",
        )
    limit_refusals = [] if profile is None else profile_limit_refusals(grant, profile, voltage_v, default_phases)
    return _present(_readonly_refusal(grant), _scope_refusal(grant, target), purpose_refusal, band_refusal) + (
        limit_refusals[:1]
    )


def check_signal(grant: Grant, signal: Signal | str, site_id: str) -> list[Refusal]:
    """Posting ``signal`` for ``site_id`` (the site-cap engineer's signal endpoints)."""
    try:
        kind: Signal | None = Signal(signal)
    except ValueError:
        kind = None
    signal_refusal = None
    if kind is None or kind not in grant.signals:
        granted = ", ".join(sorted(s.value for s in grant.signals)) or "none"
        signal_refusal = Refusal(Rule.SIGNAL, f"signal {signal} is not granted (granted: {granted})")
    return _present(_readonly_refusal(grant), signal_refusal, _scope_refusal(grant, Target(site_id=site_id)))


def check_rules_change(grant: Grant) -> list[Refusal]:
    """Replacing the fleet rules: they reach every session's TxProfile, so the client must be granted every
    station and the TxProfile purpose (a client scoped to a few stations could otherwise steer the others)."""
    refusal = None
    if not grant.everywhere or ChargingProfilePurpose.TX not in grant.purposes:
        refusal = Refusal(Rule.RULES, "fleet rules need a grant over every station (*) with TxProfile "
                                      f"(this client: {_describe_scope(grant)}; purposes "
                                      f"{', '.join(sorted(p.value for p in grant.purposes)) or 'none'})")
    return _present(_readonly_refusal(grant), refusal)


def limit_refusal(
    grant: Grant,
    limit: float,
    unit: ChargingRateUnit,
    *,
    phases: int = 3,
    voltage_v: float = 230.0,
    where: str = "",
) -> Refusal | None:
    """Whether one limit exceeds the grant's maxima (in its own unit, or converted to the other one)."""
    if unit is ChargingRateUnit.A:
        amps, watts = limit, limit * voltage_v * phases
    else:
        amps, watts = limit / (voltage_v * phases), limit
    prefix = f"{where}: " if where else ""
    shown = f"{limit:g} {unit.value}"
    if grant.max_a is not None and amps > grant.max_a + 1e-9:
        extra = "" if unit is ChargingRateUnit.A else f" (= {amps:.1f} A at {voltage_v:g} V × {phases})"
        return Refusal(Rule.MAX_LIMIT, f"{prefix}{shown}{extra} is above the client's maximum {grant.max_a:g} A")
    if grant.max_w is not None and watts > grant.max_w + 1e-6:
        extra = "" if unit is ChargingRateUnit.W else f" (= {watts:.0f} W at {voltage_v:g} V × {phases})"
        return Refusal(Rule.MAX_LIMIT, f"{prefix}{shown}{extra} is above the client's maximum {grant.max_w:g} W")
    return None


def profile_limit_refusals(
    grant: Grant, profile: ChargingProfile, voltage_v: float = 230.0, default_phases: int = 3
) -> list[Refusal]:
    """Every period of ``profile`` whose limit exceeds the grant's maxima."""
    if grant.max_a is None and grant.max_w is None:
        return []
    found = []
    for s, schedule in enumerate(profile.schedules):
        for p, period in enumerate(schedule.periods):
            if period.limit is None:
                continue
            refusal = limit_refusal(
                grant, period.limit, schedule.charging_rate_unit, phases=period.number_phases or default_phases,
                voltage_v=voltage_v, where=f"chargingSchedule[{s}].chargingSchedulePeriod[{p}].limit",
            )
            if refusal is not None:
                found.append(refusal)
    return found


# ---- the stacking order, as configuration ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BandPrecedence:
    """The bands of one purpose, the one that prevails first (the highest stack levels win, K01.FR.17)."""

    purpose: ChargingProfilePurpose
    bands: tuple[PurposeBand, ...] = field(default=())


def precedence(bands: BandTable) -> tuple[BandPrecedence, ...]:
    """Which band wins within each purpose, as the band table's stack levels decide it.

    Across purposes nothing is ranked: the charger takes the lowest of the station maximum, the external
    constraints and the transaction limit (a TxProfile replacing the TxDefaultProfile while its transaction
    runs), so a lower limit from any purpose always holds.
    """
    purposes: dict[ChargingProfilePurpose, list[PurposeBand]] = {}
    for band in bands:
        purposes.setdefault(band.purpose, []).append(band)
    return tuple(
        BandPrecedence(purpose, tuple(sorted(members, key=lambda b: b.high, reverse=True)))
        for purpose, members in purposes.items()
    )


COMBINATION = (
    "Within a purpose the band with the higher stack levels prevails. Across purposes the lowest limit holds: "
    "ChargingStationMaxProfile, ChargingStationExternalConstraints, and TxProfile (which replaces the "
    "TxDefaultProfile while its transaction runs)."
)


_ACTOR_SOURCES: Sequence[tuple[str, LimitSource]] = (
    ("api:", LimitSource.API_CLIENT),
    ("wattcap:sitecap", LimitSource.SITE_CAP),
    ("wattcap:site-cap", LimitSource.SITE_CAP),
    ("wattcap:fleet", LimitSource.FLEET_RULE),
    ("cli:", LimitSource.OPERATOR),
    ("cli", LimitSource.OPERATOR),
    ("operator:", LimitSource.OPERATOR),
)


def source_of(actor: str | None, band_owner: str | None = None) -> LimitSource:
    """The source of a limit set by ``actor`` (``api:NAME``, ``wattcap:sitecap``, ``cli:USER`` …) in a band
    owned by ``band_owner``. An operator band's profile is the operator's whoever typed it in, unless an API
    client did (that client is then the operator's tool and is named)."""
    for prefix, source in _ACTOR_SOURCES:
        if actor is not None and actor.startswith(prefix):
            return source
    if band_owner == "operator":
        return LimitSource.OPERATOR
    return LimitSource.WATTCAP


def client_of(actor: str | None) -> str | None:
    """The API client named by an ``api:NAME`` actor."""
    return actor[4:] if actor is not None and actor.startswith("api:") else None


