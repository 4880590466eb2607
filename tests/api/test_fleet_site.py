"""Fleet rules and plans on a site with a site cap: the plan shapes the session's demand to the allocator, and a
new price series moves the charging at once (the site cap's leased TxProfile carries it to the charger)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from wattcap.core.model import OcppVersion
from wattcap.core.sitecap.model import EvseSpec, Node, SiteTopology
from wattcap.server.fleet import FleetSettings
from wattcap.server.sitecap.config import SiteDefinition
from wattcap.server.sitecap.controller import SiteCapSettings

from .site import API, ApiSite, api_site, eventually, grant, now, station

V201 = OcppVersion.V201
SITECAP = SiteCapSettings(tick_s=0.5, debounce_s=0.05, meter_replan_s=1.0)
DEPOT = SiteDefinition(
    "depot", SiteTopology((Node("grid", max_current_a=40.0, safe_current_a=20.0),), (EvseSpec("VAN-1", 1, "grid"),)),
    lease_s=300,
)
RULES = """\
vehicles:
  - {id: van-07, type: delivery-van, battery_kwh: 75, id_tokens: [TAG-VAN-1-1]}
rules:
  - name: vans
    match: {vehicle_type: delivery-van}
    goal: {energy_kwh: 10, within: 6h, strategy: cheapest}
"""
OPERATOR = grant(stations=["*"], sites=["*"], bands=["session", "default"], signals=["price"])


@pytest.fixture
async def depot(tmp_path: Path) -> AsyncIterator[ApiSite]:
    async with api_site(f"sqlite+aiosqlite:///{tmp_path / 'wattcap.db'}", sites=[DEPOT], sitecap=SITECAP,
                        fleet_rules=RULES, fleet=FleetSettings(replan_min_s=0)) as running:
        yield running


def prices(*steps: tuple[float, float]) -> dict[str, Any]:
    """A price series: (hours from now, EUR/kWh) steps, the first an hour back so it covers the current slot."""
    start = now()
    return {"unit": "EUR/kWh", "points": [
        {"start": (start + timedelta(hours=h)).isoformat().replace("+00:00", "Z"), "value": v} for h, v in steps]}


async def allocation(depot: ApiSite, token: str, done: Any) -> dict[str, Any]:
    async def check() -> Any:
        async with depot.client(token) as http:
            seen = (await http.get(f"{API}/sites/depot")).json()
        got = seen["evses"]["VAN-1/1"]["allocation"]
        return got if got is not None and done(got) else None

    return await eventually(check)


async def test_a_plan_pauses_the_van_while_dear_and_a_new_price_series_moves_its_charging_to_now(depot: ApiSite):
    token = await depot.token("ops", OPERATOR)
    async with depot.simulated([station("VAN-1", V201)]):
        async with depot.client(token) as http:
            posted = await http.post(f"{API}/sites/depot/signals/price", json=prices((-1, 0.50), (1.5, 0.10)))
            assert posted.status_code == 202, posted.text
        # 10 kWh fit in the cheap hours: nothing now, so the allocator pauses it (binding "plan").
        paused = await allocation(depot, token, lambda a: a["paused"])
        assert paused["binding"] == "plan"
        fleet = depot.plane.fleet  # type: ignore[attr-defined]
        [session] = fleet.sessions.values()
        assert session.evaluation.policy.rule == "vans" and session.plan.feasible
        assert session.plan.power_at(now()) == 0.0
        # Now it is cheap and dear later: the van charges now, at the EVSE's full 32 A (the grid has 40 A).
        async with depot.client(token) as http:
            await http.post(f"{API}/sites/depot/signals/price", json=prices((-1, 0.05), (1.0, 0.50)))
        charging = await allocation(depot, token, lambda a: not a["paused"])
        async with depot.client(token) as http:
            planned = (await http.get(f"{API}/fleet/sessions")).json()["sessions"][0]
    assert charging["current_a"] > 6.0
    assert planned["rule"] == "vans" and planned["plan"]["power_now_w"] > 0
    assert planned["plan"]["feasible"] is True


async def test_a_new_price_series_waits_for_the_replan_gate_but_a_new_goal_does_not(tmp_path: Path):
    # Every new plan may be a SetChargingProfile: re-plans for prices are held to one per replan_min_s per session,
    # a changed goal (new rules) goes through at once.
    async with api_site(f"sqlite+aiosqlite:///{tmp_path / 'wattcap.db'}", sites=[DEPOT], sitecap=SITECAP,
                        fleet_rules=RULES, fleet=FleetSettings(replan_min_s=3600)) as depot:
        token = await depot.token("ops", OPERATOR)
        async with depot.simulated([station("VAN-1", V201)]):
            fleet = depot.plane.fleet  # type: ignore[attr-defined]
            first = await eventually(lambda: _planned(fleet))
            async with depot.client(token) as http:
                await http.post(f"{API}/sites/depot/signals/price", json=prices((-1, 0.05), (1.0, 0.50)))
            await depot.plane.fleet.plan_all()
            assert next(iter(fleet.sessions.values())).planned_at == first  # held back by the gate
            async with depot.client(token) as http:
                answer = await http.put(f"{API}/fleet/rules", content=RULES.replace("energy_kwh: 10", "energy_kwh: 12"),
                                        headers={"Content-Type": "application/yaml"})
            assert answer.status_code == 200, answer.text
            later = await eventually(lambda: _planned(fleet, after=first))
    assert later > first


async def _planned(fleet: Any, after: Any = None) -> Any:
    sessions = list(fleet.sessions.values())
    if not sessions or sessions[0].planned_at is None:
        return None
    at = sessions[0].planned_at
    return at if after is None or at > after else None
