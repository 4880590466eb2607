"""Several wattcap nodes over one PostgreSQL database, tied together by NATS (``docs/deployment.md``).

Off unless ``nats_url`` is set: a single node never imports this package. With it, :class:`Cluster` joins the
control plane of this process to the others, and the rest of the plane keeps using the interfaces it always used:

* the registry (:class:`~.registry.ClusterRegistry`) reaches a station on any node: presence in a KV bucket, calls
  by NATS request to the node holding the link, takeover when a station reconnects elsewhere, dead nodes noticed
  by their missing heartbeats;
* the live stream (:class:`~wattcap.server.live.LiveFeed`) relays what is published here to every other node, and
  delivers theirs here (connection events excepted: every node derives them from the presence it mirrors);
* the station events a site cap needs (transactions and meter values of the site's stations) are published per
  site, so the node leading a site sees every station of it, wherever connected (:class:`StationEvents`);
* leadership (:class:`~.leases.Leases`): one node runs each site's controller, on a lease that a dead node loses;
* site signals reach every node's board (:class:`~.signals.ClusterSignalBoard`), so a new leader has them all.

The database needs nothing of its own: the lifecycle reads every decision's context from the store
(``profile_context``), whichever node recorded what it reads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wattcap.core.events import StationEvent
from wattcap.server.cluster import codec
from wattcap.server.cluster.bus import Bus, loads, token
from wattcap.server.cluster.leases import Leases
from wattcap.server.cluster.registry import ClusterRegistry
from wattcap.server.cluster.signals import ClusterSignalBoard
from wattcap.server.event_hub import EventHub, Subscriber
from wattcap.server.live import LiveEvent
from wattcap.server.settings import Settings

if TYPE_CHECKING:
    from wattcap.server.runtime import ControlPlane
    from wattcap.server.sitecap.config import SiteDefinition

log = logging.getLogger("wattcap.cluster")

__all__ = ["Cluster", "ClusterRegistry", "StationEvents", "default_node_id"]


def default_node_id() -> str:
    """Host name, process id and a few random characters: unique per running process."""
    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())[:32] or "node"
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:4]}"


class StationEvents:
    """What the site cap subscribes to instead of the :class:`EventHub`: this node's station events (from the hub)
    and the site events other nodes publish (from NATS). ``subscribe`` returns its undo, as the hub's does."""

    def __init__(self, hub: EventHub) -> None:
        self.hub = hub
        self._remote: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        undo_local = self.hub.subscribe(subscriber)
        self._remote.append(subscriber)

        def unsubscribe() -> None:
            undo_local()
            if subscriber in self._remote:
                self._remote.remove(subscriber)

        return unsubscribe

    def deliver(self, event: StationEvent) -> None:
        for subscriber in list(self._remote):
            try:
                subscriber(event)
            except Exception:
                log.exception("station event subscriber %r failed on %s", subscriber, type(event).__name__)


class Cluster:
    """This node's part of the cluster. Built with the plane (the registry must exist before anything uses it),
    started in the plane's event loop before the lifecycle and the services, closed after them."""

    def __init__(self, settings: Settings, hub: EventHub) -> None:
        assert settings.nats_url is not None
        self.settings = settings
        self.node_id = settings.node_id or default_node_id()
        self.bus = Bus(settings.nats_url, settings.nats_prefix, self.node_id)
        self.registry = ClusterRegistry(self.node_id, call_timeout_s=settings.call_timeout_s)
        self.events = StationEvents(hub)
        self.leases = Leases(self.bus, self.node_id, settings.cluster_lease_s)
        self.boards: dict[str, ClusterSignalBoard] = {}
        self.plane: ControlPlane | None = None
        self._undo: list[Callable[[], Any]] = []
        self._sends: set[asyncio.Task] = set()
        self._redraws: set[str] = set()
        #: The last snapshot each site's leader published (what a node that does not lead shows).
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.started = False

    async def start(self, plane: ControlPlane) -> None:
        self.plane = plane
        await self.bus.connect()
        self.started = True  # from here on close() has something to undo, even if the rest fails
        await self.registry.start(self.bus)
        await self.leases.start()
        nc = self.bus.client
        await nc.subscribe(self.bus.subject("live"), cb=self._on_live)
        await nc.subscribe(self.bus.subject("events", "*"), cb=self._on_events)
        await nc.subscribe(self.bus.subject("signal", "*"), cb=self._on_signal)
        await nc.subscribe(self.bus.subject("snapshot", "*"), cb=self._on_snapshot)
        self._undo.append(plane.live.add_relay(self._relay_live))
        self._undo.append(plane.hub.subscribe(self._relay_event))
        self.registry.add_remote_boot_listener(self._remote_boot)
        log.info("cluster.joined node=%s nats=%s prefix=%s stations_elsewhere=%d", self.node_id, self.settings.nats_url,
                 self.settings.nats_prefix, len(self.registry.where()))

    async def close(self) -> None:
        """Leave cleanly: this node's presence entries deleted, pending publishes flushed."""
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        await asyncio.gather(*self._sends, return_exceptions=True)
        await self.registry.close(graceful=True)
        await self.bus.close()

    async def crash(self) -> None:
        """Stop as a killed process would, for tests: no goodbyes, leases and presence left to expire."""
        self.leases.abandoned = True
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        await self.registry.close(graceful=False)
        await self.bus.abort()

    # ---- out ----------------------------------------------------------------------------------------------

    def _send(self, subject: str, value: Any) -> None:
        """Publish without waiting (callers run inside a station's message handling or the live feed)."""
        if self.bus.nc is None or self.bus.nc.is_closed:
            return
        task = asyncio.create_task(self._publish(subject, value))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _publish(self, subject: str, value: Any) -> None:
        try:
            await self.bus.publish(subject, value)
        except Exception as exc:
            log.debug("cluster.publish %s failed: %s", subject, exc)

    def _relay_live(self, event: LiveEvent) -> None:
        if event.type != "connection":
            self._send(self.bus.subject("live"), {"node": self.node_id, "event": codec.live_json(event)})

    def _relay_event(self, event: StationEvent) -> None:
        if not isinstance(event, codec.SITE_EVENTS) or self.plane is None:
            return
        site = self.plane.sites.site_of(event.station_id)
        if site is not None:
            self._send(self.bus.subject("events", token(site)), {"node": self.node_id, **codec.event_json(event)})

    def signal_board(self, site: SiteDefinition) -> ClusterSignalBoard:
        board = ClusterSignalBoard(
            site, lambda site_id, data: self._send(self.bus.subject("signal", token(site_id)),
                                                   {"node": self.node_id, **data}),
        )
        self.boards[site.id] = board
        return board

    def publish_snapshot(self, site_id: str, snapshot: dict[str, Any]) -> None:
        self._send(self.bus.subject("snapshot", token(site_id)),
                   {"node": self.node_id, "site": site_id, "snapshot": {**snapshot, "leader": self.node_id}})

    # ---- in -----------------------------------------------------------------------------------------------

    async def _on_live(self, message: Any) -> None:
        data = loads(message.data)
        if data.get("node") == self.node_id or self.plane is None:
            return
        try:
            event = codec.live_from(data["event"])
        except Exception as exc:
            log.warning("cluster.live event not understood: %s", exc)
            return
        self.plane.live.deliver(event)
        station = event.station_id
        if event.type in ("limit", "verdict") and station is not None and self.registry.is_local(station):
            self._redraw(station)

    def _redraw(self, station_id: str) -> None:
        """Another node changed the limits of a station connected here (the site cap's leader does, all the time).
        The draw check runs here, where its meter values arrive, against what this node's lifecycle remembered of
        the changes *it* made: so it is given, from the store, what the EVSEs should follow now. Coalesced: a
        change's limit event and its verdicts come together."""
        if station_id in self._redraws:
            return
        self._redraws.add(station_id)
        task = asyncio.create_task(self._remember_limits(station_id), name=f"cluster:redraw:{station_id}")
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _remember_limits(self, station_id: str) -> None:
        assert self.plane is not None
        try:
            await asyncio.sleep(0.1)
            self._redraws.discard(station_id)
            profiles = self.plane.profiles
            ctx = await profiles.context(station_id)
            horizon = profiles.settings.limits_horizon_s
            for evse_id in ctx.config.evse_ids:
                profiles.draw.remember(station_id, ctx.config, profiles.verifier.expected(ctx, evse_id, None, horizon))
        except Exception:
            log.exception("cluster: the draw check of %s could not be told of a change made elsewhere", station_id)
        finally:
            self._redraws.discard(station_id)

    async def _on_events(self, message: Any) -> None:
        data = loads(message.data)
        if data.get("node") == self.node_id:
            return
        try:
            event = codec.event_from(data)
        except Exception as exc:
            log.warning("cluster.event not understood: %s", exc)
            return
        self.events.deliver(event)

    async def _on_snapshot(self, message: Any) -> None:
        data = loads(message.data)
        if data.get("node") != self.node_id:
            self.snapshots[data["site"]] = data["snapshot"]

    async def _on_signal(self, message: Any) -> None:
        data = loads(message.data)
        if data.get("node") == self.node_id:
            return
        board = next((b for b in self.boards.values() if token(b.site.id) == message.subject.split(".")[-1]), None)
        if board is not None:
            try:
                board.apply(data)
            except Exception:
                log.exception("cluster.signal for %s not applied", board.site.id)

    def _remote_boot(self, station_id: str) -> None:
        """Another node handled ``station_id``'s boot: whoever here waits for boots (the site cap's
        ``_online_after_boot``, through ``ProfileService.wait_for``) must see it as if it were handled here."""
        if self.plane is None:
            return
        profiles = self.plane.profiles
        profiles.boot_count[station_id] += 1
        # ProfileService has no public "a boot was handled elsewhere"; _notify wakes its wait_for (the one private
        # call into another module: the lifecycle shell is being reworked concurrently and is not this package's).
        profiles._notify()

    def stats(self) -> dict[str, Any]:
        return {"node": self.node_id, "stations_here": len(self.registry), "stations": self.registry.where(),
                "sites_led": sorted(self.leases.held), "remote_calls": self.registry.remote_calls,
                "answered_calls": self.registry.answered_calls}
