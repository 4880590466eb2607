"""The charging profiles that carry the site cap's decisions to a charger.

Two kinds, both in wattcap's bands so nobody else's profiles are touched:

* the **session limit**, a TxProfile for the running transaction (``transactionId`` set), Absolute with its
  ``startSchedule`` a little in the past (a charger whose clock runs behind must not see a schedule that has not
  started yet) and a ``validTo`` at the end of its lease: when wattcap stops renewing it, the charger drops it on
  its own and falls back to the EVSE's default;
* the **fallback**, a TxDefaultProfile on the EVSE with no end: what the EVSE may draw for a session nobody has
  told it about (a new session, or after a lease lapsed, or while the control plane is gone).

Limits go in A on AC when the charger takes A, else in W (I × V × phases); DC always in W.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from wattcap.core.model import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
)
from wattcap.core.sitecap.model import EvseSpec
from wattcap.core.station import CurrentType

__all__ = ["BACKDATE_S", "fallback_profile", "rate_unit_for", "session_limit_profile"]

#: How far a session limit's startSchedule lies in the past.
BACKDATE_S = 60


def rate_unit_for(evse: EvseSpec, units: tuple[ChargingRateUnit, ...]) -> ChargingRateUnit:
    """A for AC wherever the charger takes it; W for DC or a W-only charger."""
    if evse.current_type is CurrentType.AC and ChargingRateUnit.A in units:
        return ChargingRateUnit.A
    return ChargingRateUnit.W


def _period(evse: EvseSpec, unit: ChargingRateUnit, current_a: float, phases: int, power_w: float | None) -> (
    ChargingSchedulePeriod
):
    if unit is ChargingRateUnit.A:
        # Floored to the wire's 0.1 A: a limit is never rounded up past what the allocator granted.
        return ChargingSchedulePeriod(0, limit=math.floor(current_a * 10 + 1e-9) / 10, number_phases=phases)
    watts = power_w if power_w is not None else current_a * evse.voltage_v * phases
    if evse.current_type is CurrentType.DC:
        return ChargingSchedulePeriod(0, limit=float(int(watts)))
    return ChargingSchedulePeriod(0, limit=float(int(watts)), number_phases=phases)


def session_limit_profile(
    evse: EvseSpec,
    *,
    transaction_id: str,
    current_a: float,
    phases: int,
    power_w: float | None,
    lease_until: datetime | None,
    now: datetime,
    unit: ChargingRateUnit,
) -> ChargingProfile:
    """The TxProfile for one allocation (id and stack level are the band's, filled in by the lifecycle)."""
    start = (now - timedelta(seconds=BACKDATE_S)).replace(microsecond=0)
    schedule = ChargingSchedule(unit, (_period(evse, unit, current_a, phases, power_w),), start_schedule=start)
    return ChargingProfile(
        id=0, stack_level=0, purpose=ChargingProfilePurpose.TX, kind=ChargingProfileKind.ABSOLUTE,
        schedules=(schedule,), valid_to=lease_until, transaction_id=transaction_id,
    )


def fallback_profile(
    evse: EvseSpec, *, current_a: float, phases: int, now: datetime, unit: ChargingRateUnit
) -> ChargingProfile:
    """The EVSE's TxDefaultProfile: the fallback share, with no end."""
    start = (now - timedelta(seconds=BACKDATE_S)).replace(microsecond=0)
    schedule = ChargingSchedule(unit, (_period(evse, unit, current_a, phases, None),), start_schedule=start)
    return ChargingProfile(
        id=0, stack_level=0, purpose=ChargingProfilePurpose.TX_DEFAULT, kind=ChargingProfileKind.ABSOLUTE,
        schedules=(schedule,),
    )
