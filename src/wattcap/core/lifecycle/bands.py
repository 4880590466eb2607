"""Purpose bands: which stack levels and profile ids on a station belong to whom, and how wattcap allocates them.

Several parties write charging profiles to one charger: wattcap's own site logic, an operator overriding it,
sometimes another system (a local controller, a second backend). OCPP gives them no namespace. In 2.0.1 only the
same id replaces (K01.FR.05), and a second id at the same (stackLevel, purpose, evse) with an overlapping validity
is a CSMS error (K01.FR.06, A2). In 1.6 the same (stackLevel, purpose) *silently replaces* whatever was there
(R16-05), on the connector or, read literally, anywhere on the charge point (A1).

So wattcap carves the space up. A :class:`PurposeBand` is one purpose, an inclusive stack-level range, an owner and
a block of profile ids. Within a purpose, bands never share a stack level, so an operator band placed above
wattcap's band overrides it by the ordinary stacking rule (K01.FR.17, R16-07). Ids from a band's block identify the
profile as wattcap-managed forever after: drift repair clears a stale profile only when its id is in a band, and
never touches anyone else's (:func:`wattcap.core.lifecycle.reconcile.plan_reconcile`).

:func:`allocate` picks the id and stack level for a new profile: the lowest free ones, avoiding every profile the
station holds or wattcap wants there, within the levels the station accepts (``max_stack_level`` is inclusive, A5).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from wattcap.core.holdings_policy import InstallPolicy, StackLevelScope
from wattcap.core.model import ChargingProfilePurpose, InstalledProfile

_MAX = ChargingProfilePurpose.CHARGING_STATION_MAX
_TX_DEFAULT = ChargingProfilePurpose.TX_DEFAULT
_TX = ChargingProfilePurpose.TX


@dataclass(frozen=True, slots=True)
class PurposeBand:
    """One purpose's slice of a station: stack levels ``low..high`` (inclusive) and ids ``first_id..last_id``.

    ``owner`` says who decides the profiles of this band (``wattcap`` for its own allocation, ``operator`` for a
    person's override); the band ``name`` is what the store records as a desired profile's owner.
    """

    name: str
    purpose: ChargingProfilePurpose
    low: int
    high: int
    owner: str
    first_id: int
    last_id: int

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high:
            raise ValueError(f"band {self.name}: stack levels {self.low}..{self.high} are not a range from 0 up")
        if not 0 < self.first_id <= self.last_id:
            raise ValueError(f"band {self.name}: ids {self.first_id}..{self.last_id} are not a positive range")

    @property
    def levels(self) -> range:
        return range(self.low, self.high + 1)

    def owns_id(self, profile_id: int) -> bool:
        return self.first_id <= profile_id <= self.last_id


class BandTable:
    """The bands of a deployment, checked once: unique names, disjoint id blocks, and within a purpose disjoint
    stack levels (so which band prevails is fixed by the levels alone)."""

    def __init__(self, bands: Iterable[PurposeBand]) -> None:
        self._bands = tuple(bands)
        names = [b.name for b in self._bands]
        if len(set(names)) != len(names):
            raise ValueError(f"band names must be unique: {names}")
        for i, a in enumerate(self._bands):
            for b in self._bands[i + 1 :]:
                if a.first_id <= b.last_id and b.first_id <= a.last_id:
                    raise ValueError(f"bands {a.name} and {b.name} share profile ids")
                if a.purpose is b.purpose and a.low <= b.high and b.low <= a.high:
                    raise ValueError(f"bands {a.name} and {b.name} share stack levels of {a.purpose.value}")

    def __iter__(self) -> Iterator[PurposeBand]:
        return iter(self._bands)

    def __getitem__(self, name: str) -> PurposeBand:
        for band in self._bands:
            if band.name == name:
                return band
        raise KeyError(f"unknown band {name!r}; known: {', '.join(b.name for b in self._bands)}")

    def band_of(self, profile_id: int) -> PurposeBand | None:
        """The band whose id block holds ``profile_id``; None for an id wattcap did not allocate."""
        return next((b for b in self._bands if b.owns_id(profile_id)), None)

    def owns(self, profile_id: int) -> bool:
        return self.band_of(profile_id) is not None


# Levels start at 0 and stay low, since many chargers accept only 0..2 (ABB: 0 only; A5). Station caps: wattcap at 0,
# the operator's override above it. Defaults: the station-wide default and EVSE-specific ones need different
# levels (K01.FR.52/53, A4), hence two levels for wattcap. Sessions: a remote-start TxProfile and a later one
# for the same transaction need two levels (K01.FR.39), the operator's override sits above both.
DEFAULT_BANDS = BandTable(
    (
        PurposeBand("site-cap", _MAX, 0, 0, "wattcap", 10_000, 19_999),
        PurposeBand("operator-cap", _MAX, 1, 1, "operator", 20_000, 29_999),
        PurposeBand("default", _TX_DEFAULT, 0, 1, "wattcap", 30_000, 39_999),
        PurposeBand("operator-default", _TX_DEFAULT, 2, 2, "operator", 40_000, 49_999),
        PurposeBand("session", _TX, 0, 1, "wattcap", 50_000, 59_999),
        PurposeBand("operator-session", _TX, 2, 2, "operator", 60_000, 69_999),
    )
)


class AllocationError(ValueError):
    """No id or stack level of the band is free on this station (the message says which and why)."""


@dataclass(frozen=True, slots=True)
class Allocation:
    profile_id: int
    stack_level: int


def _location_conflict(
    other: InstalledProfile, evse_id: int, purpose: ChargingProfilePurpose, policy: InstallPolicy, ours: bool
) -> bool:
    """Whether a profile of the same purpose and stack level at ``other.evse_id`` clashes with one at ``evse_id``."""
    if other.evse_id == evse_id:
        return True  # 2.0.1 K01.FR.06 / K01.FR.39; 1.6 R16-05 per connector (A1)
    if purpose is _TX_DEFAULT and 0 in (other.evse_id, evse_id):
        return True  # station-wide vs EVSE default at one level: rejected in 2.0.1 (K01.FR.52/53), murky in 1.6 (A4)
    if policy.stack_level_scope is StackLevelScope.PER_CHARGE_POINT:
        return True  # the literal 1.6 reading: one (stackLevel, purpose) per charge point
    # A 1.6 charger that reads "in a Charge Point" literally would replace another system's profile on another
    # connector without a word (A1): keep off the levels others use anywhere on the station.
    return policy.stack_level_scope is not None and not ours


def _taken_levels(
    occupants: Sequence[InstalledProfile], evse_id: int, purpose: ChargingProfilePurpose, policy: InstallPolicy,
    bands: BandTable,
) -> dict[int, int]:
    """Stack level -> id of a profile that blocks it."""
    taken: dict[int, int] = {}
    for other in occupants:
        if other.profile.purpose is purpose and _location_conflict(
            other, evse_id, purpose, policy, bands.owns(other.profile.id)
        ):
            taken.setdefault(other.profile.stack_level, other.profile.id)
    return taken


def allocate(
    bands: BandTable,
    band_name: str,
    evse_id: int,
    *,
    occupants: Sequence[InstalledProfile],
    policy: InstallPolicy,
    max_stack_level: int | None,
) -> Allocation:
    """The id and stack level for a new profile of ``band_name`` on ``evse_id``.

    ``occupants`` are every profile the station is known to hold (anyone's) and every profile wattcap wants there
    (sent or not). The id is the lowest of the band's block that none of them uses, so ids are never shared with
    another system's profile. The stack level is the lowest of the band's levels, at most ``max_stack_level``,
    that no clashing profile uses (:func:`_location_conflict`): a new profile never replaces another one by
    stack level (R16-05, A1) and never duplicates one (K01.FR.06, K01.FR.39, K01.FR.52/53).
    Raises :class:`AllocationError` with the reason when nothing is free.
    """
    band = bands[band_name]
    usable = [level for level in band.levels if max_stack_level is None or level <= max_stack_level]
    if not usable:
        raise AllocationError(
            f"band {band.name} uses stack levels {band.low}..{band.high}, but this station accepts at most "
            f"{max_stack_level} (inclusive, A5); move the band or leave this station to a lower band"
        )
    taken = _taken_levels(occupants, evse_id, band.purpose, policy, bands)
    level = next((lv for lv in usable if lv not in taken), None)
    if level is None:
        held = ", ".join(f"{lv} by profile {taken[lv]}" for lv in usable)
        raise AllocationError(
            f"band {band.name} has no free stack level for {band.purpose.value} on evse {evse_id} ({held}); "
            "update one of those profiles by its id, or clear one first"
        )
    used = {o.profile.id for o in occupants}
    profile_id = next((i for i in range(band.first_id, band.last_id + 1) if i not in used), None)
    if profile_id is None:
        raise AllocationError(f"band {band.name} has used all of its ids {band.first_id}..{band.last_id}")
    return Allocation(profile_id, level)
