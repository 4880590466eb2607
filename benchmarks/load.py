"""Load: how many stations one ``wattcap serve`` node holds, and how fast it takes their messages.

    .venv/bin/python benchmarks/load.py --stations 1000            # baseline + wattcap, steady + burst
    .venv/bin/python benchmarks/load.py --quick                    # 200 stations, short phases (a smoke run)
    .venv/bin/python benchmarks/load.py --stations 10000 --no-baseline --profile /tmp/serve.prof

Two servers are driven by the same load generator, one after the other:

* the **baseline**: a bare ``ocpp`` package central system (1.6) that only acknowledges, on uvloop when installed,
  schema validation off (``skip_schema_validation``): the practical ceiling of a Python OCPP server;
* **wattcap**: ``wattcap serve`` as a subprocess on a fresh PostgreSQL database (``wattcap_bench_<pid>``, created
  here and dropped afterwards; ``--pg`` names the server), the stations registered beforehand (security profile 0,
  no password: the scrypt check at connect is a separate cost, not part of the message path), a site file
  (``wattcap.sim.site.site_file_for``) so the site cap is active: the stations are split into sites of
  ``--site-size`` stations (20 by default), each its own grid connection, as a charge point operator's fleet is —
  10,000 stations are hundreds of sites, not one grid connection with 10,000 EVSEs.

The load generator runs in ``--procs`` separate processes (so the server's own cost is what is measured) and
speaks OCPP-J 1.6 frames over plain ``websockets`` connections, as a charger would: each station connects,
boots, reports its connector, starts a transaction, then

* **steady**: sends MeterValues (5 sampled values) every ``--interval`` seconds, phases spread evenly;
* **burst**: sends the next MeterValues as soon as the previous one is acknowledged (closed loop),

and finally stops its transaction. It answers the server's calls (GetConfiguration, SetChargingProfile,
GetCompositeSchedule, …) like a compliant 1.6 charger that holds no schedule. Round trips are timed from the
send to the answer in the generator. With ``--drop``, after the steady phase the site's grid limit is halved
through the HTTP API and the time until the last charger acknowledged its new limit is reported.

Reported: connections held, messages/s, p50/p99 per message type, server CPU (% of one core) and RSS per 1,000
stations, PostgreSQL CPU, database writes (commits and tuples per second from ``pg_stat_database``, rows per
table), and afterwards every acknowledged MeterValues / StartTransaction / StopTransaction is counted in the
database: what the generator got acknowledged and is not there is *lost*.

This is a measurement, not a test. Numbers on a shared 2-core machine move by 10 % or more between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PREFIX = "LD"
SITE = "bench"  # site ids: bench-0001, bench-0002, … (--site-size stations each)

# ---- the load generator (worker processes) ---------------------------------------------------------------


def _ts(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_CONFIGURATION = [
    {"key": k, "readonly": ro, "value": v}
    for k, ro, v in (
        ("HeartbeatInterval", False, "300"),
        ("MeterValueSampleInterval", False, "10"),
        ("NumberOfConnectors", True, "1"),
        ("SupportedFeatureProfiles", True, "Core,SmartCharging,RemoteTrigger"),
        ("ChargeProfileMaxStackLevel", True, "8"),
        ("ChargingScheduleAllowedChargingRateUnit", True, "Current,Power"),
        ("ChargingScheduleMaxPeriods", True, "24"),
        ("MaxChargingProfilesInstalled", True, "32"),
        ("ConnectorSwitch3to1PhaseSupported", True, "true"),
    )
]


#: A MeterValues payload (5 sampled values: energy register, power, current per phase), JSON text to fill in.
_METER_VALUES = (
    '{{"connectorId":1,"transactionId":{tx},"meterValue":[{{"timestamp":"{at}","sampledValue":['
    '{{"value":"{energy}","context":"Sample.Periodic","measurand":"Energy.Active.Import.Register","unit":"Wh",'
    '"location":"Outlet"}},'
    '{{"value":"{power}","context":"Sample.Periodic","measurand":"Power.Active.Import","unit":"W"}},'
    '{{"value":"{l1}","context":"Sample.Periodic","measurand":"Current.Import","phase":"L1","unit":"A"}},'
    '{{"value":"{l2}","context":"Sample.Periodic","measurand":"Current.Import","phase":"L2","unit":"A"}},'
    '{{"value":"{l3}","context":"Sample.Periodic","measurand":"Current.Import","phase":"L3","unit":"A"}}]}}]}}'
)

#: Calls a charger that holds no schedule and allows no remote control answers with "Rejected".
_REJECTED = frozenset({"TriggerMessage", "ChangeConfiguration", "RemoteStartTransaction",
                       "RemoteStopTransaction", "Reset", "UnlockConnector", "ChangeAvailability"})


@dataclass
class Tally:
    """What one worker saw: round trips per action (seconds), acknowledged counts, errors, server calls."""

    rtt: dict[str, list[float]] = field(default_factory=dict)
    acked: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    server_calls: dict[str, int] = field(default_factory=dict)
    profiles_at: list[float] = field(default_factory=list)  # wall time of every SetChargingProfile answered

    def note(self, action: str, seconds: float) -> None:
        self.rtt.setdefault(action, []).append(seconds)
        self.acked[action] = self.acked.get(action, 0) + 1


@functools.cache
def _engine() -> tuple[Any, Any]:
    """The generator's stations as wattcap's composite engine sees them (a 1.6 station with one AC EVSE, the
    simulator's default personality) and empty holdings."""
    from wattcap.core.holdings import ChargerHoldings
    from wattcap.core.model import OcppVersion
    from wattcap.sim.spec import EvseSpec, StationSpec

    spec = StationSpec("LD", ocpp_version=OcppVersion.V16, evses=(EvseSpec(1),))
    return spec.engine_config(), ChargerHoldings.empty(OcppVersion.V16)


class Station:
    def __init__(self, station_id: str, url: str, tally: Tally, timeout: float) -> None:
        self.id = station_id
        self.url = f"{url}/{station_id}"
        self.tally = tally
        self.timeout = timeout
        self.ws: Any = None
        self.pending: dict[str, asyncio.Future] = {}
        self.unparsed: set[str] = set()  # ids of calls whose answer is not parsed
        self.counter = 0
        self.transaction_id: int | None = None
        self.energy = 0
        self.last_ts = 0.0
        self.reader: asyncio.Task | None = None
        self.alive = False
        #: What the server set, held as a charger holds it (wattcap's own engine answers GetCompositeSchedule,
        #: so the control plane's read-back verifies and nothing is repaired for ever); the current follows it.
        self.holdings: Any = None
        self.started_at: datetime | None = None
        self.allowed_a = 16.0

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(self.url, subprotocols=["ocpp1.6"], compression=None, open_timeout=120,
                                ping_interval=None, max_queue=64)
        self.alive = True
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                if raw.startswith('[3,"'):  # a CALLRESULT: for a MeterValues only its id matters, not worth parsing
                    end = raw.index('"', 4)
                    if raw[4:end] in self.unparsed:
                        self.unparsed.discard(raw[4:end])
                        future = self.pending.pop(raw[4:end], None)
                        if future is not None and not future.done():
                            future.set_result([3, raw[4:end], True])
                        continue
                frame = json.loads(raw)
                kind = frame[0]
                if kind == 2:
                    await self._answer(frame)
                    continue
                future = self.pending.pop(frame[1], None)
                if future is not None and not future.done():
                    future.set_result(frame)
        except Exception:
            pass
        finally:
            self.alive = False
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("closed"))
                    future.exception()  # retrieved: its caller may be gone
            self.pending.clear()

    async def _answer(self, frame: list[Any]) -> None:
        _, message_id, action, payload = frame
        self.tally.server_calls[action] = self.tally.server_calls.get(action, 0) + 1
        if action == "GetConfiguration":
            keys = payload.get("key") or []
            found = [k for k in _CONFIGURATION if not keys or k["key"] in keys]
            answer: dict[str, Any] = {"configurationKey": found}
            unknown = [k for k in keys if k not in {c["key"] for c in found}]
            if unknown:
                answer["unknownKey"] = unknown
        elif action == "SetChargingProfile":
            answer = {"status": "Accepted"}
            self._hold(payload["connectorId"], payload["csChargingProfiles"])
            self.tally.profiles_at.append(time.time())
        elif action == "ClearChargingProfile":
            answer = {"status": "Accepted"}
            self._clear(payload)
        elif action == "GetCompositeSchedule":
            answer = self._composite(payload["connectorId"], payload["duration"], payload.get("chargingRateUnit"))
        elif action in _REJECTED:
            answer = {"status": "Rejected"}
        else:
            await self.ws.send(json.dumps([4, message_id, "NotSupported", "not supported", {}]))
            return
        await self.ws.send(json.dumps([3, message_id, answer]))

    def _transactions(self) -> tuple[Any, ...]:
        from wattcap.core.model import Transaction

        if self.transaction_id is None or self.started_at is None:
            return ()
        return (Transaction(1, str(self.transaction_id), self.started_at),)

    def _schedule(self, evse_id: int, duration: int, unit: str | None) -> Any:
        from wattcap.core.composite.engine import composite_schedule
        from wattcap.core.model import ChargingRateUnit

        engine = _engine()
        holdings = self.holdings or engine[1]
        return composite_schedule(
            engine[0], holdings.installed, evse_id=evse_id, start=datetime.now(UTC), duration=duration,
            unit=ChargingRateUnit(unit) if unit else None, transactions=self._transactions(),
        )

    def _follow(self) -> None:
        """Draw what the composite allows now (at most 16 A)."""
        first = self._schedule(1, 60, "A").periods
        self.allowed_a = min(16.0, float(first[0].limit)) if first else 16.0

    def _hold(self, evse_id: int, data: dict[str, Any]) -> None:
        from wattcap.ocpp.profile_json import profile_from_json

        self.holdings = (self.holdings or _engine()[1]).install(evse_id, profile_from_json(data, "1.6"))
        self._follow()

    def _clear(self, criteria: dict[str, Any]) -> None:
        if self.holdings is None:
            return
        gone = tuple(
            e for e in self.holdings.entries
            if criteria.get("id") in (None, e.profile.id)
            and criteria.get("connectorId") in (None, e.evse_id)
            and criteria.get("chargingProfilePurpose") in (None, str(e.profile.purpose))
            and criteria.get("stackLevel") in (None, e.profile.stack_level)
        )
        self.holdings = self.holdings.without(gone)
        self._follow()

    def _composite(self, evse_id: int, duration: int, unit: str | None) -> dict[str, Any]:
        from wattcap.ocpp.composite_json import composite_to_wire

        body = composite_to_wire(self._schedule(evse_id, duration, unit), "1.6")
        return {"status": "Accepted", **{k: body[k] for k in ("connectorId", "scheduleStart", "chargingSchedule")}}

    def current_a(self) -> float:
        """What the EV draws: 16 A, or its limit where the composite allows less (drawing less than the limit
        would make the site cap reclaim the difference, write again, and so on)."""
        return max(0.0, min(16.0, self.allowed_a))

    async def call(self, action: str, payload: dict[str, Any] | str, *, full: bool = True) -> Any:
        """Send a CALL and wait for its answer: the payload (None for a CALLERROR or no answer). ``payload`` may
        be JSON text already; ``full`` False skips parsing the answer (True is returned for a CALLRESULT)."""
        self.counter += 1
        message_id = str(self.counter)
        future = asyncio.get_running_loop().create_future()
        self.pending[message_id] = future
        if not full:
            self.unparsed.add(message_id)
        started = time.perf_counter()
        body = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        try:
            await self.ws.send(f'[2,"{message_id}","{action}",{body}]')
            frame = await asyncio.wait_for(future, self.timeout)
        except (TimeoutError, ConnectionError, Exception) as exc:
            self.pending.pop(message_id, None)
            self.unparsed.discard(message_id)
            name = "timeout" if isinstance(exc, TimeoutError) else "closed"
            self.tally.errors[f"{action}:{name}"] = self.tally.errors.get(f"{action}:{name}", 0) + 1
            return None
        elapsed = time.perf_counter() - started
        if frame[0] == 4:
            self.tally.errors[f"{action}:{frame[2]}"] = self.tally.errors.get(f"{action}:{frame[2]}", 0) + 1
            return None
        self.tally.note(action, elapsed)
        return frame[2]

    def _stamp(self) -> str:
        at = max(time.time(), self.last_ts + 1e-6)
        self.last_ts = at
        return _ts(at)

    async def boot(self) -> bool:
        answer = await self.call("BootNotification", {"chargePointVendor": "wattcap-load", "chargePointModel": "L1",
                                                      "chargePointSerialNumber": self.id, "firmwareVersion": "1"})
        if answer is None:
            return False
        await self.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Preparing",
                                               "timestamp": self._stamp()})
        started = await self.call("StartTransaction", {"connectorId": 1, "idTag": f"T{self.id}"[:20],
                                                       "meterStart": 0, "timestamp": self._stamp()})
        if started is None:
            return False
        self.transaction_id = started["transactionId"]
        self.started_at = datetime.fromtimestamp(self.last_ts, UTC)
        await self.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging",
                                               "timestamp": self._stamp()})
        return True

    async def meter_values(self) -> bool:
        if self.transaction_id is None:  # its StartTransaction failed: it has nothing to meter
            await asyncio.sleep(1.0)
            return False
        current = self.current_a()
        self.energy += round(current * 2)
        c = f"{current:.1f}"
        body = _METER_VALUES.format(tx=self.transaction_id, at=self._stamp(), energy=self.energy,
                                    power=f"{current * 690:.0f}", l1=c, l2=c, l3=c)
        return await self.call("MeterValues", body, full=False) is not None

    async def stop(self) -> None:
        if self.transaction_id is not None and self.alive:
            await self.call("StopTransaction", {"transactionId": self.transaction_id, "meterStop": self.energy,
                                                "timestamp": self._stamp(), "reason": "Local"})

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()


async def _bring_up(station: Station, gate: asyncio.Semaphore, tally: Tally) -> bool:
    async with gate:
        try:
            await station.connect()
        except Exception:
            tally.errors["connect"] = tally.errors.get("connect", 0) + 1
            return False
    return await station.boot()


async def _steady(station: Station, offset: float, interval: float, deadline: float) -> None:
    await asyncio.sleep(offset)
    next_at = time.monotonic()
    while station.alive and next_at < deadline:
        await station.meter_values()
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def _burst(station: Station, deadline: float) -> None:
    while station.alive and time.monotonic() < deadline:
        await station.meter_values()


async def _worker_main(ids: list[str], url: str, commands: Any, results: Any, timeout: float) -> None:
    """Obey the orchestrator: ``connect``, ``steady <seconds> <interval>``, ``burst <seconds>``, ``idle <seconds>``,
    ``stop``; after each, put what was seen on ``results``."""
    import gc

    stations = [Station(i, url, Tally(), timeout) for i in ids]
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, commands.get)
        name = command[0]
        tally = Tally()
        for station in stations:
            station.tally = tally
        started = time.time()
        if name == "connect":
            gate = asyncio.Semaphore(50)
            await asyncio.gather(*(_bring_up(s, gate, tally) for s in stations))
            gc.collect()
            gc.freeze()
        elif name == "steady":
            deadline = time.monotonic() + command[1]
            await asyncio.gather(*(_steady(s, random.random() * command[2], command[2], deadline) for s in stations))
        elif name == "burst":
            deadline = time.monotonic() + command[1]
            await asyncio.gather(*(_burst(s, deadline) for s in stations))
        elif name == "idle":
            await asyncio.sleep(command[1])
        elif name == "stop":
            await asyncio.gather(*(s.stop() for s in stations))
            await asyncio.gather(*(s.close() for s in stations))
        results.put({"command": name, "started": started, "ended": time.time(),
                     "alive": sum(s.alive for s in stations), "tally": tally.__dict__})
        if name == "stop":
            return


def worker(ids: list[str], url: str, commands: Any, results: Any, timeout: float) -> None:
    try:
        import uvloop

        uvloop.run(_worker_main(ids, url, commands, results, timeout))
    except ImportError:
        asyncio.run(_worker_main(ids, url, commands, results, timeout))


class Generator:
    """``procs`` worker processes sharing the stations; every command goes to all and waits for all."""

    def __init__(self, station_ids: list[str], url: str, procs: int, timeout: float = 60.0) -> None:
        context = multiprocessing.get_context("spawn")
        self.results = context.Queue()
        self.queues = []
        self.processes = []
        for n in range(procs):
            queue = context.Queue()
            process = context.Process(target=worker, args=(station_ids[n::procs], url, queue, self.results, timeout),
                                      daemon=True)
            process.start()
            self.queues.append(queue)
            self.processes.append(process)

    def run(self, *command: Any) -> dict[str, Any]:
        for queue in self.queues:
            queue.put(command)
        parts = [self.results.get() for _ in self.queues]
        merged = Tally()
        for part in parts:
            t = part["tally"]
            for action, values in t["rtt"].items():
                merged.rtt.setdefault(action, []).extend(values)
            for key in ("acked", "errors", "server_calls"):
                target = getattr(merged, key)
                for k, v in t[key].items():
                    target[k] = target.get(k, 0) + v
            merged.profiles_at.extend(t["profiles_at"])
        return {"started": min(p["started"] for p in parts), "ended": max(p["ended"] for p in parts),
                "alive": sum(p["alive"] for p in parts), "tally": merged}

    def close(self) -> None:
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()


# ---- the baseline: a bare ``ocpp`` package central system ------------------------------------------------


def baseline_server(port: int) -> None:
    """Acknowledge everything; validation off; uvloop when installed. Runs until killed."""
    import websockets
    import websockets.exceptions
    from ocpp.routing import on
    from ocpp.v16 import ChargePoint, call_result

    counter = [0]
    now = lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731

    class Bare(ChargePoint):
        @on("BootNotification", skip_schema_validation=True)
        def on_boot(self, **_: Any) -> Any:
            return call_result.BootNotification(current_time=now(), interval=300, status="Accepted")

        @on("StatusNotification", skip_schema_validation=True)
        def on_status(self, **_: Any) -> Any:
            return call_result.StatusNotification()

        @on("StartTransaction", skip_schema_validation=True)
        def on_start(self, **_: Any) -> Any:
            counter[0] += 1
            return call_result.StartTransaction(transaction_id=counter[0], id_tag_info={"status": "Accepted"})

        @on("StopTransaction", skip_schema_validation=True)
        def on_stop(self, **_: Any) -> Any:
            return call_result.StopTransaction()

        @on("MeterValues", skip_schema_validation=True)
        def on_meter_values(self, **_: Any) -> Any:
            return call_result.MeterValues()

        @on("Heartbeat", skip_schema_validation=True)
        def on_heartbeat(self, **_: Any) -> Any:
            return call_result.Heartbeat(current_time=now())

    async def handler(connection: Any) -> None:
        station = connection.request.path.rsplit("/", 1)[-1]
        try:
            await Bare(station, connection).start()
        except websockets.exceptions.ConnectionClosed:
            pass
        except Exception as exc:
            print("baseline:", repr(exc), file=sys.stderr)

    async def main() -> None:
        import gc

        async with websockets.serve(handler, "127.0.0.1", port, subprotocols=["ocpp1.6"], compression=None,
                                    ping_interval=None, max_queue=64):
            await asyncio.sleep(20)
            gc.collect()
            gc.freeze()
            await asyncio.Future()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


# ---- measuring the server process and the database --------------------------------------------------------


def _pids_named(name: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/comm") as f:
                if f.read().strip() == name:
                    pids.append(int(entry))
    return pids


def cpu_by_pid(pids: list[int], children: bool = False) -> dict[int, float]:
    """CPU seconds per process; with ``children``, also what its ended children used (PostgreSQL's postmaster
    reaps the backends of closed connections: their CPU would be lost otherwise)."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
            used = int(fields[11]) + int(fields[12])
            if children:
                used += int(fields[13]) + int(fields[14])
            seconds[pid] = used / tick
    return seconds


def cpu_seconds(pids: list[int]) -> float:
    return sum(cpu_by_pid(pids).values())


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of every PostgreSQL process (backends come and go: compare per pid)."""
    return cpu_by_pid(_pids_named("postgres"), children=True)


def cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Database:
    """A fresh database on the PostgreSQL server (``psql`` as the client), dropped by :meth:`drop`."""

    def __init__(self, server: str, name: str) -> None:
        self.server = server  # e.g. postgresql://postgres@127.0.0.1:5432
        self.name = name
        self.url = f"{server}/{name}"
        self.sql("postgres", f'CREATE DATABASE "{name}"')

    def sql(self, database: str, statement: str) -> str:
        done = subprocess.run(["psql", f"{self.server}/{database}", "-XAtq", "-c", statement],
                              capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def query(self, statement: str) -> list[str]:
        return self.sql(self.name, statement).split("|")

    def stats(self) -> tuple[int, int, int]:
        row = self.query(f"SELECT xact_commit, tup_inserted, tup_updated FROM pg_stat_database WHERE datname = "
                         f"'{self.name}'")
        return int(row[0]), int(row[1]), int(row[2])

    def drop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.sql("postgres", f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# ---- reporting -------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(label: str, phase: dict[str, Any], cpu: float | None = None, rss: float | None = None,
           stations: int = 0, extra: str = "") -> dict[str, Any]:
    tally: Tally = phase["tally"]
    seconds = phase["ended"] - phase["started"]
    total = sum(tally.acked.values())
    out: dict[str, Any] = {"phase": label, "seconds": round(seconds, 1), "alive": phase["alive"],
                           "acked": dict(tally.acked), "msgs_per_s": round(total / seconds, 1) if seconds else 0,
                           "errors": dict(tally.errors), "server_calls": dict(tally.server_calls), "latency_ms": {}}
    print(f"  {label}: {phase['alive']} connections held, {total} messages acknowledged in {seconds:.1f} s"
          f" = {out['msgs_per_s']:.0f} msgs/s {extra}")
    for action, values in sorted(tally.rtt.items()):
        p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
        out["latency_ms"][action] = {"n": len(values), "p50": round(p50, 2), "p99": round(p99, 2),
                                     "max": round(max(values) * 1000, 1)}
        print(f"    {action:<18} n={len(values):>7}  p50 {p50:8.2f} ms  p99 {p99:8.2f} ms"
              f"  max {max(values) * 1000:8.1f} ms")
    if cpu is not None and total:
        out["server_cpu_us_per_msg"] = round(cpu / total * 1e6, 1)
        out["one_core_ceiling_msgs_per_s"] = round(total / cpu) if cpu else None
        print(f"    server CPU per message {out['server_cpu_us_per_msg']:.0f} µs"
              f" (one busy core would take {out['one_core_ceiling_msgs_per_s']} msgs/s)")
    if cpu is not None:
        out["server_cpu_pct"] = round(100 * cpu / seconds, 1)
        print(f"    server CPU {out['server_cpu_pct']:.0f} % of one core", end="")
        if stations:
            out["server_cpu_pct_per_1k"] = round(out["server_cpu_pct"] * 1000 / stations, 2)
            print(f" ({out['server_cpu_pct_per_1k']:.1f} % per 1,000 stations)", end="")
        print()
    if rss is not None and stations:
        out["rss_mb"] = round(rss, 1)
        out["rss_mb_per_1k"] = round(rss * 1000 / stations, 1)
        print(f"    server RSS {rss:.0f} MB ({out['rss_mb_per_1k']:.1f} MB per 1,000 stations)")
    if tally.errors:
        print(f"    errors: {tally.errors}")
    if tally.server_calls:
        print(f"    server calls answered: {tally.server_calls}")
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen | multiprocessing.Process, timeout: float = 120) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = process.poll() is None if isinstance(process, subprocess.Popen) else process.is_alive()
        if not alive:
            raise RuntimeError("the server exited while starting")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError("the server did not start listening")


# ---- the runs --------------------------------------------------------------------------------------------


def run_baseline(args: argparse.Namespace, ids: list[str]) -> dict[str, Any]:
    print(f"baseline: bare ocpp 1.6 central system (validation off, uvloop), {len(ids)} stations, burst")
    port = free_port()
    context = multiprocessing.get_context("spawn")
    server = context.Process(target=baseline_server, args=(port,), daemon=True)
    server.start()
    wait_port(port, server)
    generator = Generator(ids, f"ws://127.0.0.1:{port}/ocpp", args.procs)
    try:
        report("connect+boot", generator.run("connect"))
        generator.run("idle", 2)
        before = cpu_seconds([server.pid])
        phase = generator.run("burst", args.burst_s)
        result = report("burst", phase, cpu_seconds([server.pid]) - before, rss_mb(server.pid), len(ids))
        generator.run("stop")
    finally:
        generator.close()
        server.kill()
        server.join()
    return result


async def _register(url: str, ids: list[str], site_toml: str) -> str:
    from wattcap.core.governance import Grant, Signal
    from wattcap.store import Repository

    async with await Repository.open(url) as repository:
        for start in range(0, len(ids), 200):
            chunk = ids[start : start + 200]
            await asyncio.gather(*(repository.add_station(i, None, security_profile=0) for i in chunk))
        grant = Grant(stations=frozenset(), sites=frozenset({"*"}), signals=frozenset(Signal), read_only=False)
        await repository.put_api_client("load-bench", grant.to_json(), description="benchmarks/load.py")
        return (await repository.create_api_token("load-bench", label="load")).token


def site_file(ids: list[str], site_size: int) -> str:
    """One TOML site file with a site of ``site_size`` stations (the last one may be smaller) per grid connection."""
    from wattcap.core.model import OcppVersion
    from wattcap.core.station import CurrentType
    from wattcap.sim.site import site_file_for
    from wattcap.sim.spec import EvseSpec, StationSpec

    specs = [StationSpec(i, ocpp_version=OcppVersion.V16, evses=(EvseSpec(1),), current_type=CurrentType.AC)
             for i in ids]
    size = max(1, site_size)
    return "\n".join(
        site_file_for(specs[start : start + size], site_id=f"{SITE}-{start // size + 1:04d}", share=0.6,
                      lease_s=86400)
        for start in range(0, len(specs), size)
    )


def drop_grid_limit(port: int, token: str, site_id: str, current_a: float) -> None:
    now = datetime.now(UTC) - timedelta(seconds=1)
    body = json.dumps({"ttl_s": 3600, "points": [{"start": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                                  "current_a": current_a}]}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/sites/{site_id}/signals/site-limit", data=body,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                                     method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


def count_in_db(db: Database) -> dict[str, int]:
    like = f"'{PREFIX}-%'"
    counts = db.query(
        "SELECT "
        f"(SELECT count(*) FROM meter_samples WHERE station_id LIKE {like} "
        "AND measurand = 'Energy.Active.Import.Register'),"
        f"(SELECT count(*) FROM meter_samples WHERE station_id LIKE {like}),"
        f"(SELECT count(*) FROM transactions WHERE station_id LIKE {like} AND started_at IS NOT NULL),"
        f"(SELECT count(*) FROM transactions WHERE station_id LIKE {like} AND stopped_at IS NOT NULL),"
        f"(SELECT count(*) FROM station_events WHERE station_id LIKE {like})"
    )
    keys = ("meter_values", "meter_samples", "transactions_started", "transactions_stopped", "journal")
    return dict(zip(keys, (int(c) for c in counts), strict=True))


def run_wattcap(args: argparse.Namespace, ids: list[str]) -> dict[str, Any]:
    import tomllib

    from wattcap.server.sitecap.config import parse_sites

    site_note = "no site cap" if args.no_site else f"site cap active, sites of {args.site_size} stations"
    print(f"wattcap serve on PostgreSQL, {len(ids)} stations (1.6, one EVSE each), {site_note}")
    db = Database(args.pg, f"wattcap_bench_{os.getpid()}")
    workdir = Path(tempfile.mkdtemp(prefix="wattcap-load-"))
    site_toml = site_file(ids, args.site_size)
    sites = parse_sites(tomllib.loads(site_toml))
    grid_a = {site.id: site.root().max_current_a for site in sites}
    (workdir / "site.toml").write_text(site_toml)
    server: subprocess.Popen | None = None
    generator: Generator | None = None
    results: dict[str, Any] = {"stations": len(ids), "site_size": None if args.no_site else args.site_size}
    try:
        t0 = time.perf_counter()
        token = asyncio.run(_register(db.url.replace("postgresql://", "postgresql+asyncpg://"), ids, site_toml))
        print(f"  registered {len(ids)} stations in {time.perf_counter() - t0:.1f} s")
        port = free_port()
        env = {**os.environ, "WATTCAP_DATABASE_URL": db.url.replace("postgresql://", "postgresql+asyncpg://"),
               "WATTCAP_PORT": str(port), "WATTCAP_REQUIRE_AUTH": "false", "WATTCAP_RATE_LIMIT_PER_S": "1000",
               "WATTCAP_RATE_LIMIT_BURST": "10000", "WATTCAP_WS_PING_INTERVAL_S": "none",
               "WATTCAP_CALL_TIMEOUT_S": "60"}
        env.update(item.split("=", 1) for item in args.server_env)
        command = [sys.executable]
        if args.profile:
            command += ["-m", "cProfile", "-o", args.profile]
        command += ["-m", "wattcap", "serve"]
        if not args.no_site:
            command += ["--sites", str(workdir / "site.toml")]
        log = open(workdir / "serve.log", "w")  # noqa: SIM115
        server = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        wait_port(port, server)
        print(f"  serve log: {workdir / 'serve.log'}")
        generator = Generator(ids, f"ws://127.0.0.1:{port}/ocpp", args.procs)

        def measured(label: str, *command: Any) -> dict[str, Any]:
            cpu0, pg0, db0 = cpu_seconds([server.pid]), postgres_cpu(), db.stats()
            phase = generator.run(*command)
            seconds = phase["ended"] - phase["started"]
            cpu, pg, db1 = cpu_seconds([server.pid]) - cpu0, cpu_since(pg0, postgres_cpu()), db.stats()
            commits, inserted, updated = (b - a for a, b in zip(db0, db1, strict=True))
            extra = ""
            out = report(label, phase, cpu, rss_mb(server.pid), len(ids), extra)
            out["postgres_cpu_pct"] = round(100 * pg / seconds, 1)
            out["db_commits_per_s"] = round(commits / seconds, 1)
            out["db_tuples_written_per_s"] = round((inserted + updated) / seconds, 1)
            print(f"    PostgreSQL CPU {out['postgres_cpu_pct']:.0f} %; database: {out['db_commits_per_s']:.0f}"
                  f" commits/s, {out['db_tuples_written_per_s']:.0f} rows written/s (inserted + updated)")
            return out

        results["connect"] = measured("connect+boot+start", "connect")
        results["settle"] = measured("settle (site cap writes its limits)", "idle", args.settle_s)
        results["steady"] = measured(f"steady (MeterValues every {args.interval:g} s)", "steady", args.steady_s,
                                     args.interval)
        if args.drop and not args.no_site:
            before = time.time()
            for site_id, limit_a in grid_a.items():
                drop_grid_limit(port, token, site_id, round(limit_a / 2))
            phase = generator.run("idle", args.drop_wait_s)
            after = [t for t in phase["tally"].profiles_at if t >= before]
            results["drop"] = {"profiles_acknowledged": len(after),
                               "last_ack_s": round(max(after) - before, 2) if after else None}
            print(f"  grid limits of {len(grid_a)} sites halved: {len(after)} SetChargingProfile acknowledged,"
                  f" the last {results['drop']['last_ack_s']} s after the drop (watched {args.drop_wait_s:g} s)")
        results["burst"] = measured("burst (closed loop)", "burst", args.burst_s)
        stop = generator.run("stop")
        results["stop"] = report("stop", stop)
        time.sleep(1.0)
        acked = {"meter_values": sum(generator_acked(results, "MeterValues")),
                 "transactions_started": results["connect"]["acked"].get("StartTransaction", 0),
                 "transactions_stopped": stop["tally"].acked.get("StopTransaction", 0)}
        stored = count_in_db(db)
        lost = {k: max(0, v - stored[k]) for k, v in acked.items()}
        results.update(acked=acked, stored=stored, lost=lost)
        print(f"  acknowledged: {acked}")
        print(f"  in the database: {stored}")
        print(f"  lost (acknowledged, not stored): {lost}")
    finally:
        if generator is not None:
            generator.close()
        if server is not None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=120)
            except subprocess.TimeoutExpired:
                server.kill()
        if not args.keep_db:
            db.drop()
    return results


def generator_acked(results: dict[str, Any], action: str) -> list[int]:
    return [results[p]["acked"].get(action, 0) for p in ("connect", "settle", "steady", "burst") if p in results]


def _terminated(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # run the clean-ups (the server stopped, the database dropped)


def main() -> None:
    signal.signal(signal.SIGTERM, _terminated)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--interval", type=float, default=10.0, help="steady: seconds between MeterValues")
    parser.add_argument("--steady-s", type=float, default=60.0)
    parser.add_argument("--burst-s", type=float, default=30.0)
    parser.add_argument("--settle-s", type=float, default=20.0, help="idle after the sessions start")
    parser.add_argument("--site-size", type=int, default=20,
                        help="stations per site (grid connection); the site file holds every site")
    parser.add_argument("--drop", action="store_true", help="halve every site's grid limit after the steady phase")
    parser.add_argument("--no-site", action="store_true",
                        help="serve without the site file: the message path without the site cap's writes")
    parser.add_argument("--drop-wait-s", type=float, default=60.0)
    parser.add_argument("--baseline-stations", type=int, help="stations for the baseline (default: --stations)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-wattcap", action="store_true")
    parser.add_argument("--quick", action="store_true", help="200 stations, short phases")
    parser.add_argument("--pg", default=os.environ.get("WATTCAP_BENCH_PG", "postgresql://postgres@127.0.0.1:5432"))
    parser.add_argument("--profile", metavar="FILE", help="run wattcap serve under cProfile, stats into FILE")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment of wattcap serve (e.g. WATTCAP_EVENT_LOOP=asyncio, PYTHONPATH=...)")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = parser.parse_args()
    if args.quick:
        args.stations, args.steady_s, args.burst_s, args.settle_s, args.interval = 200, 20, 10, 5, 5
        args.drop_wait_s = 20
    ids = [f"{PREFIX}-{n:05d}" for n in range(1, args.stations + 1)]
    figures: dict[str, Any] = {"stations": args.stations}
    if not args.no_baseline:
        figures["baseline"] = run_baseline(args, ids[: args.baseline_stations or args.stations])
    if not args.no_wattcap:
        figures["wattcap"] = run_wattcap(args, ids)
    if "baseline" in figures and "wattcap" in figures:
        base, burst = figures["baseline"]["msgs_per_s"], figures["wattcap"]["burst"]["msgs_per_s"]
        figures["ratio_burst"] = round(burst / base, 3) if base else None
        print(f"burst throughput wattcap / bare baseline: {burst:.0f} / {base:.0f} = {figures['ratio_burst']}"
              " (target 0.70)")
        base_cpu = figures["baseline"].get("server_cpu_us_per_msg")
        our_cpu = figures["wattcap"]["burst"].get("server_cpu_us_per_msg")
        if base_cpu and our_cpu:
            figures["ratio_cpu"] = round(base_cpu / our_cpu, 3)
            print(f"server CPU per MeterValues, bare baseline / wattcap: {base_cpu:.0f} / {our_cpu:.0f} µs ="
                  f" {figures['ratio_cpu']} (the same ratio of one-core throughput)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
