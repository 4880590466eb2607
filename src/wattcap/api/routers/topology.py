"""Which EVSE hangs on which node of a site, and how it is wired: what a view of the site needs to add measured
draw up per node and grid phase (``GET /sites/{site}`` gives the limits and allocations, not the wiring).

Served whenever the control plane has a site directory that holds site definitions (the site cap's); otherwise
every site is 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from wattcap.api.deps import Access, require_site
from wattcap.api.errors import ERRORS, NOT_FOUND, not_found

router = APIRouter(tags=["sites"])


class TopologyNodeOut(BaseModel):
    id: str
    parent: str | None
    max_current_a: float | None = Field(description="Per grid phase.")
    max_power_w: float | None
    safe_current_a: float | None = Field(description="What holds when the node's signal is stale (offline share).")
    safe_power_w: float | None
    margin_a: float
    margin_w: float


class TopologyEvseOut(BaseModel):
    station_id: str
    evse_id: int
    node: str = Field(description="The node that feeds it.")
    wiring: list[str] = Field(description="The grid phases feeding the EVSE's L1, L2, L3.")
    current_type: str
    phases: int
    min_current_a: float
    max_current_a: float
    max_power_w: float | None
    voltage_v: float


class TopologyOut(BaseModel):
    site: str
    time_zone: str
    root: str
    nodes: list[TopologyNodeOut]
    evses: list[TopologyEvseOut]


def _definition(access: Access, site_id: str) -> Any:
    definitions = getattr(access.plane.sites, "sites", None)  # the site cap's directory: {site id: SiteDefinition}
    found = definitions.get(site_id) if isinstance(definitions, dict) else None
    if found is None or not hasattr(found, "topology"):
        raise not_found(f"no site {site_id!r}")
    return found


@router.get("/sites/{site_id}/topology", response_model=TopologyOut, responses={**ERRORS, **NOT_FOUND},
            summary="The site's tree: nodes, and which node feeds each EVSE through which grid phases")
async def topology(site_id: str, access: Annotated[Access, Depends(require_site())]) -> TopologyOut:
    site = _definition(access, site_id)
    nodes = site.topology.nodes
    return TopologyOut(
        site=site.id, time_zone=site.time_zone, root=next(n.id for n in nodes if n.parent is None),
        nodes=[TopologyNodeOut(
            id=n.id, parent=n.parent, max_current_a=n.max_current_a, max_power_w=n.max_power_w,
            safe_current_a=n.safe_current_a, safe_power_w=n.safe_power_w, margin_a=n.margin_a, margin_w=n.margin_w,
        ) for n in nodes],
        evses=[TopologyEvseOut(
            station_id=e.station_id, evse_id=e.evse_id, node=e.node, wiring=[str(p.value) for p in e.wiring],
            current_type=str(e.current_type.value), phases=e.phases, min_current_a=e.min_current_a,
            max_current_a=e.max_current_a, max_power_w=e.max_power_w, voltage_v=e.voltage_v,
        ) for e in site.topology.evses if access.sees_evse(e.station_id, e.evse_id)],
    )
