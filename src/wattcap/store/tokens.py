"""Id tokens: who may charge at the site (1.6 idTag, 2.0.1 idToken value), with status and optional expiry.

Tokens are site-wide, not per station: a driver's card works at every charger of the site. The store only
answers what it knows (:class:`~wattcap.store.records.TokenVerdict`); what to do with a token it does not know
is the server's policy (``Settings.accept_unknown_tokens``), not the store's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from wattcap.store._base import StoreBase
from wattcap.store.records import IdToken, IdTokenStatus, TokenVerdict
from wattcap.store.schema import id_tokens

_MAX_TOKEN_LENGTH = 255


def _id_token(row: Any) -> IdToken:
    return IdToken(
        token=row["token"],
        status=IdTokenStatus(row["status"]),
        group_id=row["group_id"],
        expires_at=row["expires_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class IdTokenStore(StoreBase):
    """Add, list, remove and check id tokens."""

    async def add_id_token(
        self,
        token: str,
        *,
        group_id: str | None = None,
        status: IdTokenStatus | str = IdTokenStatus.ACCEPTED,
        expires_at: datetime | None = None,
    ) -> IdToken:
        """Add ``token`` or replace what is known about it (status, group, expiry): the last call wins."""
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            raise ValueError(f"an id token must be 1 to {_MAX_TOKEN_LENGTH} characters")
        now = self._clock()
        row = {
            "token": token,
            "group_id": group_id,
            "status": IdTokenStatus(status).value,
            "expires_at": expires_at,
            "created_at": now,
            "updated_at": now,
        }
        statement = self._insert(id_tokens).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=[id_tokens.c.token],
            set_={name: statement.excluded[name] for name in ("group_id", "status", "expires_at", "updated_at")},
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)
            stored = (await connection.execute(sa.select(id_tokens).where(id_tokens.c.token == token))).mappings()
            return _id_token(stored.one())

    async def get_id_token(self, token: str) -> IdToken | None:
        async with self._reader.connect() as connection:
            row = (await connection.execute(sa.select(id_tokens).where(id_tokens.c.token == token))).mappings()
            found = row.one_or_none()
        return None if found is None else _id_token(found)

    async def list_id_tokens(self) -> list[IdToken]:
        async with self._reader.connect() as connection:
            rows = (await connection.execute(sa.select(id_tokens).order_by(id_tokens.c.token))).mappings().all()
        return [_id_token(row) for row in rows]

    async def remove_id_token(self, token: str) -> bool:
        async with self._engine.begin() as connection:
            result = await connection.execute(sa.delete(id_tokens).where(id_tokens.c.token == token))
        return result.rowcount == 1

    async def authorize(self, token: str, at: datetime | None = None) -> TokenVerdict:
        """Whether ``token`` may charge at ``at`` (default now): blocked and expired tokens may not.

        Expiry is inclusive: a token whose ``expires_at`` is ``at`` has expired.
        """
        found = await self.get_id_token(token)
        if found is None:
            return TokenVerdict.UNKNOWN
        if found.status is IdTokenStatus.BLOCKED:
            return TokenVerdict.BLOCKED
        if found.expires_at is not None and found.expires_at <= (at or self._clock()):
            return TokenVerdict.EXPIRED
        return TokenVerdict.ACCEPTED
