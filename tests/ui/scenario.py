"""The known stacking scenario of the browser specs and the screenshots: on LAB-1 (no site, UTC), an operator's
TxDefaultProfile of 16 A on EVSE 1 for the whole day and a ChargingStationMaxProfile of 10 A on the station from
10:00 to 12:00 UTC. EVSE 1's composite that day: 16 A governed by the default, 10 A by the station maximum, 16 A
by the default again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from api.site import ApiSite

API = "/api/v1"


def today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def tx_default_all_day(limit: float = 16.0) -> dict[str, Any]:
    return {
        "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
        "chargingSchedule": [{"startSchedule": _iso(today()), "chargingRateUnit": "A",
                              "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit, "numberPhases": 3}]}],
    }


def station_max_ten_to_noon(limit: float = 10.0) -> dict[str, Any]:
    return {
        "chargingProfilePurpose": "ChargingStationMaxProfile", "chargingProfileKind": "Absolute",
        "chargingSchedule": [{"startSchedule": _iso(today() + timedelta(hours=10)), "duration": 7200,
                              "chargingRateUnit": "A",
                              "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit, "numberPhases": 3}]}],
    }


async def install_lab_profiles(site: ApiSite, token: str, station: str = "LAB-1") -> None:
    async with site.client(token) as http:
        for body in (
            {"evse_id": 1, "band": "operator-default", "profile": tx_default_all_day()},
            {"evse_id": 0, "band": "operator-cap", "profile": station_max_ten_to_noon()},
        ):
            answer = await http.post(f"{API}/stations/{station}/profiles", json=body)
            assert answer.status_code == 201 and answer.json()["verdict"] == "applied", answer.text
