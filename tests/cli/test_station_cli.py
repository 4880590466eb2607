"""``wattcap station add | list | approve`` against a real database (SQLite and PostgreSQL), through Typer's runner.

Passwords never appear in the output, only their hash reaches the database, and every change is audited.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from wattcap.cli import _register, app
from wattcap.store import Repository, StationState, create_engine

PASSWORD = "cli-password-000001"


@pytest.fixture(autouse=True)
def _commands() -> None:
    _register()


def wattcap(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input, env=env)


def said(result: Result) -> str:
    """The output as one line of words: Typer boxes and wraps error messages to the terminal width."""
    return " ".join(result.output.replace("│", " ").split())


def in_db(database_url: str, query: str = "get_station", *args: Any) -> Any:
    async def run() -> Any:
        async with await Repository.open(database_url) as repository:
            return await getattr(repository, query)(*args)

    return asyncio.run(run())


def stored_hash(database_url: str, station_id: str) -> str | None:
    async def run() -> str | None:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                sql = sa.text("SELECT password_hash FROM stations WHERE id = :id")
                return await connection.scalar(sql, {"id": station_id})
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_add_stores_only_a_hash_and_never_prints_the_password(database_url: str) -> None:
    result = wattcap("station", "add", "CP-1", "--password", PASSWORD, "--security-profile", "2",
                     "--database-url", database_url)
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    station = in_db(database_url, "get_station", "CP-1")
    assert (station.state, station.security_profile, station.has_password) == (StationState.ACCEPTED, 2, True)
    assert PASSWORD not in stored_hash(database_url, "CP-1")
    assert in_db(database_url, "verify_password", "CP-1", PASSWORD)
    (entry,) = in_db(database_url, "audit_entries")
    assert (entry.action, entry.target, entry.after) == ("station.add", "CP-1", {"state": "accepted",
                                                                                  "security_profile": 2})


def test_add_prompts_for_the_password_without_echo(database_url: str) -> None:
    result = wattcap("station", "add", "CP-2", "--database-url", database_url, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output and PASSWORD not in result.output
    assert in_db(database_url, "verify_password", "CP-2", PASSWORD)
    assert in_db(database_url, "get_station", "CP-2").security_profile == 1  # the default


def test_add_without_authentication_takes_no_password(database_url: str) -> None:
    assert wattcap("station", "add", "CP-0", "--security-profile", "0", "--database-url", database_url).exit_code == 0
    assert not in_db(database_url, "get_station", "CP-0").has_password
    refused = wattcap("station", "add", "CP-00", "--security-profile", "0", "--password", PASSWORD,
                      "--database-url", database_url)
    assert refused.exit_code == 2 and "no password" in said(refused)


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["CP-3", "--password", "too-short"], "16 to 40"),
        (["CP 3", "--password", PASSWORD], "STATION_ID"),
        (["CP-3", "--password", PASSWORD, "--security-profile", "3"], "security-profile"),
    ],
)
def test_add_refuses_what_the_server_would_refuse(database_url: str, args: list[str], complaint: str) -> None:
    result = wattcap("station", "add", *args, "--database-url", database_url)
    assert result.exit_code == 2 and complaint in said(result)
    assert in_db(database_url, "list_stations") == []


def test_add_refuses_an_existing_id(database_url: str) -> None:
    assert wattcap("station", "add", "CP-4", "--password", PASSWORD, "--database-url", database_url).exit_code == 0
    again = wattcap("station", "add", "CP-4", "--password", PASSWORD, "--database-url", database_url)
    assert again.exit_code == 1 and "already exists" in said(again)


def test_list_shows_id_state_version_last_seen_and_security_profile(database_url: str) -> None:
    assert "No stations." in wattcap("station", "list", "--database-url", database_url).output

    async def setup() -> None:
        async with await Repository.open(database_url) as repository:
            await repository.add_station("CP-A", PASSWORD, 1)
            await repository.mark_pending("CP-B")
            await repository.station_connected("CP-B", "2.0.1")

    asyncio.run(setup())
    result = wattcap("station", "list", "--database-url", database_url)
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
            for line in result.output.splitlines() if line.startswith("│")}
    assert rows["CP-A"] == ["accepted", "-", "never", "1"]
    (state, version, last_seen, profile) = rows["CP-B"]
    assert (state, version, profile) == ("pending", "2.0.1", "0") and last_seen != "never"


def test_approve_accepts_a_pending_station_with_a_prompted_password(database_url: str) -> None:
    in_db(database_url, "mark_pending", "CP-P")
    result = wattcap("station", "approve", "CP-P", "--database-url", database_url, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    station = in_db(database_url, "get_station", "CP-P")
    assert (station.state, station.security_profile, station.has_password) == (StationState.ACCEPTED, 1, True)
    assert in_db(database_url, "verify_password", "CP-P", PASSWORD)
    (entry,) = in_db(database_url, "audit_entries")
    assert (entry.action, entry.before["state"], entry.after["state"]) == ("station.approve", "pending", "accepted")

    again = wattcap("station", "approve", "CP-P", "--database-url", database_url)
    assert again.exit_code == 0 and "already accepted" in said(again)


def test_approve_an_unknown_station_fails(database_url: str) -> None:
    result = wattcap("station", "approve", "CP-NOPE", "--password", PASSWORD, "--database-url", database_url)
    assert result.exit_code == 1 and "no station 'CP-NOPE'" in said(result)


def test_the_database_comes_from_the_environment_or_the_settings_file(tmp_path: Path) -> None:
    from_env = f"sqlite:///{tmp_path / 'env.db'}"
    from_file = f"sqlite:///{tmp_path / 'file.db'}"
    config = tmp_path / "wattcap.toml"
    config.write_text(f'database_url = "{from_file}"\nport = 9100\n')

    add = ["station", "add", "CP-E", "--password", PASSWORD]
    assert wattcap(*add, "--config", str(config), env={"WATTCAP_DATABASE_URL": from_env}).exit_code == 0
    assert wattcap(*add[:3], "--security-profile", "0", "--config", str(config)).exit_code == 0
    assert [s.id for s in in_db(from_env, "list_stations")] == ["CP-E"]  # the environment beats the file
    assert [s.id for s in in_db(from_file, "list_stations")] == ["CP-E"]  # the file beats the default


def test_an_unreachable_database_is_an_error_without_the_password() -> None:
    result = wattcap("station", "list", "--database-url", "postgresql://wattcap:s3cret@127.0.0.1:1/wattcap")
    assert result.exit_code == 1
    assert "cannot use the database" in said(result) and "s3cret" not in result.output
