"""Reading a site file: the constraint tree of each site and how its EVSEs are wired.

A site file is TOML (or JSON with the same shape)::

    [[sites]]
    id = "depot"
    fallback = "equal"        # equal | minimum | zero | fixed  (the EVSEs' offline share, docs/site-cap.md)
    fallback_current_a = 6.0  # for fallback = "fixed"
    lease_s = 300             # how long a session limit above the fallback lives without renewal

    [[sites.nodes]]
    id = "grid"
    max_current_a = 100       # per phase
    safe_current_a = 80       # what holds when the grid signal goes stale
    margin_a = 2

    [[sites.nodes]]
    id = "feeder-a"
    parent = "grid"
    max_current_a = 63

    [[sites.evses]]
    station = "CP1"
    evse = 1
    node = "feeder-a"
    wiring = "L2L3L1"         # grid phases feeding the EVSE's L1, L2, L3 (phase rotation)
    max_current_a = 32

Every mistake is reported with the site, the entry and the field, before the server starts.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from wattcap.core.sitecap.model import EvseSpec, GridPhase, Node, PhaseCurrents, SiteTopology
from wattcap.core.station import CurrentType

__all__ = ["SiteConfigError", "SiteDefinition", "load_sites", "parse_sites"]

_FALLBACKS = ("equal", "minimum", "zero", "fixed")


class SiteConfigError(ValueError):
    """The site file cannot be used; the message names the site, the entry and the field."""


@dataclass(frozen=True, slots=True)
class SiteDefinition:
    """One site: its tree, its fallback policy and lease, and per-node fallback loads for stale load signals."""

    id: str
    topology: SiteTopology
    fallback: str = "equal"
    fallback_current_a: float | None = None
    lease_s: int = 300
    fallback_load_a: Mapping[str, PhaseCurrents] = field(default_factory=dict)
    time_zone: str = "UTC"
    #: The stations with an EVSE on the site, built once: the controller asks for every event a station sends.
    _station_ids: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_station_ids", frozenset(e.station_id for e in self.topology.evses))

    @property
    def station_ids(self) -> frozenset[str]:
        return self._station_ids

    def root(self) -> Node:
        return next(n for n in self.topology.nodes if n.parent is None)


def _wiring(text: str, where: str) -> tuple[GridPhase, GridPhase, GridPhase]:
    parts = [text[i:i + 2] for i in range(0, len(text), 2)]
    try:
        phases = tuple(GridPhase(p) for p in parts)
    except ValueError:
        phases = ()
    if len(phases) != 3 or len(set(phases)) != 3:
        raise SiteConfigError(f"{where}: wiring {text!r} must name each grid phase once, like 'L1L2L3' or 'L2L3L1'")
    return phases  # type: ignore[return-value]


def _build(cls: type, raw: Mapping[str, Any], where: str, renames: Mapping[str, str] = {}, **fixed: Any) -> Any:
    allowed = {f.name for f in fields(cls) if f.init}
    kwargs = dict(fixed)
    for key, value in raw.items():
        name = renames.get(key, key)
        if name not in allowed or name in fixed:
            raise SiteConfigError(f"{where}: unknown field {key!r}")
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise SiteConfigError(f"{where}: {exc}") from None


def _node(raw: Mapping[str, Any], where: str) -> Node:
    if not isinstance(raw.get("id"), str) or not raw["id"]:
        raise SiteConfigError(f"{where}: a node needs an id")
    node = _build(Node, raw, f"{where} ({raw['id']})")
    for name in ("max_current_a", "max_power_w", "safe_current_a", "safe_power_w", "margin_a", "margin_w"):
        value = getattr(node, name)
        if value is not None and (not isinstance(value, int | float) or value < 0):
            raise SiteConfigError(f"{where} ({node.id}): {name} must be a number >= 0")
    return node


def _evse(raw: Mapping[str, Any], where: str) -> EvseSpec:
    raw = dict(raw)
    for required in ("station", "evse", "node"):
        if required not in raw:
            raise SiteConfigError(f"{where}: an EVSE needs {required!r}")
    wiring = _wiring(raw.pop("wiring", "L1L2L3"), where)
    current_type = CurrentType(raw.pop("current_type", "AC"))
    evse = _build(
        EvseSpec, raw, f"{where} ({raw['station']}/{raw['evse']})",
        renames={"station": "station_id", "evse": "evse_id"}, wiring=wiring, current_type=current_type,
    )
    if evse.evse_id < 1:
        raise SiteConfigError(f"{where}: evse must be >= 1 (the station itself is not an EVSE)")
    if evse.phases not in (1, 3):
        raise SiteConfigError(f"{where}: phases must be 1 or 3")
    if not 0 <= evse.min_current_a <= evse.max_current_a:
        raise SiteConfigError(f"{where}: min_current_a must lie between 0 and max_current_a")
    return evse


def _site(raw: Mapping[str, Any], index: int) -> SiteDefinition:
    where = f"sites[{index}]"
    site_id = raw.get("id")
    if not isinstance(site_id, str) or not site_id:
        raise SiteConfigError(f"{where}: a site needs an id")
    where = f"site {site_id}"
    nodes = tuple(_node(n, f"{where} nodes[{i}]") for i, n in enumerate(raw.get("nodes", ())))
    evses = tuple(_evse(e, f"{where} evses[{i}]") for i, e in enumerate(raw.get("evses", ())))
    ids = [n.id for n in nodes]
    if not nodes:
        raise SiteConfigError(f"{where}: needs at least one node (its grid connection)")
    if len(set(ids)) != len(ids):
        raise SiteConfigError(f"{where}: node ids must be unique")
    roots = [n.id for n in nodes if n.parent is None]
    if len(roots) != 1:
        raise SiteConfigError(f"{where}: exactly one node must have no parent (found {roots})")
    for n in nodes:
        if n.parent is not None and n.parent not in ids:
            raise SiteConfigError(f"{where}: node {n.id} has unknown parent {n.parent!r}")
    parents = {n.id: n.parent for n in nodes}
    for n in nodes:  # every chain must reach the root without a cycle
        seen, cur = set(), n.id
        while cur is not None:
            if cur in seen:
                raise SiteConfigError(f"{where}: nodes form a cycle through {cur}")
            seen.add(cur)
            cur = parents[cur]
    keys = [e.key for e in evses]
    if len(set(keys)) != len(keys):
        raise SiteConfigError(f"{where}: an EVSE is listed twice")
    for e in evses:
        if e.node not in ids:
            raise SiteConfigError(f"{where}: EVSE {e.station_id}/{e.evse_id} is fed by unknown node {e.node!r}")
    fallback = raw.get("fallback", "equal")
    if fallback not in _FALLBACKS:
        raise SiteConfigError(f"{where}: fallback must be one of {', '.join(_FALLBACKS)}")
    fixed = raw.get("fallback_current_a")
    if fallback == "fixed" and fixed is None:
        raise SiteConfigError(f"{where}: fallback = 'fixed' needs fallback_current_a")
    lease_s = raw.get("lease_s", 300)
    if not isinstance(lease_s, int) or lease_s < 30:
        raise SiteConfigError(f"{where}: lease_s must be a whole number of seconds >= 30")
    loads = {
        node_id: tuple(float(v) for v in value) for node_id, value in raw.get("fallback_load_a", {}).items()
    }
    for node_id, value in loads.items():
        if node_id not in ids or len(value) != 3:
            raise SiteConfigError(f"{where}: fallback_load_a.{node_id} must name a node and give 3 phase currents")
    return SiteDefinition(
        id=site_id, topology=SiteTopology(nodes, evses), fallback=fallback, fallback_current_a=fixed,
        lease_s=lease_s, fallback_load_a=loads, time_zone=raw.get("time_zone", "UTC"),  # type: ignore[arg-type]
    )


def parse_sites(document: Mapping[str, Any]) -> tuple[SiteDefinition, ...]:
    """The sites of a parsed site file; a station belongs to one site at most."""
    raw_sites = document.get("sites")
    if not isinstance(raw_sites, list) or not raw_sites:
        raise SiteConfigError("a site file needs a [[sites]] list with at least one site")
    sites = tuple(_site(raw, i) for i, raw in enumerate(raw_sites))
    seen: dict[str, str] = {}
    for site in sites:
        if site.id in seen.values():
            raise SiteConfigError(f"site id {site.id} is used twice")
        for station in site.station_ids:
            if station in seen:
                raise SiteConfigError(f"station {station} is in both site {seen[station]} and site {site.id}")
            seen[station] = site.id
    return sites


def load_sites(path: Path) -> tuple[SiteDefinition, ...]:
    """Read a TOML (``.toml``) or JSON site file."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise SiteConfigError(f"cannot read the site file {path}: {exc}") from None
    try:
        document = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise SiteConfigError(f"{path}: {exc}") from None
    return parse_sites(document)
