"""The store as one object: :class:`Repository` = stations + telemetry + profiles + audit + id tokens + API clients.

The parts are separate classes (one module each) that share only the engine and the clock; the repository
combines them so the server passes around a single object. Every read opens its own short read transaction;
writes are committed by a group committer (:mod:`wattcap.store.batch`), many callers' writes per transaction,
each method returning once its own are committed. A repository is safe to share between all tasks of the server
(of one event loop).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wattcap.store._base import Clock
from wattcap.store.api_clients import ApiClientStore
from wattcap.store.audit import AuditStore
from wattcap.store.batch import Job
from wattcap.store.db import create_engine, migrate
from wattcap.store.profiles import ProfileStore
from wattcap.store.records import StationSnapshot
from wattcap.store.stations import StationStore
from wattcap.store.telemetry import TelemetryStore
from wattcap.store.tokens import IdTokenStore


class Repository(StationStore, TelemetryStore, ProfileStore, AuditStore, IdTokenStore, ApiClientStore):
    """Async access to everything wattcap persists. Build it on an engine, or :meth:`open` a URL.

    ``record(event)`` takes every :mod:`wattcap.core.events` event; the other methods are grouped by part:
    stations/EVSEs/capabilities (:class:`StationStore`), transactions/meter samples/journal/external limits
    (:class:`TelemetryStore`), desired profiles and operations (:class:`ProfileStore`), audit log and
    verification results (:class:`AuditStore`), id tokens (:class:`IdTokenStore`), API clients and their bearer
    tokens (:class:`ApiClientStore`).
    """

    def __init__(self, engine: AsyncEngine, *, clock: Clock | None = None) -> None:
        super().__init__(engine, clock=clock)
        self._owns_engine = False

    @classmethod
    async def open(
        cls, url: str | sa.URL | None = None, *, clock: Clock | None = None, migrate_schema: bool = True
    ) -> Self:
        """Connect to ``url`` (default :func:`wattcap.store.db.database_url`), migrating the schema first.

        The repository owns this engine: :meth:`close` (or leaving ``async with``) disposes of it.
        """
        engine = create_engine(url)
        try:
            if migrate_schema:
                await migrate(engine)
        except BaseException:
            await engine.dispose()
            raise
        repository = cls(engine, clock=clock)
        repository._owns_engine = True
        return repository

    async def close(self) -> None:
        """Release the connections if this repository opened them (an engine passed in is the caller's), once
        what is being written is committed."""
        await self._committer.close()
        if self._owns_engine:
            await self._engine.dispose()

    async def write_together(self, *jobs: Job) -> list[Any]:
        """Run write jobs (``put_desired_profile_job``, ``append_audit_job``, ``finish_operation_job``, ...)
        atomically, in order, and return their values once committed: one caller's related writes in one
        transaction instead of one each (and that transaction shared with other callers', see
        :mod:`wattcap.store.batch`)."""
        return await self._write(*jobs)

    async def station_snapshot(self, station_id: str) -> StationSnapshot | None:
        """What the profile lifecycle reads about a station (the station, its capabilities, desired profiles and
        active transactions) in one read transaction: one consistent snapshot, one connection. None for a
        station never registered."""
        async with self._reader.connect() as connection:
            station = await self._get_station(connection, station_id)
            if station is None:
                return None
            return StationSnapshot(
                station,
                await self._get_capabilities(connection, station_id),
                tuple(await self._desired_profiles(connection, station_id)),
                tuple(await self._active_transactions(connection, station_id)),
            )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
