"""UTC time helpers. The core works in aware UTC datetimes and whole seconds; these are the only converters."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TimestampError(ValueError):
    """A text that is not an ISO 8601 date-time."""


def parse_timestamp(text: str, *, assume_utc: bool = True) -> datetime:
    """Parse an OCPP date-time (``2024-01-02T00:00:00Z``, fractions and offsets allowed) to aware UTC.

    A timestamp without a zone is read as UTC when ``assume_utc`` (charger firmware often sends them; the
    validator reports them separately), otherwise it is an error. Every failure is a :class:`TimestampError`,
    including an offset that moves the time outside the datetime range (``0001-01-01T00:00:00+01:00``).
    """
    if not isinstance(text, str):
        raise TimestampError(f"expected a date-time string, got {type(text).__name__}")
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise TimestampError(f"{text!r} is not an ISO 8601 date-time") from None
    if value.tzinfo is None:
        if not assume_utc:
            raise TimestampError(f"{text!r} has no time zone")
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise TimestampError(f"{text!r} is outside the range of date-times once converted to UTC") from None


def has_zone(text: str) -> bool:
    """Whether ``text`` is an ISO 8601 date-time naming its zone (``Z`` or an offset); False for anything else."""
    try:
        return parse_timestamp(text, assume_utc=False) is not None
    except TimestampError:
        return False


def format_timestamp(value: datetime) -> str:
    """UTC with ``Z``; milliseconds only when the value has a fraction (what strict OCPP peers accept)."""
    value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_epoch(value: datetime) -> float:
    return value.timestamp()


def floor_epoch(value: datetime) -> int:
    """Whole seconds since the epoch, floored (chargers evaluate schedules in whole seconds)."""
    return math.floor(value.timestamp())


def from_epoch(seconds: int | float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """Shorthand for an aware UTC datetime (tests and examples)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
