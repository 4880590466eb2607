"""``wattcap rules check | explain``: try a fleet rules file before it is deployed.

``check`` reads the whole file and prints every issue as ``FILE:LINE:COL: reason`` (the form editors and CI jump
to), or OK with what it found; rules that can never apply are warned about. ``explain`` is the dry run: for a
session described by flags it shows every rule in evaluation order, each condition with why it held or not, and
the policy the session would get.

    wattcap rules check fleet.yaml
    wattcap rules explain fleet.yaml --station depot-1 --evse 2 --group visitors --at 2026-03-31T14:05
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from wattcap.cli import app

if TYPE_CHECKING:
    from wattcap.core.fleet.model import SessionPolicy
    from wattcap.core.fleet.rules import Evaluation, RuleSet

rules_app = typer.Typer(
    name="rules", help="Check fleet rules files and explain which rule a session gets.", no_args_is_help=True,
    add_completion=False,
)
app.add_typer(rules_app, name="rules")

FileArgument = Annotated[Path, typer.Argument(help="A fleet rules file (YAML, see docs/fleet.md).")]


def _load(path: Path) -> RuleSet:
    """The rule set in ``path``; every issue printed as FILE:LINE:COL and exit 1 when it is refused."""
    from wattcap.core.fleet.loader import RuleFileError, load_rules

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}", err=True)
        raise typer.Exit(1) from None
    try:
        return load_rules(text, source=str(path))
    except RuleFileError as exc:
        for issue in exc.issues:
            typer.echo(f"{issue.where(str(path))}: {issue.reason}")
        count = len(exc.issues)
        typer.echo(f"{path}: {count} issue{'s' if count != 1 else ''}; nothing was loaded", err=True)
        raise typer.Exit(1) from None


@rules_app.command("check")
def check(file: FileArgument) -> None:
    """Check a rules file: OK with a rule count, or every issue as FILE:LINE:COL: reason (exit 1)."""
    from wattcap.core.fleet.rules import never_reached

    ruleset = _load(file)
    for rule, by in never_reached(ruleset):
        where = f"{file}:{rule.line}:1" if rule.line is not None else str(file)
        typer.echo(f"{where}: warning: rule {rule.name!r} is never reached: rule {by.name!r}"
                   f"{f' (line {by.line})' if by.line else ''} comes first and matches every session")
    rules, vehicles = len(ruleset.rules), len(ruleset.vehicles)
    typer.echo(f"OK: {file}: {rules} rule{'s' if rules != 1 else ''}, {vehicles} vehicle{'s' if vehicles != 1 else ''}"
               f", times in {ruleset.timezone}")


def _at(text: str | None, ruleset: RuleSet) -> datetime:
    """``--at``: an ISO date-time; without a zone it is the rules' local time (how a person thinks of the site)."""
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 date-time", param_hint="--at") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ruleset.zone)
    return value.astimezone(UTC)


@rules_app.command("explain")
def explain(
    file: FileArgument,
    station: Annotated[str, typer.Option(help="The station's OCPP identity.")],
    evse: Annotated[int, typer.Option(help="The EVSE (1.6: connector) id.", min=0)],
    token: Annotated[str | None, typer.Option(help="The id-token presented.")] = None,
    group: Annotated[str | None, typer.Option(help="The id-token's group (groupIdToken / parentIdTag).")] = None,
    vehicle: Annotated[str | None, typer.Option(help="The EV's own vehicle id (2.0.1 EV data).")] = None,
    vehicle_type: Annotated[str | None, typer.Option(help="The EV's vehicle type.")] = None,
    site: Annotated[str | None, typer.Option(help="The site the station belongs to.")] = None,
    connector_type: Annotated[str | None, typer.Option(help="The connector type (cType2, cCCS2 …).")] = None,
    at: Annotated[str | None, typer.Option(help="When (ISO 8601; without a zone: the rules' local time). Now.")] = None,
    ev_departure: Annotated[str | None, typer.Option(help="The EV's announced departure (ISO 8601).")] = None,
) -> None:
    """Dry run: which rule a session gets, and why each rule did or did not match."""
    from wattcap.core.fleet.model import SessionFacts, Vehicle
    from wattcap.core.fleet.rules import evaluate

    ruleset = _load(file)
    own = Vehicle(id=vehicle or "(EV)", type=vehicle_type) if vehicle or vehicle_type else None
    facts = SessionFacts(
        at=_at(at, ruleset), station_id=station, evse_id=evse, site_id=site, id_token=token, id_token_group=group,
        vehicle=own, connector_type=connector_type,
        ev_departure=_at(ev_departure, ruleset) if ev_departure else None,
    )
    _show(evaluate(ruleset, facts), facts.at, ruleset)


def _show(evaluation: Evaluation, at: datetime, ruleset: RuleSet) -> None:
    console = Console()
    local = at.astimezone(ruleset.zone)
    console.print(f"session at {local:%Y-%m-%d %H:%M %a} {ruleset.timezone} ({at:%Y-%m-%dT%H:%M}Z); "
                  f"vehicle: {evaluation.vehicle_source}", markup=False)
    table = Table(show_lines=True)
    table.add_column("#")
    table.add_column("rule", overflow="fold")
    table.add_column("line")
    table.add_column("prec.")
    table.add_column("result")
    table.add_column("why", ratio=1, min_width=30)
    for position, entry in enumerate(evaluation.trace, start=1):
        result = ("[bold green]applies[/]" if entry.applied else
                  "[yellow]matches, not reached[/]" if entry.matched else "[dim]no match[/]")
        why = "\n".join(f"{'✓' if c.held else '✗'} {c.reason}" for c in entry.checks)
        table.add_row(str(position), escape(entry.rule.name), str(entry.rule.line or ""), str(entry.rule.precedence),
                      result, escape(why), style=None if entry.matched else "dim")
    console.print(table)
    _show_policy(console, evaluation.policy)


def _show_policy(console: Console, policy: SessionPolicy) -> None:
    console.print(f"policy: {'rule ' + policy.rule if policy.rule else 'defaults (no rule matched)'}; "
                  f"weight {policy.weight:g}, priority {policy.priority}"
                  + (f", at most {policy.max_power_w / 1000:g} kW" if policy.max_power_w is not None else "")
                  + (f", at most {policy.max_current_a:g} A" if policy.max_current_a is not None else ""),
                  markup=False)
    if policy.goal is not None:
        goal = policy.goal
        amount = " and ".join(filter(None, (
            f"{goal.soc_percent:g} % SoC" if goal.soc_percent is not None else "",
            f"{goal.energy_wh / 1000:g} kWh" if goal.energy_wh is not None else "")))
        console.print(f"goal: {amount} by {goal.departure:%Y-%m-%dT%H:%M}Z, {goal.strategy.value}")
    for note in policy.notes:
        console.print(f"  {note}", markup=False)
