"""A site cap told to stop stops, whatever it was doing at that instant (a node losing its lease, a shutdown)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from wattcap.core.sitecap.model import EvseSpec, Node, SiteTopology
from wattcap.server.event_hub import EventHub
from wattcap.server.profiles import ProfileService
from wattcap.server.sitecap.config import SiteDefinition
from wattcap.server.sitecap.controller import SiteCapController, SiteCapSettings
from wattcap.server.stations import StationRegistry
from wattcap.store import Repository

SITE = SiteDefinition(
    "depot", SiteTopology((Node("grid", max_current_a=100, safe_current_a=50),), (EvseSpec("CP1", 1, "grid"),))
)


async def test_a_controller_closed_the_instant_it_is_woken_stops(tmp_path):
    repository = await Repository.open(f"sqlite+aiosqlite:///{tmp_path / 'wattcap.db'}")
    registry = StationRegistry()
    hub = EventHub(None)  # type: ignore[arg-type]  (no station ever reports here)
    profiles = ProfileService(registry, repository, hub)
    controller = SiteCapController(SITE, profiles, hub, registry, repository, clock=lambda: datetime.now(UTC),
                                   settings=SiteCapSettings(tick_s=3600, debounce_s=0.01))
    try:
        await controller.start()
        await asyncio.sleep(0.1)  # the first plan is made: the loop waits to be woken
        controller.trigger()  # a meter value, a signal …
        await asyncio.sleep(0)  # … has woken it, and before the loop goes on it is closed
        closing = asyncio.create_task(controller.close())
        done, _ = await asyncio.wait({closing}, timeout=10)
        if not done:
            assert controller._task is not None
            controller._task.cancel()  # a second cancel lands elsewhere: let the test end
            await closing
        assert done, "the controller's loop went on after it was cancelled (its close waited for ever)"
    finally:
        await profiles.close()
        await repository.close()
