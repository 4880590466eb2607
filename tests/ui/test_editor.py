"""The schedule editor: dragging a boundary changes the period (form, JSON) and the preview; the keyboard moves and
deletes boundaries; a finding appears next to the field its JSON path names; applying reaches the simulated
charger and shows the verdict."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import expect

from wattcap.core.model import ChargingProfilePurpose

from .harness import lab_station, operator_grant, signed_in, ui_plane

pytestmark = pytest.mark.asyncio(loop_scope="module")

STATIONS = ("LAB-2", "LAB-3")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lab(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[object, object, str]]:
    path = tmp_path_factory.mktemp("editor") / "wattcap.db"
    async with ui_plane(f"sqlite+aiosqlite:///{path}") as site, \
            site.simulated([lab_station(s) for s in STATIONS], charging=False) as sim:
        yield site, sim, await site.token("operator", operator_grant())


async def periods(page) -> list[dict]:
    profile = json.loads(await page.locator("#profile-json").inner_text())
    return profile["chargingSchedule"][0]["chargingSchedulePeriod"]


def clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


async def test_dragging_a_boundary_changes_the_period_and_the_preview(lab, chromium, artefacts: Path):
    site, _, token = lab
    async with signed_in(chromium, site, token) as ui:
        page = ui.page
        await ui.open("/editor/LAB-2?evse=1")
        preview_rows = page.locator("#ed-preview table.segments tbody tr")
        await expect(preview_rows).to_have_count(3)
        assert [p["startPeriod"] for p in await periods(page)] == [0, 8 * 3600, 18 * 3600]
        await expect(page.locator("#ed-check")).to_contain_text("would take it")

        handle = page.locator('[data-key="boundary-1"] .hit')
        box = await handle.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        await page.mouse.move(x, y)
        await page.mouse.down()
        await page.mouse.move(x + 60, y, steps=6)
        await page.mouse.move(x + 120, y, steps=6)
        await page.mouse.up()

        moved = (await periods(page))[1]["startPeriod"]
        assert moved > 8 * 3600 and moved % 900 == 0, moved
        await expect(page.locator("#ed-p-1-start")).to_have_value(clock(moved))
        # the preview is the dry run's composite of the drawn schedule: its second segment starts where dragged
        await expect(preview_rows.nth(1).locator("td").first).to_contain_text(clock(moved))
        await expect(page.locator("#ed-preview polyline.step.before")).to_have_count(1)  # what it does now, dashed
        await page.screenshot(path=str(artefacts / "editor-drag.png"), full_page=True)

        # drag a level down: snapped to 0.1 A
        level = page.locator('[data-key="level-1"] .hit')
        box = await level.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        await page.mouse.move(x, y)
        await page.mouse.down()
        await page.mouse.move(x, y + 40, steps=5)
        await page.mouse.up()
        lowered = (await periods(page))[1]["limit"]
        assert lowered < 10 and round(lowered * 10) == lowered * 10, lowered
        await expect(preview_rows.nth(1)).to_contain_text(f"{lowered:g}")

        # the keyboard: the focused boundary moves by 15 min, Delete removes it
        await page.locator('[data-key="boundary-1"]').focus()
        await page.keyboard.press("ArrowRight")
        assert (await periods(page))[1]["startPeriod"] == moved + 900
        await page.keyboard.press("Delete")
        assert [p["startPeriod"] for p in await periods(page)] == [0, 18 * 3600]
        await expect(preview_rows).to_have_count(1)  # 16 A, then 16 A again: one segment for the charger
        await page.keyboard.press("Insert")  # splits the selected (first) period in the middle
        assert [p["startPeriod"] for p in await periods(page)] == [0, 9 * 3600, 18 * 3600]
        assert ui.errors == []


async def test_a_validation_error_is_shown_next_to_its_field(lab, chromium, artefacts: Path):
    site, _, token = lab
    async with signed_in(chromium, site, token) as ui:
        page = ui.page
        await ui.open("/editor/LAB-2?evse=1")
        await expect(page.locator("#ed-check")).to_contain_text("would take it")
        # LAB-2 takes current limits only: a schedule in W is refused by the station's capabilities (K01.FR.26)
        await page.select_option("#ed-unit", "W")
        unit_finding = page.locator('[data-field="unit"] .finding')
        await expect(unit_finding).to_contain_text("K01.FR.26")
        await expect(page.locator("#ed-unit")).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#ed-check")).to_contain_text("would be refused")
        await expect(page.locator("#ed-findings .finding")).to_have_count(0)
        await page.screenshot(path=str(artefacts / "editor-finding.png"), full_page=True)
        # a negative limit fails the API's schema (422): the finding lands on that period's limit field
        await page.select_option("#ed-unit", "A")
        await expect(unit_finding).to_have_count(0)
        await page.fill("#ed-p-2-limit", "-3")
        await page.press("#ed-p-2-limit", "Enter")
        await expect(page.locator('[data-field="p-2-limit"] .finding')).to_contain_text("greater than or equal to 0")
        await expect(page.locator("#ed-p-2-limit")).to_have_attribute("aria-invalid", "true")


async def test_applying_a_schedule_reaches_the_charger_and_shows_the_verdict(lab, chromium):
    site, sim, token = lab
    async with signed_in(chromium, site, token) as ui:
        page = ui.page
        await ui.open("/editor/LAB-3?evse=1")
        await expect(page.locator("#ed-check")).to_contain_text("would take it")
        await page.fill("#ed-reason", "night charging")
        await page.click("#ed-apply")
        await expect(page.locator("#ed-verdict-value")).to_have_attribute("data-verdict", "applied")
        await expect(page.locator("#ed-verdict")).to_contain_text("composite read back as expected")
        held = [h.profile for h in sim.runner("LAB-3").station.holdings if h.evse_id == 1]
        assert [p.purpose for p in held] == [ChargingProfilePurpose.TX_DEFAULT]
        periods_held = held[0].schedule.periods
        assert [(p.start_period, p.limit) for p in periods_held] == [(0, 16.0), (8 * 3600, 10.0), (18 * 3600, 16.0)]
        # the editor now edits what it created (an update keeps the id)
        assert "profile=" in page.url
        assert ui.errors == []
