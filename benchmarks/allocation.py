"""Site-cap allocation benchmark: one ``allocate`` call on a 10,000-EVSE site, against a 1 s target.

Run ``.venv/bin/python benchmarks/allocation.py`` (``--quick`` for fewer repeats, ``--profile`` for a cProfile
breakdown, ``--evses-per-station``/``--stations``/``--feeders`` to change the size). The site is built from a
fixed seed, so every run times the same work:

* a grid connection (per-phase A and a W limit, margin, non-EV load) → 100 feeders (per-phase A, non-EV load) →
  2,500 stations (per-phase A) → 4 EVSEs each: 10,000 EVSEs;
* EVSEs: 80 % AC three-phase (a third can switch 3→1), 12 % AC single-phase, 8 % DC; the three phase rotations
  in turn; steps of 1 A, 0.1 A or 100 W; about 70 % have a session, with mixed EV ceilings, weights, a few
  priorities, measured draws (some drawing well under their share, for reclaim), fallbacks on every EVSE.

Two figures: a *cold* call (no ``previous``: every session is new) and a *steady* call (``previous`` is the last
allocation, 10 s later: the hysteresis and reclaim paths run). The compiled topology is cached per topology
object, as in the control plane; the first call, which compiles it, is reported separately.

This is a measurement, not a test: nothing here asserts on timing.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import platform
import pstats
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from wattcap.core.sitecap import (
    EvseSpec,
    GridPhase,
    Node,
    NodeLimit,
    SessionDemand,
    SiteAllocation,
    SiteTopology,
    allocate,
    fallback_shares,
)
from wattcap.core.station import CurrentType

TARGET_MS = 1000.0
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ROTATIONS = (
    (GridPhase.L1, GridPhase.L2, GridPhase.L3),
    (GridPhase.L2, GridPhase.L3, GridPhase.L1),
    (GridPhase.L3, GridPhase.L1, GridPhase.L2),
)


def build_site(feeders: int, stations: int, per_station: int, seed: int = 20261125) -> tuple[
    SiteTopology, dict[str, NodeLimit], list[SessionDemand], dict[tuple[str, int], float]
]:
    rng = random.Random(seed)
    nodes = [Node("grid", max_current_a=16.0 * stations * per_station / 6, max_power_w=None, margin_a=20.0)]
    limits: dict[str, NodeLimit] = {}
    evses: list[EvseSpec] = []
    for f in range(feeders):
        nodes.append(Node(f"f{f}", parent="grid", max_current_a=rng.choice((400.0, 630.0, 800.0)), margin_a=5.0))
        limits[f"f{f}"] = NodeLimit(non_ev_load_a=(rng.uniform(0, 40), rng.uniform(0, 40), rng.uniform(0, 40)))
    for s in range(stations):
        station = f"cs{s:05d}"
        nodes.append(Node(station, parent=f"f{s % feeders}", max_current_a=rng.choice((32.0, 63.0, 80.0))))
        for e in range(1, per_station + 1):
            k = len(evses)
            roll = rng.random()
            rotation = ROTATIONS[k % 3]
            if roll < 0.08:
                evses.append(EvseSpec(station, e, station, current_type=CurrentType.DC, wiring=rotation,
                                      max_power_w=rng.choice((22_000.0, 50_000.0)), min_power_w=2_000.0,
                                      step_w=100.0))
            elif roll < 0.20:
                evses.append(EvseSpec(station, e, station, wiring=rotation, phases=1, max_current_a=32.0,
                                      step_a=rng.choice((1.0, 0.1))))
            else:
                evses.append(EvseSpec(station, e, station, wiring=rotation, phases=3,
                                      max_current_a=rng.choice((16.0, 32.0)), step_a=rng.choice((1.0, 0.1)),
                                      can_switch_phases=rng.random() < 0.33))
    grid_power = 0.55 * sum(
        (e.max_power_w or 0.0) if e.current_type is CurrentType.DC else e.max_current_a * e.phases * 230.0
        for e in evses
    )
    limits["grid"] = NodeLimit(power_w=grid_power, non_ev_load_a=(120.0, 90.0, 150.0), source="dso")
    topology = SiteTopology(tuple(nodes), tuple(evses))
    demands: list[SessionDemand] = []
    for evse in evses:
        if rng.random() > 0.7:
            continue
        dc = evse.current_type is CurrentType.DC
        draws_little = rng.random() < 0.1
        measured = None if dc else ((4.0, 4.0, 4.0) if draws_little else None)
        demands.append(SessionDemand(
            key=evse.key, started_at=T0 - timedelta(seconds=rng.randrange(0, 36_000)),
            weight=rng.choice((1.0, 1.0, 1.0, 2.0)), priority=rng.choice((0, 0, 0, 0, 0, 1)),
            max_current_a=None if dc else rng.choice((None, 16.0, 32.0, 10.0)),
            max_power_w=rng.choice((None, 40_000.0)) if dc else None,
            measured_a=measured, measured_at=T0 - timedelta(seconds=5) if measured else None,
            phases_in_use=None if dc else rng.choice((None, None, 1, 3)),
        ))
    fallbacks = fallback_shares(topology, limits)
    return topology, limits, demands, fallbacks


def time_calls(call, repeat: int) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    """Wall-clock and CPU milliseconds per call (CPU time is what the call itself cost on a busy machine)."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        t, c = time.perf_counter(), time.process_time()
        call()
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - t) * 1000)
        gc.enable()
    return wall, cpu


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 repeats instead of 21")
    parser.add_argument("--profile", action="store_true", help="print a cProfile breakdown of one steady call")
    parser.add_argument("--feeders", type=int, default=100)
    parser.add_argument("--stations", type=int, default=2_500)
    parser.add_argument("--evses-per-station", type=int, default=4)
    args = parser.parse_args(argv)
    repeat = 5 if args.quick else 21

    topology, limits, demands, fallbacks = build_site(args.feeders, args.stations, args.evses_per_station)
    n_nodes, n_evses = len(topology.nodes), len(topology.evses)

    t = time.perf_counter()
    first = allocate(topology, limits, demands, now=T0, fallbacks=fallbacks)
    first_ms = (time.perf_counter() - t) * 1000
    later = T0 + timedelta(seconds=10)
    steady_prev: SiteAllocation = allocate(topology, limits, demands, now=T0, fallbacks=fallbacks)

    cold = time_calls(lambda: allocate(topology, limits, demands, now=T0, fallbacks=fallbacks), repeat)
    steady = time_calls(
        lambda: allocate(topology, limits, demands, now=later, previous=steady_prev, fallbacks=fallbacks), repeat
    )
    shares = time_calls(lambda: fallback_shares(topology, limits), max(3, repeat // 4))

    paused = sum(1 for a in first.evses.values() if a.paused)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"wattcap site-cap allocation benchmark — Python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs, load average {load:.2f}")
    print(f"EVSEs {n_evses:,}  nodes {n_nodes:,}  sessions {len(demands):,}  paused {paused:,}  repeats {repeat}")
    print(f"first call (compiles the topology): {first_ms:8.1f} ms wall")
    print(f"{'':<24} {'wall median':>12} {'wall p95':>10} {'CPU median':>11} {'CPU p95':>9}  median wall / 1 s target")
    for name, (wall, cpu) in (("cold (no previous)", cold), ("steady (with previous)", steady),
                              ("fallback_shares (equal)", shares)):
        print(f"{name:<24} {statistics.median(wall):9.1f} ms {p95(wall):7.1f} ms {statistics.median(cpu):8.1f} ms "
              f"{p95(cpu):6.1f} ms  {statistics.median(wall) / TARGET_MS:.2f}")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        allocate(topology, limits, demands, now=later, previous=steady_prev, fallbacks=fallbacks)
        profiler.disable()
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(15)
        print(buffer.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
