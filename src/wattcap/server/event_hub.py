"""A :class:`~wattcap.server.backend.StationBackend` that tells subscribers about every event it recorded.

The profile lifecycle reacts to what stations say: a transaction that ended has its TxProfiles cleared, a
remote-started one binds its profile, meter values are held against the limit, and answers that come as
separate messages (ReportChargingProfiles, NotifyReport) complete a request. The server hands every event to the
backend's ``record``; this wrapper records it with the real backend first (so the store already knows it) and
then passes it to the subscribers. Any backend can be wrapped, so the server code needs no hook of its own:
``create_app(settings, EventHub(backend))``.

Subscribers are plain functions and run inside the station's message handling: they must not await anything
from the station (the ``ocpp`` package handles one message at a time, so that would deadlock). They start a task
for such work. A failing subscriber is logged and never fails the station's message.

Two answers depend on more than the store: whether wattcap will give an ISO 15118 EV a schedule
(NotifyEVChargingNeeds, K15.FR.03–05) and whether the EV's own schedule is within its limits
(NotifyEVChargingSchedule, K15.FR.11/12). A service that plans (the fleet service) sets :attr:`EventHub.ev_judge`;
without one, both are answered Accepted as before (nothing is planned, and nothing is held against the EV).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from wattcap.core.events import EVChargingNeedsNotified, EVChargingScheduleNotified, StationEvent
from wattcap.server.backend import StationBackend

log = logging.getLogger("wattcap.server.events")

E = TypeVar("E", bound=StationEvent)
Subscriber = Callable[[StationEvent], None]


class Collector(Generic[E]):
    """Gathers the events of one multi-message answer (a report with ``tbc``), from before the request is sent."""

    def __init__(self, accept: Callable[[StationEvent], bool], last: Callable[[E], bool]) -> None:
        self._accept = accept
        self._last = last
        self.events: list[E] = []
        self._complete = asyncio.Event()

    def __call__(self, event: StationEvent) -> None:
        if not self._complete.is_set() and self._accept(event):
            self.events.append(event)  # type: ignore[arg-type]
            if self._last(event):  # type: ignore[arg-type]
                self._complete.set()

    async def wait(self, timeout_s: float) -> list[E]:
        """The events once the last one came; raises TimeoutError if it did not within ``timeout_s``."""
        async with asyncio.timeout(timeout_s):
            await self._complete.wait()
        return self.events


class EVJudge(Protocol):
    """Answers the two ISO 15118 questions of a 2.0.1 station (statuses as on the wire)."""

    def charging_needs(self, event: EVChargingNeedsNotified) -> str:
        """``Accepted`` (a schedule follows), ``Processing`` (one will, later) or ``Rejected``."""
        ...

    async def charging_schedule(self, event: EVChargingScheduleNotified) -> str:
        """``Accepted`` if the EV's schedule is within its limits, else ``Rejected``."""
        ...


class EventHub:
    """Wraps ``inner``; every other attribute of the backend Protocol is ``inner``'s own."""

    def __init__(self, inner: StationBackend) -> None:
        self.inner = inner
        self._subscribers: list[Subscriber] = []
        self.ev_judge: EVJudge | None = None

    async def answer_ev_charging_needs(self, event: EVChargingNeedsNotified) -> str:
        return "Accepted" if self.ev_judge is None else self.ev_judge.charging_needs(event)

    async def answer_ev_charging_schedule(self, event: EVChargingScheduleNotified) -> str:
        return "Accepted" if self.ev_judge is None else await self.ev_judge.charging_schedule(event)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def record(self, event: StationEvent) -> None:
        await self.inner.record(event)
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                log.exception("event subscriber %r failed on %s", subscriber, type(event).__name__)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(event)`` after each recorded event; returns the function that unsubscribes it."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def collector(
        self, kind: type[E], station_id: str, *, where: Callable[[E], bool], last: Callable[[E], bool]
    ) -> Collector[E]:
        """A subscribed :class:`Collector` of ``kind`` events of ``station_id``; unsubscribe with :meth:`release`."""

        def accept(event: StationEvent) -> bool:
            return isinstance(event, kind) and event.station_id == station_id and where(event)

        collector: Collector[E] = Collector(accept, last)
        self._subscribers.append(collector)
        return collector

    def release(self, collector: Collector[Any]) -> None:
        if collector in self._subscribers:
            self._subscribers.remove(collector)
