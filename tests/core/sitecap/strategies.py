"""Hypothesis strategies and small builders shared by the site-cap tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from wattcap.core.sitecap.model import EvseKey, EvseSpec, GridPhase, Node, NodeLimit, SessionDemand, SiteTopology
from wattcap.core.station import CurrentType

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
L1, L2, L3 = GridPhase.L1, GridPhase.L2, GridPhase.L3
ROTATIONS = ((L1, L2, L3), (L2, L3, L1), (L3, L1, L2))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def demand(key: EvseKey, started: float = 0.0, **kwargs: object) -> SessionDemand:
    return SessionDemand(key, started_at=at(started), **kwargs)  # type: ignore[arg-type]


def ac(station: str, evse_id: int, node: str, **kwargs: object) -> EvseSpec:
    kwargs.setdefault("step_a", 1.0)
    return EvseSpec(station, evse_id, node, **kwargs)  # type: ignore[arg-type]


def dc(station: str, evse_id: int, node: str, **kwargs: object) -> EvseSpec:
    kwargs.setdefault("max_power_w", 50_000.0)
    kwargs.setdefault("min_power_w", 2_000.0)
    return EvseSpec(station, evse_id, node, current_type=CurrentType.DC, **kwargs)  # type: ignore[arg-type]


@st.composite
def evse_specs(draw: st.DrawFn, station: str, evse_id: int, node: str, *, allow_dc: bool = True,
               allow_switch: bool = True) -> EvseSpec:
    kind = draw(st.sampled_from(("ac3", "ac3", "ac1", "dc") if allow_dc else ("ac3", "ac3", "ac1")))
    wiring = draw(st.sampled_from(ROTATIONS))
    if kind == "dc":
        return dc(station, evse_id, node, wiring=wiring, max_power_w=draw(st.sampled_from((11_000.0, 22_000.0))),
                  step_w=draw(st.sampled_from((100.0, 500.0))))
    return ac(
        station, evse_id, node, wiring=wiring, phases=3 if kind == "ac3" else 1,
        max_current_a=draw(st.sampled_from((16.0, 32.0))), step_a=draw(st.sampled_from((1.0, 0.1))),
        min_current_a=draw(st.sampled_from((6.0, 6.0, 8.0))),
        can_switch_phases=allow_switch and kind == "ac3" and draw(st.booleans()),
    )


@st.composite
def sites(draw: st.DrawFn, *, max_nodes: int = 5, max_evses: int = 7, allow_dc: bool = True,
          allow_switch: bool = True, power_limits: bool = True) -> SiteTopology:
    """A random small tree: a root, up to ``max_nodes - 1`` nodes under it, EVSEs on random nodes."""
    amps = st.one_of(st.none(), st.sampled_from((16.0, 25.0, 32.0, 40.0, 63.0, 80.0)))
    watts = st.one_of(st.none(), st.sampled_from((11_000.0, 22_000.0, 40_000.0))) if power_limits else st.none()
    margin = st.sampled_from((0.0, 0.0, 1.0, 2.5))
    nodes = [Node("grid", max_current_a=draw(amps) or 100.0, max_power_w=draw(watts), margin_a=draw(margin))]
    for k in range(draw(st.integers(0, max_nodes - 1))):
        parent = draw(st.sampled_from([n.id for n in nodes]))
        nodes.append(Node(f"n{k}", parent=parent, max_current_a=draw(amps), max_power_w=draw(watts),
                          margin_a=draw(margin)))
    evses = []
    for k in range(draw(st.integers(1, max_evses))):
        node = draw(st.sampled_from([n.id for n in nodes]))
        evses.append(draw(evse_specs(f"cs{k // 2}", k % 2 + 1, node, allow_dc=allow_dc,
                                     allow_switch=allow_switch)))
    return SiteTopology(tuple(nodes), tuple(evses))


@st.composite
def node_limits(draw: st.DrawFn, topology: SiteTopology, *, non_ev: bool = True) -> dict[str, NodeLimit]:
    limits: dict[str, NodeLimit] = {}
    for node in topology.nodes:
        if not draw(st.booleans()):
            continue
        current = draw(st.one_of(st.none(), st.sampled_from((10.0, 20.0, 30.0, 50.0))))
        load = (0.0, 0.0, 0.0)
        if non_ev and draw(st.booleans()):
            load = tuple(draw(st.sampled_from((0.0, 2.0, 5.5, 9.0))) for _ in range(3))  # type: ignore[assignment]
        limits[node.id] = NodeLimit(current_a=current, non_ev_load_a=load)  # type: ignore[arg-type]
    return limits


@st.composite
def demands_for(draw: st.DrawFn, topology: SiteTopology, *, weights: bool = True, priorities: bool = True,
                ev_limits: bool = True) -> list[SessionDemand]:
    out = []
    for k, evse in enumerate(topology.evses):
        if not draw(st.booleans()) and k > 0:
            continue
        is_dc = evse.current_type is CurrentType.DC
        out.append(SessionDemand(
            evse.key,
            started_at=at(draw(st.integers(0, 3)) * 60),
            weight=draw(st.sampled_from((1.0, 1.0, 2.0, 0.5))) if weights else 1.0,
            priority=draw(st.sampled_from((0, 0, 1))) if priorities else 0,
            max_current_a=None if is_dc or not ev_limits else draw(st.sampled_from((None, None, 10.0, 13.0))),
            max_power_w=draw(st.sampled_from((None, 7_000.0))) if is_dc and ev_limits else None,
            phases_in_use=None if is_dc or evse.phases == 1 else draw(st.sampled_from((None, None, 1, 3))),
        ))
    return out


@st.composite
def fallbacks_for(draw: st.DrawFn, topology: SiteTopology) -> dict[EvseKey, float]:
    return {
        e.key: draw(st.sampled_from((0.0, 6.0, 10.0)))
        for e in topology.evses
        if draw(st.booleans())
    }
