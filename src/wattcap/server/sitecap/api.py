"""The site-cap routes of the HTTP API: sites, their state, and the signals that drive them.

``GET /sites`` and ``GET /sites/{site}`` show the tree, the limits in force (with the signal that set each), every
EVSE's allocation and why it is capped (``binding``), and what the chargers hold. ``POST
/sites/{site}/signals/{kind}`` takes a limit schedule (grid operator), a building-load reading (EMS), or a price /
solar series (planner), each with a TTL; a grant must name the signal (GOV-SIGNAL) and the site (GOV-SCOPE).
"""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from wattcap.api.deps import Access, Authenticated, require_signal, require_site
from wattcap.api.errors import ERRORS, NOT_FOUND, FindingOut, invalid, not_found
from wattcap.core import governance as gov
from wattcap.core.sitecap.signals import SignalError, SignalKind
from wattcap.server.sitecap.signals import BuildingLoadSignal, SeriesSignal, SiteLimitSignal

if TYPE_CHECKING:  # FastAPI resolves the route annotations at runtime: only these stay strings
    from wattcap.server.sitecap.controller import SiteCapController
    from wattcap.server.sitecap.service import SiteCap

__all__ = ["site_router"]


class SiteSummary(BaseModel):
    id: str
    time_zone: str
    root: str
    nodes: int
    evses: int
    stations: list[str]


class NodeOut(BaseModel):
    id: str
    parent: str | None
    max_current_a: float | None
    max_power_w: float | None
    safe_current_a: float | None
    safe_power_w: float | None
    margin_a: float
    margin_w: float


class SiteOut(BaseModel):
    """A site now: its tree, the limits in force, and the coordinator's view of every EVSE."""

    id: str
    time_zone: str
    fallback: str
    lease_s: int
    nodes: list[NodeOut]
    limits: dict[str, Any] = Field(description="Per node: current_a, power_w, non_ev_load_a and the source.")
    evses: dict[str, Any] = Field(description="Per EVSE (station/evse): session, fallback, limit, pending, "
                                              "unknown, footprint and allocation with its binding constraint.")
    violations: list[Any]
    notices: list[str]


class SignalAccepted(BaseModel):
    site: str
    kind: str
    node: str | None = None
    source: str
    received_at: datetime
    stale_at: datetime


def _controller(service: "SiteCap", site_id: str) -> "SiteCapController":
    controller = service.controllers.get(site_id)
    if controller is None:
        raise not_found(f"no site {site_id!r}")
    return controller


def _refuse(exc: SignalError, field: str) -> Exception:
    return invalid([FindingOut(path=f"body.{field}", rule_id="WC-SIGNAL", message=str(exc))])


#: The error answers of a route on one site: the API's own (401, 403 naming the rule, 422 with field paths) and 404.
SITE_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, **NOT_FOUND}


def site_router(service: "SiteCap") -> APIRouter:
    router = APIRouter(tags=["sites"])

    @router.get("/sites", response_model=list[SiteSummary], responses=ERRORS, summary="The sites this client may see")
    async def list_sites(access: Authenticated) -> list[SiteSummary]:
        out = []
        for site in service.sites.values():
            if gov.check_read(access.grant, gov.Target(site_id=site.id)):
                continue  # not in the client's scope: not listed at all
            out.append(SiteSummary(
                id=site.id, time_zone=site.time_zone, root=site.root().id, nodes=len(site.topology.nodes),
                evses=len(site.topology.evses), stations=sorted(site.station_ids),
            ))
        return out

    @router.get("/sites/{site_id}", response_model=SiteOut, responses=SITE_ERRORS,
                summary="A site now: limits, allocations, holdings")
    async def get_site(site_id: str, access: Annotated[Access, Depends(require_site())]) -> SiteOut:
        controller = _controller(service, site_id)
        site = controller.site
        snapshot = controller.snapshot()
        view = snapshot["coordinator"]
        return SiteOut(
            id=site.id, time_zone=site.time_zone, fallback=site.fallback, lease_s=site.lease_s,
            nodes=[NodeOut(
                id=n.id, parent=n.parent, max_current_a=n.max_current_a, max_power_w=n.max_power_w,
                safe_current_a=n.safe_current_a, safe_power_w=n.safe_power_w, margin_a=n.margin_a,
                margin_w=n.margin_w,
            ) for n in site.topology.nodes],
            limits=snapshot["limits"], evses=view.get("evses", {}), violations=view.get("violations", []),
            notices=snapshot["notices"],
        )

    def accepted(site_id: str, kind: SignalKind, node: str | None, source: str, now: datetime, ttl_s: int) -> (
        SignalAccepted
    ):
        return SignalAccepted(
            site=site_id, kind=kind.value, node=node, source=source, received_at=now,
            stale_at=now + timedelta(seconds=ttl_s),
        )

    async def audit(access: Access, site_id: str, kind: SignalKind, body: BaseModel) -> None:
        await access.plane.repository.append_audit(
            access.actor, f"signal.{kind.value}", target=site_id, after=body.model_dump(mode="json"),
        )

    @router.post(
        "/sites/{site_id}/signals/site-limit", status_code=202, response_model=SignalAccepted,
        responses=SITE_ERRORS, summary="A limit schedule for a node (default: the grid connection)",
    )
    async def post_site_limit(
        site_id: str, signal: SiteLimitSignal, access: Annotated[Access, Depends(require_signal("site_limit"))]
    ) -> SignalAccepted:
        controller = _controller(service, site_id)
        now = controller.clock()
        try:
            schedule = controller.signals.put_limit(signal, source=access.actor, now=now)
        except SignalError as exc:
            raise _refuse(exc, "node") from None
        await audit(access, site_id, SignalKind.SITE_LIMIT, signal)
        return accepted(site_id, SignalKind.SITE_LIMIT, schedule.node, access.actor, now, signal.ttl_s)

    @router.post(
        "/sites/{site_id}/signals/building-load", status_code=202, response_model=SignalAccepted,
        responses=SITE_ERRORS, summary="Non-EV load measured on a node (default: the grid connection)",
    )
    async def post_building_load(
        site_id: str, signal: BuildingLoadSignal,
        access: Annotated[Access, Depends(require_signal("building_load"))],
    ) -> SignalAccepted:
        controller = _controller(service, site_id)
        now = controller.clock()
        try:
            reading = controller.signals.put_load(signal, source=access.actor, now=now)
        except SignalError as exc:
            raise _refuse(exc, "node") from None
        await audit(access, site_id, SignalKind.BUILDING_LOAD, signal)
        return accepted(site_id, SignalKind.BUILDING_LOAD, reading.node, access.actor, now, signal.ttl_s)

    def series_route(kind: SignalKind, path: str) -> None:
        @router.post(
            f"/sites/{{site_id}}/signals/{path}", status_code=202, response_model=SignalAccepted,
            responses=SITE_ERRORS, summary=f"A {kind.value} series for the planner", name=f"post_{kind.value}",
        )
        async def post_series(
            site_id: str, signal: SeriesSignal, access: Annotated[Access, Depends(require_signal(kind.value))]
        ) -> SignalAccepted:
            controller = _controller(service, site_id)
            now = controller.clock()
            try:
                controller.signals.put_series(kind, signal, source=access.actor, now=now)
            except SignalError as exc:
                raise _refuse(exc, "unit") from None
            await audit(access, site_id, kind, signal)
            return accepted(site_id, kind, None, access.actor, now, signal.ttl_s)

    series_route(SignalKind.PRICE, "price")
    series_route(SignalKind.SOLAR, "solar")
    return router
