"""The API specs run over a real server: the control plane as ``wattcap serve`` assembles it (:class:`ControlPlane`)
on a fresh database, served by uvicorn on a loopback port (``server.serving``), with simulated stations from
``wattcap.sim`` where OCPP is needed. SQLite by default; the specs that take ``database_url`` also run on
PostgreSQL when it is reachable (``server.store_support``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.store_support import database_url, pg_databases  # noqa: F401  (fixtures)

from .site import ApiSite, api_site


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[ApiSite]:
    async with api_site(f"sqlite+aiosqlite:///{tmp_path / 'wattcap.db'}") as running:
        yield running
