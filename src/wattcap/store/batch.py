"""Group commit: write units from many concurrent callers share one transaction, and so one commit (one fsync).

A *unit* is a list of jobs (``async job(connection) -> value``) that must be atomic together: one caller's
writes (a desired profile with its history and its audit entry, an operation's answer with the profile's new
status). :meth:`GroupCommitter.run` queues a unit and returns its values once the transaction that carried it
has committed, so a caller goes on exactly when it would have with a transaction of its own: nothing it was told
is stored is lost on a crash that an own transaction would not lose.

One writer task per committer runs the queue: it takes every unit queued so far (at most ``max_units``) into one
transaction. While that transaction commits, new units queue up and go together in the next one, so the batch
grows with the load and nothing waits for a timer. If a batch fails (one unit's statement raised, the commit
failed), it is rolled back and every unit in it is run again in a transaction of its own: only the unit at fault
fails, with its own error, and no unit is ever applied twice.

On SQLite this also ends the contention between pool connections for the single write lock (each waiter polls
with growing sleeps; under load they time out with "database is locked"); on PostgreSQL it turns many short
transactions into a few.

On a SQLite file the transactions run in a thread of their own (:class:`_SqliteWriter`), on the standard
library's driver: a whole transaction is one hand-over between the event loop and that thread. Through
aiosqlite every statement is several hand-overs (cursor, execute, fetch, close), each a wake-up of the loop and
a contended GIL switch: a site-cap profile write took about fifty and 30 ms of CPU (``docs/benchmarks.md``,
"Site cap"). The jobs do not change: they await their connection, and in the writer thread those awaits
complete at once (:func:`_run_to_end`). Reads stay on the async engine; in WAL mode they see every commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("wattcap.store")

Job = Callable[[AsyncConnection], Awaitable[Any]]


@dataclass(eq=False)
class _Unit:
    jobs: Sequence[Job]
    future: asyncio.Future[list[Any]]
    results: list[Any] = field(default_factory=list)


class GroupCommitter:
    """Runs write units in shared transactions on ``engine`` (see the module's description)."""

    def __init__(self, engine: AsyncEngine, *, max_units: int = 128) -> None:
        self._engine = engine
        self._thread = _SqliteWriter.for_engine(engine)
        self.max_units = max_units
        self._queue: list[_Unit] = []
        self._writer: asyncio.Task | None = None
        #: Transactions committed and units they carried (benchmarks and tests read them).
        self.transactions = 0
        self.units = 0

    @property
    def write_engine(self) -> sa.Engine:
        """The engine the transactions run on (the writer thread's on a SQLite file): where to count them."""
        return self._thread.engine if self._thread is not None else self._engine.sync_engine

    async def run(self, *jobs: Job) -> list[Any]:
        """Run ``jobs`` in order in one transaction (shared with other units); their values once committed."""
        loop = asyncio.get_running_loop()
        unit = _Unit(jobs, loop.create_future())
        self._queue.append(unit)
        writer = self._writer
        if writer is None or writer.done() or writer.get_loop() is not loop:
            self._writer = loop.create_task(self._write(), name="store:group-commit")
        # The caller may be cancelled; the unit is in a batch or queued and still commits (as an own transaction
        # whose caller was cancelled after sending its statements would): the caller just does not wait for it.
        return await asyncio.shield(unit.future)

    async def _write(self) -> None:
        batch: list[_Unit] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[: self.max_units], self._queue[self.max_units :]
                try:
                    await self._transaction(batch)
                except Exception as exc:
                    if len(batch) == 1:
                        self._fail(batch[0], exc)
                        continue
                    log.debug("a batch of %d write units failed (%s); each runs alone", len(batch), exc)
                    for unit in batch:
                        try:
                            await self._transaction([unit])
                        except Exception as alone:
                            self._fail(unit, alone)
                        else:
                            self._done(unit)
                else:
                    for unit in batch:
                        self._done(unit)
        except BaseException:  # cancelled (the loop is closing): nobody may wait for ever on what was queued
            for unit in [*batch, *self._queue]:
                if not unit.future.done():
                    unit.future.cancel()
            self._queue = []
            raise

    async def _transaction(self, batch: list[_Unit]) -> None:
        if self._thread is not None:
            await self._thread.run(batch)
        else:
            async with self._engine.begin() as connection:
                for unit in batch:
                    unit.results = [await job(connection) for job in unit.jobs]
        self.transactions += 1
        self.units += len(batch)

    @staticmethod
    def _done(unit: _Unit) -> None:
        if not unit.future.done():
            unit.future.set_result(unit.results)

    @staticmethod
    def _fail(unit: _Unit, exc: BaseException) -> None:
        if not unit.future.done():
            unit.future.set_exception(exc)

    async def close(self) -> None:
        """Wait for what is queued to be written."""
        writer = self._writer
        if writer is not None and not writer.done() and writer.get_loop() is asyncio.get_running_loop():
            with contextlib.suppress(Exception):
                await asyncio.shield(writer)


class _SqliteWriter:
    """Runs the committer's transactions on a SQLite file in one thread, on a synchronous connection."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wattcap-sqlite-writer")

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> _SqliteWriter | None:
        """A writer for ``engine``'s database if it is a SQLite file (an in-memory database is one per
        connection, so a second engine would not see it); None otherwise."""
        from wattcap.store.db import sync_sqlite_engine  # db imports this module's users, not this module

        sync = sync_sqlite_engine(engine)
        if sync is None:
            return None
        writer = cls(sync)
        # The async engine's owner disposes of it; the writer's connection and thread go with it.
        sa.event.listen(engine.sync_engine, "engine_disposed", lambda _engine: writer.close())
        return writer

    async def run(self, batch: list[_Unit]) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._transaction, batch)

    def _transaction(self, batch: list[_Unit]) -> None:
        with self.engine.begin() as connection:
            ready = _ReadyConnection(connection)
            for unit in batch:
                unit.results = [_run_to_end(job(ready)) for job in unit.jobs]  # type: ignore[arg-type]

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()


class _ReadyConnection:
    """What a job uses of an :class:`AsyncConnection`, answered at once by a synchronous connection."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    @property
    def dialect(self) -> sa.Dialect:
        return self._connection.dialect

    async def execute(self, statement: Any, parameters: Any = None, **options: Any) -> Any:
        return self._connection.execute(statement, parameters, **options)

    async def scalar(self, statement: Any, parameters: Any = None, **options: Any) -> Any:
        return self._connection.scalar(statement, parameters, **options)

    async def exec_driver_sql(self, statement: str, parameters: Any = None, **options: Any) -> Any:
        return self._connection.exec_driver_sql(statement, parameters, **options)

    async def run_sync(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return fn(self._connection, *args, **kwargs)


def _run_to_end(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """The value of a job whose every await is on a :class:`_ReadyConnection` (so it never suspends)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a store job awaited something other than its connection; it cannot run in the writer")
