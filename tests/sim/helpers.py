"""Builders shared by the simulator tests: stations, EVs and profiles in a few words."""

from __future__ import annotations

from datetime import datetime, timedelta

from wattcap.core.model import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    OcppVersion,
    RecurrencyKind,
)
from wattcap.core.station import CurrentType
from wattcap.core.timeutil import utc
from wattcap.sim.ev import EV, EVSpec
from wattcap.sim.personalities import get_personality
from wattcap.sim.spec import EvseSpec, StationSpec
from wattcap.sim.station import SimStation

T0 = utc(2026, 3, 2, 8)
P = ChargingProfilePurpose
K = ChargingProfileKind
A, W = ChargingRateUnit.A, ChargingRateUnit.W

# An EV that would take 32 A on 3 phases (22 kW AC) or 150 kW DC, far from full.
BIG_EV = EVSpec("big", battery_wh=100_000, ac_max_current_a=32, ac_phases=3, dc_max_power_w=150_000)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def spec(
    *,
    version: OcppVersion = OcppVersion.V201,
    evses: int = 1,
    personality: str = "everest",
    current_type: CurrentType = CurrentType.AC,
    phases: int = 3,
    max_current_a: float = 32.0,
    max_power_w: float = 150_000.0,
    station_id: str = "SIM-001",
) -> StationSpec:
    return StationSpec(
        station_id=station_id,
        ocpp_version=version,
        evses=tuple(EvseSpec(i, max_current_a=max_current_a, max_power_w=max_power_w) for i in range(1, evses + 1)),
        current_type=current_type,
        phases=phases,
        voltage_v=230.0 if current_type is CurrentType.AC else 400.0,
        personality=get_personality(personality),
    )


def station(**kw) -> SimStation:
    s = SimStation(spec(**kw), T0)
    s.set_online(True, T0)
    return s


def charging(
    s: SimStation, evse_id: int = 1, *, ev: EVSpec = BIG_EV, soc: float = 0.2, now: datetime = T0
) -> str | None:
    """Plug an EV in, authorize it and return the transaction id the control plane would use."""
    s.plug_in(evse_id, EV(ev, soc=soc), now, id_token=f"TAG{evse_id}")
    s.authorization_result(evse_id, f"TAG{evse_id}", True, now)
    tx = s.evse(evse_id).transaction
    assert tx is not None
    if tx.transaction_id is None:  # 1.6: the control plane names it
        s.transaction_id_assigned(tx.key, str(100 + evse_id), now)
    return s.evse(evse_id).transaction.transaction_id


def profile(
    profile_id: int,
    limits: tuple[float, ...] | float,
    *,
    purpose: P = P.TX,
    kind: K = K.ABSOLUTE,
    stack_level: int = 0,
    unit: ChargingRateUnit = A,
    start: datetime | None = T0,
    step_s: int = 600,
    transaction_id: str | None = None,
    number_phases: int | None = None,
    duration: int | None = None,
    valid_to: datetime | None = None,
    recurrency: RecurrencyKind | None = None,
) -> ChargingProfile:
    values = limits if isinstance(limits, tuple) else (limits,)
    periods = tuple(ChargingSchedulePeriod(i * step_s, v, number_phases=number_phases) for i, v in enumerate(values))
    return ChargingProfile(
        id=profile_id,
        stack_level=stack_level,
        purpose=purpose,
        kind=kind,
        schedules=(
            ChargingSchedule(
                unit,
                periods,
                id=profile_id,
                start_schedule=None if kind is K.RELATIVE else start,
                duration=duration,
            ),
        ),
        recurrency_kind=recurrency,
        valid_to=valid_to,
        transaction_id=transaction_id,
    )
