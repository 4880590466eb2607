"""The site-cap routes over a real server (``attach_site_cap`` on the plane, as ``wattcap serve --sites`` does):
listing and reading a site, every refusal (401, 403 naming the rule, 422 with field paths, 404), signals that
change what is in force and are audited, and the allocations on the live stream, for the site's clients only.

Two sites: ``depot`` (a 40 A grid connection, safe 20 A, with one feeder and the simulated DEPOT-1 where a spec
needs a session) and ``yard`` (no station connected), so a client of one is scoped elsewhere for the other.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from wattcap.core.sitecap.model import EvseSpec, GridPhase, Node, SiteTopology
from wattcap.server.live import LiveEvent
from wattcap.server.sitecap.config import SiteDefinition
from wattcap.server.sitecap.controller import SiteCapSettings

from .site import API, V201, ApiSite, api_site, eventually, grant, now, receive_until, received, station

SIGNALS = ["site_limit", "building_load", "price", "solar"]
ROUTES = {  # signal → its route under /sites/{id}/signals/
    "site_limit": "site-limit", "building_load": "building-load", "price": "price", "solar": "solar",
}
#: Quick re-plans: an allocation within a second of a signal.
SITECAP = SiteCapSettings(tick_s=0.5, debounce_s=0.05, meter_replan_s=1.0)

DEPOT = SiteDefinition(
    "depot", SiteTopology(
        (Node("grid", max_current_a=40.0, safe_current_a=20.0), Node("feeder", parent="grid", max_current_a=40.0)),
        (EvseSpec("DEPOT-1", 1, "feeder", wiring=(GridPhase.L2, GridPhase.L3, GridPhase.L1), step_a=1.0),),
    ), lease_s=300, time_zone="Europe/Berlin",
)
YARD = SiteDefinition(
    "yard", SiteTopology((Node("yard-grid", max_current_a=32.0),), (EvseSpec("YARD-1", 1, "yard-grid"),)),
)

OPERATOR = grant(stations=["*"], sites=["*"], signals=SIGNALS)
GRID = grant(sites=["depot"], signals=["site_limit"])
EMS = grant(sites=["depot"], signals=["building_load"])


@pytest.fixture
async def depot(tmp_path: Path) -> AsyncIterator[ApiSite]:
    async with api_site(f"sqlite+aiosqlite:///{tmp_path / 'wattcap.db'}", sites=[DEPOT, YARD],
                        sitecap=SITECAP) as running:
        yield running


def stamp(minutes: float = -1.0) -> str:
    """An aware UTC time ``minutes`` from now, as a client sends it."""
    return (now() + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def valid_body(signal: str) -> dict[str, Any]:
    if signal == "site_limit":
        return {"points": [{"start": stamp(), "current_a": 30.0}]}
    if signal == "building_load":
        return {"current_a": [5.0, 5.0, 5.0]}
    return {"points": [{"start": stamp(), "value": 0.25 if signal == "price" else 4000.0}],
            "unit": "EUR/kWh" if signal == "price" else "W"}


def error_of(answer: Any) -> dict[str, Any]:
    return answer.json()["error"]


async def site_now(depot: ApiSite, token: str, site_id: str = "depot") -> dict[str, Any]:
    async with depot.client(token) as http:
        answer = await http.get(f"{API}/sites/{site_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


# ---- reading ---------------------------------------------------------------------------------------------------


async def test_the_list_shows_the_sites_of_the_clients_scope_only(depot: ApiSite):
    everyone = await depot.token("ops", OPERATOR)
    depot_only = await depot.token("grid", GRID)
    stations_only = await depot.token("bay", grant(stations=["DEPOT-1"], read_only=True))
    async with depot.client(everyone) as http:
        listed = (await http.get(f"{API}/sites")).json()
    async with depot.client(depot_only) as http:
        scoped = (await http.get(f"{API}/sites")).json()
    async with depot.client(stations_only) as http:
        none = await http.get(f"{API}/sites")
    assert listed == [
        {"id": "depot", "time_zone": "Europe/Berlin", "root": "grid", "nodes": 2, "evses": 1, "stations": ["DEPOT-1"]},
        {"id": "yard", "time_zone": "UTC", "root": "yard-grid", "nodes": 1, "evses": 1, "stations": ["YARD-1"]},
    ]
    assert [s["id"] for s in scoped] == ["depot"]
    # a station of a site is not the site: its limits and allocations are the site's
    assert none.status_code == 200 and none.json() == []


async def test_a_site_shows_its_tree_the_limits_in_force_and_every_evse(depot: ApiSite):
    token = await depot.token("ops", OPERATOR)
    seen = await eventually(lambda: site_now(depot, token))
    assert (seen["id"], seen["time_zone"], seen["fallback"], seen["lease_s"]) == (
        "depot", "Europe/Berlin", "equal", 300)
    assert [(n["id"], n["parent"], n["max_current_a"], n["safe_current_a"]) for n in seen["nodes"]] == [
        ("grid", None, 40.0, 20.0), ("feeder", "grid", 40.0, None)]
    # No signal yet: each node's static limit, no building load.
    assert seen["limits"] == {
        "grid": {"current_a": 40.0, "power_w": None, "non_ev_load_a": [0.0, 0.0, 0.0], "source": "static"},
        "feeder": {"current_a": 40.0, "power_w": None, "non_ev_load_a": [0.0, 0.0, 0.0], "source": "static"},
    }
    # DEPOT-1 has never connected: no session, no allocation, nothing acknowledged, and it counts at its worst case
    # (32 A on its three phases) until it does.
    [(key, evse)] = seen["evses"].items()
    assert key == "DEPOT-1/1"
    assert (evse["session"], evse["allocation"], evse["fallback_a"], evse["offline"]) == (False, None, None, True)
    assert evse["footprint_a"] == [32.0, 32.0, 32.0]
    assert seen["violations"] == [] and isinstance(seen["notices"], list)


async def settled_evse(depot: ApiSite, token: str, done: Any, key: str = "DEPOT-1/1") -> dict[str, Any]:
    """The site once ``done(site)`` holds for it, with nothing pending on ``key`` (the last view in the failure)."""
    last: list[dict[str, Any]] = []

    async def check() -> dict[str, Any] | None:
        seen = await site_now(depot, token)
        last[:] = [seen]
        evse = seen["evses"][key]
        quiet = not evse["limit_pending"] and not evse["fallback_pending_a"] and not evse["unknown"]
        return seen if quiet and done(seen) else None

    try:
        return await eventually(check)
    except TimeoutError:
        raise AssertionError(f"not reached; last seen: {last[0] if last else None}") from None


async def test_a_charging_session_gets_an_allocation_with_the_constraint_that_binds_it(depot: ApiSite):
    token = await depot.token("ops", OPERATOR)
    async with depot.simulated([station("DEPOT-1", V201)]):
        # the fallback is the EVSE's equal share of the grid's safe 20 A
        seen = await settled_evse(depot, token, lambda s: s["evses"]["DEPOT-1/1"]["fallback_a"] == 20.0
                                  and s["evses"]["DEPOT-1/1"]["limit"] is not None)
    evse = seen["evses"]["DEPOT-1/1"]
    # The session may use the rest of the grid connection up to the EVSE's own 32 A: above its fallback, so leased.
    assert evse["session"] is True and evse["offline"] is False
    assert evse["allocation"] == {"current_a": 32.0, "phases": 3, "power_w": None, "paused": False, "binding": "evse"}
    assert evse["limit"]["current_a"] == 32.0 and evse["limit"]["phases"] == 3
    lease_until = datetime.fromisoformat(evse["limit"]["lease_until"])
    at = datetime.now(UTC)
    assert at < lease_until <= at + timedelta(seconds=DEPOT.lease_s)
    assert evse["footprint_a"] == [32.0, 32.0, 32.0] and seen["violations"] == []


# ---- refusals --------------------------------------------------------------------------------------------------

EVERY_ROUTE = [("GET", "/sites", None), ("GET", "/sites/depot", None)] + [
    ("POST", f"/sites/depot/signals/{path}", signal) for signal, path in ROUTES.items()
]


async def test_every_route_needs_a_token(depot: ApiSite):
    async with depot.client() as anonymous, depot.client("wc_0_unknown") as unknown:
        for method, path, signal in EVERY_ROUTE:
            body = valid_body(signal) if signal else None
            answers = [
                await anonymous.request(method, f"{API}{path}", json=body),
                await unknown.request(method, f"{API}{path}", json=body),
                # authentication comes before the body is looked at
                await anonymous.request(method, f"{API}{path}", json={"nonsense": True} if signal else None),
            ]
            for answer in answers:
                assert answer.status_code == 401, (method, path, answer.text)
                assert answer.headers["WWW-Authenticate"].startswith("Bearer"), (method, path)
                assert error_of(answer)["code"] == "unauthorized", (method, path)


async def signal_audits(depot: ApiSite) -> list[Any]:
    return [e for e in await depot.repository.audit_entries() if e.action.startswith("signal.")]


async def test_a_signal_the_grant_does_not_name_is_refused(depot: ApiSite):
    for signal in SIGNALS:
        token = await depot.token(f"all-but-{signal}", grant(sites=["depot"], signals=[s for s in SIGNALS
                                                                                      if s != signal]))
        async with depot.client(token) as http:
            answer = await http.post(f"{API}/sites/depot/signals/{ROUTES[signal]}", json=valid_body(signal))
        assert answer.status_code == 403, (signal, answer.text)
        error = error_of(answer)
        assert error["rule"] == "GOV-SIGNAL" and [r["rule"] for r in error["refusals"]] == ["GOV-SIGNAL"], signal
        assert f"signal {signal} is not granted" in error["message"]
    assert await signal_audits(depot) == []


async def test_a_site_outside_the_grant_is_refused_for_reading_and_signals(depot: ApiSite):
    token = await depot.token("yard-ems", grant(sites=["yard"], signals=SIGNALS))
    async with depot.client(token) as http:
        answers = {
            signal: await http.post(f"{API}/sites/depot/signals/{path}", json=valid_body(signal))
            for signal, path in ROUTES.items()
        }
        answers["read"] = await http.get(f"{API}/sites/depot")
        # an unknown site is refused the same way: a client cannot tell it from one it may not see
        answers["unknown"] = await http.get(f"{API}/sites/nowhere")
        own = await http.get(f"{API}/sites/yard")
    for what, answer in answers.items():
        assert answer.status_code == 403, (what, answer.text)
        assert error_of(answer)["rule"] == "GOV-SCOPE", what
        assert [r["rule"] for r in error_of(answer)["refusals"]] == ["GOV-SCOPE"], what
    assert "site depot is outside this client's scope (sites yard)" in error_of(answers["site_limit"])["message"]
    assert own.status_code == 200
    assert await signal_audits(depot) == []


async def test_a_read_only_client_reads_the_site_but_posts_nothing(depot: ApiSite):
    token = await depot.token("dash", grant(sites=["depot"], signals=SIGNALS, read_only=True))
    async with depot.client(token) as http:
        posted = {s: await http.post(f"{API}/sites/depot/signals/{p}", json=valid_body(s)) for s, p in ROUTES.items()}
        read = await http.get(f"{API}/sites/depot")
    for signal, answer in posted.items():
        assert answer.status_code == 403, (signal, answer.text)
        assert [r["rule"] for r in error_of(answer)["refusals"]] == ["GOV-READONLY"], signal
    assert read.status_code == 200
    assert await signal_audits(depot) == []


async def test_a_refusal_names_every_rule_and_changes_nothing(depot: ApiSite):
    token = await depot.token("stray", grant(sites=["yard"], signals=["price"], read_only=True))
    ops = await depot.token("ops", OPERATOR)
    before = (await eventually(lambda: site_now(depot, ops)))["limits"]
    async with depot.client(token) as http:
        answer = await http.post(f"{API}/sites/depot/signals/site-limit", json=valid_body("site_limit"))
    assert answer.status_code == 403
    assert [r["rule"] for r in error_of(answer)["refusals"]] == ["GOV-READONLY", "GOV-SIGNAL", "GOV-SCOPE"]
    await depot.plane.site_cap.controllers["depot"].settled()
    assert (await site_now(depot, ops))["limits"] == before
    assert depot.plane.site_cap.controllers["depot"].signals.schedules == {}
    assert await signal_audits(depot) == []


MALFORMED = [
    # (signal, body, path, schema error type or None for the signal rule WC-SIGNAL)
    ("site_limit", {"points": []}, "body.points", "too_short"),
    ("site_limit", {"ttl_s": 60}, "body.points", "missing"),
    ("site_limit", {"points": [{"start": "{past}", "current_a": -5.0}]}, "body.points[0].current_a",
     "greater_than_equal"),
    ("site_limit", {"points": [{"start": "{past}", "power_w": -1.0}]}, "body.points[0].power_w", "greater_than_equal"),
    ("site_limit", {"points": [{"start": "2026-05-01T16:00:00", "current_a": 30.0}]}, "body.points[0].start",
     "timezone_aware"),
    ("site_limit", {"points": [{"start": "{past}"}]}, "body.points[0]", "value_error"),
    ("site_limit", {"points": [{"start": "{past}", "current_a": 30.0}], "ttl_s": 0}, "body.ttl_s", "greater_than"),
    ("site_limit", {"points": [{"start": "{past}", "current_a": 30.0}], "stop": 1}, "body.stop", "extra_forbidden"),
    ("site_limit", {"points": [{"start": "{past}", "current_a": 30.0}, {"start": "{past}", "current_a": 20.0}]},
     "body.points", "value_error"),
    ("site_limit", {"node": "nowhere", "points": [{"start": "{past}", "current_a": 30.0}]}, "body.node", None),
    ("building_load", {"current_a": [5.0, 5.0, 5.0], "power_w": 3000.0}, "body", "value_error"),
    ("building_load", {}, "body", "value_error"),
    ("building_load", {"current_a": [5.0, -1.0, 5.0]}, "body.current_a[1]", "greater_than_equal"),
    ("building_load", {"current_a": [5.0, 5.0]}, "body.current_a", "too_short"),
    ("building_load", {"power_w": -100.0}, "body.power_w", "greater_than_equal"),
    ("building_load", {"node": "nowhere", "power_w": 1000.0}, "body.node", None),
    ("building_load", {"power_w": math.inf}, "body.power_w", "finite_number"),  # JSON parsers take Infinity
    ("site_limit", {"points": [{"start": "{past}", "current_a": math.nan}]}, "body.points[0].current_a",
     "finite_number"),
    ("price", {"points": []}, "body.points", "too_short"),
    ("price", {"points": [{"start": "2026-05-01T16:00:00", "value": 0.3}]}, "body.points[0].start", "timezone_aware"),
    ("solar", {"points": [{"start": "{past}", "value": 1.0}], "unit": "kW"}, "body.unit", "literal_error"),
    ("solar", {"points": [{"start": "{past}", "value": 1.0}]}, "body.unit", None),  # a price unit by default
    ("price", {"points": [{"start": "{past}", "value": 1.0}], "unit": "W"}, "body.unit", None),
]


async def test_a_malformed_signal_is_a_422_naming_the_field(depot: ApiSite):
    past = stamp()
    token = await depot.token("ops", OPERATOR)
    async with depot.client(token) as http:
        for signal, body, path, kind in MALFORMED:
            text = json.dumps(body).replace("{past}", past)  # Infinity and NaN as Python's json writes them
            answer = await http.post(f"{API}/sites/depot/signals/{ROUTES[signal]}", content=text,
                                     headers={"Content-Type": "application/json"})
            assert answer.status_code == 422, (signal, body, answer.text)
            error = error_of(answer)
            assert error["code"] == "validation"
            [finding] = error["findings"]
            assert finding["path"] == path, (signal, body, finding)
            if kind is None:  # the site's own rule: the node must be one of the site's
                assert (finding["rule_id"], error["rule"]) == ("WC-SIGNAL", "WC-SIGNAL"), (signal, body)
                assert "has no node 'nowhere'" in finding["message"] or " series is in " in finding["message"]
            else:
                assert (finding["rule_id"], finding["type"]) == ("WC-API-SCHEMA", kind), (signal, body, finding)
    assert await signal_audits(depot) == []
    assert depot.plane.site_cap.controllers["depot"].signals.schedules == {}


async def test_an_unknown_site_is_a_404_for_a_client_of_every_site(depot: ApiSite):
    token = await depot.token("ops", OPERATOR)
    async with depot.client(token) as http:
        answers = [await http.get(f"{API}/sites/nowhere")] + [
            await http.post(f"{API}/sites/nowhere/signals/{path}", json=valid_body(signal))
            for signal, path in ROUTES.items()
        ]
    for answer in answers:
        assert answer.status_code == 404, (answer.request.url, answer.text)
        assert error_of(answer)["code"] == "not_found" and "no site 'nowhere'" in error_of(answer)["message"]
    assert await signal_audits(depot) == []


async def test_the_site_routes_document_their_error_answers(depot: ApiSite):
    async with depot.client() as http:
        schema = (await http.get("/openapi.json")).json()
    site_paths = {p: ops for p, ops in schema["paths"].items() if p.startswith(f"{API}/sites")}
    expected = {f"{API}/sites", f"{API}/sites/{{site_id}}", f"{API}/sites/{{site_id}}/topology",
                *(f"{API}/sites/{{site_id}}/signals/{p}" for p in ROUTES.values())}
    assert set(site_paths) == expected
    for path, operations in site_paths.items():
        for method, operation in operations.items():
            documented = set(operation["responses"])
            needed = {"401", "403", "422"} | ({"404"} if "{site_id}" in path else set())
            assert needed <= documented, (method, path, sorted(documented))
            for status in needed:
                assert operation["responses"][status]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorBody"}, (method, path, status)


# ---- signals in force ------------------------------------------------------------------------------------------


async def test_a_posted_site_limit_is_in_force_named_after_its_client_and_audited(depot: ApiSite):
    grid = await depot.token("grid", GRID)
    ops = await depot.token("ops", OPERATOR)
    await eventually(lambda: site_now(depot, ops))
    body = {"ttl_s": 600, "points": [{"start": stamp(-1), "current_a": 30.0},
                                     {"start": stamp(60), "current_a": 10.0}]}
    async with depot.client(grid) as http:
        answer = await http.post(f"{API}/sites/depot/signals/site-limit", json=body)
        on_feeder = await http.post(f"{API}/sites/depot/signals/site-limit",
                                    json={"node": "feeder", "points": [{"start": stamp(-1), "power_w": 9000.0}]})
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert (accepted["site"], accepted["kind"], accepted["node"], accepted["source"]) == (
        "depot", "site_limit", "grid", "api:grid")
    assert accepted["stale_at"] > accepted["received_at"]
    assert on_feeder.status_code == 202 and on_feeder.json()["node"] == "feeder"

    async def in_force() -> dict[str, Any] | None:
        limits = (await site_now(depot, ops))["limits"]
        return limits if limits["grid"]["source"] == "api:grid" and limits["feeder"]["source"] == "api:grid" else None

    limits = await eventually(in_force)
    # the point in force now (not the one an hour ahead); the feeder keeps its 40 A and takes the power limit too
    assert (limits["grid"]["current_a"], limits["grid"]["power_w"]) == (30.0, None)
    assert (limits["feeder"]["current_a"], limits["feeder"]["power_w"]) == (40.0, 9000.0)

    async with depot.client(ops) as http:
        audited = (await http.get(f"{API}/audit", params={"action": "signal.site_limit", "newest_first": "false"}))
    assert audited.status_code == 200
    entries = audited.json()
    assert [(e["actor"], e["target"]) for e in entries] == [("api:grid", "depot"), ("api:grid", "depot")]
    assert [p["current_a"] for p in entries[0]["after"]["points"]] == [30.0, 10.0]
    assert entries[0]["after"]["ttl_s"] == 600 and entries[1]["after"]["node"] == "feeder"


async def test_price_and_solar_series_are_taken_for_the_planner_and_audited(depot: ApiSite):
    token = await depot.token("planner", grant(sites=["depot"], signals=["price", "solar"]))
    async with depot.client(token) as http:
        answers = {s: await http.post(f"{API}/sites/depot/signals/{s}", json=valid_body(s)) for s in ("price", "solar")}
    for kind, answer in answers.items():
        assert answer.status_code == 202, answer.text
        assert (answer.json()["kind"], answer.json()["node"], answer.json()["source"]) == (kind, None, "api:planner")
    series = depot.plane.site_cap.controllers["depot"].signals.series
    assert {k.value: (v[0].unit, v[2]) for k, v in series.items()} == {
        "price": ("EUR/kWh", "api:planner"), "solar": ("W", "api:planner")}
    assert sorted(e.action for e in await signal_audits(depot)) == ["signal.price", "signal.solar"]


async def test_a_limit_above_the_static_one_does_not_raise_it(depot: ApiSite):
    grid = await depot.token("grid", GRID)
    ops = await depot.token("ops", OPERATOR)
    async with depot.client(grid) as http:
        answer = await http.post(f"{API}/sites/depot/signals/site-limit",
                                 json={"points": [{"start": stamp(), "current_a": 400.0}]})
    assert answer.status_code == 202

    async def in_force() -> dict[str, Any] | None:
        limits = (await site_now(depot, ops))["limits"]
        return limits if limits["grid"]["source"] == "api:grid" else None

    assert (await eventually(in_force))["grid"]["current_a"] == 40.0


async def test_a_building_load_reading_takes_its_share_from_the_sessions(depot: ApiSite):
    ems = await depot.token("ems", EMS)
    ops = await depot.token("ops", OPERATOR)

    def limited_to(current_a: float) -> Any:
        def done(seen: dict[str, Any]) -> bool:
            evse = seen["evses"]["DEPOT-1/1"]
            return evse["limit"] is not None and evse["limit"]["current_a"] == current_a
        return done

    async with depot.simulated([station("DEPOT-1", V201)]):
        before = await settled_evse(depot, ops, limited_to(32.0))
        async with depot.client(ems) as http:
            answer = await http.post(f"{API}/sites/depot/signals/building-load",
                                     json={"current_a": [20.0, 20.0, 20.0], "ttl_s": 300})
        assert answer.status_code == 202, answer.text
        # once the charger acknowledged the lower limit and the EV's reaction time (5 s) passed, the EVSE counts at
        # what it now holds
        after = await settled_evse(depot, ops, lambda s: limited_to(20.0)(s)
                                   and s["evses"]["DEPOT-1/1"]["footprint_a"] == [20.0, 20.0, 20.0])
    accepted = answer.json()
    assert (accepted["kind"], accepted["node"], accepted["source"]) == ("building_load", "grid", "api:ems")
    assert before["limits"]["grid"]["non_ev_load_a"] == [0.0, 0.0, 0.0]
    assert before["evses"]["DEPOT-1/1"]["allocation"]["binding"] == "evse"
    assert before["evses"]["DEPOT-1/1"]["fallback_a"] == 20.0
    # The grid connection still allows 40 A, but the building takes 20 of them: the grid now binds the session
    # at the 20 A left, and the offline share (the safe 20 A less the building) is gone.
    assert after["limits"]["grid"]["non_ev_load_a"] == [20.0, 20.0, 20.0]
    assert (after["limits"]["grid"]["current_a"], after["limits"]["grid"]["source"]) == (40.0, "static")
    evse = after["evses"]["DEPOT-1/1"]
    assert evse["allocation"] == {"current_a": 20.0, "phases": 3, "power_w": None, "paused": False, "binding": "grid"}
    assert evse["fallback_a"] == 0.0
    assert after["violations"] == []
    audited = [e for e in await depot.repository.audit_entries() if e.action == "signal.building_load"]
    assert [(e.actor, e.target, e.after["current_a"]) for e in audited] == [("api:ems", "depot", [20.0, 20.0, 20.0])]


# ---- the stream ------------------------------------------------------------------------------------------------


def allocations(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == "allocation"]


async def test_allocations_stream_to_the_sites_clients_and_no_one_else(depot: ApiSite):
    mine = await depot.token("depot-dash", grant(sites=["depot"], read_only=True))
    elsewhere = await depot.token("yard-dash", grant(sites=["yard"], read_only=True))
    of_stations = await depot.token("bay-dash", grant(stations=["DEPOT-1"], read_only=True))
    grid = await depot.token("grid", GRID)
    async with depot.stream(f"?token={mine}&type=allocation") as own, \
            depot.stream(f"?token={elsewhere}&type=allocation") as other, \
            depot.stream(f"?token={of_stations}") as station_client:
        for websocket in (own, other, station_client):
            assert (await received(websocket))["type"] == "ready"
        async with depot.client(grid) as http:
            answer = await http.post(f"{API}/sites/depot/signals/site-limit",
                                     json={"points": [{"start": stamp(), "current_a": 25.0}]})
        assert answer.status_code == 202

        def limited(ms: list[dict[str, Any]]) -> bool:
            return any(m["data"]["limits"]["grid"]["source"] == "api:grid" for m in allocations(ms))

        seen = await receive_until(own, limited)
        # re-planned every tick, both sites: by its third yard allocation the depot's had been published too
        theirs = await receive_until(other, lambda ms: len(allocations(ms)) >= 3)
        # A client of the site's stations but not of the site gets no allocation: by now several depot
        # allocations have been published, and the first thing it gets is a station event published after them.
        depot.plane.live.publish(LiveEvent("station", {"event": "marker"}, "DEPOT-1"))
        marker = await received(station_client)
    assert {(m["type"], m["site"], m["station"]) for m in seen} == {("allocation", "depot", None)}
    latest = seen[-1]["data"]
    assert latest["limits"]["grid"] == {"current_a": 25.0, "power_w": None, "source": "api:grid"}
    assert latest["evses"] == {}  # no session on the depot
    assert {(m["type"], m["site"]) for m in theirs} == {("allocation", "yard")}
    assert all(set(m["data"]["limits"]) == {"yard-grid"} for m in theirs)
    assert (marker["seq"], marker["type"], marker["data"]) == (1, "station", {"event": "marker"})
