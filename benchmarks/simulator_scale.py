"""How many simulated stations one process holds: memory per station, message rate, event-loop lag.

Run ``.venv/bin/python benchmarks/simulator_scale.py --stations 500,1000,2000`` (``--quick`` for a short run).

For each fleet size it starts a *sink* central system in a separate process (plain ``websockets``, it answers
every call with the smallest valid response and counts what it receives, so the control plane's own cost is not
measured), then runs that many simulated stations in this process: mixed 1.6 / 2.0.1, 1–4 EVSEs, an EV charging
on every EVSE (``--arrivals now``), meter values every ``--meter-interval`` seconds of real time. It reports

* RSS growth per station once every station is connected and charging,
* meter-value messages received per second by the sink, against the rate the fleet should produce,
* event-loop lag (how late a 100 ms timer fires: p50 / p99 / max) and the largest outbox backlog,
* CPU seconds the simulator process used per wall second.

A fleet size is *held* when every station is online, the received rate is within 5 % of the expected one, and
no outbox backlog builds up. This is a measurement, not a test: nothing asserts on the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import multiprocessing
import os
import resource
import statistics
import sys
import time
from datetime import UTC, datetime

import ocpp.messages

from wattcap.sim.clock import RealClock
from wattcap.sim.fleet import FleetOptions, VersionMix, make_fleet
from wattcap.sim.runner import RunOptions, Simulation
from wattcap.sim.scenario import arrivals_now

# ---- the sink central system (separate process) ----------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _answer(action: str, payload: dict, counter: list[int]) -> dict:
    if action == "BootNotification":
        return {"status": "Accepted", "currentTime": _now(), "interval": 300}
    if action == "Heartbeat":
        return {"currentTime": _now()}
    if action == "StartTransaction":
        counter[0] += 1
        return {"transactionId": counter[0], "idTagInfo": {"status": "Accepted"}}
    if action == "Authorize":
        return {"idTagInfo": {"status": "Accepted"}} if "idTag" in payload else {"idTokenInfo": {"status": "Accepted"}}
    if action == "NotifyEVChargingNeeds":
        return {"status": "Accepted"}
    return {}


def _sink(port_queue, stats_queue) -> None:
    import websockets

    counts = {"calls": 0, "meter": 0}
    transaction_ids = [0]

    async def handle(connection) -> None:
        try:
            async for frame in connection:
                message = json.loads(frame)
                if message[0] != 2:
                    continue
                _, unique_id, action, payload = message
                counts["calls"] += 1
                if action == "MeterValues" or (
                    action == "TransactionEvent" and payload.get("triggerReason") == "MeterValuePeriodic"
                ):
                    counts["meter"] += 1
                await connection.send(json.dumps([3, unique_id, _answer(action, payload, transaction_ids)]))
        except websockets.ConnectionClosed:
            pass

    async def main() -> None:
        server = await websockets.serve(
            handle, "127.0.0.1", 0, subprotocols=["ocpp1.6", "ocpp2.0.1"], compression=None, ping_interval=None
        )
        port_queue.put(next(iter(server.sockets)).getsockname()[1])
        while True:
            await asyncio.sleep(1.0)
            stats_queue.put((time.monotonic(), dict(counts)))

    asyncio.run(main())


# ---- measuring the simulator -----------------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _lag_probe(samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(0.1)
        samples.append((time.monotonic() - before - 0.1) * 1000)


def _drain(stats_queue) -> list[tuple[float, dict]]:
    out = []
    while not stats_queue.empty():
        out.append(stats_queue.get())
    return out


async def measure(
    count: int, meter_interval: float, warmup: float, window: float, stats_queue, url: str, validate: bool
) -> dict:
    rss_before = _rss_mb()
    fleet = make_fleet(FleetOptions(count=count, versions=VersionMix.MIXED, seed=7))
    evses = sum(len(s.evses) for s in fleet)
    options = RunOptions(
        url,
        meter_interval_s=meter_interval,
        connect_spread_s=min(20.0, count / 200),
        ping_interval_s=None,
        validate_outgoing=validate,
    )
    sim = Simulation(fleet, RealClock(), options, arrivals=arrivals_now(fleet), seed=7)
    task = asyncio.ensure_future(sim.run())
    deadline = time.monotonic() + 120
    while sum(r.online.is_set() for r in sim.runners.values()) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    online_after = time.monotonic()
    gc.collect()
    gc.freeze()
    await asyncio.sleep(warmup)
    rss_loaded = _rss_mb()
    _drain(stats_queue)
    lag: list[float] = []
    stop = asyncio.Event()
    probe = asyncio.ensure_future(_lag_probe(lag, stop))
    cpu0, wall0 = _cpu_s(), time.monotonic()
    max_backlog = 0
    while time.monotonic() - wall0 < window:
        await asyncio.sleep(1.0)
        max_backlog = max(max_backlog, max(len(r.outbox) for r in sim.runners.values()))
    cpu = (_cpu_s() - cpu0) / (time.monotonic() - wall0)
    stop.set()
    await probe
    stats = _drain(stats_queue)
    online = sum(r.online.is_set() for r in sim.runners.values())
    charging = sum(1 for r in sim.runners.values() for i in r.station.evse_ids if r.station.evse(i).power_w > 0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    rate = float("nan")
    if len(stats) >= 2:
        (t0, c0), (t1, c1) = stats[0], stats[-1]
        rate = (c1["meter"] - c0["meter"]) / (t1 - t0)
    expected = evses / meter_interval
    lag.sort()
    return {
        "stations": count,
        "evses": evses,
        "online": online,
        "charging_evses": charging,
        "connect_s": round(online_after - (deadline - 120), 1),
        "rss_mb": round(rss_loaded, 1),
        "kb_per_station": round((rss_loaded - rss_before) * 1024 / count, 1),
        "meter_msgs_per_s": round(rate, 1),
        "expected_per_s": round(expected, 1),
        "lag_p50_ms": round(statistics.median(lag), 1) if lag else None,
        "lag_p99_ms": round(lag[int(len(lag) * 0.99) - 1], 1) if lag else None,
        "lag_max_ms": round(lag[-1], 1) if lag else None,
        "max_backlog": max_backlog,
        "cpu_per_s": round(cpu, 2),
        "held": online == count and rate >= 0.95 * expected and max_backlog < 10,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", default="500,1000,2000", help="comma-separated fleet sizes")
    parser.add_argument("--meter-interval", type=float, default=10.0, help="seconds between meter values")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds after all connected before measuring")
    parser.add_argument("--window", type=float, default=60.0, help="seconds measured")
    parser.add_argument("--quick", action="store_true", help="10 s warm-up, 20 s window")
    parser.add_argument(
        "--validation",
        choices=("inline", "thread", "off"),
        default="inline",
        help="how the ocpp package validates what stations send (inline is what wattcap simulate uses; "
        "off is --no-validate)",
    )
    args = parser.parse_args()
    if args.quick:
        args.warmup, args.window = 10.0, 20.0
    ocpp.messages.ASYNC_VALIDATION = args.validation == "thread"
    validate = args.validation != "off"
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("ocpp").setLevel(logging.ERROR)
    print(f"# Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, validation {args.validation}", flush=True)
    for count in (int(n) for n in args.stations.split(",")):
        context = multiprocessing.get_context("spawn")
        port_queue, stats_queue = context.Queue(), context.Queue()
        sink = context.Process(target=_sink, args=(port_queue, stats_queue), daemon=True)
        sink.start()
        url = f"ws://127.0.0.1:{port_queue.get(timeout=30)}/ocpp"
        try:
            result = asyncio.run(
                measure(count, args.meter_interval, args.warmup, args.window, stats_queue, url, validate)
            )
        finally:
            sink.terminate()
            sink.join()
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
