"""Id tokens: the site's list of who may charge, with status and expiry; unknown ones are the server's call."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from wattcap.store import IdTokenStatus, Repository, TokenVerdict

from .conftest import FakeClock


@pytest.fixture
def token() -> str:
    """A token no other test uses (the tests share a database)."""
    return f"TOK-{uuid.uuid4().hex[:12]}"


async def test_a_token_is_added_and_replaced_by_the_last_call(repo: Repository, token: str, clock: FakeClock) -> None:
    created = clock.now
    first = await repo.add_id_token(token, group_id="FLEET-A")
    assert (first.status, first.group_id, first.expires_at, first.created_at) == (
        IdTokenStatus.ACCEPTED, "FLEET-A", None, created
    )
    clock.advance(60)
    expiry = clock.now + timedelta(days=30)
    second = await repo.add_id_token(token, status=IdTokenStatus.BLOCKED, expires_at=expiry)
    assert (second.status, second.group_id, second.expires_at) == (IdTokenStatus.BLOCKED, None, expiry)
    assert (second.created_at, second.updated_at) == (created, clock.now)
    assert await repo.get_id_token(token) == second
    assert token in [t.token for t in await repo.list_id_tokens()]


async def test_authorize_says_what_the_site_knows(repo: Repository, token: str, clock: FakeClock) -> None:
    assert await repo.authorize(token) is TokenVerdict.UNKNOWN
    await repo.add_id_token(token, expires_at=clock.now + timedelta(hours=1))
    assert await repo.authorize(token) is TokenVerdict.ACCEPTED
    clock.advance(3600)
    assert await repo.authorize(token) is TokenVerdict.EXPIRED  # expiry is inclusive
    assert await repo.authorize(token, at=clock.now - timedelta(seconds=1)) is TokenVerdict.ACCEPTED
    await repo.add_id_token(token, status="blocked")
    assert await repo.authorize(token) is TokenVerdict.BLOCKED


async def test_a_removed_token_is_unknown_again(repo: Repository, token: str) -> None:
    await repo.add_id_token(token)
    assert await repo.remove_id_token(token)
    assert not await repo.remove_id_token(token)
    assert await repo.authorize(token) is TokenVerdict.UNKNOWN


@pytest.mark.parametrize(("value", "status"), [("", "accepted"), ("T" * 256, "accepted"), ("OK", "maybe")])
async def test_invalid_tokens_are_refused(repo: Repository, value: str, status: str) -> None:
    with pytest.raises(ValueError):
        await repo.add_id_token(value, status=status)
