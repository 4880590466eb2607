"""What crosses NATS comes back as it went: station ids as subject tokens, site events, live events, call errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wattcap.core import events as ev
from wattcap.server.cluster import codec
from wattcap.server.cluster.bus import token, untoken
from wattcap.server.live import LiveEvent
from wattcap.server.stations import CallRejected, CallTimeout, InvalidRequest, StationNotConnected

AT = datetime(2026, 11, 25, 12, 0, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize("station_id", ["CP-1", "a.b", "x*y>z", "é=%20 ", "under_score", "=3D"])
def test_a_station_id_is_one_subject_token_and_comes_back(station_id):
    encoded = token(station_id)
    assert all(c.isalnum() or c in "-_=" for c in encoded)
    assert untoken(encoded) == station_id


def test_site_events_come_back_equal():
    samples = (
        ev.MeterSample(AT, ev.Measurand.CURRENT_IMPORT, 16.0, "A", "L1", "Sample.Periodic"),
        ev.MeterSample(AT, "Vendor.Thing", 1.5, "W"),
    )
    for event in (
        ev.TransactionStarted("CP", AT, 1, "tx-1", "TOKEN", 12.0, 7, 3),
        ev.TransactionEnded("CP", AT, 2, "tx-1", 99.5, "EVDisconnected", 4),
        ev.MeterValuesReceived("CP", AT, 1, "tx-1", samples, 5),
    ):
        assert codec.event_from(codec.event_json(event)) == event


def test_only_the_site_events_cross():
    with pytest.raises(KeyError):
        codec.event_from({"type": "HeartbeatReceived", "fields": {"station_id": "CP", "at": AT.isoformat()}})


def test_live_events_come_back_equal():
    event = LiveEvent("meter", {"samples": [{"value": 1.0}]}, "CP", 1, "depot", AT)
    assert codec.live_from(codec.live_json(event)) == event


def test_call_errors_come_back_as_the_same_exceptions():
    rejected = codec.error_from("CP", codec.error_json(CallRejected("NotSupported", "no", {"x": 1}, action="A")), 5)
    assert isinstance(rejected, CallRejected) and (rejected.error_code, rejected.description, rejected.details) == (
        "NotSupported", "no", {"x": 1})
    assert isinstance(codec.error_from("CP", codec.error_json(CallTimeout("CP", "A", 5)), 5), CallTimeout)
    gone = codec.error_from("CP", codec.error_json(StationNotConnected("CP", "went away")), 5)
    assert isinstance(gone, StationNotConnected) and "went away" in str(gone)
    assert isinstance(codec.error_from("CP", codec.error_json(InvalidRequest("bad")), 5), InvalidRequest)
