"""The read side against simulated stations: stations, EVSEs, capabilities, connection state, transactions, meter
samples, verifications, violations, repairs, limits with their sources, and the audit log with filters."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from wattcap.api.schemas import ChargingProfileIn
from wattcap.core.events import ChargingLimitNotified
from wattcap.core.lifecycle import prepare_profile
from wattcap.core.model import ChargingProfilePurpose, ChargingRateUnit, ChargingSchedule, ChargingSchedulePeriod
from wattcap.store import desired_from_profile

from .site import API, V16, V201, ApiSite, eventually, grant, now, station, tx_default

OPERATOR = grant(stations=["*"], bands=["default", "operator-default"])


async def test_stations_evses_capabilities_and_connection_state(site: ApiSite):
    await site.add_station("CP-OFF", V16)
    async with site.simulated([station("SIM-R1", V201, evses=2)]):
        token = await site.token("ops", OPERATOR)
        async with site.client(token) as http:
            listed = {s["id"]: s for s in (await http.get(f"{API}/stations")).json()}
            one = (await http.get(f"{API}/stations/SIM-R1")).json()
            connection = (await http.get(f"{API}/stations/SIM-R1/connection")).json()
            capabilities = (await http.get(f"{API}/stations/SIM-R1/capabilities")).json()
            never_read = await http.get(f"{API}/stations/CP-OFF/capabilities")
            evses = (await http.get(f"{API}/stations/SIM-R1/evses")).json()
    assert set(listed) == {"CP-OFF", "SIM-R1"}
    assert listed["CP-OFF"]["connection"]["connected"] is False and listed["CP-OFF"]["capability_status"] is None
    # The station is live: a heartbeat or meter value between the two reads moves last_seen_at, nothing else.
    assert _without_last_seen(one) == _without_last_seen(listed["SIM-R1"])
    assert (one["model"], one["capability_status"], one["state"]) == ("sim-everest", "answered", "accepted")
    assert connection["connected"] and connection["ocpp_version"] == "2.0.1" and connection["last_boot_at"]
    assert capabilities["summary"]["evseIds"] == [1, 2] and capabilities["summary"]["rateUnits"] == ["A", "W"]
    assert capabilities["document"]["reportData"]
    assert never_read.status_code == 404
    assert [e["evse_id"] for e in evses] == [1, 2]
    assert all(e["transaction"] is not None and e["connectors"] for e in evses)


def _without_last_seen(station: dict) -> dict:
    return {**station, "connection": {k: v for k, v in station["connection"].items() if k != "last_seen_at"}}


async def test_transactions_running_and_by_time_range(site: ApiSite):
    async with site.simulated([station("SIM-T1", V201, evses=2), station("SIM-T2", V16)]):
        token = await site.token("ops", OPERATOR)
        scoped = await site.token("t2", grant(stations=["SIM-T2"], read_only=True))
        later = (now() + timedelta(hours=1)).isoformat()
        earlier = (now() - timedelta(hours=1)).isoformat()
        async with site.client(token) as http:
            running = (await http.get(f"{API}/transactions", params={"active": "true"})).json()
            ended = (await http.get(f"{API}/transactions", params={"active": "false"})).json()
            overlapping = (await http.get(f"{API}/transactions", params={"since": earlier, "until": later})).json()
            before = (await http.get(f"{API}/transactions", params={"until": earlier})).json()
            per_station = (await http.get(f"{API}/stations/SIM-T1/transactions", params={"evse": 2})).json()
            one = await http.get(f"{API}/stations/SIM-T1/transactions/{per_station[0]['transaction_id']}")
            missing = await http.get(f"{API}/stations/SIM-T1/transactions/nope")
            backwards = await http.get(f"{API}/transactions", params={"since": later, "until": earlier})
        async with site.client(scoped) as http:
            theirs = (await http.get(f"{API}/transactions")).json()
            refused = await http.get(f"{API}/transactions", params={"station": "SIM-T1"})
    assert sorted((t["station_id"], t["evse_id"]) for t in running) == [("SIM-T1", 1), ("SIM-T1", 2), ("SIM-T2", 1)]
    assert all(t["active"] and t["started_at"] for t in running)
    assert ended == [] and before == [] and len(overlapping) == 3
    assert [t["evse_id"] for t in per_station] == [2] and one.json() == per_station[0]
    assert missing.status_code == 404 and backwards.status_code == 422
    assert {t["station_id"] for t in theirs} == {"SIM-T2"}
    assert refused.status_code == 403 and refused.json()["error"]["rule"] == "GOV-SCOPE"


async def test_meter_samples_in_buckets_and_raw(site: ApiSite):
    async with site.simulated([station("SIM-M", V201)]):
        token = await site.token("ops", OPERATOR)
        start = now() - timedelta(minutes=5)

        async def samples() -> list:
            return await site.repository.meter_samples("SIM-M", start, now() + timedelta(minutes=1),
                                                       measurands=["Current.Import"])

        await eventually(lambda: _at_least(samples, 6))
        # A window that has closed: the station keeps sending, and every read below must see the same samples
        # (all of them measured two seconds ago or earlier are stored by now).
        await asyncio.sleep(2.5)
        window = {"start": start.isoformat(), "end": (now() - timedelta(seconds=2)).isoformat()}
        async with site.client(token) as http:
            buckets = (await http.get(f"{API}/stations/SIM-M/meter",
                                      params={**window, "measurand": "Current.Import", "bucket_s": 60})).json()
            auto = (await http.get(f"{API}/stations/SIM-M/meter", params=window)).json()
            raw = (await http.get(f"{API}/stations/SIM-M/meter",
                                  params={**window, "raw": "true", "measurand": "Current.Import", "evse": 1})).json()
            too_fine = await http.get(f"{API}/stations/SIM-M/meter",
                                      params={"start": "2020-01-01T00:00:00Z", "end": "2021-01-01T00:00:00Z",
                                              "bucket_s": 1})
            backwards = await http.get(f"{API}/stations/SIM-M/meter", params={"start": window["end"],
                                                                                "end": window["start"]})
    assert buckets["bucket_s"] == 60 and buckets["samples"] == []
    per_phase = [b for b in buckets["buckets"] if b["phase"] == "L1"]
    assert per_phase and all(b["measurand"] == "Current.Import" and b["min"] <= b["avg"] <= b["max"] for b in per_phase)
    assert sum(b["count"] for b in per_phase) == len([s for s in raw["samples"] if s["phase"] == "L1"])
    assert auto["bucket_s"] == 1 and {b["measurand"] for b in auto["buckets"]} >= {"Current.Import"}
    assert raw["bucket_s"] is None and raw["samples"] and not raw["truncated"]
    assert {s["measurand"] for s in raw["samples"]} == {"Current.Import"}
    assert too_fine.status_code == 422 and too_fine.json()["error"]["findings"][0]["path"] == "query.bucket_s"
    assert backwards.status_code == 422 and backwards.json()["error"]["findings"][0]["path"] == "query.end"


async def _at_least(check, count: int) -> bool:
    return len(await check()) >= count


async def test_verifications_violations_and_limits_with_their_sources(site: ApiSite):
    async with site.simulated([station("SIM-V", V16, personality="accept-and-ignore")]):
        token = await site.token("ops", OPERATOR)
        async with site.client(token) as http:
            created = (await http.post(f"{API}/stations/SIM-V/profiles",
                                       json={"evse_id": 1, "band": "default", "profile": tx_default(10.0)})).json()

            async def violations() -> list:
                return (await http.get(f"{API}/stations/SIM-V/violations")).json()

            [violation, *_] = await eventually(violations)
            checked = (await http.get(f"{API}/stations/SIM-V/verifications", params={"verdict": "applied"})).json()
            verify = (await http.post(f"{API}/stations/SIM-V/verify")).json()
            await site.plane.hub.record(ChargingLimitNotified(
                "SIM-V", now(), "EMS", evse_id=1, is_grid_critical=True,
                schedules=(ChargingSchedule(ChargingRateUnit.A, (ChargingSchedulePeriod(0, 8.0),), id=1),),
            ))
            limits = (await http.get(f"{API}/stations/SIM-V/limits")).json()
    assert violation["verdict"] == "violation" and violation["evse_id"] == 1
    assert violation["expected"] == {"allowed": 10.0, "unit": "A"} and violation["reported"]["measured"] == 32.0
    assert checked and all(c["verdict"] == "applied" for c in checked)
    assert verify["action"] == "verify" and verify["verdict"] == "applied" and verify["checks"][0]["evse_id"] == 1
    [profile] = limits["profiles"]
    assert (profile["profile_id"], profile["source"], profile["set_by"]) == (created["profile_id"], "api_client",
                                                                             "api:ops")
    [external] = limits["external"]
    assert (external["source"], external["external_source"], external["evse_id"]) == ("external", "EMS", 1)
    assert external["is_grid_critical"] is True


async def test_drift_repairs_are_listed(site: ApiSite):
    async with site.simulated([station("SIM-D", V201)], charging=False):
        token = await site.token("ops", OPERATOR)
        # wattcap believes the charger holds a profile it never got: the next reconcile sets it again.
        ctx = await site.plane.profiles.context("SIM-D")
        model = ChargingProfileIn.model_validate(tx_default(11.0)).to_model(ChargingProfilePurpose.TX_DEFAULT)
        lost = prepare_profile(model, profile_id=30_000, stack_level=0, purpose=ChargingProfilePurpose.TX_DEFAULT)
        await site.repository.put_desired_profile(
            desired_from_profile("SIM-D", 1, lost, ctx.version, "default", status="installed"))
        async with site.client(token) as http:
            repaired = (await http.post(f"{API}/stations/SIM-D/reconcile")).json()
            repairs = (await http.get(f"{API}/stations/SIM-D/repairs")).json()
    assert [(r["action"], r["profile_id"], r["verdict"]) for r in repaired] == [("set", 30_000, "applied")]
    [entry] = repairs
    assert (entry["action"], entry["target"], entry["actor"]) == ("profile.repair.set", "SIM-D/30000", "api:ops")


async def test_the_audit_log_with_filters_and_scope(site: ApiSite):
    for station_id in ("CP-A", "CP-B"):
        await site.add_station(station_id)
    ops = await site.token("ops", OPERATOR)
    only_a = await site.token("a", grant(stations=["CP-A"], bands=["default"]))
    async with site.client(ops) as http:
        for station_id in ("CP-A", "CP-B"):
            created = await http.post(f"{API}/stations/{station_id}/profiles",
                                      json={"evse_id": 1, "band": "default", "profile": tx_default()})
            assert created.status_code == 201
        everything = (await http.get(f"{API}/audit")).json()
        api_sets = (await http.get(f"{API}/audit", params={"action": "api.profile.set"})).json()
        by_prefix = (await http.get(f"{API}/audit", params={"action_prefix": "profile.", "station": "CP-B"})).json()
        oldest = (await http.get(f"{API}/audit", params={"newest_first": "false", "limit": 1})).json()
        by_actor = (await http.get(f"{API}/audit", params={"actor": "api:nobody"})).json()
    async with site.client(only_a) as http:
        theirs = (await http.get(f"{API}/audit")).json()
        refused = await http.get(f"{API}/audit", params={"station": "CP-B"})
    assert [e["target"].split("/")[0] for e in api_sets] == ["CP-B", "CP-A"]
    assert all(e["actor"] == "api:ops" and e["after"]["verdict"] == "no_answer" for e in api_sets)
    assert by_prefix and all(e["action"].startswith("profile.") and e["target"].startswith("CP-B/") for e in by_prefix)
    assert oldest[0]["id"] == min(e["id"] for e in everything) and by_actor == []
    assert theirs and all(re.match(r"CP-A(/|$)", e["target"]) for e in theirs)
    assert refused.status_code == 403


async def test_every_station_route_refuses_a_station_outside_the_grant(site: ApiSite):
    for station_id in ("CP-A", "CP-B"):
        await site.add_station(station_id)
    token = await site.token("a", grant(stations=["CP-A"], bands=["default"]))
    async with site.client(token) as http:
        schema = (await http.get("/openapi.json")).json()
        routes = [(m, p) for p, ops in schema["paths"].items() if "{station_id}" in p for m in ops]
        for method, path in routes:
            concrete = path.replace("{station_id}", "CP-B")
            concrete = re.sub(r"\{[^}]+\}", "1", concrete)
            body = {"evse_id": 1, "band": "default", "profile": tx_default()} if method in ("post", "put") else None
            if concrete.endswith("/remote-start"):
                body = {"id_token": "T", "band": "default", "profile": tx_default()}
            if method == "put":
                body = {"profile": tx_default()}
            answer = await http.request(method.upper(), concrete, json=body)
            assert answer.status_code == 403, (method, path, answer.text)
            assert answer.json()["error"]["rule"] == "GOV-SCOPE", (method, path)
    assert len(routes) >= 20


@pytest.mark.parametrize(("path", "params", "where"), [
    ("/stations/CP-A/composite", {"duration": 0}, "query.duration"),
    ("/stations/CP-A/composite", {"evse": 9}, "query.evse"),
    ("/stations/CP-A/composite", {"start": "9999-12-31T23:00:00Z"}, "query.start"),
    ("/stations/CP-A/composite", {"start": "yesterday"}, "query.start"),
    ("/stations/CP-A/meter", {"bucket_s": 0}, "query.bucket_s"),
    ("/transactions", {"limit": 0}, "query.limit"),
    ("/stations/CP-A/verifications", {"since": "2026-01-01T00:00:00"}, "query.since"),
])
async def test_invalid_queries_are_422_naming_the_parameter(site: ApiSite, path: str, params: dict, where: str):
    await site.add_station("CP-A")
    token = await site.token("ops", OPERATOR)
    async with site.client(token) as http:
        answer = await http.get(f"{API}{path}", params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["findings"][0]["path"] == where
