"""Recording station events: idempotent under replays, monotonic under reordering, queryable afterwards."""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from wattcap.core import events as ev
from wattcap.core.model import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
)
from wattcap.store import Repository
from wattcap.store.schema import meter_samples, transactions

from .conftest import FakeClock

P = ev.Measurand.POWER_ACTIVE_IMPORT
I = ev.Measurand.CURRENT_IMPORT  # noqa: E741
SCHEDULE = ChargingSchedule(ChargingRateUnit.A, (ChargingSchedulePeriod(0, 16.0),), id=1)


async def _count(repo: Repository, table: sa.Table, station_id: str) -> int:
    async with repo.engine.connect() as connection:
        query = sa.select(sa.func.count()).select_from(table).where(table.c.station_id == station_id)
        return int(await connection.scalar(query))


# --- transactions -------------------------------------------------------------------------------------------


async def test_replayed_transaction_events_neither_duplicate_nor_regress(
    repo: Repository, station_id: str, clock: FakeClock
) -> None:
    t0 = clock.now
    started = ev.TransactionStarted(station_id, t0, 1, "TX-1", "TAG", 1000.0, sequence=0)
    ended = ev.TransactionEnded(station_id, t0 + timedelta(hours=2), 1, "TX-1", 21_000.0, "EVDisconnected", 7)
    for event in (started, started, ended, started, ended):
        await repo.record(event)
    # A corrupt late replay with other values must not overwrite what was acknowledged first.
    await repo.record(ev.TransactionEnded(station_id, t0 + timedelta(hours=3), 1, "TX-1", 99.0, "Other", 3))
    record = await repo.get_transaction(station_id, "TX-1")
    assert await _count(repo, transactions, station_id) == 1
    assert (record.started_at, record.stopped_at) == (t0, t0 + timedelta(hours=2))
    assert (record.meter_start_wh, record.meter_stop_wh, record.stop_reason) == (1000.0, 21_000.0, "EVDisconnected")
    assert (record.id_token, record.last_sequence, record.is_active) == ("TAG", 7, False)


async def test_an_end_that_arrives_before_its_start_is_merged(
    repo: Repository, station_id: str, clock: FakeClock
) -> None:
    t0 = clock.now
    await repo.record(ev.TransactionEnded(station_id, t0 + timedelta(minutes=30), 2, "TX-2", 5000.0, "Local", 4))
    await repo.record(ev.TransactionStarted(station_id, t0, 2, "TX-2", None, 100.0, sequence=0))
    await repo.record(ev.TransactionStarted(station_id, t0, 2, "TX-2", "LATE-TAG", 100.0, sequence=1))
    record = await repo.get_transaction(station_id, "TX-2")
    assert (record.started_at, record.stopped_at, record.meter_start_wh, record.meter_stop_wh) == (
        t0,
        t0 + timedelta(minutes=30),
        100.0,
        5000.0,
    )
    assert (record.id_token, record.last_sequence) == ("LATE-TAG", 4)  # a missing token is filled in later
    assert await repo.active_transactions(station_id) == []


async def test_active_transactions(repo: Repository, station_id: str, clock: FakeClock) -> None:
    await repo.record(ev.TransactionStarted(station_id, clock.now, 1, "A"))
    await repo.record(ev.TransactionStarted(station_id, clock.now, 2, "B"))
    await repo.record(ev.TransactionEnded(station_id, clock.now + timedelta(minutes=1), 1, "A"))
    assert [t.transaction_id for t in await repo.active_transactions(station_id)] == ["B"]
    assert "B" in [t.transaction_id for t in await repo.active_transactions()]


# --- meter values -------------------------------------------------------------------------------------------


def _meter(station_id: str, at: datetime, samples: list[ev.MeterSample], tx: str = "TX") -> ev.MeterValuesReceived:
    return ev.MeterValuesReceived(station_id, at, 1, tx, tuple(samples))


async def test_replayed_meter_values_are_stored_once(repo: Repository, station_id: str, clock: FakeClock) -> None:
    t0 = clock.now
    first = [ev.MeterSample(t0 + timedelta(seconds=10 * i), P, 7000.0 + i, "W") for i in range(3)]
    await repo.record(_meter(station_id, t0, first))
    await repo.record(_meter(station_id, t0, first))  # the station's queue replays the message
    overlapping = [*first[1:], ev.MeterSample(t0 + timedelta(seconds=30), P, 7003.0, "W")]
    await repo.record(_meter(station_id, t0, overlapping))
    stored = await repo.meter_samples(station_id, t0, t0 + timedelta(minutes=1))
    assert [s.value for s in stored] == [7000.0, 7001.0, 7002.0, 7003.0]
    assert await _count(repo, meter_samples, station_id) == 4


async def test_samples_differing_in_phase_or_measurand_are_distinct(
    repo: Repository, station_id: str, clock: FakeClock
) -> None:
    t = clock.now
    samples = [
        ev.MeterSample(t, P, 11_000.0, "W"),
        ev.MeterSample(t, I, 16.0, "A", phase="L1"),
        ev.MeterSample(t, I, 15.5, "A", phase="L2"),
        ev.MeterSample(t, I, 99.0, "A", phase="L2"),  # same key twice in one message: the first counts
        ev.MeterSample(t, ev.Measurand.SOC, 42.0, "Percent", context="Transaction.Begin"),
    ]
    await repo.record(_meter(station_id, t, samples, tx="TX-9"))
    stored = await repo.meter_samples(station_id, t, t + timedelta(seconds=1))
    assert {(s.measurand, s.phase, s.value, s.unit, s.context) for s in stored} == {
        ("Power.Active.Import", None, 11_000.0, "W", None),
        ("Current.Import", "L1", 16.0, "A", None),
        ("Current.Import", "L2", 15.5, "A", None),
        ("SoC", None, 42.0, "Percent", "Transaction.Begin"),
    }
    assert {s.transaction_id for s in stored} == {"TX-9"}
    assert await repo.meter_samples(station_id, t, t + timedelta(seconds=1), transaction_id="other") == []
    soc = await repo.meter_samples(station_id, t, t + timedelta(seconds=1), measurands=[ev.Measurand.SOC])
    assert [s.value for s in soc] == [42.0]


async def test_time_range_is_half_open_and_ordered(repo: Repository, station_id: str, clock: FakeClock) -> None:
    t0 = clock.now
    samples = [ev.MeterSample(t0 + timedelta(seconds=s), P, float(s), "W") for s in (30, 0, 10, 20)]
    await repo.record(_meter(station_id, t0, samples))
    stored = await repo.meter_samples(station_id, t0 + timedelta(seconds=10), t0 + timedelta(seconds=30))
    assert [(s.measured_at - t0).total_seconds() for s in stored] == [10.0, 20.0]
    assert [s.value for s in await repo.meter_samples(station_id, t0, t0 + timedelta(minutes=1), limit=2)] == [0, 10]


async def test_downsampled_query_gives_count_avg_min_max_per_bucket(
    repo: Repository, station_id: str, clock: FakeClock
) -> None:
    t0 = clock.now  # 12:00:00, a multiple of 60 s since the epoch
    assert t0.timestamp() % 60 == 0

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    samples = [
        ev.MeterSample(at(-1), P, 1.0, "W"),  # before the range
        ev.MeterSample(at(0), P, 1000.0, "W"),
        ev.MeterSample(at(20), P, 2000.0, "W"),
        ev.MeterSample(at(59.5), P, 6000.0, "W"),  # fractional second, still the first minute
        ev.MeterSample(at(60), P, 500.0, "W"),  # exactly on the boundary: the second minute
        ev.MeterSample(at(150), P, 800.0, "W"),
        ev.MeterSample(at(180), P, 5.0, "W"),  # at the range end: excluded
        ev.MeterSample(at(0), I, 10.0, "A", phase="L1"),
        ev.MeterSample(at(30), I, 20.0, "A", phase="L1"),
        ev.MeterSample(at(30), I, 7.0, "A", phase="L2"),
    ]
    await repo.record(_meter(station_id, t0, samples))
    buckets = await repo.meter_buckets(station_id, at(0), at(180), 60)
    summary = [(b.measurand, b.phase, (b.start - t0).total_seconds(), b.count, b.avg, b.min, b.max) for b in buckets]
    assert summary == [
        ("Current.Import", "L1", 0.0, 2, 15.0, 10.0, 20.0),
        ("Current.Import", "L2", 0.0, 1, 7.0, 7.0, 7.0),
        ("Power.Active.Import", None, 0.0, 3, 3000.0, 1000.0, 6000.0),
        ("Power.Active.Import", None, 60.0, 1, 500.0, 500.0, 500.0),
        ("Power.Active.Import", None, 120.0, 1, 800.0, 800.0, 800.0),
    ]
    assert {(b.unit, b.seconds, b.evse_id) for b in buckets} == {("A", 60, 1), ("W", 60, 1)}

    # Buckets stay aligned to the epoch when the range is not; only samples inside the range count.
    power = await repo.meter_buckets(station_id, at(30), at(180), 900, measurands=[P])
    assert [(b.start, b.count, b.min, b.max) for b in power] == [(t0, 3, 500.0, 6000.0)]  # 59.5 s, 60 s, 150 s
    assert power[0].avg == pytest.approx((6000.0 + 500.0 + 800.0) / 3)
    with pytest.raises(ValueError):
        await repo.meter_buckets(station_id, at(0), at(180), 0)


# --- every event type ---------------------------------------------------------------------------------------


REPORT_DATA = {
    "component": {"name": "SmartChargingCtrlr"},
    "variable": {"name": "Enabled"},
    "variableAttribute": [{"type": "Actual", "value": "true"}],
}


def _one_of_each(station_id: str, at: datetime) -> dict[type, ev.StationEvent]:
    profile = ChargingProfile(1, 0, ChargingProfilePurpose.TX_DEFAULT, ChargingProfileKind.ABSOLUTE, (SCHEDULE,))
    examples: list[ev.StationEvent] = [
        ev.StationBooted(station_id, at, "Acme", "X1"),
        ev.HeartbeatReceived(station_id, at),
        ev.ConnectorStatusChanged(station_id, at, 1, 1, "Available"),
        ev.TransactionStarted(station_id, at, 1, "T1", "TAG", 0.0),
        ev.TransactionEnded(station_id, at + timedelta(minutes=5), 1, "T1", 1500.0, "Local"),
        ev.MeterValuesReceived(station_id, at, 1, "T1", (ev.MeterSample(at, P, 7000.0, "W"),)),
        ev.ChargingLimitNotified(station_id, at, ev.ChargingLimitSource.EMS, 1, True, (SCHEDULE,)),
        ev.ChargingLimitCleared(station_id, at + timedelta(minutes=1), ev.ChargingLimitSource.SO, None),
        ev.ChargingProfilesReported(station_id, at, 7, ev.ChargingLimitSource.CSO, 1, (profile,)),
        ev.EVChargingNeedsNotified(station_id, at, 1, "AC_three_phase", at + timedelta(hours=8), 30_000.0, 32.0),
        ev.SecurityEventNotified(station_id, at, "FirmwareUpdated", "1.2.3", {"by": "operator"}),
        ev.DeviceReportReceived(station_id, at, 3, 0, at, False, (REPORT_DATA,)),
        ev.EVChargingScheduleNotified(station_id, at, 1, at, SCHEDULE),
    ]
    return {type(e): e for e in examples}


def _event_types() -> set[type]:
    return {
        cls
        for _, cls in inspect.getmembers(ev, inspect.isclass)
        if issubclass(cls, ev.StationEvent) and cls is not ev.StationEvent
    }


async def test_every_event_type_is_recorded_once_even_when_replayed(
    repo: Repository, station_id: str, clock: FakeClock
) -> None:
    examples = _one_of_each(station_id, clock.now)
    assert set(examples) == _event_types(), "a new event type needs an example here (and a storage rule)"
    for _ in range(2):
        for event in examples.values():
            await repo.record(event)

    kinds = [entry.kind for entry in await repo.journal(station_id)]
    expected = {cls.__name__ for cls in examples} - {"HeartbeatReceived", "MeterValuesReceived"}
    assert sorted(kinds) == sorted(expected)  # each once
    assert (await repo.get_station(station_id)).vendor == "Acme"
    assert [s.status for s in await repo.connector_states(station_id)] == ["Available"]
    assert (await repo.get_transaction(station_id, "T1")).meter_stop_wh == 1500.0
    assert len(await repo.meter_samples(station_id, clock.now, clock.now + timedelta(seconds=1))) == 1
    assert [(limit.source, limit.evse_id) for limit in await repo.external_limits(station_id)] == [("EMS", 1)]
    reported = await repo.journal(station_id, kinds=["ChargingProfilesReported"])
    assert reported[0].payload["profiles"][0]["purpose"] == "TxDefaultProfile"
    (report,) = await repo.journal(station_id, kinds=["DeviceReportReceived"])
    assert report.payload["report_data"] == [REPORT_DATA]  # the device model is kept verbatim
    (ev_schedule,) = await repo.journal(station_id, kinds=["EVChargingScheduleNotified"])
    assert ev_schedule.evse_id == 1 and ev_schedule.payload["schedule"]["charging_rate_unit"] == "A"


async def test_journal_keeps_distinct_events_and_drops_replays(
    repo: Repository, station_id: str, clock: FakeClock
) -> None:
    first = ev.SecurityEventNotified(station_id, clock.now, "TamperDetectionActivated")
    second = ev.SecurityEventNotified(station_id, clock.now + timedelta(seconds=1), "TamperDetectionActivated")
    for event in (first, second, first):
        await repo.record(event)
    entries = await repo.journal(station_id, kinds=["SecurityEventNotified"])
    assert [e.at for e in entries] == [first.at, second.at]
    assert await repo.journal(station_id, since=second.at) == entries[1:]
    assert await repo.journal(station_id, newest_first=True, limit=1) == entries[1:]


async def test_external_limits_follow_notify_and_clear_in_event_time(
    repo: Repository, station_id: str, clock: FakeClock
) -> None:
    t0 = clock.now
    ems = ev.ChargingLimitNotified(station_id, t0, ev.ChargingLimitSource.EMS, None, False, (SCHEDULE,))
    so = ev.ChargingLimitNotified(station_id, t0, ev.ChargingLimitSource.SO, 2, True, (SCHEDULE,))
    await repo.record(ems)
    await repo.record(so)
    limits = await repo.external_limits(station_id)
    assert [(x.source, x.evse_id, x.is_grid_critical) for x in limits] == [("EMS", 0, False), ("SO", 2, True)]
    assert limits[0].schedules[0]["charging_rate_unit"] == "A"

    await repo.record(ev.ChargingLimitCleared(station_id, t0 + timedelta(minutes=1), ev.ChargingLimitSource.EMS))
    await repo.record(ems)  # a replay of the older notification does not bring the limit back
    assert [x.source for x in await repo.external_limits(station_id)] == ["SO"]

    renewed = ev.ChargingLimitNotified(station_id, t0 + timedelta(minutes=2), ev.ChargingLimitSource.EMS, None)
    await repo.record(renewed)
    await repo.record(ev.ChargingLimitCleared(station_id, t0 + timedelta(minutes=1), ev.ChargingLimitSource.EMS))
    limits = await repo.external_limits(station_id)
    assert [(x.source, x.notified_at) for x in limits] == [("EMS", t0 + timedelta(minutes=2)), ("SO", t0)]
