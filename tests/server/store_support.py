"""The server on the real store: fresh SQLite and PostgreSQL databases, and a uvicorn that can be crashed.

PostgreSQL is the test server of the store specs (``WATTCAP_TEST_POSTGRES_URL``, default the local
``postgres`` maintenance database); each test gets its own new database, dropped at the end of the session. When
the server is unreachable the PostgreSQL half is skipped with the reason.

:func:`store_server` runs the app like ``wattcap serve`` does (its own :class:`Repository`, migrated on open);
:meth:`StoreServer.crash` stops it the way a killed process stops: no graceful shutdown, no close frames.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn

from store.conftest import PG_ADMIN_URL, PostgresServer
from wattcap.server.app import create_app, uvicorn_config
from wattcap.server.backend_store import StoreBackend
from wattcap.server.settings import Settings
from wattcap.server.stations import StationRegistry
from wattcap.store import Repository

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
    server: uvicorn.Server = field(repr=False)
    task: asyncio.Task = field(repr=False)
    crashed: bool = False

    async def crash(self) -> None:
        """Stop as a killed process would: stop listening, drop every TCP connection without a WebSocket close
        frame, abandon the requests being handled. Nothing runs uvicorn's graceful shutdown."""
        self.crashed = True
        self.task.cancel()
        with suppress(asyncio.CancelledError):
            await self.task
        for listener in getattr(self.server, "servers", []):
            listener.close()
        for connection in list(self.server.server_state.connections):
            connection.transport.abort()
        handlers = list(self.server.server_state.tasks)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


@asynccontextmanager
async def store_server(database_url: str, settings: Settings | None = None) -> AsyncIterator[StoreServer]:
    settings = settings or Settings(heartbeat_interval_s=60, call_timeout_s=5.0)
    repository = await Repository.open(database_url)
    backend = StoreBackend(repository, accept_unknown_tokens=settings.accept_unknown_tokens)
    registry = StationRegistry()
    app = create_app(settings, backend, registry=registry)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, settings, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    running = StoreServer(f"ws://127.0.0.1:{port}", settings, backend, registry, server, task)
    try:
        async with asyncio.timeout(TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield running
    finally:
        if not running.crashed:
            server.should_exit = True
            try:
                await asyncio.wait_for(task, TIMEOUT)
            except TimeoutError:
                server.force_exit = True
                task.cancel()
        sock.close()
        await repository.close()
