"""The site cap as a service of the control plane: one controller per site, the MQTT bridge, the site directory.

:func:`attach_site_cap` joins it to a :class:`~wattcap.server.runtime.ControlPlane`: the plane starts and closes
it, the API gets the site routes (:mod:`.api`), the live stream gets every allocation, Prometheus the allocation
latency, and ``plane.sites`` says which station is on which site (grants and stream filters use it).

In a cluster (``plane.cluster``) a site's controller runs on one node only: the node holding the site's lease
(:mod:`wattcap.server.cluster.leases`). Every node keeps the site's signal board (signals posted anywhere reach all
boards), and the node that takes a lease starts a fresh controller on it, which adopts the site's sessions and
wattcap's profiles from the store as after a restart; a node that loses a lease closes its controller. The leader
publishes its snapshot (once a second at most), and a node that does not lead a site shows that at
``GET /sites/{site}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wattcap.core.sitecap.signals import SignalKind
from wattcap.server.sitecap.config import SiteDefinition
from wattcap.server.sitecap.controller import SiteCapController, SiteCapSettings
from wattcap.server.sitecap.mqtt import MqttBridge
from wattcap.server.sitecap.signals import SignalBoard

if TYPE_CHECKING:
    from wattcap.server.runtime import ControlPlane

log = logging.getLogger("wattcap.sitecap")

__all__ = ["MqttSettings", "SiteCap", "attach_site_cap"]

#: Attributes other services set on a site's controller after it is made (the fleet planner's shapers).
_HOOKS = ("demand_shaper", "profile_shaper")


@dataclass(frozen=True, slots=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    prefix: str = "wattcap"
    #: The API client whose grant governs what the bridge may post (its signals and sites).
    client: str | None = None


class _SiteController(SiteCapController):
    """A site's controller as the service runs it. In a cluster, on a node that does not lead the site, it is not
    running, and :meth:`snapshot` (``GET /sites/{site}``) shows what the leader last published instead."""

    leading = False
    leader_snapshot: Callable[[], dict[str, Any] | None] | None = None

    def snapshot(self) -> dict[str, Any]:
        if not self.leading and self.leader_snapshot is not None:
            found = self.leader_snapshot()
            if found is not None:
                return found
        return super().snapshot()


class SiteCap:
    """All sites of this control plane. Implements the plane's ``SiteDirectory`` and ``Service``."""

    def __init__(
        self,
        plane: ControlPlane,
        sites: Sequence[SiteDefinition],
        *,
        settings: SiteCapSettings | None = None,
        policy: Any = None,
        mqtt: MqttSettings | None = None,
    ) -> None:
        self.plane = plane
        self.sites = {s.id: s for s in sites}
        self._site_of = {station: s.id for s in sites for station in s.station_ids}
        self._settings = settings
        self._policy = policy
        self.cluster = getattr(plane, "cluster", None)
        self.boards = {s.id: self._board(s) for s in sites}
        self._views: dict[str, Any] = {}
        self.controllers = {s.id: self._controller(s) for s in sites}
        #: The sites whose controller runs in this process (all of them without a cluster).
        self.leading: set[str] = set()
        self._shown: dict[str, float] = {}
        self.mqtt_settings = mqtt
        self.bridge: MqttBridge | None = None
        self._tasks: list[asyncio.Task] = []

    def _board(self, site: SiteDefinition) -> SignalBoard:
        """The site's signal board, for as long as the service runs: it outlives the controllers of a site (in a
        cluster a node that leads again starts a new one), so it triggers whichever controller is the site's now,
        and whoever wraps its ``on_change`` (the fleet planner) wraps it once."""
        board = SignalBoard(site) if self.cluster is None else self.cluster.signal_board(site)
        board.on_change = lambda: self._trigger(site.id)
        return board

    def _trigger(self, site_id: str) -> None:
        controller = self.controllers.get(site_id)
        if controller is not None:
            controller.trigger()

    def _controller(self, site: SiteDefinition) -> SiteCapController:
        view = self.plane.registry.view()  # its connection listener goes with it when it is closed
        events = getattr(self.plane, "station_events", self.plane.hub)
        controller = _SiteController(
            site, self.plane.profiles, events, view, self.plane.repository, clock=self.plane.clock,
            settings=self._settings, policy=self._policy, on_allocation=self._allocated,
        )
        controller.signals = self.boards[site.id]
        if self.cluster is not None:
            cluster = self.cluster
            controller.leader_snapshot = lambda: cluster.snapshots.get(site.id)
        self._views[site.id] = view
        return controller

    # ---- SiteDirectory ---------------------------------------------------------------------------------------

    def site_of(self, station_id: str) -> str | None:
        return self._site_of.get(station_id)

    def stations_of(self, site_id: str) -> frozenset[str] | None:
        site = self.sites.get(site_id)
        return None if site is None else site.station_ids

    # ---- Service ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.cluster is None:
            for site_id, controller in self.controllers.items():
                controller.leading = True
                await controller.start()
                self.leading.add(site_id)
        else:
            for site_id in self.sites:
                self._tasks.append(asyncio.create_task(
                    self.cluster.leases.hold(site_id, self._lead, self._follow), name=f"site-cap:lease:{site_id}"
                ))
        if self.mqtt_settings is not None:
            m = self.mqtt_settings
            self.bridge = MqttBridge(
                {site_id: c.signals for site_id, c in self.controllers.items()}, host=m.host, port=m.port,
                prefix=m.prefix, client_name=m.client or "mqtt", authorize=self._mqtt_authorizer(m.client),
                clock=self.plane.clock,
            )
            self._tasks.append(asyncio.create_task(self.bridge.run(), name="site-cap:mqtt"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for site_id in list(self.leading):
            self._views[site_id].close()
            await self.controllers[site_id].close()
        self.leading.clear()

    async def _lead(self, site_id: str) -> None:
        """This node took ``site_id``'s lease: run its controller (a fresh one, started from the store)."""
        log.info("site %s: this node leads it now", site_id)
        self.leading.add(site_id)
        controller = self.controllers[site_id]
        controller.leading = True
        await controller.start()

    async def _follow(self, site_id: str) -> None:
        """This node lost (or gave up) ``site_id``'s lease: stop its controller, keep a fresh one for next time."""
        if site_id not in self.leading:
            return
        log.info("site %s: this node no longer leads it", site_id)
        self.leading.discard(site_id)
        old, old_view = self.controllers[site_id], self._views[site_id]
        old.leading = False
        old_view.close()  # before anything else: a closed controller must not react to a station coming back
        successor = self._controller(self.sites[site_id])
        for hook in _HOOKS:  # what other services set on the site's controller carries over to its successor
            if hasattr(old, hook):
                setattr(successor, hook, getattr(old, hook))
        self.controllers[site_id] = successor
        await old.close()

    def _mqtt_authorizer(self, client: str | None) -> Callable[[str, SignalKind], str | None]:
        """The bridge acts as API client ``client``: its grant is read per message, so a revoked or narrowed grant
        takes effect at once. Without a client, the bridge takes every signal (a broker only wattcap listens on)."""
        if client is None:
            return lambda site, kind: None
        grants: dict[str, Any] = {}

        async def refresh() -> None:
            from wattcap.core.governance import Grant

            found = await self.plane.repository.get_api_client(client)
            grants["grant"] = None if found is None else Grant.from_json(found.grant)

        self._tasks.append(asyncio.create_task(_every(30.0, refresh), name="site-cap:mqtt-grant"))

        def authorize(site: str, kind: SignalKind) -> str | None:
            from wattcap.core import governance as gov

            grant = grants.get("grant")
            if grant is None:
                return f"GOV-SCOPE: MQTT client {client!r} is unknown"
            refusals = gov.check_signal(grant, gov.Signal(kind.value), site)
            return "; ".join(str(r) for r in refusals) or None

        return authorize

    # ---- telemetry -------------------------------------------------------------------------------------------

    def _allocated(self, controller: SiteCapController) -> None:
        from wattcap.server.live import LiveEvent

        if controller is not self.controllers.get(controller.site.id):
            return  # a controller closed since
        self.plane.metrics.allocation_latency.observe(controller.last_allocation_s)
        if self.cluster is not None:  # what the other nodes show at GET /sites/{site}, once a second at most
            now = time.monotonic()
            if now - self._shown.get(controller.site.id, 0.0) >= 1.0:
                self._shown[controller.site.id] = now
                self.cluster.publish_snapshot(controller.site.id, controller.snapshot())
        allocation = controller.coordinator.allocation
        if allocation is None:
            return
        data = {
            "evses": {
                f"{k[0]}/{k[1]}": {
                    "current_a": a.current_a, "phases": a.phases, "power_w": a.power_w, "paused": a.paused,
                    "binding": a.binding,
                }
                for k, a in allocation.evses.items()
            },
            "limits": {
                node: {"current_a": lim.current_a, "power_w": lim.power_w, "source": lim.source}
                for node, lim in controller.last_limits.items()
            },
        }
        self.plane.live.publish(LiveEvent("allocation", data, site_id=controller.site.id, at=allocation.at))
        if self.bridge is not None:
            for (station, evse), a in allocation.evses.items():
                self._tasks.append(asyncio.create_task(self.bridge.publish_evse(
                    controller.site.id, station, evse,
                    {"limit_a": a.current_a, "phases": a.phases, "paused": a.paused, "binding": a.binding,
                     "measured_a": controller.sessions[(station, evse)].measured_a
                     if (station, evse) in controller.sessions else None,
                     "at": allocation.at.isoformat()},
                )))
            self._tasks = [t for t in self._tasks if not t.done()]


async def _every(seconds: float, action: Callable[[], Any]) -> None:
    while True:
        try:
            await action()
        except Exception:
            log.exception("periodic %r failed", action)
        await asyncio.sleep(seconds)


def attach_site_cap(
    plane: ControlPlane,
    sites: Sequence[SiteDefinition],
    *,
    settings: SiteCapSettings | None = None,
    policy: Any = None,
    mqtt: MqttSettings | None = None,
) -> SiteCap:
    """Join the site cap to ``plane`` (before ``plane.app()``): service, site directory and API routes."""
    from wattcap.server.sitecap.api import site_router

    service = SiteCap(plane, sites, settings=settings, policy=policy, mqtt=mqtt)
    plane.sites = service
    plane.add_service(service)
    plane.add_router(site_router(service))
    plane.site_cap = service  # type: ignore[attr-defined]
    return service

