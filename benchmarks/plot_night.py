"""Draw a planned depot night for the docs: ``docs/fleet/night.png``.

Run ``.venv/bin/python benchmarks/plot_night.py [OUT.png]``. The night is the issue's example, as in
``tests/core/fleet/test_planner.py``: a 40 kW grid connection with the building's forecast (10 kW at night, rising
from 04:00) leaves the rest to EVs; prices are cheap until 02:00, dear 02:00–04:00, normal 04:00–05:00; the van
(VAN, 60 kWh by 05:00, 16 A three-phase) shares the night with two other sessions (CAR, 40 kWh by 04:00; LATE,
plugged in at 22:37, 30 kWh by 03:00 at up to 22 kW), all planned together by ``plan_sessions``. The figure shows
the three plans stacked, the capacity for EVs and the grid connection, and the price series; the script prints
each plan's energy, cost and the solve time.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wattcap.core.fleet.model import Strategy
from wattcap.core.fleet.planner import PlanningWindow, SessionGoal, ev_capacity, plan_sessions

NIGHT = datetime(2026, 11, 25, 22, tzinfo=UTC)
SLOTS = 28
MIN_3PH = 6 * 230 * 3
MAX_3PH = 16 * 230 * 3
OUT = Path(__file__).resolve().parents[1] / "docs" / "fleet" / "night.png"


def night() -> tuple[list[SessionGoal], PlanningWindow, tuple[float, ...], tuple[float, ...]]:
    cap = (40_000.0,) * SLOTS
    building = tuple(10_000.0 if t < 24 else 14_000.0 for t in range(SLOTS))
    prices = (0.10,) * 16 + (0.40,) * 8 + (0.25,) * 4
    window = PlanningWindow(NIGHT, ev_capacity(cap, building), price_per_kwh=prices)
    at = lambda hours: NIGHT + timedelta(hours=hours)  # noqa: E731
    goals = [
        SessionGoal(("VAN", 1), at(7), 60_000, MAX_3PH, MIN_3PH, strategy=Strategy.CHEAPEST),
        SessionGoal(("CAR", 1), at(6), 40_000, MAX_3PH, MIN_3PH, strategy=Strategy.CHEAPEST),
        SessionGoal(("LATE", 1), at(5), 30_000, 22_000, MIN_3PH, available_from=at(37 / 60)),
    ]
    return goals, window, cap, building


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    goals, window, cap, _ = night()
    plan = plan_sessions(goals, window)
    print(f"solved in {plan.solve_seconds * 1000:.0f} ms ({plan.status}, gap {plan.gap:.1e})")
    for p in plan.plans:
        print(f"  {p.key[0]:<5} {p.energy_wh / 1000:6.2f} kWh  cost {p.cost:5.2f}  shortfall {p.shortfall_wh:.0f} Wh")

    edges = [window.slot_start(t) for t in range(SLOTS + 1)]
    fig, (ax, axp) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, height_ratios=[3, 1])
    bottom = [0.0] * SLOTS
    colours = {"VAN": "#d95f02", "CAR": "#1b9e77", "LATE": "#7570b3"}
    for p in sorted(plan.plans, key=lambda p: p.key[0] != "VAN"):
        kw = [0.0] * SLOTS
        for slot in p.slots:
            t = int((slot.start - window.start).total_seconds() // window.slot_s)
            kw[t] = slot.power_w / 1000
        tops = [b + k for b, k in zip(bottom, kw, strict=True)]
        ax.stairs(tops, edges, baseline=bottom, fill=True, color=colours[p.key[0]], alpha=0.85,
                  label=f"{p.key[0]} ({p.energy_wh / 1000:.0f} kWh)")
        bottom = tops
    ax.stairs([c / 1000 for c in window.capacity_w], edges, color="black", linewidth=1.6,
              label="capacity for EVs (connection − building forecast)")
    ax.stairs([c / 1000 for c in cap], edges, color="grey", linestyle="--", linewidth=1, label="grid connection")
    ax.set_ylabel("kW")
    ax.set_ylim(0, 44)
    ax.legend(loc="upper right", fontsize=8, ncols=2)
    ax.set_title("A planned depot night: one joint plan, cheapest strategy, 15-minute slots")
    axp.stairs(window.price_per_kwh or (), edges, color="black", linewidth=1.4)
    axp.set_ylabel("price / kWh")
    axp.set_ylim(0, 0.45)
    axp.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))
    axp.set_xlabel("UTC")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
