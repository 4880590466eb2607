"""The profile lifecycle's vocabulary: its settings, its results, and its refusal.

Shared by the service (:mod:`wattcap.server.profiles`) and its parts (:mod:`.profile_exchange`,
:mod:`.profile_verify`, :mod:`.profile_draw`), so none of them imports another for a type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from wattcap.core.lifecycle import Violation
from wattcap.core.model import CompositeSchedule
from wattcap.core.validation import Finding, Severity
from wattcap.core.verification import Difference, Verdict


@dataclass(frozen=True, slots=True)
class LifecycleSettings:
    """The lifecycle's knobs; the defaults are argued in ``docs/profile-lifecycle.md``."""

    #: Writes per (station, purpose) at most this often (flash wear, A21); the first after a pause goes at once.
    min_write_interval_s: float = 15.0
    #: Window of the composite read back after each change, and of the limits kept for the draw check.
    verify_duration_s: int = 3600
    limits_horizon_s: int = 86_400
    #: Composite comparison: limits within max(abs, rel × limit), boundaries within start_tolerance_s.
    verify_abs_a: float = 0.1
    verify_abs_w: float = 10.0
    verify_rel: float = 0.01
    verify_start_tolerance_s: int = 5
    #: Measured draw: time a charger and EV get to follow a lower limit, and the margin above it.
    reaction_s: float = 30.0
    draw_abs_a: float = 1.0
    draw_rel: float = 0.05
    #: RateLimitExceeded without a hint waits this long; a write is retried at most this often.
    rate_limit_retry_s: int = 60
    rate_limit_retries: int = 3
    #: Reconcile every connected station this often (None: only on boot and on demand).
    reconcile_interval_s: float | None = 900.0
    #: How long the ReportChargingProfiles messages of one GetChargingProfiles may take.
    report_timeout_s: float = 30.0


class ProfileRefused(ValueError):
    """Nothing was sent: the profile breaks rules (``findings``), or no id or stack level was free."""

    def __init__(self, message: str, findings: Sequence[Finding] = ()) -> None:
        details = "; ".join(str(f) for f in findings if f.severity is Severity.ERROR)
        super().__init__(f"{message}: {details}" if details else message)
        self.findings = tuple(findings)


@dataclass(frozen=True, slots=True)
class CompositeCheck:
    """One GetCompositeSchedule read back and compared: ``expected`` from the engine, ``reported`` as answered."""

    evse_id: int
    verdict: Verdict
    expected: CompositeSchedule | None
    reported: dict[str, Any] | None = None
    differences: tuple[Difference, ...] = ()
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """What became of one change: the verdict, the charger's reason, and the composites compared."""

    station_id: str
    action: str
    profile_id: int | None
    evse_id: int | None
    verdict: Verdict
    reason: str | None = None
    checks: tuple[CompositeCheck, ...] = ()
    findings: tuple[Finding, ...] = ()  # warnings that did not stop the send

    @property
    def differences(self) -> tuple[Difference, ...]:
        return tuple(d for c in self.checks for d in c.differences)


# How verdicts of several EVSEs combine: the first of these that occurs is the overall verdict.
_VERDICT_ORDER = (Verdict.MISMATCH, Verdict.REJECTED, Verdict.NO_ANSWER, Verdict.UNSUPPORTED, Verdict.APPLIED)


def combined(verdicts: Sequence[Verdict]) -> Verdict:
    """The verdict of a change that shapes several EVSEs: the worst news wins (a mismatch above all)."""
    return next((v for v in _VERDICT_ORDER if v in verdicts), Verdict.APPLIED)


@dataclass(frozen=True, slots=True)
class DrawViolation:
    """A charger drew more than it may (:func:`wattcap.core.lifecycle.find_violations`), as the lifecycle tells
    its listeners."""

    station_id: str
    evse_id: int
    violation: Violation


#: What the lifecycle tells its listeners (the live stream, the metrics): every change sent or verified, and
#: every violation of the measured draw.
LifecycleNews = ChangeResult | DrawViolation
LifecycleListener = Callable[[LifecycleNews], None]
