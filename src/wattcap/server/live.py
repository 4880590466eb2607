"""The live feed: what happens on the site, fanned out to stream clients without ever waiting for them.

:meth:`LiveFeed.publish` is called from inside a station's message handling (through the
:class:`~wattcap.server.event_hub.EventHub`) and from the profile lifecycle, so it must cost a few dictionary
look-ups and never block: each :class:`Subscription` holds a bounded queue, and a client that reads too slowly
loses its *oldest* events (the newest state matters most to a dashboard) and is then told how many it lost by a
``gap`` message. The only thing that waits on a client's socket is that client's own sender.

Every event a subscription accepts gets the subscription's next sequence number, before anything is dropped, so
a client sees exactly which numbers a gap covers.

In a cluster every node's stream shows the whole cluster: a *relay* (:meth:`LiveFeed.add_relay`) is handed every
event published here, and the cluster sends it to the other nodes, which put it on their own streams with
:meth:`LiveFeed.deliver` (never relayed again, so nothing goes round twice).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from wattcap.core import events as ev
from wattcap.core.lifecycle import DEFAULT_BANDS, BandTable, Violation
from wattcap.core.timeutil import format_timestamp
from wattcap.ocpp.composite_json import composite_to_json
from wattcap.server.lifecycle_types import ChangeResult, DrawViolation, LifecycleNews
from wattcap.store.types import to_jsonable

#: Event types a stream client may ask for (``type`` query parameter); ``gap`` and ``ready`` always come.
EVENT_TYPES = (
    "meter", "session", "status", "station", "connection", "limit", "verdict", "violation", "allocation", "site",
)
DEFAULT_QUEUE = 1000


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One thing that happened. ``data`` is JSON-ready; ``station_id``/``site_id``/``evse_id`` are for filtering
    (a site-level event, such as an allocation, has no station)."""

    type: str
    data: Mapping[str, Any]
    station_id: str | None = None
    evse_id: int | None = None
    site_id: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def message(self, seq: int) -> dict[str, Any]:
        return {
            "seq": seq, "type": self.type, "at": format_timestamp(self.at), "site": self.site_id,
            "station": self.station_id, "evse": self.evse_id, "data": dict(self.data),
        }


Accept = Callable[[LiveEvent], bool]


class Subscription:
    """One client's bounded queue. ``accepts`` decides which events are this client's (its filter and grant)."""

    def __init__(self, accepts: Accept, max_queue: int = DEFAULT_QUEUE, on_drop: Callable[[int], None] | None = None):
        if max_queue < 1:
            raise ValueError("a stream queue holds at least one event")
        self.accepts = accepts
        self.max_queue = max_queue
        self._queue: deque[tuple[int, LiveEvent]] = deque()
        self._seq = 0
        self._dropped = 0
        self._dropped_first: int | None = None
        self._dropped_last: int | None = None
        self._ready = asyncio.Event()
        self._on_drop = on_drop
        self.closed = False

    def offer(self, event: LiveEvent) -> bool:
        """Queue ``event`` if this client wants it; never waits. Returns whether it was queued."""
        if self.closed or not self.accepts(event):
            return False
        self._seq += 1
        if len(self._queue) >= self.max_queue:
            dropped_seq, _ = self._queue.popleft()
            self._dropped += 1
            self._dropped_first = dropped_seq if self._dropped_first is None else self._dropped_first
            self._dropped_last = dropped_seq
            if self._on_drop is not None:
                self._on_drop(1)
        self._queue.append((self._seq, event))
        self._ready.set()
        return True

    def take(self) -> list[dict[str, Any]]:
        """Everything queued, as messages, a ``gap`` first if events were dropped since the last take."""
        out: list[dict[str, Any]] = []
        if self._dropped:
            out.append({"type": "gap", "dropped": self._dropped, "first_seq": self._dropped_first,
                        "last_seq": self._dropped_last})
            self._dropped, self._dropped_first, self._dropped_last = 0, None, None
        while self._queue:
            seq, event = self._queue.popleft()
            out.append(event.message(seq))
        self._ready.clear()
        return out

    async def next(self) -> list[dict[str, Any]]:
        """Wait until something is queued (or the subscription is closed: then an empty list)."""
        while not self._queue and not self._dropped and not self.closed:
            await self._ready.wait()
        return self.take()

    @property
    def pending(self) -> int:
        """Events queued and not yet taken (at most ``max_queue``)."""
        return len(self._queue)

    @property
    def dropped(self) -> int:
        """Events dropped since the last take (the next ``gap`` message reports them)."""
        return self._dropped

    def close(self) -> None:
        self.closed = True
        self._ready.set()


class LiveFeed:
    """Fan-out of :class:`LiveEvent` to subscriptions; adapters turn station events and lifecycle news into them.

    ``site_of`` says which site a station belongs to (stamped on every station event, so a client can follow a
    site); ``bands`` names the band (and so the owner) of a changed profile; ``metrics`` (optional) counts what is
    published and dropped.
    """

    def __init__(
        self, *, site_of: Callable[[str], str | None] = lambda _: None, bands: BandTable = DEFAULT_BANDS,
        metrics: Any = None, max_queue: int = DEFAULT_QUEUE,
    ) -> None:
        self.site_of = site_of
        self.bands = bands
        self.metrics = metrics
        self.max_queue = max_queue
        self._subscriptions: list[Subscription] = []
        self._relays: list[Callable[[LiveEvent], None]] = []

    def __len__(self) -> int:
        return len(self._subscriptions)

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        return tuple(self._subscriptions)

    def subscribe(self, accepts: Accept, max_queue: int | None = None) -> Subscription:
        on_drop = None if self.metrics is None else self.metrics.stream_dropped.inc
        subscription = Subscription(accepts, max_queue or self.max_queue, on_drop)
        self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscription.close()
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def publish(self, event: LiveEvent) -> None:
        """Offer ``event`` to every subscription and hand it to the relays; returns at once whatever the clients do."""
        self.deliver(event)
        for relay in list(self._relays):
            relay(event)

    def deliver(self, event: LiveEvent) -> None:
        """Offer ``event`` to this feed's subscriptions only (an event another node published)."""
        if self.metrics is not None:
            self.metrics.stream_events.labels(event.type).inc()
        for subscription in list(self._subscriptions):
            subscription.offer(event)

    def add_relay(self, relay: Callable[[LiveEvent], None]) -> Callable[[], None]:
        """Hand every event published here to ``relay`` too (it must not block); returns the function that stops it.
        While a relay is there, events are made even without a subscriber here."""
        self._relays.append(relay)
        return lambda: self._relays.remove(relay) if relay in self._relays else None

    @property
    def _wanted(self) -> bool:
        return bool(self._subscriptions or self._relays)

    def close(self) -> None:
        for subscription in list(self._subscriptions):
            self.unsubscribe(subscription)

    # ---- adapters -----------------------------------------------------------------------------------------

    def _station(self, kind: str, event: ev.StationEvent, data: Mapping[str, Any], evse_id: int | None) -> LiveEvent:
        return LiveEvent(kind, data, event.station_id, evse_id, self.site_of(event.station_id), event.at)

    def on_station_event(self, event: ev.StationEvent) -> None:
        """An EventHub subscriber: station events of interest to a live view."""
        if not self._wanted:
            return
        converted = station_event(event)
        if converted is not None:
            kind, data, evse_id = converted
            self.publish(self._station(kind, event, data, evse_id))

    def on_connection(self, station_id: str, connected: bool) -> None:
        """A StationRegistry connection listener (in a cluster: told of every node's stations, so never relayed)."""
        if self._subscriptions:
            self.deliver(LiveEvent("connection", {"connected": connected}, station_id, None, self.site_of(station_id)))

    def on_lifecycle(self, news: LifecycleNews) -> None:
        """A ProfileService listener: limit changes, verdicts and violations."""
        if not self._wanted:
            return
        if isinstance(news, DrawViolation):
            self.publish(LiveEvent("violation", violation_json(news.violation), news.station_id, news.evse_id,
                                   self.site_of(news.station_id)))
            return
        for event in lifecycle_events(news, self.site_of(news.station_id), self.bands):
            self.publish(event)


def station_event(event: ev.StationEvent) -> tuple[str, dict[str, Any], int | None] | None:
    """(type, data, evse) of a station event worth streaming, or None (heartbeats, reports, device models)."""
    if isinstance(event, ev.MeterValuesReceived):
        samples = [
            {"at": format_timestamp(s.timestamp), "measurand": str(s.measurand), "phase": s.phase, "value": s.value,
             "unit": s.unit, "context": s.context}
            for s in event.samples
        ]
        return "meter", {"transaction_id": event.transaction_id, "samples": samples}, event.evse_id
    if isinstance(event, ev.TransactionStarted):
        data = {"event": "started", "transaction_id": event.transaction_id, "id_token": event.id_token,
                "meter_start_wh": event.meter_start_wh, "remote_start_id": event.remote_start_id}
        return "session", data, event.evse_id
    if isinstance(event, ev.TransactionEnded):
        data = {"event": "ended", "transaction_id": event.transaction_id, "meter_stop_wh": event.meter_stop_wh,
                "reason": event.reason}
        return "session", data, event.evse_id
    if isinstance(event, ev.ConnectorStatusChanged):
        return "status", {"connector_id": event.connector_id, "status": event.status,
                          "error_code": event.error_code}, event.evse_id or None
    if isinstance(event, ev.StationBooted):
        return "station", {"event": "booted", "vendor": event.vendor, "model": event.model,
                           "firmware_version": event.firmware_version, "reason": event.reason}, None
    if isinstance(event, ev.ChargingLimitNotified):
        data = {"source": "external", "external_source": str(event.source), "is_grid_critical": event.is_grid_critical,
                "schedules": to_jsonable(event.schedules), "event": "notified"}
        return "limit", data, event.evse_id or None
    if isinstance(event, ev.ChargingLimitCleared):
        return "limit", {"source": "external", "external_source": str(event.source), "event": "cleared"}, (
            event.evse_id or None
        )
    return None


def lifecycle_events(result: ChangeResult, site_id: str | None, bands: BandTable = DEFAULT_BANDS) -> list[LiveEvent]:
    """A change result as a ``limit`` event (unless it was only a verification) and a ``verdict`` per EVSE.

    The limit event names the profile's band and its owner; who asked for the change is in the audit log (the
    lifecycle sends from its write queue, where the caller is no longer known)."""
    found: list[LiveEvent] = []
    if result.action != "verify":
        band = None if result.profile_id is None else bands.band_of(result.profile_id)
        data = {"action": result.action, "profile_id": result.profile_id, "verdict": result.verdict.value,
                "reason": result.reason, "band": None if band is None else band.name,
                "owner": None if band is None else band.owner}
        found.append(LiveEvent("limit", data, result.station_id, result.evse_id, site_id))
    for check in result.checks:
        data = {
            "verdict": check.verdict.value, "reason": check.reason, "after": result.action,
            "differences": to_jsonable(list(check.differences)),
            "expected": None if check.expected is None else composite_to_json(check.expected),
        }
        found.append(LiveEvent("verdict", data, result.station_id, check.evse_id, site_id))
    return found


def violation_json(violation: Violation) -> dict[str, Any]:
    return {**to_jsonable(violation), "description": violation.describe()}
