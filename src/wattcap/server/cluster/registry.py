"""The station registry of a cluster node: this node's links, every other node's by NATS.

:class:`ClusterRegistry` is a :class:`~wattcap.server.stations.StationRegistry` (the gateway attaches and detaches
this node's sessions exactly as before) that also knows where every other station's WebSocket ends:

* **presence** — a NATS KV bucket maps each connected station to the node holding its link and the OCPP version it
  speaks. A node writes its entry when a station attaches and deletes it (only if it is still its own) when the
  link goes. Every node watches the bucket and keeps a mirror in memory, so ``station_id in registry`` and
  :meth:`version` never wait on the network. A station that reconnects to another node *takes over*: the newer
  entry (higher KV revision) wins, and the node holding the older link closes it, as a single node closes a
  connection replaced by a newer one. KV over a database table: the mirror is pushed to every node as it changes,
  where a table would be polled.
* **liveness** — each node publishes a heartbeat every ``heartbeat_s``; a node not heard for ``node_timeout_s``
  is dead, its stations count as disconnected (listeners are told) and its presence entries are deleted (with the
  revision they had, so a station that reconnected meanwhile keeps its new entry).
* **calls** — :meth:`call` to a station of another node is a NATS request on
  ``{prefix}.station.{station}.call``, to which only the node holding the link subscribes (from attach to detach).
  The answer comes back as the same result class or the same exception as a local call (:mod:`.codec`), so
  :class:`~wattcap.server.profiles.ProfileService`, the capability reader and the site cap never know which node
  a station is on. No responder means no node holds the station: :class:`StationNotConnected` at once.
* **boots** — once this node's boot listeners have handled a boot (the lifecycle read capabilities and
  reconciled), the other nodes are told, so whoever waits for a boot elsewhere (the site cap's leader) sees it.

``len()`` and iteration stay this node's own links: the periodic reconcile runs where the station is connected,
and the metrics count per node. Connection listeners are told of changes in the cluster-wide state (connected to
some live node or not; a move to another node counts as coming again, as a replaced connection does).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.kv import KeyValue
from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case

from wattcap.aio import stop_if_cancelled
from wattcap.core.model import OcppVersion
from wattcap.ocpp.lifecycle_messages import WireCall
from wattcap.ocpp.messages_common import without_decimals
from wattcap.server.cluster import codec
from wattcap.server.cluster.bus import Bus, dumps, loads, token, untoken
from wattcap.server.logs import StationLog
from wattcap.server.stations import (
    REPLACED,
    CallTimeout,
    InvalidRequest,
    StationCallError,
    StationNotConnected,
    StationRegistry,
    StationSession,
)
from wattcap.server.wire_calls import answer_to_wire, to_package_call

log = logging.getLogger("wattcap.cluster")

_CALL_MODULES = {OcppVersion.V16: "ocpp.v16.call", OcppVersion.V201: "ocpp.v201.call"}
#: What a remote call waits beyond the station's own call timeout (the hops through NATS, a busy node).
CALL_MARGIN_S = 5.0


@dataclass(frozen=True, slots=True)
class Holder:
    """Where one station's link ends. ``revision`` is its KV revision (None: this node's write is under way)."""

    node: str
    version: OcppVersion
    since: datetime
    revision: int | None = None


@dataclass(frozen=True, slots=True)
class RemoteSession:
    """What :meth:`ClusterRegistry.session` answers for a station connected to another node: the fields the API
    shows (``version``, ``connected_at``) and the node."""

    station_id: str
    version: OcppVersion
    connected_at: datetime
    node: str


RemoteBootListener = Callable[[str], None]


class ClusterRegistry(StationRegistry):
    def __init__(
        self, node_id: str, *, call_timeout_s: float = 30.0, heartbeat_s: float = 1.0, node_timeout_s: float = 4.0
    ) -> None:
        super().__init__()
        self.node_id = node_id
        self.call_timeout_s = call_timeout_s
        self.heartbeat_s = heartbeat_s
        self.node_timeout_s = node_timeout_s
        self.bus: Bus | None = None
        self._kv: KeyValue | None = None
        self._where: dict[str, Holder] = {}
        self._own_revision: dict[str, int] = {}
        self._deferred: dict[str, Holder] = {}  # another node's entry seen while this node's write was under way
        self._announced: dict[str, str | None] = {}  # the node listeners were last told a station is on
        self._heard: dict[str, float] = {}  # node -> monotonic time of its last heartbeat
        self._started_at = time.monotonic()
        self._remote_boot_listeners: list[RemoteBootListener] = []
        self._ops: asyncio.Queue[tuple[str, str, Holder | None]] | None = None
        self._subscriptions: dict[str, Any] = {}
        self._tasks: list[asyncio.Task] = []
        self._handlers: set[asyncio.Task] = set()
        self._watcher: Any = None
        self._follower: asyncio.Task | None = None
        self.remote_calls = 0  # calls this node sent to other nodes
        self.answered_calls = 0  # calls this node carried out for other nodes

    # ---- start / stop --------------------------------------------------------------------------------------

    async def start(self, bus: Bus) -> None:
        """Load the presence mirror, then follow it; answer for this node's stations from now on."""
        self.bus = bus
        self._started_at = time.monotonic()
        self._kv = await bus.bucket("presence")
        self._ops = asyncio.Queue()
        nc = bus.client
        await nc.subscribe(bus.subject("node", "*", "alive"), cb=self._on_heartbeat)
        await nc.subscribe(bus.subject("booted"), cb=self._on_booted)
        loaded = asyncio.Event()
        self._follower = asyncio.create_task(self._follow(loaded), name="cluster:presence")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await loaded.wait()
        bus.on_reconnect.append(self._resync)
        self._tasks.append(asyncio.create_task(self._write_presence(), name="cluster:presence-writer"))
        self._tasks.append(asyncio.create_task(self._beat(), name="cluster:heartbeat"))
        for station_id in list(self._sessions):  # links that came before the bus was up
            self._link_changed(station_id, True)

    async def _follow(self, loaded: asyncio.Event) -> None:
        """Apply every presence change, from the whole bucket's current state on."""
        assert self._kv is not None
        self._watcher = await self._kv.watchall()
        async for entry in self._watcher:
            if entry is None:
                loaded.set()
                continue
            try:
                self._on_presence(entry)
            except Exception:
                log.exception("cluster.presence entry %s not applied", entry.key)

    async def _resync(self) -> None:
        """NATS is back after an outage: follow the bucket anew (a watch does not outlive a restarted server) and
        write this node's stations again (a server that lost its storage lost them)."""
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)
        if self._watcher is not None:
            with contextlib.suppress(Exception):
                await self._watcher.stop()
        self._follower = asyncio.create_task(self._follow(asyncio.Event()), name="cluster:presence")
        if self._ops is not None:
            for station_id in list(self._sessions):
                current = self._where.get(station_id)
                if current is not None and current.node == self.node_id:
                    self._ops.put_nowait(("hold", station_id, current))
        log.info("cluster.presence resynchronised node=%s stations_here=%d", self.node_id, len(self._sessions))

    async def close(self, *, graceful: bool = True) -> None:
        """Stop following the cluster. ``graceful``: first delete this node's presence entries still standing."""
        if graceful and self._ops is not None:
            for station_id, holder in list(self._where.items()):
                if holder.node == self.node_id:
                    self._ops.put_nowait(("release", station_id, None))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(3):
                    await self._ops.join()
        tasks = [*self._tasks, *self._handlers, *([self._follower] if self._follower is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        if graceful and self._watcher is not None:
            with contextlib.suppress(Exception):
                await self._watcher.stop()

    # ---- what the rest of the plane asks --------------------------------------------------------------------

    def __contains__(self, station_id: object) -> bool:
        return isinstance(station_id, str) and self.holder(station_id) is not None

    def holder(self, station_id: str) -> Holder | None:
        """Where ``station_id`` is connected now (None: nowhere, or on a node that stopped answering)."""
        if station_id in self._sessions:
            session = self._sessions[station_id]
            found = self._where.get(station_id)
            if found is not None and found.node == self.node_id:
                return found
            return Holder(self.node_id, session.version, session.connected_at)
        found = self._where.get(station_id)
        if found is None or found.node == self.node_id or not self.alive(found.node):
            return None
        return found

    def where(self) -> dict[str, str]:
        """Every connected station of the cluster and its node."""
        return {s: h.node for s in set(self._where) | set(self._sessions) if (h := self.holder(s)) is not None}

    def alive(self, node: str) -> bool:
        if node == self.node_id:
            return True
        heard = self._heard.get(node, self._started_at)
        return time.monotonic() - heard < self.node_timeout_s

    def session(self, station_id: str) -> StationSession:
        if station_id in self._sessions:
            return self._sessions[station_id]
        found = self.holder(station_id)
        if found is None:
            raise StationNotConnected(station_id)
        return RemoteSession(station_id, found.version, found.since, found.node)  # type: ignore[return-value]

    def version(self, station_id: str) -> OcppVersion:
        return self.session(station_id).version

    def add_remote_boot_listener(self, listener: RemoteBootListener) -> None:
        """``listener(station_id)`` runs when another node has handled a boot of ``station_id``."""
        self._remote_boot_listeners.append(listener)

    async def notify_booted(self, station_id: str) -> None:
        await super().notify_booted(station_id)
        if self.bus is not None and self.bus.nc is not None:
            with contextlib.suppress(Exception):
                await self.bus.publish(self.bus.subject("booted"), {"node": self.node_id, "station": station_id})

    # ---- calls --------------------------------------------------------------------------------------------

    async def call(self, station_id: str, payload: Any) -> Any:
        if station_id in self._sessions or self.bus is None:
            return await super().call(station_id, payload)
        found = self.holder(station_id)
        if found is None:
            raise StationNotConnected(station_id)
        action = type(payload).__name__
        if type(payload).__module__ != _CALL_MODULES[found.version]:
            raise InvalidRequest(f"{action} is not an OCPP {found.version} request ({_CALL_MODULES[found.version]}.*)")
        wire = remove_nones(snake_to_camel_case(serialize_as_dict(without_decimals(payload))))
        request = {"version": found.version.value, "action": action, "payload": wire, "from": self.node_id}
        self.remote_calls += 1
        try:
            message = await self.bus.client.request(
                self.bus.subject("station", token(station_id), "call"), dumps(request),
                timeout=self.call_timeout_s + CALL_MARGIN_S,
            )
        except NoRespondersError:
            raise StationNotConnected(station_id, "not connected to any node") from None
        except (NatsTimeout, TimeoutError):
            raise CallTimeout(station_id, action, self.call_timeout_s + CALL_MARGIN_S) from None
        except NatsError as exc:  # NATS away (or this node leaving): the station is out of reach from here
            raise StationNotConnected(station_id, f"the cluster is out of reach ({exc})") from None
        answer = loads(message.data)
        if "error" in answer:
            raise codec.error_from(station_id, answer, self.call_timeout_s)
        return codec.result_of(found.version, action, answer["result"])

    def _answer_calls(self, station_id: str) -> Callable[[Any], Any]:
        async def on_request(message: Any) -> None:
            task = asyncio.create_task(self._carry_out(station_id, message))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)

        return on_request

    async def _carry_out(self, station_id: str, message: Any) -> None:
        if station_id not in self._sessions:
            return  # the link is gone from here: the node that holds it now answers (or nobody, and it times out)
        request = loads(message.data)
        try:
            version = OcppVersion(request["version"])
            call = to_package_call(version, WireCall(request["action"], request["payload"]))
            result = await StationRegistry.call(self, station_id, call)
            answer: dict[str, Any] = {"result": answer_to_wire(result)}
        except StationCallError as exc:
            answer = codec.error_json(exc)
        except Exception as exc:  # a request this node cannot even build
            log.warning("cluster.call.refused station=%s error=%s", station_id, exc)
            answer = codec.error_json(InvalidRequest(f"{request.get('action')}: {exc}"))
        self.answered_calls += 1
        with contextlib.suppress(Exception):
            await message.respond(dumps(answer))

    # ---- presence -----------------------------------------------------------------------------------------

    def _link_changed(self, station_id: str, connected: bool) -> None:
        current = self._where.get(station_id)
        if connected:
            session = self._sessions[station_id]
            self._where[station_id] = Holder(self.node_id, session.version, session.connected_at)
            self._own_revision.pop(station_id, None)
            if self._ops is not None:
                self._ops.put_nowait(("hold", station_id, self._where[station_id]))
        else:
            if current is not None and current.node == self.node_id:
                del self._where[station_id]
            if self._ops is not None:  # stop answering its calls; delete the entry if it is still ours
                self._ops.put_nowait(("release", station_id, None))
        self._announce(station_id)

    def _announce(self, station_id: str) -> None:
        """Tell the connection listeners if the cluster-wide state of ``station_id`` changed."""
        found = self.holder(station_id)
        now = None if found is None else found.node
        if self._announced.get(station_id) == now:
            return
        self._announced[station_id] = now
        if now is None:
            self._announced.pop(station_id, None)
        self._connection_changed(station_id, now is not None)

    async def _write_presence(self) -> None:
        """This node's presence writes, in order (a hold and the release after it must not swap)."""
        assert self._ops is not None and self._kv is not None and self.bus is not None
        while True:
            stop_if_cancelled()  # a KV write's answer may have swallowed the cancel of a closing registry
            op, station_id, holder = await self._ops.get()
            try:
                if op == "hold":
                    await self._hold(station_id, holder)
                elif op == "forget":
                    if station_id not in self._sessions and holder is not None and holder.revision is not None:
                        with contextlib.suppress(Exception):  # changed since: the newer entry stays
                            await self._kv.delete(token(station_id), last=holder.revision)
                else:
                    await self._release(station_id)
            except Exception as exc:
                log.warning("cluster.presence.%s station=%s failed: %s", op, station_id, exc)
            finally:
                self._ops.task_done()

    async def _hold(self, station_id: str, holder: Holder | None) -> None:
        assert self._kv is not None and self.bus is not None and holder is not None
        if station_id not in self._sessions:
            return  # already gone again
        key = token(station_id)
        if key not in self._subscriptions:
            self._subscriptions[key] = await self.bus.client.subscribe(
                self.bus.subject("station", key, "call"), cb=self._answer_calls(station_id)
            )
        value = {"station": station_id, "node": self.node_id, "version": holder.version.value,
                 "since": holder.since.isoformat()}
        revision = await self._kv.put(key, dumps(value))
        self._own_revision[station_id] = revision
        current = self._where.get(station_id)
        if current is not None and current.node == self.node_id:
            self._where[station_id] = replace(current, revision=revision)
        other = self._deferred.pop(station_id, None)
        if other is not None and other.revision is not None and other.revision > revision:
            self._taken_over(station_id, other)

    async def _release(self, station_id: str) -> None:
        assert self._kv is not None
        key = token(station_id)
        if station_id not in self._sessions:
            subscription = self._subscriptions.pop(key, None)
            if subscription is not None:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()
        if station_id in self._sessions:
            return  # connected here again meanwhile
        revision = self._own_revision.pop(station_id, None)
        current = self._where.get(station_id)
        if revision is None or (current is not None and current.node != self.node_id):
            return  # never written, or another node holds the station now: its entry stays
        with contextlib.suppress(Exception):  # a newer entry (wrong last revision) stays
            await self._kv.delete(key, last=revision)

    def _on_presence(self, entry: Any) -> None:
        station_id = untoken(entry.key)
        current = self._where.get(station_id)
        if entry.operation in ("DEL", "PURGE"):
            if current is None or current.node == self.node_id:
                if current is not None and station_id in self._sessions and entry.revision > (
                    self._own_revision.get(station_id) or 0
                ) and self._ops is not None:  # our entry was deleted for a dead node while we live: write it again
                    self._ops.put_nowait(("hold", station_id, current))
                return
            if current.revision is None or entry.revision > current.revision:
                del self._where[station_id]
                self._announce(station_id)
            return
        value = loads(entry.value)
        found = Holder(value["node"], OcppVersion(value["version"]), datetime.fromisoformat(value["since"]),
                       entry.revision)
        if found.node == self.node_id:
            # Our own write (its revision is recorded when the write returns), or one left behind: a release that
            # failed while NATS was away, or this node id's previous process. Nobody else would remove it.
            if station_id not in self._sessions and self._ops is not None:
                self._ops.put_nowait(("forget", station_id, found))
            return
        if current is not None and current.node == self.node_id:
            if current.revision is None:
                self._deferred[station_id] = found  # decided once our write has its revision
                return
            if entry.revision < current.revision:
                return
            self._taken_over(station_id, found)
            return
        if current is None or current.revision is None or entry.revision > current.revision:
            self._where[station_id] = found
            self._heard.setdefault(found.node, time.monotonic())
            self._announce(station_id)

    def _taken_over(self, station_id: str, other: Holder) -> None:
        """``station_id`` connected to ``other.node`` after it connected here: our link is the stale one."""
        self._where[station_id] = other
        self._own_revision.pop(station_id, None)
        session = self._sessions.get(station_id)
        self._announce(station_id)
        if session is not None:
            StationLog(station_id).info("ocpp.connection.replaced", node=other.node)
            task = asyncio.create_task(self._close_replaced(session, other.node))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)

    @staticmethod
    async def _close_replaced(session: StationSession, node: str) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await session.close(REPLACED, f"replaced by a newer connection on node {node}"[:120])

    # ---- liveness -----------------------------------------------------------------------------------------

    async def _on_heartbeat(self, message: Any) -> None:
        node = message.subject.split(".")[-2]
        was_alive = self.alive(node)
        self._heard[node] = time.monotonic()
        if not was_alive:
            log.info("cluster.node.back node=%s", node)
            for station_id, holder in list(self._where.items()):
                if holder.node == node:
                    self._announce(station_id)

    async def _on_booted(self, message: Any) -> None:
        data = loads(message.data)
        if data.get("node") == self.node_id:
            return
        for listener in list(self._remote_boot_listeners):
            try:
                listener(data["station"])
            except Exception:
                log.exception("remote boot listener %r failed", listener)

    async def _beat(self) -> None:
        assert self.bus is not None and self._kv is not None
        subject = self.bus.subject("node", self.node_id, "alive")
        dead: set[str] = set()
        while True:
            stop_if_cancelled()  # a KV delete's answer may have swallowed the cancel of a closing registry
            with contextlib.suppress(Exception):
                await self.bus.client.publish(subject, b"")
            for station_id, holder in list(self._where.items()):
                if holder.node == self.node_id or self.alive(holder.node):
                    continue
                if holder.node not in dead:
                    log.warning("cluster.node.lost node=%s (no heartbeat for %.0f s)", holder.node,
                                self.node_timeout_s)
                self._announce(station_id)
                if holder.revision is not None:  # whoever notices first removes the dead node's entry
                    with contextlib.suppress(Exception):
                        await self._kv.delete(token(station_id), last=holder.revision)
            dead = {h.node for h in self._where.values() if not self.alive(h.node)}
            await asyncio.sleep(self.heartbeat_s)

