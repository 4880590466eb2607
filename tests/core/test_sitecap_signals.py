"""Signals on a site's nodes: what limit and load are in force at an instant, and what happens when they go stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wattcap.core.model import ChargingProfilePurpose, ChargingRateUnit
from wattcap.core.sitecap.model import EvseSpec, Node, SiteTopology
from wattcap.core.sitecap.profiles import BACKDATE_S, fallback_profile, rate_unit_for, session_limit_profile
from wattcap.core.sitecap.signals import LimitPoint, LimitSchedule, LoadReading, SignalError, resolve_limits
from wattcap.core.station import CurrentType

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
GRID = Node("grid", max_current_a=100, safe_current_a=60, max_power_w=60_000, safe_power_w=40_000)
FEEDER = Node("feeder", parent="grid", max_current_a=63)
SITE = SiteTopology((GRID, FEEDER), (EvseSpec("CP1", 1, "feeder"),))


def schedule(*points: tuple[int, float], ttl_s: int = 600, received: datetime = T0) -> LimitSchedule:
    return LimitSchedule(
        "grid", tuple(LimitPoint(T0 + timedelta(seconds=s), current_a=a) for s, a in points), received, ttl_s, "dso"
    )


def test_without_signals_every_node_has_its_static_limit():
    limits = resolve_limits(SITE, T0)
    assert limits["grid"].current_a == 100 and limits["grid"].power_w == 60_000 and limits["grid"].source == "static"
    assert limits["feeder"].current_a == 63 and limits["feeder"].non_ev_load_a == (0.0, 0.0, 0.0)


def test_a_live_schedule_sets_the_limit_of_the_point_in_force():
    sched = schedule((0, 80), (300, 50))
    assert resolve_limits(SITE, T0 + timedelta(seconds=10), [sched])["grid"].current_a == 80
    at_change = resolve_limits(SITE, T0 + timedelta(seconds=300), [sched])["grid"]
    assert at_change.current_a == 50 and at_change.source == "dso"


def test_a_schedule_never_raises_a_node_above_its_static_limit():
    assert resolve_limits(SITE, T0, [schedule((0, 250))])["grid"].current_a == 100


def test_before_the_first_point_the_static_limit_holds():
    assert resolve_limits(SITE, T0, [schedule((60, 20))])["grid"].current_a == 100


def test_a_stale_schedule_falls_back_to_the_safe_limit_not_the_static_one():
    limits = resolve_limits(SITE, T0 + timedelta(seconds=600), [schedule((0, 90), ttl_s=600)])["grid"]
    assert limits.current_a == 60 and limits.power_w == 40_000 and limits.source.startswith("safe")


def test_building_load_is_subtracted_per_phase_and_a_stale_reading_uses_the_configured_fallback():
    reading = LoadReading("grid", (10.0, 20.0, 5.0), T0, 60, "ems")
    assert resolve_limits(SITE, T0, loads=[reading])["grid"].non_ev_load_a == (10.0, 20.0, 5.0)
    later = T0 + timedelta(seconds=61)
    assert resolve_limits(SITE, later, loads=[reading])["grid"].non_ev_load_a == (10.0, 20.0, 5.0)
    worst = resolve_limits(SITE, later, loads=[reading], fallback_load_a={"grid": (40.0, 40.0, 40.0)})
    assert worst["grid"].non_ev_load_a == (40.0, 40.0, 40.0)


def test_a_power_reading_is_spread_over_three_phases():
    reading = LoadReading.from_power(GRID, 6900.0, received_at=T0, ttl_s=60, source="ems")
    assert reading.current_a == pytest.approx((10.0, 10.0, 10.0))


@pytest.mark.parametrize(
    "build",
    [
        lambda: LimitSchedule("grid", (), T0, 60, "x"),
        lambda: LimitSchedule("grid", (LimitPoint(T0, 1), LimitPoint(T0, 2)), T0, 60, "x"),
        lambda: LimitSchedule("grid", (LimitPoint(T0, 1),), T0, 0, "x"),
        lambda: LimitPoint(T0.replace(tzinfo=None), 1),
        lambda: LimitPoint(T0),
        lambda: LimitPoint(T0, -1),
        lambda: LoadReading("grid", (-1.0, 0.0, 0.0), T0, 60, "x"),
    ],
)
def test_malformed_signals_are_refused(build):
    with pytest.raises(SignalError):
        build()


# ---- the profiles that carry the decisions ----------------------------------------------------------------


def test_session_limit_is_an_absolute_txprofile_backdated_with_a_lease_and_the_transaction():
    evse = EvseSpec("CP1", 1, "feeder")
    lease = T0 + timedelta(seconds=300)
    profile = session_limit_profile(
        evse, transaction_id="tx-9", current_a=13.37, phases=3, power_w=None, lease_until=lease, now=T0,
        unit=ChargingRateUnit.A,
    )
    assert profile.purpose is ChargingProfilePurpose.TX and profile.transaction_id == "tx-9"
    assert profile.valid_to == lease
    assert profile.schedule.start_schedule == T0 - timedelta(seconds=BACKDATE_S)
    (period,) = profile.schedule.periods
    assert period.limit == 13.3 and period.number_phases == 3  # floored, never rounded up


def test_w_only_chargers_and_dc_get_watts():
    ac = EvseSpec("CP1", 1, "feeder")
    dc = EvseSpec("CP1", 2, "feeder", current_type=CurrentType.DC)
    assert rate_unit_for(ac, (ChargingRateUnit.A, ChargingRateUnit.W)) is ChargingRateUnit.A
    assert rate_unit_for(ac, (ChargingRateUnit.W,)) is ChargingRateUnit.W
    assert rate_unit_for(dc, (ChargingRateUnit.A, ChargingRateUnit.W)) is ChargingRateUnit.W
    profile = fallback_profile(ac, current_a=10, phases=3, now=T0, unit=ChargingRateUnit.W)
    assert profile.purpose is ChargingProfilePurpose.TX_DEFAULT and profile.valid_to is None
    assert profile.schedule.periods[0].limit == 6900.0
