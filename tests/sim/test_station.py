"""The simulated station without a network: limits, sessions, energy, offline holding, reboot."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattcap.core.holdings_clear import ClearChargingProfileRequest
from wattcap.core.model import OcppVersion
from wattcap.core.station import DEFAULT_LIMIT_A, CurrentType
from wattcap.sim.ev import EV, EVSpec
from wattcap.sim.events import (
    AuthorizeRequested,
    ChargingStateChanged,
    EVChargingNeedsNotified,
    MeterValuesReceived,
    TransactionEnded,
    TransactionStarted,
)
from wattcap.sim.station import ConnectorStatus

from .helpers import BIG_EV, T0, K, P, W, at, charging, profile, station

VERSIONS = [OcppVersion.V16, OcppVersion.V201]


@pytest.mark.parametrize("version", VERSIONS)
def test_tx_profile_limits_what_the_ev_draws(version):
    s = station(version=version)
    tx = charging(s)
    assert s.evse(1).current_a == 32.0
    verdict, _ = s.set_charging_profile(1, profile(1, 10.0, transaction_id=tx), at(5))
    assert verdict.accepted
    view = s.evse(1)
    assert (view.current_a, view.phases, view.offered) == (10.0, 3, 10.0)
    assert view.power_w == pytest.approx(10 * 230 * 3)


def test_energy_register_follows_the_limit_period_by_period():
    s = station()
    tx = charging(s)
    s.set_charging_profile(1, profile(1, (16.0, 8.0), transaction_id=tx, step_s=600), T0)
    s.advance(at(1200))
    expected = (16 * 690 * 600 + 8 * 690 * 600) / 3600
    assert s.evse(1).register_wh == pytest.approx(expected)
    assert s.evse(1).current_a == 8.0


def test_a_limit_in_watts_binds_an_ac_station_over_its_phases():
    s = station()
    tx = charging(s)
    s.set_charging_profile(1, profile(1, 6900.0, unit=W, transaction_id=tx), T0)
    assert s.evse(1).current_a == pytest.approx(10.0)


def test_number_phases_one_makes_a_switching_station_charge_on_one_phase():
    s = station()
    tx = charging(s)
    s.set_charging_profile(1, profile(1, 16.0, number_phases=1, transaction_id=tx), T0)
    view = s.evse(1)
    assert (view.phases, view.current_a) == (1, 16.0)


def test_a_station_max_is_shared_between_its_evses():
    s = station(evses=2)
    charging(s, 1)
    charging(s, 2)
    s.set_charging_profile(0, profile(1, 32.0, purpose=P.CHARGING_STATION_MAX), T0)
    assert s.evse(1).current_a + s.evse(2).current_a == pytest.approx(32.0)
    assert s.evse(1).current_a == pytest.approx(16.0)


def test_a_limit_below_six_amps_suspends_charging():
    s = station()
    tx = charging(s)
    events = s.set_charging_profile(1, profile(1, 0.0, transaction_id=tx), T0)[1]
    assert s.evse(1).power_w == 0.0
    assert s.evse(1).status is ConnectorStatus.SUSPENDED_EVSE
    assert any(isinstance(e, ChargingStateChanged) and e.state == "SuspendedEVSE" for e in events)


def test_a_full_ev_suspends_itself():
    s = station()
    charging(s, soc=0.999)
    s.advance(at(3600))
    assert s.evse(1).status is ConnectorStatus.SUSPENDED_EV
    assert s.evse(1).ev.full


def test_departure_ends_the_transaction_and_frees_the_evse():
    s = station()
    s.plug_in(1, EV(BIG_EV, soc=0.2, departure=at(600)), T0, id_token="T")
    s.authorization_result(1, "T", True, T0)
    events = s.advance(at(900))
    ended = [e for e in events if isinstance(e, TransactionEnded)]
    assert len(ended) == 1 and ended[0].at == at(600) and ended[0].reason == "EVDisconnected"
    assert s.evse(1).status is ConnectorStatus.AVAILABLE


def test_offline_authorization_starts_at_once():
    s = station()
    s.set_online(False, T0)
    events = s.plug_in(1, EV(BIG_EV), T0, id_token="T")
    assert not any(isinstance(e, AuthorizeRequested) for e in events)
    assert any(isinstance(e, TransactionStarted) for e in events)


def test_tx_profile_is_gone_when_its_transaction_ends():
    s = station()
    tx = charging(s)
    s.set_charging_profile(1, profile(1, 10.0, transaction_id=tx), T0)
    s.unplug(1, at(60))
    assert len(s.holdings) == 0


@pytest.mark.parametrize("version", VERSIONS)
def test_profiles_survive_a_reboot(version):
    s = station(version=version)
    s.set_charging_profile(1, profile(7, 12.0, purpose=P.TX_DEFAULT), T0)
    charging(s)
    events = s.reboot(at(60))
    assert [e.reason for e in events if isinstance(e, TransactionEnded)] == ["Reboot"]
    assert [h.profile.id for h in s.holdings] == [7]
    s.set_online(True, at(90))
    s.authorization_result(1, "TAG1", True, at(90))
    assert s.evse(1).current_a == 12.0


def test_offline_station_keeps_enforcing_until_valid_to():
    s = station()
    s.set_charging_profile(1, profile(3, 10.0, purpose=P.TX_DEFAULT, valid_to=at(1800)), T0)
    charging(s)
    s.set_online(False, at(10))
    s.advance(at(1700))
    assert s.evse(1).current_a == 10.0
    s.advance(at(1900))
    assert s.evse(1).current_a == 32.0
    assert len(s.holdings) == 0  # expired and dropped


def test_relative_profile_ends_with_its_duration():
    s = station()
    tx = charging(s)
    s.set_charging_profile(1, profile(4, 10.0, kind=K.RELATIVE, duration=900, transaction_id=tx), at(60))
    s.advance(at(800))
    assert s.evse(1).current_a == 10.0
    s.advance(at(1000))
    assert s.evse(1).current_a == 32.0


@pytest.mark.parametrize("version", VERSIONS)
def test_remote_start_needs_a_plugged_ev_and_applies_its_profile(version):
    s = station(version=version)
    tx_profile = profile(9, 8.0, kind=K.RELATIVE)
    assert not s.remote_start(1, "REMOTE", T0, profile=tx_profile)[0]
    s.plug_in(1, EV(BIG_EV), T0)
    accepted, events = s.remote_start(1, "REMOTE", T0, profile=tx_profile, remote_start_id=5)
    assert accepted
    started = next(e for e in events if isinstance(e, TransactionStarted))
    assert started.remote_start_id == 5
    assert s.evse(1).current_a == 8.0


def test_1_6_transaction_ids_come_from_the_control_plane():
    s = station(version=OcppVersion.V16)
    s.plug_in(1, EV(BIG_EV), T0)
    s.remote_start(1, "REMOTE", T0, profile=profile(9, 8.0, kind=K.RELATIVE))
    tx = s.evse(1).transaction
    assert tx.transaction_id is None
    s.transaction_id_assigned(tx.key, "4711", at(1))
    assert s.evse(1).transaction.transaction_id == "4711"
    assert s.holdings.find(9).profile.transaction_id == "4711"
    assert s.evse(1).current_a == 8.0


@pytest.mark.parametrize(
    ("evse_id", "bad", "reason"),
    [
        (1, profile(1, 10.0, transaction_id="77"), "TxNotFound"),
        (1, profile(1, 10.0, purpose=P.TX_DEFAULT, stack_level=9), "InvalidStackLevel"),
        (3, profile(1, 10.0, purpose=P.TX_DEFAULT), "UnknownEvse"),
        (1, profile(1, 10.0, purpose=P.CHARGING_STATION_MAX), "InvalidValue"),
        (0, profile(1, 10.0, purpose=P.CHARGING_STATION_MAX, kind=K.RELATIVE), "InvalidValue"),
        (1, profile(1, 10.0, purpose=P.TX_DEFAULT, start=None), "InvalidSchedule"),
        (1, profile(1, tuple(float(6 + i) for i in range(30)), purpose=P.TX_DEFAULT), "TooManyElements"),
    ],
)
def test_a_compliant_station_rejects_what_the_rules_forbid(evse_id, bad, reason):
    s = station()
    verdict, _ = s.set_charging_profile(evse_id, bad, T0)
    assert not verdict.accepted
    assert verdict.reason_code == reason
    assert len(s.holdings) == 0


def test_2_0_1_rejects_a_second_profile_with_the_same_stack_level_and_purpose():
    s = station()
    assert s.set_charging_profile(1, profile(1, 10.0, purpose=P.TX_DEFAULT), T0)[0].accepted
    verdict, _ = s.set_charging_profile(1, profile(2, 12.0, purpose=P.TX_DEFAULT), T0)
    assert verdict.reason_code == "DuplicateProfile"


def test_1_6_replaces_a_profile_with_the_same_stack_level_and_purpose():
    s = station(version=OcppVersion.V16)
    s.set_charging_profile(1, profile(1, 10.0, purpose=P.TX_DEFAULT), T0)
    assert s.set_charging_profile(1, profile(2, 12.0, purpose=P.TX_DEFAULT), T0)[0].accepted
    assert [h.profile.id for h in s.holdings] == [2]


def test_clearing_a_profile_lifts_its_limit():
    s = station()
    s.set_charging_profile(1, profile(5, 10.0, purpose=P.TX_DEFAULT), T0)
    charging(s)
    assert s.evse(1).current_a == 10.0
    status, _ = s.clear_charging_profile(ClearChargingProfileRequest(profile_id=5), at(10))
    assert status == "Accepted"
    assert s.evse(1).current_a == 32.0


def test_dc_station_limits_power():
    s = station(current_type=CurrentType.DC)
    tx = charging(s)
    assert s.evse(1).power_w == 150_000.0
    s.set_charging_profile(1, profile(1, 50_000.0, unit=W, transaction_id=tx), T0)
    assert s.evse(1).power_w == 50_000.0


def test_composite_answer_reports_the_local_limit_where_nothing_applies():
    """An EVerest-family station reports its configured default (48 A unless set), not its 32 A hardware."""
    s = station()
    answer = s.composite_answer(1, 3600, None, T0)
    assert answer.accepted
    assert [(p.start_period, p.limit) for p in answer.schedule.periods] == [(0, DEFAULT_LIMIT_A)]
    assert not s.composite_answer(7, 3600, None, T0).accepted


def test_meter_values_carry_power_currents_energy_and_offer():
    s = station()
    charging(s)
    s.advance(at(600))
    [values] = [e for e in s.meter_values(at(600)) if isinstance(e, MeterValuesReceived)]
    by_name = {(m.measurand, m.phase): m.value for m in values.samples}
    assert by_name[("Power.Active.Import", None)] == 32 * 690
    assert by_name[("Current.Import", "L1")] == 32.0
    assert by_name[("Current.Offered", None)] == 32.0
    assert by_name[("Energy.Active.Import.Register", None)] == pytest.approx(32 * 690 / 6, abs=0.1)


def test_an_iso15118_ev_announces_its_charging_needs():
    s = station()
    s.plug_in(1, EV(EVSpec("iso", iso15118=True), soc=0.5, departure=at(7200)), T0, id_token="T")
    events = s.authorization_result(1, "T", True, T0)
    [needs] = [e for e in events if isinstance(e, EVChargingNeedsNotified)]
    assert needs.requested_energy_transfer == "AC_three_phase"
    assert needs.departure_time == at(7200)
    assert needs.energy_amount_wh == 30_000


# ---- properties ------------------------------------------------------------------------------------------

EV_SPECS = st.builds(
    EVSpec,
    battery_wh=st.sampled_from([20_000.0, 60_000.0, 300_000.0]),
    ac_max_current_a=st.sampled_from([10.0, 16.0, 32.0]),
    ac_phases=st.sampled_from([1, 3]),
    dc_max_power_w=st.sampled_from([40_000.0, 150_000.0]),
)


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(0, 400).map(lambda n: n / 10),
    soc=st.floats(0.0, 0.99),
    ev=EV_SPECS,
    phases=st.sampled_from([1, 3]),
    seconds=st.integers(1, 7200),
)
def test_a_compliant_ac_station_never_draws_above_its_limit(limit, soc, ev, phases, seconds):
    s = station(phases=phases)
    tx = charging(s, ev=ev, soc=soc)
    s.set_charging_profile(1, profile(1, limit, transaction_id=tx), T0)
    before = s.evse(1).register_wh
    s.advance(at(seconds))
    view = s.evse(1)
    assert view.current_a <= limit + 1e-9
    assert view.current_a == 0 or view.offered >= 6  # IEC 61851: it offers 6 A or nothing
    assert view.power_w <= limit * 230 * phases + 1e-6
    assert before <= view.register_wh <= before + limit * 230 * phases * seconds / 3600 + 1e-6


@settings(max_examples=40, deadline=None)
@given(
    cap=st.integers(0, 640).map(lambda n: n / 10),
    evs=st.lists(EV_SPECS, min_size=2, max_size=4),
)
def test_a_shared_station_max_caps_the_sum_of_the_evses(cap, evs):
    s = station(evses=len(evs))
    for evse_id, ev in enumerate(evs, start=1):
        charging(s, evse_id, ev=ev)
    s.set_charging_profile(0, profile(1, cap, purpose=P.CHARGING_STATION_MAX), T0)
    s.advance(at(60))
    assert sum(s.evse(i).current_a for i in range(1, len(evs) + 1)) <= cap + 1e-6


@settings(max_examples=40, deadline=None)
@given(limit_w=st.integers(0, 200).map(lambda n: n * 1000.0), ev=EV_SPECS)
def test_a_compliant_dc_station_never_draws_above_its_limit(limit_w, ev):
    s = station(current_type=CurrentType.DC)
    tx = charging(s, ev=ev)
    s.set_charging_profile(1, profile(1, limit_w, unit=W, transaction_id=tx), T0)
    s.advance(at(300))
    assert s.evse(1).power_w <= limit_w + 1e-6


def test_a_shared_station_max_lets_a_nearly_full_ev_finish():
    s = station(evses=2)
    charging(s, 1, soc=0.995)  # wants about 5 A: it is offered at least 6 A, or it could never finish
    charging(s, 2)
    s.set_charging_profile(0, profile(1, 32.0, purpose=P.CHARGING_STATION_MAX), T0)
    assert 0 < s.evse(1).current_a < 6.0
    assert s.evse(1).offered == 6.0 and s.evse(2).current_a == 26.0
    s.advance(at(7200))
    assert s.evse(1).ev.full and s.evse(2).current_a == 32.0
