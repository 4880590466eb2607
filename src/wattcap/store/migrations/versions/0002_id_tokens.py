"""Id tokens: who may charge (token, group, accepted/blocked, optional expiry).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Frozen history, like 0001: types are spelled out here, not imported from ``wattcap.store.schema``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "id_tokens",
        sa.Column("token", sa.String(255), nullable=False),
        sa.Column("group_id", sa.String(255)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('accepted', 'blocked')", name=op.f("ck_id_tokens_status")),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_id_tokens")),
    )


def downgrade() -> None:
    op.drop_table("id_tokens")
