"""Site cap: keep a site under its grid connection at every instant, online and offline (pure).

* :mod:`.model` — the site tree, EVSEs, session demands, allocations (plain data);
* :func:`allocate` — who gets how much now (min-or-nothing, weighted max-min fair water-filling, rounding,
  hysteresis, 3→1 phase switching, reclaim);
* :func:`fallback_shares` — the offline TxDefault share of every EVSE;
* :class:`SiteCapCoordinator` — the transition-safety state machine that turns plans into writes without ever
  letting what chargers may draw exceed a node's limit;
* :func:`footprint_violations` — the invariant, checkable by anyone.

Everything here is synchronous and free of I/O; the shell (``wattcap.server.sitecap``) feeds it.
"""

from wattcap.core.sitecap.allocate import AllocationPolicy, allocate
from wattcap.core.sitecap.fallback import FallbackDoesNotFit, FallbackKind, FallbackPolicy, fallback_shares
from wattcap.core.sitecap.footprint import (
    Violation,
    evse_footprint,
    fallback_footprint,
    footprint_violations,
    max_footprint,
    node_loads,
    worst_case,
    worst_case_footprint,
)
from wattcap.core.sitecap.model import (
    DEFAULT_MIN_CURRENT_A,
    EvseAllocation,
    EvseKey,
    EvseSpec,
    GridPhase,
    Node,
    NodeLimit,
    PhaseCurrents,
    SessionDemand,
    SiteAllocation,
    SiteTopology,
)
from wattcap.core.sitecap.transition import (
    Acknowledged,
    CoordinatorCommand,
    CoordinatorInput,
    CoordinatorPolicy,
    Held,
    NoAnswer,
    NotifyOperator,
    Rejected,
    Replan,
    SessionEnded,
    SessionStarted,
    SetFallback,
    SetSessionLimit,
    SiteCapCoordinator,
    StationOffline,
    StationOnline,
    Tick,
)
from wattcap.core.sitecap.tree import TopologyError

__all__ = [
    "DEFAULT_MIN_CURRENT_A",
    "Acknowledged",
    "AllocationPolicy",
    "CoordinatorCommand",
    "CoordinatorInput",
    "CoordinatorPolicy",
    "EvseAllocation",
    "EvseKey",
    "EvseSpec",
    "FallbackDoesNotFit",
    "FallbackKind",
    "FallbackPolicy",
    "GridPhase",
    "Held",
    "NoAnswer",
    "Node",
    "NodeLimit",
    "NotifyOperator",
    "PhaseCurrents",
    "Rejected",
    "Replan",
    "SessionDemand",
    "SessionEnded",
    "SessionStarted",
    "SetFallback",
    "SetSessionLimit",
    "SiteAllocation",
    "SiteCapCoordinator",
    "SiteTopology",
    "StationOffline",
    "StationOnline",
    "Tick",
    "TopologyError",
    "Violation",
    "allocate",
    "evse_footprint",
    "fallback_footprint",
    "fallback_shares",
    "footprint_violations",
    "max_footprint",
    "node_loads",
    "worst_case",
    "worst_case_footprint",
]
