"""The ASGI application: OCPP over WebSocket now, the REST API and UI later, in one process.

:func:`create_app` wires settings, a :class:`~wattcap.server.backend.StationBackend` and a
:class:`~wattcap.server.stations.StationRegistry` into a FastAPI app; :func:`uvicorn_config` is how that app
must be served (compression off, frame limit, TLS), shared by the CLI and the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import uvicorn
from fastapi import FastAPI

from wattcap.server.backend import StationBackend
from wattcap.server.charge_point import utc_now
from wattcap.server.gateway import OcppGateway
from wattcap.server.settings import Settings
from wattcap.server.stations import StationRegistry


def create_app(
    settings: Settings,
    backend: StationBackend,
    *,
    registry: StationRegistry | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """The wattcap ASGI app. ``app.state`` carries ``settings``, ``backend`` and ``registry``."""
    registry = StationRegistry() if registry is None else registry
    gateway = OcppGateway(settings, backend, registry, clock)
    app = FastAPI(title="wattcap", summary="Smart-charging control plane for EV charging sites")
    app.state.settings = settings
    app.state.backend = backend
    app.state.registry = registry
    app.add_api_websocket_route("/ocpp/{station_id}", gateway.endpoint, name="ocpp")

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "stations_connected": len(registry)}

    return app


def uvicorn_config(app: FastAPI, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """How the app is served: per-message deflate off (it triples memory per idle connection), the frame
    limit enforced by the protocol layer too, WebSocket pings, and TLS when configured (security profile 2)."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "ws_max_size": settings.max_frame_bytes,
        "ws_per_message_deflate": False,
        "ws_ping_interval": settings.ws_ping_interval_s,
        "ws_ping_timeout": settings.ws_ping_timeout_s,
        "ssl_certfile": settings.tls_certfile,
        "ssl_keyfile": settings.tls_keyfile,
        "log_config": None,
        "access_log": False,
        "lifespan": "auto",
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)
