"""Fleet rules and charging goals as plain data: what a rule decides for a session, and what the planner needs.

A :class:`SessionPolicy` is the outcome of the rules for one session: how the site-cap allocator should weigh it
(``weight``, ``priority``), a ceiling (``max_power_w`` / ``max_current_a``), an optional :class:`ChargingGoal`
(energy or state of charge by a departure time, with a :class:`Strategy`), and an optional TxProfile template.
The shell (``wattcap.server.fleet``) turns the policy into a ``SessionDemand`` for the allocator and, for a goal,
into a plan (:mod:`wattcap.core.fleet.planner`) sent as a TxProfile.

:class:`SessionFacts` is everything a rule may match on, gathered by the shell when a session is authorised or
starts (and again when something relevant changes: the EV announces its needs, a time-of-day window opens).

Energies in Wh, powers in W, currents in A per phase, times aware UTC; a rule's times of day are local to the
rule set's time zone and resolved by the rules module, never here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from wattcap.core.model import ChargingRateUnit

__all__ = [
    "PRIORITY_CLASSES",
    "ChargingGoal",
    "ProfileTemplate",
    "SessionFacts",
    "SessionPolicy",
    "Strategy",
    "TemplatePeriod",
    "Vehicle",
]

#: Named priority classes a rule may use instead of a number (higher is served first by the allocator).
PRIORITY_CLASSES: dict[str, int] = {"low": -10, "normal": 0, "high": 10, "critical": 20}


class Strategy(StrEnum):
    """How a goal is reached: as soon as possible, at the lowest energy cost, or with the most solar surplus."""

    FASTEST = "fastest"
    CHEAPEST = "cheapest"
    SOLAR = "solar"


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A vehicle the operator knows (the id-token → vehicle registry), or one the EV described itself."""

    id: str
    type: str | None = None
    battery_wh: float | None = None
    max_ac_current_a: float | None = None
    ac_phases: int | None = None
    max_dc_power_w: float | None = None
    id_tokens: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """What is known about a session when rules are evaluated. ``at`` is when (aware UTC)."""

    at: datetime
    station_id: str
    evse_id: int
    site_id: str | None = None
    id_token: str | None = None
    id_token_group: str | None = None
    vehicle: Vehicle | None = None
    connector_type: str | None = None  # 2.0.1 connectorType (cType2, cCCS2 …), None on 1.6
    #: From the EV itself (2.0.1 NotifyEVChargingNeeds): energy it asks for and when it leaves.
    ev_energy_wh: float | None = None
    ev_departure: datetime | None = None
    soc_percent: float | None = None


@dataclass(frozen=True, slots=True)
class ChargingGoal:
    """Deliver ``energy_wh`` (or reach ``soc_percent``) by ``departure``.

    In a rule the departure is a local time of day or an offset; the rules module resolves it to an aware UTC
    ``departure`` for the session, so the planner only ever sees absolute times. When both an energy and a SoC
    are given the shell uses the SoC if the EV's SoC and battery size are known, else the energy.
    """

    departure: datetime
    strategy: Strategy = Strategy.FASTEST
    energy_wh: float | None = None
    soc_percent: float | None = None


@dataclass(frozen=True, slots=True)
class TemplatePeriod:
    """One step of a rule's TxProfile template: from ``start_s`` seconds after the session starts."""

    start_s: int
    limit: float
    number_phases: int | None = None


@dataclass(frozen=True, slots=True)
class ProfileTemplate:
    """A TxProfile shape a rule attaches to its sessions (Relative to the session start), in ``unit``."""

    unit: ChargingRateUnit
    periods: tuple[TemplatePeriod, ...]


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """What the rules decided for one session (``rule`` names the rule; None: no rule matched, defaults)."""

    rule: str | None = None
    weight: float = 1.0
    priority: int = 0
    max_power_w: float | None = None
    max_current_a: float | None = None
    goal: ChargingGoal | None = None
    template: ProfileTemplate | None = None
    notes: tuple[str, ...] = field(default=())
