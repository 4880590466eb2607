"""Fleet rules and the charging planner as a service of the control plane (see :mod:`.service`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from wattcap.core.fleet.loader import load_rules
from wattcap.server.fleet.service import FleetService, FleetSettings

if TYPE_CHECKING:
    from wattcap.core.fleet.rules import RuleSet
    from wattcap.server.runtime import ControlPlane

__all__ = ["FleetService", "FleetSettings", "attach_fleet", "attach_fleet_file"]


def attach_fleet(
    plane: ControlPlane, rules: RuleSet | None = None, *, rules_text: str | None = None,
    settings: FleetSettings | None = None,
) -> FleetService:
    """Join the fleet service to ``plane`` (after the site cap, before ``plane.app()``): service and API routes."""
    from wattcap.server.fleet.api import fleet_router

    service = FleetService(plane, rules, rules_text=rules_text, settings=settings)
    plane.add_service(service)
    plane.add_router(fleet_router(service))
    plane.fleet = service  # type: ignore[attr-defined]
    return service


def attach_fleet_file(plane: ControlPlane, path: Path, *, settings: FleetSettings | None = None) -> FleetService:
    """:func:`attach_fleet` with the rules file at ``path`` (refused whole, every issue with its line)."""
    text = path.read_text(encoding="utf-8")
    return attach_fleet(plane, load_rules(text, str(path)), rules_text=text, settings=settings)
