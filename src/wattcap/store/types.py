"""Column types and SQL helpers that behave the same on SQLite and PostgreSQL.

The rest of the store is written once for both databases; the few places where they differ live here:

* SQLite has no time zones, so :class:`UtcDateTime` stores naive UTC there and hands back aware UTC on both;
* PostgreSQL gets ``JSONB`` and ``BIGINT`` keys, SQLite ``JSON`` text and ``INTEGER`` (its only auto-increment);
* :class:`bucket_start` floors a timestamp to a bucket of whole seconds in each dialect's own date arithmetic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

#: Auto-increment surrogate key: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: A JSON document: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
Json = sa.JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(sa.TypeDecorator[datetime]):
    """An aware UTC timestamp on both databases; naive datetimes are refused rather than guessed.

    SQLite stores the naive UTC text (fixed width, so text order is time order); PostgreSQL a ``timestamptz``.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store only takes aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class bucket_start(FunctionElement[int]):
    """``floor(epoch_seconds(column) / seconds) * seconds``: the start of the bucket a timestamp falls in.

    Buckets are aligned to the Unix epoch, so the same sample always lands in the same bucket whatever range
    is queried.
    """

    type = sa.BigInteger()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], seconds: int) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
            raise ValueError(f"bucket seconds must be a positive integer, got {seconds!r}")
        # The width is inlined (a validated int): grouping by a bound parameter is not portable.
        super().__init__(column, sa.literal_column(str(seconds), sa.BigInteger()))


@compiles(bucket_start, "sqlite")
def _bucket_start_sqlite(element: bucket_start, compiler: Any, **kw: Any) -> str:
    column, seconds = (compiler.process(c, **kw) for c in element.clauses)
    return f"((CAST(strftime('%s', {column}) AS INTEGER) / {seconds}) * {seconds})"


@compiles(bucket_start, "postgresql")
def _bucket_start_postgresql(element: bucket_start, compiler: Any, **kw: Any) -> str:
    column, seconds = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST(floor(EXTRACT(EPOCH FROM {column}) / {seconds}) AS BIGINT) * {seconds})"


def to_jsonable(value: Any) -> Any:
    """Turn model dataclasses, enums and datetimes into plain JSON values (ISO 8601 UTC text for times).

    Used for the event journal and result documents, which are read by people and tools, not parsed back
    into model objects, so the model's own field names are kept.
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    raise TypeError(f"cannot store {type(value).__name__} as JSON")
