"""Composite-engine benchmark: the conformance corpus and a large synthetic station.

Run ``.venv/bin/python benchmarks/composite.py`` (``--quick`` for a short run, ``--profile`` for a cProfile
breakdown). Only the ``composite_schedule`` call is timed: scenarios are parsed once beforehand, as the C++
reference figure (about 3.4 µs per OCPP 2.0.1 case, ``shared/research/everest-composite-algorithm.md`` §10)
excludes parsing too. Every input is fixed (a seeded generator), so two runs time the same work.

This is a measurement, not a test: nothing here asserts on timing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import platform
import pstats
import random
import statistics
import sys
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from wattcap.core.composite import composite_schedule
from wattcap.core.dialects import EVEREST
from wattcap.core.model import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    InstalledProfile,
    OcppVersion,
    RecurrencyKind,
    Transaction,
)
from wattcap.core.station import StationConfig
from wattcap.core.timeutil import utc
from wattcap.scenario import Scenario, ScenarioError, load_scenarios

try:
    from wattcap.core.composite.expand import forget_timings
except ImportError:  # an engine without the per-profile cache (to measure an older checkout): always cold

    def forget_timings() -> None:
        pass


CPP_REFERENCE_US = 3.4  # EVerest libocpp, per OCPP 2.0.1 composite, gcc -O2 (research §10)
CORPUS_FILES = ("everest.jsonl", "microocpp.jsonl")
DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "conformance"

# -- timing -----------------------------------------------------------------------------------------------


def per_call_us(call: Callable[[], object], *, budget_s: float, repeat: int) -> float:
    """Microseconds per call: the best of ``repeat`` batches, each sized to take about ``budget_s / repeat``.

    The best batch is the figure least disturbed by the other process on a 2-core machine; timeit's batches
    run with the garbage collector off, as timeit always does.
    """
    timer = timeit.Timer(call)
    elapsed = timer.timeit(number=3) / 3  # also warms up per-profile caches, as a long-running server would
    number = max(1, int(budget_s / repeat / max(elapsed, 1e-9)))
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation between the closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# -- the corpus -------------------------------------------------------------------------------------------


def corpus_call(scenario: Scenario) -> Callable[[], object]:
    """The composite call a scenario makes (parsing excluded, like the C++ figure)."""
    return scenario.composite


def load_corpus(directory: Path) -> list[Scenario] | None:
    if not all((directory / name).is_file() for name in CORPUS_FILES):
        return None
    scenarios = []
    for name in CORPUS_FILES:
        for item in load_scenarios((directory / name).read_text(encoding="utf-8"), name=name):
            if isinstance(item, ScenarioError):
                raise SystemExit(f"{name}: {item}")
            scenarios.append(item)
    return scenarios


def cold(call: Callable[[], object]) -> Callable[[], object]:
    """``call`` with the per-profile timing cache emptied first: a profile's first composite."""

    def first_time() -> object:
        forget_timings()
        return call()

    return first_time


def bench_corpus(scenarios: list[Scenario], *, budget_s: float, repeat: int) -> dict[str, float]:
    times: dict[OcppVersion, list[float]] = {}
    cold_times = []
    for scenario in scenarios:
        us = per_call_us(corpus_call(scenario), budget_s=budget_s, repeat=repeat)
        times.setdefault(scenario.station.ocpp_version, []).append(us)
        cold_times.append(per_call_us(cold(corpus_call(scenario)), budget_s=budget_s / 4, repeat=repeat))
    every = [t for ts in times.values() for t in ts]
    row = {
        "n": len(every),
        "median": statistics.median(every),
        "p90": percentile(every, 0.9),
        "max": max(every),
        "per_second": len(every) / (sum(every) / 1e6),
        "cold median": statistics.median(cold_times),
    }
    for version, ts in times.items():
        row[f"median {version.value}"] = statistics.median(ts)
        row[f"n {version.value}"] = len(ts)
    return row


# -- the synthetic station --------------------------------------------------------------------------------

WINDOW_START = utc(2024, 3, 4)  # a Monday
WINDOW_S = 7 * 86_400
EVSE_COUNT = 50
HOUR = 3_600


@dataclass(frozen=True, slots=True)
class Site:
    station: StationConfig
    installed: tuple[InstalledProfile, ...]
    transactions: tuple[Transaction, ...]


def _periods(rng: random.Random, count: int, span_s: int, low: float, high: float) -> tuple:
    starts = sorted(rng.sample(range(1, span_s // 900), count - 1))
    return tuple(
        ChargingSchedulePeriod(start_period=s * 900 if i else 0, limit=round(rng.uniform(low, high), 1))
        for i, s in enumerate([0, *starts])
    )


def _profile(pid, level, purpose, kind, unit, periods, *, start=None, duration=None, recurrency=None, **kw):
    schedule = ChargingSchedule(unit, periods, id=pid, start_schedule=start, duration=duration)
    return ChargingProfile(pid, level, purpose, kind, (schedule,), recurrency_kind=recurrency, **kw)


def synthetic_site(seed: int = 20240304) -> Site:
    """50 EVSEs × 10 profiles plus a weekly station max: the shape of a busy depot, fixed by ``seed``.

    Per EVSE: 4 TxDefault Recurring daily (6 periods each, two of them bounded by validFrom/validTo),
    3 TxProfile Absolute bound to the EVSE's transaction, 3 ExternalConstraints (two Absolute in A, one
    Recurring daily in W).
    """
    rng = random.Random(seed)
    purpose = ChargingProfilePurpose
    kind = ChargingProfileKind
    unit = ChargingRateUnit
    installed: list[InstalledProfile] = []
    transactions: list[Transaction] = []
    anchor = utc(2024, 1, 1)
    station_max = _profile(
        1,
        0,
        purpose.CHARGING_STATION_MAX,
        kind.RECURRING,
        unit.A,
        _periods(rng, 12, WINDOW_S, 800, 1500),
        start=anchor,
        recurrency=RecurrencyKind.WEEKLY,
    )
    installed.append(InstalledProfile(0, station_max))
    for evse in range(1, EVSE_COUNT + 1):
        base = evse * 100
        transaction_id = f"tx-{evse}"
        transactions.append(Transaction(evse, transaction_id, WINDOW_START - timedelta(hours=1)))
        for k in range(4):
            day = rng.randrange(7)
            bounded = {"valid_from": WINDOW_START + timedelta(days=day)} if k >= 2 else {}
            if k == 3:
                bounded["valid_to"] = WINDOW_START + timedelta(days=day + 3)
            installed.append(
                InstalledProfile(
                    evse,
                    _profile(
                        base + k,
                        k,
                        purpose.TX_DEFAULT,
                        kind.RECURRING,
                        unit.A,
                        _periods(rng, 6, 86_400, 6, 32),
                        start=anchor + timedelta(minutes=15 * rng.randrange(96)),
                        duration=rng.choice([None, 20 * HOUR]),
                        recurrency=RecurrencyKind.DAILY,
                        **bounded,
                    ),
                )
            )
        for k in range(3):
            start = WINDOW_START + timedelta(hours=rng.randrange(7 * 24 - 12))
            installed.append(
                InstalledProfile(
                    evse,
                    _profile(
                        base + 10 + k,
                        k,
                        purpose.TX,
                        kind.ABSOLUTE,
                        unit.A,
                        _periods(rng, 4, 10 * HOUR, 8, 32),
                        start=start,
                        duration=10 * HOUR,
                        transaction_id=transaction_id,
                    ),
                )
            )
        for k in range(2):
            start = WINDOW_START + timedelta(hours=rng.randrange(7 * 24 - 24))
            installed.append(
                InstalledProfile(
                    evse,
                    _profile(
                        base + 20 + k,
                        k,
                        purpose.CHARGING_STATION_EXTERNAL_CONSTRAINTS,
                        kind.ABSOLUTE,
                        unit.A,
                        _periods(rng, 5, 24 * HOUR, 10, 40),
                        start=start,
                        duration=24 * HOUR,
                    ),
                )
            )
        installed.append(
            InstalledProfile(
                evse,
                _profile(
                    base + 30,
                    5,
                    purpose.CHARGING_STATION_EXTERNAL_CONSTRAINTS,
                    kind.RECURRING,
                    unit.W,
                    _periods(rng, 3, 86_400, 7_000, 22_000),
                    start=anchor,
                    recurrency=RecurrencyKind.DAILY,
                ),
            )
        )
    station = StationConfig(
        ocpp_version=OcppVersion.V201,
        dialect=EVEREST.for_version(OcppVersion.V201),
        evse_ids=tuple(range(1, EVSE_COUNT + 1)),
        default_limit_a=32.0,
        default_limit_w=22_080.0,
    )
    return Site(station, tuple(installed), tuple(transactions))


def site_call(site: Site, evse_id: int, unit: ChargingRateUnit) -> Callable[[], object]:
    def call() -> object:
        return composite_schedule(
            site.station,
            site.installed,
            evse_id=evse_id,
            start=WINDOW_START,
            duration=WINDOW_S,
            unit=unit,
            transactions=site.transactions,
        )

    return call


def bench_site(site: Site, *, budget_s: float, repeat: int) -> list[tuple[str, float, int]]:
    rows = []
    for unit in (ChargingRateUnit.A, ChargingRateUnit.W):
        per_evse = [
            per_call_us(site_call(site, e, unit), budget_s=budget_s, repeat=repeat) for e in site.station.evse_ids
        ]
        periods = len(site_call(site, 1, unit)().periods)  # type: ignore[attr-defined]
        rows.append((f"one EVSE, median of {len(per_evse)}, {unit.value}", statistics.median(per_evse), periods))
        rows.append((f"one EVSE, slowest, {unit.value}", max(per_evse), periods))
        whole = per_call_us(site_call(site, 0, unit), budget_s=budget_s * 4, repeat=repeat)
        periods = len(site_call(site, 0, unit)().periods)  # type: ignore[attr-defined]
        rows.append((f"station-wide (evse 0), {unit.value}", whole, periods))
    shared = connector_zero_site(site)
    whole = per_call_us(site_call(shared, 0, ChargingRateUnit.A), budget_s=budget_s, repeat=repeat)
    periods = len(site_call(shared, 0, ChargingRateUnit.A)().periods)  # type: ignore[attr-defined]
    rows.append(("station-wide, connector-0 TxDefault, A", whole, periods))
    return rows


def connector_zero_site(site: Site) -> Site:
    """The same 50 EVSEs with only the station max and one station-wide TxDefault (the usual 1.6 set-up:
    a TxDefaultProfile on connector 0), no transactions: every EVSE pools the same profiles."""
    tx_default = next(i.profile for i in site.installed if i.profile.purpose is ChargingProfilePurpose.TX_DEFAULT)
    return Site(site.station, (site.installed[0], InstalledProfile(0, tx_default)), ())


# -- report -----------------------------------------------------------------------------------------------


def _us(value: float) -> str:
    return f"{value:,.1f} µs" if value < 10_000 else f"{value / 1000:,.2f} ms"


def report_corpus(row: dict[str, float]) -> None:
    print(f"\nConformance corpus ({int(row['n'])} composites: {', '.join(CORPUS_FILES)})")
    cpp = f"{CPP_REFERENCE_US} µs"
    print(f"  {'median':<28}{_us(row['median']):>14}   {row['median'] / CPP_REFERENCE_US:5.1f}× C++ ({cpp})")
    print(f"  {'p90':<28}{_us(row['p90']):>14}   {row['p90'] / CPP_REFERENCE_US:5.1f}× C++")
    print(f"  {'max':<28}{_us(row['max']):>14}   {row['max'] / CPP_REFERENCE_US:5.1f}× C++")
    print(f"  {'composites per second':<28}{row['per_second']:>14,.0f}")
    cold_median = row["cold median"]
    print(f"  {'median, cold profile cache':<28}{_us(cold_median):>14}   {cold_median / CPP_REFERENCE_US:5.1f}× C++")
    for version in (OcppVersion.V16, OcppVersion.V201):
        key = f"median {version.value}"
        if key in row:
            label = f"median, OCPP {version.value} ({int(row[f'n {version.value}'])})"
            print(f"  {label:<28}{_us(row[key]):>14}   {row[key] / CPP_REFERENCE_US:5.1f}× C++")


def report_site(rows: list[tuple[str, float, int]]) -> None:
    print(f"\nSynthetic station: {EVSE_COUNT} EVSEs × 10 profiles + weekly station max, 7-day window")
    print(f"  {'composite':<40}{'time':>12}{'periods':>10}")
    for label, us, periods in rows:
        print(f"  {label:<40}{_us(us):>12}{periods:>10}")


STAGES = (  # (label, functions of wattcap.core.composite whose cumulative time make up the stage)
    ("expansion (expand.expand)", ("expand",)),
    ("stacking (stacking.leading_schedule)", ("leading_schedule",)),
    ("combining (first_with_limit, lowest, summed)", ("first_with_limit", "lowest", "summed")),
    ("periods (convert.to_periods)", ("to_periods",)),
)


def stage_shares(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Each stage's share of the time in ``composite_schedule``, the rest being the request's own work.

    cProfile charges every Python call, so call-heavy stages look somewhat bigger than they are.
    """
    cumulative: dict[str, float] = {}
    for (path, _, name), (_, _, _, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "composite" in Path(path).parts:
            cumulative[name] = cumulative.get(name, 0.0) + ct
    whole = cumulative.get("composite_schedule", 0.0) or 1.0
    shares = [(label, sum(cumulative.get(n, 0.0) for n in names) / whole) for label, names in STAGES]
    shares.append(("request (window, grouping, result objects)", 1.0 - sum(share for _, share in shares)))
    return shares


def profile_all(scenarios: list[Scenario] | None, site: Site, top: int) -> None:
    """cProfile of the corpus (200 rounds) and of the station-wide composite (10 rounds): stage shares, then
    the functions by own time."""
    calls = [corpus_call(s) for s in scenarios or ()]
    station_wide = site_call(site, 0, ChargingRateUnit.W)
    for title, work in (
        ("corpus × 200", lambda: [c() for _ in range(200) for c in calls]),
        ("station-wide W × 10", lambda: [station_wide() for _ in range(10)]),
    ):
        if title.startswith("corpus") and not calls:
            continue
        profiler = cProfile.Profile()
        profiler.runcall(work)
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        print(f"\n== cProfile: {title} ==")
        for label, share in stage_shares(stats):
            print(f"  {label:<48}{share:6.0%}")
        stats.sort_stats("tottime").print_stats(top)
        print(out.getvalue().split("\n\n", 1)[-1].rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short batches (about 10× faster, noisier)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="directory of the conformance vectors")
    parser.add_argument("--skip-site", action="store_true", help="only the conformance corpus")
    parser.add_argument("--profile", action="store_true", help="print a cProfile breakdown instead of timings")
    parser.add_argument("--top", type=int, default=20, help="rows of the cProfile breakdown")
    args = parser.parse_args(argv)
    budget, repeat = (0.02, 3) if args.quick else (0.2, 5)

    print(f"python {platform.python_version()} ({platform.python_implementation()}), {platform.machine()}")
    scenarios = load_corpus(args.corpus.resolve())
    site = synthetic_site()
    if args.profile:
        profile_all(scenarios, site, args.top)
        return 0
    if scenarios is None:
        print(f"\nConformance corpus: skipped ({args.corpus.resolve()} not found)")
    else:
        report_corpus(bench_corpus(scenarios, budget_s=budget, repeat=repeat))
    if not args.skip_site:
        report_site(bench_site(site, budget_s=budget, repeat=repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
