"""The site overview is live: values change in the page when simulated meter values arrive over the stream (the page
never polls the meter), and the stream reconnects by itself."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import expect

from .harness import depot, depot_stations, operator_grant, signed_in, ui_plane

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def depot_site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[object]:
    path = tmp_path_factory.mktemp("overview") / "wattcap.db"
    async with ui_plane(f"sqlite+aiosqlite:///{path}", [depot()]) as site, site.simulated(depot_stations()):
        yield site


async def test_the_overview_updates_live_from_the_stream(depot_site, chromium, artefacts: Path):
    token = await depot_site.token("operator", operator_grant())
    async with signed_in(chromium, depot_site, token) as ui:
        page = ui.page
        await ui.open("/site/depot")
        await expect(page.locator("h1")).to_have_text("Site depot")
        await expect(page.locator(".tz")).to_contain_text("Europe/Berlin")
        await expect(page.locator("#site-cap .stat-value")).to_have_text("63 A")
        await expect(page.locator("#sessions tbody tr[data-evse]")).to_have_count(4)
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await expect(page.locator("#conn")).to_contain_text("connected")

        meter_requests: list[str] = []
        page.on("request", lambda r: meter_requests.append(r.url) if "/meter" in r.url else None)
        energy = page.locator("#sessions tbody td.energy")
        before = await energy.all_inner_texts()
        # Some session's energy register moves on: only a meter event over the stream can have brought it.
        await page.wait_for_function(
            "before => [...document.querySelectorAll('#sessions tbody td.energy')]"
            ".some((td, i) => td.textContent !== before[i])", arg=before)
        assert meter_requests == [], "the overview polled the meter instead of following the stream"
        assert await page.evaluate("window.wattcapStream.events") > 0
        await expect(page.locator("#site-draw .stat-value")).not_to_have_text("0 A")
        await expect(page.locator('.node[data-node="feeder-a"] .bar-text').first).to_have_text(re.compile(r"/ 40 A"))
        await page.screenshot(path=str(artefacts / "overview.png"), full_page=True)

        # The link drops: the indicator says so, and the stream comes back by itself.
        await page.evaluate("window.wattcapStream.drop()")
        await expect(page.locator("#conn")).not_to_have_attribute("data-state", "live")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        assert ui.errors == []


async def test_times_are_shown_in_the_site_time_zone_and_a_dst_change_is_called_out(depot_site, chromium):
    token = await depot_site.token("operator", operator_grant())
    async with signed_in(chromium, depot_site, token) as ui:
        page = ui.page
        # 25 October 2026: Europe/Berlin goes from UTC+2 back to UTC+1 at 03:00 local, a 25-hour day
        await ui.open("/station/DEPOT-1?evse=1&day=2026-10-25")
        await expect(page.locator(".tz")).to_contain_text("Europe/Berlin")
        await expect(page.locator("#preview .dst-note")).to_contain_text("clocks go back")
        await expect(page.locator("#preview svg line.dst")).to_have_count(1)
        rows = page.locator("#preview table.segments tbody tr")
        await expect(rows.first.locator("td").first).to_have_text("Sun 25 Oct 00:00")  # local midnight (22:00Z)
        await expect(rows.last.locator("td").nth(1)).to_have_text("Mon 26 Oct 00:00")
        assert ui.errors == []
