"""Electric vehicles as a station sees them: what they can draw, how that falls as the battery fills, and when
they leave.

The charging curve is deliberately simple and monotone: full capability up to ``taper_soc``, then a straight
line down to ``taper_floor`` of it at 100 % (the constant-voltage phase of a lithium pack). That is enough for a
control plane to see the two things it must handle: an EV that draws less than it is offered, and one that stops
drawing when full.

AC follows IEC 61851-1: the station offers a current per phase (the PWM duty cycle); below 6 A the EV may not
charge at all, at or above it the EV draws what it wants up to the offer. DC is a power the EV requests up to the
station's offer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from wattcap.core.station import CurrentType

#: IEC 61851-1: the smallest current an AC station may offer for charging; less means "pause".
MIN_AC_CURRENT_A = 6.0


@dataclass(frozen=True, slots=True)
class EVSpec:
    """What a vehicle model can do. Currents are per phase, powers total, energies in Wh."""

    model: str = "generic"
    battery_wh: float = 60_000.0
    ac_max_current_a: float = 16.0
    ac_phases: int = 3
    dc_max_power_w: float = 100_000.0
    dc_voltage_v: float = 400.0
    taper_soc: float = 0.8
    taper_floor: float = 0.15
    # The EV speaks ISO 15118 and announces its charging needs (2.0.1 NotifyEVChargingNeeds).
    iso15118: bool = False
    # Its ISO 15118 charging profile ignores the schedule it was given (it plans its own maximum throughout):
    # what the CSMS must reject (K15.FR.12). It still draws only what the station offers.
    plans_above_limit: bool = False

    def __post_init__(self) -> None:
        if self.battery_wh <= 0:
            raise ValueError("battery_wh must be positive")
        if self.ac_phases not in (1, 2, 3):
            raise ValueError("ac_phases must be 1, 2 or 3")
        if not 0.0 < self.taper_soc <= 1.0:
            raise ValueError("taper_soc must be in (0, 1]")


@dataclass(frozen=True, slots=True)
class EV:
    """One vehicle on one visit: its model, how full it is, and when it wants to leave."""

    spec: EVSpec
    soc: float = 0.3
    target_soc: float = 1.0
    departure: datetime | None = None
    id_token: str | None = None

    @property
    def full(self) -> bool:
        return self.soc >= self.target_soc - 1e-9

    @property
    def energy_needed_wh(self) -> float:
        return max(0.0, (self.target_soc - self.soc) * self.spec.battery_wh)

    def charged(self, energy_wh: float) -> EV:
        """This EV after ``energy_wh`` went into its battery (never past ``target_soc``)."""
        soc = min(self.target_soc, self.soc + max(0.0, energy_wh) / self.spec.battery_wh)
        return replace(self, soc=soc)


def curve_fraction(spec: EVSpec, soc: float) -> float:
    """How much of its maximum the EV accepts at ``soc``: 1 up to ``taper_soc``, falling linearly to
    ``taper_floor`` at 100 %."""
    if soc <= spec.taper_soc:
        return 1.0
    if soc >= 1.0:
        return spec.taper_floor
    span = 1.0 - spec.taper_soc
    return 1.0 - (1.0 - spec.taper_floor) * (soc - spec.taper_soc) / span


@dataclass(frozen=True, slots=True)
class Draw:
    """What an EV takes from an EVSE: power, current per phase and the number of phases carrying it."""

    power_w: float = 0.0
    current_a: float = 0.0
    phases: int = 0

    @property
    def charging(self) -> bool:
        return self.power_w > 0.0


NO_DRAW = Draw()


def ac_draw(ev: EV, offered_a: float, phases_available: int, voltage_v: float) -> Draw:
    """The EV's draw from an AC EVSE that offers ``offered_a`` per phase on ``phases_available`` phases.

    The minimum of the offer, the on-board charger and the charging curve; nothing below the 6 A minimum offer or
    once the EV is full.
    """
    if ev.full or offered_a < MIN_AC_CURRENT_A or phases_available < 1:
        return NO_DRAW
    phases = min(ev.spec.ac_phases, phases_available)
    current = min(offered_a, ev.spec.ac_max_current_a * curve_fraction(ev.spec, ev.soc))
    if current <= 0.0:
        return NO_DRAW
    return Draw(current * voltage_v * phases, current, phases)


def dc_draw(ev: EV, offered_w: float) -> Draw:
    """The EV's draw from a DC EVSE that offers ``offered_w``: the minimum of the offer and the curve."""
    if ev.full or offered_w <= 0.0:
        return NO_DRAW
    power = min(offered_w, ev.spec.dc_max_power_w * curve_fraction(ev.spec, ev.soc))
    if power <= 0.0:
        return NO_DRAW
    return Draw(power, power / ev.spec.dc_voltage_v, 1)


def requested_energy_transfer(ev: EV, current_type: CurrentType, phases_available: int) -> str:
    """The ISO 15118 energy transfer mode the EV asks for (2.0.1 ``EnergyTransferModeEnumType``)."""
    if current_type is CurrentType.DC:
        return "DC"
    return "AC_single_phase" if min(ev.spec.ac_phases, phases_available) == 1 else "AC_three_phase"


# A small catalogue of vehicle models used by fleets and scenarios (names are generic on purpose).
EV_MODELS: dict[str, EVSpec] = {
    "city": EVSpec("city", battery_wh=40_000, ac_max_current_a=32, ac_phases=1, dc_max_power_w=50_000),
    "compact": EVSpec("compact", battery_wh=58_000, ac_max_current_a=16, ac_phases=3, dc_max_power_w=120_000),
    "saloon": EVSpec(
        "saloon", battery_wh=77_000, ac_max_current_a=16, ac_phases=3, dc_max_power_w=150_000, iso15118=True
    ),
    "van": EVSpec("van", battery_wh=75_000, ac_max_current_a=16, ac_phases=3, dc_max_power_w=80_000),
    # An ISO 15118 EV whose own charging profile ignores the schedule it is given (K15.FR.12 must reject it).
    "eager": EVSpec(
        "eager", battery_wh=60_000, ac_max_current_a=32, ac_phases=3, dc_max_power_w=100_000, iso15118=True,
        plans_above_limit=True,
    ),
    "truck": EVSpec(
        "truck",
        battery_wh=300_000,
        ac_max_current_a=32,
        ac_phases=3,
        dc_max_power_w=150_000,
        dc_voltage_v=650,
        iso15118=True,
    ),
}


def ev_model(name: str) -> EVSpec:
    """The catalogue model ``name``; raises KeyError naming the known ones."""
    try:
        return EV_MODELS[name]
    except KeyError:
        raise KeyError(f"unknown EV model {name!r}; known: {', '.join(sorted(EV_MODELS))}") from None
