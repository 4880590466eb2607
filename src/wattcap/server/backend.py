"""What the OCPP server needs from the rest of wattcap: a small async Protocol, and an in-memory version.

The server never touches storage itself. Everything a station says becomes a version-neutral event handed to
:meth:`StationBackend.record`; the few questions the protocol must answer synchronously (is this password
right, is this token allowed, which transaction id is next, which EVSE a transaction is on) are methods. The
database backend (:class:`wattcap.server.backend_store.StoreBackend`) implements the same Protocol;
:class:`InMemoryBackend` serves the tests and running without a database.

Registration, and what the server does with it (:meth:`wattcap.server.gateway.OcppGateway.admit`):

* ``ACCEPTED`` — an operator registered or approved the station: it must authenticate, and its
  BootNotification is answered Accepted;
* ``UNKNOWN`` and ``PENDING`` — never heard of, or heard of and awaiting an operator's approval: both follow
  ``Settings.unknown_stations``. Under ``pending`` the station is let in *unauthenticated* and is answered
  Pending for as long as that connection lasts; approval takes effect when it reconnects and authenticates;
* ``REJECTED`` — refused at the handshake, like a wrong password.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Protocol, TypeVar, runtime_checkable

from wattcap.core.events import StationEvent, TransactionStarted
from wattcap.core.model import OcppVersion

E = TypeVar("E", bound=StationEvent)


class Registration(StrEnum):
    """Where a station stands with the operator (see the module docstring for what each one means)."""

    UNKNOWN = "unknown"
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@runtime_checkable
class StationBackend(Protocol):
    async def authenticate(self, station_id: str, password: str) -> bool:
        """Whether ``password`` is the station's HTTP Basic password (security profiles 1 and 2)."""
        ...

    async def registration(self, station_id: str) -> Registration:
        """Where the station stands: only ``ACCEPTED`` ones are authenticated and answered Accepted at boot."""
        ...

    async def mark_pending(self, station_id: str) -> None:
        """An unknown station was let in under the ``pending`` policy and awaits an operator's approval."""
        ...

    async def authorize(self, station_id: str, id_token: str) -> bool:
        """Whether the id token (1.6 idTag, 2.0.1 idToken) may charge at this station."""
        ...

    async def next_transaction_id(self) -> int:
        """A new, never reused transaction id (OCPP 1.6: the CSMS assigns them in StartTransaction.conf)."""
        ...

    async def existing_transaction(self, started: TransactionStarted) -> str | None:
        """The id of a transaction already recorded with the same start (station, EVSE, time, token, meter):
        a 1.6 StartTransaction resent because its answer was lost gets its first id again, not a new one."""
        ...

    async def transaction_evse(self, station_id: str, transaction_id: str) -> int | None:
        """The EVSE a recorded transaction is on (1.6 StopTransaction and later 2.0.1 TransactionEvents do not
        say), or None if the transaction is not known. Must survive a restart of the server."""
        ...

    async def record(self, event: StationEvent) -> None:
        """Persist / publish one event. Raising makes the station's message fail with a CALLERROR."""
        ...

    async def station_connected(self, station_id: str, version: OcppVersion) -> None: ...

    async def station_disconnected(self, station_id: str, version: OcppVersion) -> None:
        """The station's live connection ended (not called when a newer connection replaced it)."""
        ...


class InMemoryBackend:
    """A :class:`StationBackend` holding everything in memory.

    ``stations`` maps station id to password (they are ``ACCEPTED``); ``id_tokens`` are the accepted tokens
    (None accepts every token). Recorded events are kept in order in :attr:`events`; :meth:`wait_for` lets
    tests wait for one without sleeping.
    """

    def __init__(
        self,
        stations: Mapping[str, str] | None = None,
        id_tokens: Iterable[str] | None = None,
        first_transaction_id: int = 1,
    ) -> None:
        self.stations: dict[str, str] = dict(stations or {})
        self.id_tokens: set[str] | None = None if id_tokens is None else set(id_tokens)
        self.events: list[StationEvent] = []
        self.connected: dict[str, OcppVersion] = {}
        self.pending: set[str] = set()
        #: ("connected" | "disconnected", station id, version) in the order the hooks ran.
        self.connection_log: list[tuple[str, str, OcppVersion]] = []
        self._transaction_ids = itertools.count(first_transaction_id)
        self._changed = asyncio.Condition()

    async def authenticate(self, station_id: str, password: str) -> bool:
        expected = self.stations.get(station_id)
        if expected is None:
            return False
        return hmac.compare_digest(expected.encode(), password.encode())

    async def registration(self, station_id: str) -> Registration:
        if station_id in self.stations:
            return Registration.ACCEPTED
        return Registration.PENDING if station_id in self.pending else Registration.UNKNOWN

    async def mark_pending(self, station_id: str) -> None:
        self.pending.add(station_id)

    async def authorize(self, station_id: str, id_token: str) -> bool:
        return self.id_tokens is None or id_token in self.id_tokens

    async def next_transaction_id(self) -> int:
        return next(self._transaction_ids)

    async def existing_transaction(self, started: TransactionStarted) -> str | None:
        same = (started.station_id, started.evse_id, started.at, started.id_token, started.meter_start_wh)
        for e in self.events_of(TransactionStarted, started.station_id):
            if (e.station_id, e.evse_id, e.at, e.id_token, e.meter_start_wh) == same:
                return e.transaction_id
        return None

    async def transaction_evse(self, station_id: str, transaction_id: str) -> int | None:
        started = self.events_of(TransactionStarted, station_id)
        return next((e.evse_id for e in started if e.transaction_id == transaction_id), None)

    async def record(self, event: StationEvent) -> None:
        self.events.append(event)
        await self._notify()

    async def station_connected(self, station_id: str, version: OcppVersion) -> None:
        self.connected[station_id] = version
        self.connection_log.append(("connected", station_id, version))
        await self._notify()

    async def station_disconnected(self, station_id: str, version: OcppVersion) -> None:
        self.connected.pop(station_id, None)
        self.connection_log.append(("disconnected", station_id, version))
        await self._notify()

    def events_of(self, kind: type[E], station_id: str | None = None) -> list[E]:
        return [e for e in self.events if isinstance(e, kind) and station_id in (None, e.station_id)]

    async def wait_for(self, predicate: Callable[[], object], timeout: float = 10.0) -> object:
        """Wait until ``predicate()`` is truthy (re-checked whenever the backend changes); return its value."""
        async with asyncio.timeout(timeout), self._changed:
            while not (value := predicate()):
                await self._changed.wait()
            return value

    async def wait_for_event(
        self, kind: type[E], station_id: str | None = None, where: Callable[[E], bool] = lambda e: True, **kw
    ) -> E:
        """The first recorded event of ``kind`` (for ``station_id``) that satisfies ``where``."""
        found = await self.wait_for(lambda: next((e for e in self.events_of(kind, station_id) if where(e)), None), **kw)
        return found  # type: ignore[return-value]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
