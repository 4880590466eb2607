"""A control plane serving the web UI, with a site (the site cap on) and simulated stations, for the browser specs
and for ``docs/ui/screenshots.py``.

The plane is the one ``wattcap serve`` assembles (:class:`ControlPlane`, its ``app()`` serves ``/ui/``) with
:func:`attach_site_cap` for one site, served by uvicorn on a loopback port in the caller's event loop; stations
come from ``wattcap.sim`` over real WebSockets (:meth:`ApiSite.simulated`). The browser is Debian's Chromium
driven by Playwright (``executable_path``): nothing is downloaded.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.site import LIFECYCLE, RETRY, TIMEOUT, ApiSite, grant
from server.serving import serving
from wattcap.core.fleet.loader import load_rules
from wattcap.core.model import ChargingRateUnit, OcppVersion
from wattcap.core.sitecap.model import EvseSpec, GridPhase, Node, SiteTopology
from wattcap.core.station import StationCapabilities
from wattcap.server.fleet import attach_fleet
from wattcap.server.runtime import ControlPlane
from wattcap.server.settings import Settings
from wattcap.server.sitecap.config import SiteDefinition
from wattcap.server.sitecap.controller import SiteCapSettings
from wattcap.server.sitecap.service import attach_site_cap
from wattcap.sim.personalities import get_personality
from wattcap.sim.spec import DEFAULT_CAPABILITIES, StationSpec
from wattcap.sim.spec import EvseSpec as SimEvse
from wattcap.store import Repository

CHROMIUM = os.environ.get("WATTCAP_CHROMIUM", "/usr/bin/chromium")
SITE = "depot"
TIME_ZONE = "Europe/Berlin"
SITE_STATIONS = ("DEPOT-1", "DEPOT-2")
#: Quick re-plans so a test sees allocations within a second or two.
SITECAP = SiteCapSettings(tick_s=1.0, debounce_s=0.05, meter_replan_s=1.0)
L1, L2, L3 = GridPhase.L1, GridPhase.L2, GridPhase.L3


def depot() -> SiteDefinition:
    """The depot: a 63 A grid connection (safe 40 A) with two feeders, two 2-EVSE stations."""
    nodes = (
        Node("grid", max_current_a=63.0, safe_current_a=40.0, margin_a=2.0),
        Node("feeder-a", parent="grid", max_current_a=40.0),
        Node("feeder-b", parent="grid", max_current_a=32.0),
    )
    evses = (
        EvseSpec("DEPOT-1", 1, "feeder-a", wiring=(L1, L2, L3)),
        EvseSpec("DEPOT-1", 2, "feeder-a", wiring=(L2, L3, L1)),
        EvseSpec("DEPOT-2", 1, "feeder-b", wiring=(L3, L1, L2)),
        EvseSpec("DEPOT-2", 2, "feeder-b", wiring=(L1, L2, L3)),
    )
    return SiteDefinition(SITE, SiteTopology(nodes, evses), lease_s=300, time_zone=TIME_ZONE)


def depot_stations() -> list[StationSpec]:
    evses = (SimEvse(1, max_current_a=32.0), SimEvse(2, max_current_a=32.0))
    return [
        StationSpec("DEPOT-1", OcppVersion.V201, evses=evses, personality=get_personality("everest")),
        StationSpec("DEPOT-2", OcppVersion.V16, evses=evses, personality=get_personality("everest")),
    ]


def lab_station(station_id: str = "LAB-1") -> StationSpec:
    """A station on no site (the site cap leaves it alone): 2.0.1, one 32 A EVSE, current limits only."""
    return StationSpec(
        station_id, OcppVersion.V201, evses=(SimEvse(1, max_current_a=32.0),),
        capabilities=StationCapabilities(
            max_stack_level=DEFAULT_CAPABILITIES.max_stack_level,
            rate_units=(ChargingRateUnit.A,),
            max_periods_per_schedule=DEFAULT_CAPABILITIES.max_periods_per_schedule,
            max_installed_profiles=DEFAULT_CAPABILITIES.max_installed_profiles,
            phase_switching_3to1=True,
        ),
        personality=get_personality("everest"),
    )


def operator_grant(*, read_only: bool = False):
    """An operator of every station and site, with the operator bands (or reads only)."""
    if read_only:
        return grant(stations=["*"], sites=["*"], read_only=True)
    return grant(stations=["*"], sites=["*"], bands=["operator-cap", "operator-default", "operator-session"])


@asynccontextmanager
async def ui_plane(
    database_url: str, sites: Sequence[SiteDefinition] = (), *, fleet_rules: str | None = None
) -> AsyncIterator[ApiSite]:
    """The control plane (with the site cap for ``sites``, the fleet service with ``fleet_rules``) serving OCPP,
    the API and the UI on a loopback port."""
    settings = Settings(host="127.0.0.1", port=0, call_timeout_s=10.0, heartbeat_interval_s=60)
    repository = await Repository.open(database_url)
    plane = ControlPlane(settings, repository, lifecycle=LIFECYCLE, capability_retry=RETRY)
    if sites:
        attach_site_cap(plane, sites, settings=SITECAP)
    if fleet_rules is not None:
        attach_fleet(plane, load_rules(fleet_rules, "rules.yaml"), rules_text=fleet_rules)
    try:
        async with serving(plane.app(), settings, TIMEOUT) as served:
            yield ApiSite(plane, served.port)
    finally:
        await plane.close()
        await repository.close()


def chromium_path() -> Path | None:
    path = Path(CHROMIUM)
    return path if path.is_file() else None


# ---- the browser ------------------------------------------------------------------------------------------


@asynccontextmanager
async def browser(executable: Path | None = None) -> AsyncIterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    from playwright.async_api import async_playwright

    path = executable or chromium_path()
    if path is None:
        raise RuntimeError(f"no Chromium at {CHROMIUM}: apt-get install chromium (make test-deps)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(path), headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class UiPage:
    """A page signed in with a token (put in sessionStorage before the UI loads), with its console errors."""

    page: Any
    base: str
    errors: list[str] = field(default_factory=list)

    async def open(self, route: str = "/") -> None:
        await self.page.goto(f"{self.base}/ui/#{route}")


@asynccontextmanager
async def signed_in(chromium: Any, site: ApiSite, token: str | None, *, width: int = 1280, height: int = 900) -> (
    AsyncIterator[UiPage]
):
    context = await chromium.new_context(viewport={"width": width, "height": height}, timezone_id="UTC",
                                         locale="en-GB", reduced_motion="reduce")
    if token is not None:
        await context.add_init_script(f"sessionStorage.setItem('wattcap.token', {json.dumps(token)});")
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT * 1000)
    ui = UiPage(page, site.http)
    page.on("console", lambda m: ui.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: ui.errors.append(str(e)))
    try:
        yield ui
    finally:
        await context.close()
