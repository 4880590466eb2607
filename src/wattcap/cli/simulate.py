"""``wattcap simulate``: simulated charging stations (OCPP 1.6J / 2.0.1) for demos, CI and load tests.

See ``docs/simulator.md``. While it runs, commands typed (or piped) on stdin drive it: ``plug SIM-001 1``,
``drop all``, ``restore SIM-002``, ``reboot SIM-003``, ``status``, ``help``.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from wattcap.cli import app
from wattcap.core.station import CurrentType
from wattcap.core.timeutil import TimestampError, parse_timestamp
from wattcap.sim.fleet import FleetOptions, VersionMix
from wattcap.sim.launcher import ARRIVAL_MODES, LaunchConfig, launch, stdin_if_interactive
from wattcap.sim.personalities import PERSONALITIES
from wattcap.sim.runner import RunOptions


def _personalities(value: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    unknown = [n for n in names if n not in PERSONALITIES]
    if not names or unknown:
        raise typer.BadParameter(
            f"unknown personality {', '.join(unknown) or value!r}; see --list-personalities", param_hint="--personality"
        )
    return names


def _start(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except TimestampError as exc:
        raise typer.BadParameter(str(exc), param_hint="--start") from None


def _arrivals(value: str) -> str:
    if value in ARRIVAL_MODES or Path(value).is_file():
        return value
    raise typer.BadParameter(f"expected {', '.join(ARRIVAL_MODES)} or a scenario file, got {value!r}")


def print_personalities(console: Console) -> None:
    table = Table(box=None, show_edge=False)
    table.add_column("personality", no_wrap=True)
    table.add_column("fails", no_wrap=True)
    table.add_column("behaviour")
    for p in PERSONALITIES.values():
        table.add_row(p.name, str(p.fails or "-"), p.summary)
    console.print(table)


@app.command()
def simulate(
    csms: Annotated[
        str | None,
        typer.Option(help="Control plane OCPP endpoint; the station id is appended, e.g. ws://host:9000/ocpp"),
    ] = None,
    stations: Annotated[int, typer.Option(min=1, help="How many stations (ids PREFIX-001 …).")] = 1,
    ocpp: Annotated[VersionMix, typer.Option(help="OCPP version of the stations (mixed: odd 1.6, even 2.0.1).")] = (
        VersionMix.MIXED
    ),
    id_prefix: Annotated[str, typer.Option(help="Station id prefix.")] = "SIM",
    password: Annotated[
        str | None,
        typer.Option(
            envvar="WATTCAP_SIM_PASSWORD", help="HTTP Basic password (security profile 1).", show_default=False
        ),
    ] = None,
    meter_interval: Annotated[float, typer.Option(min=0.1, help="Seconds (station time) between meter values.")] = 10.0,
    arrivals: Annotated[
        str, typer.Option(help="now: an EV charging on every EVSE at start; depot: a day at a depot; none; or a file.")
    ] = "now",
    personality: Annotated[
        str, typer.Option(help="Vendor personality, or a comma-separated list spread over the stations.")
    ] = "everest",
    evses: Annotated[int | None, typer.Option(min=1, max=4, help="EVSEs per station (default: 1-4, varied).")] = None,
    current: Annotated[str | None, typer.Option(help="AC or DC for every station (default: mixed, mostly AC).")] = None,
    speed: Annotated[float, typer.Option(min=0.001, help="Station seconds per real second (accelerated time).")] = 1.0,
    start: Annotated[str | None, typer.Option(help="Station clock at launch (ISO 8601), e.g. for a depot day.")] = None,
    duration: Annotated[float | None, typer.Option(min=0, help="Stop after this many station seconds.")] = None,
    processes: Annotated[int, typer.Option(min=1, help="Spread the stations over this many processes.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed for the fleet and the arrivals (same seed, same site).")] = 1,
    status_every: Annotated[float, typer.Option(min=0, help="Real seconds between status lines (0: none).")] = 10.0,
    no_validate: Annotated[
        bool, typer.Option("--no-validate", help="Skip schema validation of what stations send (load tests).")
    ] = False,
    list_personalities: Annotated[bool, typer.Option("--list-personalities", help="List them and exit.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log connections and refusals.")] = False,
) -> None:
    """Run simulated charging stations against a control plane."""
    if list_personalities:
        print_personalities(Console())
        return
    if csms is None:
        raise typer.BadParameter("--csms is required", param_hint="--csms")
    current_type = None
    if current is not None:
        try:
            current_type = CurrentType(current.upper())
        except ValueError:
            raise typer.BadParameter("expected AC or DC", param_hint="--current") from None
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    config = LaunchConfig(
        fleet=FleetOptions(
            count=stations,
            id_prefix=id_prefix,
            versions=ocpp,
            personalities=_personalities(personality),
            evses=evses,
            current_type=current_type,
            seed=seed,
        ),
        run=RunOptions(url=csms, password=password, meter_interval_s=meter_interval, validate_outgoing=not no_validate),
        arrivals=_arrivals(arrivals),
        speed=speed,
        start=_start(start),
        duration_s=duration,
        processes=processes,
        status_every_s=status_every,
    )
    launch(config, commands=stdin_if_interactive(), out=lambda text: print(text, file=sys.stderr, flush=True))
