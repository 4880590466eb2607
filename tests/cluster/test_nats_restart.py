"""NATS itself restarts (a server of its own here, on a free port, with its own store): calls across nodes work again
once it is back, presence follows again (a station leaving and arriving is seen by the other node), and nothing
the nodes wrote is left behind."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import pytest
from ocpp import v16

from server.test_cli_serve import free_port

from .support import node
from .test_presence import PASSWORD, STATION, charger, until

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def nats_server(port: int, store: str) -> subprocess.Popen:
    return subprocess.Popen([NATS_SERVER, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", store],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_the_cluster_recovers_from_a_nats_restart(tmp_path, pg_url, nats_prefix):
    if shutil.which(NATS_SERVER) is None:
        pytest.skip("no nats-server binary to restart (apt-get install nats-server)")
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    server = nats_server(port, str(tmp_path / "nats"))
    try:
        await asyncio.sleep(0.5)
        async with node("a", pg_url, nats_prefix, nats_url=url) as a, node("b", pg_url, nats_prefix, nats_url=url) as b:
            await a.plane.repository.add_station(STATION, PASSWORD, security_profile=1, ocpp_version="1.6")
            ask = v16.call.GetConfiguration(key=["HeartbeatInterval"])
            async with charger(a.port):
                await until(lambda: STATION in b.plane.registry)
                await b.plane.registry.call(STATION, ask)
                server.terminate()
                server.wait(10)
                await asyncio.sleep(1.0)
                server = nats_server(port, str(tmp_path / "nats"))
                async with asyncio.timeout(15):
                    while True:
                        try:
                            answer = await b.plane.registry.call(STATION, ask)
                            break
                        except Exception:
                            await asyncio.sleep(0.2)
                assert answer.configuration_key[0]["value"] == "60"
            await until(lambda: STATION not in b.plane.registry and STATION not in a.plane.registry)
            async with charger(b.port):
                await until(lambda: a.plane.registry.where() == {STATION: "b"})
    finally:
        server.terminate()
        server.wait(10)
