"""The simulated day of ``docs/site-cap/simulate_day.py``, shortened to three hours around the grid drop: the pure
coordinator driving model chargers that answer a step (60 s) later, one of which rejects every write for an hour.

What the plot in ``docs/site-cap.md`` claims is checked here on the short run: what the chargers really draw, plus
the building, never exceeds the limit in force on any node and phase, except in the step in which that limit
dropped. And the check itself catches a charger that ignores its limits.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[3] / "docs" / "site-cap" / "simulate_day.py"
START, HOURS = 16 * 60, 3
DROP = (17 * 60, 18 * 60)
REJECT = (16 * 60 + 30, 17 * 60 + 30)  # overlapping the drop
REJECTING = ("AC01", 1)  # has a session across that hour


@cache
def day() -> ModuleType:
    """The script, loaded by path (``docs/`` is not a package)."""
    spec = importlib.util.spec_from_file_location("simulate_day", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def short(**changes: object):  # type: ignore[no-untyped-def]
    sim = day()
    return sim.simulate(sim.Scenario(start_min=START, minutes=HOURS * 60, drop=DROP, reject=REJECT,
                                     rejecting=REJECTING, **changes))


def test_three_hours_never_exceed_the_limit_in_force_but_in_the_step_it_dropped():
    result = short()
    assert result.minutes == list(range(START, START + HOURS * 60))
    assert result.forbidden == []
    # The drop bites: the chargers still hold the limits of 160 A when it comes, and are down a step later.
    over = [e for e in result.excesses if e.after_drop]
    assert over and {e.minute for e in over} == {DROP[0]} and {e.node for e in over} == {"grid"}
    after = result.at(DROP[0] + 1)
    assert result.cap_a[after] == 80.0 and result.draw_a[after] <= 80.0
    assert max(result.draw_a[result.at(DROP[0] - 1)], result.draw_a[result.at(DROP[0])]) > 80.0
    assert max(result.draw_a[result.at(m)] for m in range(DROP[0] + 1, DROP[1])) <= 80.0


def test_the_rejecting_charger_is_counted_at_its_worst_case_until_it_accepts_again():
    result = short()
    states = result.state[REJECTING]
    during = [states[result.at(m)] for m in range(*REJECT)]
    first = during.index("unknown")  # its van arrives at 16:4x: the first session limit is rejected
    assert set(during[first:]) == {"unknown"}  # retried every minute, rejected every time
    assert "unknown" not in states[result.at(REJECT[1] + 2):]  # the first retry after the hour is accepted
    assert result.rejected > 0
    assert any(n.startswith(f"EVSE {REJECTING[0]}/1") and "worst case" in n for n in result.notices)


def test_the_day_delivers_energy_and_writes_within_reason():
    result = short()
    assert result.delivered_kwh > 50
    assert result.paused_sessions  # the drop pauses someone (min or nothing)
    per_hour = (result.session_writes + result.fallback_writes) / result.session_hours
    assert 0 < result.renewals < result.session_writes and per_hour < 40
    # No lease runs out under a session while wattcap runs, even where a higher limit waits (test_reclaim_timing).
    assert result.lapsed_minutes == 0


def test_the_check_catches_a_charger_that_ignores_its_limit():
    result = short(disobeying=(("AC02", 1),))
    assert result.forbidden
    assert {e.node for e in result.forbidden} & {"grid", "feeder-a"}
