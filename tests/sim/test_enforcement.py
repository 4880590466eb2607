"""Sharing a station maximum and following a target: the two rules of enforcement that are not the engine's."""

from __future__ import annotations

import math

import pytest

from wattcap.sim.enforcement import Offer, share


def test_share_gives_each_its_demand_and_the_rest_to_the_others():
    assert share(32.0, {1: 10.0, 2: 32.0}, {1: 32.0, 2: 32.0}) == {1: 10.0, 2: 22.0}
    assert share(30.0, {1: 32.0, 2: 32.0, 3: 32.0}, {1: 32.0, 2: 32.0, 3: 32.0}) == {1: 10.0, 2: 10.0, 3: 10.0}
    assert share(100.0, {1: 16.0, 2: 20.0}, {1: 16.0, 2: 20.0}) == {1: 16.0, 2: 20.0}


def test_share_never_exceeds_an_evse_limit():
    assert share(64.0, {1: 40.0, 2: 40.0}, {1: 16.0, 2: 40.0})[1] == 16.0


def test_an_offer_follows_at_once_by_default():
    offer = Offer()
    assert offer.follow(32.0, 0.0) == math.inf
    offer.follow(10.0, 5.0)
    assert offer.applied == 10.0


def test_a_delayed_offer_changes_when_the_delay_is_over():
    offer = Offer()
    offer.follow(32.0, 0.0, delay_s=30)
    assert offer.follow(10.0, 100.0, delay_s=30) == 130.0
    assert offer.applied == 32.0
    offer.follow(10.0, 130.0, delay_s=30)
    assert offer.applied == 10.0


def test_a_ramping_offer_moves_at_its_rate_both_ways():
    offer = Offer()
    offer.follow(32.0, 0.0, rate_per_s=2.0)
    offer.follow(10.0, 0.0, rate_per_s=2.0)
    offer.follow(10.0, 5.0, rate_per_s=2.0)
    assert offer.applied == pytest.approx(22.0)
    offer.follow(30.0, 10.0, rate_per_s=2.0)
    assert offer.applied == pytest.approx(30.0)
