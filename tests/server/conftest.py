"""Fixtures for the server specs: a real uvicorn on an ephemeral loopback port, and charge points that connect.

Nothing here sleeps to make an assertion true: readiness is polled with a deadline, and every wait for an
event goes through the backend's condition (:meth:`InMemoryBackend.wait_for`) with a generous timeout.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from wattcap.core.model import OcppVersion
from wattcap.server.app import create_app
from wattcap.server.backend import InMemoryBackend
from wattcap.server.settings import Settings
from wattcap.server.stations import StationRegistry

from .chargers import CHARGERS, Charger16, Charger201
from .serving import serving
from .store_support import database_url, pg_databases  # noqa: F401  (fixtures of the specs on the real store)

PASSWORDS = {"CP16": "password-of-cp16-0001", "CP201": "password-of-cp201-001", "CP16B": "password-of-cp16b-001"}
TOKENS = {"TOKEN-OK", "04A2B3C4D5E6F7"}
SUBPROTOCOL = {OcppVersion.V16: "ocpp1.6", OcppVersion.V201: "ocpp2.0.1"}
TIMEOUT = 10.0


@dataclass
class Running:
    url: str
    settings: Settings
    backend: InMemoryBackend
    registry: StationRegistry


def basic_auth(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@asynccontextmanager
async def running_server(
    settings: Settings | None = None, backend: InMemoryBackend | None = None, **app_options: Any
) -> AsyncIterator[Running]:
    settings = settings or Settings(heartbeat_interval_s=60, call_timeout_s=5.0)
    backend = backend or InMemoryBackend(PASSWORDS, TOKENS)
    registry = StationRegistry()
    app = create_app(settings, backend, registry=registry, **app_options)
    async with serving(app, settings, TIMEOUT) as served:
        scheme = "wss" if settings.tls else "ws"
        yield Running(f"{scheme}://127.0.0.1:{served.port}", settings, backend, registry)


@pytest.fixture
async def server() -> AsyncIterator[Running]:
    async with running_server() as running:
        yield running


def settings_with(**changes: Any) -> Settings:
    return replace(Settings(heartbeat_interval_s=60, call_timeout_s=5.0), **changes)


@asynccontextmanager
async def raw_socket(
    server: Running,
    station_id: str,
    version: OcppVersion | None = OcppVersion.V16,
    *,
    password: str | None = None,
    subprotocols: list[str] | None = None,
    headers: dict[str, str] | None = None,
    **options: Any,
) -> AsyncIterator[ClientConnection]:
    """A plain WebSocket to the server, authenticated as ``station_id`` unless told otherwise."""
    if subprotocols is None:
        subprotocols = [] if version is None else [SUBPROTOCOL[version]]
    if headers is None:
        headers = basic_auth(station_id, password if password is not None else PASSWORDS.get(station_id, "x"))
    async with connect(
        f"{server.url}/ocpp/{station_id}",
        subprotocols=subprotocols or None,
        additional_headers=headers,
        **{"compression": None, "proxy": None, "open_timeout": TIMEOUT, "close_timeout": 2, **options},
    ) as websocket:
        yield websocket


@asynccontextmanager
async def charger(
    server: Running, station_id: str, version: OcppVersion, cls: type | None = None, **options: Any
) -> AsyncIterator[Charger16 | Charger201]:
    """A charge point written with the ``ocpp`` package, its message loop running in a task."""
    async with raw_socket(server, station_id, version, **options) as websocket:
        charge_point = (cls or CHARGERS[version])(station_id, websocket, response_timeout=TIMEOUT)
        task = asyncio.create_task(charge_point.start())
        try:
            yield charge_point
        finally:
            task.cancel()
            with suppress(BaseException):
                await task


async def exchange(websocket: ClientConnection, frame: str) -> list[Any]:
    """Send one raw frame and return the parsed answer."""
    import json

    await websocket.send(frame)
    async with asyncio.timeout(TIMEOUT):
        return json.loads(await websocket.recv())
