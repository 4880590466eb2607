"""The store as one object: :class:`Repository` = stations + telemetry + profiles + audit + id tokens + API clients.

The parts are separate classes (one module each) that share only the engine and the clock; the repository
combines them so the server passes around a single object. Every method opens its own short transaction, so
a repository is safe to share between all tasks of the server.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wattcap.store._base import Clock
from wattcap.store.api_clients import ApiClientStore
from wattcap.store.audit import AuditStore
from wattcap.store.db import create_engine, migrate
from wattcap.store.profiles import ProfileStore
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
        """Release the connections if this repository opened them (an engine passed in is the caller's)."""
        if self._owns_engine:
            await self._engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
