"""A site-cap write that validation refused goes out again once the station's capabilities have been read again.

Validation refuses a write to an EVSE the stored capabilities do not list (a station whose device report had not
come whole when the write was due). The site cap then counts the EVSE at its worst case; once the station's
capabilities are read again (its next boot handled, ``ProfileService.boot_count``) the write must be tried again
at once, not only at the coordinator's periodic retry (a minute later).
"""

from __future__ import annotations

import asyncio
import tomllib
from datetime import UTC, datetime
from typing import Any

from wattcap.core.sitecap import CoordinatorPolicy, FallbackPolicy
from wattcap.core.station import CurrentType, StationConfig
from wattcap.core.verification import Verdict
from wattcap.server.lifecycle_types import ChangeResult, ProfileRefused
from wattcap.server.sitecap.config import parse_sites
from wattcap.server.sitecap.controller import SiteCapController, SiteCapSettings
from wattcap.sim.fleet import FleetOptions, VersionMix, make_fleet
from wattcap.sim.site import site_file_for

SID = "SIM-001"
POLICY = CoordinatorPolicy(reaction_s=0.0, retry_s=60, fallback=FallbackPolicy("minimum"))
SETTINGS = SiteCapSettings(tick_s=0.05, debounce_s=0.01, verify_first_limit=False, boot_wait_s=0.1)


def now() -> datetime:
    return datetime.now(UTC)


class _Profiles:
    """The lifecycle as the site cap uses it; validation knows only the EVSEs in ``known``."""

    def __init__(self) -> None:
        self.boot_count: dict[str, int] = {SID: 1}
        self.known = {1}
        self.tries: dict[int, int] = {}

    async def station_config(self, station_id: str) -> StationConfig:
        return StationConfig()

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> Any:
        async with asyncio.timeout(timeout):
            while not (value := predicate()):
                await asyncio.sleep(0.01)
            return value

    async def set_profile(self, station_id: str, evse_id: int, profile: Any, **_: Any) -> ChangeResult:
        self.tries[evse_id] = self.tries.get(evse_id, 0) + 1
        if evse_id not in self.known:
            raise ProfileRefused(f"EVSE {evse_id} does not exist on this station")
        return ChangeResult(station_id, "set", 100 + evse_id, evse_id, Verdict.APPLIED)

    async def update_profile(self, station_id: str, profile_id: int, profile: Any, **_: Any) -> ChangeResult:
        return ChangeResult(station_id, "update", profile_id, profile_id - 100, Verdict.APPLIED)


class _Registry:
    def __contains__(self, station_id: object) -> bool:
        return station_id == SID

    def add_connection_listener(self, listener: Any) -> None:
        pass


class _Hub:
    def subscribe(self, subscriber: Any) -> Any:
        return lambda: None


class _Repository:
    async def active_transactions(self, station_id: str) -> list[Any]:
        return []

    async def list_desired_profiles(self, station_id: str) -> list[Any]:
        return []

    async def append_audit(self, *_: Any, **__: Any) -> None:
        pass


async def _until(check: Any, timeout: float) -> bool:
    try:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.02)
    except TimeoutError:
        return False
    return True


async def test_a_refused_evse_is_written_again_once_the_station_is_read_again():
    specs = make_fleet(FleetOptions(count=1, id_prefix="SIM", versions=VersionMix.V201, evses=2,
                                    current_type=CurrentType.AC))
    assert specs[0].station_id == SID
    (site,) = parse_sites(tomllib.loads(site_file_for(specs, share=1.0)))
    profiles = _Profiles()
    controller = SiteCapController(
        site, profiles, _Hub(), _Registry(), _Repository(), clock=now,  # type: ignore[arg-type]
        settings=SETTINGS, policy=POLICY,
    )
    await controller.start()
    try:
        assert await _until(lambda: profiles.tries.get(2) == 1 and profiles.tries.get(1), 5.0)
        await asyncio.sleep(0.3)
        assert profiles.tries[2] == 1  # refused: not retried on its own before retry_s

        profiles.known = {1, 2}  # the station booted again and its capabilities were read whole
        profiles.boot_count[SID] += 1

        assert await _until(lambda: profiles.tries[2] >= 2, 3.0), "EVSE 2 waits for the coordinator's next retry"
    finally:
        await controller.close()
