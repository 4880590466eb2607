"""Vendor personalities: real chargers' deviations, as a declarative catalogue.

Real chargers disagree (``shared/research/peers.md`` §3, ``ocpp-smart-charging.md`` §5 A1–A26). A
:class:`Personality` is one small, documented entry that makes a simulated station behave like one family or one
faulty firmware: which requests it refuses, how it enforces what it accepted, and how it reports its composite.
Every field is a behaviour a field report describes; the default value of each is what a compliant charger does.

Each entry says which acceptance-test family its deviation belongs to (``fails``, an :class:`AcceptanceTest`) and
which checks of the acceptance suite (``wattcap.acceptance``, ``docs/acceptance.md``) it actually fails or makes
unsupported when run through the control plane (``acceptance_failures``): one deviation often breaks more than
its own family (a charger 30 s late with every limit fails every check that measures a limit drop) and some
break nothing wattcap relies on (wattcap never uses stack level 3). The acceptance suite's own tests run every
entry and require exactly these verdicts. The catalogue is documented in ``docs/simulator.md``; adding a
personality is one entry in :data:`PERSONALITIES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from wattcap.acceptance.checks import AcceptanceTest
from wattcap.core.dialects import Dialect, NoLimitReport, get_dialect
from wattcap.core.model import ChargingProfileKind, ChargingProfilePurpose, ChargingRateUnit, OcppVersion

_P = ChargingProfilePurpose
_K = ChargingProfileKind
_CAP, _SCOPE, _STACK = AcceptanceTest.SITE_CAP, AcceptanceTest.SCOPE, AcceptanceTest.STACK_RESOLUTION
_EDGES, _VARIANCE = AcceptanceTest.BOUNDARIES_RECURRENCE, AcceptanceTest.VENDOR_VARIANCE
_FALLBACK = AcceptanceTest.FALLBACK


class CompositeAnswer(StrEnum):
    """How a station answers GetCompositeSchedule."""

    COMPUTED = "computed"  # the composite of what it holds, in the requested unit
    REJECTED = "rejected"  # status Rejected (monta emulator, SAP simulator for Relative profiles)
    EMPTY = "empty"  # Accepted without a schedule (solidstudio VCP)
    OTHER_UNIT = "other_unit"  # in the unit that was not asked for (ev-server#1837, shiv3)


@dataclass(frozen=True, slots=True)
class Personality:
    """One charger behaviour, stated as data. ``fails`` is None only for the reference families.

    ``acceptance_failures`` names the acceptance checks the suite reports as ``fail`` or ``unsupported`` for a
    station with this personality (2 AC EVSEs, an EV charging on each, the control plane configured with the
    personality's ``dialect``); ``acceptance_why`` says why, check by check.
    """

    name: str
    summary: str
    fails: AcceptanceTest | None
    evidence: str
    acceptance_failures: frozenset[AcceptanceTest] = frozenset()
    acceptance_why: str = ""
    # --- how it computes composites: a core dialect, optionally with some fields changed
    dialect: str = "everest"
    dialect_overrides: Mapping[str, Any] = field(default_factory=dict)
    # --- how it installs profiles: InstallPolicy fields changed from the version's specification policy
    policy_overrides: Mapping[str, Any] = field(default_factory=dict)
    # --- what it reports about itself: StationCapabilities fields
    reported_capabilities: Mapping[str, Any] = field(default_factory=dict)
    # --- what it refuses (beyond what the specification says a station refuses)
    rejected_purposes: frozenset[ChargingProfilePurpose] = frozenset()
    rejected_kinds: frozenset[ChargingProfileKind] = frozenset()
    rejects_zero_limit: bool = False
    # Refuses stack levels above this although it reports a higher maximum (None: what it reports).
    accepted_max_stack_level: int | None = None
    # --- how it enforces what it holds
    ignores_profiles: bool = False  # Accepted, stored, reported, never applied
    ignores_number_phases: bool = False  # charges on every phase the EV has, whatever numberPhases says
    shares_station_max: bool = True  # False: the station max caps each EVSE instead of their sum
    tx_default_from_next_transaction: bool = False  # a running transaction keeps the TxDefault it started with
    drops_tx_profiles_on_reconnect: bool = False
    forgets_profiles_offline: bool = False  # while the link is down nothing limits it
    recurrence_from_midnight: bool = False  # daily recurrence restarts at 00:00 UTC, not at startSchedule
    whole_amps: bool = False  # rounds the applied current to the nearest whole ampere
    limit_delay_s: float = 0.0  # a new limit takes effect this long after it applies
    ramp_per_s: float | None = None  # the applied limit moves at most this much per second (A/s AC, W/s DC)
    # --- how it answers GetCompositeSchedule
    composite_answer: CompositeAnswer = CompositeAnswer.COMPUTED
    # Reported where nothing limits (None: the EVSE's own maximum). A huge value is a known vendor habit.
    reported_default_limit_a: float | None = None
    reported_default_limit_w: float | None = None

    def make_dialect(self, version: OcppVersion) -> Dialect:
        """The composite dialect of this personality for ``version``."""
        dialect = get_dialect(self.dialect).for_version(version)
        return replace(dialect, **self.dialect_overrides) if self.dialect_overrides else dialect


def _catalogue(*entries: Personality) -> Mapping[str, Personality]:
    names = [p.name for p in entries]
    if len(set(names)) != len(names):
        raise ValueError("personality names must be unique")
    return MappingProxyType({p.name: p for p in entries})


PERSONALITIES: Mapping[str, Personality] = _catalogue(
    # ---- reference families ------------------------------------------------------------------------------
    Personality(
        name="everest",
        summary="EVerest libocpp family (OCA-certified): the default, compliant simulated charger.",
        fails=None,
        evidence="ocpp-smart-charging.md §2.10.2; core dialect EVEREST",
        acceptance_why="the compliant reference: passes all six",
    ),
    Personality(
        name="microocpp",
        summary="MicroOcpp family composite: -1 where nothing limits, station composite = station max only, "
        "no TxDefault without a transaction, no A<->W conversion.",
        fails=AcceptanceTest.VENDOR_VARIANCE,
        evidence="A24 (openevse#856), A13, core dialect MICROOCPP",
        acceptance_failures=frozenset(),
        acceptance_why=(
            "configured as the microocpp family it is, it passes: every composite is what that dialect computes"
        ),
        dialect="microocpp",
    ),
    # ---- enforcement -------------------------------------------------------------------------------------
    Personality(
        name="accept-and-ignore",
        summary="Accepts every profile and reports it, but charges at full power.",
        fails=AcceptanceTest.SITE_CAP,
        evidence="steve#1192, go-eCharger#249, evcc#31597 (A17)",
        acceptance_failures=frozenset({_CAP, _SCOPE, _STACK, _EDGES, _FALLBACK}),
        acceptance_why=(
            "every check that measures a limit sees full power; its reports are right, so the variance check "
            "passes"
        ),
        ignores_profiles=True,
    ),
    Personality(
        name="ignores-number-phases",
        summary="Honours the limit per phase but keeps charging on every phase the EV has (numberPhases ignored).",
        fails=AcceptanceTest.SITE_CAP,
        evidence="go-eCharger#154 (A18)",
        acceptance_failures=frozenset({_EDGES}),
        acceptance_why=(
            "only the boundaries check has a numberPhases 1 period (the transition to one phase); per-phase caps "
            "hold"
        ),
        ignores_number_phases=True,
    ),
    Personality(
        name="whole-amps",
        summary="Rounds the applied current to the nearest whole ampere (15.6 A becomes 16 A).",
        fails=AcceptanceTest.SITE_CAP,
        evidence="A20 (decimal precision); chargers with integer PWM set-points",
        acceptance_failures=frozenset({_CAP}),
        acceptance_why=(
            "the site cap's 10.6 A per EVSE becomes 11 A (the aggregate 3.8 % over, A20); every other limit of "
            "the suite is whole"
        ),
        whole_amps=True,
    ),
    Personality(
        name="slow-to-react",
        summary="Applies a new limit only 30 s after it takes effect.",
        fails=AcceptanceTest.SITE_CAP,
        evidence="libocpp#811 (up to 30 s to resume), A17",
        acceptance_failures=frozenset({_CAP, _SCOPE, _STACK, _EDGES, _FALLBACK}),
        acceptance_why="30 s late with every drop, beyond the 10 s reaction allowance: every measured check fails",
        limit_delay_s=30.0,
    ),
    Personality(
        name="slow-ramp",
        summary="Moves its applied limit by at most 1 A/s (1 kW/s on DC), down as well as up.",
        fails=AcceptanceTest.SITE_CAP,
        evidence="ramp-up protection in OpenEMS/commercial CSMSs (peers.md §1B)",
        acceptance_failures=frozenset({_CAP, _SCOPE, _STACK, _EDGES, _FALLBACK}),
        acceptance_why=(
            "each measured check starts with a drop from 32 A to 10.6 A or less: at 1 A/s still above it after the "
            "allowance"
        ),
        ramp_per_s=1.0,
    ),
    Personality(
        name="per-connector-station-max",
        summary="Caps each EVSE at the station max instead of sharing it among them.",
        fails=AcceptanceTest.SCOPE,
        evidence="MicroOcppSimulator#21 (A14)",
        acceptance_failures=frozenset({_CAP, _SCOPE}),
        acceptance_why="the station max (the cap's share, the scope check's 14 A) caps each EVSE instead of their sum",
        shares_station_max=False,
    ),
    Personality(
        name="tx-default-next-session",
        summary="A new TxDefaultProfile applies only from the next transaction on.",
        fails=AcceptanceTest.SCOPE,
        evidence="connectorio-addons#160 (A16)",
        acceptance_failures=frozenset({_SCOPE, _STACK, _EDGES, _FALLBACK}),
        acceptance_why=(
            "every TxDefault the suite sets during the running sessions is ignored until the next one (R16-14, "
            "K01.FR.32)"
        ),
        tx_default_from_next_transaction=True,
    ),
    Personality(
        name="recurrence-from-midnight",
        summary="Restarts a daily recurring profile at 00:00 UTC instead of at its startSchedule.",
        fails=AcceptanceTest.BOUNDARIES_RECURRENCE,
        evidence="SAP simulator PR#634 (A7)",
        acceptance_failures=frozenset({_EDGES}),
        acceptance_why="the daily recurrence restarts at 00:00, not at its startSchedule's time of day",
        recurrence_from_midnight=True,
    ),
    # ---- refusals ----------------------------------------------------------------------------------------
    Personality(
        name="stack-level-0-only",
        summary="Reports ChargeProfileMaxStackLevel 0 and rejects every profile above it.",
        fails=AcceptanceTest.STACK_RESOLUTION,
        evidence="evcc#4957 (A5)",
        acceptance_failures=frozenset({_CAP, _SCOPE, _STACK}),
        acceptance_why=(
            "the operator-cap band (level 1) and the operator-default band (level 2) are above its level 0; a "
            "station-wide and an EVSE TxDefault need two levels"
        ),
        reported_capabilities={"max_stack_level": 0},
    ),
    Personality(
        name="exclusive-max-stack-level",
        summary="Reports a maximum stack level of 3 but rejects stackLevel 3 (reads the maximum as exclusive).",
        fails=AcceptanceTest.STACK_RESOLUTION,
        evidence="evcc#15493, lbbrhzn/ocpp#1737 (ABB Terra AC, A5)",
        acceptance_failures=frozenset(),
        acceptance_why="wattcap's bands never use stack level 3 (they stop at 2): nothing it refuses is ever sent",
        reported_capabilities={"max_stack_level": 3},
        accepted_max_stack_level=2,
    ),
    Personality(
        name="amps-only",
        summary="Supports only A schedules; rejects W.",
        fails=AcceptanceTest.VENDOR_VARIANCE,
        evidence="ChargingScheduleAllowedChargingRateUnit = Current (A10)",
        acceptance_failures=frozenset({_VARIANCE}),
        acceptance_why="the variance probe in W is refused; the other checks are sent in A",
        reported_capabilities={"rate_units": (ChargingRateUnit.A,)},
    ),
    Personality(
        name="watts-only",
        summary="Supports only W schedules; rejects A.",
        fails=AcceptanceTest.VENDOR_VARIANCE,
        evidence="lbbrhzn/ocpp#2134 (A10)",
        acceptance_failures=frozenset({_VARIANCE}),
        acceptance_why="the variance probe in A is refused; the other checks are sent in W",
        reported_capabilities={"rate_units": (ChargingRateUnit.W,)},
    ),
    Personality(
        name="no-station-max",
        summary="Rejects ChargePointMaxProfile / ChargingStationMaxProfile.",
        fails=AcceptanceTest.SITE_CAP,
        evidence="lbbrhzn/ocpp#221, #877, #2158 (EVBox, Schneider, Timxon; A15)",
        acceptance_failures=frozenset({_CAP, _SCOPE}),
        acceptance_why="the site cap and the scope check's station max are refused",
        rejected_purposes=frozenset({_P.CHARGING_STATION_MAX}),
    ),
    Personality(
        name="no-relative",
        summary="Rejects Relative profiles of every purpose.",
        fails=AcceptanceTest.BOUNDARIES_RECURRENCE,
        evidence="lbbrhzn/ocpp#677, Easee 'only absolute schedule type' (A11, A15)",
        acceptance_failures=frozenset({_EDGES}),
        acceptance_why="the Relative TxProfile of the boundaries check is refused",
        rejected_kinds=frozenset({_K.RELATIVE}),
    ),
    Personality(
        name="rejects-zero",
        summary="Rejects any profile with a 0 limit (no pause by profile).",
        fails=AcceptanceTest.SITE_CAP,
        evidence="evcc#15493 (ABB Terra AC, A17)",
        acceptance_failures=frozenset({_CAP}),
        acceptance_why="the site cap's pause (0 A) is refused",
        rejects_zero_limit=True,
    ),
    # ---- fallback ----------------------------------------------------------------------------------------
    Personality(
        name="drops-tx-profiles-on-reconnect",
        summary="Forgets its TxProfiles whenever the link to the control plane comes back.",
        fails=AcceptanceTest.FALLBACK,
        evidence="go-eCharger#217 (A16, §3 F)",
        acceptance_failures=frozenset({_FALLBACK}),
        acceptance_why="after the reconnect EVSE 2 loses its 6 A TxProfile and draws the 10 A default",
        drops_tx_profiles_on_reconnect=True,
    ),
    Personality(
        name="forgets-profiles-offline",
        summary="Charges unlimited while the link is down, although it keeps its profiles.",
        fails=AcceptanceTest.FALLBACK,
        evidence="go-eCharger#217 second report, lbbrhzn/ocpp#492",
        acceptance_failures=frozenset({_FALLBACK}),
        acceptance_why="offline it draws 32 A",
        forgets_profiles_offline=True,
    ),
    # ---- composite answers -------------------------------------------------------------------------------
    Personality(
        name="composite-rejected",
        summary="Answers every GetCompositeSchedule with Rejected.",
        fails=AcceptanceTest.VENDOR_VARIANCE,
        evidence="monta ocpp-emulator, SAP simulator (peers.md §4.3)",
        acceptance_failures=frozenset({_SCOPE, _STACK, _EDGES, _VARIANCE}),
        acceptance_why=(
            "every check that reads composites back is unsupported; the site cap and the fallback are judged on "
            "the meter"
        ),
        composite_answer=CompositeAnswer.REJECTED,
    ),
    Personality(
        name="composite-empty",
        summary="Answers GetCompositeSchedule with Accepted and no schedule.",
        fails=AcceptanceTest.VENDOR_VARIANCE,
        evidence="solidstudio VCP (peers.md §4.3), evcc PR#15028, steve#462 (A24)",
        acceptance_failures=frozenset({_SCOPE, _STACK, _EDGES, _VARIANCE}),
        acceptance_why="an empty answer reads as 'nothing limits': every read-back differs",
        composite_answer=CompositeAnswer.EMPTY,
    ),
    Personality(
        name="composite-other-unit",
        summary="Reports the composite in the unit that was not requested (W for A, A for W).",
        fails=AcceptanceTest.VENDOR_VARIANCE,
        evidence="ev-server#1837, shiv3 simulator (A10)",
        acceptance_failures=frozenset({_VARIANCE}),
        acceptance_why="the production read-back converts the unit (A10); the variance check holds the unit strictly",
        composite_answer=CompositeAnswer.OTHER_UNIT,
    ),
    Personality(
        name="composite-minus-one",
        summary="Reports -1 where no profile limits (otherwise EVerest-like).",
        fails=AcceptanceTest.VENDOR_VARIANCE,
        evidence="openevse#856 (MicroOcpp, A24)",
        acceptance_failures=frozenset({_VARIANCE}),
        acceptance_why=(
            "the production read-back reads -1 as 'no limit' (A24); the variance check holds it against the "
            "everest dialect's local limit"
        ),
        dialect_overrides={"no_limit": NoLimitReport.MINUS_ONE},
    ),
    Personality(
        name="composite-huge-default",
        summary="Reports a huge default (999 A / 999 kW) where no profile limits.",
        fails=AcceptanceTest.VENDOR_VARIANCE,
        evidence="libocpp default-limit reports, A24",
        acceptance_failures=frozenset({_VARIANCE}),
        acceptance_why=(
            "the production read-back reads 999 A as 'no limit' (A24); the variance check holds it against the "
            "everest dialect's 48 A"
        ),
        reported_default_limit_a=999.0,
        reported_default_limit_w=999_000.0,
    ),
)

DEFAULT_PERSONALITY = PERSONALITIES["everest"]


def get_personality(name: str) -> Personality:
    """The personality called ``name``; raises KeyError naming the known ones."""
    try:
        return PERSONALITIES[name]
    except KeyError:
        raise KeyError(f"unknown personality {name!r}; known: {', '.join(PERSONALITIES)}") from None
