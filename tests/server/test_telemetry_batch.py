"""MeterValues and Heartbeats written in batches (:mod:`wattcap.server.telemetry_batch`): the same rows as one by
one, committed before the handler goes on, a failed batch retried event by event. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest

from wattcap.core.events import HeartbeatReceived, MeterSample, MeterValuesReceived, TransactionStarted
from wattcap.server.backend_store import StoreBackend
from wattcap.server.telemetry_batch import TelemetryBatcher
from wattcap.store import Repository

T0 = datetime(2026, 11, 25, 10, tzinfo=UTC)


@pytest.fixture
async def repository(database_url: str):
    async with await Repository.open(database_url) as repository:
        for n in range(20):
            await repository.add_station(f"CP{n:02d}")
        yield repository


def meter(station: str, at: datetime, energy: float, evse: int = 1) -> MeterValuesReceived:
    samples = (
        MeterSample(at, "Energy.Active.Import.Register", energy, "Wh"),
        MeterSample(at, "Current.Import", 16.0, "A", phase="L1"),
        MeterSample(at, "Current.Import", 16.0, "A", phase="L1"),  # a duplicate within the message: first wins
    )
    return MeterValuesReceived(station, at, evse, "tx-1", samples)


async def stored(repository: Repository, station: str) -> list[tuple[datetime, str, float]]:
    rows = await repository.meter_samples(station, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    return [(r.measured_at, str(r.measurand), r.value) for r in rows]


async def test_concurrent_stations_share_a_batch_and_every_sample_is_stored(repository):
    backend = StoreBackend(repository)
    events = [meter(f"CP{n:02d}", T0 + timedelta(seconds=s), 100.0 * s) for n in range(20) for s in range(5)]
    await asyncio.gather(*(backend.record(e) for e in events))
    assert backend.telemetry is not None
    assert backend.telemetry.events == 100 and backend.telemetry.batches < 100
    for n in range(20):
        samples = await stored(repository, f"CP{n:02d}")
        assert len(samples) == 10  # 2 distinct samples x 5 messages
        assert [v for _, m, v in samples if m == "Energy.Active.Import.Register"] == [0, 100, 200, 300, 400]


async def test_same_rows_as_recording_one_by_one(repository):
    await StoreBackend(repository).record(meter("CP01", T0, 5.0))
    batched = await stored(repository, "CP01")
    await repository.record(meter("CP02", T0, 5.0))
    assert batched == await stored(repository, "CP02")


async def test_a_key_twice_in_one_batch_keeps_the_first_row(repository):
    """Within one batch (one statement on PostgreSQL) as across batches: the first row of a key is stored."""
    batcher = TelemetryBatcher(repository, max_in_flight=1)
    first = meter("CP04", T0, 1.0)
    again = meter("CP04", T0, 2.0)  # same keys, another value
    in_another_zone = T0.astimezone(timezone(timedelta(hours=2)))  # the same instant: the same key
    elsewhere = MeterValuesReceived(
        "CP04", T0, 1, "tx-1", (MeterSample(in_another_zone, "Energy.Active.Import.Register", 3.0, "Wh"),)
    )
    # The first event is written alone; the other two queue meanwhile and share the second batch.
    await asyncio.gather(
        batcher.record(HeartbeatReceived("CP04", T0)),
        batcher.record(first),
        batcher.record(again),
        batcher.record(elsewhere),
    )
    assert batcher.batches == 2
    assert sorted(await stored(repository, "CP04")) == [
        (T0, "Current.Import", 16.0),
        (T0, "Energy.Active.Import.Register", 1.0),
    ]


async def test_replays_change_nothing_and_last_seen_only_grows(repository):
    clock = iter([T0 + timedelta(minutes=5), T0, T0 + timedelta(minutes=6)])
    batcher = TelemetryBatcher(repository, clock=lambda: next(clock))
    await batcher.record(meter("CP03", T0, 1.0))
    await batcher.record(meter("CP03", T0, 1.0))  # replayed, stamped earlier
    assert len(await stored(repository, "CP03")) == 2
    station = await repository.get_station("CP03")
    assert station is not None and station.last_seen_at == T0 + timedelta(minutes=5)
    await batcher.record(HeartbeatReceived("CP03", T0))
    station = await repository.get_station("CP03")
    assert station is not None and station.last_seen_at == T0 + timedelta(minutes=6)


async def test_an_unknown_station_gets_a_pending_row(repository):
    await StoreBackend(repository).record(HeartbeatReceived("NEW-1", T0))
    station = await repository.get_station("NEW-1")
    assert station is not None and str(station.state) in ("pending", "StationState.PENDING")


async def test_a_failed_batch_is_recorded_event_by_event(repository, monkeypatch):
    batcher = TelemetryBatcher(repository)

    async def broken(events):
        raise RuntimeError("batch failed")

    monkeypatch.setattr(batcher, "_write", broken)
    await asyncio.gather(*(batcher.record(meter(f"CP{n:02d}", T0, 1.0)) for n in range(4, 8)))
    for n in range(4, 8):
        assert len(await stored(repository, f"CP{n:02d}")) == 2
    assert batcher.batches == 0


async def test_the_caller_waits_for_the_commit(repository, monkeypatch):
    batcher = TelemetryBatcher(repository)
    release = asyncio.Event()
    original = batcher._write

    async def slow(events):
        await release.wait()
        await original(events)

    monkeypatch.setattr(batcher, "_write", slow)
    task = asyncio.create_task(batcher.record(meter("CP09", T0, 1.0)))
    await asyncio.sleep(0.05)
    assert not task.done()  # not answered before it is durable
    release.set()
    await asyncio.wait_for(task, 10)
    assert len(await stored(repository, "CP09")) == 2


async def test_other_events_go_to_the_repository_one_by_one(repository):
    backend = StoreBackend(repository)
    started = TransactionStarted("CP10", T0, evse_id=1, transaction_id="tx-9", id_token="TAG", meter_start_wh=0.0)
    await backend.record(started)
    assert backend.telemetry is not None and backend.telemetry.events == 0
    assert await backend.transaction_evse("CP10", "tx-9") == 1


async def test_batching_can_be_turned_off(repository):
    backend = StoreBackend(repository, batch_telemetry=False)
    assert backend.telemetry is None
    await backend.record(meter("CP11", T0, 1.0))
    assert len(await stored(repository, "CP11")) == 2
