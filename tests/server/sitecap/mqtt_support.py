"""The local Mosquitto for the MQTT tests, or a skip that says why (``make test`` passes without a broker)."""

from __future__ import annotations

import os
import socket

import pytest

MQTT_HOST = os.environ.get("WATTCAP_TEST_MQTT_HOST", "127.0.0.1")
MQTT_PORT = int(os.environ.get("WATTCAP_TEST_MQTT_PORT", "1883"))


def require_broker() -> None:
    try:
        with socket.create_connection((MQTT_HOST, MQTT_PORT), timeout=1.0):
            return
    except OSError as exc:
        pytest.skip(f"no MQTT broker at {MQTT_HOST}:{MQTT_PORT} ({exc}); start Mosquitto to run this test")
