"""The WebSocket boundary: admission, subprotocols, framing errors, limits, isolation, replacement, TLS."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
import ssl
import subprocess
from contextlib import suppress
from pathlib import Path

import httpx
import pytest
from ocpp.v16 import call
from ocpp.v201 import call as call201
from websockets.exceptions import ConnectionClosed, InvalidStatus

from wattcap.core.events import HeartbeatReceived, StationEvent
from wattcap.core.model import OcppVersion
from wattcap.server.backend import InMemoryBackend
from wattcap.server.settings import UnknownStationPolicy
from wattcap.server.stations import (
    CallRejected,
    CallWouldDeadlock,
    InvalidRequest,
    InvalidResponse,
    StationNotConnected,
)

from .conftest import (
    PASSWORDS,
    TIMEOUT,
    TOKENS,
    basic_auth,
    charger,
    exchange,
    raw_socket,
    running_server,
    settings_with,
)

V16, V201 = OcppVersion.V16, OcppVersion.V201
BOOT_16 = '[2,"b1","BootNotification",{"chargePointVendor":"ACME","chargePointModel":"M"}]'


async def refused_status(server, station_id, **options) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as refused:
        async with raw_socket(server, station_id, **options):
            pass
    return refused.value


# -- health ------------------------------------------------------------------------------------------------


async def test_healthz_counts_connected_stations(server):
    url = server.url.replace("ws://", "http://") + "/healthz"
    async with httpx.AsyncClient(trust_env=False) as client:
        assert (await client.get(url)).json() == {"status": "ok", "stations_connected": 0}
        async with raw_socket(server, "CP16") as websocket:
            await exchange(websocket, BOOT_16)
            assert (await client.get(url)).json()["stations_connected"] == 1


# -- security profile 1: HTTP Basic ------------------------------------------------------------------------


async def test_correct_credentials_are_accepted(server):
    async with raw_socket(server, "CP16") as websocket:
        assert (await exchange(websocket, BOOT_16))[2]["status"] == "Accepted"
    assert server.backend.connection_log[0] == ("connected", "CP16", V16)


async def test_a00_fr_203_connection_without_credentials_is_refused_with_401(server):
    refused = await refused_status(server, "CP16", headers={})
    assert refused.response.status_code == 401
    assert refused.response.headers["WWW-Authenticate"].startswith("Basic")


async def test_wrong_password_is_refused_with_401(server):
    assert (await refused_status(server, "CP16", password="guessed-password-123")).response.status_code == 401


async def test_a00_fr_204_username_must_equal_station_identity(server):
    """Valid credentials of CP201 do not open the path of CP16: a path id can only act as itself."""
    refused = await refused_status(server, "CP16", headers=basic_auth("CP201", PASSWORDS["CP201"]))
    assert refused.response.status_code == 401
    assert "CP16" not in server.registry


async def test_unknown_station_is_refused_by_default(server):
    assert (await refused_status(server, "NEW1", password="whatever-password")).response.status_code == 401


async def test_unknown_station_is_admitted_as_pending_under_the_pending_policy():
    async with running_server(settings_with(unknown_stations=UnknownStationPolicy.PENDING)) as server:
        async with raw_socket(server, "NEW1", password="whatever-password") as websocket:
            answer = await exchange(websocket, BOOT_16)
        assert answer[2]["status"] == "Pending"
        assert server.backend.pending == {"NEW1"}


async def test_without_required_auth_known_stations_need_no_credentials_but_wrong_ones_still_fail():
    async with running_server(settings_with(require_auth=False)) as server:
        async with raw_socket(server, "CP16", headers={}) as websocket:
            assert (await exchange(websocket, BOOT_16))[2]["status"] == "Accepted"
        assert (await refused_status(server, "CP16", password="wrong-password-12345")).response.status_code == 401


async def test_invalid_station_id_is_refused_before_accept(server):
    assert (await refused_status(server, "CP%3A1")).response.status_code == 403


# -- subprotocols ------------------------------------------------------------------------------------------


async def test_only_unknown_subprotocols_are_refused_before_accept(server):
    refused = await refused_status(server, "CP16", subprotocols=["ocpp1.5", "ocpp9"])
    assert refused.response.status_code == 403
    assert server.backend.connection_log == []


async def test_server_prefers_201_when_both_are_offered(server):
    async with raw_socket(server, "CP201", subprotocols=["ocpp1.6", "ocpp2.0.1"]) as websocket:
        assert websocket.subprotocol == "ocpp2.0.1"
        await exchange(websocket, '[2,"h1","Heartbeat",{}]')
        assert server.registry.version("CP201") is V201


async def test_charger_without_subprotocol_is_spoken_to_as_16(server):
    async with raw_socket(server, "CP16", version=None) as websocket:
        assert websocket.subprotocol is None
        assert (await exchange(websocket, BOOT_16))[2]["status"] == "Accepted"
        assert server.registry.version("CP16") is V16
        assert (await exchange(websocket, "not json"))[2] == "FormationViolation"


async def test_charger_without_subprotocol_is_refused_when_not_allowed():
    async with running_server(settings_with(accept_no_subprotocol=False)) as server:
        assert (await refused_status(server, "CP16", version=None)).response.status_code == 403


# -- framing and routing errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "code"), [(V16, "FormationViolation"), (V201, "FormatViolation")])
async def test_non_json_frame_is_answered_with_callerror_minus_1(server, version, code):
    station = "CP16" if version is V16 else "CP201"
    async with raw_socket(server, station, version) as websocket:
        for frame in ("hello", '{"not": "an array"}', "[]"):
            answer = await exchange(websocket, frame)
            assert answer[:3] == [4, "-1", code], frame
        await websocket.send(b"\x00\x01binary")
        assert json.loads(await websocket.recv())[:3] == [4, "-1", code]
        assert (await exchange(websocket, '[2,"h1","Heartbeat",{}]'))[0] == 3


async def test_16_schema_violation_is_formation_violation_not_format_violation(server):
    """The package answers an additional property with FormatViolation; on 1.6 the server sends the 1.6 name."""
    async with raw_socket(server, "CP16") as websocket:
        assert (await exchange(websocket, '[2,"h1","Heartbeat",{"extra":1}]'))[:3] == [4, "h1", "FormationViolation"]


async def test_malformed_payloads_get_the_package_error_codes(server):
    async with raw_socket(server, "CP201", V201) as websocket:
        missing = await exchange(websocket, '[2,"b1","BootNotification",{"reason":"PowerUp"}]')
        assert missing[:3] == [4, "b1", "ProtocolError"]
        extra = await exchange(websocket, '[2,"h1","Heartbeat",{"extra":1}]')
        assert extra[:3] == [4, "h1", "FormatViolation"]
    async with raw_socket(server, "CP16") as websocket:
        wrong_type = await exchange(
            websocket, '[2,"s1","StatusNotification",{"connectorId":"one","errorCode":"NoError","status":"Available"}]'
        )
        assert wrong_type[:3] == [4, "s1", "TypeConstraintViolation"]


@pytest.mark.parametrize("version", [V16, V201])
async def test_unknown_action_is_not_implemented(server, version):
    station = "CP16" if version is V16 else "CP201"
    async with raw_socket(server, station, version) as websocket:
        assert (await exchange(websocket, '[2,"u1","FooBar",{}]'))[:3] == [4, "u1", "NotImplemented"]


@pytest.mark.parametrize(("version", "action"), [(V16, "Reset"), (V201, "Get15118EVCertificate")])
async def test_known_action_without_handler_is_not_supported(server, version, action):
    station = "CP16" if version is V16 else "CP201"
    async with raw_socket(server, station, version) as websocket:
        assert (await exchange(websocket, f'[2,"k1","{action}",{{}}]'))[:3] == [4, "k1", "NotSupported"]


async def test_garbage_on_one_connection_leaves_it_and_the_others_working(server):
    garbage = [
        "}{",
        "[2,",
        "[2, null, null, null]",
        '[2, "g1", "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": "yesterday", '
        '"sampledValue": [{"value": "lots"}]}]}]',
        '[2, "g2", "StopTransaction", {"transactionId": 999, "meterStop": 1, "timestamp": "x"}]',
        '[3, "nobody-asked", {}]',
        '[4, "nobody-asked", "GenericError", "x", {}]',
        '[5, "g3"]',
        '[2, "g4", "BootNotification", {"chargePointVendor": "' + "A" * 100 + '", "chargePointModel": "M"}]',
        json.dumps([2, "g5", "DataTransfer", {"vendorId": "x", "data": "y" * 10_000}]),
    ]
    async with raw_socket(server, "CP16") as bad, charger(server, "CP201", V201) as good:
        for frame in garbage:
            await bad.send(frame)
        await bad.send('[2,"last","Heartbeat",{}]')
        async with asyncio.timeout(TIMEOUT):
            while (answer := json.loads(await bad.recv()))[1] != "last":
                assert answer[0] == 4 or answer[1] in ("g1", "g2", "g5"), answer
        assert answer[0] == 3
        await good.call(call201.Heartbeat(), suppress=False)
    assert len(server.backend.events_of(HeartbeatReceived)) == 2


class FailingBackend(InMemoryBackend):
    async def record(self, event: StationEvent) -> None:
        raise RuntimeError("database is down")


async def test_a_failing_backend_answers_internal_error_and_keeps_the_connection():
    backend = FailingBackend(PASSWORDS, TOKENS)
    async with running_server(backend=backend) as server, raw_socket(server, "CP16") as websocket:
        assert (await exchange(websocket, '[2,"h1","Heartbeat",{}]'))[:3] == [4, "h1", "InternalError"]
        answer = await exchange(websocket, '[2,"a1","Authorize",{"idTag":"TOKEN-OK"}]')
        assert answer == [3, "a1", {"idTagInfo": {"status": "Accepted"}}]


# -- per-connection limits ---------------------------------------------------------------------------------


async def test_rate_limit_closes_with_policy_violation():
    async with running_server(settings_with(rate_limit_per_s=1.0, rate_limit_burst=3)) as server:
        async with raw_socket(server, "CP16") as websocket:
            with suppress(ConnectionClosed):  # the server may close before the last one is out
                for i in range(30):
                    await websocket.send(f'[2,"h{i}","Heartbeat",{{}}]')
            async with asyncio.timeout(TIMEOUT):
                await websocket.wait_closed()
            assert websocket.close_code == 1008
        await server.backend.wait_for(lambda: ("disconnected", "CP16", V16) in server.backend.connection_log)


async def test_frame_larger_than_the_limit_closes_with_1009():
    async with running_server(settings_with(max_frame_bytes=2048)) as server, raw_socket(server, "CP16") as websocket:
        await websocket.send(json.dumps([2, "big", "DataTransfer", {"vendorId": "x", "data": "y" * 4096}]))
        async with asyncio.timeout(TIMEOUT):
            await websocket.wait_closed()
        assert websocket.close_code == 1009


async def test_per_message_compression_is_not_negotiated(server):
    async with raw_socket(server, "CP16", compression="deflate") as websocket:
        assert websocket.response.headers.get("Sec-WebSocket-Extensions") is None


# -- one live connection per station -----------------------------------------------------------------------


async def test_second_connection_with_the_same_id_replaces_the_first(server):
    async with raw_socket(server, "CP16") as first:
        await exchange(first, BOOT_16)
        async with charger(server, "CP16", V16) as second:
            async with asyncio.timeout(TIMEOUT):
                await first.wait_closed()
            assert first.close_code == 1000 and "replaced" in first.close_reason
            await second.call(call.Heartbeat(), suppress=False)
            result = await server.registry.call("CP16", call.GetConfiguration())
            assert result.configuration_key[0]["key"] == "HeartbeatInterval"
            assert server.backend.connected == {"CP16": V16}
        await server.backend.wait_for(lambda: not server.backend.connected)
    # The replaced connection's end is not reported as the station going offline.
    assert [entry[0] for entry in server.backend.connection_log] == ["connected", "connected", "disconnected"]


async def test_disconnect_while_a_call_waits_raises_station_not_connected(server):
    async with charger(server, "CP16", V16) as cp:
        pending = asyncio.create_task(server.registry.call("CP16", call.ClearCache()))
        await asyncio.wait_for(cp.holding.wait(), TIMEOUT)
        await cp._connection.close()
        with pytest.raises(StationNotConnected, match="disconnected"):
            async with asyncio.timeout(TIMEOUT):
                await pending


# -- answers to CSMS calls, read off a raw socket -----------------------------------------------------------


async def answer_next_call(websocket, make_answer) -> list:
    async with asyncio.timeout(TIMEOUT):
        request = json.loads(await websocket.recv())
    await websocket.send(json.dumps(make_answer(request[1])))
    return request


async def test_callerror_with_a_vendor_code_is_still_call_rejected(server):
    async with raw_socket(server, "CP16") as websocket:
        pending = asyncio.create_task(server.registry.call("CP16", call.GetConfiguration()))
        request = await answer_next_call(websocket, lambda mid: [4, mid, "VendorBusy", "try later", {"retry": 5}])
        with pytest.raises(CallRejected) as rejected:
            await pending
    assert request[2] == "GetConfiguration"
    assert (rejected.value.error_code, rejected.value.description, rejected.value.details) == (
        "VendorBusy", "try later", {"retry": 5}
    )


async def test_16_formation_violation_from_a_charger_is_call_rejected(server):
    async with raw_socket(server, "CP16") as websocket:
        pending = asyncio.create_task(server.registry.call("CP16", call.GetConfiguration()))
        await answer_next_call(websocket, lambda mid: [4, mid, "FormationViolation", "bad", {}])
        with pytest.raises(CallRejected, match="FormationViolation"):
            await pending


async def test_invalid_callresult_is_invalid_response(server):
    async with raw_socket(server, "CP16") as websocket:
        pending = asyncio.create_task(server.registry.call("CP16", call.GetConfiguration()))
        await answer_next_call(websocket, lambda mid: [3, mid, {"configurationKey": "not a list"}])
        with pytest.raises(InvalidResponse):
            await pending
        assert (await exchange(websocket, '[2,"h1","Heartbeat",{}]'))[0] == 3


async def test_outbound_date_times_must_be_utc_with_z(server):
    def profile(start: str) -> dict:
        return {"id": 1, "stack_level": 0, "charging_profile_purpose": "TxDefaultProfile",
                "charging_profile_kind": "Absolute", "charging_schedule": [
                    {"id": 1, "start_schedule": start, "charging_rate_unit": "A",
                     "charging_schedule_period": [{"start_period": 0, "limit": 16}]}]}

    async with charger(server, "CP201", V201) as cs:
        for start in ("2026-03-01T10:00:00+01:00", "2026-03-01T10:00:00", "now"):
            with pytest.raises(InvalidRequest, match=r"chargingProfile\.chargingSchedule\[0\]\.startSchedule"):
                await server.registry.call("CP201", call201.SetChargingProfile(evse_id=1,
                                                                               charging_profile=profile(start)))
        assert cs.profiles == []
        answer = await server.registry.call(
            "CP201", call201.SetChargingProfile(evse_id=1, charging_profile=profile("2026-03-01T09:00:00Z"))
        )
        assert answer.status == "Accepted"


async def test_unsolicited_answers_are_dropped_not_queued(server):
    async with raw_socket(server, "CP16") as websocket:
        for i in range(5):
            await websocket.send(f'[3,"unasked-{i}",{{}}]')
            await websocket.send(f'[4,"unasked-e{i}","GenericError","x",{{}}]')
        assert (await exchange(websocket, '[2,"h1","Heartbeat",{}]'))[0] == 3
        assert server.registry.session("CP16").charge_point._response_queue.empty()
        result = await asyncio.gather(
            server.registry.call("CP16", call.GetConfiguration()),
            answer_next_call(websocket, lambda mid: [3, mid, {"configurationKey": []}]),
        )
        assert result[0].configuration_key == []


# -- secrets -----------------------------------------------------------------------------------------------


async def test_passwords_never_reach_the_server_logs(caplog):
    secret = "new-authorization-key-0123456789"
    caplog.set_level("DEBUG")
    async with running_server(settings_with(log_frames=True)) as server:
        await refused_status(server, "CP16", password="a-wrong-password-4567")
        async with charger(server, "CP16", V16):
            with pytest.raises(CallRejected):  # the test charger does not implement ChangeConfiguration
                await server.registry.call("CP16", call.ChangeConfiguration(key="AuthorizationKey", value=secret))
    server_lines = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("wattcap", "uvicorn")))
    assert "ChangeConfiguration" in server_lines and "AuthorizationKey" in server_lines
    for text in (secret, PASSWORDS["CP16"], "a-wrong-password-4567"):
        assert text not in server_lines


# -- pitfall (c): no call from inside a handler ------------------------------------------------------------


async def test_boot_listener_may_call_the_station_after_the_answer(server):
    answers = []

    async def on_boot(station_id: str, version: OcppVersion) -> None:
        answers.append(await server.registry.call(station_id, call.GetConfiguration(key=["HeartbeatInterval"])))
        await server.backend._notify()

    server.registry.add_boot_listener(on_boot)
    async with charger(server, "CP16", V16) as cp:
        boot = await cp.call(call.BootNotification(charge_point_vendor="ACME", charge_point_model="M"), suppress=False)
        assert boot.status == "Accepted"
        await server.backend.wait_for(lambda: answers)
    assert answers[0].configuration_key[0]["value"] == "60"


class CallingBackend(InMemoryBackend):
    """A backend that (wrongly) calls the station while its message is being handled."""

    registry = None

    def __init__(self) -> None:
        super().__init__(PASSWORDS, TOKENS)
        self.errors: list[Exception] = []

    async def record(self, event: StationEvent) -> None:
        if isinstance(event, HeartbeatReceived):
            try:
                await self.registry.call(event.station_id, call.GetConfiguration())
            except CallWouldDeadlock as exc:
                self.errors.append(exc)
        await super().record(event)


async def test_a_call_from_inside_message_handling_fails_fast_instead_of_deadlocking():
    backend = CallingBackend()
    async with running_server(settings_with(call_timeout_s=30.0), backend) as server:
        backend.registry = server.registry
        async with charger(server, "CP16", V16) as cp:
            heartbeat = await asyncio.wait_for(cp.call(call.Heartbeat(), suppress=False), TIMEOUT)
        assert heartbeat.current_time.endswith("Z")
        assert len(backend.errors) == 1


# -- security profile 2: TLS -------------------------------------------------------------------------------


def _self_signed_with_cryptography(cert: Path, key: Path) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(private_key, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def _self_signed_with_openssl(cert: Path, key: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=30,
    )


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[str, str]:
    """A throw-away certificate for 127.0.0.1: with ``cryptography`` if installed, else the openssl CLI."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    if importlib.util.find_spec("cryptography") is not None:
        _self_signed_with_cryptography(cert, key)
    elif shutil.which("openssl") is not None:
        _self_signed_with_openssl(cert, key)
    else:
        pytest.skip("neither the cryptography package nor the openssl CLI is available to make a certificate")
    return str(cert), str(key)


async def test_tls_connection_with_basic_auth(self_signed):
    cert, key = self_signed
    async with running_server(settings_with(tls_certfile=cert, tls_keyfile=key)) as server:
        assert server.url.startswith("wss://")
        context = ssl.create_default_context(cafile=cert)
        async with charger(server, "CP16", V16, ssl=context) as cp:
            boot = await cp.call(call.BootNotification(charge_point_vendor="ACME", charge_point_model="M"),
                                 suppress=False)
        assert boot.status == "Accepted"
        refused = await refused_status(server, "CP16", password="wrong-password-12345", ssl=context)
        assert refused.response.status_code == 401
