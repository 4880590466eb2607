"""What each acceptance check sends and what it intends: pure functions of the station's facts and the time.

A check is a list of :class:`Step`. A step is made at the moment it runs (its schedules are placed relative to
``now``: a boundary a lead time ahead, a daily recurrence restarting then), so a plan is a list of functions
``now -> Step`` (:data:`StepPlan`). A step carries

* its **actions**: profiles to set, update or clear through the control plane (the lifecycle picks ids and stack
  levels, validates, sends and reads the composite back), explicit composite reads, a link cut;
* its **intents**: what the step is meant to make the engine expect on an EVSE at an offset (10 A on EVSE 1 from
  the start; 14 A on 1 phase after the transition). The judge holds the engine's expected composite against
  them: a step whose intent does not show (masked by a profile someone else holds, refused) cannot prove anything,
  so a check cannot pass by accident;
* how long to **observe** (the runner waits for meter values past that offset).

Limits are planned in amperes per phase and sent in the station's unit (W where it takes only W, with the
nominal voltage and the period's phases). All durations are station seconds: the control plane's clock, which a
simulation shares with its stations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from wattcap.acceptance.checks import AcceptanceTest
from wattcap.core.limits import wire_limit
from wattcap.core.model import (
    RECURRENCE_PERIOD_S,
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    OcppVersion,
    RecurrencyKind,
    Transaction,
)
from wattcap.core.station import StationConfig

_MAX = ChargingProfilePurpose.CHARGING_STATION_MAX
_DEFAULT = ChargingProfilePurpose.TX_DEFAULT
_TX = ChargingProfilePurpose.TX
A, W = ChargingRateUnit.A, ChargingRateUnit.W

#: The purpose bands the suite writes in (``docs/profile-lifecycle.md``): the same the production strategy uses.
BAND_CAP = "operator-cap"
BAND_DEFAULT = "default"
BAND_DEFAULT_HIGH = "operator-default"
BAND_SESSION = "session"

#: Absolute schedules start this far in the past, so there is no gap before them (A6, A7, evcc's "now - 1 min").
PAST_S = 60


@dataclass(frozen=True, slots=True)
class AcceptanceSettings:
    """The suite's knobs, in station seconds. The defaults suit real chargers; :meth:`simulated` suits the
    simulator (short leads: its clock can be shared and accelerated)."""

    #: Boundaries are placed this far ahead of the step that sends them (time to send and verify first).
    lead_s: float = 120.0
    #: Distance between two boundaries on one EVSE: at least the reaction allowance plus one meter interval.
    edge_spacing_s: float = 60.0
    #: After a limit drops the charger and the EV get this long (IEC 61851-1 gives the EV 5 s to follow the pilot
    #: signal; the rest is the charger applying the profile). Drawing more after that is a violation.
    reaction_s: float = 10.0
    #: Draw tolerance per EVSE (above the limit): max(abs per phase, rel of the limit) (meters, pilot quantisation).
    draw_abs_a: float = 1.0
    draw_rel: float = 0.05
    #: Site cap tolerance on the aggregate: a class 1 meter's error, no more.
    cap_tolerance_rel: float = 0.01
    cap_tolerance_abs_a: float = 0.1
    #: Site cap steps, in amperes per phase per EVSE (times the EVSEs under test): a fraction (rounding, A20),
    #: a lower one, a pause (0, A17) and a raise.
    cap_levels_a: tuple[float, ...] = (10.6, 7.3, 0.0, 12.4)
    #: A phase that carries more than this is in use (for numberPhases 1 periods).
    phase_off_a: float = 1.0
    #: Before each measured check the draw settles: until two samples agree within this, or settle_max_s.
    settle_tolerance_a: float = 0.5
    settle_max_s: float = 90.0
    #: Longest wait for the meter values that close a step (beyond its own observation time).
    observe_timeout_s: float = 180.0
    #: Fallback: the lease (a TxProfile with validTo) ends this long after the link is cut; the link stays cut
    #: for offline_s (at least lease + reaction + two meter intervals); the queue then has replay_timeout_s.
    lease_s: float = 60.0
    offline_s: float = 150.0
    replay_timeout_s: float = 180.0
    #: After the reconnect the limits must survive: watched this long (a couple of meter intervals).
    reconnected_s: float = 60.0
    #: Window of the composites read back (the lifecycle's default).
    composite_duration_s: int = 3600
    #: The hardware maximum assumed for an EVSE that does not report one (safety planning only).
    evse_max_a: float = 32.0
    #: The most the stations under test may draw together (A per phase); None: not checked.
    site_cap_a: float | None = None
    #: How long to wait for stations to connect, and for a person to start a session.
    connect_timeout_s: float = 120.0
    session_timeout_s: float = 600.0

    @classmethod
    def simulated(cls, meter_interval_s: float, **changes: float) -> AcceptanceSettings:
        """Seconds-scale schedules for simulated stations sampling every ``meter_interval_s``.

        The reaction allowance is the EV's 5 s alone: a simulated charger applies a limit the moment it takes
        effect (the slow personalities are 30 s late or move 1 A/s, far beyond either allowance), so the verdicts do
        not depend on it, and a shorter allowance keeps the suite's station time (and CI time) down."""
        reaction = 5.0
        spacing = reaction + meter_interval_s + 6.0  # room for a late answer and one meter value after it
        base = cls(
            lead_s=10.0,
            edge_spacing_s=spacing,
            reaction_s=reaction,
            settle_max_s=reaction + 8 * meter_interval_s,
            observe_timeout_s=60.0,
            lease_s=spacing,
            offline_s=spacing + reaction + meter_interval_s + 3.0,
            reconnected_s=reaction + meter_interval_s + 1.0,
            replay_timeout_s=60.0,
            connect_timeout_s=60.0,
            session_timeout_s=60.0,
        )
        return replace(base, **changes)


@dataclass(frozen=True, slots=True)
class StationFacts:
    """What the plan needs to know about a station when a check starts."""

    station_id: str
    config: StationConfig
    #: The running transaction of each EVSE (None: no session there).
    transactions: Mapping[int, Transaction] = field(default_factory=dict)
    dialect: str = "everest"
    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    #: Hardware maximum per EVSE (A per phase) where known.
    evse_max_a: Mapping[int, float] = field(default_factory=dict)

    @property
    def version(self) -> OcppVersion:
        return self.config.ocpp_version

    @property
    def evse_ids(self) -> tuple[int, ...]:
        return self.config.evse_ids

    @property
    def unit(self) -> ChargingRateUnit:
        """The unit profiles are sent in: A if the station takes it (per phase, what AC regulates), else W."""
        units = self.config.capabilities.rate_units or (A,)
        return A if A in units else units[0]

    @property
    def phase_switching(self) -> bool:
        return self.config.capabilities.phase_switching_3to1

    def limit(self, amps: float, phases: int | None = None, unit: ChargingRateUnit | None = None) -> float:
        """``amps`` per phase in ``unit`` (default :attr:`unit`): W with the nominal voltage and the phases."""
        unit = unit or self.unit
        if unit is A:
            return amps
        return amps * self.config.supply_voltage_v * (phases or self.config.default_number_phases)

    def transaction_id(self, evse_id: int) -> str | None:
        tx = self.transactions.get(evse_id)
        return None if tx is None else tx.transaction_id


# ---- actions -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetProfile:
    """Install ``profile`` (its id and stack level are the lifecycle's choice) on ``evse_id`` in ``band``;
    later steps refer to it by ``key``."""

    key: str
    evse_id: int
    band: str
    profile: ChargingProfile
    #: Read the composite back (the lifecycle's verification); off where the meter alone decides.
    verify: bool = True


@dataclass(frozen=True, slots=True)
class UpdateProfile:
    """Resend the profile ``key`` with new content under the same id (K01.FR.05); set it if it is not there."""

    key: str
    evse_id: int
    band: str
    profile: ChargingProfile
    verify: bool = True


@dataclass(frozen=True, slots=True)
class ClearProfile:
    """Clear the profile ``key`` by id; by default without reading the composite back (a clean-up)."""

    key: str
    verify: bool = False


@dataclass(frozen=True, slots=True)
class ReadComposite:
    """GetCompositeSchedule for ``evse_id`` (0: the station), compared with the engine's by the lifecycle."""

    evse_id: int
    duration_s: int
    unit: ChargingRateUnit | None = None


@dataclass(frozen=True, slots=True)
class CutLink:
    """Close the station's connection and refuse it for ``seconds`` (the control plane's quarantine)."""

    seconds: float


Action = SetProfile | UpdateProfile | ClearProfile | ReadComposite | CutLink


@dataclass(frozen=True, slots=True)
class Intent:
    """From ``offset_s`` after the step starts, the engine should expect ``limit`` (in ``unit``) on ``evse_id``
    (0: the station), with ``phases`` if given. ``limit`` None: none of the step's profiles limits it there (the
    engine expects no limit, or at least more than the step's limits on that EVSE)."""

    evse_id: int
    offset_s: float
    limit: float | None
    unit: ChargingRateUnit = A
    phases: int | None = None


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    sends: str  # what it sends, in words
    expect: str  # the expected outcome, in words
    actions: tuple[Action, ...] = ()
    intents: tuple[Intent, ...] = ()
    #: The step's outcome is judged on meter values up to at least this long after it starts.
    observe_s: float = 0.0
    #: Offsets of the changes the step schedules (for the plots and the waits).
    edges_s: tuple[float, ...] = ()
    #: The settling step at the start of a measured check: wait until the draw is steady (demand evidence).
    settle: bool = False
    measured: bool = True
    #: Whether the composites read back decide (the fallback check is judged on the meter alone).
    judge_composites: bool = True


StepPlan = Callable[[datetime], Step]


# ---- profile builders --------------------------------------------------------------------------------------

Period = tuple[float, float] | tuple[float, float, int]  # (startPeriod s, amps per phase[, numberPhases])


def profile(
    facts: StationFacts,
    purpose: ChargingProfilePurpose,
    periods: Sequence[Period],
    *,
    kind: ChargingProfileKind = ChargingProfileKind.ABSOLUTE,
    start: datetime | None = None,
    duration_s: float | None = None,
    recurrency: RecurrencyKind | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    transaction_id: str | None = None,
    unit: ChargingRateUnit | None = None,
) -> ChargingProfile:
    """A profile in the station's unit. Id and stack level are placeholders: the lifecycle allocates them."""
    unit = unit or facts.unit
    schedule_periods = tuple(
        ChargingSchedulePeriod(
            int(p[0]),
            wire_limit(facts.limit(p[1], p[2] if len(p) > 2 else None, unit)),  # type: ignore[misc]
            number_phases=p[2] if len(p) > 2 else None,  # type: ignore[misc]
        )
        for p in periods
    )
    schedule = ChargingSchedule(
        unit,
        schedule_periods,
        start_schedule=None if kind is ChargingProfileKind.RELATIVE else _whole(start),
        duration=None if duration_s is None else math.ceil(duration_s),
    )
    return ChargingProfile(
        id=0,
        stack_level=0,
        purpose=purpose,
        kind=kind,
        schedules=(schedule,),
        recurrency_kind=recurrency,
        valid_from=_whole(valid_from),
        valid_to=_whole(valid_to),
        transaction_id=transaction_id,
    )


def _whole(moment: datetime | None) -> datetime | None:
    """Whole seconds: what the wire carries, so the engine and the charger compute from the same instant."""
    return None if moment is None else moment.replace(microsecond=0)


def _past(now: datetime) -> datetime:
    return now - timedelta(seconds=PAST_S)


def _intents(facts: StationFacts, evse_id: int, *points: tuple[float, float | None] | tuple[float, float, int]):
    out = []
    for point in points:
        amps = point[1]
        phases = point[2] if len(point) > 2 else None  # type: ignore[misc]
        limit = None if amps is None else wire_limit(facts.limit(amps, phases))
        out.append(Intent(evse_id, point[0], limit, facts.unit, phases))
    return tuple(out)


def _amps(facts: StationFacts, amps: float) -> str:
    return f"{amps:g} A" if facts.unit is A else f"{facts.limit(amps):g} W ({amps:g} A per phase)"


def settle_step() -> StepPlan:
    def make(now: datetime) -> Step:
        return Step(
            "baseline",
            "nothing (the check's profiles are not installed yet)",
            "the EVs draw what they want, steadily: demand the check's limits must be below to prove anything",
            settle=True,
        )

    return make


def _observe(settings: AcceptanceSettings, *edges: float) -> float:
    return max((0.0, *edges)) + settings.reaction_s + 1.0


# ---- 1. site cap -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CapStep:
    """One site cap (A per phase, all stations under test together)."""

    name: str
    cap_a: float
    expect: str


def plan_site_cap(evse_count: int, settings: AcceptanceSettings) -> tuple[CapStep, ...]:
    """The cap steps for ``evse_count`` EVSEs under test: each level of ``cap_levels_a`` times the EVSEs."""
    steps = []
    for i, level in enumerate(settings.cap_levels_a, start=1):
        cap = wire_limit(level * evse_count)
        what = "pause: nothing may be drawn" if cap == 0 else f"aggregate at most {cap:g} A per phase"
        steps.append(CapStep(f"cap {i}: {cap:g} A", cap, f"{what} once {settings.reaction_s:g} s have passed"))
    return tuple(steps)


def split_cap(cap_a: float, evse_counts: Mapping[str, int]) -> dict[str, float]:
    """Each station's share of a site cap, in proportion to its EVSEs, truncated to the wire grid (so the shares
    never add up to more than the cap, A20)."""
    total = sum(evse_counts.values())
    if total <= 0:
        return {station: 0.0 for station in evse_counts}
    return {station: wire_limit(cap_a * n / total) for station, n in evse_counts.items()}


def station_max_profile(facts: StationFacts, amps: float, now: datetime) -> ChargingProfile:
    """A ChargingStationMaxProfile capping the station at ``amps`` per phase from now on: Absolute with
    startSchedule in the past (never Relative: K01.FR.38, A15, A23)."""
    return profile(facts, _MAX, [(0, amps)], start=_past(now))


# ---- 2. scope ----------------------------------------------------------------------------------------------


def plan_scope(facts: StationFacts, settings: AcceptanceSettings) -> list[StepPlan]:
    """Station-wide, EVSE-specific, transaction and station-max profiles, each where intended and only there.

    1. TxDefault on EVSE 0 (station-wide, K01.FR.14, 1.6 connector 0): every EVSE at 9 A.
    2. TxDefault on EVSE 1: 11 A there (R16-06, K01.FR.15), EVSE 2 stays at 9 A.
    3. TxProfile on EVSE 2 for its transaction (K01.FR.04): 7 A there, EVSE 1 stays at 11 A.
    4. ChargingStationMaxProfile on EVSE 0 (R16-01): the station at 14 A, shared by the EVSEs (the sum, not each
       EVSE, A14); the station composite reads 14 A in every dialect.
    """
    evses = facts.evse_ids
    e1 = evses[0]
    e2 = evses[1] if len(evses) > 1 else None
    tx_evse = e2 if e2 is not None else e1
    others = [e for e in evses if e not in (e1, tx_evse)]

    def wide(now: datetime) -> Step:
        prof = profile(facts, _DEFAULT, [(0, 9)], start=_past(now))
        intents = tuple(i for e in evses for i in _intents(facts, e, (0, 9)))
        return Step(
            "station-wide TxDefault",
            f"TxDefaultProfile {_amps(facts, 9)} on EVSE 0 (station-wide)",
            f"every EVSE ({', '.join(map(str, evses))}) reads and draws at most 9 A, the running sessions at once "
            "(K01.FR.14/32, R16-14)",
            (SetProfile("wide", 0, BAND_DEFAULT, prof),),
            intents,
            _observe(settings),
        )

    def evse_default(now: datetime) -> Step:
        prof = profile(facts, _DEFAULT, [(0, 11)], start=_past(now))
        intents = _intents(facts, e1, (0, 11)) + tuple(i for e in evses if e != e1 for i in _intents(facts, e, (0, 9)))
        return Step(
            "EVSE TxDefault",
            f"TxDefaultProfile {_amps(facts, 11)} on EVSE {e1}",
            f"EVSE {e1} at 11 A; the others keep the station-wide 9 A (R16-06, K01.FR.15, A4)",
            (SetProfile("evse", e1, BAND_DEFAULT, prof),),
            intents,
            _observe(settings),
        )

    def transaction(now: datetime) -> Step:
        prof = profile(facts, _TX, [(0, 7)], start=_past(now), transaction_id=facts.transaction_id(tx_evse))
        rest = _intents(facts, e1, (0, 11)) if tx_evse != e1 else ()
        intents = _intents(facts, tx_evse, (0, 7)) + rest + tuple(
            i for e in others for i in _intents(facts, e, (0, 9))
        )
        return Step(
            "TxProfile",
            f"TxProfile {_amps(facts, 7)} on EVSE {tx_evse} for transaction {facts.transaction_id(tx_evse)}",
            f"EVSE {tx_evse} at 7 A for its transaction only; the other EVSEs unchanged (K01.FR.04, R16-02)",
            (SetProfile("tx", tx_evse, BAND_SESSION, prof),),
            intents,
            _observe(settings),
        )

    def station_max(now: datetime) -> Step:
        prof = station_max_profile(facts, 14, now)
        intents = _intents(facts, 0, (0, 14))
        return Step(
            "station max",
            f"ChargingStationMaxProfile {_amps(facts, 14)} on EVSE 0",
            "the station together at most 14 A (shared by its EVSEs, not 14 A each: A14); its composite reads "
            "14 A (R16-01, R16-08)",
            (SetProfile("max", 0, BAND_CAP, prof), ReadComposite(0, settings.composite_duration_s)),
            intents,
            _observe(settings),
        )

    return [settle_step(), wide, evse_default, transaction, station_max]


# ---- 3. stack resolution -----------------------------------------------------------------------------------


def plan_stack(facts: StationFacts, settings: AcceptanceSettings) -> list[StepPlan]:
    """Profiles at several stack levels and purposes on one EVSE (OCTT TC_072 / TC_K_40, TC_066 / TC_K_41).

    1. A TxDefault of 12 A at wattcap's level, and one of 8 A at the operator's higher level whose schedule ends
       one edge later: 8 A (the highest valid level wins, K01.FR.17), then 12 A again when it ends (the lower
       level applies again: R16-07, E3).
    2. The higher level again (same id, K01.FR.05), 6 A, without end: 6 A.
    3. A TxProfile of 11 A: 11 A, not min(11, 6): the TxProfile replaces the TxDefault (R16-08, E2).
    """
    e1 = facts.evse_ids[0]
    spacing = settings.edge_spacing_s

    def levels(now: datetime) -> Step:
        low = profile(facts, _DEFAULT, [(0, 12)], start=_past(now))
        high = profile(facts, _DEFAULT, [(0, 8)], start=_past(now), duration_s=PAST_S + spacing)
        return Step(
            "two TxDefault levels, the higher one ending",
            f"TxDefaultProfile {_amps(facts, 12)} on EVSE {e1} in band {BAND_DEFAULT}, and "
            f"{_amps(facts, 8)} in band {BAND_DEFAULT_HIGH} (a higher level) whose schedule ends {spacing:g} s later",
            f"EVSE {e1} at 8 A (the higher level wins, K01.FR.17), then 12 A when it ends (R16-07)",
            (SetProfile("low", e1, BAND_DEFAULT, low), SetProfile("high", e1, BAND_DEFAULT_HIGH, high)),
            _intents(facts, e1, (1, 8), (spacing + 1, 12)),
            _observe(settings, spacing),
            (spacing,),
        )

    def high_again(now: datetime) -> Step:
        prof = profile(facts, _DEFAULT, [(0, 6)], start=_past(now))
        return Step(
            "higher level updated",
            f"the higher-level profile again (same id) at {_amps(facts, 6)}, without end",
            f"EVSE {e1} at 6 A: an update by id replaces (K01.FR.05)",
            (UpdateProfile("high", e1, BAND_DEFAULT_HIGH, prof),),
            _intents(facts, e1, (0, 6)),
            _observe(settings),
        )

    def tx(now: datetime) -> Step:
        prof = profile(facts, _TX, [(0, 11)], start=_past(now), transaction_id=facts.transaction_id(e1))
        return Step(
            "TxProfile over TxDefault",
            f"TxProfile {_amps(facts, 11)} on EVSE {e1} for transaction {facts.transaction_id(e1)}",
            f"EVSE {e1} at 11 A: the TxProfile replaces the 6 A TxDefault, it is not combined with it (R16-08)",
            (SetProfile("tx", e1, BAND_SESSION, prof),),
            _intents(facts, e1, (0, 11)),
            _observe(settings),
        )

    return [settle_step(), levels, high_again, tx]


# ---- 4. boundaries and recurrence --------------------------------------------------------------------------


def next_midnight(now: datetime) -> datetime:
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def plan_boundaries(facts: StationFacts, settings: AcceptanceSettings) -> list[StepPlan]:
    """Schedule boundaries placed ``lead_s`` ahead, ``edge_spacing_s`` (p) apart on each EVSE, observed as they pass.

    A. EVSE 2: a Relative TxProfile counted from its transaction's start (A6), valid only from ``lead`` ahead
       (validFrom, K01.FR.36) with a period boundary p later and its validTo (K01.FR.37) another p later; EVSE 1:
       an Absolute TxDefault whose startSchedule is p/2 later still (K01.FR.30), with a transition to 14 A on one
       phase (numberPhases 1, where the station can switch) and a duration end (K01.FR.11/12).
    B. EVSE 1: a daily recurrence restarting ahead (its startSchedule yesterday at that time of day, A7), with a
       change at the next midnight read back in the composite (an overnight change: a charger that restarts daily
       profiles at 00:00 moves it); EVSE 2: a weekly recurrence restarting at the same moment.
    """
    evses = facts.evse_ids
    e1 = evses[0]
    e2 = evses[1] if len(evses) > 1 else None
    lead, p = settings.lead_s, settings.edge_spacing_s
    one_phase = 1 if facts.phase_switching else None

    def phase_a(now: datetime) -> Step:
        actions: list[Action] = []
        intents: tuple[Intent, ...] = ()
        edges: list[float] = []
        sends: list[str] = []
        expect: list[str] = []
        tx = facts.transactions.get(e2) if e2 is not None else None
        offset = 0.0
        if e2 is not None and tx is not None and tx.start is not None:
            valid_from = now + timedelta(seconds=lead)
            boundary = math.ceil((valid_from - tx.start).total_seconds() + p)
            rel = profile(facts, _TX, [(0, 9), (boundary, 13)], kind=ChargingProfileKind.RELATIVE,
                          valid_from=valid_from, valid_to=valid_from + timedelta(seconds=2 * p),
                          transaction_id=tx.transaction_id)
            actions.append(SetProfile("rel", e2, BAND_SESSION, rel))
            intents += _intents(facts, e2, (1, None), (lead + 1, 9), (lead + p + 1, 13), (lead + 2 * p + 1, None))
            edges += [lead, lead + p, lead + 2 * p]
            sends.append(f"EVSE {e2}: Relative TxProfile valid from {lead:g} s ahead for {2 * p:g} s: "
                         f"{_amps(facts, 9)}, {_amps(facts, 13)} from {boundary} s after its transaction started")
            expect.append(f"EVSE {e2}: no limit before validFrom (K01.FR.36), 9 A, 13 A at the boundary counted from "
                          "the transaction start (A6), no limit from validTo (K01.FR.37)")
            offset = p / 2
        start = now + timedelta(seconds=lead + offset)
        second: Period = (p, 14, 1) if one_phase else (p, 14)
        abs_profile = profile(facts, _DEFAULT, [(0, 10), second], start=start, duration_s=2 * p)
        actions.insert(0, SetProfile("abs", e1, BAND_DEFAULT, abs_profile))
        t0 = lead + offset
        intents += _intents(facts, e1, (t0 - 2, None), (t0 + 1, 10), (t0 + p + 1, *second[1:]),
                            (t0 + 2 * p + 1, None))
        edges += [t0, t0 + p, t0 + 2 * p]
        sends.insert(0, f"EVSE {e1}: TxDefaultProfile from {t0:g} s ahead: {_amps(facts, 10)}, after {p:g} s "
                        f"{_amps(facts, 14)}{' on 1 phase' if one_phase else ''}, ending {2 * p:g} s after its start")
        expect.insert(0, f"EVSE {e1}: no limit until the startSchedule (K01.FR.30), 10 A, then 14 A"
                         f"{' on one phase only' if one_phase else ''}, no limit after the duration (K01.FR.11)")
        return Step("startSchedule, validity, transitions, Relative", "; ".join(sends), "; ".join(expect),
                    tuple(actions), intents, _observe(settings, *edges), tuple(sorted(edges)))

    def phase_b(now: datetime) -> Step:
        restart = now + timedelta(seconds=lead)
        midnight = next_midnight(now)
        to_midnight = (midnight - restart).total_seconds()
        periods: list[Period] = [(0, 6), (p, 14)]
        tail = 14.0
        if p + 120 < to_midnight < 86_400 - lead - 120:
            periods.append((int(to_midnight), 10))
            tail = 10.0
        daily = profile(facts, _DEFAULT, periods, kind=ChargingProfileKind.RECURRING,
                        recurrency=RecurrencyKind.DAILY,
                        start=restart - timedelta(seconds=RECURRENCE_PERIOD_S[RecurrencyKind.DAILY]))
        actions: list[Action] = [ClearProfile("abs"), ClearProfile("rel"), SetProfile("daily", e1, BAND_DEFAULT, daily)]
        intents = _intents(facts, e1, (1, tail), (lead + 1, 6), (lead + p + 1, 14))
        edges = [lead, lead + p]
        sends = (f"EVSE {e1}: daily recurring TxDefaultProfile restarting {lead:g} s ahead: {_amps(facts, 6)}, "
                 f"{_amps(facts, 14)} after {p:g} s")
        expect = f"EVSE {e1}: {tail:g} A (yesterday's occurrence), 6 A at the restart, 14 A after {p:g} s"
        if tail == 10.0:
            sends += f", {_amps(facts, 10)} from midnight ({midnight:%H:%M}Z)"
            expect += "; the composite read up to past midnight shows the change at 00:00 of the occurrence (A7)"
            read_s = min(86_400, math.ceil((midnight - now).total_seconds()) + 600)
            actions.append(ReadComposite(e1, read_s))
        if e2 is not None:
            weekly = profile(facts, _DEFAULT, [(0, 7), (p, 12)], kind=ChargingProfileKind.RECURRING,
                             recurrency=RecurrencyKind.WEEKLY,
                             start=restart - timedelta(seconds=RECURRENCE_PERIOD_S[RecurrencyKind.WEEKLY]))
            actions.append(SetProfile("weekly", e2, BAND_DEFAULT, weekly))
            intents += _intents(facts, e2, (1, 12), (lead + 1, 7), (lead + p + 1, 12))
            sends += f"; EVSE {e2}: weekly recurring TxDefaultProfile restarting {lead:g} s ahead: 7 A, 12 A"
            expect += f"; EVSE {e2}: 12 A, 7 A at the weekly restart, 12 A after {p:g} s"
        return Step("daily and weekly recurrence, overnight", sends, expect, tuple(actions), intents,
                    _observe(settings, *edges), tuple(sorted(edges)))

    return [settle_step(), phase_a, phase_b]


# ---- 5. vendor variance ------------------------------------------------------------------------------------


def plan_variance(facts: StationFacts, settings: AcceptanceSettings) -> list[StepPlan]:
    """How the station reports composites, compared strictly with its configured dialect.

    1. Composites of the station and EVSE 1, before the probe (what "no limit" looks like, A24).
    2. A probe TxDefault of 10 A on EVSE 1 in A; the station composite, and EVSE 1 in W.
    3. The same probe in W (same id, 10 A × nominal voltage × 3); EVSE 1 (its read-back) and the station in W.
    """
    evses = facts.evse_ids
    e1 = evses[0]
    units = tuple(facts.config.capabilities.rate_units or (A,))
    duration = min(settings.composite_duration_s, 900)

    def before(now: datetime) -> Step:
        reads = (ReadComposite(0, duration, facts.unit), ReadComposite(e1, duration, facts.unit))
        return Step(
            "reports before the probe",
            f"GetCompositeSchedule of the station and EVSE {e1} in {facts.unit.value}",
            "what the configured dialect reports where nothing of the suite limits (A24, A13, K08.FR.06)",
            reads, measured=False,
        )

    def probe_a(now: datetime) -> Step:
        prof = profile(facts, _DEFAULT, [(0, 10)], start=_past(now), unit=A)
        reads = [ReadComposite(0, duration, A)] + ([ReadComposite(e1, duration, W)] if W in units else [])
        return Step(
            "probe in A",
            f"TxDefaultProfile 10 A on EVSE {e1}",
            "accepted; EVSE and station composites in A (and W) as the configured dialect computes them (A10)",
            (SetProfile("probe", e1, BAND_DEFAULT, prof), *reads),
            _intents(replace(facts, config=_with_units(facts.config, (A,))), e1, (0, 10)),
            measured=False,
        )

    def probe_w(now: datetime) -> Step:
        watts = facts.limit(10, unit=W)
        prof = profile(facts, _DEFAULT, [(0, 10)], start=_past(now), unit=W)
        reads = [ReadComposite(0, duration, W)]
        return Step(
            "probe in W",
            f"the same profile (same id) as {watts:g} W",
            "accepted; composites in W (and A) as the configured dialect computes them",
            (UpdateProfile("probe", e1, BAND_DEFAULT, prof), *reads),
            (Intent(e1, 0, wire_limit(watts), W),),
            measured=False,
        )

    return [before, probe_a, probe_w]


def _with_units(config: StationConfig, units: tuple[ChargingRateUnit, ...]) -> StationConfig:
    return replace(config, capabilities=replace(config.capabilities, rate_units=units))


# ---- 6. fallback -------------------------------------------------------------------------------------------


def plan_fallback(facts: StationFacts, settings: AcceptanceSettings) -> list[StepPlan]:
    """The link cut while the charger holds safe limits and a short lease; judged on the meter values it queued.

    1. Safe limits: a station-wide TxDefault of 10 A, and a TxProfile of 6 A for EVSE 2's session (no end).
    2. A lease on EVSE 1 (TxProfile, 16 A, validTo ``lease_s`` ahead), then the link is cut for ``offline_s``
       (quarantine): offline, EVSE 1 keeps 16 A until validTo, then falls back to the 10 A default; EVSE 2 keeps
       6 A (1.6 §3.13.6, K06/K07); after the reconnect the queued meter values show it, and nothing changes.
    """
    evses = facts.evse_ids
    e1 = evses[0]
    e2 = evses[1] if len(evses) > 1 else None

    def safe(now: datetime) -> Step:
        actions: list[Action] = [SetProfile("default", 0, BAND_DEFAULT, profile(facts, _DEFAULT, [(0, 10)],
                                                                                  start=_past(now)), verify=False)]
        intents = _intents(facts, e1, (0, 10))
        sends = f"TxDefaultProfile {_amps(facts, 10)} on EVSE 0"
        expect = f"EVSE {e1} at 10 A"
        if e2 is not None:
            tx = profile(facts, _TX, [(0, 6)], start=_past(now), transaction_id=facts.transaction_id(e2))
            actions.append(SetProfile("session", e2, BAND_SESSION, tx, verify=False))
            intents += _intents(facts, e2, (0, 6))
            sends += f"; TxProfile {_amps(facts, 6)} on EVSE {e2} for its transaction"
            expect += f", EVSE {e2} at 6 A"
        return Step("safe limits", sends, expect, tuple(actions), intents, _observe(settings),
                    judge_composites=False)

    def cut(now: datetime) -> Step:
        lease_end = now + timedelta(seconds=settings.lease_s)
        lease = profile(facts, _TX, [(0, 16)], start=_past(now), valid_to=lease_end,
                        transaction_id=facts.transaction_id(e1))
        lease_at = (_whole(lease_end) - now).total_seconds()  # type: ignore[operator]
        intents = _intents(facts, e1, (1, 16), (lease_at + 1, 10))
        if e2 is not None:
            intents += _intents(facts, e2, (1, 6), (lease_at + 1, 6))
        return Step(
            "link cut",
            f"TxProfile lease {_amps(facts, 16)} on EVSE {e1} valid for {settings.lease_s:g} s, then the link is cut "
            f"for {settings.offline_s:g} s (quarantine: WebSocket closed, reconnects refused)",
            f"offline, EVSE {e1} keeps 16 A until the lease's validTo, then the 10 A default"
            + (f"; EVSE {e2} keeps its 6 A TxProfile" if e2 is not None else "")
            + "; the queued meter values show it after the reconnect, and the limits survive the reconnect",
            (SetProfile("lease", e1, BAND_SESSION, lease, verify=False), CutLink(settings.offline_s)),
            intents,
            settings.offline_s + settings.reconnected_s,
            (lease_at, settings.offline_s),
            judge_composites=False,
        )

    return [settle_step(), safe, cut]


PLANNERS: Mapping[AcceptanceTest, Callable[[StationFacts, AcceptanceSettings], list[StepPlan]]] = {
    AcceptanceTest.SCOPE: plan_scope,
    AcceptanceTest.STACK_RESOLUTION: plan_stack,
    AcceptanceTest.BOUNDARIES_RECURRENCE: plan_boundaries,
    AcceptanceTest.VENDOR_VARIANCE: plan_variance,
    AcceptanceTest.FALLBACK: plan_fallback,
}

#: The order the per-station checks run in: the reports first (nothing of the suite installed yet), then the
#: checks that install more and more, the link cut last.
STATION_ORDER = (
    AcceptanceTest.VENDOR_VARIANCE,
    AcceptanceTest.SCOPE,
    AcceptanceTest.STACK_RESOLUTION,
    AcceptanceTest.BOUNDARIES_RECURRENCE,
    AcceptanceTest.FALLBACK,
)


# ---- safety on a live site ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Peak:
    """The most a station under test may draw (A per phase) while the suite runs, and why."""

    station_id: str
    peak_a: float
    why: str


def station_peak(
    facts: StationFacts, checks: Sequence[AcceptanceTest], settings: AcceptanceSettings, now: datetime,
    held_max_a: float | None = None,
) -> Peak:
    """An upper bound of the station's draw during the run.

    The suite only lowers EVSE limits below what the hardware allows, so between and within its steps the station
    draws at most the sum of its EVSEs' maxima, or the station max it already holds (``held_max_a``). Only the
    suite's own ChargingStationMaxProfiles (the site cap's shares, the scope check's) can lift a held station max:
    they sit above it in the ``operator-cap`` band.
    """
    hardware = sum(facts.evse_max_a.get(e, settings.evse_max_a) for e in facts.evse_ids)
    base, why = hardware, f"{len(facts.evse_ids)} EVSE(s), {hardware:g} A of hardware"
    if held_max_a is not None and held_max_a < hardware:
        base, why = held_max_a, f"the station max it holds, {held_max_a:g} A"
    own: list[tuple[float, str]] = []
    if AcceptanceTest.SITE_CAP in checks and settings.cap_levels_a:
        own.append((max(settings.cap_levels_a) * len(facts.evse_ids), "the site cap's share"))
    for check in checks:
        planner = PLANNERS.get(check)
        if planner is None:
            continue
        for plan in planner(facts, settings):
            step = plan(now)
            for intent in step.intents:
                if intent.evse_id == 0 and intent.limit is not None:
                    amps = intent.limit if intent.unit is A else intent.limit / (
                        facts.config.supply_voltage_v * (intent.phases or facts.config.default_number_phases))
                    own.append((amps, f"the {check.value} check's station max"))
    highest = max(own, default=(0.0, ""))
    if highest[0] > base:
        return Peak(facts.station_id, highest[0], highest[1])
    return Peak(facts.station_id, base, why)


def site_peak(
    stations: Sequence[StationFacts], checks: Sequence[AcceptanceTest], settings: AcceptanceSettings, now: datetime,
    held_max_a: Mapping[str, float] | None = None,
) -> list[Peak]:
    """Each station's :func:`station_peak`: their sum must stay within ``settings.site_cap_a``."""
    held = held_max_a or {}
    return [station_peak(f, checks, settings, now, held.get(f.station_id)) for f in stations]
