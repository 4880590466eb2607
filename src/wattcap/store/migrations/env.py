"""Alembic environment for the wattcap store.

:func:`wattcap.store.db.migrate` passes an open connection in ``config.attributes["connection"]`` (so the
server migrates on the engine it already has, inside its event loop). The ``alembic`` command line, used by
developers to write new revisions, gets none and opens its own engine from ``sqlalchemy.url`` or
``WATTCAP_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import context

from wattcap.store.schema import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_on_new_engine() -> None:
    from wattcap.store.db import create_engine, database_url

    engine = create_engine(config.get_main_option("sqlalchemy.url") or database_url())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _run_offline() -> None:
    from wattcap.store.db import database_url

    context.configure(
        url=config.get_main_option("sqlalchemy.url") or database_url(),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
elif (shared := config.attributes.get("connection")) is not None:
    _run(shared)
else:
    asyncio.run(_run_on_new_engine())
