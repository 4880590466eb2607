"""The opening handshake, settings and the rate limiter, without sockets."""

from __future__ import annotations

import base64

import pytest

from wattcap.core.model import OcppVersion
from wattcap.server.handshake import parse_basic_auth, select_subprotocol, valid_station_id
from wattcap.server.ratelimit import TokenBucket
from wattcap.server.settings import Settings, SettingsError, UnknownStationPolicy

V16, V201 = OcppVersion.V16, OcppVersion.V201
PREFER_201 = (V201, V16)


def test_server_preference_wins_when_both_are_offered():
    assert select_subprotocol(["ocpp1.6", "ocpp2.0.1"], PREFER_201, True).subprotocol == "ocpp2.0.1"
    assert select_subprotocol(["ocpp2.0.1", "ocpp1.6"], (V16, V201), True).subprotocol == "ocpp1.6"


def test_one_known_subprotocol_among_unknown_ones_is_chosen():
    choice = select_subprotocol(["ocpp1.5", "ocpp1.6"], PREFER_201, True)
    assert (choice.version, choice.subprotocol) == (V16, "ocpp1.6")


def test_only_unknown_subprotocols_are_refused():
    assert select_subprotocol(["ocpp1.5", "ocpp2.1"], PREFER_201, True) is None


def test_a_version_the_server_does_not_serve_is_refused():
    assert select_subprotocol(["ocpp1.6"], (V201,), True) is None


def test_no_subprotocol_is_16_when_allowed():
    choice = select_subprotocol([], PREFER_201, True)
    assert (choice.version, choice.subprotocol) == (V16, None)
    assert select_subprotocol([], PREFER_201, False) is None
    assert select_subprotocol([], (V201,), True) is None


def header(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_basic_credentials_are_read():
    credentials = parse_basic_auth(header("CP1:pass:word"))
    assert (credentials.username, credentials.password) == ("CP1", "pass:word")
    assert parse_basic_auth("basic " + base64.b64encode(b"CP1:x").decode()).username == "CP1"


@pytest.mark.parametrize("value", [None, "", "Bearer abc", "Basic", "Basic !!!", header("no-colon")])
def test_missing_or_malformed_credentials_are_none(value):
    assert parse_basic_auth(value) is None


def test_credentials_never_show_the_password():
    assert "s3cr3t" not in repr(parse_basic_auth(header("CP1:s3cr3t")))


@pytest.mark.parametrize("station_id", ["CP1", "DE*ABC*E123", "a" * 48, "station-1_x.y~z"])
def test_valid_station_ids(station_id):
    assert valid_station_id(station_id)


@pytest.mark.parametrize("station_id", ["", "a" * 49, "CP:1", "CP 1", "CP\t1", "CP/1"])
def test_invalid_station_ids(station_id):
    assert not valid_station_id(station_id)


def test_token_bucket_allows_the_burst_then_the_rate():
    now = [0.0]
    bucket = TokenBucket(rate=2.0, burst=3, clock=lambda: now[0])
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.5  # one token back
    assert [bucket.allow() for _ in range(2)] == [True, False]
    now[0] += 100  # refills to the burst, not beyond
    assert sum(bucket.allow() for _ in range(10)) == 3


def test_settings_from_env():
    settings = Settings.from_env(
        {
            "WATTCAP_PORT": "9100",
            "WATTCAP_VERSIONS": "ocpp1.6, 2.0.1",
            "WATTCAP_ACCEPT_NO_SUBPROTOCOL": "no",
            "WATTCAP_UNKNOWN_STATIONS": "Pending",
            "WATTCAP_RATE_LIMIT_PER_S": "2.5",
            "WATTCAP_WS_PING_INTERVAL_S": "none",
            "WATTCAP_TLS_CERTFILE": "/c.pem",
            "WATTCAP_TLS_KEYFILE": "/k.pem",
            "UNRELATED": "x",
        }
    )
    assert settings.port == 9100
    assert settings.versions == (V16, V201)
    assert settings.accept_no_subprotocol is False
    assert settings.unknown_stations is UnknownStationPolicy.PENDING
    assert settings.rate_limit_per_s == 2.5
    assert settings.ws_ping_interval_s is None
    assert settings.tls and settings.tls_keyfile == "/k.pem"


def test_defaults_prefer_201_and_accept_chargers_without_subprotocol():
    settings = Settings.from_env({})
    assert settings.versions == (V201, V16)
    assert settings.accept_no_subprotocol and settings.require_auth
    assert settings.unknown_stations is UnknownStationPolicy.REJECT


@pytest.mark.parametrize(
    "environ",
    [
        {"WATTCAP_PORT": "x"},
        {"WATTCAP_VERSIONS": "ocpp1.5"},
        {"WATTCAP_REQUIRE_AUTH": "maybe"},
        {"WATTCAP_UNKNOWN_STATIONS": "allow"},
        {"WATTCAP_TLS_CERTFILE": "/c.pem"},
        {"WATTCAP_MAX_FRAME_BYTES": "0"},
    ],
)
def test_bad_settings_are_named(environ):
    with pytest.raises(SettingsError):
        Settings.from_env(environ)
