"""One lifecycle request to a station, logged as an operation before it is sent and with its answer after.

The log is the evidence of what a station was told and what it said (``Repository.start_operation`` /
``finish_operation``); logging before sending leaves a ``pending`` trace if wattcap stops in between. The answer
may be written together with what it leads to (:func:`exchange_unsettled`): one transaction instead of two. Every way
a request can end maps to one :class:`Exchange`: an answer to read, or a verdict it already decides (no answer,
a CALLERROR meaning unsupported or rejected).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wattcap.core.verification import Verdict
from wattcap.ocpp.lifecycle_messages import UNSUPPORTED_ERRORS, StatusAnswer, WireCall, read_status
from wattcap.server.profile_context import StationContext
from wattcap.server.stations import (
    CallRejected,
    CallTimeout,
    InvalidRequest,
    InvalidResponse,
    StationNotConnected,
    StationRegistry,
)
from wattcap.server.wire_calls import call_wire
from wattcap.store import OperationOutcome, Repository
from wattcap.store.batch import Job


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request's fate: the answer (None if there was none) or the verdict it already decides."""

    answer: StatusAnswer | None
    payload: dict[str, Any] | None
    verdict: Verdict | None = None
    reason: str | None = None

    def judged(self) -> tuple[Verdict | None, str | None]:
        """None when the charger accepted; else the verdict and the charger's reason."""
        if self.verdict is not None:
            return self.verdict, self.reason
        assert self.answer is not None
        if self.answer.accepted:
            return None, None
        if self.answer.unsupported:
            return Verdict.UNSUPPORTED, self.answer.reason()
        return Verdict.REJECTED, self.answer.reason()

    def status_in(self, *statuses: str) -> bool:
        return self.answer is not None and self.answer.status in statuses


async def exchange(
    registry: StationRegistry,
    repository: Repository,
    clock: Callable[[], datetime],
    ctx: StationContext,
    call: WireCall,
    *,
    evse_id: int | None = None,
    profile_id: int | None = None,
) -> Exchange:
    """Send ``call`` to ``ctx``'s station with the operation logged around it."""
    reply, finish = await exchange_unsettled(
        registry, repository, clock, ctx, call, evse_id=evse_id, profile_id=profile_id
    )
    await repository.write_together(finish)
    return reply


async def exchange_unsettled(
    registry: StationRegistry,
    repository: Repository,
    clock: Callable[[], datetime],
    ctx: StationContext,
    call: WireCall,
    *,
    evse_id: int | None = None,
    profile_id: int | None = None,
) -> tuple[Exchange, Job]:
    """Like :func:`exchange`, but the answer is not written yet: the caller writes the returned job together with
    what the answer makes it write (the profile's new status, the verification), in one transaction. The
    operation itself is logged before sending, as always."""
    operation = await repository.start_operation(
        ctx.station_id, call.action, call.payload, evse_id=evse_id, profile_id=profile_id,
        ocpp_version=ctx.version.value, sent_at=clock(),
    )

    def finish(outcome: OperationOutcome, status: str | None, reason: str | None) -> Job:
        return repository.finish_operation_job(
            operation, outcome, response_status=status, reason=reason, answered_at=clock()
        )

    try:
        payload = await call_wire(registry, ctx.station_id, call)
    except (CallTimeout, StationNotConnected) as exc:
        return Exchange(None, None, Verdict.NO_ANSWER, str(exc)), finish(OperationOutcome.TIMEOUT, None, str(exc))
    except CallRejected as exc:
        verdict = Verdict.UNSUPPORTED if exc.error_code in UNSUPPORTED_ERRORS else Verdict.REJECTED
        reply = Exchange(None, None, verdict, f"CALLERROR {exc.error_code}: {exc.description}".rstrip(": "))
        return reply, finish(OperationOutcome.ERROR, exc.error_code, exc.description)
    except (InvalidRequest, InvalidResponse) as exc:
        return Exchange(None, None, Verdict.REJECTED, str(exc)), finish(OperationOutcome.ERROR, None, str(exc))
    answer = read_status(payload)
    detail = ": ".join(p for p in (answer.reason_code, answer.additional_info) if p) or None
    outcome = OperationOutcome.ACCEPTED if answer.accepted else OperationOutcome.REJECTED
    return Exchange(answer, payload), finish(outcome, answer.status, detail)
