"""``wattcap acceptance``: is this site's charging-profile strategy deployment-ready? (``docs/acceptance.md``)

Against real chargers the command *is* the control plane for the run: it serves OCPP on the configured address
and database (stop ``wattcap serve`` first; the chargers reconnect to it), so everything goes through the same
profile lifecycle production uses, and it puts the stations' profiles back afterwards, also on Ctrl-C. With
``--simulate`` it runs simulated stations of the given personalities against a control plane of its own on a
throw-away database. Either way it shows the progress live and writes ``report.html`` (with plots),
``report.json`` and ``junit.xml``. Exit status: 0 when every check passed, 1 otherwise, 2 when it refused to run.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from wattcap.cli import app
from wattcap.cli.serve import ConfigOption, DatabaseOption, shown_url

_STYLE = {"pass": "green", "fail": "red", "unsupported": "dark_orange", "inconclusive": "grey50"}


def _floats(text: str | None, name: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise typer.BadParameter(f"expected numbers separated by commas, got {text!r}", param_hint=name) from None


class _Board:
    """The live display: stations × checks, each cell what is happening or how it ended."""

    def __init__(self, stations: list[str], checks) -> None:
        self.stations = stations
        self.checks = checks
        self.cells: dict[tuple[str, object], str] = {}
        self.notes: dict[str, str] = {}

    def update(self, progress) -> None:
        if progress.check is None:
            self.notes[progress.station_id] = progress.status
        else:
            self.cells[progress.station_id, progress.check] = progress.status

    def __rich__(self) -> Table:
        table = Table(title="wattcap acceptance", title_justify="left")
        table.add_column("station", no_wrap=True)
        for check in self.checks:
            table.add_column(f"{check.number}. {check.value}", max_width=28)
        for station in self.stations:
            cells = []
            for check in self.checks:
                text = self.cells.get((station, check), "")
                style = _STYLE.get(text)
                cells.append(f"[{style}]{text}[/]" if style else text)
            table.add_row(station, *cells)
        return table


@app.command()
def acceptance(
    station: Annotated[
        list[str] | None, typer.Option("--station", help="A station to test (repeat for several).")
    ] = None,
    simulate: Annotated[
        list[str] | None,
        typer.Option("--simulate", help="Test simulated stations of these personalities (repeat, or comma list)."),
    ] = None,
    tests: Annotated[
        str | None, typer.Option("--tests", help="Checks to run: site-cap,scope,stack,boundaries,variance,fallback.")
    ] = None,
    report: Annotated[Path, typer.Option("--report", help="Directory for report.html, report.json, junit.xml.")] = (
        Path("acceptance-report")
    ),
    site_cap_a: Annotated[
        float | None,
        typer.Option("--site-cap-a", help="The stations under test may draw at most this (A per phase) together; "
                     "the run is refused if its planned limits could exceed it."),
    ] = None,
    cap_levels: Annotated[
        str | None, typer.Option("--cap-levels", help="Site cap steps in A per EVSE, e.g. 10.6,7.3,0,12.4.")
    ] = None,
    lead_time: Annotated[
        float | None, typer.Option("--lead-time", help="Seconds ahead boundaries are placed (default 120; sim 10).")
    ] = None,
    reaction: Annotated[
        float | None, typer.Option("--reaction", help="Seconds a charger and EV get to follow a lower limit.")
    ] = None,
    unattended: Annotated[
        bool, typer.Option("--unattended", help="No prompts: checks that need an EV charging are inconclusive.")
    ] = False,
    ocpp: Annotated[
        str, typer.Option(help="Simulated stations' OCPP version: 1.6, 2.0.1, both, or mixed (alternating).")
    ] = "2.0.1",
    speed: Annotated[float, typer.Option(min=0.1, help="Simulated time: station seconds per real second.")] = 6.0,
    start: Annotated[
        str | None, typer.Option(help="Simulated clock at launch (ISO 8601), e.g. before midnight.")
    ] = None,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Write the HTML without plots (faster).")] = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    host: Annotated[str | None, typer.Option(help="Address to serve OCPP on (as wattcap serve).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to serve OCPP on (as wattcap serve).")] = None,
) -> None:
    """Run the acceptance suite (site cap, scope, stack resolution, boundaries, variance, fallback) and report."""
    from wattcap.acceptance.checks import ALL_CHECKS, parse_checks
    from wattcap.acceptance.plan import AcceptanceSettings
    from wattcap.acceptance.reports import write_reports
    from wattcap.acceptance.runner import AcceptanceRefused

    if bool(station) == bool(simulate):
        raise typer.BadParameter("name stations with --station, or personalities with --simulate (not both)")
    try:
        checks = parse_checks([tests]) if tests else ALL_CHECKS
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tests") from None
    levels = _floats(cap_levels, "--cap-levels")
    console = Console(stderr=True)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("ocpp").setLevel(logging.ERROR)
    logging.getLogger("wattcap.server").setLevel(logging.ERROR)

    def tuned(base: AcceptanceSettings) -> AcceptanceSettings:
        changes: dict[str, object] = {}
        if site_cap_a is not None:
            changes["site_cap_a"] = site_cap_a
        if levels is not None:
            changes["cap_levels_a"] = levels
        if lead_time is not None:
            changes["lead_s"] = lead_time
        if reaction is not None:
            changes["reaction_s"] = reaction
        return replace(base, **changes)

    try:
        if simulate:
            result = _simulated(simulate, ocpp, speed, start, checks, tuned, console)
        else:
            result = _real(list(dict.fromkeys(station or [])), checks, tuned(AcceptanceSettings()), unattended,
                           config, database_url, host, port, console)
    except AcceptanceRefused as refused:
        console.print(f"[red]wattcap acceptance: refused:[/] {refused}")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        console.print("interrupted: the stations' profiles were restored (see the log above)")
        raise typer.Exit(130) from None
    written = write_reports(result, report, plots=not no_plots)
    console.print(_matrix(result))
    for line in _quirks(result):
        console.print(line, highlight=False)
    for kind, path in written.items():
        console.print(f"{kind}: {path}")
    raise typer.Exit(0 if result.passed else 1)


_SHORT = {"pass": "pass", "fail": "FAIL", "unsupported": "unsup", "inconclusive": "?"}


def _matrix(report) -> Table:
    """The variance matrix for the terminal: checks by number (the legend below), the quirks under it."""
    table = Table(title="stations × checks", title_justify="left", caption=" ".join(
        f"{c.number}={c.slug}" for c in report.checks), caption_justify="left")
    for name in ("station", "OCPP", "dialect"):
        table.add_column(name, no_wrap=True)
    for check in report.checks:
        table.add_column(str(check.number), no_wrap=True)
    for s in report.stations:
        observed = (s.observed_dialect or "-").split(" with ")[0]
        dialect = s.configured_dialect if observed in ("-", s.configured_dialect) else (
            f"{s.configured_dialect}→{observed}")
        cells = []
        for check in report.checks:
            verdict = s.verdicts.get(check)
            cells.append(f"[{_STYLE[verdict.value]}]{_SHORT[verdict.value]}[/]" if verdict else "")
        table.add_row(s.station_id, s.ocpp_version, dialect, *cells)
    return table


def _quirks(report) -> list[str]:
    """Per station what it was seen to do differently: its observed dialect when it is not the configured one
    as configured, and the features it refused."""
    lines = []
    for s in report.stations:
        if s.observed_dialect and s.observed_dialect != s.configured_dialect:
            lines.append(f"  {s.station_id}: observed {s.observed_dialect}")
        for quirk in s.quirks:
            if "where nothing" not in quirk and not quirk.startswith("answers "):
                lines.append(f"  {s.station_id}: {quirk}")
    return lines


def _simulated(personalities_in, ocpp, speed, start, checks, tuned, console):
    from wattcap.acceptance.plan import AcceptanceSettings
    from wattcap.acceptance.simulated import run_simulated
    from wattcap.core.model import OcppVersion
    from wattcap.core.timeutil import TimestampError, parse_timestamp
    from wattcap.sim.personalities import PERSONALITIES

    names = [n.strip() for raw in personalities_in for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in PERSONALITIES]
    if unknown:
        raise typer.BadParameter(f"unknown personality {', '.join(unknown)}; see wattcap simulate --list-personalities",
                                 param_hint="--simulate")
    versions = {"1.6": (OcppVersion.V16,), "2.0.1": (OcppVersion.V201,), "both": (OcppVersion.V16, OcppVersion.V201)}
    if ocpp not in (*versions, "mixed"):
        raise typer.BadParameter("expected 1.6, 2.0.1, both or mixed", param_hint="--ocpp")
    begin: datetime | None = None
    if start is not None:
        try:
            begin = parse_timestamp(start)
        except TimestampError as exc:
            raise typer.BadParameter(str(exc), param_hint="--start") from None
    from wattcap.acceptance.simulated import acceptance_station

    if ocpp == "mixed":  # alternating, 2.0.1 first: a site of both generations
        specs = [acceptance_station(n, (OcppVersion.V201, OcppVersion.V16)[i % 2]) for i, n in enumerate(names)]
    else:
        specs = [acceptance_station(n, v) for n in names for v in versions[ocpp]]
    board = _Board([s.station_id for s in specs], checks)
    settings = tuned(AcceptanceSettings.simulated(10.0))
    with Live(board, console=console, refresh_per_second=4, transient=False):
        return asyncio.run(run_simulated((), specs=specs, checks=checks, speed=speed, start=begin, settings=settings,
                                         progress=board.update))


def _real(stations, checks, settings, unattended, config, database_url, host, port, console):
    from wattcap.acceptance.attendant import ConsoleAttendant, Unattended
    from wattcap.acceptance.control_plane import in_process_plane
    from wattcap.acceptance.runner import run_acceptance
    from wattcap.server.settings import SettingsError
    from wattcap.server.settings_file import load_settings
    from wattcap.store import database_url as resolve_database_url

    try:
        server = load_settings(config, host=host, port=port, database_url=database_url)
    except SettingsError as exc:
        raise typer.BadParameter(str(exc)) from None
    url = resolve_database_url(server)
    board = _Board(stations, checks)

    async def run():
        async with in_process_plane(server, url) as plane:
            console.print(f"serving OCPP at {plane.url} on {shown_url(url)}: the chargers connect here")
            attendant = Unattended() if unattended else ConsoleAttendant(console.print,
                                                                         timeout_s=settings.session_timeout_s)
            return await run_acceptance(plane, stations, checks=checks, settings=settings, attendant=attendant,
                                        progress=board.update)

    with Live(board, console=console, refresh_per_second=2, transient=False):
        return asyncio.run(run())
