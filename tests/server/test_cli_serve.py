"""``wattcap serve`` as a user runs it: a real process, settings from the environment, structured logs."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys

import httpx
from websockets.asyncio.client import connect

from wattcap.server.settings import Settings, UnknownStationPolicy
from wattcap.store import Repository, StationState

from .conftest import TIMEOUT, basic_auth


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_healthy(url: str, process: subprocess.Popen) -> None:
    async with httpx.AsyncClient(trust_env=False) as client, asyncio.timeout(TIMEOUT * 2):
        while True:
            assert process.poll() is None, "server exited early"
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                await asyncio.sleep(0.05)


async def test_serve_runs_uvicorn_with_env_settings_and_logs_frames_with_station_and_message_ids(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "WATTCAP_UNKNOWN_STATIONS": "pending",
        "WATTCAP_HEARTBEAT_INTERVAL_S": "77",
        "WATTCAP_DATABASE_URL": f"sqlite:///{tmp_path / 'wattcap.db'}",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", "from wattcap.cli import main; main()", "serve", "--port", str(port), "--log-ocpp"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        await wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        async with connect(f"ws://127.0.0.1:{port}/ocpp/NEW-1", proxy=None, compression=None,
                           additional_headers=basic_auth("NEW-1", "s3cret-pw-0123456789")) as websocket:
            await websocket.send('[2,"boot-1","BootNotification",{"chargePointVendor":"A","chargePointModel":"M"}]')
            answer = json.loads(await asyncio.wait_for(websocket.recv(), TIMEOUT))
            await websocket.send('[2,"bad-1","Heartbeat",{"x":1}]')
            await asyncio.wait_for(websocket.recv(), TIMEOUT)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=TIMEOUT)
    assert answer[2]["status"] == "Pending" and answer[2]["interval"] == 77
    assert "ocpp.connection.accepted station_id=NEW-1 version=1.6" in stderr
    assert "recv station_id=NEW-1 frame=[2,\"boot-1\"" in stderr
    assert "ocpp.callerror.sent station_id=NEW-1 message_id=bad-1 error=FormationViolation" in stderr
    assert "s3cret-pw" not in stderr
    # The schema was created on start, and the unknown station is in the database, awaiting approval.
    assert "store.ready" in stderr and "schema_revision=None" not in stderr
    async with await Repository.open(env["WATTCAP_DATABASE_URL"], migrate_schema=False) as repository:
        station = await repository.get_station("NEW-1")
    assert (station.state, station.vendor, station.ocpp_version) == (StationState.PENDING, "A", "1.6")


def test_settings_policy_names_are_the_env_values():
    assert Settings.from_env({"WATTCAP_UNKNOWN_STATIONS": "pending"}).unknown_stations is UnknownStationPolicy.PENDING


def test_serve_refuses_half_a_tls_configuration(tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    result = subprocess.run(
        [sys.executable, "-c", "from wattcap.cli import main; main()", "serve", "--tls-cert", str(cert)],
        capture_output=True, text=True, timeout=TIMEOUT * 3,
    )
    assert result.returncode != 0 and "--tls-key" in result.stderr


def test_serve_refuses_a_rules_file_with_an_issue_naming_its_line(tmp_path):
    rules = tmp_path / "fleet.yaml"
    rules.write_text("rules:\n  - name: visitors\n    max_power_kw: eleven\n")
    result = subprocess.run(
        [sys.executable, "-c", "from wattcap.cli import main; main()", "serve", "--rules", str(rules)],
        capture_output=True, text=True, timeout=TIMEOUT * 3,
    )
    assert result.returncode != 0
    assert f"{rules}:3:" in result.stderr and "eleven" in result.stderr
