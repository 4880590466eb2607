"""Expiry of held profiles; the persisted form that survives a reboot is tested in tests/ocpp_adapters."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from wattcap.core.holdings import profile_has_expired
from wattcap.core.model import ChargingProfileKind, OcppVersion, RecurrencyKind

from .holdings_helpers import MAX, T0, holdings_of, make_profile

ABSOLUTE = ChargingProfileKind.ABSOLUTE
RECURRING = ChargingProfileKind.RECURRING
RELATIVE = ChargingProfileKind.RELATIVE


# ---- expiry -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("offset_s", "expired"), [(-1, False), (0, True), (1, True)])
def test_K01_FR_37_R16_07_profile_has_expired_from_valid_to_on(offset_s, expired):
    valid_to = T0 + timedelta(hours=2)
    profile = make_profile(1, kind=RECURRING, recurrency_kind=RecurrencyKind.DAILY, valid_to=valid_to)
    assert profile_has_expired(profile, valid_to + timedelta(seconds=offset_s)) is expired


@pytest.mark.parametrize(("offset_s", "expired"), [(-1, False), (0, True)])
def test_K01_FR_11_absolute_profile_has_expired_when_its_duration_has_elapsed(offset_s, expired):
    profile = make_profile(1, kind=ABSOLUTE, start_schedule=T0, duration=3600)
    assert profile_has_expired(profile, T0 + timedelta(seconds=3600 + offset_s)) is expired


@pytest.mark.parametrize(
    "profile",
    [
        make_profile(1, kind=RECURRING, recurrency_kind=RecurrencyKind.DAILY, duration=3600),
        make_profile(1, kind=RELATIVE, duration=3600),
        make_profile(1, kind=ABSOLUTE, duration=None),
        make_profile(1, kind=ABSOLUTE, start_schedule=None, duration=3600),
    ],
    ids=["recurring", "relative", "absolute-without-duration", "absolute-without-start"],
)
def test_K01_FR_11_profiles_that_do_not_expire_by_duration(profile):
    assert not profile_has_expired(profile, T0 + timedelta(days=400))


def test_K01_FR_11_absolute_profile_with_several_schedules_expires_when_the_last_one_ends():
    short = make_profile(1, duration=600)
    profile = replace(short, schedules=(short.schedule, replace(short.schedule, id=2, duration=7200)))
    assert not profile_has_expired(profile, T0 + timedelta(seconds=3600))
    assert profile_has_expired(profile, T0 + timedelta(seconds=7200))


def test_expire_drops_expired_profiles_and_keeps_the_rest():
    holdings = holdings_of(
        OcppVersion.V201,
        (0, make_profile(1, purpose=MAX)),
        (1, make_profile(2, duration=600)),
        (1, make_profile(3, stack_level=1, valid_to=T0 + timedelta(seconds=60))),
        (1, make_profile(4, stack_level=2, duration=6000)),
    )
    now = T0 + timedelta(seconds=600)
    assert [e.profile.id for e in holdings.expired(now)] == [2, 3]
    assert [e.profile.id for e in holdings.expire(now)] == [1, 4]
