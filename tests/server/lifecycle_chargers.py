"""Charge points for the profile-lifecycle specs, written with the ``ocpp`` package: they hold what they are sent,
answer composites from it, and can be told to reject, stay silent, rate-limit or report something else.

Their composite is deliberately simple (each profile's first period; station max, then TxProfile over TxDefault,
highest stack level first) and independent of wattcap's engine: the specs send single-period profiles, where the
simple answer is the right one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ocpp import v16, v201
from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.exceptions import NotSupportedError
from ocpp.routing import after, on

from wattcap.core.timeutil import format_timestamp

MAX_PURPOSES = ("ChargePointMaxProfile", "ChargingStationMaxProfile")

#: Answers a SetChargingProfile can be given: "Accepted", "Rejected", "NotSupported" (1.6), "silent", an
#: exception class to raise (a CALLERROR), or a (status, reasonCode, additionalInfo) triple (2.0.1 statusInfo).
Answer = Any


def plain(value: Any) -> Any:
    """The 1.6 validator hands numbers over as Decimal; keep floats so they can be sent back."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def now_text() -> str:
    return format_timestamp(datetime.now(UTC).replace(microsecond=0))


class Recorder:
    """What every test charger shares: the calls it received, held profiles, scripted answers, a condition."""

    def setup(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.held: dict[int, tuple[int, dict[str, Any]]] = {}  # profile id -> (evse, snake_case profile)
        self.set_answers: list[Answer] = []
        self.composite_limit: float | None = None  # report this instead of what is held
        #: 1.6 answer shapes seen in the field: "W" (the other unit, A10), "start_schedule" (the time base only in
        #: chargingSchedule.startSchedule, A9), "huge" (a big default instead of -1, A24), "empty" (no schedule).
        self.composite_style: str | None = None
        self.silent: set[str] = set()
        self._changed = asyncio.Event()
        self._never = asyncio.Event()

    def note(self, action: str, **payload: Any) -> None:
        self.received.append((action, plain(payload)))
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def calls(self, action: str) -> list[dict[str, Any]]:
        return [payload for name, payload in self.received if name == action]

    async def wait_for(self, predicate: Callable[[], object], timeout: float = 10.0) -> object:
        async with asyncio.timeout(timeout):
            while not (value := predicate()):
                await self._changed.wait()
            return value

    async def route_message(self, raw_msg: str) -> None:
        """Calls of a ``silent`` action are noted and never answered (without holding up the next message)."""
        message = json.loads(raw_msg)
        if message[0] == 2 and message[2] in self.silent:
            self.note(message[2], **message[3])
            return
        await super().route_message(raw_msg)  # type: ignore[misc]

    def next_set_answer(self) -> Answer:
        return self.set_answers.pop(0) if self.set_answers else "Accepted"

    def limit_for(self, evse_id: int) -> float | None:
        """The simple composite's single limit for ``evse_id`` (None: nothing limits it)."""
        if self.composite_limit is not None:
            return self.composite_limit

        def first_limit(profile: dict[str, Any]) -> float:
            schedule = profile["charging_schedule"]
            schedule = schedule[0] if isinstance(schedule, list) else schedule
            return float(schedule["charging_schedule_period"][0]["limit"])

        def leading(purposes: tuple[str, ...], evses: tuple[int, ...]) -> float | None:
            found = [p for e, p in self.held.values() if e in evses and p["charging_profile_purpose"] in purposes]
            return first_limit(max(found, key=lambda p: p["stack_level"])) if found else None

        station_max = leading(MAX_PURPOSES, (0,))
        charging = leading(("TxProfile",), (evse_id,))
        if charging is None:
            charging = leading(("TxDefaultProfile",), (evse_id, 0))
        limits = [limit for limit in (station_max, charging) if limit is not None]
        return min(limits) if limits else None

    def install(self, evse_id: int, profile_id: int, profile: dict[str, Any], replaces_by_level: bool) -> None:
        if replaces_by_level:  # 1.6 R16-05 on one connector
            for pid, (e, p) in list(self.held.items()):
                same = (p["charging_profile_purpose"], p["stack_level"]) == (
                    profile["charging_profile_purpose"], profile["stack_level"],
                )
                if e == evse_id and same:
                    del self.held[pid]
        self.held[profile_id] = (evse_id, plain(profile))


class LifecycleCharger16(Recorder, v16.ChargePoint):
    """A 2-connector 1.6 charge point with the SmartCharging feature profile."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup()
        self.configuration = {
            "ChargeProfileMaxStackLevel": "2",
            "ChargingScheduleAllowedChargingRateUnit": "Current,Power",
            "ChargingScheduleMaxPeriods": "24",
            "MaxChargingProfilesInstalled": "10",
            "NumberOfConnectors": "2",
            "SupportedFeatureProfiles": "Core,SmartCharging,RemoteTrigger",
        }

    @on("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None, **_: Any):
        self.note("GetConfiguration", key=key)
        keys = key or list(self.configuration)
        return v16.call_result.GetConfiguration(
            configuration_key=[{"key": k, "readonly": True, "value": self.configuration[k]}
                               for k in keys if k in self.configuration],
            unknown_key=[k for k in keys if k not in self.configuration] or None,
        )

    @on("SetChargingProfile")
    async def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any):
        self.note("SetChargingProfile", connector_id=connector_id, cs_charging_profiles=cs_charging_profiles)
        answer = self.next_set_answer()
        if answer == "silent":
            await self._never.wait()
        if isinstance(answer, type):
            raise answer(description="scripted CALLERROR")
        if answer == "Accepted":
            self.install(connector_id, cs_charging_profiles["charging_profile_id"], cs_charging_profiles, True)
        return v16.call_result.SetChargingProfile(status=answer)

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, id: int | None = None, **rest: Any):
        self.note("ClearChargingProfile", id=id, **rest)
        found = self.held.pop(id, None) if id is not None else None
        return v16.call_result.ClearChargingProfile(status="Accepted" if found else "Unknown")

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(self, connector_id: int, duration: int, charging_rate_unit=None, **_: Any):
        self.note("GetCompositeSchedule", connector_id=connector_id, duration=duration, unit=charging_rate_unit)
        limit, unit, style = self.limit_for(connector_id), charging_rate_unit or "A", self.composite_style
        if style == "empty" and limit is None:
            return v16.call_result.GetCompositeSchedule(status="Accepted", connector_id=connector_id)
        if limit is None:
            limit = 10_000.0 if style == "huge" else -1.0
        elif style == "W" and unit == "A":
            limit, unit = limit * 230 * 3, "W"
        schedule = {"duration": duration, "charging_rate_unit": unit,
                    "charging_schedule_period": [{"start_period": 0, "limit": limit, "number_phases": 3}]}
        if style == "start_schedule":
            schedule["start_schedule"] = now_text()
            return v16.call_result.GetCompositeSchedule(
                status="Accepted", connector_id=connector_id, charging_schedule=schedule
            )
        return v16.call_result.GetCompositeSchedule(
            status="Accepted", connector_id=connector_id, schedule_start=now_text(), charging_schedule=schedule
        )

    @on("RemoteStartTransaction")
    def on_remote_start_transaction(self, id_tag: str, connector_id: int | None = None, charging_profile=None, **_):
        self.note("RemoteStartTransaction", id_tag=id_tag, connector_id=connector_id, charging_profile=charging_profile)
        if charging_profile is not None:
            self.install(connector_id or 1, charging_profile["charging_profile_id"], charging_profile, True)
        return v16.call_result.RemoteStartTransaction(status="Accepted")


class LifecycleCharger201(Recorder, v201.ChargePoint):
    """A 2.0.1 charging station with EVSEs 1 and 2 (device model included)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup()
        self.variables = {
            ("SmartChargingCtrlr", "Available", None, "Actual"): "true",
            ("SmartChargingCtrlr", "Enabled", None, "Actual"): "true",
            ("SmartChargingCtrlr", "ProfileStackLevel", None, "Actual"): "2",
            ("SmartChargingCtrlr", "RateUnit", None, "Actual"): "A,W",
            ("SmartChargingCtrlr", "PeriodsPerSchedule", None, "Actual"): "24",
        }
        self.report = [
            {"component": {"name": "EVSE", "evse": {"id": evse}}, "variable": {"name": "SupplyPhases"},
             "variable_attribute": [{"type": "Actual", "value": "3"}]}
            for evse in (1, 2)
        ] + [
            {"component": {"name": "SmartChargingCtrlr"},
             "variable": {"name": "Entries", "instance": "ChargingProfiles"},
             "variable_attribute": [{"type": "Actual", "value": "0"}],
             "variable_characteristics": {"data_type": "integer", "supports_monitoring": False, "max_limit": 20}},
        ]
        self._report_request: int | None = None

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any):
        self.note("GetVariables", get_variable_data=get_variable_data)
        results = []
        for item in get_variable_data:
            key = (item["component"]["name"], item["variable"]["name"], item["variable"].get("instance"),
                   item.get("attribute_type", "Actual"))
            value = self.variables.get(key)
            result = {"attribute_status": "Accepted" if value is not None else "UnknownVariable",
                      "component": item["component"], "variable": item["variable"]}
            if value is not None:
                result["attribute_value"] = value
            if "attribute_type" in item:
                result["attribute_type"] = item["attribute_type"]
            results.append(result)
        return v201.call_result.GetVariables(get_variable_result=results)

    @on("GetBaseReport")
    def on_get_base_report(self, request_id: int, report_base: str, **_: Any):
        self.note("GetBaseReport", request_id=request_id, report_base=report_base)
        self._report_request = request_id
        return v201.call_result.GetBaseReport(status="Accepted")

    @after("GetBaseReport")
    async def after_get_base_report(self, request_id: int, **_: Any) -> None:
        await self.call(v201.call.NotifyReport(
            request_id=request_id, generated_at=now_text(), seq_no=0, report_data=self.report, tbc=False,
        ), suppress=False)

    @on("SetChargingProfile")
    async def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any], **_: Any):
        self.note("SetChargingProfile", evse_id=evse_id, charging_profile=charging_profile)
        answer = self.next_set_answer()
        if answer == "silent":
            await self._never.wait()
        if isinstance(answer, type):
            raise answer(description="scripted CALLERROR")
        status, reason, info = answer if isinstance(answer, tuple) else (answer, None, None)
        if status == "Accepted":
            self.install(evse_id, charging_profile["id"], charging_profile, False)
        status_info = None if reason is None else {"reason_code": reason, "additional_info": info}
        return v201.call_result.SetChargingProfile(status=status, status_info=status_info)

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, charging_profile_id: int | None = None, charging_profile_criteria=None, **_):
        self.note("ClearChargingProfile", charging_profile_id=charging_profile_id,
                  charging_profile_criteria=charging_profile_criteria)
        criteria = charging_profile_criteria or {}

        def matches(pid: int, evse: int, profile: dict[str, Any]) -> bool:
            if charging_profile_id is not None:
                return pid == charging_profile_id
            return (criteria.get("evse_id") in (None, evse)
                    and criteria.get("charging_profile_purpose") in (None, profile["charging_profile_purpose"])
                    and criteria.get("stack_level") in (None, profile["stack_level"]))

        gone = [pid for pid, (evse, profile) in self.held.items() if matches(pid, evse, profile)]
        for pid in gone:
            del self.held[pid]
        return v201.call_result.ClearChargingProfile(status="Accepted" if gone else "Unknown")

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(self, duration: int, evse_id: int, charging_rate_unit=None, **_: Any):
        self.note("GetCompositeSchedule", evse_id=evse_id, duration=duration, unit=charging_rate_unit)
        limit = self.limit_for(evse_id)
        return v201.call_result.GetCompositeSchedule(status="Accepted", schedule={
            "evse_id": evse_id, "duration": duration, "schedule_start": now_text(),
            "charging_rate_unit": charging_rate_unit or "A",
            "charging_schedule_period": [{"start_period": 0, "limit": -1 if limit is None else limit}],
        })

    @on("GetChargingProfiles")
    def on_get_charging_profiles(self, request_id: int, charging_profile: dict[str, Any], **_: Any):
        self.note("GetChargingProfiles", request_id=request_id, charging_profile=charging_profile)
        return v201.call_result.GetChargingProfiles(status="Accepted" if self.held else "NoProfiles")

    @after("GetChargingProfiles")
    async def after_get_charging_profiles(self, request_id: int, **_: Any) -> None:
        by_evse: dict[int, list[dict[str, Any]]] = {}
        for evse, profile in self.held.values():
            by_evse.setdefault(evse, []).append(profile)
        for i, (evse, profiles) in enumerate(sorted(by_evse.items())):
            await self.call(v201.call.ReportChargingProfiles(
                request_id=request_id, charging_limit_source="CSO", charging_profile=profiles, evse_id=evse,
                tbc=i + 1 < len(by_evse),
            ), suppress=False)

    @on("RequestStartTransaction")
    def on_request_start_transaction(self, id_token: dict, remote_start_id: int, evse_id: int | None = None,
                                     charging_profile: dict | None = None, **_: Any):
        self.note("RequestStartTransaction", id_token=id_token, remote_start_id=remote_start_id, evse_id=evse_id,
                  charging_profile=charging_profile)
        if charging_profile is not None:
            self.install(evse_id or 1, charging_profile["id"], charging_profile, False)
        return v201.call_result.RequestStartTransaction(status="Accepted")


CALL_ERRORS = {"NotSupported": NotSupportedError, "NotImplemented": OcppNotImplemented}
