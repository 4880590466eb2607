"""What the web UI reads beyond the resources of the other specs: the charger's reported composite in one shape
whatever the station speaks (verify answers and stored verifications), a site's wiring (``/sites/{id}/topology``),
and the UI itself served at ``/ui/`` (``/`` redirects there) under a content security policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from server.serving import serving
from wattcap.core.sitecap.model import EvseSpec, GridPhase, Node, SiteTopology
from wattcap.server.runtime import ControlPlane
from wattcap.server.settings import Settings
from wattcap.server.sitecap.config import SiteDefinition
from wattcap.server.sitecap.service import attach_site_cap
from wattcap.store import Repository

from .site import API, LIFECYCLE, TIMEOUT, V16, V201, ApiSite, grant, station, tx_default

OPERATOR = grant(stations=["*"], sites=["*"], bands=["default", "operator-default"])


@pytest.mark.parametrize("version", [V16, V201])
async def test_the_reported_composite_comes_normalised_with_every_check(site: ApiSite, version):
    async with site.simulated([station("SIM-RC", version)], charging=False):
        token = await site.token("ops", OPERATOR)
        async with site.client(token) as http:
            created = (await http.post(f"{API}/stations/SIM-RC/profiles",
                                       json={"evse_id": 1, "band": "default", "profile": tx_default(12.5)})).json()
            verify = (await http.post(f"{API}/stations/SIM-RC/verify", params={"evse": 1})).json()
            stored = (await http.get(f"{API}/stations/SIM-RC/verifications", params={"evse": 1})).json()
    assert created["verdict"] == "applied"
    for check in (created["checks"][0], verify["checks"][0]):
        reported = check["reported"]
        assert reported["chargingRateUnit"] == "A" and reported["scheduleStart"].endswith("Z")
        assert [p["limit"] for p in reported["chargingSchedulePeriod"]] == [12.5]
    assert stored and all(v["reported_composite"]["chargingSchedulePeriod"][0]["limit"] == 12.5 for v in stored)
    assert stored[0]["reported"] != stored[0]["reported_composite"]  # the raw answer is kept as it was


SITE = SiteDefinition(
    "yard", SiteTopology(
        (Node("grid", max_current_a=80.0, safe_current_a=50.0), Node("feeder", parent="grid", max_current_a=40.0)),
        (EvseSpec("YARD-1", 1, "feeder", wiring=(GridPhase.L2, GridPhase.L3, GridPhase.L1)),
         EvseSpec("YARD-2", 1, "grid")),
    ), time_zone="Europe/Berlin",
)


@asynccontextmanager
async def site_plane(tmp_path: Path) -> AsyncIterator[ApiSite]:
    settings = Settings(host="127.0.0.1", port=0, call_timeout_s=5.0)
    repository = await Repository.open(f"sqlite+aiosqlite:///{tmp_path / 'wattcap.db'}")
    plane = ControlPlane(settings, repository, lifecycle=LIFECYCLE)
    attach_site_cap(plane, [SITE])
    try:
        async with serving(plane.app(), settings, TIMEOUT) as served:
            yield ApiSite(plane, served.port)
    finally:
        await plane.close()
        await repository.close()


async def test_a_site_topology_says_which_node_feeds_each_evse_through_which_phases(tmp_path: Path, site: ApiSite):
    async with site_plane(tmp_path) as yard:
        everywhere = await yard.token("ops", OPERATOR)
        one_station = await yard.token("yard-1", grant(stations=["YARD-1"], read_only=True))
        elsewhere = await yard.token("other", grant(sites=["depot"], read_only=True))
        async with yard.client(everywhere) as http:
            topology = (await http.get(f"{API}/sites/yard/topology")).json()
            unknown = await http.get(f"{API}/sites/nowhere/topology")
        async with yard.client(one_station) as http:
            narrowed = (await http.get(f"{API}/sites/yard/topology"))
        async with yard.client(elsewhere) as http:
            refused = await http.get(f"{API}/sites/yard/topology")
    assert (topology["site"], topology["time_zone"], topology["root"]) == ("yard", "Europe/Berlin", "grid")
    assert [(n["id"], n["parent"], n["safe_current_a"]) for n in topology["nodes"]] == [
        ("grid", None, 50.0), ("feeder", "grid", None)]
    assert [(e["station_id"], e["node"], e["wiring"]) for e in topology["evses"]] == [
        ("YARD-1", "feeder", ["L2", "L3", "L1"]), ("YARD-2", "grid", ["L1", "L2", "L3"])]
    assert unknown.status_code == 404
    assert refused.status_code == 403 and refused.json()["error"]["rule"] == "GOV-SCOPE"
    # the site as a whole is the site's to read, as GET /sites/{id}: a client of one station of it may not
    assert narrowed.status_code == 403 and narrowed.json()["error"]["rule"] == "GOV-SCOPE"
    # without a site cap there are no sites
    token = await site.token("ops", OPERATOR)
    async with site.client(token) as http:
        assert (await http.get(f"{API}/sites/yard/topology")).status_code == 404


async def test_the_ui_is_served_at_ui_and_the_root_redirects_there(site: ApiSite):
    async with site.client() as http:
        root = await http.get("/", follow_redirects=False)
        page = await http.get("/ui/")
        module = await http.get("/ui/js/app.js")
        missing = await http.get("/ui/js/nope.js")
        schema = (await http.get("/openapi.json")).json()
    assert root.status_code == 307 and root.headers["location"] == "/ui/"
    assert page.status_code == 200 and '<script type="module" src="js/app.js">' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self' ws: wss:" in policy and "unsafe-inline" not in policy
    assert module.status_code == 200 and "javascript" in module.headers["content-type"]
    assert missing.status_code == 404
    assert not any(path.startswith("/ui") or path == "/" for path in schema["paths"])
