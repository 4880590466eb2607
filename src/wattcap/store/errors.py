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


class ProfileIdTakenError(StoreError):
    """``create_desired_profile`` for a profile id the station already has: another writer (another node, or
    another task here) reserved it since the caller chose it. Nothing of the caller's write unit is kept; it
    picks an id again from what the store holds now."""

    def __init__(self, station_id: str, profile_id: int) -> None:
        super().__init__(f"station {station_id!r} already has a desired profile {profile_id}")
        self.station_id = station_id
        self.profile_id = profile_id
