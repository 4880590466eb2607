"""parse_timestamp / has_zone: every unreadable text is a TimestampError (or False), never another exception."""

from __future__ import annotations

import pytest

from wattcap.core.timeutil import TimestampError, has_zone, parse_timestamp, utc

# An offset that moves the time outside the datetime range: converting to UTC overflows.
OUT_OF_RANGE = ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00")


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_an_offset_beyond_the_datetime_range_is_a_timestamp_error(text):
    with pytest.raises(TimestampError, match="outside the range"):
        parse_timestamp(text)
    with pytest.raises(TimestampError):
        parse_timestamp(text, assume_utc=False)
    assert has_zone(text) is False


def test_the_ends_of_the_range_still_parse_when_they_stay_inside_it():
    assert parse_timestamp("0001-01-01T00:00:00-01:00") == utc(1, 1, 1, 1)
    assert parse_timestamp("9999-12-31T23:59:59Z") == utc(9999, 12, 31, 23, 59, 59)
    assert has_zone("0001-01-01T00:00:00-01:00") is True


@pytest.mark.parametrize(
    ("text", "zoned"),
    [("2024-01-02T00:00:00Z", True), ("2024-01-02T01:00:00+01:00", True), ("2024-01-02T00:00:00", False)],
)
def test_has_zone(text, zoned):
    assert has_zone(text) is zoned
    assert parse_timestamp(text) == utc(2024, 1, 2)


@pytest.mark.parametrize("garbage", ["", "yesterday", "2024-13-01T00:00:00Z", None, 5])
def test_garbage_is_a_timestamp_error_and_has_no_zone(garbage):
    with pytest.raises(TimestampError):
        parse_timestamp(garbage)
    assert has_zone(garbage) is False
