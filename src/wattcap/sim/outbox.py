"""The ordered queue of what a station sends, which survives a lost link.

Everything a simulated station sends to the control plane goes through one :class:`Outbox`, in order, one
message at a time (OCPP-J allows one outstanding CALL per direction). Transaction messages and their meter
values are *durable*: while the link is down they queue, and after the reconnect they are sent in the order they
happened, each marked as generated offline (2.0.1 ``TransactionEvent.offline``). Everything else (status,
heartbeat, authorization, charging needs) is *volatile*: it is not queued while offline, and what was pending
when the link dropped is discarded, because the station sends its current state again after reconnecting.

A full queue drops its oldest meter values first (a charger's storage is finite too), never a transaction's
start or end.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from wattcap.sim.events import MeterValuesReceived, StationEvent, is_transaction_message


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message waiting to be sent: the event, whether it survives a lost link, whether it happened offline."""

    event: StationEvent
    durable: bool
    offline: bool


class Outbox:
    """FIFO of :class:`Envelope` with durable/volatile semantics. Used from one event loop."""

    def __init__(self, max_queued: int = 10_000) -> None:
        self._items: deque[Envelope] = deque()
        self._max = max_queued
        self._ready = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, event: StationEvent, *, online: bool) -> bool:
        """Queue ``event``; returns False when it is dropped (volatile while offline)."""
        durable = is_transaction_message(event)
        if not online and not durable:
            self.dropped += 1
            return False
        if len(self._items) >= self._max:
            self._make_room()
        self._items.append(Envelope(event, durable, offline=not online))
        self._ready.set()
        self._empty.clear()
        return True

    def extend(self, events: list[StationEvent], *, online: bool) -> None:
        for event in events:
            self.put(event, online=online)

    def queued(self) -> tuple[Envelope, ...]:
        """What is waiting, oldest first."""
        return tuple(self._items)

    def peek(self) -> Envelope | None:
        return self._items[0] if self._items else None

    async def next(self) -> Envelope:
        """The oldest envelope, waiting until there is one (it stays queued until :meth:`done`)."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items[0]

    def done(self, envelope: Envelope) -> None:
        """``envelope`` was delivered (or refused for good): remove it."""
        if self._items and self._items[0] is envelope:
            self._items.popleft()
        if not self._items:
            self._empty.set()

    def discard_volatile(self) -> list[Envelope]:
        """The link dropped: forget what only made sense while connected; return it (e.g. pending authorizations)."""
        kept: deque[Envelope] = deque()
        gone = []
        for item in self._items:
            (kept if item.durable else gone).append(item)
        self._items = kept
        self.dropped += len(gone)
        if not kept:
            self._empty.set()
        return gone

    async def drained(self) -> None:
        """Wait until everything queued has been sent."""
        await self._empty.wait()

    def _make_room(self) -> None:
        for i, item in enumerate(self._items):
            if isinstance(item.event, MeterValuesReceived):
                del self._items[i]
                self.dropped += 1
                return
        # Only transaction starts and ends left: keep them all, the queue grows past its bound.
