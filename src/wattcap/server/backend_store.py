"""The server's backend on the database: :class:`StoreBackend` answers the protocol's questions from the store.

Everything the server learns goes through :meth:`Repository.record`, which is idempotent, so a message a
station replays after a reconnect (or after a restart of wattcap) changes nothing the second time. What the
server used to keep in memory only — which EVSE a transaction is on — is read back from the stored
transactions, so a 1.6 StopTransaction after a restart still lands on the right EVSE.

MeterValues and Heartbeats, most of what stations send, are written in batches across stations
(:mod:`wattcap.server.telemetry_batch`): same rows, same guarantees, a few statements per batch instead of two
per message.

Id tokens: a token the site knows is accepted unless it is blocked or expired; a token it does not know is
accepted only when ``accept_unknown_tokens`` is true (``Settings.accept_unknown_tokens``, see there why that
is the default).
"""

from __future__ import annotations

from wattcap.core.events import StationEvent, TransactionStarted
from wattcap.core.model import OcppVersion
from wattcap.server.backend import Registration
from wattcap.server.telemetry_batch import BATCHED, TelemetryBatcher
from wattcap.store import Repository, StationState, TokenVerdict

_REGISTRATION = {
    StationState.PENDING: Registration.PENDING,
    StationState.ACCEPTED: Registration.ACCEPTED,
    StationState.REJECTED: Registration.REJECTED,
}


class StoreBackend:
    """A :class:`~wattcap.server.backend.StationBackend` over a :class:`~wattcap.store.Repository`.

    The repository is the caller's: it is opened (and migrated) before, and closed after, the server runs.
    """

    def __init__(
        self, repository: Repository, *, accept_unknown_tokens: bool = True, batch_telemetry: bool = True
    ) -> None:
        self.repository = repository
        self.accept_unknown_tokens = accept_unknown_tokens
        #: Writes MeterValues and Heartbeats of many stations together (None: each on its own, as other events).
        self.telemetry = TelemetryBatcher(repository) if batch_telemetry else None

    async def authenticate(self, station_id: str, password: str) -> bool:
        # Constant time, and as slow for an unknown id or a station without a password as for a known one.
        return await self.repository.verify_password(station_id, password)

    async def registration(self, station_id: str) -> Registration:
        station = await self.repository.get_station(station_id)
        return Registration.UNKNOWN if station is None else _REGISTRATION[station.state]

    async def mark_pending(self, station_id: str) -> None:
        await self.repository.mark_pending(station_id)

    async def authorize(self, station_id: str, id_token: str) -> bool:
        verdict = await self.repository.authorize(id_token)
        if verdict is TokenVerdict.UNKNOWN:
            return self.accept_unknown_tokens
        return verdict is TokenVerdict.ACCEPTED

    async def next_transaction_id(self) -> int:
        return await self.repository.next_transaction_id()

    async def existing_transaction(self, started: TransactionStarted) -> str | None:
        return await self.repository.find_transaction_start(
            started.station_id, started.evse_id, started.at, started.id_token, started.meter_start_wh
        )

    async def transaction_evse(self, station_id: str, transaction_id: str) -> int | None:
        transaction = await self.repository.get_transaction(station_id, transaction_id)
        return None if transaction is None else transaction.evse_id

    async def record(self, event: StationEvent) -> None:
        if self.telemetry is not None and isinstance(event, BATCHED):
            await self.telemetry.record(event)  # returns once its batch is committed
        else:
            await self.repository.record(event)

    async def station_connected(self, station_id: str, version: OcppVersion) -> None:
        await self.repository.station_connected(station_id, version.value)

    async def station_disconnected(self, station_id: str, version: OcppVersion) -> None:
        await self.repository.station_disconnected(station_id)
