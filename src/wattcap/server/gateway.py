"""The ``/ocpp/{station_id}`` WebSocket endpoint: admit a station, then run its message loop.

Admission happens before the upgrade is accepted, so a refused charger gets an HTTP status and never a
WebSocket: an unknown subprotocol or a malformed id is closed before accept (HTTP 403), failed
authentication is answered 401 with a ``WWW-Authenticate`` challenge. The id in the path is the only id
the connection ever acts as: the Basic username must equal it, and the registry keys the session by it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from starlette.responses import Response
from starlette.websockets import WebSocket

from wattcap.core.model import OcppVersion
from wattcap.server.backend import Registration, StationBackend
from wattcap.server.charge_point import StationChargePoint, utc_now
from wattcap.server.connection import ConnectionClosed, WebSocketConnection
from wattcap.server.handlers_v16 import V16ChargePoint
from wattcap.server.handlers_v201 import V201ChargePoint
from wattcap.server.handshake import parse_basic_auth, select_subprotocol, valid_station_id
from wattcap.server.logs import StationLog
from wattcap.server.ratelimit import TokenBucket
from wattcap.server.settings import Settings, UnknownStationPolicy
from wattcap.server.stations import StationRegistry, StationSession

CHARGE_POINTS: dict[OcppVersion, type[StationChargePoint]] = {
    OcppVersion.V16: V16ChargePoint,
    OcppVersion.V201: V201ChargePoint,
}
PROTOCOL_ERROR = 1002
INTERNAL_ERROR = 1011


@dataclass(frozen=True, slots=True)
class Admission:
    admitted: bool
    pending: bool = False
    reason: str = ""


class OcppGateway:
    def __init__(
        self,
        settings: Settings,
        backend: StationBackend,
        registry: StationRegistry,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.backend = backend
        self.registry = registry
        self.clock = clock

    async def admit(self, station_id: str, authorization: str | None) -> Admission:
        """Security profile 1/2 admission of ``station_id`` presenting an ``Authorization`` header.

        Whitepaper A00.FR.203/204: credentials come with every connection and the username is the station
        identity. Only an ``ACCEPTED`` station is authenticated; an unknown one, and one still awaiting
        approval (``PENDING``), follow the ``unknown_stations`` policy and are let in unauthenticated as
        pending at most; a ``REJECTED`` one is refused (see :mod:`wattcap.server.backend`).
        """
        credentials = parse_basic_auth(authorization)
        if credentials is not None and credentials.username != station_id:
            return Admission(False, reason="username differs from the station id")
        registration = await self.backend.registration(station_id)
        if registration is Registration.REJECTED:
            return Admission(False, reason="station rejected")
        if registration is not Registration.ACCEPTED:
            if self.settings.unknown_stations is UnknownStationPolicy.PENDING:
                await self.backend.mark_pending(station_id)
                return Admission(True, pending=True, reason=f"{registration} station, admitted as pending")
            return Admission(False, reason=f"{registration} station")
        if credentials is None:
            if self.settings.require_auth:
                return Admission(False, reason="no Basic credentials")
            return Admission(True)
        if not await self.backend.authenticate(station_id, credentials.password):
            return Admission(False, reason="wrong password")
        return Admission(True)

    async def endpoint(self, websocket: WebSocket, station_id: str) -> None:
        log = StationLog(station_id)
        client = websocket.client.host if websocket.client else None
        if not valid_station_id(station_id):
            log.warning("ocpp.connection.refused", reason="invalid station id", client=client)
            await websocket.close(PROTOCOL_ERROR)
            return
        offered = list(websocket.scope.get("subprotocols") or [])
        choice = select_subprotocol(offered, self.settings.versions, self.settings.accept_no_subprotocol)
        if choice is None:
            log.warning("ocpp.connection.refused", reason="no supported subprotocol", offered=offered, client=client)
            await websocket.close(PROTOCOL_ERROR)
            return
        until = self.registry.quarantined_until(station_id, self.clock())
        if until is not None:
            log.warning("ocpp.connection.refused", reason="quarantined", until=until.isoformat(), client=client)
            await self._deny_quarantined(websocket, until)
            return
        try:
            admission = await self.admit(station_id, websocket.headers.get("authorization"))
        except Exception:
            log.exception("ocpp.connection.admission_failed", client=client)
            await websocket.close(INTERNAL_ERROR)
            return
        if not admission.admitted:
            log.warning("ocpp.connection.refused", reason=admission.reason, client=client)
            await self._deny_unauthorized(websocket)
            return
        await websocket.accept(subprotocol=choice.subprotocol)
        log.info(
            "ocpp.connection.accepted",
            version=choice.version.value,
            subprotocol=choice.subprotocol,
            pending=admission.pending or None,
            tls=self.settings.tls or None,
            client=client,
        )
        await self._serve(websocket, station_id, choice.version, admission.pending, log)

    async def _deny_unauthorized(self, websocket: WebSocket) -> None:
        challenge = Response(status_code=401, headers={"WWW-Authenticate": 'Basic realm="wattcap", charset="UTF-8"'})
        try:
            await websocket.send_denial_response(challenge)
        except RuntimeError:  # server without the denial-response extension: plain refusal (HTTP 403)
            await websocket.close(PROTOCOL_ERROR)

    async def _deny_quarantined(self, websocket: WebSocket, until: datetime) -> None:
        """HTTP 503 with the seconds left in Retry-After: the station may come back then, not before."""
        seconds = max(1, math.ceil((until - self.clock()).total_seconds()))
        refusal = Response(status_code=503, headers={"Retry-After": str(seconds)})
        try:
            await websocket.send_denial_response(refusal)
        except RuntimeError:  # server without the denial-response extension: plain refusal (HTTP 403)
            await websocket.close(PROTOCOL_ERROR)

    async def _serve(
        self, websocket: WebSocket, station_id: str, version: OcppVersion, pending: bool, log: StationLog
    ) -> None:
        connection = WebSocketConnection(
            websocket,
            version,
            max_frame_bytes=self.settings.max_frame_bytes,
            limiter=TokenBucket(self.settings.rate_limit_per_s, self.settings.rate_limit_burst),
            log=log,
            log_frames=self.settings.log_frames,
        )
        charge_point = CHARGE_POINTS[version](
            station_id,
            connection,
            backend=self.backend,
            settings=self.settings,
            memory=self.registry.memory(station_id),
            pending=pending,
            on_booted=self.registry.notify_booted,
            clock=self.clock,
        )
        session = StationSession(station_id, version, charge_point, self.clock(), asyncio.current_task())
        await self.registry.attach(session)
        try:
            await self.backend.station_connected(station_id, version)
            await charge_point.start()
        except ConnectionClosed as closed:
            log.info("ocpp.connection.closed", code=closed.code, reason=closed.reason or None)
        except Exception:
            log.exception("ocpp.connection.failed")
            await connection.close(INTERNAL_ERROR, "internal error")
        finally:
            charge_point.cancel_tasks()
            if self.registry.detach(session):
                try:
                    await self.backend.station_disconnected(station_id, version)
                except Exception:
                    log.exception("ocpp.connection.disconnect_hook_failed")
