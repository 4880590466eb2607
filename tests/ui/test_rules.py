"""The rules page: the fleet rules in force in the order they are tried, a dry run that names the rule applying to
a session and why the others do not, and an edit that is refused whole with the line of every issue."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import expect

from .harness import grant, signed_in, ui_plane

pytestmark = pytest.mark.asyncio(loop_scope="module")

RULES = """\
timezone: Europe/Berlin
rules:
  - name: visitors
    match: {id_token_group: visitors}
    max_power_kw: 11
  - name: premium
    match: {id_token_group: premium}
    max_power_kw: 22
    weight: 2
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fleet(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[object]:
    path = tmp_path_factory.mktemp("rules") / "wattcap.db"
    async with ui_plane(f"sqlite+aiosqlite:///{path}", fleet_rules=RULES) as site:
        yield site


async def test_the_rules_page_lists_the_rules_explains_a_session_and_refuses_a_broken_edit(fleet, chromium):
    operator = grant(stations=["*"], sites=["*"], bands=["operator-session"], purposes=["TxProfile"])
    token = await fleet.token("operator", operator)
    async with signed_in(chromium, fleet, token) as ui:
        page = ui.page
        await ui.open("/acceptance")
        await expect(page.locator("#fleet-rules tbody tr")).to_have_count(2)
        await expect(page.locator("#fleet-rules tbody tr").first).to_contain_text("visitors")
        await expect(page.locator("#fleet-sessions-empty")).to_be_visible()

        await page.fill("#dry-run input[name=station_id]", "CP-1")
        await page.fill("#dry-run input[name=id_token_group]", "premium")
        await page.click("#dry-run button[type=submit]")
        await expect(page.locator("#dry-run-result")).to_contain_text("Applies: premium")
        await expect(page.locator("#dry-run-trace tbody tr").first).to_contain_text("no match")

        await page.fill("#rules-text", RULES.replace("max_power_kw: 11", "max_power_kw: eleven"))
        await page.click("#rules-apply")
        await expect(page.locator("#rules-findings")).to_contain_text("line 5")
        await expect(page.locator("#rules-findings")).to_contain_text("Refused, nothing changed")
        assert ui.errors == [] or all("422" in e for e in ui.errors)


async def test_a_read_only_token_sees_the_rules_but_no_editor(fleet, chromium):
    token = await fleet.token("auditor", grant(stations=["*"], sites=["*"], read_only=True))
    async with signed_in(chromium, fleet, token) as ui:
        await ui.open("/acceptance")
        await expect(ui.page.locator("#fleet-rules tbody tr")).to_have_count(2)
        await expect(ui.page.locator("#rules-text")).to_have_count(0)
