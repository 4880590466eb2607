"""Station registration, passwords, boot information, EVSEs, connector states and capabilities."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from wattcap.core import events as ev
from wattcap.store import (
    CapabilityStatus,
    Evse,
    Repository,
    StationExistsError,
    StationState,
    UnknownStationError,
)
from wattcap.store.schema import stations

from .conftest import FakeClock

PASSWORD = "correct-horse-battery-staple"


async def _stored_hash(repo: Repository, station_id: str) -> str | None:
    async with repo.engine.connect() as connection:
        return await connection.scalar(sa.select(stations.c.password_hash).where(stations.c.id == station_id))


async def test_password_is_stored_only_as_a_salted_hash(repo: Repository, station_id: str) -> None:
    other = f"{station_id}-b"
    await repo.add_station(station_id, PASSWORD, security_profile=1)
    await repo.add_station(other, PASSWORD, security_profile=2)
    first, second = await _stored_hash(repo, station_id), await _stored_hash(repo, other)
    assert first is not None and second is not None
    assert PASSWORD not in first and first.startswith("scrypt$")
    assert first != second  # salted: equal passwords, different hashes


async def test_verify_password(repo: Repository, station_id: str) -> None:
    station = await repo.add_station(station_id, PASSWORD, security_profile=1)
    assert station.has_password and station.state == StationState.ACCEPTED
    assert await repo.verify_password(station_id, PASSWORD)
    assert not await repo.verify_password(station_id, PASSWORD + "x")
    assert not await repo.verify_password(station_id, "")
    assert not await repo.verify_password("no-such-station", PASSWORD)


async def test_set_password_rotates_and_removes(repo: Repository, station_id: str) -> None:
    await repo.add_station(station_id, PASSWORD, security_profile=1)
    await repo.set_password(station_id, "a-new-password-16")
    assert not await repo.verify_password(station_id, PASSWORD)
    assert await repo.verify_password(station_id, "a-new-password-16")
    await repo.set_password(station_id, None)
    assert not await repo.verify_password(station_id, "a-new-password-16")
    assert not (await repo.get_station(station_id)).has_password
    with pytest.raises(UnknownStationError):
        await repo.set_password("no-such-station", PASSWORD)


async def test_password_profiles_need_a_password_and_profiles_are_checked(repo: Repository, station_id: str) -> None:
    with pytest.raises(ValueError, match="password"):
        await repo.add_station(station_id, None, security_profile=1)
    with pytest.raises(ValueError, match="security profile"):
        await repo.add_station(station_id, PASSWORD, security_profile=3)
    assert await repo.get_station(station_id) is None


async def test_adding_an_existing_station_fails_without_changing_it(repo: Repository, station_id: str) -> None:
    await repo.add_station(station_id, PASSWORD, security_profile=1)
    with pytest.raises(StationExistsError):
        await repo.add_station(station_id, "another-password-1", security_profile=2)
    station = await repo.get_station(station_id)
    assert station.security_profile == 1
    assert await repo.verify_password(station_id, PASSWORD)


async def test_an_unannounced_station_gets_a_pending_row(repo: Repository, station_id: str, clock: FakeClock) -> None:
    await repo.record(ev.HeartbeatReceived(station_id, clock.now - timedelta(days=3)))
    station = await repo.get_station(station_id)
    assert station.state == StationState.PENDING and not station.has_password
    assert station.last_seen_at == clock.now  # when wattcap heard it, not the station's clock


async def test_mark_pending_and_station_connected(repo: Repository, station_id: str, clock: FakeClock) -> None:
    await repo.mark_pending(station_id)
    assert (await repo.get_station(station_id)).state == StationState.PENDING
    clock.advance(30)
    await repo.station_connected(station_id, "1.6")
    station = await repo.get_station(station_id)
    assert (station.ocpp_version, station.last_seen_at) == ("1.6", clock.now)

    accepted = f"{station_id}-ok"
    await repo.add_station(accepted, PASSWORD, security_profile=1)
    await repo.mark_pending(accepted)  # never demotes a registered station
    assert (await repo.get_station(accepted)).state == StationState.ACCEPTED


async def test_update_station(repo: Repository, station_id: str, clock: FakeClock) -> None:
    await repo.record(ev.HeartbeatReceived(station_id, clock.now))
    station = await repo.update_station(station_id, state="accepted", ocpp_version="2.0.1", dialect="everest")
    assert (station.state, station.ocpp_version, station.dialect) == (StationState.ACCEPTED, "2.0.1", "everest")
    assert station in await repo.list_stations(state=StationState.ACCEPTED)
    with pytest.raises(UnknownStationError):
        await repo.update_station("no-such-station", state="rejected")


async def test_boot_updates_the_station_and_an_older_replay_does_not(
    repo: Repository, station_id: str, clock: FakeClock
) -> None:
    boot = clock.now
    await repo.record(ev.StationBooted(station_id, boot, "Acme", "X1", "SN1", "1.0", "PowerUp"))
    clock.advance(60)
    await repo.record(ev.StationBooted(station_id, boot + timedelta(hours=1), "Acme", "X1", "SN1", "1.1", "Watchdog"))
    clock.advance(60)
    await repo.record(ev.StationBooted(station_id, boot, "Acme", "X1", "SN1", "1.0", "PowerUp"))  # replay
    station = await repo.get_station(station_id)
    assert (station.vendor, station.model, station.serial_number) == ("Acme", "X1", "SN1")
    assert (station.firmware_version, station.boot_reason) == ("1.1", "Watchdog")
    assert station.last_boot_at == boot + timedelta(hours=1)
    assert station.last_seen_at == clock.now


async def test_connector_status_keeps_the_latest(repo: Repository, station_id: str, clock: FakeClock) -> None:
    t = clock.now
    await repo.record(ev.ConnectorStatusChanged(station_id, t, 1, 1, "Available"))
    await repo.record(ev.ConnectorStatusChanged(station_id, t + timedelta(seconds=5), 1, 1, "Occupied"))
    await repo.record(ev.ConnectorStatusChanged(station_id, t, 1, 1, "Available"))  # late replay
    await repo.record(ev.ConnectorStatusChanged(station_id, t, 2, 1, "Faulted", "GroundFailure"))
    states = [(s.evse_id, s.connector_id, s.status, s.error_code) for s in await repo.connector_states(station_id)]
    assert states == [(1, 1, "Occupied", None), (2, 1, "Faulted", "GroundFailure")]


async def test_evses_are_created_and_replaced(repo: Repository, station_id: str) -> None:
    await repo.add_station(station_id)
    await repo.put_evse(Evse(station_id, 2, (1,), "DC", None, 200.0, 50_000.0))
    await repo.put_evse(Evse(station_id, 1, (1, 2), "AC", 3, 32.0, 22_000.0))
    await repo.put_evse(Evse(station_id, 1, (1, 2), "AC", 1, 16.0, 3_680.0))
    evses = await repo.list_evses(station_id)
    listed = [(e.evse_id, e.connector_ids, e.current_type, e.phases, e.max_current_a) for e in evses]
    assert listed == [(1, (1, 2), "AC", 1, 16.0), (2, (1,), "DC", None, 200.0)]
    with pytest.raises(UnknownStationError):
        await repo.put_evse(Evse("no-such-station", 1))
    with pytest.raises(ValueError):
        await repo.put_evse(Evse(station_id, 3, current_type="XY"))


async def test_capabilities_put_and_get(repo: Repository, station_id: str, clock: FakeClock) -> None:
    await repo.add_station(station_id)
    assert await repo.get_capabilities(station_id) is None
    await repo.put_capabilities(station_id, {}, CapabilityStatus.NEVER_ANSWERED, None)
    document = {"ChargeProfileMaxStackLevel": "8", "ChargingScheduleAllowedChargingRateUnit": ["Current", "Power"]}
    await repo.put_capabilities(station_id, document, CapabilityStatus.ANSWERED, clock.now)
    stored = await repo.get_capabilities(station_id)
    assert (stored.document, stored.status, stored.read_at) == (document, "answered", clock.now)
    with pytest.raises(UnknownStationError):
        await repo.put_capabilities("no-such-station", {}, CapabilityStatus.NEVER_ANSWERED)


async def test_deleting_a_station_removes_what_belongs_to_it(
    repo: Repository, station_id: str, clock: FakeClock
) -> None:
    await repo.add_station(station_id)
    await repo.put_evse(Evse(station_id, 1))
    await repo.record(ev.TransactionStarted(station_id, clock.now, 1, "T1"))
    assert await repo.delete_station(station_id)
    assert await repo.get_station(station_id) is None
    assert await repo.list_evses(station_id) == []
    assert await repo.get_transaction(station_id, "T1") is None
    assert not await repo.delete_station(station_id)
