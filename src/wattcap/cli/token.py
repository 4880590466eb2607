"""``wattcap token create | list | revoke``: API clients, their grants, and their bearer tokens.

A client is an identity (the building EMS, the grid operator's gateway, a fleet tool, an operator) with a grant
(:class:`wattcap.core.governance.Grant`): its scope, the profile purposes and bands it may write, its maximum limit,
the site signals it may post, or read-only. A token is shown once, when it is created; only a hash is stored.
The database is found as ``wattcap serve`` finds it; every change is audited with the local user as the actor.

    wattcap token create --client fleet --station CP1 --station CP2 --band session --max-a 32
    wattcap token create --client grid --site depot --signal site_limit
    wattcap token create --client ops --station '*' --band operator-cap --band operator-default --band operator-session
    wattcap token create --client dash --station '*' --read-only
    wattcap token create --client fleet --grant-file fleet.toml
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from wattcap.cli import app
from wattcap.cli.serve import ConfigOption, DatabaseOption
from wattcap.cli.station import _actor, _fail, _url, _with_repository

if TYPE_CHECKING:
    from wattcap.core.governance import Grant
    from wattcap.store import ApiClient, ApiToken, IssuedToken, Repository

token_app = typer.Typer(
    name="token", help="API clients, their grants and bearer tokens.", no_args_is_help=True, add_completion=False
)
app.add_typer(token_app, name="token")

Names = Annotated[list[str] | None, typer.Option()]


def _grant_document(
    sites: list[str], stations: list[str], evses: list[str], purposes: list[str], bands: list[str],
    max_a: float | None, max_w: float | None, signals: list[str], read_only: bool,
) -> dict[str, Any]:
    """The grant document the flags describe; purposes default to those of the bands given."""
    from wattcap.core.lifecycle import DEFAULT_BANDS

    if not purposes:
        known = {b.name: b.purpose.value for b in DEFAULT_BANDS}
        purposes = sorted({known[b] for b in bands if b in known})
    return {"sites": sites, "stations": stations, "evses": evses, "purposes": purposes, "bands": bands,
            "max_a": max_a, "max_w": max_w, "signals": signals, "read_only": read_only}


def _read_grant_file(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise typer.BadParameter(f"{path}: {exc.strerror or exc}", param_hint="--grant-file") from None
    except tomllib.TOMLDecodeError as exc:
        raise typer.BadParameter(f"{path}: {exc}", param_hint="--grant-file") from None


def _checked(document: dict[str, Any], hint: str) -> Grant:
    from wattcap.core.governance import Grant, GrantError
    from wattcap.core.lifecycle import DEFAULT_BANDS

    try:
        grant = Grant.from_json(document)
    except GrantError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from None
    problems = grant.problems(DEFAULT_BANDS)
    if problems:
        raise typer.BadParameter("; ".join(problems), param_hint=hint)
    return grant


def describe(grant: Grant) -> str:
    """One line for a person: what the grant lets the client do."""
    scope = ", ".join([*(f"site {s}" for s in sorted(grant.sites)), *(f"station {s}" for s in sorted(grant.stations)),
                       *(f"EVSE {s}/{e}" for s, e in sorted(grant.evses))]) or "nothing"
    parts = [f"scope: {scope}"]
    if grant.read_only:
        parts.append("read-only")
    else:
        if grant.bands:
            parts.append("bands: " + ", ".join(sorted(grant.bands)))
        if grant.signals:
            parts.append("signals: " + ", ".join(sorted(s.value for s in grant.signals)))
        maxima = [f"{grant.max_a:g} A" if grant.max_a is not None else "", f"{grant.max_w:g} W" if grant.max_w else ""]
        if any(maxima):
            parts.append("max " + " / ".join(m for m in maxima if m))
    return "; ".join(parts)


@token_app.command("create")
def create(
    client: Annotated[str, typer.Option("--client", help="The client's name (audit entries say api:NAME).")],
    site: Annotated[list[str] | None, typer.Option("--site", help="A site in scope ('*': every site).")] = None,
    station: Annotated[
        list[str] | None, typer.Option("--station", help="A station in scope ('*': every station).")
    ] = None,
    evse: Annotated[list[str] | None, typer.Option("--evse", help="One EVSE in scope, as STATION/EVSE.")] = None,
    purpose: Annotated[
        list[str] | None,
        typer.Option("--purpose", help="A profile purpose (TxProfile …); default: those of the bands."),
    ] = None,
    band: Annotated[list[str] | None, typer.Option("--band", help="A purpose band it may write (session …).")] = None,
    max_a: Annotated[float | None, typer.Option("--max-a", min=0, help="Highest limit, A per phase.")] = None,
    max_w: Annotated[float | None, typer.Option("--max-w", min=0, help="Highest limit, W total.")] = None,
    signal: Annotated[
        list[str] | None,
        typer.Option("--signal", help="A site signal it may post: site_limit, building_load, price, solar."),
    ] = None,
    read_only: Annotated[bool, typer.Option("--read-only", help="May read, change nothing.")] = False,
    grant_file: Annotated[
        Path | None, typer.Option("--grant-file", help="The grant as TOML (keys as the flags, lists).")
    ] = None,
    update_grant: Annotated[
        bool, typer.Option("--update-grant", help="Replace the grant of an existing client.")
    ] = False,
    description: Annotated[str | None, typer.Option(help="What the client is, for people.")] = None,
    label: Annotated[str | None, typer.Option(help="What this token is for (a host, a deployment).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the token.")] = False,
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a token for CLIENT (and the client, with the grant the flags describe). The token is shown once."""
    flags_given = any([site, station, evse, purpose, band, max_a is not None, max_w is not None, signal, read_only])
    if flags_given and grant_file is not None:
        raise typer.BadParameter("give the grant as flags or as --grant-file, not both", param_hint="--grant-file")
    grant = None
    if grant_file is not None:
        grant = _checked(_read_grant_file(grant_file), "--grant-file")
    elif flags_given:
        document = _grant_document(site or [], station or [], evse or [], purpose or [], band or [], max_a, max_w,
                                   signal or [], read_only)
        grant = _checked(document, "--site/--station/--band …")

    async def work(repository: Repository) -> tuple[IssuedToken, Grant, str]:
        from wattcap.core.governance import Grant

        existing = await repository.get_api_client(client)
        if existing is None:
            if grant is None:
                raise _fail(f"no client {client!r} yet: describe its grant (--station/--site/--band …, "
                            "--read-only, or --grant-file)")
            await repository.put_api_client(client, grant.to_json(), description=description)
            await repository.append_audit(_actor(), "api.client.create", target=f"api:{client}", after=grant)
            outcome = "created"
        else:
            current = Grant.from_json(existing.grant)
            outcome = "existing"
            if grant is not None and grant != current:
                if not update_grant:
                    raise _fail(f"client {client!r} exists with another grant ({describe(current)}); "
                                "add --update-grant to replace it")
                await repository.put_api_client(client, grant.to_json(), description=description)
                await repository.append_audit(_actor(), "api.client.update", target=f"api:{client}", before=current,
                                              after=grant)
                outcome = "grant updated"
            grant_now = grant or current
            return await _issue(repository, client, label), grant_now, outcome
        return await _issue(repository, client, label), grant, outcome

    issued, granted, outcome = _with_repository(_url(config, database_url), work)
    if quiet:
        typer.echo(issued.token)
        return
    typer.echo(f"client {client} ({outcome}): {describe(granted)}")
    typer.echo(f"token {issued.record.id} (shown once, store it now):")
    typer.echo(issued.token)


async def _issue(repository: Repository, client: str, label: str | None) -> IssuedToken:
    issued = await repository.create_api_token(client, label=label)
    await repository.append_audit(_actor(), "api.token.create", target=f"api:{client}",
                                  after={"token_id": issued.record.id, "label": label})
    return issued


def _when(at: datetime | None) -> str:
    return "-" if at is None else at.strftime("%Y-%m-%d %H:%M:%S")


@token_app.command("list")
def list_tokens(
    client: Annotated[str | None, typer.Option("--client", help="Only this client.")] = None,
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """The clients with their grants, and their tokens (ids only: the tokens themselves are not stored)."""

    async def work(repository: Repository) -> tuple[list[ApiClient], list[ApiToken]]:
        clients = await repository.list_api_clients()
        return [c for c in clients if client in (None, c.name)], await repository.list_api_tokens(client)

    clients, tokens = _with_repository(_url(config, database_url), work)
    console = Console()
    if not clients:
        console.print("No API clients.")
        return
    from wattcap.core.governance import Grant, GrantError

    table = Table("Client", "Grant", "Description")
    for c in clients:
        try:
            shown = describe(Grant.from_json(c.grant))
        except GrantError as exc:
            shown = f"unreadable ({exc}): grants nothing"
        table.add_row(c.name, shown, c.description or "")
    console.print(table)
    table = Table("Token id", "Client", "Label", "Created (UTC)", "Last used (UTC)", "Revoked (UTC)")
    for t in tokens:
        table.add_row(t.id, t.client, t.label or "", _when(t.created_at), _when(t.last_used_at), _when(t.revoked_at))
    console.print(table)


@token_app.command("revoke")
def revoke(
    token_id: Annotated[str | None, typer.Argument(help="The token's id (see `wattcap token list`).")] = None,
    client: Annotated[str | None, typer.Option("--client", help="Revoke every token of this client.")] = None,
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Revoke a token (or all of a client's); a revoked token is refused with 401 from the next request on."""
    if (token_id is None) == (client is None):
        raise typer.BadParameter("give a TOKEN_ID or --client, one of them")

    async def work(repository: Repository) -> str:
        if client is not None:
            count = await repository.revoke_client_tokens(client)
            await repository.append_audit(_actor(), "api.token.revoke", target=f"api:{client}",
                                          after={"revoked": count})
            return f"{count} token(s) of {client} revoked"
        assert token_id is not None
        record = await repository.revoke_api_token(token_id)
        if record is None:
            raise _fail(f"no token {token_id!r}")
        await repository.append_audit(_actor(), "api.token.revoke", target=f"api:{record.client}",
                                      after={"token_id": token_id})
        return f"token {token_id} of {record.client} revoked"

    typer.echo(_with_repository(_url(config, database_url), work))
