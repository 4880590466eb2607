"""The NATS connection of one node: subject and bucket names under the cluster's prefix, JSON on the wire.

Every name a node uses is built here, so the whole cluster protocol can be read in one place::

    {prefix}.station.{station}.call     request/reply: a call to a station, answered by the node holding its link
    {prefix}.node.{node}.alive          a node's heartbeat (core NATS, every ``heartbeat_s``)
    {prefix}.booted                     a node handled a station's boot (capabilities read, holdings reconciled)
    {prefix}.live                       live-stream events of every node, for every node's stream clients
    {prefix}.events.{site}              the station events a site's site cap needs (transactions, meter values)
    {prefix}.signal.{site}              site signals (limits, loads, series) posted to any node
    {prefix}.snapshot.{site}            the site's state as its leader sees it (GET /sites/{site} on other nodes)
    KV {prefix}_presence                station -> the node holding its WebSocket (and the OCPP version it speaks)
    KV {prefix}_leases                  site -> the node running its site cap; entries expire after the lease time

Station ids may hold characters that NATS subjects and keys do not (``.``, ``*``, ``>``, ``%`` …): :func:`token`
writes every character outside ``[A-Za-z0-9_-]`` as ``=XX`` (its UTF-8 bytes in hex), which both allow.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import nats
from nats.aio.client import Client
from nats.js.api import KeyValueConfig
from nats.js.kv import KeyValue

log = logging.getLogger("wattcap.cluster")

_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def token(name: str) -> str:
    """``name`` as one NATS subject token and KV key (reversible, see :func:`untoken`)."""
    return "".join(c if c in _PLAIN else "".join(f"={b:02X}" for b in c.encode()) for c in name)


def untoken(text: str) -> str:
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "=":
            out.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            out.extend(text[i].encode())
            i += 1
    return out.decode()


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode()


def loads(data: bytes) -> Any:
    return json.loads(data)


class Bus:
    """One node's connection to NATS. Reconnects by itself (forever, every half second): while NATS is away,
    stations on other nodes are out of reach and events from them pause, and this node's own stations work on."""

    def __init__(self, url: str, prefix: str, node_id: str) -> None:
        self.url = url
        self.prefix = prefix
        self.node_id = node_id
        self.nc: Client | None = None
        self._closing = False
        #: Run (each in a task) whenever the connection is back after an outage.
        self.on_reconnect: list[Callable[[], Awaitable[None]]] = []
        self._tasks: set[asyncio.Task] = set()

    async def connect(self) -> Client:
        self.nc = await nats.connect(
            self.url, name=f"wattcap-{self.node_id}", max_reconnect_attempts=-1, reconnect_time_wait=0.5,
            connect_timeout=3, allow_reconnect=True,
            error_cb=self._error, disconnected_cb=self._disconnected, reconnected_cb=self._reconnected,
        )
        return self.nc

    @property
    def client(self) -> Client:
        assert self.nc is not None, "the cluster is not started"
        return self.nc

    def subject(self, *parts: str) -> str:
        return ".".join((self.prefix, *parts))

    async def bucket(self, name: str, ttl: float | None = None) -> KeyValue:
        """The KV bucket ``{prefix}_{name}``, created if it does not exist yet (by whichever node is first)."""
        js = self.client.jetstream()
        config = KeyValueConfig(bucket=f"{self.prefix}_{name}", history=1, ttl=ttl)
        try:
            return await js.create_key_value(config)
        except Exception as exc:  # exists with another configuration (another version of wattcap): use it as it is
            log.warning("cluster.bucket %s not created (%s); using the existing one", config.bucket, exc)
            return await js.key_value(config.bucket)

    async def publish(self, subject: str, value: Any) -> None:
        await self.client.publish(subject, dumps(value))

    async def close(self) -> None:
        self._closing = True
        if self.nc is not None and not self.nc.is_closed:
            try:
                await self.nc.drain()
            except Exception:
                await self.nc.close()

    async def abort(self) -> None:
        """Drop the connection as a killed process would: nothing flushed, no unsubscribe (tests)."""
        self._closing = True
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()

    async def _error(self, exc: Exception) -> None:
        log.warning("cluster.nats.error %s", exc)

    async def _disconnected(self) -> None:
        if not self._closing:
            log.warning("cluster.nats.disconnected url=%s", self.url)

    async def _reconnected(self) -> None:
        log.info("cluster.nats.reconnected url=%s", self.url)
        for action in list(self.on_reconnect):
            task = asyncio.create_task(action())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
