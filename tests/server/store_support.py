"""The server on the real store: fresh SQLite and PostgreSQL databases, and a uvicorn that can be crashed.

PostgreSQL is the test server of the store specs (``WATTCAP_TEST_POSTGRES_URL``, default the local
``postgres`` maintenance database); each test gets its own new database, dropped at the end of the session. When
the server is unreachable the PostgreSQL half is skipped with the reason.

:func:`store_server` runs the app like ``wattcap serve`` does (its own :class:`Repository`, migrated on open);
:meth:`StoreServer.crash` stops it the way a killed process stops: no graceful shutdown, no close frames.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from store.conftest import PG_ADMIN_URL, PostgresServer
from wattcap.server.app import create_app
from wattcap.server.backend_store import StoreBackend
from wattcap.server.settings import Settings
from wattcap.server.stations import StationRegistry
from wattcap.store import Repository

from .serving import Serving, serving

TIMEOUT = 10.0


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PostgresServer]:
    server = PostgresServer(PG_ADMIN_URL)
    reason = server.reachable()
    if reason:
        pytest.skip(reason)
    yield server
    server.drop_all()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """A new, empty database of each kind (its schema is created by whoever opens it first).

    A plain fixture on purpose: it runs outside the test's event loop, so it may run its own."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'wattcap.db'}"
    return asyncio.run(request.getfixturevalue("pg_databases").create_database())


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = TIMEOUT) -> Any:
    """Poll ``check()`` until it returns something truthy (the database has no change notification to await)."""
    async with asyncio.timeout(timeout):
        while not (value := await check()):
            await asyncio.sleep(0.02)
        return value


@dataclass
class StoreServer:
    """A running server on the store; ``url``/``settings``/``backend``/``registry`` as ``conftest.Running``."""

    url: str
    settings: Settings
    backend: StoreBackend
    registry: StationRegistry
    serving: Serving = field(repr=False)

    async def crash(self) -> None:
        """Stop as a killed process would (:meth:`Serving.crash`): no graceful shutdown, no close frames."""
        await self.serving.crash()


@asynccontextmanager
async def store_server(database_url: str, settings: Settings | None = None) -> AsyncIterator[StoreServer]:
    settings = settings or Settings(heartbeat_interval_s=60, call_timeout_s=5.0)
    repository = await Repository.open(database_url)
    backend = StoreBackend(repository, accept_unknown_tokens=settings.accept_unknown_tokens)
    registry = StationRegistry()
    app = create_app(settings, backend, registry=registry)
    try:
        async with serving(app, settings, TIMEOUT) as served:
            yield StoreServer(f"ws://127.0.0.1:{served.port}", settings, backend, registry, served)
    finally:
        await repository.close()
