"""One station as the profile lifecycle sees it at one moment: version, facts, wishes, transactions.

Built from the store for every operation (a handful of small queries, once per profile change, never per
station message), so a decision is always taken on what is recorded, whichever process recorded it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property

from wattcap.core.dialects import DEFAULT_DIALECT, get_dialect
from wattcap.core.holdings import HeldProfile
from wattcap.core.holdings_policy import InstallPolicy, install_policy
from wattcap.core.lifecycle import DesiredStatus
from wattcap.core.model import ChargingProfile, InstalledProfile, OcppVersion, Transaction
from wattcap.core.station import StationConfig
from wattcap.ocpp.capabilities import station_facts
from wattcap.ocpp.profile_json import profile_from_json
from wattcap.server.stations import StationRegistry
from wattcap.store import DesiredProfile, Repository, UnknownStationError, desired_from_profile

# Statuses of desired profiles the charger may well hold: what validation must count (capacity, duplicates).
_MAYBE_HELD = frozenset(
    {DesiredStatus.PENDING, DesiredStatus.INSTALLED, DesiredStatus.NO_ANSWER, DesiredStatus.CLEARING}
)


@dataclass(frozen=True, eq=False)
class StationContext:
    station_id: str
    version: OcppVersion
    config: StationConfig
    desired: tuple[DesiredProfile, ...]
    transactions: tuple[Transaction, ...]
    foreign: tuple[HeldProfile, ...] = ()  # what the charger last reported under ids that are not wattcap's

    @property
    def policy(self) -> InstallPolicy:
        return install_policy(self.version)

    @cached_property
    def profiles(self) -> dict[int, ChargingProfile]:
        """Each desired profile as a model (stored as wire JSON of the version it was made for)."""
        return {d.profile_id: profile_from_json(d.wire, d.ocpp_version) for d in self.desired}

    def find(self, profile_id: int) -> DesiredProfile | None:
        return next((d for d in self.desired if d.profile_id == profile_id), None)

    def _installed(self, statuses: Iterable[DesiredStatus]) -> tuple[InstalledProfile, ...]:
        wanted = set(statuses)
        own = tuple(
            InstalledProfile(d.evse_id, self.profiles[d.profile_id]) for d in self.desired if d.status in wanted
        )
        return own + tuple(h.installed for h in self.foreign)

    def occupants(self) -> tuple[InstalledProfile, ...]:
        """Everything that may be on the charger or is about to be: what validation and allocation count."""
        return self._installed(_MAYBE_HELD)

    def expected_installed(self) -> tuple[InstalledProfile, ...]:
        """What the charger should hold now: the profiles it accepted (and other parties' known ones)."""
        return self._installed((DesiredStatus.INSTALLED,))

    def with_installed(self, evse_id: int, profile: ChargingProfile) -> StationContext:
        """This context as it is once the charger accepted ``profile`` (its desired record marked installed)."""
        current = self.find(profile.id)
        record = desired_from_profile(
            self.station_id, evse_id, profile, self.version, current.owner if current is not None else "wattcap",
            status=DesiredStatus.INSTALLED.value,
        )
        return replace(self, desired=(*(d for d in self.desired if d.profile_id != profile.id), record))

    def evses_of(self, evse_id: int) -> tuple[int, ...]:
        """The EVSEs a profile on ``evse_id`` shapes: itself, or every EVSE for a station-wide one."""
        return self.config.evse_ids if evse_id == 0 else (evse_id,)


async def load_context(
    registry: StationRegistry, repository: Repository, station_id: str, foreign: tuple[HeldProfile, ...] = ()
) -> StationContext:
    """The station's context from the store; raises :class:`UnknownStationError` for a station never registered."""
    station = await repository.get_station(station_id)
    if station is None:
        raise UnknownStationError(station_id)
    if station_id in registry:
        version = registry.version(station_id)
    else:
        version = OcppVersion(station.ocpp_version or OcppVersion.V201.value)
    dialect = get_dialect(station.dialect) if station.dialect else DEFAULT_DIALECT
    config = StationConfig(ocpp_version=version, dialect=dialect.for_version(version))
    record = await repository.get_capabilities(station_id)
    if record is not None:
        config = station_facts(record.document).apply(config)
    desired = tuple(await repository.list_desired_profiles(station_id))
    transactions = tuple(
        Transaction(t.evse_id, t.transaction_id, t.started_at)
        for t in await repository.active_transactions(station_id)
    )
    return StationContext(station_id, version, config, desired, transactions, foreign)
