"""What the runner observed, and what the judge made of it: plain values, shared by the runner, the judge and the
report writers.

Evidence (the judge's input) is what the control plane recorded: each action's outcome (the lifecycle's
:class:`~wattcap.server.lifecycle_types.ChangeResult` with its composite read-backs, or the refusal), a snapshot
of what the charger should hold after each step (for the engine's expected composites), and the meter values.
Results (the judge's output) carry the verdicts with their reasons and the evidence in reportable form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wattcap.acceptance.checks import AcceptanceTest, CheckVerdict
from wattcap.acceptance.plan import Action, CapStep, StationFacts, Step
from wattcap.core.events import MeterSample
from wattcap.core.model import ChargingRateUnit, InstalledProfile, Transaction
from wattcap.core.station import StationConfig
from wattcap.server.lifecycle_types import ChangeResult, CompositeCheck

# ---- evidence ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the control plane says the charger should hold at ``at`` (the lifecycle's context)."""

    at: datetime
    config: StationConfig
    installed: tuple[InstalledProfile, ...]
    transactions: tuple[Transaction, ...]


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """One action as it went: the lifecycle's result (a change with its read-backs), a composite read, or a
    refusal before anything was sent (``refused``: the validator's or the allocator's reason)."""

    action: Action
    started: datetime
    finished: datetime
    result: ChangeResult | None = None
    read: CompositeCheck | None = None
    refused: str | None = None
    profile_id: int | None = None
    note: str | None = None  # e.g. "not set: nothing to clear"
    answered: datetime | None = None  # when the charger answered the change (before any read-back)

    @property
    def charger_refused(self) -> bool:
        """The charger refused the change itself (its composite read-backs exist only when it accepted)."""
        from wattcap.core.verification import Verdict

        return self.result is not None and not self.result.checks and self.result.verdict in (
            Verdict.REJECTED, Verdict.UNSUPPORTED,
        )


@dataclass(frozen=True, slots=True)
class StepRecord:
    step: Step
    started: datetime
    settled: datetime  # when the charger answered its last change (the reaction allowance counts from here)
    outcomes: tuple[ActionOutcome, ...] = ()
    snapshot: Snapshot | None = None  # after the step's actions
    ended: datetime | None = None
    offline: tuple[datetime, datetime] | None = None  # the link cut: from, to (reconnected)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckEvidence:
    check: AcceptanceTest
    facts: StationFacts
    steps: tuple[StepRecord, ...]
    samples: Mapping[int, tuple[MeterSample, ...]] = field(default_factory=dict)
    started: datetime | None = None
    ended: datetime | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CapStepRecord:
    """One site cap as it went: each station's share (None: the cap control does not say) and refusal."""

    step: CapStep
    started: datetime
    settled: datetime
    shares: Mapping[str, float] | None
    refused: Mapping[str, str] = field(default_factory=dict)
    results: Mapping[str, ChangeResult] = field(default_factory=dict)
    ended: datetime | None = None
    answered: Mapping[str, datetime] = field(default_factory=dict)  # when each charger answered the change


@dataclass(frozen=True, slots=True)
class SiteCapEvidence:
    stations: Mapping[str, StationFacts]
    baseline: datetime  # the settling started here: draws before the first cap
    steps: tuple[CapStepRecord, ...]
    samples: Mapping[str, Mapping[int, tuple[MeterSample, ...]]]
    ended: datetime | None = None
    notes: tuple[str, ...] = ()


# ---- results -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding:
    verdict: CheckVerdict
    text: str
    step: str | None = None

    def describe(self) -> str:
        return f"{self.step}: {self.text}" if self.step else self.text


@dataclass(frozen=True, slots=True)
class LimitSegment:
    """From ``start`` to ``end`` the limit is ``limit`` (None: no OCPP limit) with ``phases``."""

    start: datetime
    end: datetime
    limit: float | None
    phases: int | None = None


@dataclass(frozen=True, slots=True)
class Series:
    """One plotted line: what an EVSE (0: the station) drew, and what it was allowed, in ``unit``."""

    evse_id: int
    unit: ChargingRateUnit
    measured: tuple[tuple[datetime, float], ...]
    allowed: tuple[LimitSegment, ...] = ()
    label: str = ""


@dataclass(frozen=True, slots=True)
class CompositeReport:
    """A composite read back: the engine's expectation and the charger's answer (wire JSON), with the verdict."""

    evse_id: int
    unit: str
    verdict: str
    expected: dict[str, Any] | None
    reported: dict[str, Any] | None
    differences: tuple[str, ...] = ()
    quirks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StepReport:
    name: str
    sends: str
    expect: str
    started: datetime
    outcome: str
    operations: tuple[str, ...] = ()
    composites: tuple[CompositeReport, ...] = ()
    edges: tuple[datetime, ...] = ()
    offline: tuple[datetime, datetime] | None = None  # the link was cut from, to


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: AcceptanceTest
    station_id: str
    verdict: CheckVerdict
    reason: str
    findings: tuple[Finding, ...] = ()
    steps: tuple[StepReport, ...] = ()
    series: tuple[Series, ...] = ()
    quirks: tuple[str, ...] = ()
    observed_dialect: str | None = None
    started: datetime | None = None
    ended: datetime | None = None


@dataclass(frozen=True, slots=True)
class StationSummary:
    """A row of the variance matrix: who the station is, what it was configured as, what it was seen to be."""

    station_id: str
    ocpp_version: str
    vendor: str | None
    model: str | None
    firmware: str | None
    configured_dialect: str
    observed_dialect: str | None
    quirks: tuple[str, ...]
    verdicts: Mapping[AcceptanceTest, CheckVerdict]


@dataclass(frozen=True, slots=True)
class AcceptanceReport:
    """Everything one run produced."""

    started: datetime
    ended: datetime
    checks: tuple[AcceptanceTest, ...]
    stations: tuple[StationSummary, ...]
    results: tuple[CheckResult, ...]
    site: CheckResult | None = None  # the site cap judged on the aggregate of every station
    settings: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    restored: tuple[str, ...] = ()  # what the restore did (or could not do)

    def result(self, station_id: str, check: AcceptanceTest) -> CheckResult | None:
        return next((r for r in self.results if r.station_id == station_id and r.check is check), None)

    @property
    def passed(self) -> bool:
        return all(r.verdict is CheckVerdict.PASS for r in self.results)
