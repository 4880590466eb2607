"""The profile lifecycle's decisions, free of I/O: who owns which ids and stack levels (:mod:`.bands`), what a sent
profile looks like (:mod:`.prepare`), how to repair drift (:mod:`.reconcile`), when to write (:mod:`.coalesce`),
and whether a charger draws more than it may (:mod:`.violations`).

The shell (``wattcap.server.profiles``) asks these questions and does the talking; every answer here is a plain
function of its arguments, so each rule is tested on its own.
"""

from wattcap.core.lifecycle.bands import (
    DEFAULT_BANDS,
    Allocation,
    AllocationError,
    BandTable,
    PurposeBand,
    allocate,
)
from wattcap.core.lifecycle.coalesce import (
    RATE_LIMIT_EXCEEDED,
    PendingWrite,
    WriteKey,
    WritePlan,
    plan_writes,
    retry_after_s,
)
from wattcap.core.lifecycle.prepare import prepare_profile, with_wire_limits
from wattcap.core.lifecycle.reconcile import (
    Action,
    ActionKind,
    Desired,
    DesiredStatus,
    plan_reconcile,
    same_profile,
)
from wattcap.core.lifecycle.violations import DrawTolerance, LimitStep, Violation, find_violations, limit_steps

__all__ = [
    "DEFAULT_BANDS",
    "RATE_LIMIT_EXCEEDED",
    "Action",
    "ActionKind",
    "Allocation",
    "AllocationError",
    "BandTable",
    "Desired",
    "DesiredStatus",
    "DrawTolerance",
    "LimitStep",
    "PendingWrite",
    "PurposeBand",
    "Violation",
    "WriteKey",
    "WritePlan",
    "allocate",
    "find_violations",
    "limit_steps",
    "plan_reconcile",
    "plan_writes",
    "prepare_profile",
    "retry_after_s",
    "same_profile",
    "with_wire_limits",
]
