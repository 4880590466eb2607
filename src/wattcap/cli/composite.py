"""``wattcap composite``: the composite schedule of scenario files, as a table, a chart, JSON or an image."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from wattcap.cli import app
from wattcap.core.model import CompositeSchedule
from wattcap.ocpp.composite_json import composite_to_json
from wattcap.scenario import Scenario, ScenarioError, check_scenario, load_scenarios


class OutputFormat(StrEnum):
    TABLE = "table"
    CHART = "chart"
    JSON = "json"


def _read(source: str) -> tuple[str, str]:
    if source == "-":
        return sys.stdin.read(), "stdin"
    path = Path(source)
    if not path.is_file():
        raise typer.BadParameter(f"{source}: no such file", param_hint="SCENARIO")
    return path.read_text(encoding="utf-8"), path.name


@app.command()
def composite(
    scenario: Annotated[
        str, typer.Argument(help="A scenario .json file, a .jsonl file with one per line, or - for stdin.")
    ],
    output_format: Annotated[OutputFormat, typer.Option("--format", "-f", help="How to show each composite.")] = (
        OutputFormat.TABLE
    ),
    plot: Annotated[Path | None, typer.Option(help="Also draw the composites to FILE.svg or FILE.png.")] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Compare with each scenario's `expected`; exit 1 on a failure.")
    ] = False,
) -> None:
    """Compute the composite schedule a charger should report, with the profile that governs every period."""
    text, name = _read(scenario)
    console = Console()
    errors = Console(stderr=True)
    if plot is not None and plot.suffix.lower() not in (".svg", ".png"):
        raise typer.BadParameter("the plot file must end in .svg or .png", param_hint="--plot")
    passed = failed = skipped = 0
    drawn: list[CompositeSchedule] = []
    for item in load_scenarios(text, name=name):
        if isinstance(item, ScenarioError):
            errors.print(f"[red]invalid scenario[/red] {name}: {item}", markup=True, highlight=False, soft_wrap=True)
            failed += 1
            continue
        schedule = item.composite(
            with_layers=(not check and output_format is not OutputFormat.JSON) or plot is not None
        )
        if plot is not None:
            drawn.append(schedule)
        if check:
            if item.expected is None:
                skipped += 1
                continue
            result = check_scenario(item.id, schedule, item.expected, item.check)
            if result.passed:
                passed += 1
            else:
                failed += 1
                console.print(f"[red]FAIL[/red] {item.id}", highlight=False)
                for line in result.differences:
                    console.print(f"    {line}", highlight=False, markup=False)
            continue
        _show(console, item, schedule, output_format)
    if plot is not None and drawn:
        from wattcap.cli.plot import write_plot

        station = _first_station(text, name)
        write_plot(plot, drawn, voltage=station[0], default_phases=station[1])
        errors.print(f"wrote {plot}", highlight=False)
    if check:
        closing = f"{passed} passed, {failed} failed"
        print(closing + (f", {skipped} skipped" if skipped else ""))
    if failed:
        raise typer.Exit(1)


def _show(console: Console, scenario: Scenario, schedule: CompositeSchedule, output_format: OutputFormat) -> None:
    if output_format is OutputFormat.JSON:
        dialect = scenario.station.dialect
        body = composite_to_json(schedule, stack_level=dialect.reports_stack_level)
        print(json.dumps({"id": scenario.id, **body}))
        return
    from wattcap.cli.render import render_chart, render_table

    title = f"{scenario.id} — OCPP {scenario.version.value}, dialect {scenario.station.dialect.name}"
    if output_format is OutputFormat.TABLE:
        render_table(
            console,
            schedule,
            voltage=scenario.station.supply_voltage_v,
            default_phases=scenario.station.default_number_phases,
            title=title,
        )
    else:
        console.print(title, highlight=False)
        render_chart(
            console,
            schedule,
            voltage=scenario.station.supply_voltage_v,
            default_phases=scenario.station.default_number_phases,
        )


def _first_station(text: str, name: str) -> tuple[float, int]:
    for item in load_scenarios(text, name=name):
        if not isinstance(item, ScenarioError):
            return item.station.supply_voltage_v, item.station.default_number_phases
    return 230.0, 3
