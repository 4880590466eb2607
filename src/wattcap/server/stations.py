"""The stations connected to this process, and calls from the CSMS to them.

:class:`StationRegistry` holds one live session per station id (a new connection replaces the old one) and
offers :meth:`StationRegistry.call`: send a request built with the station's version's message classes
(``ocpp.v16.call.GetConfiguration()``, ``ocpp.v201.call.GetVariables(...)``) and get the result dataclass,
or one of the exceptions below. It always calls with ``suppress=False`` (the package would otherwise turn a
CALLERROR into ``None``), refuses a request whose date-times are not UTC with ``Z`` before sending it, and
returns results with Decimals turned into floats.

In a cluster of wattcap nodes the plane uses :class:`wattcap.server.cluster.registry.ClusterRegistry` instead: the
same interface, answered for the whole cluster (``station_id in registry``, :meth:`StationRegistry.version`,
:meth:`StationRegistry.call` reach a station connected to any node), while ``len()`` and iteration stay this node's
own stations (what this node reconciles and counts). Nothing else in the control plane tells the two apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import OCPPError, UnknownCallErrorCodeError

from wattcap.core.model import OcppVersion
from wattcap.ocpp.datetimes import non_utc_datetimes, request_schema
from wattcap.ocpp.messages_common import without_decimals
from wattcap.server.charge_point import StationChargePoint, StationMemory
from wattcap.server.connection import ConnectionClosed
from wattcap.server.logs import StationLog

_CALL_MODULES = {OcppVersion.V16: "ocpp.v16.call", OcppVersion.V201: "ocpp.v201.call"}
REPLACED = 1000  # close code for a connection superseded by a newer one of the same station
#: Close code of a link cut on purpose (:meth:`StationRegistry.cut`): RFC 6455 "Try Again Later".
QUARANTINED = 1013


class StationCallError(Exception):
    """Base of everything :meth:`StationRegistry.call` raises."""


class StationNotConnected(StationCallError):
    def __init__(self, station_id: str, detail: str = "not connected") -> None:
        super().__init__(f"station {station_id!r}: {detail}")
        self.station_id = station_id


class CallTimeout(StationCallError):
    def __init__(self, station_id: str, action: str, timeout_s: float) -> None:
        super().__init__(f"station {station_id!r} did not answer {action} within {timeout_s:g} s")
        self.station_id = station_id
        self.action = action


class CallRejected(StationCallError):
    """The station answered with a CALLERROR."""

    def __init__(self, error_code: str, description: str, details: Any = None, *, action: str = "") -> None:
        super().__init__(f"{action} rejected: {error_code}: {description}".strip())
        self.error_code = error_code
        self.description = description
        self.details = details
        self.action = action


class InvalidRequest(StationCallError):
    """Our request failed the version's JSON schema (or is the wrong version's class); nothing was sent."""


class InvalidResponse(StationCallError):
    """The station's CALLRESULT failed the version's JSON schema."""


class CallWouldDeadlock(StationCallError):
    """A call to a station from inside the handling of that station's own message (use a task instead)."""


@dataclass(eq=False)
class StationSession:
    """One live connection of a station."""

    station_id: str
    version: OcppVersion
    charge_point: StationChargePoint
    connected_at: datetime
    #: The task that runs the message loop; a call awaited from it would wait for itself.
    reader_task: asyncio.Task | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def close(self, code: int, reason: str) -> None:
        self.closed.set()
        await self.charge_point.connection.close(code, reason)


BootListener = Callable[[str, OcppVersion], Awaitable[None]]


class StationRegistry:
    def __init__(self) -> None:
        self._sessions: dict[str, StationSession] = {}
        self._memory: dict[str, StationMemory] = {}
        self._boot_listeners: list[BootListener] = []
        self._connection_listeners: list[Callable[[str, bool], None]] = []
        self._quarantine: dict[str, tuple[datetime, str]] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, station_id: object) -> bool:
        return station_id in self._sessions

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._sessions))

    def session(self, station_id: str) -> StationSession:
        try:
            return self._sessions[station_id]
        except KeyError:
            raise StationNotConnected(station_id) from None

    def version(self, station_id: str) -> OcppVersion:
        """The OCPP version the station speaks now (to pick the message classes for :meth:`call`)."""
        return self.session(station_id).version

    def memory(self, station_id: str) -> StationMemory:
        return self._memory.setdefault(station_id, StationMemory(transaction_evse={}))

    async def attach(self, session: StationSession) -> StationSession | None:
        """Make ``session`` the station's live one; the previous one (returned) is closed."""
        previous = self._sessions.get(session.station_id)
        self._sessions[session.station_id] = session
        self._link_changed(session.station_id, True)
        if previous is not None and previous is not session:
            StationLog(session.station_id).info("ocpp.connection.replaced")
            # A peer that stopped reading must not hold up its successor.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await previous.close(REPLACED, "replaced by a newer connection of this station")
        return previous

    def detach(self, session: StationSession) -> bool:
        """Forget ``session`` if it is still the live one; False when a newer one replaced it."""
        session.closed.set()
        if self._sessions.get(session.station_id) is session:
            del self._sessions[session.station_id]
            self._link_changed(session.station_id, False)
            return True
        return False

    def add_connection_listener(self, listener: Callable[[str, bool], None]) -> None:
        """``listener(station_id, connected)`` runs synchronously when a station's live connection comes or goes
        (a replaced connection counts as coming); it must not block, and starts a task for any real work."""
        self._connection_listeners.append(listener)

    def remove_connection_listener(self, listener: Callable[[str, bool], None]) -> None:
        if listener in self._connection_listeners:
            self._connection_listeners.remove(listener)

    def view(self) -> RegistryView:
        """This registry for one user that goes away before it does: :meth:`RegistryView.close` removes the
        connection listeners added through the view (a site-cap controller that lost its leadership)."""
        return RegistryView(self)

    def is_local(self, station_id: str) -> bool:
        """Whether ``station_id``'s WebSocket ends in this process (always the case without a cluster)."""
        return station_id in self._sessions

    def _link_changed(self, station_id: str, connected: bool) -> None:
        """A link of this process came (``connected``) or went; a cluster registry decides what that means for
        the cluster before it tells the listeners."""
        self._connection_changed(station_id, connected)

    def _connection_changed(self, station_id: str, connected: bool) -> None:
        for listener in list(self._connection_listeners):
            try:
                listener(station_id, connected)
            except Exception:
                StationLog(station_id).exception("ocpp.connection_listener.failed", listener=repr(listener))

    # ---- quarantine: the link to one station cut on purpose, and kept down for a while ---------------------------

    def quarantine(self, station_id: str, until: datetime, reason: str = "quarantined") -> None:
        """Refuse ``station_id``'s connections until ``until`` (the gateway answers 503 with Retry-After).

        Fallback tests need a charger without its control plane for a known time, on a site where nobody can pull
        a cable: the charger must keep to the limits it holds and queue its meter values. Call :meth:`cut` as
        well to end a live connection. A later call replaces the expiry; :meth:`release` lifts it early.
        """
        self._quarantine[station_id] = (until, reason)

    def release(self, station_id: str) -> bool:
        """Accept ``station_id``'s connections again; False if it was not quarantined."""
        return self._quarantine.pop(station_id, None) is not None

    def quarantined_until(self, station_id: str, now: datetime) -> datetime | None:
        """When ``station_id``'s quarantine ends, or None if it is not (or no longer) quarantined at ``now``."""
        entry = self._quarantine.get(station_id)
        if entry is None:
            return None
        if entry[0] <= now:
            del self._quarantine[station_id]
            return None
        return entry[0]

    async def cut(self, station_id: str, reason: str = "quarantined") -> bool:
        """Close ``station_id``'s live connection (close code 1013, Try Again Later); False if it had none.

        The charger sees a lost link and reconnects on its own back-off; quarantine it first to keep it away.
        """
        session = self._sessions.get(station_id)
        if session is None:
            return False
        StationLog(station_id).info("ocpp.connection.cut", reason=reason)
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            async with asyncio.timeout(5):
                await session.close(QUARANTINED, reason[:120])
        return True

    def add_boot_listener(self, listener: BootListener) -> None:
        """``listener(station_id, version)`` runs in its own task after each accepted BootNotification was
        answered, so it may :meth:`call` the station."""
        self._boot_listeners.append(listener)

    async def notify_booted(self, station_id: str) -> None:
        version = self.version(station_id)
        for listener in list(self._boot_listeners):
            try:
                await listener(station_id, version)
            except Exception:  # one failing listener must not keep the others from running
                StationLog(station_id).exception("ocpp.boot_listener.failed", listener=repr(listener))

    async def call(self, station_id: str, payload: Any) -> Any:
        """Send ``payload`` (a ``call`` dataclass of the station's version) and return the result dataclass.

        Raises :class:`StationNotConnected` (also when the connection drops while waiting),
        :class:`CallTimeout`, :class:`CallRejected` (a CALLERROR), :class:`InvalidRequest`,
        :class:`InvalidResponse` or :class:`CallWouldDeadlock`.
        """
        session = self.session(station_id)
        action = type(payload).__name__
        self._check_request(session, payload, action)
        charge_point = session.charge_point
        message_id = str(uuid.uuid4())
        log = StationLog(station_id)
        charge_point.expect_answer(message_id)
        call_task = asyncio.ensure_future(
            charge_point.call(without_decimals(payload), suppress=False, unique_id=message_id)
        )
        closed_task = asyncio.ensure_future(session.closed.wait())
        try:
            await asyncio.wait({call_task, closed_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed_task.cancel()
            unanswered = not call_task.done()
            if unanswered:
                call_task.cancel()
            answer = charge_point.take_answer(message_id)
        if unanswered or call_task.cancelled():
            log.warning("ocpp.call.disconnected", message_id=message_id, action=action)
            raise StationNotConnected(station_id, f"disconnected while waiting for the answer to {action}")
        try:
            result = call_task.result()
        except TimeoutError:
            log.warning("ocpp.call.timeout", message_id=message_id, action=action)
            raise CallTimeout(station_id, action, charge_point.settings.call_timeout_s) from None
        except (OCPPError, UnknownCallErrorCodeError) as exc:
            if answer is not None and answer.error_code is not None:
                log.warning("ocpp.call.rejected", message_id=message_id, action=action, error=answer.error_code)
                raise CallRejected(answer.error_code, answer.description, answer.details, action=action) from None
            if answer is not None:
                log.warning("ocpp.call.invalid_response", message_id=message_id, action=action, error=str(exc))
                raise InvalidResponse(f"{action}: the station's answer is not valid: {exc}") from None
            raise InvalidRequest(f"{action}: {exc}") from None
        except ConnectionClosed:
            raise StationNotConnected(station_id, f"disconnected while sending {action}") from None
        log.info("ocpp.call.answered", message_id=message_id, action=action)
        return without_decimals(result)

    @staticmethod
    def _check_request(session: StationSession, payload: Any, action: str) -> None:
        """Refuse, before anything is sent, a request that is the wrong version's class, would deadlock, or
        carries a date-time that is not UTC with Z (the package checks no formats)."""
        expected_module = _CALL_MODULES[session.version]
        if type(payload).__module__ != expected_module:
            raise InvalidRequest(f"{action} is not an OCPP {session.version} request ({expected_module}.*)")
        if session.reader_task is not None and asyncio.current_task() is session.reader_task:
            raise CallWouldDeadlock(f"{action} to {session.station_id!r} from inside its own message handling")
        schema = request_schema(session.version, action)
        if schema is not None:
            wire = remove_nones(snake_to_camel_case(serialize_as_dict(without_decimals(payload))))
            offenders = non_utc_datetimes(wire, schema)
            if offenders:
                raise InvalidRequest(f"{action}: date-times must be UTC with Z: {', '.join(offenders)}")


class RegistryView:
    """A :class:`StationRegistry` as one user sees it: everything is the registry's, except that the connection
    listeners added here are removed again by :meth:`close`."""

    def __init__(self, registry: StationRegistry) -> None:
        self.registry = registry
        self._listeners: list[Callable[[str, bool], None]] = []

    def __contains__(self, station_id: object) -> bool:
        return station_id in self.registry

    def __len__(self) -> int:
        return len(self.registry)

    def __iter__(self) -> Iterator[str]:
        return iter(self.registry)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.registry, name)

    def add_connection_listener(self, listener: Callable[[str, bool], None]) -> None:
        self._listeners.append(listener)
        self.registry.add_connection_listener(listener)

    def close(self) -> None:
        for listener in self._listeners:
            self.registry.remove_connection_listener(listener)
        self._listeners.clear()
