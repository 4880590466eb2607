"""Where the database is, how to connect to it, and bringing its schema up to date.

SQLite (a file under ``./data``) needs no setup and suits one site; PostgreSQL (``WATTCAP_DATABASE_URL``) suits
many stations and several processes. Both are reached through SQLAlchemy's async engine so the server never
blocks its event loop on the database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

ENV_VAR = "WATTCAP_DATABASE_URL"
DEFAULT_URL = "sqlite+aiosqlite:///./data/wattcap.db"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Plain URLs name the sync drivers; the server needs the async ones.
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}
# Serialises concurrent `migrate` calls from several server processes on one PostgreSQL database.
_MIGRATION_LOCK_KEY = 0x77617474  # "watt"


def database_url(settings_or_env: Any = None) -> str:
    """The database URL to use, with an async driver.

    ``settings_or_env`` may be an object with a ``database_url`` attribute (the server's settings), a mapping
    such as ``os.environ`` (read ``WATTCAP_DATABASE_URL``), or None for the process environment. Without a
    URL the SQLite file ``./data/wattcap.db`` is used. ``postgresql://`` and ``sqlite://`` are accepted and
    given their async driver.
    """
    source = os.environ if settings_or_env is None else settings_or_env
    raw = source.get(ENV_VAR) if isinstance(source, Mapping) else getattr(source, "database_url", None)
    return normalise_url(raw or DEFAULT_URL)


def normalise_url(url: str | sa.URL) -> str:
    """``url`` with the async driver for its database (``postgresql://`` becomes ``postgresql+asyncpg://``)."""
    parsed = sa.make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver:
        parsed = parsed.set(drivername=driver)
    return parsed.render_as_string(hide_password=False)


def _sqlite_file(url: sa.URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or url.query.get("mode") == "memory" or database.startswith("file:"):
        return None
    return Path(database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide where transactions begin (see _on_sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL: readers do not block the writer. FULL: a commit is on disk before it is acknowledged, so what a
    # station was told is stored survives a power cut. foreign_keys is off by default in SQLite.
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=10000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _on_sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front, so two transactions that read and then write wait for each
    # other (busy_timeout) instead of one failing with "database is locked" half-way through. Connections that
    # only read (the store's reader, execution option "wattcap_read_only") begin deferred: in WAL mode they read
    # a snapshot and neither wait for nor block a writer.
    if connection.get_execution_options().get("wattcap_read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str | sa.URL | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url`` (default: :func:`database_url`), set up for the store.

    SQLite: the file's directory is created, WAL and foreign keys are switched on for every connection and
    write transactions serialise instead of failing. PostgreSQL: a small pool with liveness checks, since the
    server keeps connections for days and a database restart must not leave it with dead ones. ``kwargs`` go
    to :func:`sqlalchemy.ext.asyncio.create_async_engine`.
    """
    parsed = sa.make_url(normalise_url(url or database_url()))
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, **kwargs)
        sa.event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        sa.event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
        return engine
    options: dict[str, Any] = {"pool_size": 5, "max_overflow": 10, "pool_pre_ping": True, "pool_recycle": 1800}
    options.update(kwargs)
    return create_async_engine(parsed, **options)


def sync_sqlite_engine(engine: AsyncEngine) -> sa.Engine | None:
    """A synchronous engine (the standard library's driver) on the same SQLite file as ``engine``, set up the
    same way, for the store's writer thread (:mod:`wattcap.store.batch`); None for other databases and for an
    in-memory SQLite database (one per connection)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or _sqlite_file(url) is None:
        return None
    # One connection, made and used in the writer thread, closed (by dispose) from the loop's thread.
    sync = sa.create_engine(
        url.set(drivername="sqlite"), poolclass=sa.pool.SingletonThreadPool,
        connect_args={"check_same_thread": False},
    )
    sa.event.listen(sync, "connect", _on_sqlite_connect)
    sa.event.listen(sync, "begin", _on_sqlite_begin)
    return sync


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration pointing at the migrations shipped inside the package (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade(connection: sa.Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
    config = alembic_config()
    config.attributes["connection"] = connection  # env.py runs on this connection instead of opening one
    command.upgrade(config, revision)


async def migrate(url_or_engine: str | sa.URL | AsyncEngine | None = None, revision: str = "head") -> str | None:
    """Create the schema or migrate it to ``revision`` (the latest by default); returns the revision reached.

    Safe to call on every start: an up-to-date database is left alone. Runs in one transaction, so a failed
    migration leaves the previous schema on PostgreSQL (SQLite cannot roll back every DDL statement).
    """
    if isinstance(url_or_engine, AsyncEngine):
        engine, owned = url_or_engine, False
    else:
        engine, owned = create_engine(url_or_engine), True
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, revision)
        return await schema_revision(engine)
    finally:
        if owned:
            await engine.dispose()


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The Alembic revision the database is at, or None for a database that was never migrated."""

    def read(connection: sa.Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)
