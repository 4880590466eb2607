"""Every store test runs twice: on SQLite (a temporary file) and on a real PostgreSQL server.

PostgreSQL is found at ``WATTCAP_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``,
a maintenance database used only to create and drop the test databases). Each test session creates its own
uniquely named databases ``wattcap_test_<random>`` and drops them at the end; if the server is not reachable
the PostgreSQL half of the tests is skipped with the reason.

Tests share one migrated database per backend and stay independent by using their own station ids (and
actors/targets in the audit log); tests that need an empty database ask the backend for a fresh one.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa

from wattcap.store import Repository, create_engine, migrate

PG_ADMIN_URL = os.environ.get("WATTCAP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class PostgresServer:
    """Creates throw-away databases on the test server and drops them when the session ends."""

    def __init__(self, admin_url: str) -> None:
        self.admin = sa.make_url(admin_url).set(drivername="postgresql")
        self.created: list[str] = []

    def _dsn(self) -> str:
        return self.admin.render_as_string(hide_password=False)

    async def _execute(self, sql: str) -> None:
        connection = await asyncpg.connect(self._dsn(), timeout=3)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    def reachable(self) -> str | None:
        """None if the server answers, else why not."""
        try:
            asyncio.run(self._execute("SELECT 1"))
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            return f"PostgreSQL not reachable at {self.admin.render_as_string()}: {exc}"
        return None

    async def create_database(self) -> str:
        name = f"wattcap_test_{uuid.uuid4().hex[:12]}"
        await self._execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for name in self.created:
            asyncio.run(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.created.clear()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer(PG_ADMIN_URL)
    reason = server.reachable()
    if reason:
        pytest.skip(reason)
    yield server
    server.drop_all()


@dataclass
class Backend:
    """One database server: a shared, migrated database (``url``) and a way to get fresh empty ones."""

    name: str
    url: str
    new_empty_url: Callable[[], Awaitable[str]] = field(repr=False)


@pytest.fixture(scope="session")
def sqlite_backend(tmp_path_factory: pytest.TempPathFactory) -> Backend:
    directory = tmp_path_factory.mktemp("sqlite")

    async def new_empty_url() -> str:
        return f"sqlite+aiosqlite:///{directory / f'{uuid.uuid4().hex[:12]}.db'}"

    url = asyncio.run(new_empty_url())
    asyncio.run(migrate(url))
    return Backend("sqlite", url, new_empty_url)


@pytest.fixture(scope="session")
def postgresql_backend(postgres_server: PostgresServer) -> Backend:
    url = asyncio.run(postgres_server.create_database())
    asyncio.run(migrate(url))
    return Backend("postgresql", url, postgres_server.create_database)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.getfixturevalue(f"{request.param}_backend")


class FakeClock:
    """The store's "now", moved by the test: no test depends on the wall clock or on sleeping."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
async def repo(backend: Backend, clock: FakeClock) -> AsyncIterator[Repository]:
    engine = create_engine(backend.url)
    try:
        yield Repository(engine, clock=clock)
    finally:
        await engine.dispose()


@pytest.fixture
def station_id() -> str:
    """A station id no other test uses, so tests can share a database."""
    return f"CP-{uuid.uuid4().hex[:10]}"


def sqlite_path(url: str) -> Path:
    return Path(sa.make_url(url).database or "")
