"""The control plane the acceptance suite runs through, in-process, serving OCPP on the site's database.

The simplest honest way to test "through the control plane" is to *be* the control plane for the run: the
command stands in for ``wattcap serve`` on the same database (stop the service first; the chargers reconnect to
this process on the same address), so every profile goes through the same :class:`ProfileService`, store and
operations log production uses. :class:`InProcessPlane` wires the parts the way ``wattcap serve`` wires them. It
is the swappable part: ``wattcap.server.runtime.ControlPlane`` (being factored out now) has the same attributes
(``repository``, ``registry``, ``profiles``, ``clock``) and can be handed to the runner instead, once it is the one
way to build the plane.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable, Generator
from datetime import datetime

import uvicorn

from wattcap.server.app import create_app, uvicorn_config
from wattcap.server.backend_store import StoreBackend
from wattcap.server.capabilities import CapabilityReader
from wattcap.server.charge_point import utc_now
from wattcap.server.event_hub import EventHub
from wattcap.server.lifecycle_types import LifecycleSettings
from wattcap.server.profiles import ProfileService
from wattcap.server.settings import Settings
from wattcap.server.stations import StationRegistry
from wattcap.store import Repository

START_TIMEOUT_S = 15.0


class _DenialNoise(logging.Filter):
    """uvicorn (0.3x, websockets-sansio) logs "ASGI callable returned without completing handshake" after every
    HTTP denial of a WebSocket upgrade (its denial path never marks the handshake complete). The quarantine denies
    each reconnect attempt of a cut-off charger, so the line would drown the log; only that line is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing handshake."


class _QuietServer(uvicorn.Server):
    """A uvicorn that leaves SIGINT to the caller: Ctrl-C must cancel the run (which restores the stations'
    profiles, talking to them through this very server) before the server stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class InProcessPlane:
    """Store backend, event hub, station registry, capability reader and profile lifecycle, and the ASGI app."""

    def __init__(
        self,
        settings: Settings,
        repository: Repository,
        *,
        clock: Callable[[], datetime] = utc_now,
        lifecycle: LifecycleSettings | None = None,
    ) -> None:
        self.settings = settings
        self.repository = repository
        self.clock = clock
        self.hub = EventHub(StoreBackend(repository, accept_unknown_tokens=settings.accept_unknown_tokens))
        self.registry = StationRegistry()
        self.capabilities = CapabilityReader(self.registry, repository, self.hub, clock)
        self.profiles = ProfileService(self.registry, repository, self.hub, clock, settings=lifecycle,
                                       capabilities=self.capabilities)
        self.app = create_app(settings, self.hub, registry=self.registry, clock=clock)
        self.app.state.profiles = self.profiles
        self.port: int | None = None

    @property
    def url(self) -> str:
        """The OCPP endpoint chargers connect to (the station id is appended)."""
        scheme = "wss" if self.settings.tls else "ws"
        return f"{scheme}://{self.settings.host}:{self.port}/ocpp"

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[InProcessPlane]:
        """Serve OCPP on ``settings.host:settings.port`` (0: an ephemeral port) until the block ends."""
        sock = socket.socket(socket.AF_INET6 if ":" in self.settings.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.settings.host, self.settings.port))
        except OSError as exc:
            sock.close()
            raise OSError(
                f"cannot listen on {self.settings.host}:{self.settings.port} ({exc}); is wattcap serve running? "
                "The acceptance run serves the control plane itself: stop the service first"
            ) from exc
        self.port = sock.getsockname()[1]
        server = _QuietServer(uvicorn_config(self.app, self.settings, log_level="warning", lifespan="off"))
        noise = _DenialNoise()
        logging.getLogger("uvicorn.error").addFilter(noise)
        self.profiles.start()
        task = asyncio.create_task(server.serve(sockets=[sock]), name="acceptance:server")
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                while not server.started:
                    if task.done():
                        task.result()
                    await asyncio.sleep(0.02)
            yield self
        finally:
            await self.profiles.close()
            server.should_exit = True
            try:
                await asyncio.wait_for(task, START_TIMEOUT_S)
            except (TimeoutError, asyncio.CancelledError):
                server.force_exit = True
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            sock.close()
            logging.getLogger("uvicorn.error").removeFilter(noise)


@contextlib.asynccontextmanager
async def in_process_plane(
    settings: Settings, database_url: str, *, clock: Callable[[], datetime] = utc_now,
    lifecycle: LifecycleSettings | None = None,
) -> AsyncIterator[InProcessPlane]:
    """Open (and migrate) the database, wire the plane and serve it; everything is closed when the block ends."""
    repository = await Repository.open(database_url, clock=clock)
    try:
        plane = InProcessPlane(settings, repository, clock=clock, lifecycle=lifecycle)
        async with plane.serving():
            yield plane
    finally:
        await repository.close()
