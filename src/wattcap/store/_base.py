"""What every part of the repository shares: the engine, the clock and the dialect-specific INSERT."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wattcap.store.errors import UnknownStationError
from wattcap.store.schema import stations

Clock = Callable[[], datetime]


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

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

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
