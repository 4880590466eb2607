"""Screenshots of every page of the web UI for docs/ui.md, taken from a running control plane.

The plane and the site are the browser specs' (``tests/ui/harness.py``): a depot of two simulated stations (OCPP
2.0.1 and 1.6, two EVSEs each, EVs charging) under the site cap, and a lab station with an operator's TxDefault and
station maximum. Debian's Chromium takes the pictures through Playwright. Run from the repository::

    .venv/bin/python docs/ui/screenshots.py            # writes docs/ui/*.png
    .venv/bin/python docs/ui/screenshots.py --out /tmp/shots
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from api.site import grant  # noqa: E402
from ui.harness import (  # noqa: E402
    browser,
    depot,
    depot_stations,
    lab_station,
    operator_grant,
    signed_in,
    ui_plane,
)
from ui.scenario import install_lab_profiles  # noqa: E402

MAX_BYTES = 250_000


def shrink(path: Path) -> None:
    """Keep a picture small enough to commit: a UI screenshot loses nothing visible in a 256-colour palette."""
    if path.stat().st_size <= MAX_BYTES:
        return
    from PIL import Image

    with Image.open(path) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


async def main(out: Path, settle_s: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        async with ui_plane(f"sqlite+aiosqlite:///{tmp}/wattcap.db", [depot()]) as site, \
                site.simulated(depot_stations()), site.simulated([lab_station()], charging=False), \
                browser() as chromium:
            token = await site.token("operator", operator_grant())
            grid = await site.token("grid-operator", grant(sites=["depot"], signals=["site_limit"]))
            ems = await site.token("building-ems", grant(sites=["depot"], signals=["building_load"]))
            await install_lab_profiles(site, token)
            now = datetime.now(UTC).replace(microsecond=0)
            async with site.client(ems) as http:
                await http.post("/api/v1/sites/depot/signals/building-load",
                                json={"current_a": [8, 5, 6], "ttl_s": 600})
            await asyncio.sleep(settle_s / 2)
            async with site.client(grid) as http:
                await http.post("/api/v1/sites/depot/signals/site-limit", json={"ttl_s": 900, "points": [
                    {"start": iso(now - timedelta(minutes=1)), "current_a": 50},
                    {"start": iso(now + timedelta(hours=2)), "current_a": 63}]})
            await asyncio.sleep(settle_s / 2)
            async with site.client(token) as http:
                await http.post("/api/v1/stations/DEPOT-1/verify", params={"evse": 1})

            async with signed_in(chromium, site, None) as ui:
                await ui.open("/")
                await ui.page.wait_for_selector("#token")
                await ui.page.screenshot(path=str(out / "login.png"))
                shrink(out / "login.png")
            async with signed_in(chromium, site, token) as ui:
                shots = [
                    ("overview.png", "/site/depot?range=300000", "#sessions tbody tr[data-evse]"),
                    ("station.png", "/station/LAB-1?evse=1", "table.segments tbody tr"),
                    ("station-depot.png", "/station/DEPOT-1?evse=1&window=around", "table.segments tbody tr"),
                    ("signals.png", "/signals", "#signal-log tbody tr[data-id]"),
                    ("audit.png", "/audit", "#audit tbody tr"),
                    ("acceptance.png", "/acceptance", "#gov-rules tbody tr"),
                ]
                for name, route, ready in shots:
                    await ui.open(route)
                    try:
                        await ui.page.wait_for_selector(ready)
                    except Exception:
                        print(f"{route}: {ready} never appeared; console errors:", *ui.errors, sep="\n  ")
                        raise
                    await ui.page.wait_for_timeout(600)
                    await ui.page.screenshot(path=str(out / name), full_page=name != "audit.png")
                    shrink(out / name)
                    print(f"{out / name}: {(out / name).stat().st_size // 1000} kB")
                # the editor on LAB-1's TxDefault (under the station maximum of 10:00-12:00), redrawn by keyboard:
                # split the day at noon and at 18:00, lower the afternoon to 11 A and the evening to 13 A
                page = ui.page
                await ui.open("/editor/LAB-1?profile=40000")
                await page.wait_for_selector("#ed-preview table.segments tbody tr")
                await page.locator('[data-key="level-0"]').focus()
                await page.keyboard.press("Insert")
                await page.locator('[data-key="level-1"]').focus()
                await page.keyboard.press("Insert")
                for key, presses in (("level-1", 5), ("level-2", 3)):
                    await page.locator(f'[data-key="{key}"]').focus()
                    for _ in range(presses):
                        await page.keyboard.press("PageDown")
                await page.wait_for_timeout(1500)
                await page.screenshot(path=str(out / "editor.png"), full_page=True)
                shrink(out / "editor.png")
                print(f"{out / 'editor.png'}")
                # a validation finding next to its field
                await page.select_option("#ed-unit", "W")
                await ui.page.select_option("#ed-unit", "W")
                await ui.page.wait_for_selector('[data-field="unit"] .finding')
                await ui.page.screenshot(path=str(out / "editor-finding.png"), full_page=True)
                shrink(out / "editor-finding.png")
                print(f"{out / 'editor-finding.png'}")
                if ui.errors:
                    print("browser console errors:", *ui.errors, sep="\n  ")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--settle", type=float, default=40.0, help="Seconds of simulated charging before the pictures.")
    args = parser.parse_args()
    asyncio.run(main(args.out, args.settle))
