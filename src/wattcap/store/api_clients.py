"""API clients and their bearer tokens: who may use the HTTP API, and with which grant.

A token is ``wc_<id>_<secret>``: the id is public (listings show it, revoking names it) and finds the row; the
secret is 256 random bits of which only a SHA-256 is stored. The station passwords' scrypt
(:mod:`wattcap.store.passwords`) is deliberately not used here: it exists to make guessing a *low-entropy*
password expensive, which a random 256-bit secret does not need, and its tens of milliseconds and 16 MiB per
check would be spent on every API request (and would hand anyone a cheap way to load the server).

The grant is stored as the document :class:`wattcap.core.governance.Grant` reads; the store does not interpret it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from wattcap.store._base import StoreBase
from wattcap.store.records import ApiClient, ApiToken, IssuedToken
from wattcap.store.schema import api_clients, api_tokens

TOKEN_PREFIX = "wc_"
_ID_BYTES = 6  # 12 hex digits: unique enough among one site's tokens, short enough to type when revoking
_SECRET_BYTES = 32
_MAX_NAME = 64
# Checked against when the token id is unknown, so the answer takes as long either way.
_DUMMY_HASH = "sha256$" + "0" * 64


def _hash(secret: str) -> str:
    return "sha256$" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a token in the ``wc_<id>_<secret>`` form, or None for anything else."""
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
        return None
    token_id, underscore, secret = token[len(TOKEN_PREFIX):].partition("_")
    if not underscore or not token_id or not secret or len(token_id) > 32:
        return None
    return token_id, secret


def _client(row: Mapping[str, Any]) -> ApiClient:
    return ApiClient(
        name=row["name"], grant=dict(row["grant_json"]), description=row["description"],
        created_at=row["created_at"], updated_at=row["updated_at"],
    )


def _token(row: Mapping[str, Any]) -> ApiToken:
    return ApiToken(
        id=row["id"], client=row["client"], label=row["label"], created_at=row["created_at"],
        last_used_at=row["last_used_at"], revoked_at=row["revoked_at"],
    )


class ApiClientStore(StoreBase):
    """Clients with their grants, their tokens, and checking a presented token."""

    async def put_api_client(
        self, name: str, grant: Mapping[str, Any], *, description: str | None = None
    ) -> ApiClient:
        """Create the client or replace its grant (and description, if given)."""
        if not name or len(name) > _MAX_NAME or any(c.isspace() for c in name):
            raise ValueError(f"a client name is 1 to {_MAX_NAME} characters without whitespace")
        now = self._clock()
        row = {"name": name, "grant_json": dict(grant), "description": description, "created_at": now,
               "updated_at": now}
        statement = self._insert(api_clients).values(row)
        changed = {"grant_json": statement.excluded.grant_json, "updated_at": statement.excluded.updated_at}
        if description is not None:
            changed["description"] = statement.excluded.description
        statement = statement.on_conflict_do_update(index_elements=[api_clients.c.name], set_=changed)
        async with self._engine.begin() as connection:
            await connection.execute(statement)
            stored = await connection.execute(sa.select(api_clients).where(api_clients.c.name == name))
            return _client(stored.mappings().one())

    async def get_api_client(self, name: str) -> ApiClient | None:
        async with self._reader.connect() as connection:
            row = (await connection.execute(sa.select(api_clients).where(api_clients.c.name == name))).mappings()
            found = row.one_or_none()
        return None if found is None else _client(found)

    async def list_api_clients(self) -> list[ApiClient]:
        async with self._reader.connect() as connection:
            rows = (await connection.execute(sa.select(api_clients).order_by(api_clients.c.name))).mappings().all()
        return [_client(row) for row in rows]

    async def delete_api_client(self, name: str) -> bool:
        """Remove a client and (by cascade) every token of it."""
        async with self._engine.begin() as connection:
            result = await connection.execute(sa.delete(api_clients).where(api_clients.c.name == name))
        return result.rowcount == 1

    async def create_api_token(self, client: str, *, label: str | None = None) -> IssuedToken:
        """A new token for ``client``; its text is in the result and nowhere else. Raises LookupError for an
        unknown client."""
        token_id = secrets.token_hex(_ID_BYTES)
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        row = {"id": token_id, "client": client, "secret_hash": _hash(secret), "label": label,
               "created_at": self._clock(), "last_used_at": None, "revoked_at": None}
        async with self._engine.begin() as connection:
            known = await connection.scalar(sa.select(api_clients.c.name).where(api_clients.c.name == client))
            if known is None:
                raise LookupError(f"no API client {client!r}")
            await connection.execute(sa.insert(api_tokens).values(row))
        return IssuedToken(f"{TOKEN_PREFIX}{token_id}_{secret}", _token(row))

    async def list_api_tokens(self, client: str | None = None, *, include_revoked: bool = True) -> list[ApiToken]:
        query = sa.select(api_tokens).order_by(api_tokens.c.client, api_tokens.c.created_at, api_tokens.c.id)
        if client is not None:
            query = query.where(api_tokens.c.client == client)
        if not include_revoked:
            query = query.where(api_tokens.c.revoked_at.is_(None))
        async with self._reader.connect() as connection:
            return [_token(row) for row in (await connection.execute(query)).mappings()]

    async def revoke_api_token(self, token_id: str) -> ApiToken | None:
        """Revoke a token (a revoked one keeps its first revocation time); None if there is no such token."""
        async with self._engine.begin() as connection:
            await connection.execute(
                sa.update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )
            row = (await connection.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id))).mappings()
            found = row.one_or_none()
        return None if found is None else _token(found)

    async def revoke_client_tokens(self, client: str) -> int:
        """Revoke every live token of ``client``; returns how many."""
        async with self._engine.begin() as connection:
            result = await connection.execute(
                sa.update(api_tokens)
                .where(api_tokens.c.client == client, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )
        return result.rowcount

    async def authenticate_api_token(
        self, token: str, *, touch_after_s: float = 60.0
    ) -> tuple[ApiToken, ApiClient] | None:
        """The token and its client if ``token`` is a live token's text; else None (malformed, unknown,
        wrong secret or revoked, in comparable time).

        ``last_used_at`` is written at most every ``touch_after_s``: a write per request would serialise every
        API call on SQLite's single writer for a timestamp nobody needs to the second.
        """
        parts = split_token(token)
        token_id, secret = parts if parts is not None else ("", token if isinstance(token, str) else "")
        query = (
            sa.select(api_tokens, api_clients.c.grant_json, api_clients.c.description,
                      api_clients.c.created_at.label("client_created_at"),
                      api_clients.c.updated_at.label("client_updated_at"))
            .join(api_clients, api_clients.c.name == api_tokens.c.client)
            .where(api_tokens.c.id == token_id)
        )
        async with self._reader.connect() as connection:
            row = (await connection.execute(query)).mappings().one_or_none() if parts else None
        stored = row["secret_hash"] if row is not None else _DUMMY_HASH
        matches = hmac.compare_digest(_hash(secret), stored)
        if row is None or not matches or row["revoked_at"] is not None:
            return None
        now = self._clock()
        record = _token(row)
        if record.last_used_at is None or now - record.last_used_at >= timedelta(seconds=touch_after_s):
            async with self._engine.begin() as connection:
                await connection.execute(
                    sa.update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now)
                )
            record = ApiToken(record.id, record.client, record.label, record.created_at, now, record.revoked_at)
        client = ApiClient(
            name=row["client"], grant=dict(row["grant_json"]), description=row["description"],
            created_at=row["client_created_at"], updated_at=row["client_updated_at"],
        )
        return record, client
