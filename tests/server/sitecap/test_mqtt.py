"""The MQTT bridge against the real local Mosquitto: signals in with the same checks as REST, refusals published."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import aiomqtt
import pytest

from wattcap.core.sitecap.model import EvseSpec, Node, SiteTopology
from wattcap.core.sitecap.signals import SignalKind
from wattcap.server.sitecap.config import SiteDefinition
from wattcap.server.sitecap.mqtt import MqttBridge
from wattcap.server.sitecap.signals import SignalBoard

from .mqtt_support import MQTT_HOST, MQTT_PORT, require_broker

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SITE = SiteDefinition(
    "depot", SiteTopology((Node("grid", max_current_a=100, safe_current_a=50),), (EvseSpec("CP1", 1, "grid"),))
)


@pytest.fixture
async def bridge():
    require_broker()
    changes: list[int] = []
    board = SignalBoard(SITE, lambda: changes.append(1))
    prefix = f"wattcap-test-{uuid.uuid4().hex[:8]}"  # tests never see each other's retained or stray messages
    bridge = MqttBridge(
        {"depot": board}, host=MQTT_HOST, port=MQTT_PORT, prefix=prefix, client_name="ems", clock=lambda: T0,
        authorize=lambda site, kind: None if kind is not SignalKind.PRICE else "GOV-SIGNAL: ems may not set price",
    )
    task = asyncio.create_task(bridge.run())
    async with asyncio.timeout(5):
        await bridge.connected.wait()
    try:
        yield bridge, board, prefix
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def until(check, timeout: float = 5.0):
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


async def test_a_limit_schedule_and_a_load_reading_arrive_over_mqtt(bridge):
    bridge, board, prefix = bridge
    async with aiomqtt.Client(MQTT_HOST, MQTT_PORT) as sender:
        limit = {"ttl_s": 600, "points": [{"start": (T0 - timedelta(minutes=1)).isoformat(), "current_a": 40}]}
        await sender.publish(f"{prefix}/sites/depot/signals/site-limit", json.dumps(limit), qos=1)
        await sender.publish(f"{prefix}/sites/depot/signals/building-load", json.dumps({"power_w": 6900}), qos=1)
        await until(lambda: "grid" in board.schedules and "grid" in board.loads)
    schedule = board.schedules["grid"]
    assert schedule.points[0].current_a == 40 and schedule.source == "mqtt:ems" and schedule.ttl_s == 600
    assert board.loads["grid"].current_a == pytest.approx((10.0, 10.0, 10.0))


async def test_a_malformed_or_ungranted_signal_is_refused_and_the_refusal_published(bridge):
    bridge, board, prefix = bridge
    async with aiomqtt.Client(MQTT_HOST, MQTT_PORT) as sender:
        await sender.subscribe(f"{prefix}/sites/depot/signals/+/error")
        await sender.publish(f"{prefix}/sites/depot/signals/site-limit", json.dumps({"points": []}), qos=1)
        await sender.publish(
            f"{prefix}/sites/depot/signals/price", json.dumps({"points": [{"start": T0.isoformat(), "value": 1}]})
        )
        errors = {}
        async with asyncio.timeout(5):
            async for message in sender.messages:
                errors[str(message.topic).split("/")[-2]] = json.loads(message.payload)["error"]
                if len(errors) == 2:
                    break
    assert "points" in errors["site-limit"]
    assert errors["price"].startswith("GOV-SIGNAL")
    assert board.schedules == {} and board.series == {} and bridge.refused == 2


async def test_unknown_sites_and_signals_are_refused(bridge):
    bridge, _board, prefix = bridge
    assert await bridge.handle(f"{prefix}/sites/elsewhere/signals/site-limit", b"{}") == "unknown site 'elsewhere'"
    assert "unknown signal" in (await bridge.handle(f"{prefix}/sites/depot/signals/wind", b"{}"))
    assert "Expecting value" in (await bridge.handle(f"{prefix}/sites/depot/signals/building-load", b"not json"))
