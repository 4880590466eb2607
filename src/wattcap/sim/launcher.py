"""Start a simulation: build the fleet and its arrivals, run it in one or several processes, take commands.

``wattcap simulate`` is a thin wrapper around :func:`launch`. With ``processes > 1`` station ``n`` runs in
process ``(n - 1) % processes``; every process builds its share of the fleet from the same seed, runs its own
event loop, and gets every command line (each applies what concerns its stations). All processes share one
station clock: the parent fixes its start, each child anchors to it on the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ocpp.messages

from wattcap.sim.clock import AcceleratedClock, Clock, RealClock
from wattcap.sim.control import serve_commands
from wattcap.sim.fleet import FleetOptions, make_fleet
from wattcap.sim.runner import RunOptions, Simulation
from wattcap.sim.scenario import Arrival, arrivals_now, depot_day, for_stations, load_arrivals
from wattcap.sim.spec import StationSpec

ARRIVAL_MODES = ("now", "depot", "none")
#: Meter values per real second per EVSE above which a fleet outruns its link (see docs/simulator.md, Time).
MAX_METER_RATE = 2.0


@dataclass(frozen=True, slots=True)
class LaunchConfig:
    """Everything ``wattcap simulate`` was asked for."""

    fleet: FleetOptions
    run: RunOptions
    arrivals: str = "now"  # now | depot | none | a scenario file
    speed: float = 1.0
    start: datetime | None = None  # station time at launch; None: now
    duration_s: float | None = None  # station seconds to run; None: until interrupted
    processes: int = 1
    status_every_s: float = 10.0  # real seconds between status lines; 0: none


def make_arrivals(mode: str, stations: list[StationSpec], start: datetime, seed: int) -> list[Arrival]:
    """The arrivals of ``--arrivals MODE|FILE`` at ``stations``."""
    if mode == "now":
        return arrivals_now(stations, seed)
    if mode == "depot":
        return depot_day(stations, seed)
    if mode == "none":
        return []
    return for_stations(load_arrivals(Path(mode), start), (s.station_id for s in stations))


def launch(config: LaunchConfig, *, commands=None, out: Callable[[str], None] = print) -> None:
    """Run the simulation until its duration is over or it is interrupted (Ctrl-C).

    ``commands`` is a text stream of control commands (default: none); replies and status lines go to ``out``.
    """
    start = (config.start or datetime.now(UTC)).astimezone(UTC)
    anchor = time.time()
    per_second = config.speed / config.run.meter_interval_s
    if per_second > MAX_METER_RATE:
        out(
            f"warning: at --speed {config.speed:g} a meter interval of {config.run.meter_interval_s:g} s means "
            f"{per_second:.0f} meter values per real second per EVSE; use --meter-interval "
            f"{config.speed / MAX_METER_RATE:.0f} or more, or the queues will not drain"
        )
    if config.processes <= 1:
        lines = _LineFeed()
        lines.read_from(commands)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_run_share(config, start, anchor, 0, 1, lines, out))
        return
    context = multiprocessing.get_context("spawn")
    queues = [context.Queue() for _ in range(config.processes)]
    workers = [
        context.Process(target=_child, args=(config, start, anchor, i, config.processes, queues[i]), daemon=True)
        for i in range(config.processes)
    ]
    for worker in workers:
        worker.start()
    if commands is not None:
        threading.Thread(target=_broadcast, args=(commands, queues), daemon=True).start()
    try:
        for worker in workers:
            worker.join()
    except KeyboardInterrupt:
        for worker in workers:
            worker.terminate()


def _child(config: LaunchConfig, start: datetime, anchor: float, index: int, count: int, queue) -> None:
    lines = _LineFeed()
    threading.Thread(target=lines.read_from_queue, args=(queue,), daemon=True).start()

    def out(text: str) -> None:
        print(f"[p{index}] {text}", file=sys.stderr, flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run_share(config, start, anchor, index, count, lines, out))


def _broadcast(stream, queues) -> None:
    for line in stream:
        for queue in queues:
            queue.put(line)
    for queue in queues:
        queue.put(None)


def _clock(config: LaunchConfig, start: datetime, anchor: float) -> Clock:
    if config.speed == 1.0 and config.start is None:
        return RealClock()
    elapsed = (time.time() - anchor) * config.speed
    return AcceleratedClock(config.speed, start + timedelta(seconds=elapsed))


async def _run_share(
    config: LaunchConfig, start: datetime, anchor: float, index: int, count: int, lines: _LineFeed, out
) -> None:
    ocpp.messages.ASYNC_VALIDATION = False  # inline validation: one thread hop less per message (python-stack.md)
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    numbers = [n for n in range(1, config.fleet.count + 1) if (n - 1) % count == index]
    stations = make_fleet(config.fleet, numbers)
    arrivals = make_arrivals(config.arrivals, stations, start, config.fleet.seed)
    clock = _clock(config, start, anchor)
    spread = config.run.connect_spread_s or min(30.0, len(stations) / 200.0)
    sim = Simulation(
        stations, clock, replace(config.run, connect_spread_s=spread), arrivals=arrivals, seed=config.fleet.seed
    )
    gc.collect()
    gc.freeze()  # the fleet lives as long as the process: keep it out of the collector's full passes
    lines.attach(asyncio.get_running_loop())
    tasks = [
        asyncio.ensure_future(sim.run(config.duration_s)),
        asyncio.ensure_future(serve_commands(sim, lines.queue, out)),
    ]
    if config.status_every_s > 0:
        tasks.append(asyncio.ensure_future(_status(sim, config.status_every_s, out)))
    try:
        await tasks[0]
    finally:
        for task in tasks[1:]:
            task.cancel()
        await asyncio.gather(*tasks[1:], return_exceptions=True)
        out(" ".join(f"{k}={v}" for k, v in sim.summary().items()))


async def _status(sim: Simulation, every_s: float, out) -> None:
    while True:
        await asyncio.sleep(every_s)
        out(f"{sim.clock.now():%Y-%m-%d %H:%M:%S}Z " + " ".join(f"{k}={v}" for k, v in sim.summary().items()))


class _LineFeed:
    """Command lines from a blocking source (stdin, a process queue) into the event loop."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._early: list[str | None] = []
        self._lock = threading.Lock()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            self._loop = loop
            for line in self._early:
                self.queue.put_nowait(line)
            self._early.clear()

    def put(self, line: str | None) -> None:
        with self._lock:
            if self._loop is None:
                self._early.append(line)
            else:
                self._loop.call_soon_threadsafe(self.queue.put_nowait, line)

    def read_from(self, stream) -> None:
        if stream is None:
            return

        def pump() -> None:
            for line in stream:
                self.put(line)

        threading.Thread(target=pump, daemon=True).start()

    def read_from_queue(self, queue) -> None:
        while (line := queue.get()) is not None:
            self.put(line)


def stdin_if_interactive():
    """stdin when something can be typed or piped into it, else None (e.g. under a service manager)."""
    try:
        return sys.stdin if sys.stdin is not None and not sys.stdin.closed else None
    except (AttributeError, ValueError):
        return None
