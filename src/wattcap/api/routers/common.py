"""What several routers share: finding a station the client may see, and time-range parameters."""

from __future__ import annotations

from datetime import datetime

from wattcap.api.deps import Access
from wattcap.api.errors import SCHEMA_RULE, FindingOut, invalid, not_found
from wattcap.store import Station


async def visible_station(access: Access, station_id: str, evse_id: int | None = None) -> Station:
    """The station, after the grant allows reading it: outside the scope is 403 whether or not the station exists
    (a client learns nothing about stations it may not see), inside it an unknown id is 404."""
    access.read_station(station_id, evse_id)
    station = await access.plane.repository.get_station(station_id)
    if station is None:
        raise not_found(f"no station {station_id!r}")
    return station


def check_range(since: datetime | None, until: datetime | None, *, names: tuple[str, str] = ("since", "until")) -> None:
    if since is not None and until is not None and until <= since:
        raise invalid([FindingOut(path=f"query.{names[1]}", rule_id=SCHEMA_RULE,
                                  message=f"{names[1]} must be after {names[0]}")])
