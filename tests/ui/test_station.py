"""The station page: profiles grouped by purpose and stack level, the stacking preview naming the layer that
governs each segment (a TxDefaultProfile of 16 A all day under a ChargingStationMaxProfile of 10 A from 10:00 to
12:00 UTC), the charger's composite read back and overlaid; and what a read-only token does not get."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import expect

from .harness import lab_station, operator_grant, signed_in, ui_plane
from .scenario import install_lab_profiles

pytestmark = pytest.mark.asyncio(loop_scope="module")

MAX, DEFAULT = "ChargingStationMaxProfile", "TxDefaultProfile"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lab(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[object, str]]:
    path = tmp_path_factory.mktemp("station") / "wattcap.db"
    async with ui_plane(f"sqlite+aiosqlite:///{path}") as site, site.simulated([lab_station()], charging=False):
        token = await site.token("operator", operator_grant())
        await install_lab_profiles(site, token)
        yield site, token


async def test_the_stacking_preview_names_the_governing_layer_of_each_segment(lab, chromium, artefacts: Path):
    site, token = lab
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    async with signed_in(chromium, site, token) as ui:
        page = ui.page
        await ui.open(f"/station/LAB-1?evse=1&day={day}")
        rows = page.locator("#preview table.segments tbody tr")
        await expect(rows).to_have_count(3)
        assert [await r.get_attribute("data-governing") for r in await rows.all()] == [DEFAULT, MAX, DEFAULT]
        texts = [" ".join((await r.inner_text()).split()) for r in await rows.all()]
        assert "00:00" in texts[0] and "10:00" in texts[0] and " 16 " in texts[0] and DEFAULT in texts[0]
        assert "10:00" in texts[1] and "12:00" in texts[1] and " 10 " in texts[1] and MAX in texts[1]
        assert "#20000" in texts[1] and "6.9 kW" in texts[1]  # both units: A from the engine, W converted by it
        assert "12:00" in texts[2] and DEFAULT in texts[2]
        # the chart: one segment per composite period, each named (text and pattern, not colour alone)
        segments = page.locator("#preview g.seg")
        assert [await s.get_attribute("data-governing") for s in await segments.all()] == [DEFAULT, MAX, DEFAULT]
        assert "governed by ChargingStationMaxProfile #20000" in await segments.nth(1).get_attribute("aria-label")
        await expect(page.locator("#preview .lane")).to_have_count(2)
        await segments.nth(1).hover()
        await expect(page.locator("#preview .tooltip")).to_contain_text("ChargingStationMaxProfile #20000")
        await expect(page.locator("#preview .tooltip")).to_contain_text("6.9 kW")
        # profiles grouped by purpose, highest stack level first within each
        await expect(page.locator("#profiles tr.group")).to_have_count(2)
        await expect(page.locator('#profiles tr[data-profile="20000"]')).to_contain_text("operator-cap")
        await page.screenshot(path=str(artefacts / "stacking-preview.png"), full_page=True)

        # read the composite back: the charger's answer is overlaid and the verdict shown
        await page.click("#verify")
        await expect(page.locator("#verdict")).to_contain_text("applied")
        await expect(page.locator("#preview polyline.step.reported")).to_have_count(1)
        assert ui.errors == []


async def test_a_read_only_token_gets_no_edit_controls(lab, chromium):
    site, operator = lab
    viewer = await site.token("viewer", operator_grant(read_only=True))
    controls = "#new-schedule, #verify, #profiles td.actions a, #profiles td.actions button"
    async with signed_in(chromium, site, operator) as ui:  # the same page shows them to an operator
        await ui.open("/station/LAB-1?evse=1")
        await expect(ui.page.locator("#profiles tr[data-profile]")).to_have_count(2)
        assert await ui.page.locator(controls).count() == 6
    async with signed_in(chromium, site, viewer) as ui:
        page = ui.page
        await ui.open("/station/LAB-1?evse=1")
        await expect(page.locator("#profiles tr[data-profile]")).to_have_count(2)
        await expect(page.locator("#preview table.segments tbody tr").first).to_be_visible()
        assert await page.locator(controls).count() == 0
        await expect(page.locator("#who")).to_contain_text("read-only")
        await ui.open("/editor/LAB-1?evse=1")
        await expect(page.locator("#read-only-note")).to_be_visible()
        assert await page.locator("#ed-apply, svg.editor-canvas, form.editor").count() == 0
        assert ui.errors == []
