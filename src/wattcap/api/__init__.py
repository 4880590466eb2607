"""The HTTP API (``/api/v1``), the live stream (``/api/v1/stream``) and ``/metrics``, on the control plane's app.

Thin by design: routes authenticate (:mod:`.deps`), ask :mod:`wattcap.core.governance` whether the client may,
and hand the work to the :class:`~wattcap.server.runtime.ControlPlane`'s services; shapes are in
:mod:`.schemas`, errors in :mod:`.errors`. See ``docs/api.md``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI

from wattcap.api.errors import install_error_handlers
from wattcap.api.routers import ROUTERS
from wattcap.api.routers.metrics import router as metrics_router
from wattcap.api.routers.stream import stream_endpoint

if TYPE_CHECKING:
    from wattcap.server.metrics import Metrics
    from wattcap.server.runtime import ControlPlane

API_PREFIX = "/api/v1"

DESCRIPTION = """\
The wattcap control plane's HTTP API. Every route needs `Authorization: Bearer <token>` (a token from
`wattcap token create`); what a client may read and change is its **grant** (`GET /api/v1/me`,
`GET /api/v1/governance`). A request outside the grant is answered **403** naming the governance rule
(`GOV-SCOPE`, `GOV-PURPOSE`, `GOV-BAND`, `GOV-MAX-LIMIT`, `GOV-SIGNAL`, `GOV-READONLY`); an invalid one **422**
with the JSON path and requirement id of each finding. The live stream is a WebSocket at `/api/v1/stream`.
"""


class RequestCounter:
    """Counts HTTP requests by method, route template and status (templates, not paths, keep the label set small).

    The template is found among the app's OpenAPI paths (literal segments before parameters, so ``…/dry-run`` is
    not ``…/{profile_id}``) rather than read from FastAPI's scope, whose route objects do not carry the prefix
    they were included under."""

    def __init__(self, app: Any, metrics: Metrics, fastapi: FastAPI) -> None:
        self.app = app
        self.metrics = metrics
        self.fastapi = fastapi
        self._templates: list[tuple[re.Pattern[str], str]] | None = None

    def template(self, path: str) -> str:
        if self._templates is None:
            paths = sorted(self.fastapi.openapi()["paths"], key=lambda p: (p.count("{"), p))
            self._templates = [
                (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(p)) + "$"), p) for p in paths
            ]
        return next((template for pattern, template in self._templates if pattern.match(path)), "unmatched")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = self.template(scope.get("path", ""))
            self.metrics.api_requests.labels(scope.get("method", ""), route, str(status)).inc()


def install_api(app: FastAPI, plane: ControlPlane) -> None:
    """Mount the API, the stream and ``/metrics`` on ``app`` (``app.state.plane`` must be ``plane``)."""
    app.description = DESCRIPTION
    app.version = "1"
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX)
    for router in (*ROUTERS, *plane.routers):
        api.include_router(router)
    app.include_router(api)
    app.include_router(metrics_router)
    app.add_api_websocket_route(f"{API_PREFIX}/stream", stream_endpoint, name="stream")
    app.add_middleware(RequestCounter, metrics=plane.metrics, fastapi=app)


__all__ = ["API_PREFIX", "install_api"]
