"""MeterValues and Heartbeats of many stations written with a few statements per batch instead of two each.

A MeterValues costs the store two statements (the station's ``last_seen_at``, its samples) and a Heartbeat one;
each statement is a round trip to the database and about 0.3 ms of SQLAlchemy work. With thousands of stations
that, not the protocol, bounds the messages per second a node takes (``docs/benchmarks.md``, "Load").
:class:`TelemetryBatcher` queues these events from every station's handler and writes whatever has queued in one
unit: one executemany upsert of ``last_seen_at`` for the distinct stations and one executemany insert of all the
samples. While a batch is being written the next one queues, so the batch grows with the load and nothing waits
for a timer.

Same rows, same guarantees as :meth:`wattcap.store.Repository.record` (which this replaces for these two kinds
only):

* the handler's ``record`` returns once the batch that carried its event has committed, so the station is
  answered only after what it sent is durable (nothing acknowledged is lost);
* idempotent as before: samples are inserted ON CONFLICT DO NOTHING on their natural key, ``last_seen_at`` only
  grows, a station never seen before gets a ``pending`` row;
* if a batch fails, each of its events is recorded again alone through the repository, so only the event at
  fault fails (its station gets a CALLERROR), as without batching;
* a station sends one message at a time and waits for its answer, so its events keep their order.

On PostgreSQL the samples go in as one ``INSERT … SELECT FROM unnest(<one array per column>) ON CONFLICT DO
NOTHING``: the same rows as the executemany of SQLAlchemy's insert (which SQLite keeps), but one bind per column
instead of SQLAlchemy's parameter processing per row (about a fifth less CPU per MeterValues, ``docs/benchmarks.md``,
"Load"). Duplicates within a batch are settled as before: the first row of a key is stored, later ones do nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from wattcap.core import events as ev
from wattcap.store import Repository
from wattcap.store._base import latest, utc_now
from wattcap.store.schema import meter_samples, stations
from wattcap.store.telemetry import _SAMPLE_KEY, _sample_rows

log = logging.getLogger("wattcap.server.telemetry")

#: The events written in batches; everything else goes to ``Repository.record`` one by one.
BATCHED: tuple[type[ev.StationEvent], ...] = (ev.MeterValuesReceived, ev.HeartbeatReceived)

#: meter_samples columns as bound by the PostgreSQL statement (one array each), with their array types.
_SAMPLE_COLUMNS = (
    ("station_id", "varchar"),
    ("evse_id", "integer"),
    ("measured_at", "timestamptz"),
    ("measurand", "varchar"),
    ("phase", "varchar"),
    ("value", "float8"),
    ("unit", "varchar"),
    ("context", "varchar"),
    ("transaction_id", "varchar"),
)
_PG_SAMPLES = (
    f"INSERT INTO {meter_samples.name} ({', '.join(name for name, _ in _SAMPLE_COLUMNS)}) "
    "SELECT * FROM unnest("
    + ", ".join(f"${n}::{kind}[]" for n, (_, kind) in enumerate(_SAMPLE_COLUMNS, start=1))
    + f") ON CONFLICT ({', '.join(_SAMPLE_KEY)}) DO NOTHING"
)


def _pg_sample_columns(rows: list[dict[str, Any]]) -> tuple[list[Any], ...]:
    """The rows as one list per column of :data:`_PG_SAMPLES` (times in UTC, as ``UtcDateTime`` binds them)."""
    columns = tuple([row[name] for row in rows] for name, _ in _SAMPLE_COLUMNS)
    columns[2][:] = [at.astimezone(UTC) for at in columns[2]]
    return columns


class TelemetryBatcher:
    """Writes :data:`BATCHED` events of many stations together (see the module's description)."""

    def __init__(
        self,
        repository: Repository,
        *,
        max_events: int = 2000,
        max_in_flight: int | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.repository = repository
        self.max_events = max_events
        postgres = repository.engine.dialect.name == "postgresql"
        #: On PostgreSQL each batch is a transaction of its own, on its own connection, and up to
        #: ``max_in_flight`` (default 2) are written at once: telemetry does not wait behind the store's group
        #: commit, whose transactions also carry the profile lifecycle's long write units (under a site cap's
        #: writes that made a MeterValues wait seconds, "Load" in docs/benchmarks.md). SQLite has one writer:
        #: one batch at a time, through the store's group commit.
        self._own_transactions = postgres
        self._postgres = postgres
        self.max_in_flight = (max_in_flight or 2) if postgres else 1
        self._clock = clock or getattr(repository, "_clock", utc_now)
        self._queue: list[tuple[ev.StationEvent, asyncio.Future[None]]] = []
        self._writers: set[asyncio.Task] = set()
        insert = postgresql.insert if postgres else sqlite.insert
        touch = insert(stations)
        self._touch = touch.on_conflict_do_update(
            index_elements=[stations.c.id],
            set_={"last_seen_at": latest(stations.c.last_seen_at, touch.excluded.last_seen_at)},
        )
        self._samples = insert(meter_samples).on_conflict_do_nothing(
            index_elements=[meter_samples.c[name] for name in _SAMPLE_KEY]
        )
        #: Batches written and events they carried (the load benchmark reads them).
        self.batches = 0
        self.events = 0

    async def record(self, event: ev.StationEvent) -> None:
        """Persist ``event`` with the others queued now; return once committed (raise if it could not be)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((event, future))
        self._start_writers()
        # A cancelled caller does not take its event out of the batch: it is written, only nobody waits.
        await asyncio.shield(future)

    def _start_writers(self) -> None:
        loop = asyncio.get_running_loop()
        self._writers = {w for w in self._writers if not w.done() and w.get_loop() is loop}
        while self._queue and len(self._writers) < self.max_in_flight:
            batch, self._queue = self._queue[: self.max_events], self._queue[self.max_events :]
            writer = loop.create_task(self._write_batch(batch), name="telemetry:batch")
            self._writers.add(writer)
            writer.add_done_callback(self._writer_done)

    def _writer_done(self, writer: asyncio.Task) -> None:
        self._writers.discard(writer)
        if self._queue and not writer.get_loop().is_closed():
            self._start_writers()

    async def _write_batch(self, batch: list[tuple[ev.StationEvent, asyncio.Future[None]]]) -> None:
        try:
            try:
                await self._write([event for event, _ in batch])
            except Exception as exc:
                log.warning("a telemetry batch of %d events failed (%s); each is recorded alone", len(batch), exc)
                for event, future in batch:
                    try:
                        await self.repository.record(event)
                    except Exception as alone:
                        _settle(future, alone)
                    else:
                        _settle(future, None)
            else:
                self.batches += 1
                self.events += len(batch)
                for _, future in batch:
                    _settle(future, None)
        except BaseException:  # cancelled (the loop is closing): nobody may wait for ever
            for _, future in batch:
                if not future.done():
                    future.cancel()
            raise

    async def _write(self, events: list[ev.StationEvent]) -> None:
        now = self._clock()
        seen = sorted({e.station_id for e in events})  # one order for every batch: no lock-order surprises
        touches = [{"id": station_id, "created_at": now, "last_seen_at": now} for station_id in seen]
        samples: list[dict[str, Any]] = []
        for event in events:
            if isinstance(event, ev.MeterValuesReceived):
                samples.extend(_sample_rows(event))

        async def job(connection: AsyncConnection) -> None:
            await connection.execute(self._touch, touches)
            if not samples:
                return
            if self._postgres:  # one statement, one array per column
                await connection.exec_driver_sql(_PG_SAMPLES, _pg_sample_columns(samples))
            else:
                await connection.execute(self._samples, samples)

        write_together = getattr(self.repository, "write_together", None)
        if write_together is not None and not self._own_transactions:  # SQLite: the store's single writer
            await write_together(job)
        else:
            async with self.repository.engine.begin() as connection:
                await job(connection)

    async def close(self) -> None:
        """Wait for what is queued to be written."""
        while self._writers:
            with contextlib.suppress(Exception):
                await asyncio.gather(*self._writers, return_exceptions=True)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
