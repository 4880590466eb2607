"""The Starlette WebSocket as the ``recv()`` / ``send()`` connection ``ocpp.ChargePoint`` expects.

Besides adapting the API, this is the transport boundary of one station, where the per-connection rules
live: frame size and rate limits (closing the connection), frames that are not OCPP-J (answered with a
CALLERROR instead of the package's silent ignore), the 1.6 spelling of error codes on everything sent, and
raw frame logging with passwords masked.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from wattcap.core.model import OcppVersion
from wattcap.ocpp.rpc import (
    Frame,
    FrameProblem,
    call_error_frame,
    call_error_of,
    fix_outbound_frame,
    format_violation_code,
    redact_frame,
)
from wattcap.ocpp.rpc import parse_frame as parse_rpc_frame
from wattcap.server.logs import FRAME_LOGGER, StationLog
from wattcap.server.ratelimit import TokenBucket

POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009


class ConnectionClosed(Exception):
    """The station's WebSocket is gone (or was closed by us); ``code`` is the close code when known."""

    def __init__(self, code: int | None = None, reason: str = "") -> None:
        super().__init__(f"connection closed ({code}) {reason}".strip())
        self.code = code
        self.reason = reason


class WebSocketConnection:
    """One accepted station WebSocket, speaking ``version``.

    :meth:`recv` returns only well-formed OCPP-J text frames; everything else is answered or dropped here.
    The parsed form of the frame last returned is kept in :attr:`last_frame`, so the charge point does not
    have to parse it again (the package routes frames one at a time, in the order ``recv`` returns them).
    """

    def __init__(
        self,
        websocket: WebSocket,
        version: OcppVersion,
        *,
        max_frame_bytes: int,
        limiter: TokenBucket,
        log: StationLog,
        log_frames: bool = False,
    ) -> None:
        self.websocket = websocket
        self.version = version
        self.max_frame_bytes = max_frame_bytes
        self.limiter = limiter
        self.log = log
        self.log_frames = log_frames
        self.last_frame: tuple[str, Frame] | None = None
        self.closed = False
        self._send_lock = asyncio.Lock()

    async def recv(self) -> str:
        while True:
            message = await self._receive()
            if not self.limiter.allow():
                self.log.warning("ocpp.rate_limited", rate=self.limiter.rate, burst=self.limiter.burst)
                await self.close(POLICY_VIOLATION, "rate limit exceeded")
                raise ConnectionClosed(POLICY_VIOLATION, "rate limit exceeded")
            text: str | None = message.get("text")
            size = len(text.encode()) if text is not None else len(message.get("bytes") or b"")
            if size > self.max_frame_bytes:
                self.log.warning("ocpp.frame_too_big", size=size, limit=self.max_frame_bytes)
                await self.close(MESSAGE_TOO_BIG, "message too big")
                raise ConnectionClosed(MESSAGE_TOO_BIG, "message too big")
            if text is None:
                self._log_frame("recv", "<binary frame>")
                await self._answer(FrameProblem("binary frame; OCPP-J uses text frames", self._binary_error()))
                continue
            self._log_frame("recv", text)
            parsed = parse_rpc_frame(text, self.version)
            if isinstance(parsed, FrameProblem):
                await self._answer(parsed)
                continue
            self.last_frame = (text, parsed)
            return text

    async def send(self, text: str) -> None:
        frame = fix_outbound_frame(text, self.version)
        self._log_frame("send", frame)
        error = call_error_of(frame)
        if error is not None:
            self.log.warning("ocpp.callerror.sent", message_id=error[0], error=error[1])
        async with self._send_lock:
            if self.closed:
                raise ConnectionClosed(None, "already closed")
            try:
                await self.websocket.send_text(frame)
            except (WebSocketDisconnect, RuntimeError, OSError) as exc:
                self.closed = True
                raise ConnectionClosed(getattr(exc, "code", None), "send failed") from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the WebSocket (idempotent; a connection already gone is fine)."""
        async with self._send_lock:
            if self.closed:
                return
            self.closed = True
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await self.websocket.close(code, reason)

    def parsed(self, text: str) -> Frame | None:
        """The parsed frame for ``text`` if it is the frame :meth:`recv` returned last."""
        if self.last_frame is not None and self.last_frame[0] is text:
            return self.last_frame[1]
        return None

    async def _receive(self) -> dict[str, Any]:
        try:
            message = await self.websocket.receive()
        except (WebSocketDisconnect, RuntimeError) as exc:
            self.closed = True
            raise ConnectionClosed(getattr(exc, "code", None), "receive failed") from exc
        if message["type"] == "websocket.disconnect":
            self.closed = True
            raise ConnectionClosed(message.get("code"), message.get("reason") or "")
        return message

    async def _answer(self, problem: FrameProblem) -> None:
        self.log.warning("ocpp.bad_frame", problem=problem.description)
        if problem.reply is not None:
            await self.send(problem.reply)

    def _binary_error(self) -> str:
        return call_error_frame("-1", format_violation_code(self.version), "binary frame; OCPP-J uses text frames")

    def _log_frame(self, direction: str, text: str) -> None:
        if self.log_frames:
            FRAME_LOGGER.info(
                "%s station_id=%s frame=%s",
                direction,
                self.log.station_id,
                redact_frame(text),
                extra={"wattcap": {"station_id": self.log.station_id, "direction": direction}},
            )
