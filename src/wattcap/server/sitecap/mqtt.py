"""MQTT bridge: limit, load, price and solar signals in; per-EVSE power and limit telemetry out.

Topics (``prefix`` defaults to ``wattcap``)::

    {prefix}/sites/{site}/signals/site-limit      payload: SiteLimitSignal JSON      (in)
    {prefix}/sites/{site}/signals/building-load   payload: BuildingLoadSignal JSON   (in)
    {prefix}/sites/{site}/signals/price           payload: SeriesSignal JSON         (in)
    {prefix}/sites/{site}/signals/solar           payload: SeriesSignal JSON         (in)
    {prefix}/sites/{site}/signals/{kind}/error    why a message was refused          (out)
    {prefix}/sites/{site}/evses/{station}/{evse}  power, current and limit now       (out)

A broker is a shared space, so the bridge acts as one configured API client: a signal its grant does not allow
is refused exactly as over REST (``authorize`` returns the refusal) and the refusal is published on the error
topic, so the sender can see it. The bridge reconnects by itself; while the broker is away, signals simply go
stale and the site falls back to its safe limits.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import aiomqtt
from pydantic import ValidationError

from wattcap.core.sitecap.signals import SignalError, SignalKind
from wattcap.server.sitecap.signals import BuildingLoadSignal, SeriesSignal, SignalBoard, SiteLimitSignal

log = logging.getLogger("wattcap.sitecap.mqtt")

__all__ = ["KIND_OF_TOPIC", "MqttBridge"]

KIND_OF_TOPIC = {
    "site-limit": SignalKind.SITE_LIMIT,
    "building-load": SignalKind.BUILDING_LOAD,
    "price": SignalKind.PRICE,
    "solar": SignalKind.SOLAR,
}

#: Decides whether the bridge's client may set ``kind`` on ``site``: None if allowed, else the refusal.
Authorizer = Callable[[str, SignalKind], str | None]


class MqttBridge:
    def __init__(
        self,
        boards: Mapping[str, SignalBoard],
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        prefix: str = "wattcap",
        client_name: str = "mqtt",
        authorize: Authorizer = lambda site, kind: None,
        clock: Callable[[], datetime],
        reconnect_s: float = 2.0,
    ) -> None:
        self.boards = boards
        self.host, self.port, self.prefix = host, port, prefix
        self.client_name = client_name
        self.authorize = authorize
        self.clock = clock
        self.reconnect_s = reconnect_s
        self.accepted = 0
        self.refused = 0
        self.connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None

    async def run(self) -> None:
        """Subscribe and handle messages until cancelled, reconnecting after a lost broker."""
        while True:
            try:
                async with aiomqtt.Client(self.host, self.port, identifier=f"wattcap-{id(self):x}") as client:
                    self._client = client
                    await client.subscribe(f"{self.prefix}/sites/+/signals/+", qos=1)
                    self.connected.set()
                    log.info("mqtt.connected %s:%s prefix=%s", self.host, self.port, self.prefix)
                    async for message in client.messages:
                        await self.handle(str(message.topic), bytes(message.payload))
            except aiomqtt.MqttError as exc:
                log.warning("mqtt.disconnected %s; retrying in %g s", exc, self.reconnect_s)
            finally:
                self._client = None
                self.connected.clear()
            await asyncio.sleep(self.reconnect_s)

    async def handle(self, topic: str, payload: bytes) -> str | None:
        """Apply one message; returns the refusal (also published on the error topic), or None if accepted."""
        parts = topic.split("/")
        prefix_len = len(self.prefix.split("/"))
        site_id, kind_name = parts[prefix_len + 1], parts[prefix_len + 3]
        refusal = self._apply(site_id, kind_name, payload)
        if refusal is None:
            self.accepted += 1
            return None
        self.refused += 1
        log.warning("mqtt.refused topic=%s %s", topic, refusal)
        await self.publish(f"{topic}/error", {"error": refusal, "at": self.clock().isoformat()})
        return refusal

    def _apply(self, site_id: str, kind_name: str, payload: bytes) -> str | None:
        board = self.boards.get(site_id)
        if board is None:
            return f"unknown site {site_id!r}"
        kind = KIND_OF_TOPIC.get(kind_name)
        if kind is None:
            return f"unknown signal {kind_name!r} (one of {', '.join(KIND_OF_TOPIC)})"
        if (why := self.authorize(site_id, kind)) is not None:
            return why
        source = f"mqtt:{self.client_name}"
        try:
            data = json.loads(payload)
            now = self.clock()
            if kind is SignalKind.SITE_LIMIT:
                board.put_limit(SiteLimitSignal.model_validate(data), source=source, now=now)
            elif kind is SignalKind.BUILDING_LOAD:
                board.put_load(BuildingLoadSignal.model_validate(data), source=source, now=now)
            else:
                board.put_series(kind, SeriesSignal.model_validate(data), source=source, now=now)
        except ValidationError as exc:
            return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(payload)'}: {e['msg']}" for e in exc.errors())
        except (ValueError, SignalError) as exc:  # JSON syntax, or a rule of the core
            return str(exc)
        return None

    async def publish(self, topic: str, body: Mapping[str, Any]) -> None:
        """Publish ``body`` as JSON if the broker is there; telemetry is best-effort and never blocks control."""
        client = self._client
        if client is None:
            return
        try:
            await client.publish(topic, json.dumps(body, default=str), qos=0)
        except aiomqtt.MqttError as exc:
            log.debug("mqtt.publish failed: %s", exc)

    async def publish_evse(self, site_id: str, station_id: str, evse_id: int, body: Mapping[str, Any]) -> None:
        await self.publish(f"{self.prefix}/sites/{site_id}/evses/{station_id}/{evse_id}", body)
