"""What the store acknowledged survives a restart, and concurrent writers do not lose or corrupt updates."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from wattcap.core import events as ev
from wattcap.store import CapabilityStatus, DesiredProfile, Evse, OperationOutcome, Repository, create_engine
from wattcap.store.schema import stations

from .conftest import Backend, FakeClock


def _desired(station_id: str, limit: float) -> DesiredProfile:
    wire = {"id": 5, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile", "limit": limit}
    return DesiredProfile(station_id, 1, 5, "TxDefaultProfile", 1, "site", "2.0.1", wire)


async def test_everything_acknowledged_is_there_after_a_restart(
    backend: Backend, station_id: str, clock: FakeClock
) -> None:
    url = await backend.new_empty_url()
    t0 = clock.now
    async with await Repository.open(url, clock=clock) as before:
        await before.add_station(station_id, "a-station-password", security_profile=2)
        await before.record(ev.StationBooted(station_id, t0, "Acme", "X1", "SN-7", "2.4.1", "PowerUp"))
        await before.put_evse(Evse(station_id, 1, (1,), "AC", 3, 32.0, 22_000.0))
        await before.put_capabilities(station_id, {"SmartChargingCtrlr.Enabled": "true"}, CapabilityStatus.ANSWERED, t0)
        await before.record(ev.TransactionStarted(station_id, t0, 1, "TX-1", "TAG", 10.0, sequence=0))
        power = ev.Measurand.POWER_ACTIVE_IMPORT
        samples = tuple(ev.MeterSample(t0 + timedelta(seconds=i), power, i, "W") for i in range(5))
        await before.record(ev.MeterValuesReceived(station_id, t0, 1, "TX-1", samples, sequence=1))
        desired = await before.put_desired_profile(_desired(station_id, 16.0))
        operation = await before.start_operation(station_id, "SetChargingProfile", desired.wire, profile_id=5)
        await before.finish_operation(operation, OperationOutcome.ACCEPTED, response_status="Accepted")
        await before.record_verification(station_id, 1, "applied", expected={"limit": 16.0})
        await before.append_audit("alice", "set-limit", target=station_id, after={"limit": 16.0})
        station = await before.get_station(station_id)
        state = await _snapshot(before, station_id, t0)

    engine = create_engine(url)  # a new process would start with a new engine on the same database
    try:
        after = Repository(engine, clock=clock)
        assert await after.get_station(station_id) == station
        assert await after.verify_password(station_id, "a-station-password")
        assert await _snapshot(after, station_id, t0) == state
        assert state["transaction"].transaction_id == "TX-1" and len(state["samples"]) == 5
    finally:
        await engine.dispose()


async def _snapshot(repository: Repository, station_id: str, t0) -> dict:
    return {
        "evses": await repository.list_evses(station_id),
        "capabilities": await repository.get_capabilities(station_id),
        "transaction": await repository.get_transaction(station_id, "TX-1"),
        "samples": await repository.meter_samples(station_id, t0, t0 + timedelta(minutes=1)),
        "desired": await repository.list_desired_profiles(station_id),
        "history": await repository.desired_profile_history(station_id, 5),
        "operations": await repository.list_operations(station_id),
        "verifications": await repository.verification_results(station_id),
        "audit": await repository.audit_entries(target=station_id),
        "journal": await repository.journal(station_id),
    }


async def test_transaction_ids_never_repeat_across_restarts_and_concurrent_callers(backend: Backend) -> None:
    url = await backend.new_empty_url()
    async with await Repository.open(url) as first:
        assert [await first.next_transaction_id() for _ in range(3)] == [1, 2, 3]
    async with await Repository.open(url) as second:
        concurrent = await asyncio.gather(*(second.next_transaction_id() for _ in range(10)))
        assert sorted(concurrent) == list(range(4, 14))
        assert await second.next_transaction_id("other-counter", first=100) == 100


async def test_concurrent_updates_of_one_profile_are_not_lost(repo: Repository, station_id: str) -> None:
    await repo.add_station(station_id)
    await asyncio.gather(*(repo.put_desired_profile(_desired(station_id, float(n))) for n in range(8)))
    assert (await repo.get_desired_profile(station_id, 5)).revision == 8
    assert sorted(h.revision for h in await repo.desired_profile_history(station_id, 5)) == list(range(1, 9))


async def test_concurrent_event_streams_are_all_recorded(repo: Repository, station_id: str, clock: FakeClock) -> None:
    t0 = clock.now

    def message(n: int) -> ev.MeterValuesReceived:
        sample = ev.MeterSample(t0 + timedelta(seconds=n), ev.Measurand.POWER_ACTIVE_IMPORT, float(n), "W")
        return ev.MeterValuesReceived(station_id, t0, n % 3, None, (sample,))

    await asyncio.gather(*(repo.record(message(n)) for n in range(24)))
    stored = await repo.meter_samples(station_id, t0, t0 + timedelta(minutes=1))
    assert sorted(s.value for s in stored) == [float(n) for n in range(24)]


async def test_a_failed_transaction_leaves_nothing_behind(repo: Repository, station_id: str) -> None:
    """Writes of one call are all-or-nothing (SQLite included, where the driver's autocommit is bypassed)."""
    try:
        async with repo.engine.begin() as connection:
            await connection.execute(sa.insert(stations).values(id=station_id, created_at=datetime.now(UTC)))
            raise RuntimeError("crash half-way")
    except RuntimeError:
        pass
    assert await repo.get_station(station_id) is None
