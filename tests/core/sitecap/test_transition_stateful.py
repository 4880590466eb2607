"""The coordinator against a simulated site, driven by random event sequences (hypothesis stateful testing).

The test keeps its own model of what every charger holds — the fallback and session limit it acknowledged, the
writes in flight, whether an EV is plugged in, which EVSEs failed a write — and recomputes every footprint and
node load itself (with ``reference.py``'s arithmetic), never asking the coordinator. After every step it checks:

1. **The invariant, with its one excuse.** For every node and dimension, load ≤ allowance, where the allowance
   is the node's limit, except right after an *external* event (the limit or the building load changes, a write is
   rejected or not answered and the EVSE jumps to its worst case): then it is the load at that moment, and from
   there it can only ratchet down (towards the limit) as decreases are acknowledged.
2. **No increase while over.** If any node is over when an input arrives, no command in the answer raises any
   EVSE's footprint.
3. **Leases.** A session limit above the EVSE's acknowledged fallback carries a lease of ``lease_s``; one without
   a lease never lets the EVSE draw more than its fallback.
4. **Same books.** The coordinator's footprints equal the test's.
5. **Settling** (the ``drain`` rule: acknowledge everything, tick, repeat): every node is within its limit unless
   what cannot be lowered (unknown EVSEs at worst case, offline stations, building load, margin) is already over;
   and where nothing is over, every session's acknowledged limit is what the plan says (no increase stuck).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from wattcap.core.sitecap import (
    Acknowledged,
    CoordinatorPolicy,
    EvseSpec,
    FallbackPolicy,
    NoAnswer,
    NodeLimit,
    Rejected,
    Replan,
    SessionDemand,
    SessionEnded,
    SessionStarted,
    SetFallback,
    SetSessionLimit,
    SiteCapCoordinator,
    SiteTopology,
    StationOffline,
    StationOnline,
    Tick,
)
from wattcap.core.station import CurrentType

from .reference import PHASE, ancestors, node_caps
from .strategies import T0, sites

TOL = 1e-6
LEASE_S = 300
REACTION_S = 5


def _grid(spec: EvseSpec, phases: int, current: float) -> list[float]:
    loads = [0.0, 0.0, 0.0]
    for p in range(phases):
        loads[PHASE[spec.wiring[p]]] = current
    return loads


def limit_footprint(spec: EvseSpec, cmd: SetSessionLimit) -> list[float]:
    if spec.current_type is CurrentType.DC:
        per = (cmd.power_w or 0.0) / (3 * spec.voltage_v)
        return [per, per, per]
    return _grid(spec, cmd.phases, cmd.current_a)


def fallback_fp(spec: EvseSpec, current: float) -> list[float]:
    return _grid(spec, 3 if spec.current_type is CurrentType.DC else spec.phases, current)


def worst(spec: EvseSpec) -> list[float]:
    if spec.current_type is CurrentType.DC:
        per = (spec.max_power_w or spec.max_current_a * 3 * spec.voltage_v) / (3 * spec.voltage_v)
        return [per, per, per]
    current = spec.max_current_a
    if spec.max_power_w is not None:
        current = min(current, spec.max_power_w / (spec.phases * spec.voltage_v))
    return _grid(spec, spec.phases, current)


@dataclass
class Charger:
    """What one EVSE holds, as the test knows it."""

    spec: EvseSpec
    fallback: float = 0.0
    limit: SetSessionLimit | None = None
    limit_epoch: int = -1
    plugged: bool = False
    epoch: int = 0
    unknown: set[str] = field(default_factory=set)
    offline: bool = False
    #: (until, footprint) left by acknowledged decreases while the EV ramps down (the policy's reaction_s).
    settling: list[tuple[datetime, list[float]]] = field(default_factory=list)


@settings(max_examples=80, stateful_step_count=50, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
class SiteCapMachine(RuleBasedStateMachine):
    @initialize(
        topology=sites(max_nodes=4, max_evses=6),
        known=st.lists(st.sampled_from((None, 0.0, 6.0, 16.0)), min_size=6, max_size=6),
        kind=st.sampled_from(("equal", "equal", "minimum", "zero", "fixed")),
    )
    def setup(self, topology: SiteTopology, known: list[float | None], kind: str) -> None:
        self.topology = topology
        self.now = T0
        self.limits: dict[str, NodeLimit] = {}
        self.chargers: dict[tuple[str, int], Charger] = {}
        installed: dict[tuple[str, int], float] = {}
        for evse, value in zip(topology.evses, known, strict=False):
            charger = Charger(evse)
            if value is None:
                charger.unknown.add("fallback")
            else:
                charger.fallback = value
                installed[evse.key] = value
            self.chargers[evse.key] = charger
        self.keys = sorted(self.chargers)
        self.stations = sorted({k[0] for k in self.keys})
        self.inflight: list[tuple[SetFallback | SetSessionLimit, int]] = []
        self.policy = CoordinatorPolicy(
            lease_s=LEASE_S, renew_before_s=120, retry_s=60, reaction_s=REACTION_S,
            fallback=FallbackPolicy(kind, 6.0 if kind == "fixed" else None),
        )
        self.coord = SiteCapCoordinator(topology, now=T0, policy=self.policy, installed_fallbacks=installed)
        self.allowance = {k: max(cap, load) for k, (load, cap) in self.loads().items()}
        self.step(Tick(T0), external=True)

    # ---- the test's own books --------------------------------------------------------------------------------

    def footprint(self, key: tuple[str, int]) -> list[float]:
        c = self.chargers[key]
        if c.unknown:
            return worst(c.spec)
        fallback = max([c.fallback] + [cmd.current_a for cmd, _ in self.inflight
                                       if isinstance(cmd, SetFallback) and cmd.key == key])
        loads = fallback_fp(c.spec, fallback)
        for until, fp in c.settling:
            if self.now < until:
                loads = [max(a, b) for a, b in zip(loads, fp, strict=True)]
        if c.plugged:
            held = [cmd for cmd, epoch in self.inflight
                    if isinstance(cmd, SetSessionLimit) and cmd.key == key and epoch == c.epoch]
            if c.limit is not None and c.limit_epoch == c.epoch:
                held.append(c.limit)
            for cmd in held:
                if cmd.lease_until is None or self.now < cmd.lease_until:
                    loads = [max(a, b) for a, b in zip(loads, limit_footprint(c.spec, cmd), strict=True)]
        return loads

    def loads(self, keys: set[tuple[str, int]] | None = None) -> dict[tuple[str, str], tuple[float, float]]:
        """(node, dimension) -> (EV load, headroom for EVs); ``keys`` restricts the EVSEs counted."""
        caps = node_caps(self.topology, self.limits)
        out: dict[tuple[str, str], tuple[float, float]] = {}
        fps = {k: self.footprint(k) for k in self.keys if keys is None or k in keys}
        for node in self.topology.nodes:
            total = [0.0, 0.0, 0.0, 0.0]
            for key, fp in fps.items():
                if node.id in ancestors(self.topology, self.chargers[key].spec.node):
                    for p in range(3):
                        total[p] += fp[p]
                    total[3] += self.chargers[key].spec.voltage_v * sum(fp)
            cap_a, cap_w = caps[node.id]
            for p in range(3):
                out[node.id, f"L{p + 1}"] = (total[p], cap_a[p])
            out[node.id, "W"] = (total[3], cap_w)
        return out

    def over(self, loads: dict[tuple[str, str], tuple[float, float]]) -> list[tuple[str, str]]:
        return [k for k, (load, cap) in loads.items() if load > cap + (1e-3 if k[1] == "W" else TOL)]

    def demands(self) -> list[SessionDemand]:
        return [SessionDemand(k, started_at=T0) for k in self.keys if self.chargers[k].plugged]

    # ---- one input, checked ---------------------------------------------------------------------------------

    def step(self, event: object, *, external: bool) -> None:
        before = self.loads()
        if external:
            self.allowance = {k: max(cap, load) for k, (load, cap) in before.items()}
        was_over = self.over(before)
        fps_before = {k: self.footprint(k) for k in self.keys}
        commands = self.coord.handle(event)  # type: ignore[arg-type]
        for cmd in commands:
            if isinstance(cmd, SetFallback | SetSessionLimit):
                charger = self.chargers[cmd.key]
                assert not charger.offline, f"{cmd} sent to an offline station"
                if isinstance(cmd, SetSessionLimit):
                    self.check_lease(charger, cmd)
                self.inflight.append((cmd, charger.epoch))
        after = self.loads()
        if was_over:
            over_nodes = {node for node, _ in was_over}
            for key in self.keys:
                raised = [a > b + 1e-9 for a, b in zip(self.footprint(key), fps_before[key], strict=True)]
                feeding = set(ancestors(self.topology, self.chargers[key].spec.node))
                assert not (any(raised) and feeding & over_nodes), f"{key} raised below {was_over}: {commands}"
        for k, (load, cap) in after.items():
            tol = 1e-3 if k[1] == "W" else TOL
            assert load <= self.allowance[k] + tol, (k, load, self.allowance[k], cap, event, commands)
            self.allowance[k] = max(cap, min(self.allowance[k], load))
        ours = {k: tuple(self.footprint(k)) for k in self.keys}
        theirs = self.coord.footprints()
        for key in self.keys:
            assert all(abs(a - b) < 1e-6 for a, b in zip(ours[key], theirs[key], strict=True)), (
                key, ours[key], theirs[key], self.chargers[key])

    def check_lease(self, charger: Charger, cmd: SetSessionLimit) -> None:
        if cmd.lease_until is None:
            limit = limit_footprint(charger.spec, cmd)
            fallback = fallback_fp(charger.spec, charger.fallback)
            assert all(a <= b + 1e-9 for a, b in zip(limit, fallback, strict=True)) or charger.unknown, (
                f"{cmd} has no lease but lets the EVSE draw more than its fallback {charger.fallback}")
        else:
            assert cmd.lease_until == self.now + timedelta(seconds=LEASE_S)

    # ---- rules -----------------------------------------------------------------------------------------------

    @rule(i=st.integers(0, 11))
    def plug_in(self, i: int) -> None:
        key = self.keys[i % len(self.keys)]
        charger = self.chargers[key]
        if charger.plugged:
            return
        charger.plugged, charger.epoch = True, charger.epoch + 1
        self.step(SessionStarted(key, self.now), external=False)

    @rule(i=st.integers(0, 11))
    def unplug(self, i: int) -> None:
        key = self.keys[i % len(self.keys)]
        charger = self.chargers[key]
        if not charger.plugged:
            return
        charger.plugged, charger.epoch = False, charger.epoch + 1
        charger.unknown.discard("session")
        self.step(SessionEnded(key, self.now), external=False)

    @rule(i=st.integers(0, 7), current=st.sampled_from((None, 6.0, 12.0, 20.0, 40.0, 80.0)),
          load=st.sampled_from((0.0, 0.0, 3.0, 8.0)), phase=st.integers(0, 2))
    def change_limit(self, i: int, current: float | None, load: float, phase: int) -> None:
        node = self.topology.nodes[i % len(self.topology.nodes)]
        non_ev = [0.0, 0.0, 0.0]
        non_ev[phase] = load
        self.limits[node.id] = NodeLimit(current_a=current, non_ev_load_a=tuple(non_ev))  # type: ignore[arg-type]
        self.step(Replan(self.now, dict(self.limits), self.demands()), external=True)

    @rule()
    def replan(self) -> None:
        self.step(Replan(self.now, dict(self.limits), self.demands()), external=False)

    def _take(self, i: int) -> tuple[SetFallback | SetSessionLimit, int]:
        return self.inflight.pop(i % len(self.inflight))

    @precondition(lambda self: self.inflight)
    @rule(i=st.integers(0, 30))
    def acknowledge(self, i: int) -> None:
        cmd, epoch = self._take(i)
        self._land(cmd, epoch)
        self.step(Acknowledged(cmd.command_id, self.now), external=False)

    def _land(self, cmd: SetFallback | SetSessionLimit, epoch: int) -> None:
        charger = self.chargers[cmd.key]
        before = self.footprint(cmd.key) if not charger.unknown else None
        self._apply_landing(charger, cmd, epoch)
        if before is None or charger.unknown:
            if before is None and not charger.unknown:
                before = worst(charger.spec)  # re-admitted: it was counted at its worst case until now
            else:
                return
        after = self.footprint(cmd.key)
        if any(a < b - 1e-9 for a, b in zip(after, before, strict=True)):
            charger.settling.append((self.now + timedelta(seconds=REACTION_S), before))

    def _apply_landing(self, charger: Charger, cmd: SetFallback | SetSessionLimit, epoch: int) -> None:
        if isinstance(cmd, SetFallback):
            charger.fallback = cmd.current_a
            charger.unknown.discard("fallback")
        elif charger.plugged and epoch == charger.epoch:
            charger.limit, charger.limit_epoch = cmd, epoch
            charger.unknown.discard("session")

    @precondition(lambda self: self.inflight)
    @rule(i=st.integers(0, 30), answer=st.sampled_from(("rejected", "none")))
    def fail(self, i: int, answer: str) -> None:
        cmd, epoch = self._take(i)
        charger = self.chargers[cmd.key]
        if isinstance(cmd, SetFallback):
            charger.unknown.add("fallback")
        elif charger.plugged and epoch == charger.epoch:
            charger.unknown.add("session")
        event = Rejected(cmd.command_id, "Rejected", self.now) if answer == "rejected" else NoAnswer(
            cmd.command_id, self.now)
        self.step(event, external=True)

    @rule(seconds=st.sampled_from((1, 30, 70, 130, 200, 310)))
    def tick(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)
        self.step(Tick(self.now), external=False)

    @rule(i=st.integers(0, 5), online=st.booleans())
    def connectivity(self, i: int, online: bool) -> None:
        station = self.stations[i % len(self.stations)]
        for key in self.keys:
            if key[0] == station:
                self.chargers[key].offline = not online
        event = StationOnline(station, self.now) if online else StationOffline(station, self.now)
        self.step(event, external=False)

    @rule()
    def drain(self) -> None:
        """Acknowledge everything until nothing is in flight, then check that the site has settled."""
        for _ in range(30):
            while self.inflight:
                cmd, epoch = self.inflight.pop(0)
                self._land(cmd, epoch)
                self.step(Acknowledged(cmd.command_id, self.now), external=False)
            self.now += timedelta(seconds=1)
            self.step(Tick(self.now), external=False)
            if not self.inflight:
                # Increases wait for the EVs to follow acknowledged decreases: let the reaction time pass.
                self.now += timedelta(seconds=REACTION_S)
                self.step(Tick(self.now), external=False)
                if not self.inflight:
                    break
        assert not self.inflight, "writes keep coming although every one is acknowledged"
        stuck = {k for k in self.keys if self.chargers[k].unknown or self.chargers[k].offline}
        irreducible = self.loads(stuck)
        now_loads = self.loads()
        for k, (load, cap) in now_loads.items():
            tol = 1e-3 if k[1] == "W" else TOL
            assert load <= max(cap, irreducible[k][0]) + tol, (k, load, cap, irreducible[k])
        if self.over(now_loads):
            return
        plan = self.coord.allocation
        assert plan is not None
        for key in self.keys:
            charger = self.chargers[key]
            a = plan.evses.get(key)
            if not charger.plugged or a is None or key in stuck:
                continue
            held = charger.limit if charger.limit_epoch == charger.epoch else None
            assert held is not None, f"{key}: no limit in force although nothing is over"
            got = held.power_w if a.power_w is not None else held.current_a
            want = a.power_w if a.power_w is not None else a.current_a
            assert abs((got or 0.0) - (want or 0.0)) < 1e-6, (key, held, a)

    @invariant()
    def the_coordinator_keeps_the_sites_time(self) -> None:
        assert self.coord.now == self.now


TestSiteCap = SiteCapMachine.TestCase
