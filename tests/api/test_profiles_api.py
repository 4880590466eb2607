"""Profiles through the API against simulated stations: set, update and clear through the lifecycle, audited with
the client and the composites; the dry run predicts what is applied; invalid profiles are 422 with paths and
requirement ids."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from wattcap.core.model import OcppVersion

from .site import API, V16, V201, ApiSite, api_site, grant, now, station, tx_default, tx_profile

FLEET = grant(stations=["*"], bands=["session", "default"], max_a=32)


def periods(composite: dict[str, Any]) -> list[tuple[int, float, list[int]]]:
    return [(p["startPeriod"], p["limit"], [g["profileId"] for g in p["governedBy"]])
            for p in composite["chargingSchedulePeriod"]]


@pytest.mark.parametrize("version", [V16, V201])
async def test_the_dry_run_predicts_the_applied_change(database_url: str, version: OcppVersion):
    async with api_site(database_url) as site, site.simulated([station("SIM-DRY", version, evses=2)]):
        token = await site.token("fleet", FLEET)
        start = now()
        window = {"start": start.isoformat().replace("+00:00", "Z"), "duration": 7200}
        body = {"evse_id": 0, "band": "default", "profile": tx_default(10.0, start=start)}
        async with site.client(token) as http:
            before = [(await http.get(f"{API}/stations/SIM-DRY/composite", params={**window, "evse": e})).json()
                      for e in (1, 2)]
            preview = (await http.post(f"{API}/stations/SIM-DRY/profiles/dry-run", json={**body, **window})).json()
            assert await site.repository.list_desired_profiles("SIM-DRY") == []  # a dry run stores nothing
            applied = await http.post(f"{API}/stations/SIM-DRY/profiles", json=body)
            after = [(await http.get(f"{API}/stations/SIM-DRY/composite", params={**window, "evse": e})).json()
                     for e in (1, 2)]
    assert preview["allowed"] and preview["refusal"] is None
    assert applied.status_code == 201, applied.text
    result = applied.json()
    assert result["verdict"] == "applied", result["reason"]
    assert preview["findings"] == result["warnings"]  # the same validation, warnings only
    assert (result["profile_id"], result["profile"]["stack_level"]) == (preview["profile_id"], preview["stack_level"])
    assert preview["profile"]["chargingSchedule"] == result["profile"]["profile"]["chargingSchedule"]
    assert [c["evse_id"] for c in preview["composites"]] == [1, 2]
    for predicted, was, now_is in zip(preview["composites"], before, after, strict=True):
        assert predicted["before"] == was
        assert predicted["after"] == now_is
        assert periods(now_is)[0] == (0, 10.0, [result["profile_id"]])
        layers = [(layer["purpose"], layer["periods"][0]["limit"], layer["periods"][0]["source"]["profileId"])
                  for layer in now_is["layers"]]
        assert layers == [("TxDefaultProfile", 10.0, result["profile_id"])]


async def test_a_fleet_tool_sets_a_tx_profile_on_a_running_session_and_it_is_audited(site: ApiSite):
    async with site.simulated([station("SIM-TX", V201)]):
        token = await site.token("fleet", grant(stations=["SIM-TX"], bands=["session"], max_a=32))
        async with site.client(token) as http:
            [tx] = (await http.get(f"{API}/stations/SIM-TX/transactions", params={"active": "true"})).json()
            answer = await http.post(f"{API}/stations/SIM-TX/profiles", json={
                "evse_id": 1, "band": "session", "profile": tx_profile(tx["transaction_id"], 16.0),
                "reason": "bus 12 leaves at 06:00",
            })
            limits = (await http.get(f"{API}/stations/SIM-TX/limits")).json()
            composite = (await http.get(f"{API}/stations/SIM-TX/composite", params={"evse": 1})).json()
    assert answer.status_code == 201, answer.text
    result = answer.json()
    assert result["verdict"] == "applied" and result["checks"][0]["verdict"] == "applied"
    stored = result["profile"]
    assert (stored["band"], stored["purpose"], stored["status"], stored["transaction_id"]) == (
        "session", "TxProfile", "installed", tx["transaction_id"]
    )
    assert 50_000 <= stored["profile_id"] < 60_000 and stored["stack_level"] in (0, 1)
    assert periods(composite)[0] == (0, 16.0, [stored["profile_id"]])
    [limit] = limits["profiles"]
    assert (limit["source"], limit["set_by"], limit["band"]) == ("api_client", "api:fleet", "session")
    [entry] = await site.repository.audit_entries(action="api.profile.set")
    assert (entry.actor, entry.target, entry.reason) == ("api:fleet", f"SIM-TX/{stored['profile_id']}",
                                                        "bus 12 leaves at 06:00")
    assert entry.before["composites"]["1"]["chargingSchedulePeriod"][0]["governedBy"] == []
    assert entry.after["composites"]["1"]["chargingSchedulePeriod"][0]["limit"] == 16.0
    assert entry.after["verdict"] == "applied" and entry.after["checks"][0]["verdict"] == "applied"
    # The lifecycle's own entry names the client too.
    assert [e.actor for e in await site.repository.audit_entries(action="profile.set")] == ["api:fleet"]


async def test_update_keeps_the_id_and_delete_clears_it(site: ApiSite):
    async with site.simulated([station("SIM-UPD", V16)]):
        token = await site.token("fleet", FLEET)
        async with site.client(token) as http:
            created = (await http.post(f"{API}/stations/SIM-UPD/profiles",
                                       json={"evse_id": 1, "band": "default", "profile": tx_default(10.0)})).json()
            profile_id = created["profile_id"]
            updated = await http.put(f"{API}/stations/SIM-UPD/profiles/{profile_id}",
                                     json={"profile": tx_default(12.0), "reason": "more for the night"})
            detail = (await http.get(f"{API}/stations/SIM-UPD/profiles/{profile_id}")).json()
            listed = (await http.get(f"{API}/stations/SIM-UPD/profiles")).json()
            deleted = await http.delete(f"{API}/stations/SIM-UPD/profiles/{profile_id}", params={"reason": "done"})
            gone = await http.get(f"{API}/stations/SIM-UPD/profiles/{profile_id}")
            missing = await http.put(f"{API}/stations/SIM-UPD/profiles/{profile_id}", json={"profile": tx_default()})
    assert updated.status_code == 200 and updated.json()["verdict"] == "applied"
    assert updated.json()["profile_id"] == profile_id and updated.json()["action"] == "update"
    assert detail["revision"] == 2 and detail["profile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0][
        "limit"] == 12.0
    assert detail["wire"]["chargingProfileId"] == profile_id  # what the 1.6 station is sent
    assert [h["change"] for h in detail["history"]][:2] == ["put", "status"]
    assert [p["profile_id"] for p in listed] == [profile_id]
    assert deleted.status_code == 200 and deleted.json()["verdict"] == "applied"
    assert gone.status_code == missing.status_code == 404
    actions = [e.action for e in await site.repository.audit_entries(actor="api:fleet") if e.action.startswith("api.")]
    assert actions == ["api.profile.set", "api.profile.update", "api.profile.clear"]


@pytest.mark.parametrize(("version", "rule"), [(V201, "K01.FR.31"), (V16, "R16-09")])
async def test_a_profile_the_validator_refuses_is_422_with_the_request_path_and_rule(
    site: ApiSite, version: OcppVersion, rule: str
):
    await site.add_station("CP1", version)
    token = await site.token("fleet", FLEET)
    profile = tx_default(10.0)
    profile["chargingSchedule"][0]["chargingSchedulePeriod"][0]["startPeriod"] = 60
    async with site.client(token) as http:
        answer = await http.post(f"{API}/stations/CP1/profiles",
                                 json={"evse_id": 1, "band": "default", "profile": profile})
        preview = await http.post(f"{API}/stations/CP1/profiles/dry-run",
                                  json={"evse_id": 1, "band": "default", "profile": profile})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    finding = next(f for f in error["findings"] if f["rule_id"] == rule)
    assert finding["path"] == "body.profile.chargingSchedule[0].chargingSchedulePeriod[0].startPeriod"
    assert finding["severity"] == "error" and finding["response"] == "Rejected"
    assert error["rule"] == error["findings"][0]["rule_id"]
    assert await site.repository.list_desired_profiles("CP1") == []
    # The dry run shows the same findings without refusing the request.
    shown = preview.json()
    assert preview.status_code == 200 and not shown["allowed"]
    assert any(f["rule_id"] == rule and f["path"] == finding["path"] for f in shown["findings"])


@pytest.mark.parametrize(("profile", "path", "kind"), [
    ({"chargingProfileKind": "Absolute", "chargingSchedule": [{"chargingSchedulePeriod": [
        {"startPeriod": 0, "limit": 10}]}]}, "body.profile.chargingSchedule[0].chargingRateUnit", "missing"),
    ({"chargingProfileKind": "Absolute", "chargingSchedule": [{"chargingRateUnit": "A", "chargingSchedulePeriod": [
        {"startPeriod": 0, "limit": -1}]}]}, "body.profile.chargingSchedule[0].chargingSchedulePeriod[0].limit",
     "greater_than_equal"),
    ({"chargingProfileKind": "Sometimes", "chargingSchedule": []}, "body.profile.chargingProfileKind", "literal_error"),
    ({"chargingProfileKind": "Absolute", "chargingSchedule": [{"chargingRateUnit": "A", "chargingSchedulePeriod": [
        {"startPeriod": 0, "limit": 10}]}], "salesTariff": {}}, "body.profile.salesTariff", "extra_forbidden"),
    ({"chargingProfileKind": "Absolute", "validFrom": "2026-01-01T00:00:00", "chargingSchedule": [
        {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}]}]},
     "body.profile.validFrom", "timezone_aware"),
])
async def test_a_request_that_does_not_fit_the_schema_is_422_with_its_path(site: ApiSite, profile, path, kind):
    await site.add_station("CP1")
    token = await site.token("fleet", FLEET)
    async with site.client(token) as http:
        answer = await http.post(f"{API}/stations/CP1/profiles",
                                 json={"evse_id": 1, "band": "default", "profile": profile})
    assert answer.status_code == 422
    findings = answer.json()["error"]["findings"]
    assert any(f["path"] == path and f["type"] == kind and f["rule_id"] == "WC-API-SCHEMA" for f in findings), findings


async def test_an_evse_the_station_does_not_have_is_422_at_evse_id(site: ApiSite):
    await site.add_station("CP1")
    token = await site.token("fleet", FLEET)
    async with site.client(token) as http:
        answer = await http.post(f"{API}/stations/CP1/profiles",
                                 json={"evse_id": 7, "band": "default", "profile": tx_default()})
    assert answer.status_code == 422
    assert any(f["path"] == "body.evse_id" for f in answer.json()["error"]["findings"]), answer.text


async def test_a_full_band_is_a_409_conflict(site: ApiSite):
    await site.add_station("CP1")
    token = await site.token("fleet", FLEET)
    async with site.client(token) as http:
        # An offline station: each profile is stored (no answer) and holds a level of the band's two.
        for _ in range(2):
            created = await http.post(f"{API}/stations/CP1/profiles",
                                      json={"evse_id": 1, "band": "default", "profile": tx_default()})
            assert created.status_code == 201 and created.json()["verdict"] == "no_answer"
        full = await http.post(f"{API}/stations/CP1/profiles",
                               json={"evse_id": 1, "band": "default", "profile": tx_default()})
        preview = await http.post(f"{API}/stations/CP1/profiles/dry-run",
                                  json={"evse_id": 1, "band": "default", "profile": tx_default()})
    assert full.status_code == 409 and "no free stack level" in full.json()["error"]["message"]
    assert not preview.json()["allowed"] and "no free stack level" in preview.json()["refusal"]


async def test_a_dry_run_of_an_update_previews_the_new_content_under_the_same_id(site: ApiSite):
    async with site.simulated([station("SIM-PRE", V201)], charging=False):
        token = await site.token("fleet", FLEET)
        start = now() + timedelta(seconds=5)
        async with site.client(token) as http:
            created = (await http.post(f"{API}/stations/SIM-PRE/profiles",
                                       json={"evse_id": 1, "band": "default", "profile": tx_default(10.0)})).json()
            preview = (await http.post(f"{API}/stations/SIM-PRE/profiles/dry-run", json={
                "profile_id": created["profile_id"], "profile": tx_default(8.0),
                "start": start.isoformat().replace("+00:00", "Z"),
            })).json()
            both = await http.post(f"{API}/stations/SIM-PRE/profiles/dry-run", json={
                "profile_id": created["profile_id"], "band": "default", "profile": tx_default(8.0)})
    assert preview["allowed"] and preview["profile_id"] == created["profile_id"]
    [evse] = preview["composites"]
    assert periods(evse["before"])[0][1] == 10.0 and periods(evse["after"])[0][1] == 8.0
    assert both.status_code == 422


async def test_a_remote_start_carries_its_tx_profile(site: ApiSite):
    await site.add_station("CP1")
    token = await site.token("fleet", FLEET)
    async with site.client(token) as http:
        absolute = await http.post(f"{API}/stations/CP1/evses/1/remote-start",
                                   json={"id_token": "BUS-12", "profile": {**tx_profile(None),
                                                                           "chargingProfileKind": "Absolute"}})
        offline = await http.post(f"{API}/stations/CP1/evses/1/remote-start",
                                  json={"id_token": "BUS-12", "profile": tx_profile(None)})
    assert absolute.status_code == 422  # TC_059_CSMS: a remote start's profile is Relative
    assert offline.status_code == 200 and offline.json()["verdict"] == "no_answer"
    assert offline.json()["profile"]["band"] == "session"
