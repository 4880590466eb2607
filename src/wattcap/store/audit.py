"""The audit log (who changed what, and why) and verification results (does the station do what it should).

Both are append-only: entries are never updated, and they are read back in the order they were appended.
Documents (before/after, expected/reported, differences) may be model objects; they are stored as JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wattcap.store._base import StoreBase
from wattcap.store.batch import Job
from wattcap.store.records import AuditEntry, VerificationRecord
from wattcap.store.schema import audit_log, verification_results
from wattcap.store.types import to_jsonable


class AuditStore(StoreBase):
    """Append and query the audit log and the verification results."""

    async def append_audit(
        self,
        actor: str,
        action: str,
        *,
        target: str | None = None,
        reason: str | None = None,
        before: Any = None,
        after: Any = None,
        at: datetime | None = None,
    ) -> int:
        """Append an audit entry; returns its id. ``actor`` is a user, an API client or a wattcap component."""
        job = self.append_audit_job(actor, action, target=target, reason=reason, before=before, after=after, at=at)
        (entry_id,) = await self._write(job)
        return entry_id

    def append_audit_job(
        self,
        actor: str,
        action: str,
        *,
        target: str | None = None,
        reason: str | None = None,
        before: Any = None,
        after: Any = None,
        at: datetime | None = None,
    ) -> Job:
        """:meth:`append_audit` as a job for :meth:`write_together`."""
        statement = (
            sa.insert(audit_log)
            .values(
                at=at or self._clock(),
                actor=actor,
                action=action,
                target=target,
                reason=reason,
                before=to_jsonable(before),
                after=to_jsonable(after),
            )
            .returning(audit_log.c.id)
        )

        async def job(connection: AsyncConnection) -> int:
            return int((await connection.execute(statement)).scalar_one())

        return job

    async def audit_entries(
        self,
        *,
        target: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 100,
        newest_first: bool = False,
        targets_under: Iterable[str] | None = None,
        action_prefix: str | None = None,
    ) -> list[AuditEntry]:
        """Entries matching every filter given, in append order (``newest_first`` for the latest ``limit``).

        ``since``/``until`` bound the entry time as ``since <= at < until``. ``targets_under`` keeps entries whose
        target is one of them or below it (``CP1`` covers ``CP1`` and ``CP1/50000``; an empty list matches
        nothing); ``action_prefix`` keeps actions that start with it (``profile.repair.``).
        """
        query = sa.select(audit_log)
        for column, value in (("target", target), ("actor", actor), ("action", action)):
            if value is not None:
                query = query.where(audit_log.c[column] == value)
        if targets_under is not None:
            roots = list(targets_under)
            matches = [audit_log.c.target.in_(roots)] if roots else [sa.false()]
            matches += [audit_log.c.target.startswith(f"{root}/", autoescape=True) for root in roots]
            query = query.where(sa.or_(*matches))
        if action_prefix is not None:
            query = query.where(audit_log.c.action.startswith(action_prefix, autoescape=True))
        if since is not None:
            query = query.where(audit_log.c.at >= since)
        if until is not None:
            query = query.where(audit_log.c.at < until)
        query = query.order_by(audit_log.c.id.desc() if newest_first else audit_log.c.id).limit(limit)
        async with self._reader.connect() as connection:
            return [AuditEntry(**row) for row in (await connection.execute(query)).mappings()]

    async def record_verification(
        self,
        station_id: str,
        evse_id: int,
        verdict: str,
        *,
        expected: Any = None,
        reported: Any = None,
        differences: Iterable[Any] = (),
        detail: str | None = None,
        checked_at: datetime | None = None,
    ) -> int:
        """Store one verification (``verdict`` as :class:`wattcap.core.verification.Verdict`); returns its id."""
        job = self.record_verification_job(
            station_id, evse_id, verdict, expected=expected, reported=reported, differences=differences,
            detail=detail, checked_at=checked_at,
        )
        (record_id,) = await self._write(job)
        return record_id

    def record_verification_job(
        self,
        station_id: str,
        evse_id: int,
        verdict: str,
        *,
        expected: Any = None,
        reported: Any = None,
        differences: Iterable[Any] = (),
        detail: str | None = None,
        checked_at: datetime | None = None,
    ) -> Job:
        """:meth:`record_verification` as a job for :meth:`write_together`."""
        statement = (
            sa.insert(verification_results)
            .values(
                station_id=station_id,
                evse_id=evse_id,
                checked_at=checked_at or self._clock(),
                verdict=str(verdict),
                expected=to_jsonable(expected),
                reported=to_jsonable(reported),
                differences=to_jsonable(list(differences)),
                detail=detail,
            )
            .returning(verification_results.c.id)
        )

        async def job(connection: AsyncConnection) -> int:
            await self._require_station(connection, station_id)
            return int((await connection.execute(statement)).scalar_one())

        return job

    async def verification_results(
        self,
        station_id: str,
        *,
        evse_id: int | None = None,
        since: datetime | None = None,
        limit: int | None = 100,
        newest_first: bool = False,
        verdict: str | None = None,
    ) -> list[VerificationRecord]:
        """Verification results of a station, oldest first (or the latest ``limit``, newest first), optionally
        only those with ``verdict`` (``violation`` for the measured-draw violations)."""
        query = sa.select(verification_results).where(verification_results.c.station_id == station_id)
        if evse_id is not None:
            query = query.where(verification_results.c.evse_id == evse_id)
        if verdict is not None:
            query = query.where(verification_results.c.verdict == verdict)
        if since is not None:
            query = query.where(verification_results.c.checked_at >= since)
        columns = (verification_results.c.checked_at, verification_results.c.id)
        query = query.order_by(*(c.desc() for c in columns) if newest_first else columns).limit(limit)
        async with self._reader.connect() as connection:
            return [VerificationRecord(**row) for row in (await connection.execute(query)).mappings()]
