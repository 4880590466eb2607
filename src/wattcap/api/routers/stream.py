"""The live stream: ``ws(s)://HOST/api/v1/stream?station=…&site=…&type=…`` pushing what happens, as JSON.

Authentication: ``Authorization: Bearer <token>`` on the handshake, or ``?token=<token>`` (browsers cannot set
headers on a WebSocket), or — to keep the token out of URLs and logs — a first message
``{"type": "auth", "token": "<token>"}`` within 10 s of connecting. A bad token on the handshake is refused with
HTTP 401 (``WWW-Authenticate: Bearer``), a filter outside the grant with HTTP 403; after the handshake the same
refusals close the socket with 4401 / 4403 (4400 for a malformed filter) after an ``error`` message.

Filter: ``station`` and ``site`` (repeatable) select events of those stations or of stations on those sites (and
site-level events of those sites); none selects everything the client's grant covers. ``type`` (repeatable)
selects event types: meter, session, status, station, connection, limit, verdict, violation, allocation (the site
cap's), site. Events outside the grant are never sent, whatever the filter.

Messages: first ``{"type": "ready", …}``, then events ``{"seq", "type", "at", "site", "station", "evse", "data"}``
with ``seq`` counting this connection's events from 1. A client that reads too slowly loses its oldest events
(``queue`` of them are held, default 1000): it then gets ``{"type": "gap", "dropped": n, "first_seq", "last_seq"}``
before the events that follow; the control plane never waits for a client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from wattcap.api.deps import Access, plane_of, principal_for
from wattcap.api.errors import SCHEMA_RULE, ApiError, FindingOut, invalid, not_found
from wattcap.core import governance as gov
from wattcap.core.governance import Target
from wattcap.server.live import EVENT_TYPES, LiveEvent

AUTH_TIMEOUT_S = 10.0
MAX_QUEUE = 10_000
_CLOSE = {400: 4400, 401: 4401, 403: 4403, 404: 4404, 422: 4400}


class _Filter:
    """Which events one connection gets: its filter, within its grant."""

    def __init__(self, access: Access, stations: set[str], sites: set[str], types: set[str]) -> None:
        self.grant = access.grant
        self.stations = stations
        self.sites = sites
        self.types = types
        self.site_stations: set[str] = set()
        for site in sites:
            self.site_stations |= access.plane.sites.stations_of(site) or frozenset()

    def __call__(self, event: LiveEvent) -> bool:
        if self.types and event.type not in self.types:
            return False
        if self.stations or self.sites:
            wanted = (event.station_id in self.stations or event.station_id in self.site_stations
                      or (event.site_id is not None and event.site_id in self.sites))
            if not wanted:
                return False
        if event.station_id is None:
            return event.site_id is not None and gov.covers(self.grant, Target(site_id=event.site_id))
        return not gov.check_read(self.grant, Target(event.station_id, event.evse_id, event.site_id))


def _list(websocket: WebSocket, name: str) -> list[str]:
    return [v for raw in websocket.query_params.getlist(name) for v in raw.split(",") if v]


def _filter(access: Access, websocket: WebSocket) -> tuple[_Filter, int]:
    """The connection's filter and queue size; raises the 403/422 :class:`ApiError` for a bad one."""
    stations, sites, types = _list(websocket, "station"), _list(websocket, "site"), _list(websocket, "type")
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise invalid([FindingOut(path="query.type", rule_id=SCHEMA_RULE,
                                  message=f"unknown event type {unknown[0]!r}; known: {', '.join(EVENT_TYPES)}")])
    raw_queue = websocket.query_params.get("queue")
    queue = access.plane.live.max_queue
    if raw_queue is not None:
        if not raw_queue.isdigit() or not 1 <= int(raw_queue) <= MAX_QUEUE:
            raise invalid([FindingOut(path="query.queue", rule_id=SCHEMA_RULE,
                                      message=f"queue is an integer from 1 to {MAX_QUEUE}")])
        queue = int(raw_queue)
    for station_id in stations:
        access.read_station(station_id)
    for site_id in sites:
        access.site(site_id)
        if access.plane.sites.stations_of(site_id) is None:
            raise not_found(f"no site {site_id!r}")
    return _Filter(access, set(stations), set(sites), set(types)), queue


def _error(exc: ApiError) -> dict[str, Any]:
    return {"type": "error", **exc.body().model_dump(mode="json")["error"]}


async def _deny(websocket: WebSocket, exc: ApiError) -> None:
    """Refuse the handshake with the HTTP status (and the error body); servers without the extension get 403."""
    try:
        await websocket.send_denial_response(JSONResponse(exc.body().model_dump(mode="json"),
                                                          status_code=exc.status, headers=exc.headers))
    except RuntimeError:
        await websocket.close(_CLOSE.get(exc.status, 4400))


async def _close(websocket: WebSocket, exc: ApiError) -> None:
    with contextlib.suppress(Exception):
        await websocket.send_text(json.dumps(_error(exc)))
        await websocket.close(_CLOSE.get(exc.status, 4400), exc.message[:120])


def _handshake_token(websocket: WebSocket) -> str | None:
    token = websocket.query_params.get("token")
    scheme, _, credentials = (websocket.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        token = credentials.strip()
    return token


async def _first_message_token(websocket: WebSocket) -> str | None:
    async with asyncio.timeout(AUTH_TIMEOUT_S):
        text = await websocket.receive_text()
    try:
        message = json.loads(text)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("type") != "auth" or not isinstance(message.get("token"), str):
        return None
    return message["token"]


async def stream_endpoint(websocket: WebSocket) -> None:
    plane = plane_of(websocket)
    token = _handshake_token(websocket)
    if token is not None:
        try:
            access = Access(await principal_for(plane, token), plane)
            accepts, queue = _filter(access, websocket)
        except ApiError as exc:
            await _deny(websocket, exc)
            return
        await websocket.accept()
    else:
        await websocket.accept()
        try:
            access = Access(await principal_for(plane, await _first_message_token(websocket)), plane)
            accepts, queue = _filter(access, websocket)
        except ApiError as exc:
            await _close(websocket, exc)
            return
        except (TimeoutError, WebSocketDisconnect):
            with contextlib.suppress(Exception):
                await websocket.close(4401, "no auth message")
            return
    subscription = plane.live.subscribe(accepts, queue)
    try:
        await websocket.send_text(json.dumps({
            "type": "ready", "client": access.principal.client, "queue": queue,
            "filter": {"station": sorted(accepts.stations), "site": sorted(accepts.sites),
                       "type": sorted(accepts.types)},
        }))
        await _pump(websocket, subscription)
    finally:
        plane.live.unsubscribe(subscription)


async def _pump(websocket: WebSocket, subscription: Any) -> None:
    """Send until the client leaves or the feed closes; reading runs beside it only to notice the client leaving."""

    async def receive() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return

    async def send() -> None:
        while True:
            messages = await subscription.next()
            if not messages:  # the feed closed (the server is shutting down)
                return
            for message in messages:
                await websocket.send_text(json.dumps(message))

    tasks = [asyncio.create_task(receive()), asyncio.create_task(send())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if websocket.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close(1001 if subscription.closed else 1000)
