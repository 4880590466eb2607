"""The site as the site-cap allocator sees it: a tree of electrical constraints with EVSEs at its leaves.

A site is grid connection → feeders / circuits → stations → EVSEs. Every :class:`Node` may limit the current per
grid phase (A), the total power (W), or both, with a safety margin; its limit may change over time (an operator's
schedule, a building EMS, a grid signal), which the shell resolves to the value in force *now* and hands to the
allocator as :class:`NodeLimit`. Non-EV load measured or forecast on a node (the building) reduces what EVs there
may draw.

An :class:`EvseSpec` is a leaf. ``wiring`` says which grid phase feeds the EVSE's L1, L2 and L3 (phase rotation):
a single-phase EV on an EVSE wired ``(L2, L3, L1)`` draws on grid phase L2. DC EVSEs draw balanced three-phase AC
from the grid; their limit is sent in W.

Everything here is plain data: currents in A per phase, power in W, times as aware UTC datetimes, durations in
integer seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from wattcap.core.station import CurrentType

__all__ = [
    "DEFAULT_MIN_CURRENT_A",
    "EvseAllocation",
    "EvseKey",
    "EvseSpec",
    "GridPhase",
    "Node",
    "NodeLimit",
    "PhaseCurrents",
    "SessionDemand",
    "SiteAllocation",
    "SiteTopology",
]

#: IEC 61851-1: an AC EV cannot charge below 6 A; below that the EVSE must pause (0 A), never "a bit".
DEFAULT_MIN_CURRENT_A = 6.0


class GridPhase(StrEnum):
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"


#: Current per grid phase (A), in the order L1, L2, L3.
PhaseCurrents = tuple[float, float, float]

#: An EVSE on the site: (station id, EVSE id); the EVSE id is the 2.0.1 evseId or the 1.6 connectorId.
EvseKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Node:
    """One constraint in the tree (the grid connection, a feeder, a circuit, or a station's own supply).

    ``max_current_a`` is per grid phase; ``max_power_w`` is the total over the phases. ``margin_a`` /
    ``margin_w`` are kept free below them (meter error, reaction time). ``parent`` is None for the root only.
    ``safe_current_a`` / ``safe_power_w`` are what the node may be assumed to carry when every time-varying
    signal is stale or the control plane is gone (the fallback); None means the static limit.
    """

    id: str
    parent: str | None = None
    max_current_a: float | None = None
    max_power_w: float | None = None
    margin_a: float = 0.0
    margin_w: float = 0.0
    safe_current_a: float | None = None
    safe_power_w: float | None = None
    voltage_v: float = 230.0


@dataclass(frozen=True, slots=True)
class NodeLimit:
    """A node's limit in force now, as resolved by the shell from its schedule and signals (None: no limit
    beyond the node's static one). ``non_ev_load_a`` is the building's draw per grid phase on this node."""

    current_a: float | None = None
    power_w: float | None = None
    non_ev_load_a: PhaseCurrents = (0.0, 0.0, 0.0)
    source: str = "static"


@dataclass(frozen=True, slots=True)
class EvseSpec:
    """An EVSE and its electrical facts. ``node`` is the id of the node that feeds it."""

    station_id: str
    evse_id: int
    node: str
    current_type: CurrentType = CurrentType.AC
    wiring: tuple[GridPhase, GridPhase, GridPhase] = (GridPhase.L1, GridPhase.L2, GridPhase.L3)
    phases: int = 3  # phases the EVSE can supply (1 or 3 for AC)
    min_current_a: float = DEFAULT_MIN_CURRENT_A
    max_current_a: float = 32.0
    max_power_w: float | None = None  # DC (or a W-limited AC EVSE)
    min_power_w: float = 0.0
    step_a: float = 0.1  # the finest limit the charger honours (1 A for many, 0.1 A on the wire)
    step_w: float = 100.0
    voltage_v: float = 230.0
    can_switch_phases: bool = False  # 3→1 phase switching (ConnectorSwitch3to1PhaseSupported / Phases3to1)

    @property
    def key(self) -> EvseKey:
        return (self.station_id, self.evse_id)


@dataclass(frozen=True, slots=True)
class SiteTopology:
    """The whole tree. Node ids are unique; every EVSE's ``node`` and every node's ``parent`` exist; one root."""

    nodes: tuple[Node, ...]
    evses: tuple[EvseSpec, ...]


@dataclass(frozen=True, slots=True)
class SessionDemand:
    """What an active session on an EVSE wants and does, as the shell knows it now.

    ``max_current_a`` is the EV's own ceiling if known (else the EVSE's). ``measured_a`` is the latest measured
    current per EV phase (L1..L3 of the EVSE, before wiring), None if no meter value yet. ``weight`` and
    ``priority`` come from fleet rules (higher priority is served first; equal priority shares by weight).
    ``phases_in_use`` is what the EV draws on (1 or 3); None when unknown (assume the EVSE's phases).
    """

    key: EvseKey
    started_at: datetime
    weight: float = 1.0
    priority: int = 0
    max_current_a: float | None = None
    max_power_w: float | None = None
    measured_a: PhaseCurrents | None = None
    measured_w: float | None = None
    phases_in_use: int | None = None
    measured_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class EvseAllocation:
    """The limit one EVSE gets: ``current_a`` per phase on ``phases`` phases (0 = paused), or ``power_w`` for a
    W-limited EVSE. ``binding`` names the node (or ``"ev"``, ``"evse"``, ``"demand"``) whose limit stopped it
    growing, so the UI can say why a session is capped."""

    key: EvseKey
    current_a: float
    phases: int
    power_w: float | None = None
    paused: bool = False
    binding: str = ""
    paused_since: datetime | None = None
    phases_since: datetime | None = None
    # Hysteresis state the allocator feeds back to itself through ``previous`` (added; all optional):
    #: reclaim: the cap (A per phase, or W for DC) in force because the EV drew well below its allocation.
    reclaim_cap: float | None = None
    #: 3→1 phase switching: the EVSE runs on one phase because three did not fit (not because the EV is 1-phase).
    phase_switched: bool = False
    #: since when the three-phase minimum plus the resume margin has fitted while switched to one phase.
    three_phase_fits_since: datetime | None = None
    #: when this allocation last rose (or started): measurements older than the settle time are not trusted.
    raised_at: datetime | None = None
    #: Whether this session has been given its minimum before: only then does a pause hold for min_pause_s (a
    #: session that never charged starts as soon as it fits; that is not flapping).
    charged: bool = False


@dataclass(frozen=True, slots=True)
class SiteAllocation:
    """One allocation of the whole site at ``at``; the previous one is fed back for hysteresis."""

    at: datetime
    evses: Mapping[EvseKey, EvseAllocation] = field(default_factory=dict)
