"""Transition safety: getting from one allocation to the next without ever overloading a node on the way.

An allocation says where the site should end up. Getting there takes writes to chargers that land one by one, some
late, some never. :class:`SiteCapCoordinator` is a deterministic state machine that owns, per EVSE:

* what is **in force** on the charger (acknowledged): its fallback (TxDefault) and its session limit (TxProfile,
  with its lease);
* what is **pending** (sent, not acknowledged): it may already be applied, so it counts as max(old, new);
* whether the EVSE is **unknown** (a write was rejected or not answered): it counts at its worst case — its own
  maximum on its phases — and is handed to the allocator as ``reserved``, so its share is withheld from others,
  until a write of the kind that failed is acknowledged again (retried every ``policy.retry_s`` and on
  ``StationOnline``).

It takes inputs (each carries ``now``; the coordinator never reads a clock) and returns commands for the shell.
Same inputs in the same order → same commands.

Footprints and the invariant (:mod:`.footprint`)
-------------------------------------------------
An EVSE's footprint per grid phase is: its worst case if unknown; else the maximum of its fallback (in force and
every pending fallback write) and — while a session is active — every session limit in force or pending whose
lease has not lapsed. An idle EVSE's footprint is its fallback; a new session draws its fallback until its session
limit is acknowledged; a lapsed lease counts as the fallback again.

**Invariant.** For every node and every grid phase (and in W), Σ footprints below the node + the node's non-EV
load + its margin ≤ the node's limit (the lower of its static limit and the :class:`NodeLimit` in force); see
:func:`footprint_violations`, :meth:`SiteCapCoordinator.violations`. The coordinator keeps it as follows:

1. A write that does not raise the EVSE's footprint (a decrease, a renewal, a retry to an unknown EVSE) is sent
   at once. Decreases are emitted before increases in every batch.
2. A write that raises it (an *increase*) is emitted only if, counting it at max(old, new) on top of everything in
   force and pending, every ancestor node stays within its limit — and only while **no node feeding the EVSE is
   over** (a feeder held over by an unresponsive charger does not freeze the rest of the site).
   Otherwise it waits, and is tried again after every acknowledgement, tick and plan. An increase that depends on
   capacity freed by a decrease therefore goes out only once that decrease is acknowledged. A write that raises
   one phase and lowers others (three phases at 6 A → one phase at 12 A) is split: while it waits, the same limit
   capped so that no phase rises (one phase at 6 A) goes out as a decrease — else a node over on the lowered
   phases would wait for an increase that waits for it.
3. When the limit itself falls below what is in force (a grid drop, a building load rise), or an EVSE becomes
   unknown and jumps to its worst case, the node is over *before* anything can be done. The coordinator then
   emits the decreases at once (the new plan fits the new limit), and the invariant holds against the new limit
   once those decreases are acknowledged: a charger cannot be faster than its acknowledgement, so until then
   the load may only fall — no increase is emitted below a node that is over. Precisely: after such an
   event, for each node, load(t) ≤ max(limit, the lowest load seen since the event), and once every decrease is
   acknowledged, load ≤ limit — unless what cannot be lowered (unknown EVSEs at worst case, offline stations,
   non-EV load, margin) already exceeds it, which the coordinator reports with :class:`NotifyOperator`.

Leases. A session limit above the EVSE's fallback is sent with ``lease_until = now + policy.lease_s`` (the shell
sends it as the TxProfile's validTo), renewed once less than ``policy.renew_before_s`` remains. If the control
plane dies, every charger falls back on its own within one lease. A limit at or below the fallback has no lease.

Reaction. A charger acknowledges a lower limit at once, but the EV follows it within 5 s (IEC 61851-1), so an
acknowledged decrease keeps counting at the old footprint for ``policy.reaction_s``: increases that need the freed
capacity go out on the first input after that (the shell ticks often enough).

Re-planning. ``Replan`` re-runs :func:`allocate` and :func:`fallback_shares` on the site's limits and demands.
``Rejected`` / ``NoAnswer`` re-plan at once (the worst case must come out of others' shares). Session starts and
ends, station connectivity and re-admissions mark the plan stale; the next ``Tick`` or ``Replan`` re-plans (the
shell triggers one right away; this keeps a burst of events from costing a plan each).
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from wattcap.core.sitecap.allocate import AllocationPolicy, allocate
from wattcap.core.sitecap.fallback import FallbackDoesNotFit, FallbackPolicy, fallback_shares
from wattcap.core.sitecap.footprint import (
    ZERO,
    Violation,
    evse_footprint,
    fallback_footprint,
    footprint_violations,
    max_footprint,
    worst_case,
    worst_case_footprint,
)
from wattcap.core.sitecap.model import (
    EvseKey,
    EvseSpec,
    NodeLimit,
    PhaseCurrents,
    SessionDemand,
    SiteAllocation,
    SiteTopology,
)
from wattcap.core.sitecap.tree import CompiledSite, capacities, compile_site
from wattcap.core.station import CurrentType

__all__ = [
    "Acknowledged",
    "CoordinatorCommand",
    "CoordinatorInput",
    "CoordinatorPolicy",
    "Held",
    "NoAnswer",
    "NotifyOperator",
    "Rejected",
    "Replan",
    "SessionEnded",
    "SessionStarted",
    "SetFallback",
    "SetSessionLimit",
    "SiteCapCoordinator",
    "StationOffline",
    "StationOnline",
    "Tick",
]

_TOL = 1e-6
_FALLBACK = "fallback"
_SESSION = "session"


@dataclass(frozen=True, slots=True)
class CoordinatorPolicy:
    """Lease, retry and write-wear settings, and the allocator's and fallback's own policies."""

    #: A session limit above the fallback is valid this long (TxProfile validTo).
    lease_s: int = 300
    #: ... and is renewed once less than this remains.
    renew_before_s: int = 120
    #: An unknown EVSE (rejected / unanswered write) is retried this often.
    retry_s: int = 60
    #: A fallback is raised only by at least this much (decreases always go): fewer writes to the charger's flash.
    fallback_raise_min_a: float = 2.0
    #: An acknowledged decrease still counts at the old footprint this long: a charger acknowledges at once, but
    #: the EV follows a lower pilot signal only within 5 s (IEC 61851-1), so capacity it frees is not free yet.
    reaction_s: float = 5.0
    allocation: AllocationPolicy = field(default_factory=AllocationPolicy)
    fallback: FallbackPolicy = field(default_factory=FallbackPolicy)

    def __post_init__(self) -> None:
        if self.lease_s <= 0 or not 0 <= self.renew_before_s < self.lease_s:
            raise ValueError("CoordinatorPolicy needs lease_s > 0 and 0 <= renew_before_s < lease_s")
        if self.retry_s <= 0 or self.fallback_raise_min_a < 0 or self.reaction_s < 0:
            raise ValueError("CoordinatorPolicy needs retry_s > 0, fallback_raise_min_a >= 0 and reaction_s >= 0")


# ---- inputs -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passes: leases lapse and are renewed, retries fall due, a stale plan is redone."""

    now: datetime


@dataclass(frozen=True, slots=True)
class Replan:
    """New limits and demands (and optionally a new topology): allocate again. Keys in ``demands`` are active
    sessions (one not started yet is started); a session ends only with :class:`SessionEnded`."""

    now: datetime
    limits: Mapping[str, NodeLimit]
    demands: Sequence[SessionDemand]
    topology: SiteTopology | None = None


@dataclass(frozen=True, slots=True)
class Acknowledged:
    command_id: str
    now: datetime


@dataclass(frozen=True, slots=True)
class Rejected:
    command_id: str
    reason: str
    now: datetime


@dataclass(frozen=True, slots=True)
class NoAnswer:
    command_id: str
    now: datetime


@dataclass(frozen=True, slots=True)
class SessionStarted:
    key: EvseKey
    now: datetime


@dataclass(frozen=True, slots=True)
class SessionEnded:
    key: EvseKey
    now: datetime


@dataclass(frozen=True, slots=True)
class StationOffline:
    station_id: str
    now: datetime


@dataclass(frozen=True, slots=True)
class StationOnline:
    station_id: str
    now: datetime


CoordinatorInput = (
    Tick | Replan | Acknowledged | Rejected | NoAnswer | SessionStarted | SessionEnded | StationOffline | StationOnline
)


# ---- commands -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetSessionLimit:
    """Send a TxProfile (Absolute, validTo = ``lease_until``; None = no end) for the EVSE's transaction:
    ``current_a`` per phase on ``phases`` (0 = pause), or ``power_w`` for DC (``current_a`` is then the grid-side
    current per phase)."""

    command_id: str
    key: EvseKey
    current_a: float
    phases: int
    power_w: float | None
    lease_until: datetime | None


@dataclass(frozen=True, slots=True)
class SetFallback:
    """Send the EVSE's TxDefaultProfile: ``current_a`` per phase on ``phases`` (``power_w`` = 3·V·A for DC)."""

    command_id: str
    key: EvseKey
    current_a: float
    phases: int
    power_w: float | None = None


@dataclass(frozen=True, slots=True)
class NotifyOperator:
    """Something an operator must know. ``key`` is None for a site-level message (a node that cannot be brought
    under its limit, a fixed fallback that does not fit)."""

    key: EvseKey | None
    message: str


CoordinatorCommand = SetSessionLimit | SetFallback | NotifyOperator


# ---- state ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Held:
    """A session limit as a charger holds it (or may: pending)."""

    current_a: float
    phases: int
    power_w: float | None = None
    lease_until: datetime | None = None

    def valid(self, now: datetime) -> bool:
        return self.lease_until is None or now < self.lease_until

    def same_limit(self, other: Held) -> bool:
        if self.power_w is not None or other.power_w is not None:
            return (
                self.power_w is not None and other.power_w is not None and abs(self.power_w - other.power_w) < 1e-6
            )
        return self.phases == other.phases and abs(self.current_a - other.current_a) < 1e-9


@dataclass(slots=True)
class _Write:
    command_id: str
    key: EvseKey
    kind: str
    fallback_a: float = 0.0
    held: Held | None = None
    epoch: int = 0


class _Evse:
    __slots__ = (
        "epoch", "fallback", "fallback_pending", "fp", "index", "last_try", "limit", "limit_pending", "offline",
        "reserved_in_plan", "session", "settling", "spec", "unknown", "want_fallback", "want_limit",
    )

    def __init__(self, spec: EvseSpec, index: int, fallback: float | None) -> None:
        self.spec = spec
        self.index = index
        self.fallback = fallback  # acknowledged TxDefault share, None: unknown
        self.fallback_pending: dict[str, float] = {}
        self.limit: Held | None = None  # acknowledged session limit for the current session
        self.limit_pending: dict[str, Held] = {}
        self.session = False
        self.epoch = 0  # bumped at every session start and end: writes for another session do not count
        self.unknown: set[str] = set() if fallback is not None else {_FALLBACK}
        #: (until, footprint): what an acknowledged decrease left behind while the EV ramps down.
        self.settling: tuple[datetime, PhaseCurrents] | None = None
        self.offline = False
        self.last_try: datetime | None = None
        self.want_fallback: float | None = None
        self.want_limit: Held | None = None
        self.reserved_in_plan = True  # no plan has given it a share yet
        self.fp: PhaseCurrents = ZERO


def _seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


class SiteCapCoordinator:
    """The site-cap state machine (see the module docstring). Feed inputs to :meth:`handle`; it returns the
    commands to carry out, in order. Nothing here reads a clock or does I/O.

    ``installed_fallbacks`` are the TxDefault shares the shell knows the chargers hold; any other EVSE starts
    unknown (counted at its worst case until its first fallback write is acknowledged). Chargers are assumed to
    hold no session limit of wattcap's at construction (start the coordinator a lease after the last one ended, or
    accept that an old lease may still run on a charger for up to ``lease_s``).
    """

    def __init__(
        self,
        topology: SiteTopology,
        *,
        now: datetime,
        policy: CoordinatorPolicy | None = None,
        installed_fallbacks: Mapping[EvseKey, float] | None = None,
    ) -> None:
        self.policy = policy or CoordinatorPolicy()
        self._now = now
        self._limits: dict[str, NodeLimit] = {}
        self._demands: dict[EvseKey, SessionDemand] = {}
        self._evses: dict[EvseKey, _Evse] = {}
        self._writes: dict[str, _Write] = {}
        self._leases: list[tuple[datetime, EvseKey]] = []
        self._next_id = 0
        self._allocation: SiteAllocation | None = None
        self._stale = True
        self._infeasible: frozenset[tuple[str, str]] = frozenset()
        self._site: CompiledSite = compile_site(topology)
        self._installed = dict(installed_fallbacks or {})
        self._set_topology(topology)

    # ---- public ---------------------------------------------------------------------------------------------

    @property
    def topology(self) -> SiteTopology:
        return self._site.topology

    @property
    def limits(self) -> Mapping[str, NodeLimit]:
        return self._limits

    @property
    def allocation(self) -> SiteAllocation | None:
        """The last plan (what the coordinator is steering towards)."""
        return self._allocation

    @property
    def now(self) -> datetime:
        return self._now

    def handle(self, event: CoordinatorInput) -> list[CoordinatorCommand]:
        """Apply one input; return the commands it causes (decreases before increases)."""
        out: list[CoordinatorCommand] = []
        self._take(event, out)
        self._reconcile(self._now, out)
        return out

    def handle_all(self, events: Sequence[CoordinatorInput]) -> list[CoordinatorCommand]:
        """Apply several inputs that arrived together (a burst of acknowledgements), then decide the writes once.

        The same as handling them one by one and keeping only the last decision: every write is still judged
        against what is held and pending then. Deciding once matters at scale: each decision looks at every EVSE,
        so a thousand acknowledgements one by one cost a million looks.
        """
        out: list[CoordinatorCommand] = []
        for event in events:
            self._take(event, out)
        if events:
            self._reconcile(self._now, out)
        return out

    def _take(self, event: CoordinatorInput, out: list[CoordinatorCommand]) -> None:
        """One input's effect on what is known (its decisions wait for :meth:`_reconcile`)."""
        self._advance(event.now)
        now = self._now
        if isinstance(event, Tick):
            if self._stale:
                self._plan(now, out)
        elif isinstance(event, Replan):
            if event.topology is not None and event.topology is not self._site.topology:
                self._set_topology(event.topology)
            self._limits = dict(event.limits)
            for demand in event.demands:
                if demand.key not in self._evses:
                    continue
                self._start(demand.key, demand.started_at)
                self._demands[demand.key] = demand
            self._plan(now, out)
        elif isinstance(event, Acknowledged):
            self._acknowledged(event.command_id, now)
        elif isinstance(event, Rejected | NoAnswer):
            reason = event.reason if isinstance(event, Rejected) else "not answered"
            if self._failed(event.command_id, reason, now, out):
                self._plan(now, out)
        elif isinstance(event, SessionStarted):
            if event.key in self._evses:
                self._start(event.key, event.now)
        elif isinstance(event, SessionEnded):
            self._end(event.key)
        elif isinstance(event, StationOffline | StationOnline):
            online = isinstance(event, StationOnline)
            for e in self._evses.values():
                if e.spec.station_id == event.station_id:
                    e.offline = not online
                    if online:
                        e.last_try = None  # retry unknown EVSEs at once
            self._stale = True
        else:  # pragma: no cover - typing guard
            raise TypeError(f"not a coordinator input: {event!r}")

    step = handle

    def footprints(self) -> dict[EvseKey, PhaseCurrents]:
        """Every EVSE's footprint now (grid phases), as the invariant counts it."""
        return {key: e.fp for key, e in self._evses.items()}

    def violations(self) -> list[Violation]:
        """Where the invariant does not hold right now (see the module docstring for when that is expected)."""
        return footprint_violations(self._site.topology, self._limits, self.footprints())

    def fallback_shares(self) -> dict[EvseKey, float]:
        """Each EVSE's fallback share as last planned (A per phase): what the allocator holds for it whatever it
        draws (a new session there starts at it, before anyone is asked). The planner plans above these."""
        return {key: e.want_fallback or 0.0 for key, e in self._evses.items()}

    def pending_commands(self) -> list[str]:
        return sorted(self._writes)

    def view(self) -> dict[str, Any]:
        """A JSON-friendly snapshot for the API and UI."""
        evses: dict[str, Any] = {}
        alloc = self._allocation.evses if self._allocation is not None else {}
        for key in sorted(self._evses):
            e = self._evses[key]
            a = alloc.get(key)
            evses[f"{key[0]}/{key[1]}"] = {
                "session": e.session,
                "fallback_a": e.fallback,
                "fallback_pending_a": sorted(e.fallback_pending.values()),
                "limit": _held_view(e.limit),
                "limit_pending": [_held_view(h) for h in e.limit_pending.values()],
                "unknown": sorted(e.unknown),
                "offline": e.offline,
                "footprint_a": list(e.fp),
                "allocation": None if a is None else {
                    "current_a": a.current_a, "phases": a.phases, "power_w": a.power_w, "paused": a.paused,
                    "binding": a.binding,
                },
            }
        return {
            "at": self._now.isoformat(),
            "evses": evses,
            "violations": [
                {"node": v.node, "dimension": v.dimension, "load": v.load, "limit": v.limit} for v in self.violations()
            ],
            "pending": len(self._writes),
        }

    # ---- bookkeeping ------------------------------------------------------------------------------------------

    def _set_topology(self, topology: SiteTopology) -> None:
        self._site = compile_site(topology)
        old = self._evses
        self._evses = {}
        for i, spec in enumerate(self._site.evses):
            e = old.get(spec.key)
            if e is None:
                e = _Evse(spec, i, self._installed.get(spec.key))
            e.spec, e.index = spec, i
            self._evses[spec.key] = e
        self._demands = {k: d for k, d in self._demands.items() if k in self._evses}
        self._writes = {cid: w for cid, w in self._writes.items() if w.key in self._evses}
        self._cap = capacities(self._site, self._limits)
        self._rebuild_loads()
        self._stale = True

    def _advance(self, now: datetime) -> None:
        if now > self._now:
            self._now = now
        while self._leases and self._leases[0][0] <= self._now:
            _, key = heapq.heappop(self._leases)
            e = self._evses.get(key)
            if e is not None:
                self._refresh(e)

    def _footprint(self, e: _Evse) -> PhaseCurrents:
        spec = e.spec
        if e.unknown:
            return worst_case_footprint(spec)
        fallback = max([e.fallback or 0.0, *e.fallback_pending.values()])
        parts = [fallback_footprint(spec, fallback)]
        if e.settling is not None:
            if self._now < e.settling[0]:
                parts.append(e.settling[1])
            else:
                e.settling = None
        if e.session:
            for held in (e.limit, *e.limit_pending.values()):
                if held is not None and held.valid(self._now):
                    parts.append(evse_footprint(spec, held.current_a, held.phases, power_w=held.power_w))
        return max_footprint(*parts)

    def _rebuild_loads(self) -> None:
        n = self._site.n_nodes
        self._load = [0.0] * (4 * n)
        for e in self._evses.values():
            e.fp = ZERO
            self._refresh(e)

    def _refresh(self, e: _Evse) -> None:
        fp = self._footprint(e)
        self._apply(e, fp)

    def _apply(self, e: _Evse, fp: PhaseCurrents) -> None:
        old = e.fp
        if fp == old:
            return
        e.fp = fp
        d0, d1, d2 = fp[0] - old[0], fp[1] - old[1], fp[2] - old[2]
        dw = e.spec.voltage_v * (d0 + d1 + d2)
        off_w = 3 * self._site.n_nodes
        load = self._load
        for j in self._site.chains[e.index]:
            load[3 * j] += d0
            load[3 * j + 1] += d1
            load[3 * j + 2] += d2
            load[off_w + j] += dw

    def _path_over(self, e: _Evse) -> bool:
        """Whether a node feeding ``e`` is over its limit on any phase or in W (then ``e`` may not rise)."""
        cap, load = self._cap, self._load
        off_w = 3 * self._site.n_nodes
        for j in self._site.chains[e.index]:
            for c in (3 * j, 3 * j + 1, 3 * j + 2):
                if load[c] > cap[c] + _TOL:
                    return True
            if load[off_w + j] > cap[off_w + j] + _TOL * 1000:
                return True
        return False

    def _admissible(self, e: _Evse, fp: PhaseCurrents) -> bool:
        old = e.fp
        d = (fp[0] - old[0], fp[1] - old[1], fp[2] - old[2])
        dw = e.spec.voltage_v * (d[0] + d[1] + d[2])
        off_w = 3 * self._site.n_nodes
        cap, load = self._cap, self._load
        for j in self._site.chains[e.index]:
            for p in range(3):
                if d[p] > 0 and load[3 * j + p] + d[p] > cap[3 * j + p] + _TOL:
                    return False
            if dw > 0 and load[off_w + j] + dw > cap[off_w + j] + _TOL * 1000:
                return False
        return True

    def _new_id(self) -> str:
        self._next_id += 1
        return f"sc-{self._next_id}"

    # ---- sessions ---------------------------------------------------------------------------------------------

    def _start(self, key: EvseKey, started_at: datetime) -> None:
        e = self._evses[key]
        if e.session:
            return
        e.session = True
        e.epoch += 1
        e.limit = None
        e.limit_pending.clear()
        self._demands.setdefault(key, SessionDemand(key, started_at=started_at))
        self._stale = True
        self._refresh(e)

    def _end(self, key: EvseKey) -> None:
        e = self._evses.get(key)
        if e is None or not e.session:
            return
        e.session = False
        e.epoch += 1
        e.limit = None  # the TxProfile ends with its transaction
        e.limit_pending.clear()
        e.want_limit = None
        e.unknown.discard(_SESSION)  # what the session limit was does not matter any more
        self._demands.pop(key, None)
        self._stale = True
        self._refresh(e)

    # ---- outcomes ---------------------------------------------------------------------------------------------

    def _acknowledged(self, command_id: str, now: datetime) -> None:
        w = self._writes.pop(command_id, None)
        if w is None:
            return
        e = self._evses.get(w.key)
        if e is None:
            return
        before = e.fp
        was_unknown = bool(e.unknown)
        if w.kind == _FALLBACK:
            e.fallback_pending.pop(command_id, None)
            e.fallback = w.fallback_a
            e.unknown.discard(_FALLBACK)
        else:
            e.limit_pending.pop(command_id, None)
            if w.epoch == e.epoch and e.session and w.held is not None:
                e.limit = w.held
                e.unknown.discard(_SESSION)
                if w.held.lease_until is not None:
                    heapq.heappush(self._leases, (w.held.lease_until, w.key))
        if was_unknown and not e.unknown:
            self._stale = True  # re-admitted: its worst case can go back to the others
        after = self._footprint(e)
        if self.policy.reaction_s > 0 and any(after[p] < before[p] - 1e-9 for p in range(3)):
            until = now + timedelta(seconds=self.policy.reaction_s)
            e.settling = (until, before)
            heapq.heappush(self._leases, (until, w.key))
        self._refresh(e)

    def _failed(self, command_id: str, reason: str, now: datetime, out: list[CoordinatorCommand]) -> bool:
        """A write was rejected or not answered: the EVSE becomes unknown. True if the plan must be redone."""
        w = self._writes.pop(command_id, None)
        if w is None:
            return False
        e = self._evses.get(w.key)
        if e is None:
            return False
        if w.kind == _FALLBACK:
            e.fallback_pending.pop(command_id, None)
        else:
            e.limit_pending.pop(command_id, None)
            if w.epoch != e.epoch or not e.session:
                self._refresh(e)
                return False  # a limit for a session that has ended: nothing can be drawn under it
        was_unknown = bool(e.unknown)
        e.unknown.add(w.kind)
        e.last_try = now
        self._refresh(e)
        if not was_unknown:
            current, phases = worst_case(e.spec)
            out.append(NotifyOperator(
                w.key,
                f"EVSE {w.key[0]}/{w.key[1]}: {w.kind} write {command_id} {reason}; counted at its worst case "
                f"({current:g} A on {phases} phase{'s' if phases > 1 else ''}) and its share withheld until a "
                f"write succeeds (retried every {self.policy.retry_s} s)",
            ))
        return True

    # ---- planning ---------------------------------------------------------------------------------------------

    def _reserved(self) -> dict[EvseKey, tuple[float, int]]:
        reserved: dict[EvseKey, tuple[float, int]] = {}
        for key, e in self._evses.items():
            if e.unknown:
                reserved[key] = worst_case(e.spec)
            elif e.offline:
                reserved[key] = (max(e.fp), self._site.evse_phases[e.index])
        return reserved

    def _plan(self, now: datetime, out: list[CoordinatorCommand]) -> None:
        self._stale = False
        topology = self._site.topology
        self._cap = capacities(self._site, self._limits)
        self._rebuild_loads()
        reserved = self._reserved()
        try:
            shares = fallback_shares(topology, self._limits, self.policy.fallback, reserved=reserved)
        except FallbackDoesNotFit as exc:
            out.append(NotifyOperator(None, f"{exc}; using equal shares instead"))
            shares = fallback_shares(topology, self._limits, FallbackPolicy(), reserved=reserved)
        demands = [self._demands[k] for k in sorted(self._demands) if self._evses[k].session]
        alloc = allocate(
            topology, self._limits, demands, now=now, previous=self._as_landed(now), fallbacks=shares,
            reserved=reserved, policy=self.policy.allocation,
        )
        self._allocation = alloc
        planned: dict[EvseKey, PhaseCurrents] = {}
        for key, e in self._evses.items():
            e.reserved_in_plan = key in reserved
            e.want_fallback = shares.get(key, 0.0)
            a = alloc.evses.get(key)
            if a is not None and e.session:
                e.want_limit = Held(a.current_a, a.phases, a.power_w)
            elif e.session and key in reserved and e.want_limit is not None:
                pass  # keep the last wish: it is what a retry sends
            else:
                e.want_limit = None
            if key in reserved:
                current, phases = reserved[key]
                planned[key] = evse_footprint(e.spec, current, phases) if e.spec.current_type is CurrentType.AC \
                    else (current, current, current)
            else:
                fp = fallback_footprint(e.spec, e.want_fallback)
                if a is not None:
                    fp = max_footprint(fp, evse_footprint(e.spec, a.current_a, a.phases, power_w=a.power_w))
                planned[key] = fp
        self._report_infeasible(footprint_violations(topology, self._limits, planned), out)

    def _as_landed(self, now: datetime) -> SiteAllocation | None:
        """The previous plan as the chargers know it: a raise that has not been acknowledged yet is dated ``now``.

        Reclaim judges a session by its draw some time after its allocation rose; a raise still held back (waiting
        for the decrease it needs) or not yet answered never reached the EV, so its draw says nothing yet.
        """
        previous = self._allocation
        if previous is None:
            return None
        changed = {}
        for key, a in previous.evses.items():
            e = self._evses.get(key)
            if e is None or a.paused or a.raised_at is None or a.raised_at >= now:
                continue
            held = e.limit if e.limit is not None and e.limit.valid(now) else None
            landed = held is not None and held.phases == a.phases and (
                held.current_a >= a.current_a - 1e-9 if a.power_w is None
                else (held.power_w or 0.0) >= a.power_w - 1e-6
            )
            if not landed:
                changed[key] = replace(a, raised_at=now)
        return previous if not changed else replace(previous, evses={**previous.evses, **changed})

    def _report_infeasible(self, violations: list[Violation], out: list[CoordinatorCommand]) -> None:
        now_infeasible = frozenset((v.node, v.dimension) for v in violations)
        for v in violations:
            if (v.node, v.dimension) not in self._infeasible:
                out.append(NotifyOperator(
                    None,
                    f"node {v.node} cannot be brought under its limit on {v.dimension}: {v.load:.1f} planned "
                    f"(unknown or offline EVSEs at worst case, non-EV load, margin) > {v.limit:.1f}",
                ))
        self._infeasible = now_infeasible

    # ---- reconciling: what to send now -------------------------------------------------------------------------

    def _reconcile(self, now: datetime, out: list[CoordinatorCommand]) -> None:
        if self._stale and self._allocation is None:
            return  # nothing planned yet
        decreases: list[tuple[_Evse, _Write]] = []
        increases: list[tuple[_Evse, _Write]] = []
        in_flight: set[EvseKey] | None = None  # EVSEs with a write out, gathered once (not once per EVSE)
        for key in sorted(self._evses):
            e = self._evses[key]
            if e.offline:
                continue
            if e.unknown:
                if in_flight is None:
                    in_flight = {w.key for w in self._writes.values()}
                self._retry(e, now, decreases, in_flight)
                continue
            if e.reserved_in_plan:
                continue  # back from offline or unknown: the next plan gives it a share (until then, no writes)
            for w in (self._limit_write(e, now), self._fallback_write(e)):
                if w is None:
                    continue
                if self._raises(e, w):
                    increases.append((e, w))
                else:
                    decreases.append((e, w))
        first: list[CoordinatorCommand] = []
        then: list[CoordinatorCommand] = []
        for e, w in decreases:
            self._emit(e, w, first)
        for e, w in increases:
            fp = max_footprint(e.fp, self._write_footprint(e, w))
            if not self._path_over(e) and self._admissible(e, fp):
                self._emit(e, w, then)
                continue
            # Held back. If the write also lowers some phase (3 → 1 phase: less on two phases, more on one), send
            # that part now, capped so that no phase rises: otherwise a node over on the lowered phases would
            # wait for ever for an increase that waits for it.
            part = self._lowering_part(e, w, now)
            if part is not None:
                self._emit(e, part, first)
            elif (renewal := self._renewal_while_waiting(e, now)) is not None:
                self._emit(e, renewal, first)
        out.extend(first)
        out.extend(then)

    def _renewal_while_waiting(self, e: _Evse, now: datetime) -> _Write | None:
        """While a higher limit waits, the limit in force keeps its lease: renew it (same limit, nothing rises), or
        the EV would drop to its fallback while wattcap runs."""
        current = e.limit if e.limit is not None and e.limit.valid(now) else None
        if current is None or current.lease_until is None:
            return None
        if current.lease_until - now >= timedelta(seconds=self.policy.renew_before_s):
            return None
        lease = self._lease_for(e, current, now)
        if lease is None or any(p.same_limit(current) for p in e.limit_pending.values()):
            return None
        held = Held(current.current_a, current.phases, current.power_w, lease)
        return _Write("", e.spec.key, _SESSION, held=held, epoch=e.epoch)

    def _lowering_part(self, e: _Evse, w: _Write, now: datetime) -> _Write | None:
        """For a held-back session limit: the same limit capped at what every phase it uses may draw now (0 if
        that is below the EVSE's minimum), if it lowers some phase compared with the limit in force."""
        held = w.held
        if w.kind != _SESSION or held is None or e.spec.current_type is CurrentType.DC:
            return None
        current = e.limit if e.limit is not None and e.limit.valid(now) else None
        if current is None:
            return None
        wiring = self._site.wiring[e.index]
        room = min(e.fp[wiring[p]] for p in range(max(1, min(3, held.phases))))
        capped = min(held.current_a, room)
        if capped < e.spec.min_current_a:
            capped = 0.0
        part = Held(capped, held.phases, None, None)
        part = Held(capped, held.phases, None, self._lease_for(e, part, now))
        before = evse_footprint(e.spec, current.current_a, current.phases, power_w=current.power_w)
        after = evse_footprint(e.spec, part.current_a, part.phases)
        if not any(after[p] < before[p] - 1e-9 for p in range(3)):
            return None
        if any(p.same_limit(part) for p in e.limit_pending.values()):
            return None
        return _Write("", e.spec.key, _SESSION, held=part, epoch=e.epoch)

    def _retry(
        self, e: _Evse, now: datetime, batch: list[tuple[_Evse, _Write]], in_flight: Collection[EvseKey]
    ) -> None:
        if e.last_try is not None and _seconds(now, e.last_try) < self.policy.retry_s:
            return
        if e.spec.key in in_flight:
            return  # an earlier attempt is still out
        e.last_try = now
        key = e.spec.key
        if _FALLBACK in e.unknown:
            batch.append((e, _Write("", key, _FALLBACK, fallback_a=e.want_fallback or 0.0)))
        if _SESSION in e.unknown and e.session:
            held = e.want_limit or Held(0.0, self._site.evse_phases[e.index])
            lease = self._lease_for(e, held, now)
            batch.append((e, _Write("", key, _SESSION, held=Held(held.current_a, held.phases, held.power_w, lease),
                                    epoch=e.epoch)))

    def _fallback_write(self, e: _Evse) -> _Write | None:
        target = e.want_fallback
        if target is None or e.fallback is None:
            return None
        if any(abs(v - target) < 1e-9 for v in e.fallback_pending.values()):
            return None
        current = e.fallback
        lower = target < current - 1e-9  # always sent: the plan counts on it
        worth_raising = target - current >= max(self.policy.fallback_raise_min_a, 1e-6) - 1e-9
        if lower or worth_raising:
            return _Write("", e.spec.key, _FALLBACK, fallback_a=target)
        return None

    def _lease_for(self, e: _Evse, held: Held, now: datetime) -> datetime | None:
        """A lease when the limit lets the EVSE draw more than its fallback (in force or planned, the lower)."""
        fallback = e.fallback or 0.0
        if e.want_fallback is not None and e.want_fallback < fallback:
            fallback = e.want_fallback
        limit_fp = evse_footprint(e.spec, held.current_a, held.phases, power_w=held.power_w)
        fb_fp = fallback_footprint(e.spec, fallback)
        if any(limit_fp[p] > fb_fp[p] + 1e-9 for p in range(3)):
            return now + timedelta(seconds=self.policy.lease_s)
        return None

    def _limit_write(self, e: _Evse, now: datetime) -> _Write | None:
        want = e.want_limit
        if not e.session or want is None:
            return None
        lease = self._lease_for(e, want, now)
        renew_by = timedelta(seconds=self.policy.renew_before_s)
        # A leased limit that no longer needs a lease is left to lapse, unless lapsing would let the EVSE draw
        # more than the limit (a pause under a higher fallback): no write just to drop a lease.
        lapse_ok = lease is None and not self._fallback_exceeds(e, want)

        def good(held: Held) -> bool:
            if not held.same_limit(want):
                return False
            if lease is None:
                return held.lease_until is None or lapse_ok
            return held.lease_until is not None and held.lease_until - now >= renew_by

        current = e.limit if e.limit is not None and e.limit.valid(now) else None
        if current is not None and good(current):
            return None
        if any(good(pending) for pending in e.limit_pending.values()):
            return None
        held = Held(want.current_a, want.phases, want.power_w, lease)
        return _Write("", e.spec.key, _SESSION, held=held, epoch=e.epoch)

    def _fallback_exceeds(self, e: _Evse, held: Held) -> bool:
        fb_fp = fallback_footprint(e.spec, e.fallback or 0.0)
        limit_fp = evse_footprint(e.spec, held.current_a, held.phases, power_w=held.power_w)
        return any(fb_fp[p] > limit_fp[p] + 1e-9 for p in range(3))

    def _write_footprint(self, e: _Evse, w: _Write) -> PhaseCurrents:
        if w.kind == _FALLBACK:
            return fallback_footprint(e.spec, w.fallback_a)
        assert w.held is not None
        if not e.session or not w.held.valid(self._now):
            return ZERO
        return evse_footprint(e.spec, w.held.current_a, w.held.phases, power_w=w.held.power_w)

    def _raises(self, e: _Evse, w: _Write) -> bool:
        new = self._write_footprint(e, w)
        old = e.fp
        return any(new[p] > old[p] + 1e-9 for p in range(3))

    def _emit(self, e: _Evse, w: _Write, out: list[CoordinatorCommand]) -> None:
        w.command_id = self._new_id()
        self._writes[w.command_id] = w
        key = e.spec.key
        dc = e.spec.current_type is CurrentType.DC
        if w.kind == _FALLBACK:
            e.fallback_pending[w.command_id] = w.fallback_a
            phases = self._site.evse_phases[e.index]
            power = w.fallback_a * 3 * e.spec.voltage_v if dc else None
            out.append(SetFallback(w.command_id, key, w.fallback_a, phases, power))
        else:
            assert w.held is not None
            e.limit_pending[w.command_id] = w.held
            if w.held.lease_until is not None:
                heapq.heappush(self._leases, (w.held.lease_until, key))
            h = w.held
            out.append(SetSessionLimit(w.command_id, key, h.current_a, h.phases, h.power_w, h.lease_until))
        self._refresh(e)


def _held_view(held: Held | None) -> dict[str, Any] | None:
    if held is None:
        return None
    return {
        "current_a": held.current_a, "phases": held.phases, "power_w": held.power_w,
        "lease_until": held.lease_until.isoformat() if held.lease_until else None,
    }
