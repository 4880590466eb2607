"""OCPP 2.1: PriorityCharging, operation modes per purpose, optional limits, randomized delays."""

from __future__ import annotations

import pytest

from wattcap.core.model import OperationMode
from wattcap.core.validation import ReasonCode

from .validation_helpers import (
    EXTERNAL,
    LOCAL_GENERATION,
    MAX,
    PRIORITY,
    TX,
    TX_DEFAULT,
    V21,
    V201,
    check,
    of_rule,
    only,
    period,
    profile,
    running,
    station,
    with_schedule,
)

M = OperationMode
P0 = "chargingSchedule[0].chargingSchedulePeriod[0]"
PRIORITY_STATION = station(supported_additional_purposes=(PRIORITY, LOCAL_GENERATION))


def test_K01_FR_73_priority_charging_has_no_duration():
    priority = profile(purpose=PRIORITY)
    assert check(priority, V21, station=PRIORITY_STATION) == []
    finding = only(check(with_schedule(priority, duration=3600), V21, station=PRIORITY_STATION), "K01.FR.73")
    assert finding.path == "chargingSchedule[0].duration"


def _assert_modes(rule_id, purpose, allowed, refused):
    evse = 0 if purpose is MAX else 1
    fine = profile(period(operation_mode=allowed), purpose=purpose)
    assert of_rule(check(fine, V21, evse_id=evse, station=PRIORITY_STATION), rule_id) == []
    wrong = profile(period(operation_mode=refused), purpose=purpose)
    finding = only(check(wrong, V21, evse_id=evse, station=PRIORITY_STATION), rule_id)
    assert finding.path == f"{P0}.operationMode" and finding.reason_code is ReasonCode.INVALID_OPERATION_MODE


@pytest.mark.parametrize(("purpose", "refused"), [(PRIORITY, M.CENTRAL_SETPOINT), (MAX, M.IDLE)])
def test_K01_FR_111_priority_charging_and_station_max_only_charge(purpose, refused):
    _assert_modes("K01.FR.111", purpose, M.CHARGING_ONLY, refused)


def test_K01_FR_112_external_constraints_modes():
    _assert_modes("K01.FR.112", EXTERNAL, M.EXTERNAL_SETPOINT, M.LOCAL_FREQUENCY)


def test_K01_FR_113_local_generation_modes():
    _assert_modes("K01.FR.113", LOCAL_GENERATION, M.EXTERNAL_LIMITS, M.EXTERNAL_SETPOINT)


def test_K01_FR_111_tx_profiles_may_use_any_mode():
    v2x = profile(period(operation_mode=M.CENTRAL_FREQUENCY), purpose=TX, transaction_id="t")
    assert check(v2x, V21, transactions=[running(transaction_id="t")]) == []


def test_WC_E14_a_period_without_limit_only_where_the_mode_needs_none():
    assert check(profile(period(limit=None, operation_mode=M.EXTERNAL_LIMITS)), V21) == []
    for mode in (None, M.CHARGING_ONLY, M.IDLE):
        assert only(check(profile(period(limit=None, operation_mode=mode)), V21), "WC-E14").path == f"{P0}.limit"


def test_WC_E14_before_21_the_limit_is_simply_required():
    assert only(check(profile(period(limit=None)), V201), "WC-S02").path == f"{P0}.limit"


def test_WC_E15_randomized_delay_only_for_tx_and_tx_default():
    assert check(with_schedule(profile(purpose=TX_DEFAULT), randomized_delay=600), V21) == []
    capped = with_schedule(profile(purpose=MAX), randomized_delay=600)
    assert only(check(capped, V21, evse_id=0), "WC-E15").path == "chargingSchedule[0].randomizedDelay"
