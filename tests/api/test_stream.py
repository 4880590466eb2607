"""The live stream: events from simulated stations in order, filtered by grant and by station, authenticated three
ways, and never slowed down by a client that reads slowly or not at all."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from wattcap.server.live import LiveEvent

from .site import API, V16, V201, ApiSite, grant, receive_until, received, station, tx_default

WATCHER = grant(stations=["*"], read_only=True)


def of_type(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == kind]


async def test_a_simulated_station_s_events_arrive_in_order_with_sequence_numbers(site: ApiSite):
    token = await site.token("dash", WATCHER)
    async with site.stream(f"?token={token}&station=SIM-ORDER") as websocket:
        ready = await received(websocket)
        assert ready["type"] == "ready" and ready["filter"]["station"] == ["SIM-ORDER"]
        async with site.simulated([station("SIM-ORDER", V201)]):
            messages = await receive_until(websocket, lambda ms: len(of_type(ms, "meter")) >= 3)
    assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))
    assert {m["station"] for m in messages} == {"SIM-ORDER"}
    kinds = [m["type"] for m in messages]
    assert kinds[0] == "connection" and messages[0]["data"] == {"connected": True}
    booted = kinds.index("station")
    started = next(i for i, m in enumerate(messages) if m["type"] == "session" and m["data"]["event"] == "started")
    first_meter = kinds.index("meter")
    assert booted < started < first_meter
    transaction = messages[started]["data"]["transaction_id"]
    meters = of_type(messages, "meter")
    assert {m["data"]["transaction_id"] for m in meters} == {transaction}
    stamps = [s["at"] for m in meters for s in m["data"]["samples"]]
    assert stamps == sorted(stamps)
    assert meters[0]["data"]["samples"][0]["context"] == "Transaction.Begin"
    assert any(s["measurand"] == "Current.Import" and s["phase"] == "L1" for m in meters for s in m["data"]["samples"])


async def test_limit_changes_verdicts_and_violations_are_streamed(site: ApiSite):
    operator = await site.token("ops", grant(stations=["*"], bands=["default"]))
    watcher = await site.token("dash", WATCHER)
    async with site.simulated([station("SIM-LIE", V16, personality="accept-and-ignore")]), \
            site.stream(f"?type=limit&type=verdict&type=violation&token={watcher}") as websocket:
        assert (await received(websocket))["type"] == "ready"
        async with site.client(operator) as http:
            answer = await http.post(f"{API}/stations/SIM-LIE/profiles",
                                     json={"evse_id": 1, "band": "default", "profile": tx_default(10.0)})
        assert answer.status_code == 201
        messages = await receive_until(websocket, lambda ms: bool(of_type(ms, "violation")), timeout=30)
    limit, verdict = messages[0], messages[1]
    assert (limit["type"], limit["data"]["action"], limit["data"]["verdict"]) == ("limit", "set", "applied")
    assert (limit["data"]["profile_id"], limit["data"]["band"], limit["data"]["owner"]) == (
        answer.json()["profile_id"], "default", "wattcap")
    assert (verdict["type"], verdict["evse"], verdict["data"]["verdict"]) == ("verdict", 1, "applied")
    assert verdict["data"]["expected"]["chargingSchedulePeriod"][0]["limit"] == 10.0
    violation = of_type(messages, "violation")[0]
    assert (violation["station"], violation["evse"]) == ("SIM-LIE", 1)
    assert violation["data"]["allowed"] == 10.0 and violation["data"]["measured"] == 32.0
    assert {m["type"] for m in messages} <= {"limit", "verdict", "violation"}


async def test_a_client_gets_only_the_stations_of_its_grant(site: ApiSite):
    token = await site.token("bay-a", grant(stations=["SIM-A"], read_only=True))
    async with site.stream(f"?token={token}&type=station") as websocket:
        await received(websocket)
        async with site.simulated([station("SIM-B", V201), station("SIM-A", V201)], charging=False):
            [booted] = await receive_until(websocket, lambda ms: len(ms) >= 1)
        await asyncio.sleep(0.2)  # anything of SIM-B would have been queued by now
        site.plane.live.publish(LiveEvent("station", {"event": "marker"}, "SIM-A"))
        marker = await received(websocket)
    assert booted["station"] == "SIM-A" and marker["data"] == {"event": "marker"} and marker["seq"] == 2


async def test_the_token_may_come_as_a_header_or_in_the_first_message(site: ApiSite):
    token = await site.token("dash", WATCHER)
    async with site.stream(additional_headers={"Authorization": f"Bearer {token}"}) as websocket:
        assert (await received(websocket))["client"] == "dash"
    async with site.stream() as websocket:
        await websocket.send(json.dumps({"type": "auth", "token": token}))
        assert (await received(websocket))["type"] == "ready"
        site.plane.live.publish(LiveEvent("station", {"event": "x"}, "CP1"))
        assert (await received(websocket))["seq"] == 1
    async with site.stream() as websocket:
        await websocket.send(json.dumps({"type": "auth", "token": "wc_nope_nope"}))
        error = await received(websocket)
        with pytest.raises(ConnectionClosed) as closed:
            await received(websocket)
    assert (error["type"], error["status"]) == ("error", 401)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


@pytest.mark.parametrize(("query", "status", "rule"), [
    ("?token=wc_0_unknown", 401, None),
    ("?token={token}&station=OTHER", 403, "GOV-SCOPE"),
    ("?token={token}&type=weather", 422, "WC-API-SCHEMA"),
    ("?token={token}&queue=0", 422, "WC-API-SCHEMA"),
])
async def test_a_bad_handshake_is_refused_with_the_http_status(site: ApiSite, query: str, status: int, rule):
    token = await site.token("bay-a", grant(stations=["SIM-A"], read_only=True))
    with pytest.raises(InvalidStatus) as refused:
        async with site.stream(query.format(token=token)):
            pass
    response = refused.value.response
    assert response.status_code == status
    body = json.loads(response.body)
    assert body["error"]["rule"] == rule
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_slow_client_loses_its_oldest_events_and_is_told_how_many(site: ApiSite):
    token = await site.token("dash", WATCHER)
    async with site.stream(f"?token={token}&queue=4") as websocket:
        assert (await received(websocket))["queue"] == 4
        [subscription] = site.plane.live.subscriptions
        # Published back to back, as a burst of station messages is: the client's sender gets no turn in between.
        for n in range(50):
            site.plane.live.publish(LiveEvent("meter", {"n": n}, "CP1", 1))
        assert subscription.pending == 4 and subscription.dropped == 46
        gap = await received(websocket)
        kept = [await received(websocket) for _ in range(4)]
    assert gap == {"type": "gap", "dropped": 46, "first_seq": 1, "last_seq": 46}
    assert [(m["seq"], m["data"]["n"]) for m in kept] == [(47, 46), (48, 47), (49, 48), (50, 49)]


async def test_a_client_that_stops_reading_never_holds_up_the_control_plane(site: ApiSite):
    token = await site.token("dash", WATCHER)
    payload = "x" * 4096
    async with site.stream(f"?token={token}&queue=8") as stalled, site.stream(f"?token={token}") as reader:
        await received(stalled)
        await received(reader)
        lazy, eager = site.plane.live.subscriptions
        # Far more than the socket buffers hold: the stalled client's sender blocks on its socket after a while.
        async with site.client(token) as http:
            for batch in range(100):
                for n in range(100):
                    site.plane.live.publish(LiveEvent("meter", {"n": batch * 100 + n, "pad": payload}, "CP1", 1))
                assert lazy.pending <= 8
                await asyncio.sleep(0)  # the senders' turn
                if batch % 25 == 0:  # the API still answers meanwhile
                    assert (await http.get(f"{API}/me")).status_code == 200
        last = await receive_until(reader, lambda ms: bool(ms) and ms[-1].get("data", {}).get("n") == 9999)
        assert last[-1]["seq"] == 10_000 and eager.pending == 0
        # The stalled client was kept to its queue; when it reads again it learns what it lost.
        seen = await receive_until(stalled, lambda ms: bool(ms) and ms[-1].get("seq") == 10_000, timeout=60)
    gaps = of_type(seen, "gap")
    assert gaps and sum(g["dropped"] for g in gaps) + len([m for m in seen if "seq" in m]) == 10_000
