"""API clients and their bearer tokens in the store: grants kept as documents, tokens hashed, revocation, use."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from wattcap.store import Repository
from wattcap.store.api_clients import split_token

from .conftest import FakeClock

GRANT = {"stations": ["CP1"], "bands": ["session"], "purposes": ["TxProfile"], "max_a": 32.0}


@pytest.fixture
def client() -> str:
    """A client name no other test uses (the tests share a database)."""
    return f"client-{uuid.uuid4().hex[:10]}"


async def test_a_client_is_created_and_its_grant_replaced(repo: Repository, client: str, clock: FakeClock) -> None:
    created = await repo.put_api_client(client, GRANT, description="fleet tool")
    assert (created.grant, created.description, created.created_at) == (GRANT, "fleet tool", clock.now)
    clock.advance(60)
    replaced = await repo.put_api_client(client, {"stations": ["*"], "read_only": True})
    assert replaced.grant == {"stations": ["*"], "read_only": True}
    assert (replaced.description, replaced.created_at, replaced.updated_at) == ("fleet tool", created.created_at,
                                                                                clock.now)
    assert client in [c.name for c in await repo.list_api_clients()]


async def test_a_token_authenticates_its_client_until_it_is_revoked(repo: Repository, client: str) -> None:
    await repo.put_api_client(client, GRANT)
    issued = await repo.create_api_token(client, label="depot gateway")
    assert split_token(issued.token) is not None and split_token(issued.token)[0] == issued.record.id
    record, found = await repo.authenticate_api_token(issued.token)
    assert (record.id, record.client, record.label, found.name, found.grant) == (
        issued.record.id, client, "depot gateway", client, GRANT
    )
    revoked = await repo.revoke_api_token(issued.record.id)
    assert revoked is not None and revoked.revoked
    assert await repo.authenticate_api_token(issued.token) is None
    again = await repo.revoke_api_token(issued.record.id)
    assert again.revoked_at == revoked.revoked_at  # the first revocation stays


async def test_a_wrong_secret_a_foreign_string_or_an_unknown_id_authenticate_nothing(repo: Repository, client: str):
    await repo.put_api_client(client, GRANT)
    issued = await repo.create_api_token(client)
    token_id = issued.record.id
    for presented in (f"wc_{token_id}_wrong", "wc_ffffffffffff_" + issued.token.split("_", 2)[2], "Bearer x", "",
                      "wc__", issued.token + "x"):
        assert await repo.authenticate_api_token(presented) is None, presented


async def test_only_a_hash_is_stored(repo: Repository, client: str) -> None:
    await repo.put_api_client(client, GRANT)
    issued = await repo.create_api_token(client)
    async with repo.engine.connect() as connection:
        row = (await connection.execute(sa.text("SELECT * FROM api_tokens WHERE id = :id"),
                                        {"id": issued.record.id})).mappings().one()
    assert issued.token.split("_", 2)[2] not in str(dict(row))
    assert row["secret_hash"].startswith("sha256$")


async def test_last_use_is_written_at_most_once_a_minute(repo: Repository, client: str, clock: FakeClock) -> None:
    await repo.put_api_client(client, GRANT)
    issued = await repo.create_api_token(client)
    first = clock.now
    await repo.authenticate_api_token(issued.token)
    clock.advance(30)
    record, _ = await repo.authenticate_api_token(issued.token)
    assert record.last_used_at == first
    clock.advance(31)
    record, _ = await repo.authenticate_api_token(issued.token)
    assert record.last_used_at == clock.now
    [listed] = await repo.list_api_tokens(client)
    assert listed.last_used_at == clock.now


async def test_revoking_a_client_revokes_every_live_token_and_deleting_it_removes_them(repo: Repository, client: str):
    await repo.put_api_client(client, GRANT)
    tokens = [await repo.create_api_token(client) for _ in range(3)]
    await repo.revoke_api_token(tokens[0].record.id)
    assert await repo.revoke_client_tokens(client) == 2
    assert await repo.list_api_tokens(client, include_revoked=False) == []
    assert len(await repo.list_api_tokens(client)) == 3
    assert await repo.delete_api_client(client)
    assert await repo.list_api_tokens(client) == []


async def test_a_token_needs_a_known_client_and_a_client_a_name(repo: Repository, client: str) -> None:
    with pytest.raises(LookupError):
        await repo.create_api_token(client)
    with pytest.raises(ValueError):
        await repo.put_api_client("two words", GRANT)
