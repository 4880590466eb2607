"""The EV model: what a vehicle draws from what it is offered, and how its charging curve tapers."""

from __future__ import annotations

import pytest

from wattcap.sim.ev import EV, EVSpec, ac_draw, curve_fraction, dc_draw

SPEC = EVSpec("test", battery_wh=50_000, ac_max_current_a=16, ac_phases=3, dc_max_power_w=100_000)


def test_curve_is_flat_until_the_taper_then_falls_to_the_floor():
    assert curve_fraction(SPEC, 0.1) == 1.0
    assert curve_fraction(SPEC, SPEC.taper_soc) == 1.0
    assert curve_fraction(SPEC, 1.0) == pytest.approx(SPEC.taper_floor)
    samples = [curve_fraction(SPEC, s / 100) for s in range(80, 101)]
    assert samples == sorted(samples, reverse=True)


def test_ac_ev_takes_the_lower_of_offer_and_on_board_charger():
    assert ac_draw(EV(SPEC, soc=0.5), 10.0, 3, 230.0).current_a == 10.0
    draw = ac_draw(EV(SPEC, soc=0.5), 32.0, 3, 230.0)
    assert (draw.current_a, draw.phases, draw.power_w) == (16.0, 3, 16 * 230 * 3)


def test_ac_offer_below_six_amps_means_no_charging():
    assert not ac_draw(EV(SPEC, soc=0.5), 5.9, 3, 230.0).charging
    assert ac_draw(EV(SPEC, soc=0.5), 6.0, 3, 230.0).current_a == 6.0


def test_ac_ev_uses_no_more_phases_than_offered_or_it_has():
    assert ac_draw(EV(SPEC, soc=0.5), 16.0, 1, 230.0).phases == 1
    one_phase = EVSpec("1ph", ac_phases=1)
    assert ac_draw(EV(one_phase, soc=0.5), 16.0, 3, 230.0).phases == 1


def test_ev_near_full_draws_less_and_full_draws_nothing():
    tapering = ac_draw(EV(SPEC, soc=0.95), 32.0, 3, 230.0)
    assert 0 < tapering.current_a < 16.0
    assert not ac_draw(EV(SPEC, soc=1.0), 32.0, 3, 230.0).charging
    assert not dc_draw(EV(SPEC, soc=1.0), 50_000.0).charging


def test_dc_ev_takes_the_lower_of_offer_and_curve():
    assert dc_draw(EV(SPEC, soc=0.5), 50_000.0).power_w == 50_000.0
    assert dc_draw(EV(SPEC, soc=0.5), 500_000.0).power_w == 100_000.0


def test_charging_fills_the_battery_up_to_the_target():
    ev = EV(SPEC, soc=0.5, target_soc=0.8)
    assert ev.charged(5_000).soc == pytest.approx(0.6)
    assert ev.charged(1e9).soc == 0.8
    assert ev.charged(1e9).full
