"""The cached key rewriting gives exactly the ``ocpp`` package's output, both ways, and its cache stays bounded."""

from __future__ import annotations

import ocpp.charge_point
import pytest

from wattcap.ocpp import key_case

from .test_message_schemas import VALID

ODD_KEYS = {"ocppCSMSURL": 1, "V2XChargingCtrlr": 2, "evMaxV2GEnergy": 3, "SOCLimitReached": 4, "socket": 5,
            "responderURL": 6, "stateOfCharge": 7, "ABCDef": 8, "a": 9, "": 10, "camelCase2X": [{"innerKey": 1}]}


@pytest.mark.parametrize("payload", [p for *_, p in VALID] + [ODD_KEYS])
def test_same_output_as_the_package(payload):
    snake = key_case._package_to_snake(payload)
    assert key_case.camel_to_snake_case(payload) == snake
    assert key_case.camel_to_snake_case(payload) == snake  # cached the second time
    assert key_case.snake_to_camel_case(snake) == key_case._package_to_camel(snake)


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(key_case, "MAX_KEYS", 10)
    monkeypatch.setattr(key_case, "_snake", {})
    payload = {f"someKey{n}": n for n in range(50)}
    assert key_case.camel_to_snake_case(payload) == key_case._package_to_snake(payload)
    assert len(key_case._snake) == 10


def test_install_and_uninstall():
    before = (ocpp.charge_point.camel_to_snake_case, ocpp.charge_point.snake_to_camel_case)
    try:
        key_case.install()
        assert ocpp.charge_point.camel_to_snake_case is key_case.camel_to_snake_case
        key_case.uninstall()
        assert ocpp.charge_point.camel_to_snake_case is key_case._package_to_snake
    finally:
        ocpp.charge_point.camel_to_snake_case, ocpp.charge_point.snake_to_camel_case = before
