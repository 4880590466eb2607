"""Desired profiles (what wattcap wants each station to hold) and the log of operations sent to install them.

The desired state and what was actually sent are kept apart on purpose: the lifecycle compares them to decide
what to send next, and the operations log is the evidence of what a station was told and what it answered.

A desired profile is keyed by ``(station_id, profile_id)`` (OCPP profile ids are unique per station).
``revision`` counts changes of its content (:meth:`ProfileStore.put_desired_profile`); status changes keep the
revision, so "installed revision N" stays meaningful. Every change appends to the history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wattcap.core.model import ChargingProfile, OcppVersion
from wattcap.ocpp.profile_json import profile_to_json
from wattcap.store._base import StoreBase
from wattcap.store.batch import Job
from wattcap.store.errors import ProfileIdTakenError
from wattcap.store.records import DesiredProfile, DesiredProfileRevision, OperationOutcome, ProfileOperation
from wattcap.store.schema import desired_profile_history, desired_profiles, profile_operations


def desired_from_profile(
    station_id: str,
    evse_id: int,
    profile: ChargingProfile,
    version: OcppVersion | str,
    owner: str,
    *,
    status: str = "pending",
) -> DesiredProfile:
    """A :class:`DesiredProfile` for a model profile, with its wire JSON in ``version``."""
    return DesiredProfile(
        station_id=station_id,
        evse_id=evse_id,
        profile_id=profile.id,
        purpose=profile.purpose.value,
        stack_level=profile.stack_level,
        owner=owner,
        ocpp_version=str(OcppVersion(version)),
        wire=profile_to_json(profile, version),
        status=status,
        transaction_id=profile.transaction_id,
    )


def _desired(row: Mapping[str, Any]) -> DesiredProfile:
    return DesiredProfile(**row)


class ProfileStore(StoreBase):
    """Desired profiles with history, and the SetChargingProfile / ClearChargingProfile log."""

    async def _append_history(
        self, connection: AsyncConnection, row: Mapping[str, Any], change: str, reason: str | None
    ) -> None:
        await connection.execute(
            sa.insert(desired_profile_history).values(
                station_id=row["station_id"],
                profile_id=row["profile_id"],
                revision=row["revision"],
                change=change,
                evse_id=row["evse_id"],
                status=row["status"],
                wire=row["wire"],
                reason=reason,
                at=self._clock(),
            )
        )

    async def put_desired_profile(self, profile: DesiredProfile, *, reason: str | None = None) -> DesiredProfile:
        """Create or replace a desired profile; returns it as stored (revision, times)."""
        (stored,) = await self._write(self.put_desired_profile_job(profile, reason=reason))
        return stored

    def put_desired_profile_job(self, profile: DesiredProfile, *, reason: str | None = None) -> Job:
        """:meth:`put_desired_profile` as a job for :meth:`write_together`."""
        now = self._clock()
        content = self._content(profile, now)
        row = {"station_id": profile.station_id, "profile_id": profile.profile_id, "revision": 1, "created_at": now,
               **content}

        def build() -> Any:
            statement = self._insert(desired_profiles)
            return statement.on_conflict_do_update(
                index_elements=[desired_profiles.c.station_id, desired_profiles.c.profile_id],
                set_={
                    **{name: statement.excluded[name] for name in content},
                    "revision": desired_profiles.c.revision + 1,
                },
            ).returning(*desired_profiles.c)

        statement = self._prepared(("put_desired", frozenset(content)), build)

        async def job(connection: AsyncConnection) -> DesiredProfile:
            await self._require_station(connection, profile.station_id)
            stored = (await connection.execute(statement, row)).mappings().one()
            await self._append_history(connection, stored, "put", reason)
            return _desired(stored)

        return self._about(profile.station_id, job)

    async def create_desired_profile(self, profile: DesiredProfile, *, reason: str | None = None) -> DesiredProfile:
        """Store a desired profile under an id the station does not use yet; :class:`ProfileIdTakenError` if it
        does (:meth:`create_desired_profile_job`)."""
        (stored,) = await self._write(self.create_desired_profile_job(profile, reason=reason))
        return stored

    def create_desired_profile_job(self, profile: DesiredProfile, *, reason: str | None = None) -> Job:
        """:meth:`create_desired_profile` as a job for :meth:`write_together`.

        Allocating an id reads the ids in use and picks a free one; several nodes (or an API write and the site
        cap) may pick the same one at the same instant. The insert is what reserves it: a second insert of the
        key does nothing (on PostgreSQL it waits for the first writer's transaction and sees its row; SQLite has
        one writer at a time), and the job raises, so the caller's whole unit (audit entry included) is undone
        and the caller chooses again, instead of silently replacing the other writer's profile as an upsert
        would."""
        now = self._clock()
        statement = (
            self._insert(desired_profiles)
            .values(
                station_id=profile.station_id, profile_id=profile.profile_id, revision=1, created_at=now,
                **self._content(profile, now),
            )
            .on_conflict_do_nothing(index_elements=[desired_profiles.c.station_id, desired_profiles.c.profile_id])
            .returning(*desired_profiles.c)
        )

        async def job(connection: AsyncConnection) -> DesiredProfile:
            await self._require_station(connection, profile.station_id)
            row = (await connection.execute(statement)).mappings().one_or_none()
            if row is None:
                raise ProfileIdTakenError(profile.station_id, profile.profile_id)
            await self._append_history(connection, row, "put", reason)
            return _desired(row)

        return self._about(profile.station_id, job)

    @staticmethod
    def _content(profile: DesiredProfile, now: datetime) -> dict[str, Any]:
        """The columns a put writes (all but the key, the revision and the creation time)."""
        return {
            "evse_id": profile.evse_id,
            "purpose": str(profile.purpose),
            "stack_level": profile.stack_level,
            "owner": profile.owner,
            "ocpp_version": str(profile.ocpp_version),
            "wire": dict(profile.wire),
            "status": profile.status,
            "transaction_id": profile.transaction_id,
            "updated_at": now,
        }

    async def set_desired_status(
        self, station_id: str, profile_id: int, status: str, *, reason: str | None = None
    ) -> DesiredProfile | None:
        """Change a desired profile's status (e.g. pending → installed); None if there is no such profile."""
        (stored,) = await self._write(self.set_desired_status_job(station_id, profile_id, status, reason=reason))
        return stored

    def set_desired_status_job(
        self, station_id: str, profile_id: int, status: str, *, reason: str | None = None
    ) -> Job:
        """:meth:`set_desired_status` as a job for :meth:`write_together`."""
        statement = (
            sa.update(desired_profiles)
            .where(desired_profiles.c.station_id == station_id, desired_profiles.c.profile_id == profile_id)
            .values(status=status, updated_at=self._clock())
            .returning(*desired_profiles.c)
        )

        async def job(connection: AsyncConnection) -> DesiredProfile | None:
            row = (await connection.execute(statement)).mappings().one_or_none()
            if row is None:
                return None
            await self._append_history(connection, row, "status", reason)
            return _desired(row)

        return self._about(station_id, job)

    async def delete_desired_profile(self, station_id: str, profile_id: int, *, reason: str | None = None) -> bool:
        """Stop wanting a profile; its history stays (with a final ``delete`` entry)."""
        (deleted,) = await self._write(self.delete_desired_profile_job(station_id, profile_id, reason=reason))
        return deleted

    def delete_desired_profile_job(self, station_id: str, profile_id: int, *, reason: str | None = None) -> Job:
        """:meth:`delete_desired_profile` as a job for :meth:`write_together`."""
        statement = (
            sa.delete(desired_profiles)
            .where(desired_profiles.c.station_id == station_id, desired_profiles.c.profile_id == profile_id)
            .returning(*desired_profiles.c)
        )

        async def job(connection: AsyncConnection) -> bool:
            row = (await connection.execute(statement)).mappings().one_or_none()
            if row is None:
                return False
            await self._append_history(connection, row, "delete", reason)
            return True

        return self._about(station_id, job)

    async def get_desired_profile(self, station_id: str, profile_id: int) -> DesiredProfile | None:
        query = sa.select(desired_profiles).where(
            desired_profiles.c.station_id == station_id, desired_profiles.c.profile_id == profile_id
        )
        async with self._reader.connect() as connection:
            row = (await connection.execute(query)).mappings().one_or_none()
        return None if row is None else _desired(row)

    async def list_desired_profiles(
        self,
        station_id: str | None = None,
        *,
        evse_id: int | None = None,
        status: str | None = None,
        owner: str | None = None,
    ) -> list[DesiredProfile]:
        async with self._reader.connect() as connection:
            return await self._desired_profiles(connection, station_id, evse_id=evse_id, status=status, owner=owner)

    @staticmethod
    async def _desired_profiles(
        connection: AsyncConnection,
        station_id: str | None,
        *,
        evse_id: int | None = None,
        status: str | None = None,
        owner: str | None = None,
    ) -> list[DesiredProfile]:
        query = sa.select(desired_profiles)
        for column, value in (("station_id", station_id), ("evse_id", evse_id), ("status", status), ("owner", owner)):
            if value is not None:
                query = query.where(desired_profiles.c[column] == value)
        query = query.order_by(desired_profiles.c.station_id, desired_profiles.c.evse_id, desired_profiles.c.profile_id)
        return [_desired(row) for row in (await connection.execute(query)).mappings()]

    async def desired_profile_history(self, station_id: str, profile_id: int) -> list[DesiredProfileRevision]:
        """Every change of one desired profile, oldest first."""
        history = desired_profile_history.c
        query = (
            sa.select(desired_profile_history)
            .where(history.station_id == station_id, history.profile_id == profile_id)
            .order_by(history.id)
        )
        async with self._reader.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [DesiredProfileRevision(**{k: v for k, v in row.items() if k != "id"}) for row in rows]

    # --- operations log -------------------------------------------------------------------------------------

    async def start_operation(
        self,
        station_id: str,
        action: str,
        request: Mapping[str, Any],
        *,
        evse_id: int | None = None,
        profile_id: int | None = None,
        ocpp_version: str | None = None,
        sent_at: datetime | None = None,
    ) -> int:
        """Log a SetChargingProfile / ClearChargingProfile about to be sent; returns the operation id.

        Logged before sending, so a crash between sending and answering leaves a ``pending`` trace.
        """
        statement = (
            sa.insert(profile_operations)
            .values(
                station_id=station_id,
                action=action,
                request=dict(request),
                evse_id=evse_id,
                profile_id=profile_id,
                ocpp_version=None if ocpp_version is None else str(ocpp_version),
                sent_at=sent_at or self._clock(),
                outcome=OperationOutcome.PENDING.value,
            )
            .returning(profile_operations.c.id)
        )

        async def job(connection: AsyncConnection) -> int:
            await self._require_station(connection, station_id)
            return int((await connection.execute(statement)).scalar_one())

        (operation_id,) = await self._write(job)
        return operation_id

    async def finish_operation(
        self,
        operation_id: int,
        outcome: OperationOutcome | str,
        *,
        response_status: str | None = None,
        reason: str | None = None,
        answered_at: datetime | None = None,
    ) -> None:
        """Record the station's answer (``response_status`` as sent, e.g. Accepted; ``reason`` its reason code)."""
        await self._write(
            self.finish_operation_job(
                operation_id, outcome, response_status=response_status, reason=reason, answered_at=answered_at
            )
        )

    def finish_operation_job(
        self,
        operation_id: int,
        outcome: OperationOutcome | str,
        *,
        response_status: str | None = None,
        reason: str | None = None,
        answered_at: datetime | None = None,
    ) -> Job:
        """:meth:`finish_operation` as a job for :meth:`write_together` (raises LookupError for an unknown id)."""
        statement = (
            sa.update(profile_operations)
            .where(profile_operations.c.id == operation_id)
            .values(
                outcome=OperationOutcome(outcome).value,
                response_status=response_status,
                reason=reason,
                answered_at=answered_at or self._clock(),
            )
        )

        async def job(connection: AsyncConnection) -> None:
            result = await connection.execute(statement)
            if result.rowcount != 1:
                raise LookupError(f"no profile operation {operation_id}")

        return job

    async def list_operations(
        self,
        station_id: str,
        *,
        profile_id: int | None = None,
        limit: int | None = 100,
        newest_first: bool = False,
    ) -> list[ProfileOperation]:
        """Operations sent to a station, in the order they were sent (or newest first)."""
        query = sa.select(profile_operations).where(profile_operations.c.station_id == station_id)
        if profile_id is not None:
            query = query.where(profile_operations.c.profile_id == profile_id)
        order = profile_operations.c.id.desc() if newest_first else profile_operations.c.id
        query = query.order_by(order).limit(limit)
        async with self._reader.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [ProfileOperation(**{**row, "outcome": OperationOutcome(row["outcome"])}) for row in rows]
