"""Grants over HTTP: /me and /governance, and every purpose/band combination enforced (403 naming the rule,
nothing applied), scope, maximum limits and read-only clients."""

from __future__ import annotations

from typing import Any

import pytest

from wattcap.core.lifecycle import DEFAULT_BANDS

from .site import API, ApiSite, grant, tx_default

BANDS = [b.name for b in DEFAULT_BANDS]


def profile_for(band: str, limit: float = 10.0) -> dict[str, Any]:
    """A profile of the band's purpose (purpose left to the band)."""
    body = tx_default(limit)
    del body["chargingProfilePurpose"]
    if DEFAULT_BANDS[band].purpose.value == "TxProfile":
        body["transactionId"] = "tx-1"
    return body


async def test_me_shows_the_clients_own_grant(site: ApiSite):
    token = await site.token("fleet", grant(stations=["CP1", "CP2"], bands=["session"], max_a=32))
    async with site.client(token) as http:
        me = (await http.get(f"{API}/me")).json()
    assert me["client"] == "fleet" and me["actor"] == "api:fleet"
    assert me["grant"] == {"sites": [], "stations": ["CP1", "CP2"], "evses": [], "purposes": ["TxProfile"],
                           "bands": ["session"], "max_a": 32.0, "max_w": None, "signals": [], "read_only": False}


async def test_governance_lists_bands_precedence_rules_and_the_clients_with_their_grants(site: ApiSite):
    operator = await site.token("ops", grant(stations=["*"], bands=["operator-cap", "operator-session"]))
    fleet = await site.token("fleet", grant(stations=["CP1"], bands=["session"]))
    await site.token("grid", grant(sites=["depot"], signals=["site_limit"]))
    async with site.client(operator) as http:
        seen = (await http.get(f"{API}/governance")).json()
    async with site.client(fleet) as http:
        scoped = (await http.get(f"{API}/governance")).json()
    assert [(b["name"], b["purpose"], b["stack_level_low"], b["stack_level_high"], b["owner"]) for b in seen["bands"]] \
        == [(b.name, b.purpose.value, b.low, b.high, b.owner) for b in DEFAULT_BANDS]
    assert {p["purpose"]: p["bands"] for p in seen["precedence"]} == {
        "ChargingStationMaxProfile": ["operator-cap", "site-cap"],
        "TxDefaultProfile": ["operator-default", "default"],
        "TxProfile": ["operator-session", "session"],
    }
    assert [r["id"] for r in seen["rules"]] == ["GOV-READONLY", "GOV-SCOPE", "GOV-PURPOSE", "GOV-BAND",
                                                 "GOV-MAX-LIMIT", "GOV-SIGNAL", "GOV-RULES"]
    clients = {c["name"]: c for c in seen["clients"]}
    assert set(clients) == {"ops", "fleet", "grid"} and seen["clients_hidden"] == 0
    assert clients["grid"]["grant"]["signals"] == ["site_limit"] and clients["grid"]["active_tokens"] == 1
    # A client not scoped to every station sees itself only.
    assert [c["name"] for c in scoped["clients"]] == ["fleet"] and scoped["clients_hidden"] == 2


@pytest.mark.parametrize("granted", BANDS)
async def test_each_band_is_writable_only_by_a_client_granted_that_band(site: ApiSite, granted: str):
    await site.add_station("CP1")
    token = await site.token(f"only-{granted}", grant(stations=["CP1"], bands=[granted]))
    async with site.client(token) as http:
        for band in BANDS:
            body = {"evse_id": 1, "band": band, "profile": profile_for(band)}
            preview = await http.post(f"{API}/stations/CP1/profiles/dry-run", json=body)
            change = await http.post(f"{API}/stations/CP1/profiles", json=body)
            if band == granted:
                assert preview.status_code == 200, preview.text
                assert preview.json()["band"] == band
                # Granted: the lifecycle takes it (an offline station gets it later) or its validator refuses it.
                assert change.status_code in (201, 422), change.text
                continue
            expected = ["GOV-BAND"]
            if DEFAULT_BANDS[band].purpose is not DEFAULT_BANDS[granted].purpose:
                expected = ["GOV-PURPOSE", "GOV-BAND"]
            for answer in (preview, change):
                assert answer.status_code == 403, (granted, band, answer.text)
                error = answer.json()["error"]
                assert [r["rule"] for r in error["refusals"]] == expected
                assert error["rule"] == expected[0] and error["code"] == "forbidden"
                assert band in error["message"]
    # Only the granted band's profile may have reached the store.
    assert {d.owner for d in await site.repository.list_desired_profiles("CP1")} <= {granted}


async def test_a_refused_change_applies_nothing(site: ApiSite):
    await site.add_station("CP1")
    token = await site.token("fleet", grant(stations=["CP1"], bands=["session"]))
    async with site.client(token) as http:
        answer = await http.post(f"{API}/stations/CP1/profiles",
                                 json={"evse_id": 1, "band": "operator-default", "profile": profile_for("default")})
    assert answer.status_code == 403
    assert answer.json()["error"]["refusals"] == [
        {"rule": "GOV-PURPOSE", "message": "purpose TxDefaultProfile is not granted (granted: TxProfile)"},
        {"rule": "GOV-BAND", "message": "band operator-default (stack levels 2..2 of TxDefaultProfile) is not "
                                        "granted (granted: session)"},
    ]
    assert await site.repository.list_desired_profiles("CP1") == []
    assert await site.repository.list_operations("CP1") == []
    assert [e.action for e in await site.repository.audit_entries(targets_under=["CP1"])] == []


async def test_scope_refuses_other_stations_even_unknown_ones_and_hides_them(site: ApiSite):
    for station_id in ("CP1", "CP2"):
        await site.add_station(station_id)
    token = await site.token("fleet", grant(stations=["CP1"], bands=["session"]))
    async with site.client(token) as http:
        listed = [s["id"] for s in (await http.get(f"{API}/stations")).json()]
        other = await http.get(f"{API}/stations/CP2")
        unknown = await http.get(f"{API}/stations/NOPE")
        write = await http.post(f"{API}/stations/CP2/profiles",
                                json={"evse_id": 1, "band": "session", "profile": profile_for("session")})
    assert listed == ["CP1"]
    assert other.status_code == unknown.status_code == write.status_code == 403
    assert {other.json()["error"]["rule"], write.json()["error"]["rule"]} == {"GOV-SCOPE"}


async def test_an_evse_scoped_client_may_write_its_evse_only(site: ApiSite):
    await site.add_station("CP1")
    token = await site.token("bay-2", grant(evses=["CP1/2"], bands=["default"]))
    async with site.client(token) as http:
        mine = await http.post(f"{API}/stations/CP1/profiles/dry-run",
                               json={"evse_id": 2, "band": "default", "profile": profile_for("default")})
        neighbour = await http.post(f"{API}/stations/CP1/profiles/dry-run",
                                    json={"evse_id": 1, "band": "default", "profile": profile_for("default")})
        station_wide = await http.post(f"{API}/stations/CP1/profiles/dry-run",
                                       json={"evse_id": 0, "band": "default", "profile": profile_for("default")})
        seen = await http.get(f"{API}/stations/CP1")
    assert mine.status_code == 200 and seen.status_code == 200
    assert neighbour.status_code == station_wide.status_code == 403
    assert "EVSE CP1/1" in neighbour.json()["error"]["message"]


async def test_a_limit_above_the_clients_maximum_is_refused_in_either_unit(site: ApiSite):
    await site.add_station("CP1")
    token = await site.token("fleet", grant(stations=["CP1"], bands=["default"], max_a=16))
    async with site.client(token) as http:
        over = await http.post(f"{API}/stations/CP1/profiles",
                               json={"evse_id": 1, "band": "default", "profile": profile_for("default", 20)})
        in_watts = await http.post(f"{API}/stations/CP1/profiles/dry-run",
                                   json={"evse_id": 1, "band": "default", "profile": tx_default(11_500, unit="W")})
        within = await http.post(f"{API}/stations/CP1/profiles/dry-run",
                                 json={"evse_id": 1, "band": "default", "profile": tx_default(11_000, unit="W")})
    assert over.status_code == 403 and over.json()["error"]["rule"] == "GOV-MAX-LIMIT"
    assert "chargingSchedule[0].chargingSchedulePeriod[0].limit: 20 A" in over.json()["error"]["message"]
    assert in_watts.status_code == 403 and "16.7 A" in in_watts.json()["error"]["message"]
    assert within.status_code == 200
    assert await site.repository.list_desired_profiles("CP1") == []


async def test_a_read_only_client_reads_but_changes_nothing(site: ApiSite):
    await site.add_station("CP1")
    token = await site.token("dash", grant(stations=["*"], bands=["session", "default"], read_only=True))
    async with site.client(token) as http:
        assert (await http.get(f"{API}/stations/CP1/composite")).status_code == 200
        answers = [
            await http.post(f"{API}/stations/CP1/profiles",
                            json={"evse_id": 1, "band": "default", "profile": profile_for("default")}),
            await http.post(f"{API}/stations/CP1/verify"),
            await http.post(f"{API}/stations/CP1/reconcile"),
        ]
    for answer in answers:
        assert answer.status_code == 403 and answer.json()["error"]["rule"] == "GOV-READONLY", answer.text


async def test_an_unknown_band_is_a_422_naming_the_field(site: ApiSite):
    await site.add_station("CP1")
    token = await site.token("ops", grant(stations=["*"], bands=["operator-session"]))
    async with site.client(token) as http:
        answer = await http.post(f"{API}/stations/CP1/profiles/dry-run",
                                 json={"evse_id": 1, "band": "vip", "profile": profile_for("session")})
    assert answer.status_code == 422
    [finding] = answer.json()["error"]["findings"]
    assert (finding["path"], finding["rule_id"]) == ("body.band", "WC-API-BAND")


async def test_the_purpose_must_be_the_bands(site: ApiSite):
    await site.add_station("CP1")
    token = await site.token("ops", grant(stations=["*"], bands=["operator-session"]))
    async with site.client(token) as http:
        answer = await http.post(f"{API}/stations/CP1/profiles/dry-run",
                                 json={"evse_id": 1, "band": "operator-session", "profile": tx_default()})
    assert answer.status_code == 422
    [finding] = answer.json()["error"]["findings"]
    assert finding["path"] == "body.profile.chargingProfilePurpose" and "TxProfile" in finding["message"]
