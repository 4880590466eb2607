"""The imperative shell: run simulated stations against a control plane over WebSockets.

One :class:`StationRunner` per station keeps the link up (connect, boot, reconnect with exponential back-off and
jitter), sends everything through the station's :class:`~wattcap.sim.outbox.Outbox` in order, ticks the station
at the meter interval, and hands the control plane's calls to the protocol adapter. A :class:`Simulation` holds
many runners and plays the arrivals.

The link switch (:meth:`StationRunner.drop_link` / :meth:`StationRunner.restore_link`) cuts the connection on
demand and keeps it down: the station keeps charging and enforcing what it holds, queues its transaction
messages, and replays them in order once the link is restored (fallback tests).

Intervals a station measures (meter values, heartbeats, reboot time) are in station time (:mod:`.clock`);
network concerns (response timeout, reconnect back-off) are in real seconds, whatever the clock speed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import websockets
from ocpp.exceptions import OCPPError
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from wattcap.aio import stop_if_cancelled
from wattcap.core.model import OcppVersion
from wattcap.sim.clock import Clock
from wattcap.sim.ev import EV
from wattcap.sim.events import AuthorizeRequested, StationEvent
from wattcap.sim.outbox import Outbox
from wattcap.sim.protocol import ProtocolAdapter, StationSettings
from wattcap.sim.protocol_v16 import V16Adapter
from wattcap.sim.protocol_v201 import V201Adapter
from wattcap.sim.scenario import Arrival
from wattcap.sim.spec import StationSpec
from wattcap.sim.station import SimStation

LOG = logging.getLogger("wattcap.sim")

ADAPTERS: dict[OcppVersion, type[ProtocolAdapter]] = {OcppVersion.V16: V16Adapter, OcppVersion.V201: V201Adapter}

_LINK_ERRORS = (ConnectionClosed, InvalidHandshake, OSError, asyncio.TimeoutError)


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How stations reach the control plane and how often they talk."""

    url: str
    password: str | None = None
    meter_interval_s: float = 10.0  # station time
    heartbeat_interval_s: float = 300.0  # station time, until the boot response names one
    reboot_s: float = 5.0  # station time a reset keeps the station off the link
    response_timeout_s: float = 30.0  # real time
    connect_timeout_s: float = 10.0  # real time
    backoff_min_s: float = 1.0  # real time
    backoff_max_s: float = 60.0  # real time
    ping_interval_s: float | None = 20.0  # real time; None: no WebSocket pings
    connect_spread_s: float = 0.0  # real time over which a simulation's stations make their first connection
    # Validate what the stations send (and the answers) against the OCPP schemas. Off only for load tests: it is
    # most of the simulator's CPU time. Calls from the control plane are always validated.
    validate_outgoing: bool = True


class Backoff:
    """Exponential reconnect delay with jitter (0.5–1.5 ×), so a fleet does not reconnect in lock-step."""

    def __init__(self, minimum: float, maximum: float, rng: random.Random) -> None:
        self._min, self._max, self._rng = minimum, maximum, rng
        self._attempts = 0

    def reset(self) -> None:
        self._attempts = 0

    def next(self) -> float:
        delay = min(self._max, self._min * 2**self._attempts)
        self._attempts += 1
        return delay * self._rng.uniform(0.5, 1.5)


@dataclass(slots=True)
class LinkStats:
    connects: int = 0
    disconnects: int = 0
    boots: int = 0
    sent: int = 0
    call_errors: int = 0


class StationRunner:
    """One simulated station on the network. Its methods are called from the event loop that runs it."""

    def __init__(self, station: SimStation, clock: Clock, options: RunOptions, *, seed: int = 0) -> None:
        self.station = station
        self.clock = clock
        self.options = options
        self.settings = StationSettings(options.meter_interval_s, options.heartbeat_interval_s)
        self.outbox = Outbox()
        self.adapter = ADAPTERS[station.spec.ocpp_version](self)
        self.stats = LinkStats()
        self.online = asyncio.Event()  # connected and booted
        self._rng = random.Random(f"{seed}/{station.station_id}")
        self._backoff = Backoff(options.backoff_min_s, options.backoff_max_s, self._rng)
        self._link_up = asyncio.Event()
        self._link_up.set()
        self._end_session = asyncio.Event()
        self._need_boot = True
        self._booted = asyncio.Event()  # has been accepted by the control plane at least once
        self._tasks: set[asyncio.Task] = set()

    @property
    def station_id(self) -> str:
        return self.station.station_id

    # ---- StationHost ---------------------------------------------------------------------------------------

    def emit(self, events: Iterable[StationEvent]) -> None:
        """Queue events to be sent; while offline only transaction messages are kept."""
        self.outbox.extend(list(events), online=self.station.online)

    def emit_after_answer(self, events: Iterable[StationEvent]) -> None:
        # Not station.online: that is set only once the boot's answer is handled, and the control plane may ask
        # before (what is queued now is dropped with the volatile rest if the link goes before it is sent).
        self.outbox.extend(list(events), online=True)

    def schedule_reboot(self) -> None:
        self._spawn(self.reboot())

    # ---- control -------------------------------------------------------------------------------------------

    def plug_in(self, evse_id: int, ev: EV, *, id_token: str | None = None) -> None:
        self.emit(self.station.plug_in(evse_id, ev, self.clock.now(), id_token=id_token))

    def unplug(self, evse_id: int) -> None:
        self.emit(self.station.unplug(evse_id, self.clock.now()))

    def drop_link(self) -> None:
        """Cut the link to the control plane and keep it down until :meth:`restore_link`."""
        self._link_up.clear()
        self._end_session.set()

    def restore_link(self) -> None:
        self._link_up.set()

    @property
    def link_up(self) -> bool:
        return self._link_up.is_set()

    async def reboot(self) -> None:
        """A reset: end transactions (sent first if connected), drop the link, stay off for ``reboot_s``, boot."""
        self.emit(self.station.reboot(self.clock.now()))
        if self.station.online:
            with contextlib.suppress(TimeoutError):  # asyncio.timeout: wait_for may swallow a cancel (wattcap.aio)
                async with asyncio.timeout(self.options.response_timeout_s):
                    await self.outbox.drained()
        was_up = self._link_up.is_set()
        self._link_up.clear()
        self._end_session.set()
        self._need_boot = True
        await self.clock.sleep(self.options.reboot_s)
        if was_up:
            self._link_up.set()

    # ---- main loop -----------------------------------------------------------------------------------------

    async def run(self, *, initial_delay_s: float = 0.0, arrivals: Sequence[Arrival] = (), start=None) -> None:
        """Run until cancelled: tick the station, keep the link up, send what it says, play its ``arrivals``
        (offsets from ``start``, default now)."""
        ticker = self._spawn(self._tick_loop())
        if arrivals:
            self._spawn(self._play(arrivals, start or self.clock.now()))
        try:
            if initial_delay_s > 0:
                await asyncio.sleep(initial_delay_s)
            while True:
                await self._link_up.wait()
                connection = await self._connect()
                if connection is None:
                    await asyncio.sleep(self._backoff.next())
                    continue
                self._backoff.reset()
                if not self._link_up.is_set():  # dropped while connecting
                    await connection.close()
                    continue
                await self._session(connection)
                if self._link_up.is_set():  # lost, not dropped on purpose: back off before trying again
                    await asyncio.sleep(self._backoff.next())
        finally:
            ticker.cancel()
            for task in list(self._tasks):
                task.cancel()

    async def _connect(self):
        url = f"{self.options.url.rstrip('/')}/{quote(self.station_id, safe='')}"
        headers = {}
        if self.options.password is not None:
            token = base64.b64encode(f"{self.station_id}:{self.options.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        try:
            connection = await websockets.connect(
                url,
                subprotocols=[self.adapter.subprotocol],
                additional_headers=headers,
                compression=None,
                open_timeout=self.options.connect_timeout_s,
                ping_interval=self.options.ping_interval_s,
            )
        except _LINK_ERRORS as exc:
            LOG.info("%s: cannot connect to %s: %s", self.station_id, url, exc)
            return None
        if connection.subprotocol != self.adapter.subprotocol:
            LOG.warning("%s: the control plane did not accept %s", self.station_id, self.adapter.subprotocol)
            await connection.close()
            return None
        self.stats.connects += 1
        return connection

    async def _session(self, connection) -> None:
        self._end_session.clear()
        cp = self.adapter.charge_point(connection, self.options.response_timeout_s)
        tasks = {
            asyncio.ensure_future(cp.start()),
            asyncio.ensure_future(self._serve(cp)),
            asyncio.ensure_future(self._end_session.wait()),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    exc = task.exception()
                    if not isinstance(exc, _LINK_ERRORS):
                        LOG.error("%s: session failed", self.station_id, exc_info=exc)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await connection.close()
            self.stats.disconnects += 1
            self._go_offline()

    async def _serve(self, cp) -> None:
        if self._need_boot:
            await self._boot(cp)
            self._need_boot = False
        now = self.clock.now()
        self.emit(self.station.set_online(True, now))
        self.emit(self.station.statuses(now))
        self.online.set()
        await asyncio.gather(self._send_loop(cp), self._heartbeat_loop(cp))

    async def _boot(self, cp) -> None:
        while True:
            stop_if_cancelled()  # cp.call may have swallowed the cancel of a stopping station
            result = await cp.call(self.adapter.boot_request(), suppress=False)
            if result.interval:
                self.settings.heartbeat_interval_s = float(result.interval)
            if result.status == "Accepted":
                self.stats.boots += 1
                self._booted.set()
                return
            await self.clock.sleep(self.settings.heartbeat_interval_s if result.interval else 10.0)

    def _go_offline(self) -> None:
        self.online.clear()
        now = self.clock.now()
        self.emit(self.station.set_online(False, now))
        for envelope in self.outbox.discard_volatile():
            event = envelope.event
            if isinstance(event, AuthorizeRequested):  # no answer will come: authorize locally (offline)
                self.emit(self.station.authorization_result(event.evse_id, event.id_token, True, now))

    async def _send_loop(self, cp) -> None:
        while True:
            stop_if_cancelled()  # cp.call may have swallowed the cancel of a stopping station
            envelope = await self.outbox.next()
            request = self.adapter.encode(envelope)
            if request is not None:
                try:
                    result = await cp.call(
                        request, suppress=False, skip_schema_validation=not self.options.validate_outgoing
                    )
                except OCPPError as exc:  # refused by the control plane (or invalid): do not retry forever
                    self.stats.call_errors += 1
                    LOG.warning("%s: %s answered with %r", self.station_id, type(request).__name__, exc)
                    self.outbox.done(envelope)
                    continue
                self.stats.sent += 1
                self.adapter.on_result(envelope, result)
            self.outbox.done(envelope)

    async def _heartbeat_loop(self, cp) -> None:
        while True:
            stop_if_cancelled()  # cp.call may have swallowed the cancel of a stopping station
            await self.clock.sleep(self.settings.heartbeat_interval_s)
            await cp.call(self.adapter.heartbeat_request(), suppress=False)

    async def _tick_loop(self) -> None:
        await self.clock.sleep(self._rng.uniform(0, self.settings.meter_interval_s))  # spread the fleet
        while True:
            self.emit(self.station.meter_values(self.clock.now()))
            await self.clock.sleep(self.settings.meter_interval_s)

    async def _play(self, arrivals: Sequence[Arrival], start) -> None:
        """Plug EVs in as scheduled. Before its first boot a station waits for it (up to the connect timeout), so
        ``--arrivals now`` authorizes online instead of starting every session offline."""
        for arrival in sorted(arrivals, key=lambda a: a.at_s):
            due = start + timedelta(seconds=arrival.at_s)
            wait = (due - self.clock.now()).total_seconds()
            if wait > 0:
                await self.clock.sleep(wait)
            if not self._booted.is_set():
                with contextlib.suppress(TimeoutError):  # asyncio.timeout: wait_for may swallow a cancel
                    async with asyncio.timeout(self.options.connect_timeout_s):
                        await self._booted.wait()
            try:
                self.plug_in(arrival.evse_id, arrival.vehicle(start), id_token=arrival.id_token)
            except (KeyError, ValueError) as exc:
                LOG.warning("%s: arrival at EVSE %s skipped: %s", self.station_id, arrival.evse_id, exc)

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


class Simulation:
    """Many stations and their arrivals, in one event loop."""

    def __init__(
        self,
        specs: Sequence[StationSpec],
        clock: Clock,
        options: RunOptions,
        *,
        arrivals: Sequence[Arrival] = (),
        seed: int = 0,
    ) -> None:
        self.clock = clock
        self.options = options
        self.start = clock.now()
        self.runners: dict[str, StationRunner] = {
            spec.station_id: StationRunner(SimStation(spec, self.start), clock, options, seed=seed) for spec in specs
        }
        self.arrivals: dict[str, list[Arrival]] = {}
        for arrival in arrivals:
            self.arrivals.setdefault(arrival.station_id, []).append(arrival)
        self._rng = random.Random(seed)

    def runner(self, station_id: str) -> StationRunner:
        try:
            return self.runners[station_id]
        except KeyError:
            raise KeyError(f"no simulated station {station_id!r}") from None

    async def run(self, duration_s: float | None = None) -> None:
        """Run every station (and the arrivals) for ``duration_s`` of station time, or until cancelled."""
        spread = self.options.connect_spread_s
        tasks = [
            asyncio.ensure_future(
                r.run(
                    initial_delay_s=self._rng.uniform(0, spread) if spread else 0.0,
                    arrivals=self.arrivals.get(r.station_id, ()),
                    start=self.start,
                )
            )
            for r in self.runners.values()
        ]
        try:
            if duration_s is None:
                await asyncio.gather(*tasks)
            else:
                await self.clock.sleep(duration_s)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def summary(self) -> dict[str, float]:
        """Fleet totals for a status line."""
        runners = self.runners.values()
        views = [r.station.evse(i) for r in runners for i in r.station.evse_ids]
        return {
            "stations": len(self.runners),
            "online": sum(1 for r in runners if r.online.is_set()),
            "charging": sum(1 for v in views if v.power_w > 0),
            "power_kw": round(sum(v.power_w for v in views) / 1000, 1),
            "queued": sum(len(r.outbox) for r in runners),
            "sent": sum(r.stats.sent for r in runners),
        }
