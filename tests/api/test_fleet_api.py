"""The fleet service over a real server (``attach_fleet``, as ``wattcap serve --rules`` does): the rules routes
(read, replace refused whole with lines, GOV-RULES, dry run), the rule a running session gets and the TxProfile
that carries it where no site cap does, and the ISO 15118 answers (K15).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from wattcap.core.model import OcppVersion

from .site import API, ApiSite, api_site, eventually, grant, station

V201 = OcppVersion.V201

RULES = """\
timezone: Europe/Berlin
vehicles:
  - id: van-07
    type: delivery-van
    battery_kwh: 75
    id_tokens: [TAG-VAN-1-1]
rules:
  - name: vans-by-six
    match: {vehicle_type: delivery-van}
    goal: {energy_kwh: 40, by: "06:00", strategy: cheapest}
    priority: high
  - name: visitors
    match: {id_token_group: visitors}
    max_power_kw: 11
  - name: premium
    match: {id_token_group: premium}
    max_power_kw: 22
    weight: 2
"""

OPERATOR = grant(stations=["*"], sites=["*"], bands=["session", "default"])


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[ApiSite]:
    async with api_site(f"sqlite+aiosqlite:///{tmp_path / 'wattcap.db'}", fleet_rules=RULES) as running:
        yield running


async def test_the_rules_in_force_are_listed_in_the_order_they_are_tried(fleet: ApiSite):
    token = await fleet.token("ops", OPERATOR)
    async with fleet.client(token) as http:
        answer = await http.get(f"{API}/fleet/rules")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(r["name"], r["line"]) for r in body["rules"]] == [("vans-by-six", 8), ("visitors", 12), ("premium", 15)]
    assert body["timezone"] == "Europe/Berlin" and body["vehicles"] == 1 and body["text"] == RULES


async def test_a_rules_document_with_an_issue_is_refused_whole_with_its_line(fleet: ApiSite):
    token = await fleet.token("ops", OPERATOR)
    broken = RULES.replace("max_power_kw: 11", "max_power_kw: eleven").replace("weight: 2", "wieght: 2")
    async with fleet.client(token) as http:
        answer = await http.put(f"{API}/fleet/rules", content=broken, headers={"Content-Type": "application/yaml"})
        still = (await http.get(f"{API}/fleet/rules")).json()
    assert answer.status_code == 422, answer.text
    messages = [f["message"] for f in answer.json()["error"]["findings"]]
    assert len(messages) == 2
    assert messages[0].startswith("line 14,") and messages[1].startswith("line 18,")
    assert "weight" in messages[1]  # a did-you-mean for the misspelt key
    assert still["text"] == RULES  # nothing of the refused document took effect


async def test_rules_replaced_as_json_take_effect_and_are_audited(fleet: ApiSite):
    token = await fleet.token("ops", OPERATOR)
    document = {"rules": [{"name": "everyone", "max_power_kw": 7.4}]}
    async with fleet.client(token) as http:
        answer = await http.put(f"{API}/fleet/rules", json=document)
        listed = (await http.get(f"{API}/fleet/rules")).json()
    assert answer.status_code == 200, answer.text
    assert [r["name"] for r in listed["rules"]] == ["everyone"] and listed["text"] is None
    [entry] = [a for a in await fleet.repository.audit_entries() if a.action == "fleet.rules"]
    assert entry.actor == "api:ops"


async def test_GOV_RULES_a_client_over_some_stations_may_not_replace_the_rules(fleet: ApiSite):
    token = await fleet.token("bay", grant(stations=["CP-1"], bands=["session"]))
    async with fleet.client(token) as http:
        answer = await http.put(f"{API}/fleet/rules", json={"rules": []})
    assert answer.status_code == 403
    assert "GOV-RULES" in answer.text


async def test_the_dry_run_says_which_rule_applies_and_why_the_others_do_not(fleet: ApiSite):
    token = await fleet.token("ops", OPERATOR)
    await fleet.repository.add_id_token("TAG-P", group_id="premium")
    facts = {"station_id": "CP-1", "evse_id": 1, "id_token": "TAG-P", "id_token_group": "premium"}
    async with fleet.client(token) as http:
        answer = await http.post(f"{API}/fleet/rules/dry-run", json={"facts": facts})
        draft = await http.post(f"{API}/fleet/rules/dry-run", json={
            "facts": facts, "rules": "rules:\n  - name: all\n    max_power_kw: 3.7\n"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["policy"]["rule"] == "premium" and body["policy"]["weight"] == 2.0
    assert body["policy"]["max_power_w"] == 22_000.0
    applied = [t["rule"] for t in body["trace"] if t["applied"]]
    assert applied == ["premium"]
    visitors = next(t for t in body["trace"] if t["rule"] == "visitors")
    assert not visitors["matched"] and any("visitors" in c["reason"] for c in visitors["checks"])
    assert draft.json()["policy"]["rule"] == "all"


async def test_a_session_gets_its_rule_and_the_rules_ceiling_as_a_txprofile_where_no_site_cap_is(fleet: ApiSite):
    # VIS-1 is on no site: the fleet service writes the session's TxProfile itself (11 kW = 15.9 A on 3 x 230 V).
    await fleet.repository.add_id_token("TAG-VIS-1-1", group_id="visitors")
    token = await fleet.token("ops", OPERATOR)
    async with fleet.simulated([station("VIS-1", V201)]):

        async def profile_sent() -> Any:
            desired = await fleet.repository.list_desired_profiles("VIS-1")
            return next((d for d in desired if d.owner == "session" and d.status == "installed"), None)

        sent = await eventually(profile_sent)
        async with fleet.client(token) as http:
            sessions = (await http.get(f"{API}/fleet/sessions")).json()["sessions"]
    assert sent.purpose == "TxProfile" and sent.transaction_id is not None
    [schedule] = sent.wire["chargingSchedule"]
    assert schedule["chargingRateUnit"] == "A"
    assert [p["limit"] for p in schedule["chargingSchedulePeriod"]] == [15.9]
    [session] = sessions
    assert (session["station_id"], session["rule"], session["transaction_id"]) == (
        "VIS-1", "visitors", sent.transaction_id)
    audit = [a for a in await fleet.repository.audit_entries() if a.action == "fleet.rule"]
    assert audit and "visitors" in audit[0].reason


# ---- ISO 15118 (K15) -------------------------------------------------------------------------------------------

EV_GOAL_RULES = """\
rules:
  - name: ev-goal
    match: {id_token: "TAG-ISO-*"}
    goal: {energy: ev, energy_kwh: 30, departure: ev, within: 8h, strategy: fastest}
"""


@pytest.fixture
async def iso_fleet(tmp_path: Path) -> AsyncIterator[ApiSite]:
    async with api_site(f"sqlite+aiosqlite:///{tmp_path / 'wattcap.db'}", fleet_rules=EV_GOAL_RULES) as running:
        yield running


async def installed_session_profile(site: ApiSite, station_id: str) -> Any:
    async def check() -> Any:
        desired = await site.repository.list_desired_profiles(station_id)
        return next((d for d in desired if d.owner == "session" and d.status == "installed"), None)

    return await eventually(check)


async def test_K15_FR_07_the_evs_needs_are_answered_with_a_planned_txprofile_for_its_transaction(iso_fleet: ApiSite):
    from datetime import UTC, datetime, timedelta

    from wattcap.core.events import EVChargingNeedsNotified

    async with iso_fleet.simulated([station("ISO-1", V201)], departure_s=4 * 3600):
        sent = await installed_session_profile(iso_fleet, "ISO-1")
        fleet = iso_fleet.plane.fleet  # type: ignore[attr-defined]
        [session] = fleet.sessions.values()
        # K15.FR.03 / FR.05: Accepted for a running session; Processing where no transaction runs yet.
        now = datetime.now(UTC)
        assert fleet.charging_needs(EVChargingNeedsNotified("ISO-1", now, 1, "AC_three_phase")) == "Accepted"
        assert fleet.charging_needs(EVChargingNeedsNotified("ISO-1", now, 2, "AC_three_phase")) == "Processing"
    assert session.needs is not None and session.needs.departure_time is not None
    # The plan reaches the charger as a TxProfile for the transaction, valid until the EV's departure.
    assert sent.purpose == "TxProfile" and sent.transaction_id == session.transaction_id
    assert sent.wire["chargingProfileKind"] == "Absolute"
    valid_to = datetime.fromisoformat(sent.wire["validTo"].replace("Z", "+00:00"))
    assert abs(valid_to - session.needs.departure_time) <= timedelta(seconds=1)
    # The goal is the energy the EV asked for (its 300 kWh battery from 20 %): more than 4 h can deliver, so the
    # plan is the best achievable (full power throughout) and reports the shortfall.
    assert session.policy.goal.energy_wh == session.needs.energy_amount_wh == 240_000
    plan = session.plan
    assert plan is not None and not plan.feasible and plan.shortfall_wh > 100_000
    assert sent.wire["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] == 32.0


async def test_K15_FR_11_K15_FR_12_the_evs_schedule_is_accepted_within_its_limits_and_rejected_above(
    iso_fleet: ApiSite,
):
    from datetime import UTC, datetime

    from wattcap.core.events import EVChargingScheduleNotified
    from wattcap.core.model import ChargingRateUnit, ChargingSchedule, ChargingSchedulePeriod

    async with iso_fleet.simulated([station("ISO-1", V201)], departure_s=4 * 3600):
        sent = await installed_session_profile(iso_fleet, "ISO-1")
        fleet = iso_fleet.plane.fleet  # type: ignore[attr-defined]
        limit = sent.wire["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"]
        now = datetime.now(UTC)

        def ev_schedule(amps: float) -> EVChargingScheduleNotified:
            schedule = ChargingSchedule(ChargingRateUnit.A, (ChargingSchedulePeriod(0, limit=amps, number_phases=3),),
                                        id=1, duration=600)
            return EVChargingScheduleNotified("ISO-1", now, 1, time_base=now, schedule=schedule)

        within = await fleet.charging_schedule(ev_schedule(limit))
        above = await fleet.charging_schedule(ev_schedule(limit + 5.0))
        [session] = fleet.sessions.values()
    assert (within, above) == ("Accepted", "Rejected")
    assert any("EV schedule rejected" in note for note in session.notes)


@pytest.mark.parametrize(("ev", "answer"), [("truck", "Accepted"), ("eager", "Rejected")])
async def test_K15_FR_10_to_FR_12_a_simulated_evs_own_schedule_is_judged_when_the_station_forwards_it(
    iso_fleet: ApiSite, ev: str, answer: str,
):
    # The station forwards the EV's profile after each TxProfile (NotifyEVChargingSchedule): a compliant EV plans
    # within the composite, an eager one plans its 32 A maximum over a lower limit and is rejected (K15.FR.12),
    # which wattcap notes and answers with a renegotiation (K15.FR.13: the plan is made again at once).
    await iso_fleet.repository.add_id_token("TAG-ISO-1-1")
    rules = EV_GOAL_RULES.replace("strategy: fastest}", "strategy: fastest}\n    max_power_kw: 7")
    token = await iso_fleet.token("ops", OPERATOR)
    async with iso_fleet.client(token) as http:
        assert (await http.put(f"{API}/fleet/rules", content=rules,
                               headers={"Content-Type": "application/yaml"})).status_code == 200
    async with iso_fleet.simulated([station("ISO-1", V201)], ev=ev, departure_s=4 * 3600):
        fleet = iso_fleet.plane.fleet  # type: ignore[attr-defined]

        async def judged() -> Any:
            # A schedule the EV made from a TxProfile replaced meanwhile may be judged once against the newer one;
            # the renegotiation that follows settles it, so the verdict that counts is the one it settles on.
            sessions = list(fleet.sessions.values())
            return sessions[0] if sessions and sessions[0].ev_schedule_status == answer else None

        session = await eventually(judged)
    assert session.ev_schedule_status == answer
    if answer == "Rejected":
        assert any("EV schedule rejected" in n for n in session.notes)
