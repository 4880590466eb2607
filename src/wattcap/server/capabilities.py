"""Reading a station's smart-charging capabilities on boot (and on demand), and storing them.

1.6: GetConfiguration of the smart-charging keys. 2.0.1: GetVariables of SmartChargingCtrlr, then GetBaseReport
(FullInventory) for the EVSE device model, whose NotifyReport messages arrive on their own and are gathered
through the :class:`~wattcap.server.event_hub.EventHub`. The adapter :mod:`wattcap.ocpp.capabilities` writes the
requests and reads the answers; the document is stored with :meth:`Repository.put_capabilities` and read back by
validation.

A request that times out is retried with exponential back-off. A station that never answers is recorded as
``never_answered`` (keeping whatever an earlier read learned) and in the audit log; a station that answers with a
CALLERROR or leaves out required keys is ``partial``, and so is one whose device report does not come whole
(every part, seqNo 0 to the last, whatever their order; the document says ``reportComplete``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wattcap.core.events import DeviceReportReceived
from wattcap.core.model import OcppVersion
from wattcap.ocpp import capabilities as caps
from wattcap.ocpp.lifecycle_messages import WireCall
from wattcap.server.charge_point import utc_now
from wattcap.server.event_hub import EventHub
from wattcap.server.stations import CallRejected, CallTimeout, StationNotConnected, StationRegistry
from wattcap.server.wire_calls import call_wire
from wattcap.store import Capabilities, CapabilityStatus, Repository

log = logging.getLogger("wattcap.server.capabilities")
ACTOR = "wattcap:capabilities"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``attempts`` tries per request, waiting ``backoff_s``, then twice that, … (at most ``max_backoff_s``)."""

    attempts: int = 3
    backoff_s: float = 2.0
    max_backoff_s: float = 60.0
    report_timeout_s: float = 30.0  # how long the NotifyReport messages of a GetBaseReport may take

    def delay(self, attempt: int) -> float:
        return min(self.backoff_s * 2**attempt, self.max_backoff_s)


@dataclass(frozen=True, slots=True)
class _Read:
    document: dict[str, Any]
    complete: bool


class CapabilityReader:
    def __init__(
        self,
        registry: StationRegistry,
        repository: Repository,
        hub: EventHub,
        clock: Callable[[], datetime] = utc_now,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.registry = registry
        self.repository = repository
        self.hub = hub
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self._request_ids = itertools.count(1)
        self._readers: Mapping[OcppVersion, Callable[[str], Awaitable[_Read]]] = {
            OcppVersion.V16: self._read_v16,
            OcppVersion.V201: self._read_v201,
        }

    async def read(self, station_id: str) -> Capabilities:
        """Ask the station, store what it said, and return the stored record."""
        version = self.registry.version(station_id)
        try:
            found = await self._readers[version](station_id)
        except (CallTimeout, StationNotConnected) as exc:
            return await self._never_answered(station_id, version, str(exc))
        except CallRejected as exc:
            document = {"ocppVersion": version.value, "error": str(exc)}
            return await self._store(station_id, document, CapabilityStatus.PARTIAL, f"answered {exc.error_code}")
        facts = caps.station_facts(found.document)
        status = CapabilityStatus.ANSWERED if found.complete and not facts.missing else CapabilityStatus.PARTIAL
        return await self._store(station_id, found.document, status, None)

    async def _store(
        self, station_id: str, document: dict[str, Any], status: CapabilityStatus, reason: str | None
    ) -> Capabilities:
        record = await self.repository.put_capabilities(station_id, document, status, read_at=self.clock())
        await self.repository.append_audit(
            ACTOR, "capabilities.read", target=station_id, reason=reason or status.value,
            after=document.get("summary"),
        )
        return record

    async def _never_answered(self, station_id: str, version: OcppVersion, reason: str) -> Capabilities:
        log.warning("station %s never answered the capability read: %s", station_id, reason)
        previous = await self.repository.get_capabilities(station_id)
        document = {**(previous.document if previous else {"ocppVersion": version.value}), "error": reason}
        record = await self.repository.put_capabilities(station_id, document, CapabilityStatus.NEVER_ANSWERED)
        await self.repository.append_audit(ACTOR, "capabilities.never_answered", target=station_id, reason=reason)
        return record

    async def _call(self, station_id: str, call: WireCall) -> dict[str, Any]:
        """``call`` with retries on timeout; other failures are not retried."""
        for attempt in range(self.retry.attempts):
            try:
                return await call_wire(self.registry, station_id, call)
            except CallTimeout:
                if attempt + 1 == self.retry.attempts:
                    raise
                delay = self.retry.delay(attempt)
                log.info("station %s: %s timed out; retry %d in %g s", station_id, call.action, attempt + 1, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # attempts >= 1

    async def _read_v16(self, station_id: str) -> _Read:
        answer = await self._call(station_id, WireCall("GetConfiguration", caps.configuration_request()))
        return _Read(caps.document_v16(answer), complete=True)

    async def _read_v201(self, station_id: str) -> _Read:
        answer = await self._call(station_id, WireCall("GetVariables", caps.variables_request()))
        report, complete = await self._device_report(station_id)
        document = caps.document_v201(answer.get("getVariableResult") or [], report)
        # Validation reads the station's EVSEs from the report: one with parts missing does not list them all.
        document["reportComplete"] = complete
        return _Read(document, complete)

    async def _device_report(self, station_id: str) -> tuple[list[dict[str, Any]], bool]:
        """The reportData of a FullInventory report, and whether it came whole. A report that does not come whole
        is asked for again (as a request that times out is): a station may have lost it, e.g. one asked right
        after its boot was accepted. If none comes whole, the fullest one is returned."""
        fullest: list[dict[str, Any]] = []
        for attempt in range(self.retry.attempts):
            if attempt:
                delay = self.retry.delay(attempt - 1)
                log.info("station %s: device report incomplete; asking again in %g s", station_id, delay)
                await asyncio.sleep(delay)
            found = await self._one_device_report(station_id)
            if found is None:
                return fullest, False
            report, complete = found
            if complete:
                return report, True
            if len(report) >= len(fullest):
                fullest = report
        log.warning("station %s: the device report did not complete", station_id)
        return fullest, False

    async def _one_device_report(self, station_id: str) -> tuple[list[dict[str, Any]], bool] | None:
        """One GetBaseReport and the parts that came within the report timeout; None if the station has none."""
        request_id = next(self._request_ids)
        parts = _ReportParts()
        collector = self.hub.collector(
            DeviceReportReceived, station_id, where=lambda e: e.request_id == request_id, last=parts.add
        )
        try:
            try:
                answer = await self._call(station_id, WireCall("GetBaseReport", caps.base_report_request(request_id)))
            except CallRejected as exc:
                log.info("station %s has no device report: %s", station_id, exc)
                return None
            if answer.get("status") != "Accepted":
                return None
            try:
                await collector.wait(self.retry.report_timeout_s)
            except TimeoutError:
                return parts.report(), False
        finally:
            self.hub.release(collector)
        return parts.report(), True


class _ReportParts:
    """The NotifyReport parts of one report as they arrive. Whole once the last one (tbc false) and every seqNo
    before it came, in whatever order: the last part alone does not say that the others arrived."""

    def __init__(self) -> None:
        self._parts: dict[int, DeviceReportReceived] = {}
        self._last: int | None = None

    def add(self, event: DeviceReportReceived) -> bool:
        """Keep ``event``; True once the report is whole."""
        self._parts.setdefault(event.seq_no, event)  # a part sent twice counts once
        if not event.more_to_come:
            self._last = event.seq_no
        return self._last is not None and all(seq in self._parts for seq in range(self._last + 1))

    def report(self) -> list[dict[str, Any]]:
        """The reportData of the parts that came, in seqNo order."""
        return [dict(r) for seq in sorted(self._parts) for r in self._parts[seq].report_data]
