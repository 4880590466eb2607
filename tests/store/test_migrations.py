"""The schema is created by the packaged Alembic migrations, on start, any number of times."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from wattcap.store import DEFAULT_URL, Repository, create_engine, database_url, migrate, schema_revision
from wattcap.store.db import MIGRATIONS_DIR, alembic_config
from wattcap.store.schema import metadata

from .conftest import Backend, sqlite_path

REPO_ROOT = Path(__file__).resolve().parents[2]


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_migrate_creates_the_schema_on_an_empty_database(backend: Backend) -> None:
    url = await backend.new_empty_url()
    engine = create_engine(url)
    try:
        assert await schema_revision(engine) is None
        revision = await migrate(engine)
        assert revision is not None
        assert await schema_revision(engine) == revision
    finally:
        await engine.dispose()
    assert set(metadata.tables) <= await _tables(url)


async def test_migrate_is_idempotent_and_keeps_data(backend: Backend, station_id: str) -> None:
    url = await backend.new_empty_url()
    first = await migrate(url)
    async with await Repository.open(url) as repository:  # open() migrates again
        await repository.add_station(station_id)
    assert await migrate(url) == first
    async with await Repository.open(url) as repository:
        assert (await repository.get_station(station_id)) is not None


async def test_migrated_schema_matches_the_code(backend: Backend) -> None:
    """The revisions create exactly the tables, columns, keys and indexes that ``schema.py`` declares."""
    engine = create_engine(backend.url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), metadata)
            )
    finally:
        await engine.dispose()
    assert differences == []


async def test_downgrade_to_base_removes_every_table(backend: Backend) -> None:
    url = await backend.new_empty_url()
    await migrate(url)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:

            def downgrade(sync_connection: sa.Connection) -> None:
                config = alembic_config()
                config.attributes["connection"] = sync_connection
                command.downgrade(config, "base")

            await connection.run_sync(downgrade)
        assert await schema_revision(engine) is None
    finally:
        await engine.dispose()
    assert not (set(metadata.tables) & await _tables(url))


async def test_sqlite_engine_creates_the_directory_and_enables_wal_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'wattcap.db'}"
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            journal_mode = await connection.scalar(sa.text("PRAGMA journal_mode"))
            foreign_keys = await connection.scalar(sa.text("PRAGMA foreign_keys"))
    finally:
        await engine.dispose()
    assert sqlite_path(url).parent.is_dir()
    assert (journal_mode, foreign_keys) == ("wal", 1)


def test_database_url_defaults_to_sqlite_under_data() -> None:
    assert database_url({}) == DEFAULT_URL == "sqlite+aiosqlite:///./data/wattcap.db"


def test_database_url_reads_the_environment_and_gives_async_drivers() -> None:
    env = {"WATTCAP_DATABASE_URL": "postgresql://postgres@db.example:5432/wattcap"}
    assert database_url(env) == "postgresql+asyncpg://postgres@db.example:5432/wattcap"
    assert database_url({"WATTCAP_DATABASE_URL": "sqlite:////var/lib/w.db"}) == "sqlite+aiosqlite:////var/lib/w.db"


def test_database_url_reads_a_settings_object() -> None:
    class Settings:
        database_url = "postgresql+asyncpg://u:p%40ss@h/db"

    class Unset:
        database_url = None

    assert database_url(Settings()) == "postgresql+asyncpg://u:p%40ss@h/db"
    assert database_url(Unset()) == DEFAULT_URL


def test_database_url_without_argument_uses_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATTCAP_DATABASE_URL", "postgresql://x@h/d")
    assert database_url() == "postgresql+asyncpg://x@h/d"
    monkeypatch.delenv("WATTCAP_DATABASE_URL")
    assert database_url() == DEFAULT_URL


def test_every_migration_file_is_package_data() -> None:
    """An installed wattcap (a wheel, no source tree) must still find env.py and every revision."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["wattcap.store"]
    package_dir = MIGRATIONS_DIR.parent
    files = [
        p.relative_to(package_dir).as_posix()
        for p in MIGRATIONS_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert "migrations/env.py" in files
    assert any(f.startswith("migrations/versions/") for f in files)
    missing = [f for f in files if not any(_glob_matches(f, pattern) for pattern in patterns)]
    assert missing == []


def _glob_matches(path: str, pattern: str) -> bool:
    """setuptools-style glob: ``*`` does not cross a ``/``."""
    parts, pattern_parts = path.split("/"), pattern.split("/")
    return len(parts) == len(pattern_parts) and all(map(fnmatch.fnmatchcase, parts, pattern_parts))
