"""Errors the store raises for things the caller can act on (everything else is a database error)."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the store's own errors."""


class UnknownStationError(StoreError, LookupError):
    """The station id is not registered (nor has the station ever connected)."""

    def __init__(self, station_id: str) -> None:
        super().__init__(f"unknown station {station_id!r}")
        self.station_id = station_id


class StationExistsError(StoreError):
    """``add_station`` for an id that is already there: change it with ``update_station``/``set_password``."""

    def __init__(self, station_id: str) -> None:
        super().__init__(f"station {station_id!r} already exists")
        self.station_id = station_id
