"""Desired profiles with their history, and the log of profile operations sent to stations."""

from __future__ import annotations

import asyncio

import pytest

from wattcap.core.model import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    OcppVersion,
)
from wattcap.ocpp.profile_json import profile_from_json
from wattcap.store import (
    DesiredProfile,
    OperationOutcome,
    ProfileIdTakenError,
    Repository,
    UnknownStationError,
    create_engine,
    desired_from_profile,
)

from .conftest import Backend, FakeClock


def _profile(profile_id: int = 10, limit: float = 32.0) -> ChargingProfile:
    schedule = ChargingSchedule(ChargingRateUnit.A, (ChargingSchedulePeriod(0, limit),), id=1)
    return ChargingProfile(profile_id, 2, ChargingProfilePurpose.TX_DEFAULT, ChargingProfileKind.ABSOLUTE, (schedule,))


async def test_desired_profile_from_a_model_profile_keeps_its_wire_form(repo: Repository, station_id: str) -> None:
    await repo.add_station(station_id)
    profile = _profile()
    desired = desired_from_profile(station_id, 1, profile, OcppVersion.V201, "site-limit")
    stored = await repo.put_desired_profile(desired)
    assert (stored.profile_id, stored.purpose, stored.stack_level, stored.revision) == (10, "TxDefaultProfile", 2, 1)
    fetched = await repo.get_desired_profile(station_id, 10)
    assert fetched == stored
    assert profile_from_json(fetched.wire, fetched.ocpp_version) == profile


async def test_put_status_delete_and_history(repo: Repository, station_id: str, clock: FakeClock) -> None:
    await repo.add_station(station_id)
    created = clock.now
    first = await repo.put_desired_profile(desired_from_profile(station_id, 1, _profile(), "2.0.1", "site"))
    clock.advance(10)
    installed = await repo.set_desired_status(station_id, 10, "installed", reason="Accepted")
    clock.advance(10)
    second = await repo.put_desired_profile(
        desired_from_profile(station_id, 1, _profile(limit=16.0), "2.0.1", "site"), reason="tariff changed"
    )
    assert (first.revision, installed.revision, second.revision) == (1, 1, 2)  # status keeps the revision
    assert (second.created_at, second.updated_at, second.status) == (created, clock.now, "pending")

    clock.advance(10)
    assert await repo.delete_desired_profile(station_id, 10, reason="transaction ended")
    assert await repo.get_desired_profile(station_id, 10) is None
    assert not await repo.delete_desired_profile(station_id, 10)
    assert await repo.set_desired_status(station_id, 10, "installed") is None

    history = await repo.desired_profile_history(station_id, 10)
    assert [(h.change, h.revision, h.status, h.reason) for h in history] == [
        ("put", 1, "pending", None),
        ("status", 1, "installed", "Accepted"),
        ("put", 2, "pending", "tariff changed"),
        ("delete", 2, "pending", "transaction ended"),
    ]
    assert history[0].wire["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] == 32.0
    assert history[2].wire["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] == 16.0


async def test_list_desired_profiles_filters(repo: Repository, station_id: str) -> None:
    await repo.add_station(station_id)
    for profile_id, evse_id, owner in ((3, 2, "site"), (1, 1, "site"), (2, 1, "operator")):
        await repo.put_desired_profile(desired_from_profile(station_id, evse_id, _profile(profile_id), "1.6", owner))
    await repo.set_desired_status(station_id, 2, "installed")

    def ids(profiles: list[DesiredProfile]) -> list[int]:
        return [p.profile_id for p in profiles]

    assert ids(await repo.list_desired_profiles(station_id)) == [1, 2, 3]
    assert ids(await repo.list_desired_profiles(station_id, evse_id=1)) == [1, 2]
    assert ids(await repo.list_desired_profiles(station_id, owner="site")) == [1, 3]
    assert ids(await repo.list_desired_profiles(station_id, status="installed")) == [2]
    assert (await repo.get_desired_profile(station_id, 1)).wire["chargingProfileId"] == 1  # 1.6 wire form


async def test_desired_profiles_need_a_known_station(repo: Repository) -> None:
    with pytest.raises(UnknownStationError):
        await repo.put_desired_profile(desired_from_profile("no-such-station", 1, _profile(), "2.0.1", "site"))



async def test_two_nodes_creating_the_same_new_profile_id_at_once_keep_exactly_one(
    backend: Backend, station_id: str, clock: FakeClock
) -> None:
    """Two nodes (each its own engine, so truly concurrent transactions) that picked the same free id: one
    reserves it, the other is told it is taken and nothing of its unit is written, so it can pick again."""
    engines = [create_engine(backend.url), create_engine(backend.url)]
    try:
        first, second = (Repository(engine, clock=clock) for engine in engines)
        await first.add_station(station_id)
        wanted = {
            node: desired_from_profile(station_id, evse_id, _profile(30_000, limit), "2.0.1", f"node-{evse_id}")
            for node, evse_id, limit in ((first, 1, 10.0), (second, 2, 12.0))
        }
        outcomes = await asyncio.gather(
            *(
                node.write_together(
                    node.create_desired_profile_job(profile, reason="profile.set"),
                    node.append_audit_job(profile.owner, "profile.set", target=f"{station_id}/30000"),
                )
                for node, profile in wanted.items()
            ),
            return_exceptions=True,
        )
        taken = [o for o in outcomes if isinstance(o, ProfileIdTakenError)]
        kept = [o for o in outcomes if not isinstance(o, BaseException)]
        assert len(taken) == 1 and len(kept) == 1, outcomes
        assert (taken[0].station_id, taken[0].profile_id) == (station_id, 30_000)
        [(stored, _)] = kept
        assert (stored.profile_id, stored.revision) == (30_000, 1)
        assert await first.get_desired_profile(station_id, 30_000) == stored
        assert [h.change for h in await first.desired_profile_history(station_id, 30_000)] == ["put"]
        audit = await first.audit_entries(target=f"{station_id}/30000")
        assert [e.actor for e in audit] == [stored.owner]  # the refused unit left no audit entry behind
    finally:
        for engine in engines:
            await engine.dispose()


async def test_creating_a_profile_id_that_is_in_use_is_refused_and_changes_nothing(
    repo: Repository, station_id: str
) -> None:
    await repo.add_station(station_id)
    original = await repo.create_desired_profile(desired_from_profile(station_id, 1, _profile(7), "2.0.1", "site"))
    with pytest.raises(ProfileIdTakenError):
        await repo.create_desired_profile(desired_from_profile(station_id, 2, _profile(7, 16.0), "2.0.1", "site"))
    assert await repo.get_desired_profile(station_id, 7) == original
    assert [h.change for h in await repo.desired_profile_history(station_id, 7)] == ["put"]
    with pytest.raises(UnknownStationError):
        await repo.create_desired_profile(desired_from_profile("no-such-station", 1, _profile(), "2.0.1", "site"))


async def test_operations_log(repo: Repository, station_id: str, clock: FakeClock) -> None:
    await repo.add_station(station_id)
    request = {"evseId": 1, "chargingProfile": {"id": 10}}
    sent = clock.now
    set_id = await repo.start_operation(
        station_id, "SetChargingProfile", request, evse_id=1, profile_id=10, ocpp_version=OcppVersion.V201
    )
    clock.advance(2)
    await repo.finish_operation(set_id, OperationOutcome.REJECTED, response_status="Rejected", reason="InvalidSchedule")
    clear_id = await repo.start_operation(station_id, "ClearChargingProfile", {"chargingProfileId": 10}, profile_id=10)
    other_id = await repo.start_operation(station_id, "SetChargingProfile", {"evseId": 2}, evse_id=2, profile_id=11)

    operations = await repo.list_operations(station_id)
    assert [o.id for o in operations] == [set_id, clear_id, other_id]
    rejected = operations[0]
    assert (rejected.request, rejected.ocpp_version, rejected.sent_at, rejected.answered_at) == (
        request,
        "2.0.1",
        sent,
        clock.now,
    )
    assert (rejected.outcome, rejected.response_status, rejected.reason) == ("rejected", "Rejected", "InvalidSchedule")
    assert operations[1].outcome == OperationOutcome.PENDING and operations[1].answered_at is None  # never answered
    for_profile = await repo.list_operations(station_id, profile_id=10, newest_first=True)
    assert [o.id for o in for_profile] == [clear_id, set_id]
    assert [o.id for o in await repo.list_operations(station_id, limit=1, newest_first=True)] == [other_id]

    with pytest.raises(LookupError):
        await repo.finish_operation(other_id + 1000, OperationOutcome.ACCEPTED)
    with pytest.raises(ValueError):
        await repo.finish_operation(other_id, "maybe")
