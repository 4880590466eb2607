"""``wattcap station add | list | approve``: the stations the server admits, in the server's own database.

The database is found as ``wattcap serve`` finds it (``--database-url``, ``WATTCAP_DATABASE_URL``, the
``database_url`` of ``--config``, else ``./data/wattcap.db``) and its schema is created or migrated first, so
stations can be registered before the server ever ran.

Passwords are prompted for without echo when not given (an option is visible in the shell history and the
process list), only their salted hash is stored, and they are never printed. Changes are written to the audit
log with the local user as the actor.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from wattcap.cli import app
from wattcap.cli.serve import ConfigOption, DatabaseOption, shown_url

if TYPE_CHECKING:  # the store (SQLAlchemy, Alembic) is imported when a command runs, not on every `wattcap`
    from wattcap.store import Repository, Station

T = TypeVar("T")

#: OCPP 2.0.1 A00.FR.205 / 1.6 security whitepaper: a Basic auth password is 16 to 40 characters.
PASSWORD_LENGTH = (16, 40)

station_app = typer.Typer(
    name="station", help="Register, list and approve charging stations.", no_args_is_help=True, add_completion=False
)
app.add_typer(station_app, name="station")

PasswordOption = Annotated[
    str | None,
    typer.Option(help="The station's Basic auth password (16-40 characters); prompted for, unechoed, if omitted."),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name (a container without USER or an /etc/passwd entry)
        return "cli"


def _url(config: Path | None, database_url: str | None) -> str:
    from wattcap.server.settings import SettingsError
    from wattcap.server.settings_file import load_settings
    from wattcap.store import database_url as resolve_database_url

    try:
        return resolve_database_url(load_settings(config, database_url=database_url))
    except SettingsError as exc:
        raise typer.BadParameter(str(exc)) from None


def _with_repository(url: str, work: Callable[[Repository], Awaitable[T]]) -> T:
    """Run ``work(repository)`` on the (migrated) database at ``url``."""
    import sqlalchemy.exc

    from wattcap.store import Repository

    async def run() -> T:
        async with await Repository.open(url) as repository:
            return await work(repository)

    try:
        return asyncio.run(run())
    except (OSError, sqlalchemy.exc.SQLAlchemyError) as exc:
        raise _fail(f"cannot use the database {shown_url(url)}: {exc}") from None


def _check_password(password: str) -> str:
    low, high = PASSWORD_LENGTH
    if not low <= len(password) <= high:
        raise typer.BadParameter(f"a station password is {low} to {high} characters (OCPP)", param_hint="--password")
    return password


def _password_for(security_profile: int, password: str | None) -> str | None:
    """The password to store: None for profile 0, else the one given or prompted for."""
    if security_profile == 0:
        if password is not None:
            raise typer.BadParameter("security profile 0 does not authenticate: no password", param_hint="--password")
        return None
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return _check_password(password)


def _check_station_id(station_id: str) -> None:
    from wattcap.server.handshake import valid_station_id

    if not valid_station_id(station_id):
        raise typer.BadParameter(
            "1 to 48 characters, no whitespace, ':' or '/' (the server refuses other ids)", param_hint="STATION_ID"
        )


@station_app.command("add")
def add(
    station_id: Annotated[str, typer.Argument(help="The station's OCPP identity (the last part of its URL).")],
    password: PasswordOption = None,
    security_profile: Annotated[
        int, typer.Option(min=0, max=2, help="0: no authentication, 1: Basic auth, 2: Basic auth over TLS.")
    ] = 1,
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Register a station as accepted: it may connect with its password and is answered Accepted at boot."""
    from wattcap.store import StationExistsError

    _check_station_id(station_id)
    secret = _password_for(security_profile, password)

    async def work(repository: Repository) -> bool:
        try:
            station = await repository.add_station(station_id, secret, security_profile)
        except StationExistsError:
            return False
        after = {"state": station.state, "security_profile": security_profile}
        await repository.append_audit(_actor(), "station.add", target=station_id, after=after)
        return True

    if not _with_repository(_url(config, database_url), work):
        raise _fail(f"station {station_id!r} already exists (a pending one is approved with `wattcap station approve`)")
    typer.echo(f"station {station_id} added (security profile {security_profile})")


@station_app.command("list")
def list_stations(database_url: DatabaseOption = None, config: ConfigOption = None) -> None:
    """The stations wattcap knows: registered, approved, and those awaiting approval."""
    async def work(repository: Repository) -> list[Station]:
        return await repository.list_stations()

    stations = _with_repository(_url(config, database_url), work)
    console = Console()
    if not stations:
        console.print("No stations.")
        return
    table = Table("ID", "State", "Version", "Last seen (UTC)", "Security profile")
    for station in stations:
        table.add_row(
            station.id,
            station.state.value,
            station.ocpp_version or "-",
            _when(station.last_seen_at),
            str(station.security_profile),
        )
    console.print(table)


def _when(at: datetime | None) -> str:
    return "never" if at is None else at.strftime("%Y-%m-%d %H:%M:%S")


@station_app.command("approve")
def approve(
    station_id: Annotated[str, typer.Argument(help="A station awaiting approval (see `wattcap station list`).")],
    password: PasswordOption = None,
    security_profile: Annotated[
        int | None,
        typer.Option(min=0, max=2, help="0, 1 or 2 (default: the station's own if it is 1 or 2, else 1)."),
    ] = None,
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Accept a pending (or rejected) station. It is answered Accepted once it reconnects with its password."""
    from wattcap.store import StationState

    url = _url(config, database_url)

    async def current(repository: Repository) -> Station | None:
        return await repository.get_station(station_id)

    station = _with_repository(url, current)
    if station is None:
        raise _fail(f"no station {station_id!r} (it appears once it has connected, or add it)")
    if station.state is StationState.ACCEPTED and password is None and security_profile is None:
        typer.echo(f"station {station_id} is already accepted")
        return
    profile = security_profile if security_profile is not None else max(station.security_profile, 1)
    keep_password = station.has_password and password is None and profile > 0
    secret = None if keep_password else _password_for(profile, password)

    async def work(repository: Repository) -> None:
        if not keep_password:
            await repository.set_password(station_id, secret)
        await repository.update_station(station_id, state=StationState.ACCEPTED, security_profile=profile)
        await repository.append_audit(
            _actor(),
            "station.approve",
            target=station_id,
            before={"state": station.state, "security_profile": station.security_profile},
            after={"state": StationState.ACCEPTED, "security_profile": profile},
        )

    _with_repository(url, work)
    typer.echo(f"station {station_id} accepted (security profile {profile})")
