"""One lifecycle request to a station, logged as an operation before it is sent and with its answer after.

The log is the evidence of what a station was told and what it said (``Repository.start_operation`` /
``finish_operation``); logging before sending leaves a ``pending`` trace if wattcap stops in between. Every way
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
    operation = await repository.start_operation(
        ctx.station_id, call.action, call.payload, evse_id=evse_id, profile_id=profile_id,
        ocpp_version=ctx.version.value, sent_at=clock(),
    )

    async def finish(outcome: OperationOutcome, status: str | None, reason: str | None) -> None:
        await repository.finish_operation(
            operation, outcome, response_status=status, reason=reason, answered_at=clock()
        )

    try:
        payload = await call_wire(registry, ctx.station_id, call)
    except (CallTimeout, StationNotConnected) as exc:
        await finish(OperationOutcome.TIMEOUT, None, str(exc))
        return Exchange(None, None, Verdict.NO_ANSWER, str(exc))
    except CallRejected as exc:
        await finish(OperationOutcome.ERROR, exc.error_code, exc.description)
        verdict = Verdict.UNSUPPORTED if exc.error_code in UNSUPPORTED_ERRORS else Verdict.REJECTED
        return Exchange(None, None, verdict, f"CALLERROR {exc.error_code}: {exc.description}".rstrip(": "))
    except (InvalidRequest, InvalidResponse) as exc:
        await finish(OperationOutcome.ERROR, None, str(exc))
        return Exchange(None, None, Verdict.REJECTED, str(exc))
    answer = read_status(payload)
    detail = ": ".join(p for p in (answer.reason_code, answer.additional_info) if p) or None
    await finish(OperationOutcome.ACCEPTED if answer.accepted else OperationOutcome.REJECTED, answer.status, detail)
    return Exchange(answer, payload)
