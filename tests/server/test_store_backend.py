"""The server on the database (:class:`StoreBackend`): who gets in, who may charge, what survives a restart.

Every spec runs on SQLite and on PostgreSQL. The admission rule under test:

* an ``accepted`` station authenticates against its stored (hashed) password and is answered Accepted;
* an ``unknown`` or ``pending`` station follows ``unknown_stations``: refused under ``reject``, let in
  unauthenticated and answered Pending under ``pending``, and only after ``wattcap station approve`` and a
  reconnect with its password is it answered Accepted;
* a ``rejected`` station is refused even with the right password.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner
from websockets.exceptions import ConnectionClosed, InvalidStatus

from wattcap.cli import _register, app
from wattcap.core.events import TransactionStarted
from wattcap.core.model import OcppVersion
from wattcap.server.backend import Registration, StationBackend
from wattcap.server.backend_store import StoreBackend
from wattcap.server.settings import Settings, UnknownStationPolicy
from wattcap.store import IdTokenStatus, Repository, StationState

from .conftest import TIMEOUT, basic_auth, exchange, raw_socket
from .store_support import store_server

V16 = OcppVersion.V16
PASSWORD = "stored-password-0001"
BOOT_16 = '[2,"b1","BootNotification",{"chargePointVendor":"ACME","chargePointModel":"M"}]'
PENDING_POLICY = Settings(heartbeat_interval_s=60, call_timeout_s=5.0, unknown_stations=UnknownStationPolicy.PENDING)


@pytest.fixture
async def repository(database_url: str):
    async with await Repository.open(database_url) as repository:
        yield repository


async def refused(server, station_id: str, **options) -> int:
    with pytest.raises(InvalidStatus) as refusal:
        async with raw_socket(server, station_id, **options):
            pass
    return refusal.value.response.status_code


async def boot_status(server, station_id: str, **options) -> str:
    async with raw_socket(server, station_id, **options) as websocket:
        return (await exchange(websocket, BOOT_16))[2]["status"]


# -- the backend on its own ------------------------------------------------------------------------------------


async def test_store_backend_is_a_station_backend(repository: Repository) -> None:
    assert isinstance(StoreBackend(repository), StationBackend)


async def test_registration_follows_the_stored_station_state(repository: Repository) -> None:
    backend = StoreBackend(repository)
    assert await backend.registration("R-NEW") is Registration.UNKNOWN
    await backend.mark_pending("R-NEW")
    assert await backend.registration("R-NEW") is Registration.PENDING
    await repository.add_station("R-OK", PASSWORD, 1)
    assert await backend.registration("R-OK") is Registration.ACCEPTED
    await repository.update_station("R-NEW", state=StationState.REJECTED)
    assert await backend.registration("R-NEW") is Registration.REJECTED


async def test_passwords_are_checked_against_the_stored_hash(repository: Repository) -> None:
    backend = StoreBackend(repository)
    await repository.add_station("R-PW", PASSWORD, 1)
    assert await backend.authenticate("R-PW", PASSWORD)
    assert not await backend.authenticate("R-PW", PASSWORD.upper())
    assert not await backend.authenticate("R-NONE", PASSWORD)


@pytest.mark.parametrize("accept_unknown", [True, False])
async def test_known_tokens_decide_for_themselves_unknown_ones_follow_the_setting(
    repository: Repository, accept_unknown: bool
) -> None:
    backend = StoreBackend(repository, accept_unknown_tokens=accept_unknown)
    await repository.add_id_token("CARD-OK", group_id="FLEET", expires_at=datetime(2099, 1, 1, tzinfo=UTC))
    await repository.add_id_token("CARD-BLOCKED", status=IdTokenStatus.BLOCKED)
    await repository.add_id_token("CARD-OLD", expires_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert await backend.authorize("R1", "CARD-OK")
    assert not await backend.authorize("R1", "CARD-BLOCKED")
    assert not await backend.authorize("R1", "CARD-OLD")
    assert await backend.authorize("R1", "CARD-NEVER-SEEN") is accept_unknown


def test_unknown_tokens_are_accepted_unless_configured_otherwise() -> None:
    assert Settings().accept_unknown_tokens
    assert not Settings.from_env({"WATTCAP_ACCEPT_UNKNOWN_TOKENS": "false"}).accept_unknown_tokens


async def test_transactions_and_their_ids_outlive_the_backend(database_url: str) -> None:
    """What the server needs after a restart is read back from the database, not from process memory."""
    started = TransactionStarted("R16", datetime(2026, 3, 1, 10, tzinfo=UTC), 2, "1", "CARD", 1000.0)
    async with await Repository.open(database_url) as first:
        backend = StoreBackend(first)
        assert [await backend.next_transaction_id() for _ in range(2)] == [1, 2]
        await backend.record(started)
    async with await Repository.open(database_url) as second:
        backend = StoreBackend(second)
        assert await backend.transaction_evse("R16", "1") == 2
        assert await backend.transaction_evse("R16", "404") is None
        assert await backend.existing_transaction(started) == "1"
        assert await backend.existing_transaction(replace(started, meter_start_wh=1001.0)) is None
        assert await backend.next_transaction_id() == 3  # never reused


async def test_connect_and_disconnect_are_when_the_station_was_last_seen(database_url: str) -> None:
    now = [datetime(2026, 3, 1, 10, tzinfo=UTC)]
    async with await Repository.open(database_url, clock=lambda: now[0]) as repository:
        backend = StoreBackend(repository)
        await repository.add_station("R-SEEN", PASSWORD, 1)
        await backend.station_connected("R-SEEN", OcppVersion.V201)
        now[0] += timedelta(hours=2)
        await backend.station_disconnected("R-SEEN", OcppVersion.V201)
        await backend.station_disconnected("R-GHOST", OcppVersion.V16)  # never registered: nothing to update
        station = await repository.get_station("R-SEEN")
        assert (station.ocpp_version, station.last_seen_at) == ("2.0.1", now[0])
        assert await repository.get_station("R-GHOST") is None


# -- admission over the wire -------------------------------------------------------------------------------------


async def test_basic_auth_is_checked_against_the_stored_password(database_url: str) -> None:
    async with await Repository.open(database_url) as repository:
        await repository.add_station("R-AUTH", PASSWORD, 1)
        await repository.add_station("R-OTHER", "other-password-0002", 1)
    async with store_server(database_url) as server:
        assert await boot_status(server, "R-AUTH", password=PASSWORD) == "Accepted"
        assert await refused(server, "R-AUTH", password="stored-password-0002") == 401
        assert await refused(server, "R-AUTH", headers={}) == 401
        assert await refused(server, "R-AUTH", headers=basic_auth("R-OTHER", "other-password-0002")) == 401
        assert await refused(server, "R-UNKNOWN", password=PASSWORD) == 401
        station = await server.backend.repository.get_station("R-AUTH")
    assert (station.ocpp_version, station.vendor, station.last_seen_at is not None) == ("1.6", "ACME", True)


async def test_a_rejected_station_is_refused_even_with_its_password(database_url: str) -> None:
    async with await Repository.open(database_url) as repository:
        await repository.add_station("R-REJ", PASSWORD, 1, state=StationState.REJECTED)
    async with store_server(database_url, PENDING_POLICY) as server:
        assert await refused(server, "R-REJ", password=PASSWORD) == 401


async def test_a_pending_station_follows_the_unknown_station_policy(database_url: str) -> None:
    async with await Repository.open(database_url) as repository:
        await repository.mark_pending("R-WAIT")
    async with store_server(database_url) as server:  # reject policy
        assert await refused(server, "R-WAIT", password=PASSWORD) == 401
    async with store_server(database_url, PENDING_POLICY) as server:
        assert await boot_status(server, "R-WAIT", password="any-password-at-all") == "Pending"


async def test_unknown_station_is_pending_until_approved_then_accepted_once_it_reconnects(database_url: str) -> None:
    _register()
    async with store_server(database_url, PENDING_POLICY) as server:
        repository = server.backend.repository
        async with raw_socket(server, "R-NEW", password=PASSWORD) as websocket:
            assert (await exchange(websocket, BOOT_16))[2]["status"] == "Pending"
            assert (await repository.get_station("R-NEW")).state is StationState.PENDING

            approve = ["station", "approve", "R-NEW", "--password", PASSWORD, "--database-url", database_url]
            result = await asyncio.to_thread(CliRunner().invoke, app, approve)
            assert result.exit_code == 0, result.output

            # This connection was let in unauthenticated: it stays Pending, and is closed after its next boot so
            # that the station reconnects with its credentials.
            assert (await exchange(websocket, BOOT_16.replace("b1", "b2")))[2]["status"] == "Pending"
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(TIMEOUT):
                    await websocket.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000

        assert await refused(server, "R-NEW", password="not-the-password-00") == 401
        assert await boot_status(server, "R-NEW", password=PASSWORD) == "Accepted"
    station = await _station(database_url, "R-NEW")
    assert (station.state, station.security_profile, station.has_password) == (StationState.ACCEPTED, 1, True)


async def _station(database_url: str, station_id: str):
    async with await Repository.open(database_url) as repository:
        return await repository.get_station(station_id)


async def test_id_tokens_are_answered_from_the_store(database_url: str) -> None:
    async with await Repository.open(database_url) as repository:
        await repository.add_station("R-TOK", PASSWORD, 1)
        await repository.add_id_token("CARD-OK")
        await repository.add_id_token("CARD-BLOCKED", status=IdTokenStatus.BLOCKED)
    settings = Settings(heartbeat_interval_s=60, call_timeout_s=5.0, accept_unknown_tokens=False)
    async with store_server(database_url, settings) as server, raw_socket(server, "R-TOK", password=PASSWORD) as ws:
        answers = [
            (await exchange(ws, json.dumps([2, f"a{i}", "Authorize", {"idTag": tag}])))[2]["idTagInfo"]["status"]
            for i, tag in enumerate(["CARD-OK", "CARD-BLOCKED", "CARD-UNKNOWN"])
        ]
    assert answers == ["Accepted", "Invalid", "Invalid"]
