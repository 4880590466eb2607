"""Paced profile writes: one queue per station, sent as :func:`wattcap.core.lifecycle.plan_writes` decides.

A write is a coroutine function that sends one SetChargingProfile or ClearChargingProfile and returns its
result. :meth:`WriteQueue.submit` queues it and resolves when it was sent, or, if a later write to the same
profile replaced it before it went out, with that later write's result. Each station has its own sending task,
so a slow charger never holds up another; within a station writes go one at a time (the ``ocpp`` package allows
one outstanding call per station anyway).

A write that raises :class:`RateLimited` (the charger answered ``RateLimitExceeded``, K01.FR.56) is queued again
and its (station, purpose) blocked until the charger's hint has passed (K01.FR.58/59), at most ``max_retries``
times; then its last result stands.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from wattcap.aio import stop_if_cancelled
from wattcap.core.lifecycle import PendingWrite, WriteKey, plan_writes

log = logging.getLogger("wattcap.server.profiles")

R = TypeVar("R")


class RateLimited(Exception, Generic[R]):
    """The charger refused a write for now; retry after ``retry_after_s``. ``result`` stands if retries run out."""

    def __init__(self, retry_after_s: float, result: R) -> None:
        super().__init__(f"rate limited; retry after {retry_after_s:g} s")
        self.retry_after_s = retry_after_s
        self.result = result


@dataclass(eq=False)
class _Queued(Generic[R]):
    key: WriteKey
    profile_id: int
    send: Callable[[], Awaitable[R]]
    future: asyncio.Future[R]
    token: int
    retries: int = 0
    sequence: int = field(default=0)
    paced: bool = True


def _follow(source: asyncio.Future, target: asyncio.Future) -> None:
    """Resolve ``target`` the way ``source`` resolved (a superseded write ends with its replacement)."""

    def copy(done: asyncio.Future) -> None:
        if target.done():
            return
        if done.cancelled():
            target.cancel()
        elif done.exception() is not None:
            target.set_exception(done.exception())
        else:
            target.set_result(done.result())

    source.add_done_callback(copy)


class WriteQueue(Generic[R]):
    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        min_interval_s: float,
        max_retries: int = 3,
    ) -> None:
        self._clock = clock
        self.min_interval_s = min_interval_s
        self.max_retries = max_retries
        self._counter = itertools.count(1)
        self._pending: dict[str, dict[int, _Queued[R]]] = {}
        self._last_sent: dict[WriteKey, datetime] = {}
        self._blocked_until: dict[WriteKey, datetime] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._loops: dict[str, asyncio.Task] = {}

    async def submit(
        self, key: WriteKey, profile_id: int, send: Callable[[], Awaitable[R]], *, paced: bool = True
    ) -> R:
        """Queue ``send`` for ``profile_id`` and wait for the result of the write that carried it (``paced=False``:
        send as soon as the station's previous write is done, see :class:`~wattcap.core.lifecycle.PendingWrite`)."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._enqueue(_Queued(key, profile_id, send, future, token=0, paced=paced))
        return await asyncio.shield(future)

    def _enqueue(self, item: _Queued[R]) -> None:
        item.token = item.sequence = next(self._counter)
        station = item.key.station_id
        self._pending.setdefault(station, {})[item.token] = item
        self._wake.setdefault(station, asyncio.Event()).set()
        loop = self._loops.get(station)
        if loop is None or loop.done():
            self._loops[station] = asyncio.create_task(self._run(station), name=f"{station}:profile-writes")

    async def _run(self, station: str) -> None:
        wake = self._wake[station]
        while pending := self._pending.get(station):
            wake.clear()
            plan = plan_writes(
                [PendingWrite(q.key, q.profile_id, q.sequence, q.token, q.paced) for q in pending.values()],
                now=self._clock(),
                last_sent=self._last_sent,
                min_interval_s=self.min_interval_s,
                blocked_until=self._blocked_until,
            )
            for token, replacement in plan.superseded.items():
                _follow(pending[replacement].future, pending.pop(token).future)
            for write in plan.send_now:
                # A send awaits the ocpp package's call, which may have swallowed a cancel (wattcap.aio); what is
                # not sent stays queued, and close() cancels it.
                stop_if_cancelled()
                await self._send(pending.pop(write.token))
            if not plan.send_now and plan.next_due is not None:
                delay = max(0.0, (plan.next_due - self._clock()).total_seconds())
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):  # not wait_for: it can drop a cancel (wattcap.aio)
                        await wake.wait()
        self._pending.pop(station, None)

    async def _send(self, item: _Queued[R]) -> None:
        self._last_sent[item.key] = self._clock()
        try:
            result = await item.send()
        except RateLimited as limited:
            self._blocked_until[item.key] = self._clock() + timedelta(seconds=limited.retry_after_s)
            if item.retries < self.max_retries:
                item.retries += 1
                log.info("profile write to %s rate limited; retrying in %g s", item.key, limited.retry_after_s)
                self._enqueue(item)
                return
            result = limited.result
        except Exception as exc:  # the caller gets the failure; the queue goes on
            if not item.future.done():
                item.future.set_exception(exc)
            return
        if not item.future.done():
            item.future.set_result(result)

    async def close(self) -> None:
        """Stop sending; writes still queued fail with CancelledError."""
        for task in self._loops.values():
            task.cancel()
        for task in self._loops.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for queued in self._pending.values():
            for item in queued.values():
                item.future.cancel()
        self._pending.clear()
