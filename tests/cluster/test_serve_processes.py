"""``wattcap serve --nats-url`` as an operator runs it: two real processes on one PostgreSQL database, one killed
with SIGKILL. The API of node B reaches a charger connected to node A; once A is killed, B holds the site's lease
within the lease time and one retry, and the charger, reconnected to B, is reached from B again."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from server.chargers import Charger16
from server.test_cli_serve import free_port, wait_healthy
from wattcap.server.cluster.bus import Bus, token
from wattcap.store import Repository

from .conftest import NATS_URL
from .support import api_token

STATION = "PROC-1"
PASSWORD = "password-of-proc-1-001"
LEASE_S = 2.0
SITES = """
[[sites]]
id = "yard"
fallback = "minimum"
lease_s = 120

[[sites.nodes]]
id = "grid"
max_current_a = 32
safe_current_a = 16

[[sites.evses]]
station = "PROC-1"
evse = 1
node = "grid"
max_current_a = 32
"""


def serve(name: str, port: int, database_url: str, prefix: str, sites: Path) -> subprocess.Popen:
    env = {**os.environ, "WATTCAP_NATS_PREFIX": prefix, "WATTCAP_CLUSTER_LEASE_S": str(LEASE_S)}
    return subprocess.Popen(
        [sys.executable, "-c", "from wattcap.cli import main; main()", "serve", "--port", str(port),
         "--database-url", database_url, "--nats-url", NATS_URL, "--node-id", name, "--sites", str(sites)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


@asynccontextmanager
async def charger(port: int) -> AsyncIterator[asyncio.Task]:
    auth = base64.b64encode(f"{STATION}:{PASSWORD}".encode()).decode()
    async with connect(f"ws://127.0.0.1:{port}/ocpp/{STATION}", subprotocols=["ocpp1.6"], compression=None,
                       proxy=None, additional_headers={"Authorization": f"Basic {auth}"}) as websocket:
        task = asyncio.create_task(Charger16(STATION, websocket, response_timeout=10).start())
        try:
            yield task
        finally:
            task.cancel()
            with suppress(BaseException):
                await task


async def leader(bus: Bus, prefix: str) -> str | None:
    kv = await bus.client.jetstream().key_value(f"{prefix}_leases")
    try:
        return (await kv.get(token("yard"))).value.decode()
    except Exception:
        return None


async def test_two_serve_processes_route_calls_and_one_survives_the_other_being_killed(
    tmp_path, pg_url, nats_prefix
):
    sites = tmp_path / "sites.toml"
    sites.write_text(SITES)
    ports = {"a": free_port(), "b": free_port()}
    processes = {"a": serve("a", ports["a"], pg_url, nats_prefix, sites)}
    bus = Bus(NATS_URL, nats_prefix, "test")
    await bus.connect()
    try:
        await wait_healthy(f"http://127.0.0.1:{ports['a']}/healthz", processes["a"])  # A migrated the schema
        processes["b"] = serve("b", ports["b"], pg_url, nats_prefix, sites)
        await wait_healthy(f"http://127.0.0.1:{ports['b']}/healthz", processes["b"])
        async with await Repository.open(pg_url, migrate_schema=False) as repository:
            await repository.add_station(STATION, PASSWORD, security_profile=1, ocpp_version="1.6")
            token_ = await api_token(repository, "ops", {"stations": [STATION], "bands": ["operator-default"]})
        headers = {"Authorization": f"Bearer {token_}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['b']}", headers=headers, trust_env=False,
                                     timeout=20) as on_b:
            assert await leader(bus, nats_prefix) == "a"
            async with charger(ports["a"]):
                async with asyncio.timeout(10):
                    while not (await on_b.get(f"/api/v1/stations/{STATION}")).json()["connection"]["connected"]:
                        await asyncio.sleep(0.05)
                verified = await on_b.post(f"/api/v1/stations/{STATION}/verify", params={"evse": 1})
                assert verified.status_code == 200, verified.text
                assert verified.json()["verdict"] in ("applied", "mismatch"), verified.json()

                processes["a"].send_signal(signal.SIGKILL)
                killed = time.monotonic()
                processes["a"].wait(10)
                async with asyncio.timeout(LEASE_S * 1.25 + 3):
                    while await leader(bus, nats_prefix) != "b":
                        await asyncio.sleep(0.05)
                took_over = time.monotonic() - killed
            assert took_over <= LEASE_S * 1.25 + 2.0, took_over
            async with charger(ports["b"]):  # the charger comes back, to B now
                verified = await on_b.post(f"/api/v1/stations/{STATION}/verify", params={"evse": 1})
                assert verified.json()["verdict"] in ("applied", "mismatch"), verified.json()
    finally:
        await bus.close()
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
            with suppress(Exception):
                _, stderr = process.communicate(timeout=20)
    assert "cluster.joined node=b" in stderr
    assert "cluster.lease.taken site=yard node=b" in stderr


def test_a_cluster_node_refuses_sqlite(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "from wattcap.cli import main; main()", "serve", "--nats-url", NATS_URL,
         "--database-url", f"sqlite:///{tmp_path / 'wattcap.db'}"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0 and "needs PostgreSQL" in result.stderr
