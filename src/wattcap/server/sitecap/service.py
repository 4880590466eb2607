"""The site cap as a service of the control plane: one controller per site, the MQTT bridge, the site directory.

:func:`attach_site_cap` joins it to a :class:`~wattcap.server.runtime.ControlPlane`: the plane starts and closes
it, the API gets the site routes (:mod:`.api`), the live stream gets every allocation, Prometheus the allocation
latency, and ``plane.sites`` says which station is on which site (grants and stream filters use it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wattcap.core.sitecap.signals import SignalKind
from wattcap.server.sitecap.config import SiteDefinition
from wattcap.server.sitecap.controller import SiteCapController, SiteCapSettings
from wattcap.server.sitecap.mqtt import MqttBridge

if TYPE_CHECKING:
    from wattcap.server.runtime import ControlPlane

log = logging.getLogger("wattcap.sitecap")

__all__ = ["MqttSettings", "SiteCap", "attach_site_cap"]


@dataclass(frozen=True, slots=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    prefix: str = "wattcap"
    #: The API client whose grant governs what the bridge may post (its signals and sites).
    client: str | None = None


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
        self.controllers = {
            s.id: SiteCapController(
                s, plane.profiles, plane.hub, plane.registry, plane.repository, clock=plane.clock,
                settings=settings, policy=policy, on_allocation=self._allocated,
            )
            for s in sites
        }
        self.mqtt_settings = mqtt
        self.bridge: MqttBridge | None = None
        self._tasks: list[asyncio.Task] = []

    # ---- SiteDirectory ---------------------------------------------------------------------------------------

    def site_of(self, station_id: str) -> str | None:
        return self._site_of.get(station_id)

    def stations_of(self, site_id: str) -> frozenset[str] | None:
        site = self.sites.get(site_id)
        return None if site is None else site.station_ids

    # ---- Service ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        for controller in self.controllers.values():
            await controller.start()
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
        for controller in self.controllers.values():
            await controller.close()

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

        self.plane.metrics.allocation_latency.observe(controller.last_allocation_s)
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

