"""What the 1.6 and 2.0.1 server-side charge points share, on top of ``ocpp.ChargePoint``.

The package routes each incoming CALL to an ``@on`` handler, validates both ways and sends the answer. This
mixin adds what the server needs around that:

* handlers read the *wire* payload of the call being handled (:meth:`StationChargePoint.payload`), so the
  pure adapters in :mod:`wattcap.ocpp` are written against OCPP JSON, not the package's snake_case rewrite;
* an action without a handler is answered per OCPP-J §4.2.3 — ``NotImplemented`` ("Requested Action is not
  known by receiver") for an action the version does not define, ``NotSupported`` ("recognized but not
  supported") for one it defines but wattcap does not handle (the package has these two the other way round);
* any failure while handling one message becomes a CALLERROR for that message and never ends the
  connection;
* only answers to calls the registry announced reach the package (it would queue unsolicited ones forever),
  and they are noted so the registry can tell a station's CALLERROR from our own invalid request;
* follow-up work (calls to the station after a BootNotification) runs in tracked tasks *after* the answer
  was sent — awaiting a call inside a handler would deadlock, since the package handles one message at a
  time;
* what a handler does for a message both versions word alike (BootNotification, Heartbeat, the status reports
  wattcap only logs, …) is written once here. The version classes keep their ``@on`` routing, and each such
  handler is one line naming the version's adapter and answer type — the only things that differ;
* the hottest calls (:attr:`StationChargePoint.fast_actions`: MeterValues, Heartbeat, StatusNotification and the
  transaction messages) take a shorter way through the same steps (:meth:`StationChargePoint._route_fast`).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from ocpp.charge_point import remove_nones, serialize_as_dict
from ocpp.exceptions import OCPPError
from ocpp.messages import Call

from wattcap.core.model import OcppVersion
from wattcap.core.timeutil import format_timestamp
from wattcap.ocpp import key_case, message_schemas
from wattcap.ocpp.messages_common import Converted, Payload, heartbeat
from wattcap.ocpp.rpc import CALL, CALL_ERROR, Frame, FrameProblem, call_error_frame, parse_frame
from wattcap.server.backend import Registration, StationBackend
from wattcap.server.connection import ConnectionClosed, WebSocketConnection
from wattcap.server.logs import PACKAGE_LOGGER
from wattcap.server.settings import Settings

NOT_IMPLEMENTED = ("NotImplemented", "Requested Action is not known by receiver")
NOT_SUPPORTED = ("NotSupported", "Requested Action is recognized but not supported by the receiver")
#: Close code and reason for a pending connection whose station an operator has approved since it connected.
APPROVED_RECONNECT = (1000, "station approved: reconnect with credentials")


@dataclass(frozen=True, slots=True)
class InboundCall:
    message_id: str
    action: str
    payload: dict[str, Any]


_current_call: contextvars.ContextVar[InboundCall] = contextvars.ContextVar("wattcap_inbound_call")

#: A version's answer to a call (an ``ocpp.v16`` / ``ocpp.v201`` ``call_result`` dataclass).
Result = TypeVar("Result")
#: A pure message adapter of :mod:`wattcap.ocpp` (``messages_v16.status_notification``, …).
Adapter = Callable[[str, Payload, datetime], Converted]


@dataclass(frozen=True, slots=True)
class Answer:
    """How a station answered one of our calls: ``error_code`` is None for a CALLRESULT."""

    error_code: str | None = None
    description: str = ""
    details: Any = None


@dataclass(slots=True)
class StationMemory:
    """What the server remembers about a station across its connections (within this process)."""

    #: transaction id -> EVSE, learned when the transaction started (1.6 StopTransaction and later 2.0.1
    #: TransactionEvents do not name the EVSE). A cache only: the backend answers for transactions started
    #: before this process (:meth:`StationChargePoint.evse_of_transaction`).
    transaction_evse: dict[str, int]


def utc_now() -> datetime:
    return datetime.now(UTC)


class StationChargePoint:
    """Mixin for ``ocpp.v16.ChargePoint`` / ``ocpp.v201.ChargePoint`` subclasses serving one station."""

    version: ClassVar[OcppVersion]
    #: Every action name the version defines (to tell NotImplemented from NotSupported).
    known_actions: ClassVar[frozenset[str]]
    #: CALLs routed by :meth:`_route_fast` (their ``@on`` handlers read :meth:`payload` and take only ``**_``,
    #: and they have no ``@after`` hook); every other CALL goes through the package's routing.
    fast_actions: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        station_id: str,
        connection: WebSocketConnection,
        *,
        backend: StationBackend,
        settings: Settings,
        memory: StationMemory,
        pending: bool = False,
        on_booted: Callable[[str], Awaitable[None]] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        # Every message both ways is validated against the package's schemas, by jsonschema-rs (same verdicts,
        # about 100 times faster, date-times checked too: wattcap.ocpp.message_schemas).
        message_schemas.install()
        key_case.install()  # the package's snake_case rewriting of payloads, each key converted once
        super().__init__(station_id, connection, response_timeout=settings.call_timeout_s, logger=PACKAGE_LOGGER)
        self.connection = connection
        self.backend = backend
        self.settings = settings
        self.memory = memory
        self.pending = pending
        self.clock = clock
        self.log = connection.log
        self._on_booted = on_booted
        self._awaited: dict[str, Answer | None] = {}
        self._tasks: set[asyncio.Task] = set()
        self._reconnect_after_boot = False

    # -- inbound ---------------------------------------------------------------------------------------

    async def route_message(self, raw_msg: str) -> None:
        frame = self.connection.parsed(raw_msg)
        if frame is None:  # not from our recv(): parse here
            parsed = parse_frame(raw_msg, self.version)
            if isinstance(parsed, FrameProblem):
                if parsed.reply is not None:
                    await self._send(parsed.reply)
                return
            frame = parsed
        if frame.message_type != CALL:
            if frame.message_id not in self._awaited:
                # The package would queue it forever (its queue is drained only by a waiting call): a station
                # sending unsolicited answers could grow memory without bound.
                self.log.warning("ocpp.answer.unexpected", message_id=frame.message_id)
                return
            self._note_answer(frame)
            await super().route_message(raw_msg)
            return
        action = frame.action or ""
        if action not in self.route_map:
            code, description = NOT_SUPPORTED if action in self.known_actions else NOT_IMPLEMENTED
            self.log.warning("ocpp.call.unrouted", message_id=frame.message_id, action=action, error=code)
            await self._send(call_error_frame(frame.message_id, code, description, {"action": action}))
            return
        token = _current_call.set(InboundCall(frame.message_id, action, frame.payload))
        try:
            self.log.debug("ocpp.call.received", message_id=frame.message_id, action=action)
            if action in self.fast_actions and self._fast_route_applies(action):
                await self._route_fast(frame, raw_msg)
            else:
                await super().route_message(raw_msg)
        except ConnectionClosed:
            raise
        except Exception:
            # The package turns handler and validation errors into CALLERRORs itself; what reaches here
            # failed around them (e.g. sending). Answer if we still can and keep the connection.
            self.log.exception("ocpp.call.failed", message_id=frame.message_id, action=action)
            await self._send(call_error_frame(frame.message_id, "InternalError", "internal error", {}))
        finally:
            _current_call.reset(token)

    def _fast_route_applies(self, action: str) -> bool:
        """Whether the handlers of ``action`` are as :meth:`_route_fast` needs (no ``@after`` hook, validated)."""
        handlers = self.route_map[action]
        return "_after_action" not in handlers and not handlers.get("_skip_schema_validation", False)

    async def _route_fast(self, frame: Frame, raw_msg: str) -> None:
        """Route one of the :attr:`fast_actions` CALLs: the package's steps, without its per-message overhead.

        The package's ``route_message`` parses the frame a second time (:meth:`WebSocketConnection.recv` already
        did), rewrites the payload's keys to snake_case for keyword arguments these handlers ignore, and looks up
        each handler's signature (``inspect.signature``) on every message: together about 45 % of the CPU a
        MeterValues cost on the protocol path, measured in-process (``docs/benchmarks.md``, "Load"). This method
        does what the package's ``_handle_call`` does for such a call, in the same order and with the package's own
        pieces:

        1. the payload is validated with the compiled schema (:func:`wattcap.ocpp.message_schemas.valid`); one
           that is not valid — or that only the package may judge — is handed to the package's routing
           unchanged, so the CALLERROR (code, description, details) is the package's, as before;
        2. the ``@on`` handler runs (without the snake_case keywords: these handlers take only ``**_`` and read
           the wire payload); if it raises, the answer is the package's CALLERROR for that exception;
        3. the answer is the package's conversion of the result dataclass (``serialize_as_dict``,
           ``remove_nones``, snake_to_camel) in the package's ``CallResult`` frame, validated like every answer
           (an invalid one becomes the package's CALLERROR instead).

        Everything else — the ``ocpp`` package's routing for every other message, our calls and their answers —
        is unchanged; keeping the package there keeps its protocol handling, which is most of what it is for.
        """
        call = Call(frame.message_id, frame.action, frame.payload)
        if not message_schemas.valid(call, self._ocpp_version):
            await super().route_message(raw_msg)  # the package's verdict and CALLERROR
            return
        try:
            result = await self.route_map[call.action]["_on_action"]()
        except Exception as error:  # as the package: logged, answered with its CALLERROR for the exception
            self.logger.exception("Error while handling request '%s'", call)
            await self._send(call.create_call_error(error).to_json())
            return
        response = call.create_call_result(key_case.snake_to_camel_case(remove_nones(serialize_as_dict(result))))
        try:
            message_schemas.check(response, self._ocpp_version)
        except OCPPError as error:  # an invalid answer of ours: the package's CALLERROR instead
            self.logger.exception("Error while handling request '%s'", call)
            await self._send(call.create_call_error(error).to_json())
            return
        await self._send(response.to_json())

    def _note_answer(self, frame: Frame) -> None:
        if frame.message_type == CALL_ERROR:
            details = frame.message[4] if len(frame.message) > 4 else None
            self._awaited[frame.message_id] = Answer(frame.message[2], frame.message[3], details)
        else:
            self._awaited[frame.message_id] = Answer()

    def payload(self) -> dict[str, Any]:
        """The wire payload (camelCase JSON) of the CALL being handled."""
        return _current_call.get().payload

    def message_id(self) -> str | None:
        call = _current_call.get(None)
        return None if call is None else call.message_id

    def now(self) -> datetime:
        return self.clock()

    async def evse_of_transaction(self, transaction_id: str) -> int | None:
        """The EVSE the transaction started on: remembered by this process, else as the backend recorded it."""
        evse = self.memory.transaction_evse.get(transaction_id)
        if evse is None:
            evse = await self.backend.transaction_evse(self.id, transaction_id)
        return evse

    async def boot_status(self) -> str:
        """``Accepted``, or ``Pending`` on a connection that was admitted as pending.

        A pending connection is never promoted: it was let in without authenticating. If an operator has
        approved the station meanwhile, the connection is closed right after this answer, so the station
        reconnects, authenticates, and is answered Accepted then.
        """
        if not self.pending:
            return "Accepted"
        self._reconnect_after_boot = await self.backend.registration(self.id) is Registration.ACCEPTED
        return "Pending"

    async def record(self, converted: Converted) -> None:
        """Log the adapter's warnings and hand its events to the backend, in order."""
        for warning in converted.warnings:
            self.log.warning("ocpp.payload.warning", message_id=self.message_id(), warning=warning)
        for event in converted.events:
            await self.backend.record(event)

    # -- handler bodies both versions share -------------------------------------------------------------

    async def answer_boot(self, adapter: Adapter, result: Callable[..., Result]) -> Result:
        """BootNotification: record the boot; answer the time, the heartbeat interval and Accepted / Pending."""
        await self.record(adapter(self.id, self.payload(), self.now()))
        return result(
            current_time=format_timestamp(self.now()),
            interval=self.settings.heartbeat_interval_s,
            status=await self.boot_status(),
        )

    async def answer_heartbeat(self, result: Callable[..., Result]) -> Result:
        await self.record(heartbeat(self.id, self.now()))
        return result(current_time=format_timestamp(self.now()))

    async def answer_recorded(self, adapter: Adapter, result: Result) -> Result:
        """Record what ``adapter`` reads from the call being handled; the answer does not depend on it."""
        await self.record(adapter(self.id, self.payload(), self.now()))
        return result

    def answer_logged(self, event: str, result: Result) -> Result:
        """A progress report wattcap does not act on (firmware, diagnostics, log upload): logged, not recorded."""
        self.log.info(event, message_id=self.message_id(), status=self.payload().get("status"))
        return result

    def answer_data_transfer(self, result: Callable[..., Result]) -> Result:
        """DataTransfer: wattcap implements no vendor extension, so every vendor is unknown to it."""
        self.log.info("ocpp.data_transfer", message_id=self.message_id(), vendor_id=self.payload().get("vendorId"))
        return result(status="UnknownVendorId")

    async def authorized(self, token: str) -> dict[str, str]:
        """The IdTagInfo (1.6) / IdTokenInfo (2.0.1) for ``token``: both versions answer Accepted or Invalid."""
        accepted = await self.backend.authorize(self.id, token)
        return {"status": "Accepted" if accepted else "Invalid"}

    # -- outbound support (used by the registry) --------------------------------------------------------

    def expect_answer(self, message_id: str) -> None:
        """Announce a call about to be sent: only answers to announced ids reach the package (see the
        registry, which is the way to call a station)."""
        self._awaited[message_id] = None

    def take_answer(self, message_id: str) -> Answer | None:
        return self._awaited.pop(message_id, None)

    # -- follow-up tasks --------------------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task:
        """Run ``coro`` beside the message loop; failures are logged, and it is cancelled on disconnect."""
        task = asyncio.create_task(coro, name=f"{self.id}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log.log(logging.ERROR, "ocpp.task.failed", task=task.get_name(), error=repr(task.exception()))

    def cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def booted(self) -> None:
        """Call from an ``@after(BootNotification)`` hook: tell the listeners, in a task of its own (or, for an
        approved station on a pending connection, close it so that it reconnects with credentials)."""
        if self._reconnect_after_boot:
            self.log.info("ocpp.connection.approved_reconnect")
            self.spawn(self.connection.close(*APPROVED_RECONNECT), "reconnect")
        elif self._on_booted is not None and not self.pending:
            self.spawn(self._on_booted(self.id), "booted")
