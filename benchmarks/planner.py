"""Charging-planner benchmark: one joint plan (``plan_sessions``) for 1, 20 and 100 sessions over 24 hours.

Run ``.venv/bin/python benchmarks/planner.py`` (``--repeats N``, ``--sizes 1 20 100``). Every case is built from
a fixed seed, so every run times the same work: a day from 12:00 in 96 quarter-hour slots, a grid connection
with a building-load forecast (day peak, night trough), a day-ahead-like price curve (cheap at night, dear in
the evening peak) and a midday solar surplus; sessions arrive through the afternoon and evening and leave the
next morning (depot vans) or after a few hours (visitors), AC three-phase with a 6 A minimum (semi-continuous
powers, so the minimum-power machinery runs) or DC, strategies mixed (mostly cheapest, some solar and fastest).
The connection is sized to about 60 % of the sessions' summed maximum, so the cap binds.

Reported per size: the solve time (what ``SitePlan.solve_seconds`` measures: HiGHS's runs), the wall time of the
whole call (building the programme and the plans included), the status, the MIP gap, and how many goals are met.
This is a measurement, not a test: nothing here asserts on timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from wattcap.core.fleet.model import Strategy
from wattcap.core.fleet.planner import PlanningWindow, SessionGoal, ev_capacity, plan_sessions

START = datetime(2026, 11, 25, 12, tzinfo=UTC)
SLOTS = 96
MIN_3PH = 6 * 230 * 3


def case(n: int, seed: int = 8) -> tuple[list[SessionGoal], PlanningWindow]:
    """``n`` sessions and a 24 h window (see the module docstring)."""
    rng = random.Random(seed * 1000 + n)
    goals = []
    total_max = 0.0
    for i in range(n):
        depot = rng.random() < 0.7
        arrival = START + timedelta(minutes=rng.randrange(0, 10 * 60, 5))
        stay_h = rng.uniform(10, 18) if depot else rng.uniform(1.5, 5)
        departure = min(arrival + timedelta(hours=stay_h), START + timedelta(hours=24))
        dc = rng.random() < 0.1
        max_w = rng.choice([50_000.0, 100_000.0]) if dc else rng.choice([11_040.0, 22_080.0, 7_360.0])
        min_w = 0.0 if dc else MIN_3PH
        need = rng.uniform(0.2, 0.8) * max_w * min(stay_h, 8)
        strategy = rng.choices([Strategy.CHEAPEST, Strategy.SOLAR, Strategy.FASTEST], [0.7, 0.2, 0.1])[0]
        goals.append(SessionGoal((f"CP{i:03d}", 1), departure, need, max_w, min_w, available_from=arrival,
                                 strategy=strategy, priority=rng.choice([0, 0, 0, 10])))
        total_max += max_w
    hours = [(12 + t / 4) % 24 for t in range(SLOTS)]
    cap = [max(20_000.0, 0.6 * total_max)] * SLOTS
    building = [0.15 * cap[0] * (1.6 if 8 <= h < 18 else 0.6) for h in hours]
    price = [0.32 if 17 <= h < 21 else 0.12 if (h >= 23 or h < 6) else 0.22 for h in hours]
    solar = [max(0.0, 0.3 * cap[0] * (1 - abs(h - 13) / 4)) if 9 <= h < 17 else 0.0 for h in hours]
    window = PlanningWindow(START, ev_capacity(cap, building), price_per_kwh=tuple(price),
                            solar_surplus_w=tuple(solar))
    return goals, window


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 20, 100])
    parser.add_argument("--time-limit", type=float, default=5.0)
    parser.add_argument("--gap", type=float, default=1e-3, help="mip_rel_gap (the planner's default is 1e-3)")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus; "
          f"{SLOTS} slots of 15 min; median of {args.repeats}; mip_rel_gap {args.gap}, time limit {args.time_limit} s")
    print(f"{'sessions':>8} {'solve med':>10} {'solve min':>10} {'wall med':>9} {'status':<48} {'gap':>8} met")
    for n in args.sizes:
        goals, window = case(n)
        solves, walls = [], []
        plan = None
        for _ in range(args.repeats):
            started = time.perf_counter()
            plan = plan_sessions(goals, window, time_limit_s=args.time_limit, mip_rel_gap=args.gap)
            walls.append(time.perf_counter() - started)
            solves.append(plan.solve_seconds)
        assert plan is not None
        met = sum(p.feasible for p in plan.plans)
        print(f"{n:>8} {statistics.median(solves) * 1000:>8.0f}ms {min(solves) * 1000:>8.0f}ms "
              f"{statistics.median(walls) * 1000:>7.0f}ms {plan.status[:48]:<48} {plan.gap:>8.1e} {met}/{n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
