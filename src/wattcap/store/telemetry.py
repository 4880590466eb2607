"""Recording what stations report: :meth:`TelemetryStore.record` takes every event of :mod:`wattcap.core.events`.

Stations replay messages they queued while offline, sometimes more than once and out of order. Recording is
therefore idempotent and monotonic:

* transactions are upserted field by field: a start fills only start fields, an end only end fields, the first
  value stored wins and the sequence number only grows, so a replay can neither duplicate nor reopen one;
* meter samples and journal entries have natural unique keys and are inserted with ON CONFLICT DO NOTHING;
* "latest state" rows (connector status, boot information, external limits) change only for a newer event.

Each event is atomic (committed with other writes of the moment, see :mod:`wattcap.store.batch`, before
:meth:`TelemetryStore.record` returns); ``last_seen_at`` is when wattcap received it (the store's clock), not the
station's timestamp, which may be old (a replay) or wrong (a bad clock).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wattcap.core import events as ev
from wattcap.core.timeutil import from_epoch
from wattcap.store._base import StoreBase, latest
from wattcap.store.records import ExternalLimit, JournalEntry, SampleBucket, StoredSample, TransactionRecord
from wattcap.store.schema import (
    connector_status,
    counters,
    external_limits,
    meter_samples,
    station_events,
    stations,
    transactions,
)
from wattcap.store.types import bucket_start, to_jsonable

_SAMPLE_KEY = ("station_id", "evse_id", "measured_at", "measurand", "phase")

# Events that only say "I am here": they update last_seen_at and are not journaled (they arrive every minute).
_NOT_JOURNALED: tuple[type[ev.StationEvent], ...] = (ev.HeartbeatReceived, ev.MeterValuesReceived)


def _fingerprint(kind: str, payload: Any) -> str:
    canonical = json.dumps({"kind": kind, "payload": payload}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _sample_rows(event: ev.MeterValuesReceived) -> list[dict[str, Any]]:
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for sample in event.samples:
        row = {
            "station_id": event.station_id,
            "evse_id": event.evse_id,
            "measured_at": sample.timestamp,
            "measurand": str(sample.measurand),
            "phase": sample.phase or "",
            "value": float(sample.value),
            "unit": sample.unit,
            "context": sample.context,
            "transaction_id": event.transaction_id,
        }
        key = (row["station_id"], row["evse_id"], row["measured_at"], row["measurand"], row["phase"])  # _SAMPLE_KEY
        rows.setdefault(key, row)  # the first of duplicates in one message wins
    return list(rows.values())


class TelemetryStore(StoreBase):
    """Station events in; transactions, meter samples, connector states and the event journal out."""

    async def record(self, event: ev.StationEvent) -> None:
        """Persist one station event (idempotently: recording it twice changes nothing the second time)."""
        rule = _RULES.get(type(event))

        async def job(connection: AsyncConnection) -> None:
            await self._touch(connection, event.station_id)
            if rule is not None:
                await rule(self, connection, event)
            if not isinstance(event, _NOT_JOURNALED):
                await self._journal(connection, event)

        # Committed with whatever else is being written now (one transaction, one commit), before this returns.
        # Meter values and heartbeats change nothing a reader of the station's state keeps (see station_changes).
        await self._write(job if isinstance(event, _NOT_JOURNALED) else self._about(event.station_id, job))

    async def _touch(self, connection: AsyncConnection, station_id: str) -> None:
        """Mark the station as heard from now; a station never seen before gets a ``pending`` row."""
        now = self._clock()

        def build() -> Any:
            statement = self._insert(stations)
            return statement.on_conflict_do_update(
                index_elements=[stations.c.id],
                set_={"last_seen_at": latest(stations.c.last_seen_at, statement.excluded.last_seen_at)},
            )

        await connection.execute(
            self._prepared("touch", build), {"id": station_id, "created_at": now, "last_seen_at": now}
        )

    async def _journal(self, connection: AsyncConnection, event: ev.StationEvent) -> None:
        kind = type(event).__name__
        payload = to_jsonable(event)
        row = {
            "station_id": event.station_id,
            "at": event.at,
            "kind": kind,
            "evse_id": getattr(event, "evse_id", None),
            "payload": payload,
            "fingerprint": _fingerprint(kind, payload),
        }
        journal = self._prepared("journal", lambda: self._insert(station_events).on_conflict_do_nothing(
            index_elements=[station_events.c.station_id, station_events.c.fingerprint]
        ))
        await connection.execute(journal, row)

    async def _on_booted(self, connection: AsyncConnection, event: ev.StationBooted) -> None:
        fresher = sa.or_(stations.c.last_boot_at.is_(None), stations.c.last_boot_at <= event.at)
        await connection.execute(
            sa.update(stations)
            .where(stations.c.id == event.station_id, fresher)
            .values(
                vendor=event.vendor,
                model=event.model,
                serial_number=event.serial_number,
                firmware_version=event.firmware_version,
                boot_reason=event.reason,
                last_boot_at=event.at,
            )
        )

    async def _on_connector_status(self, connection: AsyncConnection, event: ev.ConnectorStatusChanged) -> None:
        def build() -> Any:
            statement = self._insert(connector_status)
            excluded = statement.excluded
            return statement.on_conflict_do_update(
                index_elements=[connector_status.c[k] for k in ("station_id", "evse_id", "connector_id")],
                set_={"status": excluded.status, "error_code": excluded.error_code, "at": excluded.at},
                where=connector_status.c.at <= excluded.at,
            )

        row = {
            "station_id": event.station_id, "evse_id": event.evse_id, "connector_id": event.connector_id,
            "status": event.status, "error_code": event.error_code, "at": event.at,
        }
        await connection.execute(self._prepared("connector_status", build), row)

    async def _upsert_transaction(self, connection: AsyncConnection, row: dict[str, Any]) -> None:
        def build() -> Any:
            statement = self._insert(transactions)
            excluded = statement.excluded
            # First value wins for every field the event carries; the sequence number only grows.
            first_wins = {
                name: sa.func.coalesce(transactions.c[name], excluded[name])
                for name in row
                if name not in ("station_id", "transaction_id", "evse_id", "last_sequence")
            }
            return statement.on_conflict_do_update(
                index_elements=[transactions.c.station_id, transactions.c.transaction_id],
                set_={**first_wins, "last_sequence": latest(transactions.c.last_sequence, excluded.last_sequence)},
            )

        # A start and an end carry different fields: one statement per set of fields.
        await connection.execute(self._prepared(("transaction", frozenset(row)), build), row)

    async def _on_transaction_started(self, connection: AsyncConnection, event: ev.TransactionStarted) -> None:
        await self._upsert_transaction(
            connection,
            {
                "station_id": event.station_id,
                "transaction_id": event.transaction_id,
                "evse_id": event.evse_id,
                "id_token": event.id_token,
                "remote_start_id": event.remote_start_id,
                "started_at": event.at,
                "meter_start_wh": event.meter_start_wh,
                "last_sequence": event.sequence,
            },
        )

    async def _on_transaction_ended(self, connection: AsyncConnection, event: ev.TransactionEnded) -> None:
        await self._upsert_transaction(
            connection,
            {
                "station_id": event.station_id,
                "transaction_id": event.transaction_id,
                "evse_id": event.evse_id,
                "stopped_at": event.at,
                "meter_stop_wh": event.meter_stop_wh,
                "stop_reason": event.reason,
                "last_sequence": event.sequence,
            },
        )

    async def _on_meter_values(self, connection: AsyncConnection, event: ev.MeterValuesReceived) -> None:
        rows = _sample_rows(event)
        if rows:
            statement = self._prepared("meter_samples", lambda: self._insert(meter_samples).on_conflict_do_nothing(
                index_elements=[meter_samples.c[name] for name in _SAMPLE_KEY]
            ))
            await connection.execute(statement, rows)  # one statement, executed for the whole batch

    async def _on_limit_notified(self, connection: AsyncConnection, event: ev.ChargingLimitNotified) -> None:
        statement = self._insert(external_limits).values(
            station_id=event.station_id,
            source=str(event.source),
            evse_id=event.evse_id or 0,
            is_grid_critical=event.is_grid_critical,
            schedules=to_jsonable(event.schedules),
            notified_at=event.at,
            cleared_at=None,
        )
        excluded = statement.excluded
        newer = sa.and_(
            excluded.notified_at >= external_limits.c.notified_at,
            sa.or_(external_limits.c.cleared_at.is_(None), excluded.notified_at > external_limits.c.cleared_at),
        )
        await connection.execute(
            statement.on_conflict_do_update(
                index_elements=[external_limits.c.station_id, external_limits.c.source, external_limits.c.evse_id],
                set_={
                    "is_grid_critical": excluded.is_grid_critical,
                    "schedules": excluded.schedules,
                    "notified_at": excluded.notified_at,
                    "cleared_at": None,
                },
                where=newer,
            )
        )

    async def _on_limit_cleared(self, connection: AsyncConnection, event: ev.ChargingLimitCleared) -> None:
        # No EVSE: the source's limits on the whole station and every EVSE end. A clear older than the limit
        # (a replay arriving late) leaves the newer limit in force.
        where = [
            external_limits.c.station_id == event.station_id,
            external_limits.c.source == str(event.source),
            external_limits.c.notified_at <= event.at,
            external_limits.c.cleared_at.is_(None),
        ]
        if event.evse_id is not None:
            where.append(external_limits.c.evse_id == event.evse_id)
        await connection.execute(sa.update(external_limits).where(*where).values(cleared_at=event.at))

    async def next_transaction_id(self, counter: str = "transaction_id", first: int = 1) -> int:
        """The next value of a counter that never repeats, across restarts and processes.

        OCPP 1.6 makes the CSMS assign transaction ids in StartTransaction.conf; handing out an id twice would
        merge two charging sessions. Atomic on both databases (one upsert), so concurrent callers get
        distinct values.
        """
        statement = self._insert(counters).values(name=counter, value=first)
        statement = statement.on_conflict_do_update(
            index_elements=[counters.c.name], set_={"value": counters.c.value + 1}
        ).returning(counters.c.value)
        (value,) = await self._write(self._executing(statement, scalar=True))
        return int(value)

    # --- queries --------------------------------------------------------------------------------------------

    async def get_transaction(self, station_id: str, transaction_id: str) -> TransactionRecord | None:
        query = sa.select(transactions).where(
            transactions.c.station_id == station_id, transactions.c.transaction_id == transaction_id
        )
        async with self._reader.connect() as connection:
            row = (await connection.execute(query)).mappings().one_or_none()
        return None if row is None else TransactionRecord(**row)

    async def find_transaction_start(
        self,
        station_id: str,
        evse_id: int,
        started_at: datetime,
        id_token: str | None,
        meter_start_wh: float | None,
    ) -> str | None:
        """The id of a transaction already recorded as started exactly so (EVSE, time, token, meter reading).

        An OCPP 1.6 charger whose StartTransaction was stored but never answered (the server went down in
        between) sends it again; answering with the stored id instead of a new one keeps one charging session
        one transaction. Two genuine sessions cannot share all four values.
        """
        query = sa.select(transactions.c.transaction_id).where(
            transactions.c.station_id == station_id,
            transactions.c.evse_id == evse_id,
            transactions.c.started_at == started_at,
            transactions.c.id_token.is_not_distinct_from(id_token),
            transactions.c.meter_start_wh.is_not_distinct_from(meter_start_wh),
        )
        async with self._reader.connect() as connection:
            return (await connection.execute(query.limit(1))).scalar_one_or_none()

    async def active_transactions(self, station_id: str | None = None) -> list[TransactionRecord]:
        """Transactions started and not (yet known to be) ended, by station and EVSE."""
        async with self._reader.connect() as connection:
            return await self._active_transactions(connection, station_id)

    @staticmethod
    async def _active_transactions(connection: AsyncConnection, station_id: str | None) -> list[TransactionRecord]:
        query = (
            sa.select(transactions)
            .where(transactions.c.stopped_at.is_(None))
            .order_by(transactions.c.station_id, transactions.c.evse_id, transactions.c.started_at)
        )
        if station_id is not None:
            query = query.where(transactions.c.station_id == station_id)
        return [TransactionRecord(**row) for row in (await connection.execute(query)).mappings()]

    async def list_transactions(
        self,
        station_ids: Iterable[str] | None = None,
        *,
        active: bool | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        evse_id: int | None = None,
        limit: int | None = 100,
    ) -> list[TransactionRecord]:
        """Transactions of ``station_ids`` (None: every station) that overlap ``[since, until)``, newest start first.

        A transaction overlaps the range when it started before ``until`` and had not stopped before ``since``
        (a running one has not stopped at all); ``active`` True keeps only running ones, False only ended ones.
        """
        query = sa.select(transactions)
        if station_ids is not None:
            query = query.where(transactions.c.station_id.in_(list(station_ids)))
        if active is not None:
            stopped = transactions.c.stopped_at
            query = query.where(stopped.is_(None) if active else stopped.is_not(None))
        if until is not None:
            query = query.where(transactions.c.started_at < until)
        if since is not None:
            query = query.where(sa.or_(transactions.c.stopped_at.is_(None), transactions.c.stopped_at >= since))
        if evse_id is not None:
            query = query.where(transactions.c.evse_id == evse_id)
        columns = (transactions.c.started_at, transactions.c.station_id, transactions.c.transaction_id)
        query = query.order_by(*(c.desc() for c in columns)).limit(limit)
        async with self._reader.connect() as connection:
            return [TransactionRecord(**row) for row in (await connection.execute(query)).mappings()]

    @staticmethod
    def _sample_filter(
        station_id: str,
        start: datetime,
        end: datetime,
        evse_id: int | None,
        measurands: Iterable[str] | None,
        transaction_id: str | None,
    ) -> list[sa.ColumnElement[bool]]:
        where = [
            meter_samples.c.station_id == station_id,
            meter_samples.c.measured_at >= start,
            meter_samples.c.measured_at < end,
        ]
        if evse_id is not None:
            where.append(meter_samples.c.evse_id == evse_id)
        if measurands is not None:
            where.append(meter_samples.c.measurand.in_([str(m) for m in measurands]))
        if transaction_id is not None:
            where.append(meter_samples.c.transaction_id == transaction_id)
        return where

    async def meter_samples(
        self,
        station_id: str,
        start: datetime,
        end: datetime,
        *,
        evse_id: int | None = None,
        measurands: Iterable[str] | None = None,
        transaction_id: str | None = None,
        limit: int | None = None,
    ) -> list[StoredSample]:
        """Samples with ``start <= measured_at < end``, in time order."""
        query = (
            sa.select(meter_samples)
            .where(*self._sample_filter(station_id, start, end, evse_id, measurands, transaction_id))
            .order_by(*(meter_samples.c[k] for k in ("measured_at", "evse_id", "measurand", "phase")))
            .limit(limit)
        )
        async with self._reader.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [
            StoredSample(
                station_id=row["station_id"],
                evse_id=row["evse_id"],
                measured_at=row["measured_at"],
                measurand=row["measurand"],
                value=row["value"],
                unit=row["unit"],
                phase=row["phase"] or None,
                context=row["context"],
                transaction_id=row["transaction_id"],
            )
            for row in rows
        ]

    async def meter_buckets(
        self,
        station_id: str,
        start: datetime,
        end: datetime,
        bucket_s: int,
        *,
        evse_id: int | None = None,
        measurands: Iterable[str] | None = None,
        transaction_id: str | None = None,
    ) -> list[SampleBucket]:
        """Samples in ``[start, end)`` downsampled to buckets of ``bucket_s`` seconds (count/avg/min/max).

        Buckets are aligned to the Unix epoch and computed by the database, so a month of 10-second samples
        does not travel to Python to draw a chart. One series per EVSE, measurand, phase and unit.
        """
        bucket = bucket_start(meter_samples.c.measured_at, bucket_s).label("bucket")
        series = (meter_samples.c.evse_id, meter_samples.c.measurand, meter_samples.c.phase, meter_samples.c.unit)
        query = (
            sa.select(
                *series,
                bucket,
                sa.func.count().label("count"),
                sa.func.avg(meter_samples.c.value).label("avg"),
                sa.func.min(meter_samples.c.value).label("min"),
                sa.func.max(meter_samples.c.value).label("max"),
            )
            .where(*self._sample_filter(station_id, start, end, evse_id, measurands, transaction_id))
            .group_by(*series, bucket)
            .order_by(*series, bucket)
        )
        async with self._reader.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            SampleBucket(
                evse_id=row.evse_id,
                measurand=row.measurand,
                phase=row.phase or None,
                unit=row.unit,
                start=from_epoch(int(row.bucket)),
                seconds=bucket_s,
                count=int(row.count),
                avg=float(row.avg),
                min=float(row.min),
                max=float(row.max),
            )
            for row in rows
        ]

    async def journal(
        self,
        station_id: str,
        *,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        limit: int | None = 100,
        newest_first: bool = False,
    ) -> list[JournalEntry]:
        """Recorded events of a station (all but heartbeats and meter values) by event time, oldest first."""
        query = sa.select(station_events).where(station_events.c.station_id == station_id)
        if kinds is not None:
            query = query.where(station_events.c.kind.in_(list(kinds)))
        if since is not None:
            query = query.where(station_events.c.at >= since)
        columns = (station_events.c.at, station_events.c.id)
        query = query.order_by(*(c.desc() for c in columns) if newest_first else columns).limit(limit)
        async with self._reader.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [JournalEntry(**{k: v for k, v in row.items() if k != "fingerprint"}) for row in rows]

    async def external_limits(self, station_id: str) -> list[ExternalLimit]:
        """Limits external systems have set on the station (NotifyChargingLimit) and not cleared."""
        query = (
            sa.select(external_limits)
            .where(external_limits.c.station_id == station_id, external_limits.c.cleared_at.is_(None))
            .order_by(external_limits.c.source, external_limits.c.evse_id)
        )
        async with self._reader.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [ExternalLimit(**{k: v for k, v in row.items() if k != "cleared_at"}) for row in rows]


Rule = Callable[[TelemetryStore, AsyncConnection, Any], Awaitable[None]]

# How each event type is stored beyond the journal. Types without a rule (heartbeats, reported profiles, EV
# charging needs, security events, and any event type added later) are kept in the journal only.
_RULES: dict[type[ev.StationEvent], Rule] = {
    ev.StationBooted: TelemetryStore._on_booted,
    ev.ConnectorStatusChanged: TelemetryStore._on_connector_status,
    ev.TransactionStarted: TelemetryStore._on_transaction_started,
    ev.TransactionEnded: TelemetryStore._on_transaction_ended,
    ev.MeterValuesReceived: TelemetryStore._on_meter_values,
    ev.ChargingLimitNotified: TelemetryStore._on_limit_notified,
    ev.ChargingLimitCleared: TelemetryStore._on_limit_cleared,
}
