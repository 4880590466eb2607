"""The control plane assembled once: store, event hub, station registry, capabilities, profile lifecycle, live
feed, metrics, and the ASGI app that serves OCPP and the HTTP API.

``wattcap serve``, ``wattcap demo`` (through ``serve``) and the tests build it the same way::

    plane = await ControlPlane.open(settings)        # or ControlPlane(settings, repository) on a repository of yours
    app = plane.app()                                # OCPP at /ocpp/{id}, the API at /api/v1, /metrics, /ui/
    await uvicorn.Server(uvicorn_config(app, settings)).serve()   # the app's lifespan starts and closes the plane

Everything the API needs hangs off the plane (``app.state.plane``). Other parts of wattcap join it without
changing this module: :meth:`ControlPlane.add_service` starts and closes a service with the plane (the site-cap
controller), :meth:`ControlPlane.add_router` serves more API routes (the site signals), ``plane.sites`` says
which station is on which site (:class:`SiteDirectory`), ``plane.live.publish`` puts an event on the live stream,
``plane.metrics`` holds the Prometheus metrics (``allocation_latency``).

With ``settings.nats_url`` the plane is one node of a cluster (:mod:`wattcap.server.cluster`, ``docs/deployment.md``):
``plane.registry`` is then a :class:`~wattcap.server.cluster.ClusterRegistry` that reaches stations on every node,
``plane.station_events`` adds the site events of other nodes to the hub's, ``plane.live`` shows every node's events,
and ``plane.cluster`` runs the leases the site cap leads by. Without it (the default) ``plane.cluster`` is None,
``plane.station_events`` is the hub, and nothing leaves the process.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, Self

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI

from wattcap.core.events import StationEvent
from wattcap.core.lifecycle import DEFAULT_BANDS, BandTable
from wattcap.server.app import create_app
from wattcap.server.backend import StationBackend
from wattcap.server.backend_store import StoreBackend
from wattcap.server.capabilities import CapabilityReader, RetryPolicy
from wattcap.server.charge_point import utc_now
from wattcap.server.event_hub import EventHub
from wattcap.server.lifecycle_types import LifecycleSettings
from wattcap.server.live import DEFAULT_QUEUE, LiveFeed
from wattcap.server.metrics import Metrics
from wattcap.server.profile_preview import ProfilePreview
from wattcap.server.profiles import ProfileService
from wattcap.server.settings import Settings, SettingsError
from wattcap.server.stations import StationRegistry
from wattcap.store import Repository

if TYPE_CHECKING:
    from wattcap.server.cluster import Cluster

log = logging.getLogger("wattcap.server.runtime")


class SiteDirectory(Protocol):
    """Which station is on which site. Looked up for every streamed event and every grant check, so it answers
    from memory; whoever owns the site topology keeps it current."""

    def site_of(self, station_id: str) -> str | None:
        """The site ``station_id`` is on, or None."""
        ...

    def stations_of(self, site_id: str) -> frozenset[str] | None:
        """The stations of ``site_id``; None for a site that does not exist."""
        ...


class MappingSites:
    """A :class:`SiteDirectory` over ``{site id: station ids}`` (a station on several sites counts for the first)."""

    def __init__(self, sites: Mapping[str, Iterable[str]] | None = None) -> None:
        self._stations = {site: frozenset(ids) for site, ids in (sites or {}).items()}
        self._site = {}
        for site, ids in self._stations.items():
            for station_id in ids:
                self._site.setdefault(station_id, site)

    def site_of(self, station_id: str) -> str | None:
        return self._site.get(station_id)

    def stations_of(self, site_id: str) -> frozenset[str] | None:
        return self._stations.get(site_id)


class Service(Protocol):
    """Something that runs with the control plane: started in its event loop, closed before the store is."""

    def start(self) -> Any: ...

    async def close(self) -> None: ...


class ControlPlane:
    """The parts of a running control plane, wired to each other. ``repository`` is the caller's unless
    ``owns_repository`` (as with :meth:`open`): then :meth:`close` closes it."""

    def __init__(
        self,
        settings: Settings,
        repository: Repository,
        *,
        backend: StationBackend | None = None,
        lifecycle: LifecycleSettings | None = None,
        bands: BandTable = DEFAULT_BANDS,
        clock: Callable[[], datetime] = utc_now,
        capability_retry: RetryPolicy | None = None,
        sites: SiteDirectory | None = None,
        stream_queue: int = DEFAULT_QUEUE,
        owns_repository: bool = False,
    ) -> None:
        self.settings = settings
        self.repository = repository
        self.bands = bands
        self.clock = clock
        self.backend = backend or StoreBackend(repository, accept_unknown_tokens=settings.accept_unknown_tokens)
        self.hub = EventHub(self.backend)
        #: This node's part of a cluster (None: a single node).
        self.cluster: Cluster | None = None
        #: What the site cap subscribes to: the hub, plus other nodes' site events in a cluster.
        self.station_events: Any = self.hub
        if settings.nats_url:
            try:
                from wattcap.server import cluster
            except ImportError as exc:  # nats-py is the optional "cluster" extra
                raise SettingsError(f"nats_url needs nats-py: pip install 'wattcap[cluster]' ({exc})") from None
            self.cluster = cluster.Cluster(settings, self.hub)
            self.registry: StationRegistry = self.cluster.registry
            self.station_events = self.cluster.events
        else:
            self.registry = StationRegistry()
        self.capabilities = CapabilityReader(self.registry, repository, self.hub, clock, retry=capability_retry)
        self.profiles = ProfileService(
            self.registry, repository, self.hub, clock, bands=bands, settings=lifecycle, capabilities=self.capabilities
        )
        self.sites: SiteDirectory = sites or MappingSites()
        self.metrics = Metrics()
        self.live = LiveFeed(
            site_of=lambda station_id: self.sites.site_of(station_id), bands=bands, metrics=self.metrics,
            max_queue=stream_queue,
        )
        self.preview = ProfilePreview(bands, clock)
        self.owns_repository = owns_repository
        self.started = False
        self._services: list[Service] = []
        #: Extra API routers, mounted under /api/v1 by :meth:`app` (the site signals, topology).
        self.routers: list[APIRouter] = []
        self._undo: list[Callable[[], Any]] = []
        self._closed = False

    @classmethod
    async def open(cls, settings: Settings, url: str | sa.URL | None = None, **options: Any) -> Self:
        """A plane on the database at ``url`` (default: the settings' one), migrated on open, owned by the plane."""
        from wattcap.store import database_url

        repository = await Repository.open(url or database_url(settings))
        return cls(settings, repository, owns_repository=True, **options)

    def add_service(self, service: Service) -> None:
        """Run ``service`` with the plane: started after the lifecycle (at once if the plane runs already)."""
        self._services.append(service)

    def add_router(self, router: APIRouter) -> None:
        """Serve ``router`` under ``/api/v1`` (before :meth:`app` is called); its routes use the same auth
        dependencies (``wattcap.api.deps``)."""
        self.routers.append(router)

    async def start(self) -> None:
        """Wire the listeners and start the lifecycle and the added services, inside the running event loop."""
        if self.started:
            return
        self.started = True
        if self.cluster is not None:  # first: the registry must know the other nodes' stations before anyone asks
            await self.cluster.start(self)
        self._undo.append(self.hub.subscribe(self._on_station_event))
        self._undo.append(self.profiles.add_listener(self.live.on_lifecycle))
        self._undo.append(self.profiles.add_listener(self.metrics.on_lifecycle))
        self.registry.add_connection_listener(self.live.on_connection)
        self.metrics.watch(lambda: len(self.registry), lambda: len(self.live))
        self.profiles.start()
        for service in self._services:
            started = service.start()
            if inspect.isawaitable(started):
                await started

    def _on_station_event(self, event: StationEvent) -> None:
        self.metrics.on_station_event(event)
        self.live.on_station_event(event)

    async def close(self) -> None:
        """Stop the services and the lifecycle, end the streams, and close the store if the plane owns it."""
        if self._closed:
            return
        self._closed = True
        for service in reversed(self._services):
            try:
                await service.close()
            except Exception:
                log.exception("closing %r failed", service)
        await self.profiles.close()
        self.live.close()
        for undo in reversed(self._undo):
            undo()
        if self.cluster is not None and self.cluster.started:
            try:
                await self.cluster.close()
            except Exception:
                log.exception("leaving the cluster failed")
        if self.owns_repository:
            await self.repository.close()

    def app(self) -> FastAPI:
        """The ASGI app: OCPP, ``/healthz``, the HTTP API, ``/metrics``, the web UI at ``/ui/``; its lifespan
        starts and closes the plane."""
        from wattcap.api import install_api
        from wattcap.ui import install_ui

        app = create_app(self.settings, self.hub, registry=self.registry, clock=self.clock)
        app.state.plane = self
        install_api(app, self)
        install_ui(app)

        @contextlib.asynccontextmanager
        async def lifespan(_: object) -> AsyncIterator[None]:
            # Close in the app's shutdown: once uvicorn's serve() returns it re-raises the signal it caught, and
            # anything still awaiting after that is cancelled half-way.
            await self.start()
            try:
                yield
            finally:
                await self.close()

        app.router.lifespan_context = lifespan
        return app
