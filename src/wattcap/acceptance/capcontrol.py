"""How the site-cap check moves the cap: a small protocol, and the implementation that works today.

The check (``AcceptanceTest.SITE_CAP``) only needs "the upstream limit is now X A per phase" and "put everything
back"; who turns that into profiles is not its business. Today that is :class:`StationMaxCapControl`: it splits the
cap over the stations in proportion to their EVSEs and installs one ChargingStationMaxProfile per station in the
``operator-cap`` band (the station shares it between its EVSEs, A14). The site-cap allocator
(``wattcap.server.sitecap``) will plug in as another :class:`CapControl`: set its site limit, let it allocate, and
say each station's share if it can (``CapApplied.shares``; None makes every station share the site's verdict).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from wattcap.acceptance.plan import BAND_CAP, StationFacts, split_cap, station_max_profile
from wattcap.server.lifecycle_types import ChangeResult, ProfileRefused
from wattcap.server.profiles import ProfileService
from wattcap.store import Repository

_CHANGES = ("SetChargingProfile", "ClearChargingProfile")


async def answered_at(repository: Repository, station_id: str, profile_id: int | None) -> datetime | None:
    """When the charger last answered a change of ``profile_id`` (the operations log): from then on it holds it,
    so a reaction allowance counts from here, not from the end of the read-back that may follow."""
    if profile_id is None:
        return None
    operations = await repository.list_operations(station_id, profile_id=profile_id, limit=4, newest_first=True)
    return next((o.answered_at for o in operations if o.action in _CHANGES and o.answered_at is not None), None)


@dataclass(frozen=True, slots=True)
class CapApplied:
    """What a cap change did: each station's share (A per phase; None when the control cannot say), the stations
    that refused it (with why) and the lifecycle's results as evidence."""

    shares: Mapping[str, float] | None
    refused: Mapping[str, str] = field(default_factory=dict)
    results: Mapping[str, ChangeResult] = field(default_factory=dict)
    #: When each station's charger answered the change (the reaction allowance counts from there); a station
    #: missing here counts from when the whole cap change was done.
    answered: Mapping[str, datetime] = field(default_factory=dict)


class CapControl(Protocol):
    """Moves the upstream limit of the stations under test."""

    async def set_cap(self, amps_per_phase: float) -> CapApplied:
        """From now on the stations together may draw at most ``amps_per_phase`` per phase."""
        ...

    async def restore(self) -> None:
        """Undo every change (idempotent): the stations are back to what they held before the first cap."""
        ...


class StationMaxCapControl:
    """A site cap as one ChargingStationMaxProfile per station (band ``operator-cap``), updated in place by id."""

    def __init__(
        self,
        profiles: ProfileService,
        stations: Sequence[StationFacts],
        clock: Callable[[], datetime],
        *,
        band: str = BAND_CAP,
        actor: str = "acceptance",
    ) -> None:
        self.profiles = profiles
        self.stations = {s.station_id: s for s in stations}
        self.clock = clock
        self.band = band
        self.actor = actor
        self.installed: dict[str, int] = {}  # station -> profile id

    async def set_cap(self, amps_per_phase: float) -> CapApplied:
        shares = split_cap(amps_per_phase, {s: len(f.evse_ids) for s, f in self.stations.items()})
        outcomes = await asyncio.gather(*(self._apply(s, shares[s]) for s in self.stations))
        refused = {s: why for s, (_, why) in zip(self.stations, outcomes, strict=True) if why}
        results = {s: r for s, (r, _) in zip(self.stations, outcomes, strict=True) if r is not None}
        answered = {}
        for station_id, result in results.items():
            at = await answered_at(self.profiles.repository, station_id, result.profile_id)
            if at is not None:
                answered[station_id] = at
        return CapApplied(shares, refused, results, answered)

    async def _apply(self, station_id: str, share: float) -> tuple[ChangeResult | None, str | None]:
        profile = station_max_profile(self.stations[station_id], share, self.clock())
        reason = f"acceptance: site cap share {share:g} A"
        try:
            # Judged on the meter alone: not read back, and as fast as the lifecycle sends (a cap is a safety write).
            if station_id in self.installed:
                result = await self.profiles.update_profile(
                    station_id, self.installed[station_id], profile, actor=self.actor, reason=reason, paced=False,
                    verify=False,
                )
            else:
                result = await self.profiles.set_profile(
                    station_id, 0, profile, band=self.band, actor=self.actor, reason=reason, paced=False,
                    verify=False,
                )
        except ProfileRefused as refused:
            return None, f"not sent: {refused}"
        if result.profile_id is not None:
            self.installed.setdefault(station_id, result.profile_id)
        if not result.checks and result.verdict.value in ("rejected", "unsupported") and result.reason:
            return result, f"the charger refused it ({result.reason})"
        if not result.checks and result.verdict.value == "no_answer":
            return result, f"no answer ({result.reason})"
        return result, None

    async def restore(self) -> None:
        installed, self.installed = self.installed, {}
        await asyncio.gather(
            *(self.profiles.clear_profile(s, pid, actor=self.actor, reason="acceptance: site cap restored",
                                          verify=False)
              for s, pid in installed.items()),
            return_exceptions=True,
        )
