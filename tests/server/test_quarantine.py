"""Quarantine: the control plane cuts one station's link and refuses it until an expiry (fallback tests)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from wattcap.core.model import OcppVersion
from wattcap.server.stations import QUARANTINED, StationRegistry

from .conftest import TIMEOUT, raw_socket, running_server

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_a_quarantine_ends_at_its_expiry_or_on_release():
    registry = StationRegistry()
    registry.quarantine("CP16", T0 + timedelta(seconds=60))
    assert registry.quarantined_until("CP16", T0) == T0 + timedelta(seconds=60)
    assert registry.quarantined_until("CP201", T0) is None
    assert registry.quarantined_until("CP16", T0 + timedelta(seconds=60)) is None  # expired, and forgotten
    registry.quarantine("CP16", T0 + timedelta(seconds=60))
    assert registry.release("CP16") and not registry.release("CP16")
    assert registry.quarantined_until("CP16", T0) is None


async def test_a_quarantined_station_is_cut_and_refused_with_retry_after_until_the_expiry():
    clock = Clock()
    async with running_server(clock=clock) as server:
        async with raw_socket(server, "CP16", OcppVersion.V16) as websocket:
            async with asyncio.timeout(TIMEOUT):
                while "CP16" not in server.registry:
                    await asyncio.sleep(0.01)
            server.registry.quarantine("CP16", T0 + timedelta(seconds=90), "fallback test")
            assert await server.registry.cut("CP16", "fallback test")
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(TIMEOUT):
                    await websocket.recv()
            assert closed.value.rcvd.code == QUARANTINED
        with pytest.raises(InvalidStatus) as refused:
            async with raw_socket(server, "CP16", OcppVersion.V16):
                pass
        assert refused.value.response.status_code == 503
        assert refused.value.response.headers["Retry-After"] == "90"
        async with raw_socket(server, "CP201", OcppVersion.V201):  # only that station is refused
            pass
        clock.now = T0 + timedelta(seconds=90)
        async with raw_socket(server, "CP16", OcppVersion.V16):
            pass


async def test_cutting_a_station_that_is_not_connected_says_so():
    assert not await StationRegistry().cut("CP16")
