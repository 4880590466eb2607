"""Test charge points written with the ``ocpp`` package: what a real charger would answer the CSMS."""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp import v16, v201
from ocpp.exceptions import PropertyConstraintViolationError
from ocpp.routing import on

from wattcap.core.model import OcppVersion


class Charger16(v16.ChargePoint):
    """Answers GetConfiguration, GetCompositeSchedule and SetChargingProfile like a 2-connector charger."""

    composite_limit = 21.4

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.profiles: list[dict[str, Any]] = []
        self.hold = asyncio.Event()
        self.holding = asyncio.Event()

    @on(v16.enums.Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> v16.call_result.GetConfiguration:
        return v16.call_result.GetConfiguration(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "60"}],
            unknown_key=[k for k in key or [] if k != "HeartbeatInterval"] or None,
        )

    @on(v16.enums.Action.get_composite_schedule)
    def on_get_composite_schedule(self, connector_id: int, duration: int, **_: Any):
        return v16.call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start="2026-01-01T00:00:00Z",
            charging_schedule={
                "duration": duration,
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": self.composite_limit}],
            },
        )

    @on(v16.enums.Action.set_charging_profile)
    def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any):
        if connector_id > 2:  # E16 3.38: an invalid connectorId is a CALLERROR PropertyConstraintViolation
            raise PropertyConstraintViolationError(description=f"no connector {connector_id}")
        self.profiles.append(cs_charging_profiles)
        return v16.call_result.SetChargingProfile(status="Accepted")

    @on(v16.enums.Action.clear_cache)
    async def on_clear_cache(self, **_: Any) -> v16.call_result.ClearCache:
        self.holding.set()
        await self.hold.wait()  # no answer until released: provokes a timeout or a disconnect mid-call
        return v16.call_result.ClearCache(status="Accepted")


class Charger201(v201.ChargePoint):
    """Answers GetVariables and SetChargingProfile like a 1-EVSE station."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.profiles: list[dict[str, Any]] = []

    @on(v201.enums.Action.get_variables)
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> v201.call_result.GetVariables:
        results = [
            {
                "attribute_status": "Accepted",
                "attribute_value": "60",
                "component": item["component"],
                "variable": item["variable"],
            }
            for item in get_variable_data
        ]
        return v201.call_result.GetVariables(get_variable_result=results)

    @on(v201.enums.Action.set_charging_profile)
    def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any], **_: Any):
        if evse_id > 1:
            raise PropertyConstraintViolationError(description=f"no EVSE {evse_id}")
        self.profiles.append(charging_profile)
        return v201.call_result.SetChargingProfile(status="Accepted")


CHARGERS: dict[OcppVersion, type] = {OcppVersion.V16: Charger16, OcppVersion.V201: Charger201}
