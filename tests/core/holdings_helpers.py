"""Builders and hypothesis strategies shared by the holdings tests."""

from __future__ import annotations

from datetime import datetime

from hypothesis import strategies as st

from wattcap.core.holdings import ChargerHoldings
from wattcap.core.holdings_policy import InstallPolicy
from wattcap.core.model import (
    ChargingLimitSource,
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    OcppVersion,
    RecurrencyKind,
)
from wattcap.core.timeutil import utc

MAX = ChargingProfilePurpose.CHARGING_STATION_MAX
TX_DEFAULT = ChargingProfilePurpose.TX_DEFAULT
TX = ChargingProfilePurpose.TX
EXTERNAL = ChargingProfilePurpose.CHARGING_STATION_EXTERNAL_CONSTRAINTS

T0 = utc(2024, 1, 1)


def make_profile(
    profile_id: int,
    *,
    stack_level: int = 0,
    purpose: ChargingProfilePurpose = TX_DEFAULT,
    kind: ChargingProfileKind = ChargingProfileKind.ABSOLUTE,
    transaction_id: str | None = None,
    start_schedule: datetime | None = T0,
    duration: int | None = None,
    valid_to: datetime | None = None,
    recurrency_kind: RecurrencyKind | None = None,
    limit: float = 16.0,
    schedule_id: int | None = 1,
) -> ChargingProfile:
    if kind is ChargingProfileKind.RELATIVE:
        start_schedule = None
    schedule = ChargingSchedule(
        charging_rate_unit=ChargingRateUnit.A,
        periods=(ChargingSchedulePeriod(start_period=0, limit=limit),),
        id=schedule_id,
        start_schedule=start_schedule,
        duration=duration,
    )
    return ChargingProfile(
        id=profile_id,
        stack_level=stack_level,
        purpose=purpose,
        kind=kind,
        schedules=(schedule,),
        recurrency_kind=recurrency_kind,
        valid_to=valid_to,
        transaction_id=transaction_id,
    )


def holdings_of(policy: InstallPolicy | OcppVersion, *installs: tuple) -> ChargerHoldings:
    """Install ``(evse_id, profile)`` or ``(evse_id, profile, source)`` tuples in order."""
    holdings = ChargerHoldings.empty(policy)
    for install in installs:
        holdings = holdings.install(*install)
    return holdings


def report_station() -> ChargerHoldings:
    """A 2.0.1 station for GetChargingProfiles: CSO profiles on evse 0 and 1, ExternalConstraints from EMS and SO."""
    return holdings_of(
        OcppVersion.V201,
        (0, make_profile(1, purpose=MAX)),
        (0, make_profile(2, purpose=TX_DEFAULT, stack_level=0)),
        (1, make_profile(5, purpose=TX_DEFAULT, stack_level=2)),
        (1, make_profile(3, purpose=TX_DEFAULT, stack_level=1)),
        (1, make_profile(4, purpose=TX, transaction_id="t-1")),
        (0, make_profile(8, purpose=EXTERNAL), ChargingLimitSource.EMS),
        (2, make_profile(9, purpose=EXTERNAL, stack_level=1), ChargingLimitSource.SO),
    )


PURPOSES = {
    OcppVersion.V16: (MAX, TX_DEFAULT, TX),
    OcppVersion.V201: (MAX, TX_DEFAULT, TX, EXTERNAL),
}


@st.composite
def installs(draw, version: OcppVersion) -> tuple[int, ChargingProfile, str]:
    """One install as the charger could receive it: small id, level and EVSE ranges so that collisions are common.

    ExternalConstraints come from an external source; everything else from the CSMS. Each install is one the
    validator could have accepted as far as purpose and EVSE go (Max on 0, TxProfile on > 0).
    """
    purpose = draw(st.sampled_from(PURPOSES[version]))
    evse_id = 0 if purpose is MAX else draw(st.integers(1, 2)) if purpose is TX else draw(st.integers(0, 2))
    source = (
        draw(st.sampled_from([ChargingLimitSource.EMS, ChargingLimitSource.SO]))
        if purpose is EXTERNAL
        else (ChargingLimitSource.CSO)
    )
    profile = make_profile(
        draw(st.integers(1, 6)),
        stack_level=draw(st.integers(0, 2)),
        purpose=purpose,
        transaction_id=draw(st.sampled_from(["11", "12"])) if purpose is TX else None,
        duration=draw(st.one_of(st.none(), st.integers(1, 86_400))),
        limit=draw(st.sampled_from([6.0, 10.0, 16.5, 32.0])),
    )
    return evse_id, profile, source


def install_all(holdings: ChargerHoldings, sequence) -> ChargerHoldings:
    """Install each item, skipping those the holdings refuse (a CSMS replacing ExternalConstraints)."""
    for evse_id, profile, source in sequence:
        if not holdings.blocked_by(evse_id, profile, source):
            holdings = holdings.install(evse_id, profile, source)
    return holdings
