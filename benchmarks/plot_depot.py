"""The depot in simulated time (``wattcap.sim.depot``), plotted for ``docs/fleet.md``, with its figures.

Run from the repository root::

    .venv/bin/python benchmarks/plot_depot.py            # writes docs/fleet/depot-night.png and depot-day.png

and prints what ``docs/fleet-depot-draft.md`` quotes: goals met, the peak draw against the cap, the energy cost
against the same day charged as fast as possible, and the planner's solve time per re-plan.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from wattcap.core.sitecap.fallback import FallbackKind, FallbackPolicy
from wattcap.sim.depot import (
    NIGHT,
    CoordinatorPolicy,
    DepotResult,
    depot_day,
    depot_night,
    simulate_depot,
    with_planner,
)

OUT = Path(__file__).resolve().parents[1] / "docs" / "fleet"
HOURS = mdates.DateFormatter("%H:%M")


def _kw(values: list[float | None]) -> list[float]:
    return [(v or 0.0) / 1000 for v in values]


def _steps(ax, result: DepotResult, values: list[float], **kwargs) -> None:  # type: ignore[no-untyped-def]
    ax.step(result.times, values, where="post", **kwargs)


def plot_night(result: DepotResult, path: Path) -> None:
    van = result.traces["van-07"]
    first = next(p for p in result.plans if "van-07" in p.plans).plans["van-07"]
    fig, (top, mid, low) = plt.subplots(3, 1, figsize=(10, 7.5), sharex=True,
                                        gridspec_kw={"height_ratios": [1, 3, 1.2]})
    _steps(top, result, [p or 0.0 for p in result.price], color="tab:purple")
    top.set_ylabel("price / kWh")
    top.set_title("The depot example: van-07 plugs in at 22:00 and needs 60 kWh by 05:00 (cheapest)")
    top.grid(alpha=0.3)

    names = ["van-07", "car-a", "car-b"]
    colours = {"van-07": "tab:blue", "car-a": "tab:orange", "car-b": "tab:green"}
    mid.stackplot(result.times, *[_kw(result.traces[n].draw_w) for n in names], step="post",
                  colors=[colours[n] for n in names], alpha=0.55,
                  labels=["van-07 drawn", "visitor car-a drawn", "visitor car-b drawn"])
    _steps(mid, result, _kw(van.plan_w), color="navy", lw=1.6, label="van-07 plan in force (re-planned every slot)")
    mid.step([s.start for s in first.slots] + [first.slots[-1].end],
             [s.power_w / 1000 for s in first.slots] + [first.slots[-1].power_w / 1000],
             where="post", color="black", lw=1, ls=":", label="van-07 plan as made at 22:00")
    _steps(mid, result, [w / 1000 for w in result.cap_w], color="red", lw=1.5, label="grid connection (40 A, 27.6 kW)")
    mid.set_ylabel("kW")
    mid.set_ylim(0, max(result.cap_w) / 1000 * 1.25)
    mid.legend(loc="upper right", fontsize=8, ncol=2)
    mid.grid(alpha=0.3)

    _steps(low, result, [100 * s if s is not None else float("nan") for s in van.soc], color="tab:blue")
    low.axhline(100 * (0.1 + 60 / 90), color="tab:blue", ls="--", lw=0.8)
    low.set_ylabel("van-07 SoC %")
    low.set_ylim(0, 100)
    low.grid(alpha=0.3)
    low.xaxis.set_major_formatter(HOURS)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_day(result: DepotResult, path: Path) -> None:
    fig, (top, low) = plt.subplots(2, 1, figsize=(11, 7.5), gridspec_kw={"height_ratios": [3, 2]})
    names = sorted(result.traces)
    cmap = plt.get_cmap("tab20")
    top.stackplot(result.times, *[_kw(result.traces[n].draw_w) for n in names], step="post",
                  colors=[cmap(i % 20) for i in range(len(names))], alpha=0.8)
    _steps(top, result, [w / 1000 for w in result.cap_w], color="red", lw=1.5, label="grid connection (160 A)")
    top.set_ylabel("kW drawn, stacked per van")
    top.set_ylim(0, max(result.cap_w) / 1000 * 1.2)
    price_ax = top.twinx()
    _steps(price_ax, result, [p or 0.0 for p in result.price], color="tab:purple", lw=1.2, label="price")
    price_ax.set_ylabel("price / kWh", color="tab:purple")
    price_ax.set_ylim(0, max(p or 0.0 for p in result.price) * 1.6)
    top.xaxis.set_major_formatter(HOURS)
    top.set_title("A day at a depot: 20 vans, 17 EVSEs, one 110 kW connection; every feasible goal met")
    top.legend(loc="upper left", fontsize=8)
    top.grid(alpha=0.3)

    outcomes = [result.outcomes[n] for n in names]
    x = range(len(outcomes))
    low.bar(x, [(o.goal_wh or 0) / 1000 for o in outcomes], color="lightgrey", label="goal")
    low.bar(x, [o.delivered_wh / 1000 for o in outcomes], width=0.5,
            color=["tab:green" if o.met else "tab:red" for o in outcomes], label="delivered by departure")
    for i, o in enumerate(outcomes):
        if o.planned_infeasible:
            low.annotate(f"planner: {o.planned_shortfall_wh / 1000:.1f} kWh short", (i, (o.goal_wh or 0) / 1000),
                         textcoords="offset points", xytext=(-60, 4), fontsize=8, color="tab:red")
    low.set_xticks(list(x), [f"{o.name}\n{o.rule}" for o in outcomes], rotation=90, fontsize=7)
    low.set_ylabel("kWh")
    low.set_ylim(0, 62)
    low.legend(loc="upper left", fontsize=8, ncol=2)
    low.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summary(label: str, planned: DepotResult, fast: DepotResult) -> None:
    goals = [o for o in planned.outcomes.values() if o.goal_wh is not None]
    feasible = [o for o in goals if not o.planned_infeasible]
    solves = planned.solve_times()
    over = [o for o in goals if o.met and o.delivered_wh > o.goal_wh]  # type: ignore[operator]
    print(f"== {label}")
    print(f"goals: {len(goals)}; met {sum(bool(o.met) for o in goals)}; feasible {len(feasible)}, of which met "
          f"{sum(bool(o.met) for o in feasible)}; infeasible up front: "
          + ", ".join(f"{o.name} (planned short {o.planned_shortfall_wh:.0f} Wh, really {o.shortfall_wh:.0f} Wh)"
                      for o in goals if o.planned_infeasible))
    worst_short = max((o.shortfall_wh for o in feasible), default=0.0)
    worst_over = max((o.delivered_wh - (o.goal_wh or 0) for o in over), default=0.0)
    print(f"feasible goals: largest shortfall {worst_short:.0f} Wh, largest overshoot {worst_over:.0f} Wh")
    print(f"peak draw {max(planned.draw_w) / 1000:.2f} kW of {planned.cap_w[0] / 1000:.2f} kW; per phase "
          f"{max(max(a) for a in planned.draw_a):.1f} A of {planned.cap_a[0][0]:.1f} A; steps over the cap: "
          f"{len(planned.over_cap())}")
    print(f"energy {planned.energy_kwh:.1f} kWh cost {planned.cost:.2f}; as fast as possible {fast.energy_kwh:.1f} "
          f"kWh cost {fast.cost:.2f} ({100 * (1 - planned.cost / fast.cost):.0f} % less); per kWh "
          f"{planned.cost / planned.energy_kwh:.3f} vs {fast.cost / fast.energy_kwh:.3f}; "
          f"as fast as possible met {sum(bool(o.met) for o in fast.outcomes.values())} goals")
    if solves:
        largest = max(len(p.sessions) for p in planned.plans)
        print(f"re-plans {len(solves)}: solve median {statistics.median(solves) * 1000:.0f} ms, max "
              f"{max(solves) * 1000:.0f} ms, total {sum(solves):.2f} s; largest {largest} sessions; statuses "
              f"{sorted({p.status for p in planned.plans})}")
    print(f"run: {len(planned.times)} steps in {planned.wall_s:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--coordinator", action="store_true", help="also run both through the SiteCapCoordinator")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    night, day = simulate_depot(depot_night()), simulate_depot(depot_day())
    plot_night(night, args.out / "depot-night.png")
    plot_day(day, args.out / "depot-day.png")
    summary("depot night", night, simulate_depot(with_planner(depot_night(), enabled=False)))
    van, fast_van = night.outcomes["van-07"], simulate_depot(with_planner(depot_night(), enabled=False)).outcomes[
        "van-07"]
    trace = night.traces["van-07"]
    for label, lo, hi in (("22:00-02:00", 22, 26), ("02:00-04:00", 26, 28), ("04:00-05:00", 28, 29)):
        steps = range(night.at(NIGHT + timedelta(hours=lo)), night.at(NIGHT + timedelta(hours=hi)))
        paused = sum(1 for k in steps if trace.binding[k] == "plan") * night.step_s // 60
        print(f"van-07 {label}: mean draw {statistics.mean(trace.draw_w[k] or 0.0 for k in steps) / 1000:.2f} kW, "
              f"paused by its plan {paused} min")
    print(f"van-07: delivered {van.delivered_wh:.0f} Wh cost {van.cost:.2f}; as fast as possible "
          f"{fast_van.delivered_wh:.0f} Wh cost {fast_van.cost:.2f}")
    summary("20-van day", day, simulate_depot(with_planner(depot_day(), enabled=False)))
    if args.coordinator:
        for kind in (FallbackKind.MINIMUM, FallbackKind.ZERO, FallbackKind.EQUAL):
            policy = CoordinatorPolicy(fallback=FallbackPolicy(kind))
            result = simulate_depot(replace(depot_day(), coordinator=policy))
            missed = {n: round(o.shortfall_wh) for n, o in sorted(result.outcomes.items()) if o.met is False}
            print(f"coordinator, {kind.value} fallbacks: invariant violations {len(result.violations)}, steps over "
                  f"the cap {len(result.over_cap())}, writes {result.writes}, missed {missed}, "
                  f"cost {result.cost:.2f}")


if __name__ == "__main__":
    main()
