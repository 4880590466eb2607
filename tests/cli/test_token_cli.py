"""``wattcap token create | list | revoke`` against real databases (SQLite and PostgreSQL), through Typer's runner:
grants from flags or a file, a token shown once and usable, refusals naming the problem, revocation, audit."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from wattcap.cli import _register, app
from wattcap.core.governance import Grant
from wattcap.store import Repository


@pytest.fixture(autouse=True)
def _commands() -> None:
    _register()


def wattcap(database_url: str, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--database-url", database_url])


def said(result: Result) -> str:
    return " ".join(result.output.replace("│", " ").split())


def in_db(database_url: str, query: str, *args: Any) -> Any:
    async def run() -> Any:
        async with await Repository.open(database_url) as repository:
            return await getattr(repository, query)(*args)

    return asyncio.run(run())


def test_create_makes_the_client_with_its_grant_and_a_usable_token(database_url: str):
    result = wattcap(database_url, "token", "create", "--client", "fleet", "--station", "CP1", "--station", "CP2",
                     "--band", "session", "--max-a", "32", "--label", "depot gateway")
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("wc_") and "shown once" in result.output
    assert "scope: station CP1, station CP2; bands: session; max 32 A" in result.output
    client = in_db(database_url, "get_api_client", "fleet")
    assert Grant.from_json(client.grant) == Grant.from_json({
        "stations": ["CP1", "CP2"], "bands": ["session"], "purposes": ["TxProfile"], "max_a": 32})
    record, found = in_db(database_url, "authenticate_api_token", token)
    assert found.name == "fleet" and record.label == "depot gateway"
    actions = [e.action for e in in_db(database_url, "audit_entries") if e.target == "api:fleet"]
    assert actions == ["api.client.create", "api.token.create"]


def test_a_grant_file_and_a_second_token_for_an_existing_client(database_url: str, tmp_path: Path):
    grant_file = tmp_path / "grid.toml"
    grant_file.write_text('sites = ["depot"]\nsignals = ["site_limit"]\n')
    first = wattcap(database_url, "token", "create", "--client", "grid", "--grant-file", str(grant_file))
    assert first.exit_code == 0, first.output
    second = wattcap(database_url, "token", "create", "--client", "grid", "--quiet")
    assert second.exit_code == 0 and second.output.strip().startswith("wc_") and len(second.output.split()) == 1
    assert len(in_db(database_url, "list_api_tokens", "grid")) == 2


def test_a_different_grant_for_an_existing_client_needs_update_grant(database_url: str):
    assert wattcap(database_url, "token", "create", "--client", "ems", "--site", "depot",
                   "--signal", "building_load").exit_code == 0
    refused = wattcap(database_url, "token", "create", "--client", "ems", "--site", "depot", "--signal", "price")
    assert refused.exit_code == 1 and "--update-grant" in said(refused)
    replaced = wattcap(database_url, "token", "create", "--client", "ems", "--site", "depot", "--signal", "price",
                       "--update-grant")
    assert replaced.exit_code == 0 and "grant updated" in replaced.output
    assert in_db(database_url, "get_api_client", "ems").grant["signals"] == ["price"]


@pytest.mark.parametrize(("flags", "message"), [
    (["--station", "CP1", "--band", "vip"], "unknown band 'vip'"),
    (["--band", "session"], "scope: no site, station or EVSE"),
    (["--station", "CP1", "--purpose", "TxDefaultProfile", "--band", "session"], "band session holds TxProfile"),
    (["--evse", "CP1"], "evses[0]"),
    (["--station", "CP1", "--signal", "weather"], "signals[0]"),
    ([], "no client 'nobody' yet"),
])
def test_a_grant_that_cannot_be_is_refused_naming_the_problem(database_url: str, flags: list[str], message: str):
    result = wattcap(database_url, "token", "create", "--client", "nobody", *flags)
    assert result.exit_code != 0 and message in said(result), said(result)
    assert in_db(database_url, "get_api_client", "nobody") is None


def test_flags_and_a_grant_file_are_exclusive(database_url: str, tmp_path: Path):
    grant_file = tmp_path / "g.toml"
    grant_file.write_text('stations = ["*"]\nread_only = true\n')
    result = wattcap(database_url, "token", "create", "--client", "x", "--station", "CP1", "--grant-file",
                     str(grant_file))
    assert result.exit_code == 2 and "not both" in said(result)


def test_list_shows_clients_and_token_ids_never_tokens(database_url: str):
    created = wattcap(database_url, "token", "create", "--client", "dash", "--station", "*", "--read-only")
    token = created.output.strip().splitlines()[-1]
    listed = wattcap(database_url, "token", "list")
    assert listed.exit_code == 0
    assert "dash" in listed.output and "read-only" in listed.output
    assert token.split("_")[1] in listed.output and token not in listed.output


def test_revoke_one_token_or_every_token_of_a_client(database_url: str):
    tokens = [wattcap(database_url, "token", "create", "--client", "fleet", "--station", "CP1", "--band", "session",
                      "-q").output.strip() for _ in range(3)]
    token_id = tokens[0].split("_")[1]
    one = wattcap(database_url, "token", "revoke", token_id)
    assert one.exit_code == 0 and f"token {token_id} of fleet revoked" in one.output
    assert in_db(database_url, "authenticate_api_token", tokens[0]) is None
    assert in_db(database_url, "authenticate_api_token", tokens[1]) is not None
    rest = wattcap(database_url, "token", "revoke", "--client", "fleet")
    assert rest.exit_code == 0 and "2 token(s) of fleet revoked" in rest.output
    assert in_db(database_url, "authenticate_api_token", tokens[2]) is None
    unknown = wattcap(database_url, "token", "revoke", "ffffffffffff")
    assert unknown.exit_code == 1 and "no token" in said(unknown)
    both = wattcap(database_url, "token", "revoke", token_id, "--client", "fleet")
    assert both.exit_code == 2
