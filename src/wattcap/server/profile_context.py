"""One station as the profile lifecycle sees it at one moment: version, facts, wishes, transactions.

Built from the store (one read transaction of four small queries, never per station message), so a decision is
taken on what is recorded, whichever process recorded it. The write path (set, update and their send) reuses the
context read lately with this process's own writes applied (:class:`ContextCache`), for at most a couple of
seconds and only while the store committed nothing else about the station.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
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
    # The count of this process's profile writes to the station when this was read, if none was on its way then
    # (None: unknown, or the charger may have held something the store did not say yet; see WritesOnTheWay).
    writes_seen: int | None = None
    # Versions the charger accepted of profiles whose desired record has changed since and is not accepted yet (an
    # update queued, on its way, refused or unanswered): until the charger takes the new one it holds these.
    held_before: tuple[DesiredProfile, ...] = ()

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
        """What the charger should hold now: the profiles it accepted (and other parties' known ones), an updated
        profile in the version it accepted last until it accepts the new one."""
        installed = self._installed((DesiredStatus.INSTALLED,))
        if not self.held_before:
            return installed
        accepted = {d.profile_id for d in self.desired if d.status == DesiredStatus.INSTALLED}
        wanted = {d.profile_id for d in self.desired}
        earlier = tuple(
            InstalledProfile(h.evse_id, profile_from_json(h.wire, h.ocpp_version))
            for h in self.held_before
            if h.profile_id in wanted and h.profile_id not in accepted
        )
        return earlier + installed

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
    registry: StationRegistry, repository: Repository, station_id: str, foreign: tuple[HeldProfile, ...] = (),
    writes_seen: int | None = None, held_before: tuple[DesiredProfile, ...] = (),
) -> StationContext:
    """The station's context from the store (one read transaction); raises :class:`UnknownStationError` for a
    station never registered. ``writes_seen`` and ``held_before``: see :class:`StationContext`."""
    snapshot = await repository.station_snapshot(station_id)
    if snapshot is None:
        raise UnknownStationError(station_id)
    station = snapshot.station
    if station_id in registry:
        version = registry.version(station_id)
    else:
        version = OcppVersion(station.ocpp_version or OcppVersion.V201.value)
    dialect = get_dialect(station.dialect) if station.dialect else DEFAULT_DIALECT
    config = StationConfig(ocpp_version=version, dialect=dialect.for_version(version))
    if snapshot.capabilities is not None:
        config = station_facts(snapshot.capabilities.document).apply(config)
    transactions = tuple(Transaction(t.evse_id, t.transaction_id, t.started_at) for t in snapshot.transactions)
    return StationContext(
        station_id, version, config, snapshot.desired, transactions, foreign, writes_seen, held_before
    )


class ContextCache:
    """The contexts this process read lately, kept current with its own writes: what the write path reuses
    instead of reading the store again for every profile change.

    An entry is reused for at most ``max_age_s`` (monotonic seconds) after it was read, and only while nothing
    this process knows of changed the station in a way it cannot apply: a station event, a connection, a boot, a
    write other than storing a desired profile or its status. The writes it can apply (the stored record, as the
    store returned it) keep the entry exact for this process; ``max_age_s`` bounds how long a change made by
    another process (or behind the lifecycle's back) can go unseen by the write path. Every read path other than
    the write path (reconcile, verification, previews, the API) still reads the store, and refreshes the entry.
    A read that started before a change and ends after it is not kept (the generation moved meanwhile).
    """

    def __init__(
        self,
        max_age_s: float,
        *,
        store_changes: Callable[[str], int] = lambda _: 0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age_s = max_age_s
        self._store_changes = store_changes
        self._monotonic = monotonic
        self._entries: dict[str, tuple[float, tuple[int, int], StationContext]] = {}
        self._own: dict[str, int] = {}

    def generation(self, station_id: str) -> tuple[int, int]:
        """What a read notes before it starts: changes this cache was told of, and writes the store committed
        about the station (``Repository.station_changes``: capabilities, transactions, desired profiles, ...)."""
        return self._own.get(station_id, 0), self._store_changes(station_id)

    def get(self, station_id: str) -> StationContext | None:
        entry = self._entries.get(station_id)
        if entry is None:
            return None
        read_at, generation, ctx = entry
        if self._monotonic() - read_at > self.max_age_s or generation != self.generation(station_id):
            del self._entries[station_id]
            return None
        return ctx

    def put(self, ctx: StationContext, generation: tuple[int, int]) -> None:
        """Keep ``ctx``, read when the station's generation was ``generation``, unless it has moved since."""
        if self.max_age_s > 0 and generation == self.generation(ctx.station_id):
            self._entries[ctx.station_id] = (self._monotonic(), generation, ctx)

    def invalidate(self, station_id: str) -> None:
        self._entries.pop(station_id, None)
        self._own[station_id] = self._own.get(station_id, 0) + 1

    def apply(self, station_id: str, stored: DesiredProfile | None) -> None:
        """This process stored ``stored`` (a desired profile as the store returned it, in one write unit; None:
        nothing changed). The entry stays only if that unit is the one write the store committed about the
        station since the entry was read or last updated."""
        own = self._own.get(station_id, 0) + 1
        self._own[station_id] = own
        entry = self._entries.pop(station_id, None)
        if entry is None or stored is None:
            return
        read_at, (seen_own, seen_store), ctx = entry
        store_now = self._store_changes(station_id)
        if seen_own + 1 != own or seen_store + 1 != store_now:
            return  # something else changed the station meanwhile: read it again
        desired = sorted(
            (*(d for d in ctx.desired if d.profile_id != stored.profile_id), stored),
            key=lambda d: (d.evse_id, d.profile_id),
        )
        updated = replace(ctx, desired=tuple(desired))
        if "profiles" in ctx.__dict__:  # parsed already: parse only the one that changed
            parsed = {k: v for k, v in ctx.profiles.items() if k != stored.profile_id}
            parsed[stored.profile_id] = profile_from_json(stored.wire, stored.ocpp_version)
            updated.__dict__["profiles"] = parsed
        self._entries[station_id] = (read_at, (own, store_now), updated)
