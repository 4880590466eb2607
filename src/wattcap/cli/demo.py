"""``wattcap demo``: the control plane on SQLite with a small simulated depot connected to it (``make run``).

Two processes, as in production: ``wattcap serve`` and ``wattcap simulate``. The demo registers the simulated
stations (security profile 1) with a password made for this run and hands it to the simulator through the
environment, so it never appears on a command line or in a log.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from wattcap.cli import app

#: The demo's API client: an operator of the demo stations (its token is made anew and printed on every run).
DEMO_CLIENT = "demo-operator"


async def _register(url: str, station_ids: list[str], password: str) -> str:
    """Register the stations with ``password``, and return a new API token of the demo operator (the previous
    runs' tokens are revoked: they were printed on a terminal)."""
    from wattcap.core.governance import Grant, Signal
    from wattcap.core.lifecycle import DEFAULT_BANDS
    from wattcap.store import Repository

    async with await Repository.open(url) as repository:
        for station_id in station_ids:
            if await repository.get_station(station_id) is None:
                await repository.add_station(station_id, password, security_profile=1)
            else:
                await repository.set_password(station_id, password)
        operator_bands = [b for b in DEFAULT_BANDS if b.owner == "operator" or b.name == "session"]
        grant = Grant(
            stations=frozenset(station_ids), sites=frozenset({"*"}), signals=frozenset(Signal),
            purposes=frozenset(b.purpose for b in operator_bands), bands=frozenset(b.name for b in operator_bands),
        )
        await repository.put_api_client(DEMO_CLIENT, grant.to_json(), description="wattcap demo")
        await repository.revoke_client_tokens(DEMO_CLIENT)
        return (await repository.create_api_token(DEMO_CLIENT, label="wattcap demo")).token


def _wait_healthy(port: int, process: subprocess.Popen, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"wattcap serve exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"wattcap serve did not answer on port {port} within {timeout_s:.0f} s")


def _write_site_file(stations: int) -> Path:
    """The demo depot's site file (the same fleet ``wattcap simulate --ocpp mixed`` builds), in ./data."""
    from wattcap.sim.fleet import FleetOptions, VersionMix, make_fleet
    from wattcap.sim.site import site_file_for

    path = Path("data") / "demo-site.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(site_file_for(make_fleet(FleetOptions(count=stations, versions=VersionMix.MIXED))))
    return path


def _write_rules_file(station_ids: list[str]) -> Path:
    """The demo depot's fleet rules, in ./data: the first station's EVs are vans with a goal by 06:00 (planned,
    cheapest first), EVs that announce their needs (ISO 15118) get them planned, everyone else at most 11 kW."""
    vans = ", ".join(f"TAG-{station_id}-1" for station_id in station_ids[:2])
    path = Path("data") / "demo-fleet.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""\
# wattcap demo: the fleet rules of the simulated depot (docs/fleet.md). GET /api/v1/fleet/sessions shows which
# rule each session got, its goal and its plan; the UI's "Rules & acceptance" page explains any session.
timezone: Europe/Berlin
vehicles:
  - {{id: van-01, type: delivery-van, battery_kwh: 75, id_tokens: [{vans}]}}
rules:
  - name: vans-by-six
    description: a van needs 30 kWh by 06:00, charged while the grid is cheap
    match: {{vehicle_type: delivery-van}}
    goal: {{energy_kwh: 30, by: "06:00", strategy: cheapest}}
    priority: high
  - name: iso15118
    description: an EV that announces its needs (ISO 15118) gets them by its departure
    match: {{station: "SIM-*"}}
    goal: {{energy: ev, departure: ev, within: 8h, strategy: fastest}}
    max_power_kw: 22
""")
    return path


@app.command()
def demo(
    stations: Annotated[int, typer.Option(min=1, max=50, help="How many simulated stations.")] = 6,
    port: Annotated[int, typer.Option(help="Port of the control plane (127.0.0.1).")] = 9000,
    database_url: Annotated[
        str | None, typer.Option(envvar="WATTCAP_DATABASE_URL", help="Database (default SQLite ./data/wattcap.db).")
    ] = None,
    arrivals: Annotated[
        str, typer.Option(help="now: an EV charging on every EVSE at once; depot: EVs arriving over a depot day.")
    ] = "now",
    speed: Annotated[float, typer.Option(min=1.0, help="Simulated time runs this many times faster.")] = 1.0,
) -> None:
    """Run the control plane with a small simulated depot (mixed OCPP 1.6 / 2.0.1 stations, EVs arriving)."""
    from wattcap.store import database_url as resolve_database_url

    console = Console()
    url = resolve_database_url({"WATTCAP_DATABASE_URL": database_url} if database_url else None)
    ids = [f"SIM-{n:03d}" for n in range(1, stations + 1)]
    password = secrets.token_urlsafe(24)[:32]
    api_token = asyncio.run(_register(url, ids, password))
    env = {**os.environ, "WATTCAP_DATABASE_URL": url, "WATTCAP_SIM_PASSWORD": password}
    command = [sys.executable, "-m", "wattcap"]
    site_file = _write_site_file(stations)
    rules_file = _write_rules_file(ids)
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--sites", str(site_file), "--rules", str(rules_file)], env=env
    )
    simulator: subprocess.Popen | None = None
    try:
        _wait_healthy(port, server)
        console.print(
            f"[bold]wattcap[/bold] serving OCPP at ws://127.0.0.1:{port}/ocpp/<station id>; "
            f"{stations} simulated stations connecting. Ctrl-C stops both."
        )
        console.print(
            f"Web UI: http://127.0.0.1:{port}/ui/ (sign in with the token below); "
            f"HTTP API: http://127.0.0.1:{port}/docs (live stream: ws://127.0.0.1:{port}/api/v1/stream); "
            f"operator token for this run:\n{api_token}"
        )
        simulator = subprocess.Popen(
            [
                *command,
                "simulate",
                "--csms",
                f"ws://127.0.0.1:{port}/ocpp",
                "--stations",
                str(stations),
                "--ocpp",
                "mixed",
                "--arrivals",
                arrivals,
                "--speed",
                str(speed),
                "--meter-interval",
                str(10.0 * speed),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
        )
        while server.poll() is None and simulator.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        for process in (simulator, server):
            if process is not None and process.poll() is None:
                process.terminate()
        for process in (simulator, server):
            if process is not None:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
