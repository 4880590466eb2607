"""Evidence to verdict: pure functions, one rule each (their tests are named after the requirements they check).

A check fails (``fail``) on the first piece of evidence that contradicts the specification as the station's
dialect reads it: a composite read back that differs from the engine's (:func:`wattcap.core.verification`), a
meter value above the limit in force once the reaction allowance has passed (:func:`find_violations`), a phase in
use during a one-phase period, an aggregate above the site cap. It is ``unsupported`` when the charger (or what
it reported about itself) refused something the check needs, and ``inconclusive`` when nothing decides it: no
session, no meter values, a limit the EVs never wanted to exceed, a step whose intent the engine does not expect
(masked by a profile someone else holds). :func:`worst` orders them.
"""

from __future__ import annotations

import bisect
import itertools
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from wattcap.acceptance.checks import AcceptanceTest, CheckVerdict, worst
from wattcap.acceptance.evidence import (
    ActionOutcome,
    CapStepRecord,
    CheckEvidence,
    CheckResult,
    CompositeReport,
    Finding,
    LimitSegment,
    Series,
    SiteCapEvidence,
    Snapshot,
    StepRecord,
    StepReport,
)
from wattcap.acceptance.plan import (
    AcceptanceSettings,
    ClearProfile,
    CutLink,
    Intent,
    ReadComposite,
    SetProfile,
    StationFacts,
    UpdateProfile,
)
from wattcap.core.composite import composite_schedule
from wattcap.core.dialects import DIALECTS
from wattcap.core.events import Measurand, MeterSample
from wattcap.core.lifecycle import DrawTolerance, Violation, find_violations, limit_steps
from wattcap.core.model import (
    ChargingProfilePurpose,
    ChargingRateUnit,
    CompositePeriod,
    CompositeSchedule,
    ProfileRef,
)
from wattcap.core.station import StationConfig
from wattcap.core.verification import ReportedComposite, Tolerance, Verdict, compare_composites
from wattcap.ocpp.composite_json import CompositeAnswerError, composite_to_json, reported_composite_from_json
from wattcap.server.lifecycle_types import CompositeCheck
from wattcap.server.profile_verify import unconstrained_at

PASS, FAIL = CheckVerdict.PASS, CheckVerdict.FAIL
UNSUPPORTED, INCONCLUSIVE = CheckVerdict.UNSUPPORTED, CheckVerdict.INCONCLUSIVE
A, W = ChargingRateUnit.A, ChargingRateUnit.W
PHASES = ("L1", "L2", "L3")
#: How long after the last step a check's expected composites reach (the judge only looks at what was sampled).
HORIZON_S = 86_400


# ---- expected composites -----------------------------------------------------------------------------------


def expected_composite(
    snapshot: Snapshot, evse_id: int, start: datetime, duration_s: int, unit: ChargingRateUnit | None = None,
    config: StationConfig | None = None,
) -> CompositeSchedule:
    """The engine's composite over what the charger should hold in ``snapshot`` (its dialect, its
    transactions), from ``start`` (K08: what the charger will do; R16-08, K08.FR.04)."""
    return composite_schedule(
        config or snapshot.config, snapshot.installed, evse_id=evse_id, start=start, duration=max(1, duration_s),
        unit=unit, transactions=snapshot.transactions,
    )


def held_station_max_a(snapshot: Snapshot, horizon_s: int = 86_400) -> float | None:
    """The highest station max (A per phase) the charger holds over the next ``horizon_s`` (None: no station max
    limits it somewhere in that time): what bounds the station before the suite installs anything."""
    maxima = tuple(i for i in snapshot.installed if i.profile.purpose is ChargingProfilePurpose.CHARGING_STATION_MAX)
    if not maxima:
        return None
    composite = composite_schedule(
        snapshot.config, maxima, evse_id=0, start=snapshot.at, duration=horizon_s, unit=A,
        transactions=snapshot.transactions,
    )
    if any(p.is_local_limit for p in composite.periods):
        return None
    return max(p.limit for p in composite.periods)


def _value_at(composite: CompositeSchedule, at: datetime) -> CompositePeriod:
    return composite.limit_at(max(0, int((at - composite.schedule_start).total_seconds())))


def step_timeline(
    steps: Sequence[StepRecord], evse_id: int, unit: ChargingRateUnit, until: datetime
) -> list[CompositeSchedule]:
    """What ``evse_id`` was allowed over the check: each step's expected composite from the step's start until
    the next step's (a later composite supersedes an earlier one, :func:`limit_steps`)."""
    out = []
    for record in steps:
        if record.snapshot is None:
            continue
        duration = int((until - record.started).total_seconds()) + 60
        out.append(expected_composite(record.snapshot, evse_id, record.started, min(HORIZON_S, duration), unit))
    return out


# ---- rules -------------------------------------------------------------------------------------------------


def intent_findings(record: StepRecord, tolerance_rel: float = 0.01) -> list[Finding]:
    """A step proves something only if the engine expects what the step intends (the intent shows): else the
    check is inconclusive, never passed by accident (a profile of another party masks the step's one)."""
    if record.snapshot is None or _refused(record):
        return []
    findings = []
    by_evse: dict[int, list[Intent]] = {}
    for intent in record.step.intents:
        by_evse.setdefault(intent.evse_id, []).append(intent)
    for evse_id, intents in by_evse.items():
        if evse_id and not record.snapshot.config.has_evse(evse_id):
            continue
        unit = intents[0].unit
        last = max(i.offset_s for i in intents)
        composite = expected_composite(record.snapshot, evse_id, record.started, int(last) + 60, unit)
        limited = [i.limit for i in intents if i.limit is not None]
        for intent in intents:
            period = _value_at(composite, record.started + timedelta(seconds=intent.offset_s))
            expected = None if period.is_local_limit else period.limit
            if intent.limit is None:
                ok = expected is None or (limited and expected > max(limited) * (1 + tolerance_rel))
            else:
                ok = expected is not None and abs(expected - intent.limit) <= max(0.1, tolerance_rel * intent.limit)
                if ok and intent.phases is not None:
                    ok = (period.number_phases or record.snapshot.config.default_number_phases) == intent.phases
            if not ok:
                want = "no limit of this step" if intent.limit is None else f"{intent.limit:g} {unit.value}"
                got = "no limit" if expected is None else f"{expected:g} {unit.value}"
                findings.append(Finding(
                    INCONCLUSIVE,
                    f"EVSE {evse_id} at +{intent.offset_s:g} s: the engine expects {got}, the step intends {want} "
                    f"(masked by {_governors(period)}): this step cannot show what it is meant to",
                    record.step.name,
                ))
    return findings


def _governors(period: CompositePeriod) -> str:
    refs = [f"profile {r.profile_id} ({r.purpose.value}, level {r.stack_level}, EVSE {r.evse_id})"
            for r in period.governed_by]
    return ", ".join(refs) or "nothing"


def _refused(record: StepRecord) -> bool:
    return any(o.refused or o.charger_refused for o in record.outcomes)


def outcome_findings(record: StepRecord) -> list[Finding]:
    """What the charger answered to each change (a refusal: the feature is unsupported; no answer: nothing to
    judge) and to each composite read back (a mismatch fails; a refused read is unsupported, A24)."""
    findings = []
    for outcome in record.outcomes:
        name = record.step.name
        if outcome.refused:
            findings.append(Finding(UNSUPPORTED, f"{_action_text(outcome)} not sent: {outcome.refused}", name))
            continue
        result = outcome.result
        if result is not None and not result.checks and result.verdict is not Verdict.APPLIED:
            if result.verdict in (Verdict.REJECTED, Verdict.UNSUPPORTED):
                verdict = UNSUPPORTED if not isinstance(outcome.action, ClearProfile) else FAIL
                findings.append(Finding(verdict, f"{_action_text(outcome)}: the charger refused it ({result.reason})",
                                        name))
            else:
                findings.append(Finding(INCONCLUSIVE, f"{_action_text(outcome)}: {result.verdict.value} "
                                        f"({result.reason})", name))
        if record.step.judge_composites:
            for check in _checks_of(outcome):
                findings.extend(composite_findings(check, name))
    return findings


def _checks_of(outcome: ActionOutcome) -> tuple[CompositeCheck, ...]:
    if outcome.read is not None:
        return (outcome.read,)
    return outcome.result.checks if outcome.result is not None else ()


def composite_findings(check: CompositeCheck, step: str | None) -> list[Finding]:
    """One composite read back, as the lifecycle judged it (expected vs reported, K08.FR.02, A9, A10, A24)."""
    if check.verdict is Verdict.MISMATCH:
        return [Finding(FAIL, f"EVSE {check.evse_id} composite differs from the expected one: {check.reason}", step)]
    if check.verdict in (Verdict.REJECTED, Verdict.UNSUPPORTED):
        return [Finding(UNSUPPORTED, f"EVSE {check.evse_id}: GetCompositeSchedule refused ({check.reason})", step)]
    if check.verdict is Verdict.NO_ANSWER:
        return [Finding(INCONCLUSIVE, f"EVSE {check.evse_id}: no composite ({check.reason})", step)]
    return []


def _action_text(outcome: ActionOutcome) -> str:
    action = outcome.action
    if isinstance(action, SetProfile | UpdateProfile):
        what = "update" if isinstance(action, UpdateProfile) else "set"
        return f"{action.profile.purpose.value} ({what} {action.key}) on EVSE {action.evse_id}"
    if isinstance(action, ClearProfile):
        return f"clear of {action.key}"
    if isinstance(action, ReadComposite):
        return f"composite of EVSE {action.evse_id}"
    return "link cut"


def draw_violations(
    timeline: Sequence[CompositeSchedule], samples: Sequence[MeterSample], *, reaction_s: float,
    tolerance: DrawTolerance,
) -> list[Violation]:
    """Meter values above the limit in force once ``reaction_s`` has passed after it dropped (K01.FR.07: the
    charger applies what it accepted; A17: accepted is not applied)."""
    return find_violations(timeline, samples, reaction_s=reaction_s, tolerance=tolerance)


@dataclass(frozen=True, slots=True)
class PhaseViolation:
    evse_id: int
    start: datetime
    end: datetime
    phases: int
    samples: int

    def describe(self) -> str:
        return (f"EVSE {self.evse_id} charged on {self.phases} phases during a numberPhases 1 period, "
                f"{self.start:%H:%M:%S} to {self.end:%H:%M:%S} ({self.samples} samples)")


def phase_violations(
    evse_id: int, timeline: Sequence[CompositeSchedule], samples: Sequence[MeterSample], *, reaction_s: float,
    off_a: float,
) -> list[PhaseViolation]:
    """numberPhases is the number of phases that can be used for charging (1.6 §7.13, 2.0.1
    ChargingSchedulePeriodType): once a one-phase period has been in force for the reaction allowance, at most one
    phase may carry current (a station that reports 3→1 switching, A18)."""
    steps = limit_steps(timeline)
    reaction = timedelta(seconds=reaction_s)
    out: list[PhaseViolation] = []
    run: list[tuple[datetime, int]] = []

    def close() -> None:
        if run:
            out.append(PhaseViolation(evse_id, run[0][0], run[-1][0], max(p for _, p in run), len(run)))
            run.clear()

    for at, group in _instants(samples):
        recent = [s for s in steps if s.start <= at and s.end > at - reaction]
        covered = recent and min(s.start for s in recent) <= at - reaction
        if not covered or any(s.limit is None or s.number_phases != 1 for s in recent):
            close()
            continue
        in_use = sum(1 for s in group if _is_phase_current(s) and s.value > off_a)
        if in_use > 1:
            run.append((at, in_use))
        else:
            close()
    close()
    return out


def _is_phase_current(sample: MeterSample) -> bool:
    return str(sample.measurand) == Measurand.CURRENT_IMPORT and sample.unit == "A" and sample.phase in PHASES


def _instants(samples: Iterable[MeterSample]) -> list[tuple[datetime, list[MeterSample]]]:
    grouped: dict[datetime, list[MeterSample]] = {}
    for sample in samples:
        grouped.setdefault(sample.timestamp, []).append(sample)
    return sorted(grouped.items())


def station_samples(samples: Mapping[int, Sequence[MeterSample]], hold_s: float | None = None) -> list[MeterSample]:
    """The station's draw at each sampled instant: per phase the sum over its EVSEs (each EVSE's latest sample,
    held for ``hold_s``, by default one and a half of its sampling interval), and the total power."""
    series: dict[int, list[tuple[datetime, dict[str, float], float | None]]] = {}
    for evse_id, evse_samples in samples.items():
        rows = []
        for at, group in _instants(evse_samples):
            phases = {s.phase: s.value for s in group if _is_phase_current(s)}
            power = next((s.value for s in group if str(s.measurand) == Measurand.POWER_ACTIVE_IMPORT
                          and s.unit == "W" and s.phase is None), None)
            if phases or power is not None:
                rows.append((at, phases, power))
        if rows:
            series[evse_id] = rows
    holds = {e: hold_s if hold_s is not None else 1.5 * _spacing(rows) for e, rows in series.items()}
    instants = sorted({at for rows in series.values() for at, _, _ in rows})
    out: list[MeterSample] = []
    for at in instants:
        totals = dict.fromkeys(PHASES, 0.0)
        power = 0.0
        for evse_id, rows in series.items():
            times = [r[0] for r in rows]
            i = bisect.bisect_right(times, at) - 1
            if i < 0 or (at - rows[i][0]).total_seconds() > holds[evse_id]:
                continue
            for phase, value in rows[i][1].items():
                totals[phase] += value
            power += rows[i][2] or 0.0
        out.extend(MeterSample(at, Measurand.CURRENT_IMPORT, round(v, 3), "A", phase=p) for p, v in totals.items())
        out.append(MeterSample(at, Measurand.POWER_ACTIVE_IMPORT, round(power, 1), "W"))
    return out


def _spacing(rows: Sequence[tuple[datetime, object, object]]) -> float:
    gaps = [(b[0] - a[0]).total_seconds() for a, b in itertools.pairwise(rows)]
    return statistics.median(gaps) if gaps else 60.0


def max_phase_current(samples: Sequence[MeterSample], since: datetime, until: datetime) -> float | None:
    values = [s.value for s in samples if since <= s.timestamp < until and _is_phase_current(s)]
    return max(values) if values else None


def _samples_between(samples: Sequence[MeterSample], since: datetime, until: datetime) -> list[MeterSample]:
    return [s for s in samples if since <= s.timestamp < until]


# ---- one station, one check ---------------------------------------------------------------------------------


def judge_check(evidence: CheckEvidence, settings: AcceptanceSettings) -> CheckResult:
    """The verdict of a scope, stack-resolution, boundaries or fallback check on one station."""
    if evidence.check is AcceptanceTest.VENDOR_VARIANCE:
        return judge_variance(evidence, settings)
    findings: list[Finding] = [Finding(INCONCLUSIVE, note) for note in evidence.notes]
    for record in evidence.steps:
        findings.extend(outcome_findings(record))
        findings.extend(intent_findings(record))
        findings.extend(Finding(INCONCLUSIVE, note, record.step.name) for note in record.notes)
    until = evidence.ended or max((r.ended or r.started for r in evidence.steps), default=None)
    if until is None:
        return _result(evidence, findings)
    series, measured = _measured_findings(evidence, settings, until)
    findings.extend(measured)
    return _result(evidence, findings, series)


def _result(evidence: CheckEvidence, findings: list[Finding], series: Sequence[Series] = (),
            quirks: Sequence[str] = (), observed: str | None = None) -> CheckResult:
    verdict = worst(f.verdict for f in findings)
    decisive = next((f for f in findings if f.verdict is verdict), None)
    reason = decisive.describe() if decisive else _passed_text(evidence)
    return CheckResult(
        evidence.check, evidence.facts.station_id, verdict, reason, tuple(findings),
        tuple(step_report(r) for r in evidence.steps), tuple(series), tuple(quirks), observed,
        evidence.started, evidence.ended,
    )


def _passed_text(evidence: CheckEvidence) -> str:
    changes = sum(1 for r in evidence.steps for o in r.outcomes if isinstance(o.action, SetProfile | UpdateProfile))
    return f"{len(evidence.steps)} steps, {changes} profile changes: composites and draw as expected"


def _reaction(
    record: StepRecord | CapStepRecord, settings: AcceptanceSettings, station_id: str | None = None
) -> float:
    """The reaction allowance of a step counts from when the charger answered its (last) change, not from when
    the step started sending: a slow control plane must not be held against the charger."""
    settled = record.settled
    if isinstance(record, CapStepRecord) and station_id is not None:
        settled = record.answered.get(station_id, settled)
    return settings.reaction_s + max(0.0, (settled - record.started).total_seconds())


def _parts(
    record: StepRecord, window: Sequence[MeterSample], settings: AcceptanceSettings
) -> list[tuple[list[MeterSample], float]]:
    """The step's samples with the allowance each gets: until the charger has had the step's changes for the
    reaction allowance, counted from its answer; after that the plain allowance, so a boundary the step scheduled
    for later (the charger has long held its profile) is not given the time it took to send it."""
    allowance = _reaction(record, settings)
    cut = record.started + timedelta(seconds=allowance)
    early = [s for s in window if s.timestamp < cut]
    late = [s for s in window if s.timestamp >= cut]
    return [(early, allowance), (late, settings.reaction_s)]


def _measured_findings(
    evidence: CheckEvidence, settings: AcceptanceSettings, until: datetime
) -> tuple[list[Series], list[Finding]]:
    facts = evidence.facts
    steps = evidence.steps
    measured_steps = [r for r in steps if r.step.measured]
    if not measured_steps:
        return [], []
    findings: list[Finding] = []
    series: list[Series] = []
    unit = facts.unit
    tolerance = DrawTolerance(settings.draw_abs_a, settings.draw_rel, facts.config.supply_voltage_v,
                              facts.config.default_number_phases)
    evses_with_intents = sorted({i.evse_id for r in steps for i in r.step.intents} - {0})
    for evse_id in facts.evse_ids:
        samples = evidence.samples.get(evse_id, ())
        timeline = step_timeline(steps, evse_id, unit, until)
        series.append(_series(evse_id, unit, samples, timeline, f"EVSE {evse_id}", evidence.ended))
        if evse_id not in evses_with_intents:
            continue
        if evse_id not in facts.transactions:
            findings.append(Finding(INCONCLUSIVE, f"no session on EVSE {evse_id}: nothing drew, nothing to judge"))
            continue
        for i, record in enumerate(steps):
            end = steps[i + 1].started if i + 1 < len(steps) else (record.ended or until)
            window = _samples_between(samples, record.started, end)
            if not record.step.measured:
                continue
            for part, reaction in _parts(record, window, settings):
                for v in draw_violations(timeline, part, reaction_s=reaction, tolerance=tolerance):
                    findings.append(Finding(FAIL, v.describe(), record.step.name))
                if facts.phase_switching:
                    for pv in phase_violations(evse_id, timeline, part, reaction_s=reaction,
                                               off_a=settings.phase_off_a):
                        findings.append(Finding(FAIL, pv.describe(), record.step.name))
            if record.step.settle or not any(i.evse_id == evse_id for i in record.step.intents):
                continue
            after = record.started + timedelta(seconds=_reaction(record, settings))
            if not any(s.timestamp >= after for s in window):
                findings.append(Finding(INCONCLUSIVE, f"EVSE {evse_id}: no meter values after the reaction "
                                        "allowance", record.step.name))
        findings.extend(_demand_findings(evse_id, steps, samples, facts))
    # The station together: what a station-wide profile (a station max) allows the sum of its EVSEs (R16-08, A14).
    if any(i.evse_id == 0 for r in steps for i in r.step.intents):
        total = station_samples(evidence.samples)
        timeline = step_timeline(steps, 0, unit, until)
        series.append(_series(0, unit, total, timeline, "station (sum of EVSEs)", evidence.ended))
        for i, record in enumerate(steps):
            end = steps[i + 1].started if i + 1 < len(steps) else (record.ended or until)
            window = _samples_between(total, record.started, end)
            for part, reaction in _parts(record, window, settings):
                for v in draw_violations(timeline, part, reaction_s=reaction, tolerance=tolerance):
                    findings.append(Finding(FAIL, "the station together " + v.describe().split(" ", 2)[2],
                                            record.step.name))
    findings.extend(_offline_findings(evidence))
    return series, findings


def _demand_findings(
    evse_id: int, steps: Sequence[StepRecord], samples: Sequence[MeterSample], facts: StationFacts
) -> list[Finding]:
    """A limit the EV never wanted to exceed proves nothing: the unconstrained draw (the settling baseline) must be
    above the lowest limit the check sets on that EVSE."""
    baseline = next((r for r in steps if r.step.settle), None)
    limits = [facts_amps(facts, i) for r in steps for i in r.step.intents if i.evse_id == evse_id and i.limit]
    if baseline is None or not limits:
        return []
    end = next((r.started for r in steps if r.started > baseline.started), baseline.ended or baseline.started)
    drawn = max_phase_current(samples, baseline.started, end)
    if drawn is None:
        return [Finding(INCONCLUSIVE, f"EVSE {evse_id}: no meter values before the check's limits", "baseline")]
    if drawn <= min(limits) + 0.5:
        return [Finding(INCONCLUSIVE, f"EVSE {evse_id} drew only {drawn:g} A unconstrained; the check's lowest limit "
                        f"({min(limits):g} A) never bound", "baseline")]
    return []


def facts_amps(facts: StationFacts, intent: Intent) -> float:
    """An intent's limit in A per phase (for comparing with measured currents)."""
    assert intent.limit is not None
    if intent.unit is A:
        return intent.limit
    return intent.limit / (facts.config.supply_voltage_v * (intent.phases or facts.config.default_number_phases))


def _offline_findings(evidence: CheckEvidence) -> list[Finding]:
    """A fallback check needs the meter values the charger queued while it was cut off (1.6 §4.7/§4.8,
    2.0.1 E04 offline transaction messages): without them nothing shows what it did."""
    findings = []
    for record in evidence.steps:
        if record.offline is None:
            continue
        start, end = record.offline
        for evse_id in sorted(evidence.facts.transactions):
            window = [s for s in evidence.samples.get(evse_id, ()) if start <= s.timestamp < end]
            if not window:
                findings.append(Finding(INCONCLUSIVE, f"EVSE {evse_id}: no meter values from the {_span(start, end)} "
                                        "the link was cut (none queued, or not sent after the reconnect)",
                                        record.step.name))
    return findings


def _span(start: datetime, end: datetime) -> str:
    return f"{(end - start).total_seconds():.0f} s"


def _series(
    evse_id: int, unit: ChargingRateUnit, samples: Sequence[MeterSample], timeline: Sequence[CompositeSchedule],
    label: str, until: datetime | None = None,
) -> Series:
    measured = []
    for at, group in _instants(samples):
        if unit is A:
            values = [s.value for s in group if _is_phase_current(s)]
        else:
            values = [s.value for s in group if str(s.measurand) == Measurand.POWER_ACTIVE_IMPORT and s.phase is None]
        if values:
            measured.append((at, max(values)))
    allowed = tuple(
        LimitSegment(s.start, min(s.end, until) if until else s.end, s.limit, s.number_phases)
        for s in limit_steps(timeline) if until is None or s.start < until
    )
    return Series(evse_id, unit, tuple(measured), allowed, label)


# ---- reports of steps --------------------------------------------------------------------------------------


def step_report(record: StepRecord) -> StepReport:
    findings = outcome_findings(record)
    outcome = "; ".join(f.text for f in findings) or "as expected"
    operations = tuple(_operation_text(o) for o in record.outcomes)
    composites = tuple(_composite_report(c) for o in record.outcomes for c in _checks_of(o))
    edges = tuple(record.started + timedelta(seconds=e) for e in record.step.edges_s)
    return StepReport(record.step.name, record.step.sends, record.step.expect, record.started, outcome,
                      operations, composites, edges, record.offline)


def _operation_text(outcome: ActionOutcome) -> str:
    action = outcome.action
    head = _action_text(outcome)
    if outcome.profile_id is not None:
        head += f" [profile {outcome.profile_id}]"
    if outcome.refused:
        return f"{head}: not sent ({outcome.refused})"
    if outcome.note:
        return f"{head}: {outcome.note}"
    if isinstance(action, CutLink):
        return f"link cut for {action.seconds:g} s" + (f": {outcome.note}" if outcome.note else "")
    if outcome.read is not None:
        return f"{head}: {outcome.read.verdict.value}" + (f" ({outcome.read.reason})" if outcome.read.reason else "")
    if outcome.result is None:
        return head
    reads = ", ".join(f"EVSE {c.evse_id} {c.verdict.value}" for c in outcome.result.checks)
    text = f"{head}: {outcome.result.verdict.value}"
    if outcome.result.reason and not outcome.result.checks:
        text += f" ({outcome.result.reason})"
    return text + (f"; read back: {reads}" if reads else "")


def _composite_report(check: CompositeCheck, quirks: Sequence[str] = ()) -> CompositeReport:
    expected = None if check.expected is None else composite_to_json(check.expected)
    unit = check.expected.charging_rate_unit.value if check.expected is not None else "?"
    unit_of_check = check.expected.charging_rate_unit if check.expected is not None else A
    return CompositeReport(
        check.evse_id, unit, check.verdict.value, expected, check.reported,
        tuple(d.describe(unit_of_check) for d in check.differences), tuple(quirks),
    )


# ---- 5. vendor variance ------------------------------------------------------------------------------------


QUIRK_EMPTY = "answers GetCompositeSchedule Accepted without a schedule (A24)"


def quirk_tag(quirk: str) -> str:
    """A few words for a reporting habit (the observed dialect's name carries them)."""
    if quirk == QUIRK_EMPTY:
        return "empty composites"
    if quirk.startswith("answers in "):
        return "composites in the other unit"
    if "where nothing limits" in quirk:
        value = quirk.split(" where nothing limits")[0].removeprefix("reports ")
        return f"no-limit reported as {value}"
    return quirk.split(" (A")[0]


@dataclass(frozen=True, slots=True)
class ReadAnalysis:
    """One composite read held strictly against the configured dialect."""

    check: CompositeCheck
    refused: str | None = None
    quirks: tuple[str, ...] = ()
    families: tuple[str, ...] = ()  # the known dialect families whose governed limits it reproduces


def analyse_read(check: CompositeCheck, snapshot: Snapshot | None, version: str) -> ReadAnalysis:
    """What a composite answer says about how the charger reports (A9, A10, A13, A24, K08.FR.06)."""
    if check.verdict in (Verdict.REJECTED, Verdict.UNSUPPORTED, Verdict.NO_ANSWER):
        return ReadAnalysis(check, refused=f"GetCompositeSchedule of EVSE {check.evse_id}: {check.reason}")
    expected = check.expected
    if expected is None or check.reported is None:
        return ReadAnalysis(check)
    unit = expected.charging_rate_unit
    try:
        reported = reported_composite_from_json(check.reported, version)
    except CompositeAnswerError as exc:
        return ReadAnalysis(check, quirks=(f"EVSE {check.evse_id}: unreadable composite ({exc})",))
    quirks: list[str] = []
    if reported is None:
        quirks.append(QUIRK_EMPTY)
        reported = ReportedComposite(expected.schedule_start, expected.duration, unit, ())
    elif reported.charging_rate_unit is not unit:
        quirks.append(f"answers in {reported.charging_rate_unit.value} when asked for {unit.value} (A10)")
    config = snapshot.config if snapshot is not None else None
    quirks.extend(_no_limit_quirks(expected, reported, config))
    families = []
    if snapshot is not None:
        for name, dialect in DIALECTS.items():
            candidate = replace(snapshot.config, dialect=dialect.for_version(snapshot.config.ocpp_version))
            other = expected_composite(snapshot, check.evse_id, expected.schedule_start, expected.duration, unit,
                                       candidate)
            if _governed_match(other, reported, candidate):
                families.append(name)
    return ReadAnalysis(check, None, tuple(dict.fromkeys(quirks)), tuple(families))


def _governed_match(expected: CompositeSchedule, reported: ReportedComposite, config: StationConfig) -> bool:
    """The limits profiles set agree (what a period without a profile limit reports is a separate habit)."""
    unit = expected.charging_rate_unit
    tolerance = Tolerance(0.1 if unit is A else 10.0, 0.01, 5, unconstrained_at(config, expected.evse_id, unit))
    comparison = compare_composites(expected, reported, voltage=config.supply_voltage_v,
                                    default_phases=config.default_number_phases, tolerance=tolerance)
    return comparison.verdict is Verdict.APPLIED


def _no_limit_quirks(
    expected: CompositeSchedule, reported: ReportedComposite, config: StationConfig | None
) -> list[str]:
    """How the periods without a profile limit are reported, against the dialect's way (A24): its local limit,
    -1, or something else."""
    if config is None or not reported.periods:
        return []
    unit = expected.charging_rate_unit
    quirks = []
    shift = (reported.schedule_start - expected.schedule_start).total_seconds()
    for period in expected.periods:
        if not period.is_local_limit:
            continue
        value = _reported_at(reported, period.start_period - shift, unit, config)
        if value is None:
            continue
        want = period.limit
        if want < 0 <= value:
            quirks.append(f"reports {value:g} {unit.value} where nothing limits; the dialect reports -1 (A24)")
        elif value < 0 <= want:
            quirks.append(f"reports -1 where nothing limits; the dialect reports its local limit {want:g} "
                          f"{unit.value} (A24)")
        elif want >= 0 and abs(value - want) > max(0.1 if unit is A else 10.0, 0.01 * want):
            quirks.append(f"reports {value:g} {unit.value} where nothing limits; the dialect reports {want:g} "
                          f"{unit.value} (A24)")
    return quirks


def _reported_at(
    reported: ReportedComposite, offset: float, unit: ChargingRateUnit, config: StationConfig
) -> float | None:
    current = None
    for period in reported.periods:
        if period.start_period <= max(0.0, offset):
            current = period
    if current is None:
        return None
    value = current.limit
    if value >= 0 and reported.charging_rate_unit is not unit:
        factor = config.supply_voltage_v * (current.number_phases or config.default_number_phases)
        value = value * factor if unit is W else value / factor
    return round(value, 1)


def judge_variance(evidence: CheckEvidence, settings: AcceptanceSettings) -> CheckResult:
    """The station's reports, strictly: every composite held against the configured dialect, including how it
    reports "no limit" and in which unit (the production verification forgives both, A10, A24); the observed
    dialect is the family that reproduces the limits, with the habits that differ."""
    facts = evidence.facts
    findings: list[Finding] = [Finding(INCONCLUSIVE, note) for note in evidence.notes]
    quirks: list[str] = []
    families: list[set[str]] = []
    reports: list[StepReport] = []
    for record in evidence.steps:
        composites = []
        for outcome in record.outcomes:
            if outcome.refused or outcome.charger_refused:
                reason = outcome.refused or (outcome.result.reason if outcome.result else "")
                findings.append(Finding(UNSUPPORTED, f"{_action_text(outcome)} refused: {reason}", record.step.name))
            for check in _checks_of(outcome):
                analysis = analyse_read(check, record.snapshot, facts.version.value)
                if analysis.refused:
                    findings.append(Finding(UNSUPPORTED, analysis.refused, record.step.name))
                    continue
                composites.append(_composite_report(check, analysis.quirks))
                for quirk in analysis.quirks:
                    if quirk not in quirks:
                        quirks.append(quirk)
                        findings.append(Finding(FAIL, quirk, record.step.name))
                if record.snapshot is not None:
                    families.append(set(analysis.families))
        reports.append(replace(step_report(record), composites=tuple(composites)))
        findings.extend(intent_findings(record))
    common = set.intersection(*families) if families else set()
    observed: str | None = None
    if families:
        if facts.dialect in common:
            family = facts.dialect
        else:
            family = next((name for name in DIALECTS if name in common), "unknown")
            findings.append(Finding(FAIL, f"the limits it reports follow the {family} dialect, not the configured "
                                    f"{facts.dialect} (configure the station's dialect, docs/dialects.md)"))
        habits = list(dict.fromkeys(quirk_tag(q) for q in quirks))
        observed = family + (f" with {', '.join(habits)}" if habits else "")
    result = _result(evidence, findings, quirks=quirks, observed=observed)
    return replace(result, steps=tuple(reports))


# ---- 1. site cap -------------------------------------------------------------------------------------------


def cap_timeline(evidence: SiteCapEvidence, station_id: str | None, until: datetime) -> list[CompositeSchedule]:
    """The cap in force over time, as composites (a station's share, or the site cap with ``station_id`` None)."""
    out = []
    for record in evidence.steps:
        if station_id is None:
            limit = record.step.cap_a
        elif record.shares is None or station_id in record.refused:
            continue  # a station that refused a cap keeps the one before (judged against what it holds)
        else:
            limit = record.shares.get(station_id)
            if limit is None:
                continue
        duration = int((until - record.started).total_seconds()) + 60
        ref = ProfileRef(0, ChargingProfilePurpose.CHARGING_STATION_MAX, 0, 0)
        out.append(CompositeSchedule(0, record.started, max(1, duration), A, (CompositePeriod(0, limit,
                                                                                               governed_by=(ref,)),)))
    return out


def judge_site_cap(
    evidence: SiteCapEvidence, settings: AcceptanceSettings
) -> tuple[dict[str, CheckResult], CheckResult]:
    """Each station against its share of the cap, and the site's aggregate against the cap: per phase, the sum
    of the EVSEs' currents (K01 / 1.6 §3.13.3: the combined flow SHALL NOT exceed the station max), within a
    class 1 meter's error once the reaction allowance has passed, also while the cap changes."""
    until = evidence.ended or (evidence.steps[-1].ended if evidence.steps else evidence.baseline)
    tolerance = DrawTolerance(settings.cap_tolerance_abs_a, settings.cap_tolerance_rel)
    results: dict[str, CheckResult] = {}
    site_samples: dict[int, list[MeterSample]] = {}
    first_share_step = next((r for r in evidence.steps if r.step.cap_a > 0), None)
    for number, (station_id, facts) in enumerate(evidence.stations.items()):
        findings = [Finding(INCONCLUSIVE, n) for n in evidence.notes]
        samples = evidence.samples.get(station_id, {})
        total = station_samples(samples)
        site_samples[number] = total
        for record in evidence.steps:
            if station_id in record.refused:
                findings.append(Finding(UNSUPPORTED, f"the cap was not applied: {record.refused[station_id]}",
                                        record.step.name))
        missing = [e for e in facts.evse_ids if e not in facts.transactions]
        if missing:
            findings.append(Finding(INCONCLUSIVE, f"no session on EVSE {', '.join(map(str, missing))}"))
        timeline = cap_timeline(evidence, station_id, until)
        for i, record in enumerate(evidence.steps):
            end = evidence.steps[i + 1].started if i + 1 < len(evidence.steps) else (record.ended or until)
            window = _samples_between(total, record.started, end)
            reaction = _reaction(record, settings, station_id)
            for v in find_violations(timeline, window, reaction_s=reaction, tolerance=tolerance):
                findings.append(Finding(FAIL, "the station together " + v.describe().split(" ", 2)[2],
                                        record.step.name))
            if timeline and not any(s.timestamp >= record.started + timedelta(seconds=reaction) for s in window):
                findings.append(Finding(INCONCLUSIVE, "no meter values after the reaction allowance",
                                        record.step.name))
        if first_share_step is not None and first_share_step.shares is not None:
            share = first_share_step.shares.get(station_id, 0.0)
            drawn = max_phase_current(total, evidence.baseline, first_share_step.started)
            if drawn is None or drawn <= share + tolerance.margin(share, A, 3):
                got = "nothing" if drawn is None else f"{drawn:g} A"
                findings.append(Finding(
                    INCONCLUSIVE, f"the station drew {got} per phase before the first cap, not more than its share "
                    f"({share:g} A): the cap never bound", "baseline",
                ))
        series = [_series(0, A, total, timeline, f"{station_id} (sum of EVSEs)", evidence.ended)]
        results[station_id] = _site_result(station_id, evidence, findings, series)
    last = evidence.steps[-1].ended if evidence.steps and evidence.steps[-1].ended else until
    aggregate = [s for s in station_samples(site_samples) if s.timestamp < last]
    timeline = cap_timeline(evidence, None, until)
    site_findings = []
    for i, record in enumerate(evidence.steps):
        end = evidence.steps[i + 1].started if i + 1 < len(evidence.steps) else last
        window = _samples_between(aggregate, record.started, end)
        site_findings += [Finding(FAIL, "the site together " + v.describe().split(" ", 2)[2], record.step.name)
                          for v in find_violations(timeline, window, reaction_s=_reaction(record, settings),
                                                   tolerance=tolerance)]
    site = _site_result("site", evidence, site_findings,
                        [_series(0, A, aggregate, timeline, "site (all stations)", evidence.ended)])
    if evidence.steps and all(r.shares is None for r in evidence.steps):
        # The cap control does not say who gets what: every station shares the site's verdict.
        results = {s: replace(r, verdict=worst([r.verdict, site.verdict]), reason=r.reason if r.verdict is not PASS
                              else site.reason) for s, r in results.items()}
    return results, site


def _site_result(station_id: str, evidence: SiteCapEvidence, findings: list[Finding],
                 series: Sequence[Series]) -> CheckResult:
    verdict = worst(f.verdict for f in findings)
    decisive = next((f for f in findings if f.verdict is verdict), None)
    reason = decisive.describe() if decisive else f"{len(evidence.steps)} cap steps: the draw kept to every cap"
    steps = []
    for record in evidence.steps:
        if station_id == "site":
            ops = tuple(f"{s}: {r.verdict.value}" for s, r in record.results.items())
        else:
            result = record.results.get(station_id)
            share = None if record.shares is None else record.shares.get(station_id)
            ops = (f"share {share:g} A per phase" if share is not None else "share: not stated by the cap control",)
            if station_id in record.refused:
                ops += (f"refused: {record.refused[station_id]}",)
            elif result is not None:
                ops += (f"ChargingStationMaxProfile [profile {result.profile_id}]: {result.verdict.value}",)
        outcome = "; ".join(f.text for f in findings if f.step == record.step.name) or "as expected"
        steps.append(StepReport(record.step.name, f"site cap {record.step.cap_a:g} A per phase", record.step.expect,
                                record.started, outcome, ops))
    return CheckResult(AcceptanceTest.SITE_CAP, station_id, verdict, reason, tuple(findings), tuple(steps),
                       tuple(series), (), None, evidence.baseline, evidence.ended)


__all__ = [
    "ReadAnalysis",
    "analyse_read",
    "cap_timeline",
    "composite_findings",
    "draw_violations",
    "expected_composite",
    "intent_findings",
    "judge_check",
    "judge_site_cap",
    "judge_variance",
    "outcome_findings",
    "phase_violations",
    "station_samples",
    "step_timeline",
]
