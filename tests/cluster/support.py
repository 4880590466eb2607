"""Two (or more) wattcap nodes in this process, each a full :class:`ControlPlane` served by its own uvicorn, over one
PostgreSQL database and one NATS; and :class:`Balancer`, the WebSocket-aware load balancer in front of them.

A node is killed as a process would be (:meth:`Node.kill`): its NATS connection dropped (its presence entries and
leases left behind to expire), its controllers stopped mid-whatever, every TCP connection aborted without a close
frame, its port closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from server.serving import Serving, serving
from wattcap.core.governance import Grant
from wattcap.server.profiles import LifecycleSettings
from wattcap.server.runtime import ControlPlane
from wattcap.server.settings import Settings
from wattcap.server.sitecap.config import SiteDefinition
from wattcap.server.sitecap.controller import SiteCapSettings
from wattcap.server.sitecap.service import SiteCap, attach_site_cap
from wattcap.store import Repository

from .conftest import NATS_URL

TIMEOUT = 20.0
LIFECYCLE = LifecycleSettings(min_write_interval_s=0, reconcile_interval_s=None, reaction_s=2.0)
SITECAP = SiteCapSettings(tick_s=0.5, debounce_s=0.05, meter_replan_s=2.0, boot_wait_s=1.0)


@dataclass
class Node:
    name: str
    plane: ControlPlane
    site_cap: SiteCap | None
    served: Serving
    killed: bool = False

    @property
    def port(self) -> int:
        return self.served.port

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, token: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.http, headers={"Authorization": f"Bearer {token}"}, trust_env=False,
                                 timeout=TIMEOUT)

    def local(self) -> set[str]:
        """The stations whose WebSocket ends on this node."""
        return set(self.plane.registry)

    def leads(self, site_id: str) -> bool:
        return self.site_cap is not None and site_id in self.site_cap.leading

    async def kill(self) -> None:
        self.killed = True
        cluster = self.plane.cluster
        assert cluster is not None
        await cluster.crash()
        cluster.started = False
        if self.site_cap is not None:
            await self.site_cap.close()  # the leases are abandoned: nothing is released, the controllers just stop
        await self.served.crash()
        await self.plane.profiles.close()


def node_settings(name: str, prefix: str, lease_s: float, **changes: Any) -> Settings:
    return Settings(**{"host": "127.0.0.1", "port": 0, "call_timeout_s": 5.0, "heartbeat_interval_s": 60,
                       "nats_url": NATS_URL, "node_id": name, "nats_prefix": prefix, "cluster_lease_s": lease_s,
                       **changes})


@asynccontextmanager
async def node(
    name: str, database_url: str, prefix: str, *, sites: Sequence[SiteDefinition] = (), policy: Any = None,
    lease_s: float = 3.0, **changes: Any,
) -> AsyncIterator[Node]:
    settings = node_settings(name, prefix, lease_s, **changes)
    repository = await Repository.open(database_url)
    plane = ControlPlane(settings, repository, lifecycle=LIFECYCLE)
    site_cap = attach_site_cap(plane, sites, settings=SITECAP, policy=policy) if sites else None
    try:
        async with serving(plane.app(), settings, TIMEOUT) as served:
            yield Node(name, plane, site_cap, served)
    finally:
        await plane.close()
        await repository.close()


async def api_token(repository: Repository, client: str, grant: dict[str, Any]) -> str:
    await repository.put_api_client(client, Grant.from_json(grant).to_json())
    return (await repository.create_api_token(client)).token


@dataclass
class Balancer:
    """A TCP load balancer that reads the request line to learn the station (as a WebSocket-aware balancer with
    station affinity does), then tries the nodes in ``prefer(station)`` order until one accepts the connection."""

    ports: dict[str, int]
    prefer: Callable[[str], Sequence[str]]
    port: int = 0
    routed: list[tuple[str, str, float]] = field(default_factory=list)  # (station, node, when) of every connection
    _server: asyncio.Server | None = None
    _pipes: set[asyncio.Task] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            station = path.rstrip("/").rsplit("/", 1)[-1]
            for name in self.prefer(station):
                try:
                    upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.ports[name])
                except OSError:
                    continue
                self.routed.append((station, name, round(time.monotonic(), 2)))
                upstream_writer.write(head)
                await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
                return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, IndexError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
            self._pipes.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
