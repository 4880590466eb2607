"""What every part of the repository shares: the engine, the clock and the dialect-specific INSERT."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wattcap.store.batch import GroupCommitter, Job
from wattcap.store.errors import UnknownStationError
from wattcap.store.schema import stations

Clock = Callable[[], datetime]

#: Execution option of the connections that only read (a deferred BEGIN on SQLite).
READ_ONLY = "wattcap_read_only"


def utc_now() -> datetime:
    return datetime.now(UTC)


def latest(current: Any, incoming: Any) -> sa.Case[Any]:
    """The later (larger) of two values where either may be NULL, in SQL both databases understand.

    ``max``/``GREATEST`` disagree about NULLs between SQLite and PostgreSQL; this never lets NULL win.
    """
    return sa.case((current.is_(None), incoming), (incoming > current, incoming), else_=current)


class StoreBase:
    """Holds the engine; the repository's parts (stations, telemetry, profiles, audit) build on it.

    ``clock`` gives "now" for the times the store stamps itself (created/updated/last seen), so tests and
    simulations control time instead of depending on the wall clock.
    """

    def __init__(self, engine: AsyncEngine, *, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock: Clock = clock or utc_now
        # Reads start a plain (deferred) transaction: on SQLite they take no write lock and, in WAL mode, wait for
        # no writer (see wattcap.store.db._on_sqlite_begin). Writes take the lock up front.
        self._reader = engine.execution_options(**{READ_ONLY: True})
        self._committer = GroupCommitter(engine)
        self._station_changes: dict[str, int] = {}
        self._statements: dict[Hashable, Any] = {}

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def committer(self) -> GroupCommitter:
        """Where the write units of this store are committed, many per transaction."""
        return self._committer

    async def _write(self, *jobs: Job) -> list[Any]:
        """Run ``jobs`` atomically, in a transaction shared with other callers' units; their values once committed."""
        try:
            return await self._committer.run(*jobs)
        finally:
            for station_id in {s for job in jobs if (s := getattr(job, "station_id", None)) is not None}:
                self._changed(station_id)

    def station_changes(self, station_id: str) -> int:
        """How many writes about ``station_id`` this store object has committed (or tried to): a reader that
        notes it before reading and finds it unchanged later knows that nothing written through this object since
        (desired profiles, statuses, capabilities, transactions, connection) can be missing from what it read."""
        return self._station_changes.get(station_id, 0)

    def _changed(self, station_id: str) -> None:
        self._station_changes[station_id] = self.station_changes(station_id) + 1

    @staticmethod
    def _about(station_id: str | None, job: Job) -> Job:
        """Mark ``job`` as a write about ``station_id`` (see :meth:`station_changes`)."""
        job.station_id = station_id  # type: ignore[attr-defined]
        return job

    def _executing(self, statement: Any, *, station_id: str | None = None, scalar: bool = False) -> Job:
        """A job that executes one statement (after checking that ``station_id`` is registered, if given)."""

        async def job(connection: AsyncConnection) -> Any:
            if station_id is not None:
                await self._require_station(connection, station_id)
            result = await connection.execute(statement)
            return result.scalar_one() if scalar else None

        return self._about(station_id, job)

    def _prepared(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The statement ``build()`` makes, made once per store and executed with parameters after that.

        Building an upsert is costly in SQLAlchemy: each ``insert().excluded`` makes a fresh alias of the table,
        every column proxied anew, and a new statement object misses the compiled cache's memoised key. On the
        hot paths (a station heard from, a status, a transaction, a desired profile) that was about a tenth of
        the event loop's time under load; a statement built once costs one cache lookup."""
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = build()
        return statement

    def _insert(self, table: sa.Table) -> Any:
        """An INSERT that supports ``on_conflict_do_update/do_nothing`` (same API on both dialects)."""
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    @staticmethod
    async def _require_station(connection: AsyncConnection, station_id: str) -> None:
        found = await connection.scalar(sa.select(stations.c.id).where(stations.c.id == station_id))
        if found is None:
            raise UnknownStationError(station_id)
