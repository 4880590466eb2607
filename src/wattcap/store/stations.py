"""Stations, their EVSEs, connector states and capabilities.

A station row exists for every id wattcap has heard of: operators register stations with a password
(:meth:`StationStore.add_station`), and a station that connects unannounced gets a ``pending`` row from the
first event it sends, so nothing a station says is ever dropped for lack of a row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wattcap.store._base import StoreBase, latest
from wattcap.store.errors import StationExistsError, UnknownStationError
from wattcap.store.passwords import check_password, hash_password
from wattcap.store.records import Capabilities, CapabilityStatus, ConnectorState, Evse, Station, StationState
from wattcap.store.schema import capabilities, connector_status, evses, stations

_SECURITY_PROFILES = (0, 1, 2)


def _station(row: sa.Row[Any]) -> Station:
    return Station(
        id=row.id,
        state=StationState(row.state),
        security_profile=row.security_profile,
        has_password=bool(row.has_password),
        ocpp_version=row.ocpp_version,
        vendor=row.vendor,
        model=row.model,
        serial_number=row.serial_number,
        firmware_version=row.firmware_version,
        dialect=row.dialect,
        boot_reason=row.boot_reason,
        created_at=row.created_at,
        last_boot_at=row.last_boot_at,
        last_seen_at=row.last_seen_at,
    )


# Every column but the hash: reading a station must not move the hash into memory it does not need to be in.
_STATION_COLUMNS = [c for c in stations.c if c.name != "password_hash"] + [
    stations.c.password_hash.is_not(None).label("has_password")
]


def _check_security_profile(security_profile: int, password: str | None) -> None:
    if security_profile not in _SECURITY_PROFILES:
        raise ValueError(f"security profile must be one of {_SECURITY_PROFILES}, got {security_profile!r}")
    if security_profile in (1, 2) and not password:
        raise ValueError(f"security profile {security_profile} authenticates with a password: give one")


class StationStore(StoreBase):
    """Registration, authentication and inventory of stations."""

    async def add_station(
        self,
        station_id: str,
        password: str | None = None,
        security_profile: int = 0,
        *,
        state: StationState | str = StationState.ACCEPTED,
        ocpp_version: str | None = None,
        dialect: str | None = None,
    ) -> Station:
        """Register a station. Only a salted hash of ``password`` is stored.

        An operator-registered station is ``accepted`` unless told otherwise. Raises
        :class:`StationExistsError` if the id is taken (also by a station that connected unannounced: approve
        that one with :meth:`update_station` and :meth:`set_password`).
        """
        _check_security_profile(security_profile, password)
        # Hashing takes tens of milliseconds of CPU on purpose; keep it off the event loop.
        password_hash = await asyncio.to_thread(hash_password, password) if password else None
        row = {
            "id": station_id,
            "security_profile": security_profile,
            "password_hash": password_hash,
            "state": StationState(state).value,
            "ocpp_version": ocpp_version,
            "dialect": dialect,
            "created_at": self._clock(),
        }
        async with self._engine.begin() as connection:
            inserted = await connection.execute(
                self._insert(stations).values(row).on_conflict_do_nothing(index_elements=[stations.c.id])
            )
            if inserted.rowcount != 1:
                raise StationExistsError(station_id)
            return _station((await connection.execute(self._station_query(station_id))).one())

    @staticmethod
    def _station_query(station_id: str) -> sa.Select[Any]:
        return sa.select(*_STATION_COLUMNS).where(stations.c.id == station_id)

    async def get_station(self, station_id: str) -> Station | None:
        async with self._reader.connect() as connection:
            return await self._get_station(connection, station_id)

    async def _get_station(self, connection: AsyncConnection, station_id: str) -> Station | None:
        row = (await connection.execute(self._station_query(station_id))).one_or_none()
        return None if row is None else _station(row)

    async def list_stations(self, *, state: StationState | str | None = None) -> list[Station]:
        query = sa.select(*_STATION_COLUMNS).order_by(stations.c.id)
        if state is not None:
            query = query.where(stations.c.state == StationState(state).value)
        async with self._reader.connect() as connection:
            return [_station(row) for row in await connection.execute(query)]

    async def update_station(
        self,
        station_id: str,
        *,
        state: StationState | str | None = None,
        security_profile: int | None = None,
        ocpp_version: str | None = None,
        dialect: str | None = None,
    ) -> Station:
        """Change what is given (None leaves a field as it is); raises :class:`UnknownStationError`."""
        values: dict[str, Any] = {}
        if state is not None:
            values["state"] = StationState(state).value
        if security_profile is not None:
            if security_profile not in _SECURITY_PROFILES:
                raise ValueError(f"security profile must be one of {_SECURITY_PROFILES}, got {security_profile!r}")
            values["security_profile"] = security_profile
        if ocpp_version is not None:
            values["ocpp_version"] = ocpp_version
        if dialect is not None:
            values["dialect"] = dialect
        async with self._engine.begin() as connection:
            if values:
                await connection.execute(sa.update(stations).where(stations.c.id == station_id).values(values))
            row = (await connection.execute(self._station_query(station_id))).one_or_none()
        self._changed(station_id)
        if row is None:
            raise UnknownStationError(station_id)
        return _station(row)

    async def set_password(self, station_id: str, password: str | None) -> None:
        """Set (or with None remove) a station's password, e.g. after a BasicAuthPassword rotation."""
        password_hash = await asyncio.to_thread(hash_password, password) if password is not None else None
        async with self._engine.begin() as connection:
            result = await connection.execute(
                sa.update(stations).where(stations.c.id == station_id).values(password_hash=password_hash)
            )
        if result.rowcount != 1:
            raise UnknownStationError(station_id)

    async def verify_password(self, station_id: str, password: str) -> bool:
        """Whether ``password`` is the station's password, in constant time.

        An unknown station or one without a password is checked against a dummy hash, so the answer time does
        not tell an attacker which station ids exist.
        """
        async with self._reader.connect() as connection:
            stored = await connection.scalar(sa.select(stations.c.password_hash).where(stations.c.id == station_id))
        return await asyncio.to_thread(check_password, password, stored)

    async def mark_pending(self, station_id: str) -> None:
        """An unknown station was let in to await approval: give it a ``pending`` row (a known one is unchanged)."""
        now = self._clock()
        statement = self._insert(stations).values(id=station_id, created_at=now, last_seen_at=now)
        await self._write(self._about(station_id, self._executing(
            statement.on_conflict_do_nothing(index_elements=[stations.c.id])
        )))

    async def station_connected(self, station_id: str, ocpp_version: str) -> None:
        """A station opened a connection speaking ``ocpp_version``: remember the version and that it is here."""
        now = self._clock()
        statement = self._insert(stations).values(
            id=station_id, created_at=now, last_seen_at=now, ocpp_version=str(ocpp_version)
        )
        statement = statement.on_conflict_do_update(
            index_elements=[stations.c.id],
            set_={
                "ocpp_version": statement.excluded.ocpp_version,
                "last_seen_at": latest(stations.c.last_seen_at, statement.excluded.last_seen_at),
            },
        )
        await self._write(self._about(station_id, self._executing(statement)))

    async def station_disconnected(self, station_id: str) -> None:
        """The station's connection ended: it was last seen now (an unknown id changes nothing)."""
        now = sa.literal(self._clock(), stations.c.last_seen_at.type)
        seen = sa.update(stations).where(stations.c.id == station_id)
        await self._write(self._executing(seen.values(last_seen_at=latest(stations.c.last_seen_at, now))))

    async def delete_station(self, station_id: str) -> bool:
        """Remove a station and everything recorded about it (the audit log stays)."""
        async with self._engine.begin() as connection:
            result = await connection.execute(sa.delete(stations).where(stations.c.id == station_id))
        return result.rowcount == 1

    # --- EVSEs and connectors -------------------------------------------------------------------------------

    async def put_evse(self, evse: Evse) -> Evse:
        """Create or replace an EVSE's description."""
        if evse.current_type not in (None, "AC", "DC"):
            raise ValueError(f"current_type must be 'AC' or 'DC', got {evse.current_type!r}")
        row = {
            "station_id": evse.station_id,
            "evse_id": evse.evse_id,
            "connector_ids": list(evse.connector_ids),
            "current_type": evse.current_type,
            "phases": evse.phases,
            "max_current_a": evse.max_current_a,
            "max_power_w": evse.max_power_w,
            "updated_at": self._clock(),
        }
        statement = self._insert(evses).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=[evses.c.station_id, evses.c.evse_id],
            set_={name: statement.excluded[name] for name in row if name not in ("station_id", "evse_id")},
        )
        await self._write(self._executing(statement, station_id=evse.station_id))
        return Evse(**{**row, "connector_ids": tuple(evse.connector_ids)})

    async def list_evses(self, station_id: str) -> list[Evse]:
        query = sa.select(evses).where(evses.c.station_id == station_id).order_by(evses.c.evse_id)
        async with self._reader.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [Evse(**{**row, "connector_ids": tuple(row["connector_ids"])}) for row in rows]

    async def connector_states(self, station_id: str) -> list[ConnectorState]:
        """The last status each connector reported (StatusNotification / 2.0.1 connector status)."""
        query = (
            sa.select(connector_status)
            .where(connector_status.c.station_id == station_id)
            .order_by(connector_status.c.evse_id, connector_status.c.connector_id)
        )
        async with self._reader.connect() as connection:
            return [ConnectorState(**row) for row in (await connection.execute(query)).mappings()]

    # --- capabilities ---------------------------------------------------------------------------------------

    async def put_capabilities(
        self,
        station_id: str,
        document: Mapping[str, Any],
        status: CapabilityStatus | str = CapabilityStatus.ANSWERED,
        read_at: datetime | None = None,
    ) -> Capabilities:
        """Store what the station said about itself, replacing the previous document."""
        row = {
            "station_id": station_id,
            "document": dict(document),
            "status": str(status),
            "read_at": read_at,
            "updated_at": self._clock(),
        }
        statement = self._insert(capabilities).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=[capabilities.c.station_id],
            set_={name: statement.excluded[name] for name in ("document", "status", "read_at", "updated_at")},
        )
        await self._write(self._executing(statement, station_id=station_id))
        return Capabilities(**row)

    async def get_capabilities(self, station_id: str) -> Capabilities | None:
        async with self._reader.connect() as connection:
            return await self._get_capabilities(connection, station_id)

    @staticmethod
    async def _get_capabilities(connection: AsyncConnection, station_id: str) -> Capabilities | None:
        query = sa.select(capabilities).where(capabilities.c.station_id == station_id)
        row = (await connection.execute(query)).mappings().one_or_none()
        return None if row is None else Capabilities(**row)
