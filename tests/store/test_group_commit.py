"""Group commit (wattcap.store.batch): concurrent writers share transactions without losing atomicity, isolation
from each other's failures, or durability (a write is committed before its caller goes on)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from wattcap.store import DesiredProfile, OperationOutcome, Repository, UnknownStationError, create_engine

from .conftest import Backend


def _desired(station_id: str, profile_id: int, limit: float = 16.0) -> DesiredProfile:
    wire = {"id": profile_id, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile", "limit": limit}
    return DesiredProfile(station_id, 1, profile_id, "TxDefaultProfile", 0, "default", "2.0.1", wire)


async def test_concurrent_writes_share_transactions_and_are_all_committed(repo: Repository, station_id: str) -> None:
    await repo.add_station(station_id)
    committer = repo.committer
    transactions, units = committer.transactions, committer.units
    ids = list(range(30_000, 30_040))
    await asyncio.gather(*(repo.put_desired_profile(_desired(station_id, i)) for i in ids))
    assert committer.units - units == len(ids)
    assert committer.transactions - transactions < len(ids)  # several units per transaction
    assert [d.profile_id for d in await repo.list_desired_profiles(station_id)] == ids
    for i in ids:
        assert [h.change for h in await repo.desired_profile_history(station_id, i)] == ["put"]


async def test_a_failing_unit_fails_alone(repo: Repository, station_id: str) -> None:
    await repo.add_station(station_id)
    results = await asyncio.gather(
        repo.put_desired_profile(_desired(station_id, 30_000)),
        repo.put_desired_profile(_desired("CP-never-registered", 30_001)),
        repo.append_audit("alice", "test.group-commit", target=station_id),
        return_exceptions=True,
    )
    assert isinstance(results[1], UnknownStationError)
    assert not isinstance(results[0], BaseException) and not isinstance(results[2], BaseException)
    assert [d.profile_id for d in await repo.list_desired_profiles(station_id)] == [30_000]
    assert len(await repo.audit_entries(target=station_id, action="test.group-commit")) == 1


async def test_write_together_is_atomic(repo: Repository, station_id: str) -> None:
    await repo.add_station(station_id)
    operation = await repo.start_operation(station_id, "SetChargingProfile", {"id": 30_000}, profile_id=30_000)
    with pytest.raises(LookupError):
        await repo.write_together(
            repo.put_desired_profile_job(_desired(station_id, 30_000)),
            repo.finish_operation_job(operation, OperationOutcome.ACCEPTED, response_status="Accepted"),
            repo.finish_operation_job(10**9, OperationOutcome.ACCEPTED),  # no such operation: all of it fails
        )
    assert await repo.list_desired_profiles(station_id) == []
    [pending] = await repo.list_operations(station_id)
    assert pending.outcome is OperationOutcome.PENDING
    stored, finished, audit_id = await repo.write_together(
        repo.put_desired_profile_job(_desired(station_id, 30_000)),
        repo.finish_operation_job(operation, OperationOutcome.ACCEPTED, response_status="Accepted"),
        repo.append_audit_job("alice", "profile.set", target=f"{station_id}/30000"),
    )
    assert (stored.profile_id, stored.revision, finished) == (30_000, 1, None) and audit_id > 0
    [done] = await repo.list_operations(station_id)
    assert (done.outcome, done.response_status) == (OperationOutcome.ACCEPTED, "Accepted")


async def test_what_was_written_is_there_for_a_new_engine(backend: Backend, station_id: str) -> None:
    """A write has returned only once committed: another engine (another process) sees it at once."""
    url = await backend.new_empty_url()
    async with await Repository.open(url) as first:
        await first.add_station(station_id)
        await asyncio.gather(*(first.put_desired_profile(_desired(station_id, 30_000 + i)) for i in range(10)))
        engine = create_engine(url)
        try:
            assert len(await Repository(engine).list_desired_profiles(station_id)) == 10
        finally:
            await engine.dispose()


async def test_station_snapshot_is_what_the_single_reads_return(repo: Repository, station_id: str) -> None:
    await repo.add_station(station_id)
    await repo.put_capabilities(station_id, {"SmartChargingCtrlr.Enabled": "true"})
    await repo.put_desired_profile(_desired(station_id, 30_000))
    snapshot = await repo.station_snapshot(station_id)
    assert snapshot is not None
    assert snapshot.station == await repo.get_station(station_id)
    assert snapshot.capabilities == await repo.get_capabilities(station_id)
    assert list(snapshot.desired) == await repo.list_desired_profiles(station_id)
    assert list(snapshot.transactions) == await repo.active_transactions(station_id)
    assert await repo.station_snapshot("CP-never-registered") is None


async def test_sqlite_reads_do_not_wait_for_a_writer(sqlite_backend: Backend, station_id: str) -> None:
    """Reads begin deferred: a write transaction held open (the write lock taken) does not hold them up."""
    engine = create_engine(sqlite_backend.url)
    try:
        repo = Repository(engine)
        await repo.add_station(station_id)
        async with engine.begin() as writer:  # BEGIN IMMEDIATE: holds SQLite's write lock until the block ends
            await writer.execute(sa.text("SELECT 1"))
            station = await asyncio.wait_for(repo.get_station(station_id), timeout=2.0)
            snapshot = await asyncio.wait_for(repo.station_snapshot(station_id), timeout=2.0)
        assert station is not None and snapshot is not None and snapshot.station == station
    finally:
        await engine.dispose()


async def test_sqlite_file_writes_run_in_one_writer_thread_in_one_hand_over_per_transaction(
    sqlite_backend: Backend, station_id: str
) -> None:
    """On a SQLite file the committer's transactions run on a synchronous connection in a thread of their own:
    a write never hands each statement to aiosqlite's thread and back (about fifty hand-overs per profile write)."""
    import threading

    engine = create_engine(sqlite_backend.url)
    try:
        repo = Repository(engine)
        threads: set[str] = set()
        sa.event.listen(repo.committer.write_engine, "before_cursor_execute",
                        lambda *_: threads.add(threading.current_thread().name))
        await repo.add_station(station_id)
        await asyncio.gather(*(repo.put_desired_profile(_desired(station_id, i)) for i in range(30_000, 30_010)))
        assert threads == {next(iter(threads))} and next(iter(threads)).startswith("wattcap-sqlite-writer")
        assert repo.committer.write_engine is not engine.sync_engine
        # What the writer committed is what the async engine's readers see.
        assert [d.profile_id for d in await repo.list_desired_profiles(station_id)] == list(range(30_000, 30_010))
    finally:
        await engine.dispose()


async def test_a_store_job_that_waits_on_anything_but_its_connection_fails_clearly(
    sqlite_backend: Backend, station_id: str
) -> None:
    engine = create_engine(sqlite_backend.url)
    try:
        repo = Repository(engine)

        async def sleeps(connection: object) -> None:
            await asyncio.sleep(0)

        with pytest.raises(RuntimeError, match="awaited something other than its connection"):
            await repo.write_together(sleeps)
    finally:
        await engine.dispose()


async def test_postgresql_writes_run_on_the_async_engine(postgresql_backend: Backend) -> None:
    engine = create_engine(postgresql_backend.url)
    try:
        assert Repository(engine).committer.write_engine is engine.sync_engine
    finally:
        await engine.dispose()
