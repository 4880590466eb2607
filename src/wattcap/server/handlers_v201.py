"""The OCPP 2.0.1 CSMS side of one charging station connection.

Each handler reads the wire payload, turns it into events with :mod:`wattcap.ocpp.messages_v201`, records
them, and answers. Answers carry UTC timestamps with ``Z``. No handler awaits a call to the station.
Messages 1.6 words alike are handled by the shared bodies of :class:`StationChargePoint`; this class routes
to them with the 2.0.1 adapter and answer type.
"""

from __future__ import annotations

from typing import Any

from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call_result
from ocpp.v201.enums import Action

from wattcap.core.model import OcppVersion
from wattcap.ocpp import messages_v201 as messages
from wattcap.server.charge_point import StationChargePoint


class V201ChargePoint(StationChargePoint, ChargePoint):
    version = OcppVersion.V201
    known_actions = frozenset(a.value for a in Action)
    fast_actions = frozenset({"MeterValues", "Heartbeat", "StatusNotification", "TransactionEvent"})

    async def _id_token_info(self, id_token: dict[str, Any]) -> dict[str, str]:
        # A token of type NoAuthorization carries no identity to check: the station needs no authorization.
        if id_token.get("type") == "NoAuthorization":
            return {"status": "Accepted"}
        return await self.authorized(id_token["idToken"])

    @on(Action.boot_notification)
    async def on_boot_notification(self, **_: Any) -> call_result.BootNotification:
        return await self.answer_boot(messages.boot_notification, call_result.BootNotification)

    @after(Action.boot_notification)
    def after_boot_notification(self, **_: Any) -> None:
        self.booted()

    @on(Action.heartbeat)
    async def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return await self.answer_heartbeat(call_result.Heartbeat)

    @on(Action.status_notification)
    async def on_status_notification(self, **_: Any) -> call_result.StatusNotification:
        return await self.answer_recorded(messages.status_notification, call_result.StatusNotification())

    @on(Action.authorize)
    async def on_authorize(self, **_: Any) -> call_result.Authorize:
        return call_result.Authorize(id_token_info=await self._id_token_info(self.payload()["idToken"]))

    @on(Action.transaction_event)
    async def on_transaction_event(self, **_: Any) -> call_result.TransactionEvent:
        payload = self.payload()
        transaction_id = payload["transactionInfo"]["transactionId"]
        known = self.memory.transaction_evse
        evse = (payload.get("evse") or {}).get("id")
        if evse is not None:
            known[transaction_id] = evse
        else:
            evse = await self.evse_of_transaction(transaction_id)
        await self.record(messages.transaction_event(self.id, payload, evse, self.now()))
        if payload["eventType"] == "Ended":
            known.pop(transaction_id, None)
        id_token = payload.get("idToken")
        if id_token is None:
            return call_result.TransactionEvent()
        return call_result.TransactionEvent(id_token_info=await self._id_token_info(id_token))

    @on(Action.meter_values)
    async def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return await self.answer_recorded(messages.meter_values, call_result.MeterValues())

    @on(Action.notify_charging_limit)
    async def on_notify_charging_limit(self, **_: Any) -> call_result.NotifyChargingLimit:
        return await self.answer_recorded(messages.notify_charging_limit, call_result.NotifyChargingLimit())

    @on(Action.cleared_charging_limit)
    async def on_cleared_charging_limit(self, **_: Any) -> call_result.ClearedChargingLimit:
        return await self.answer_recorded(messages.cleared_charging_limit, call_result.ClearedChargingLimit())

    @on(Action.report_charging_profiles)
    async def on_report_charging_profiles(self, **_: Any) -> call_result.ReportChargingProfiles:
        return await self.answer_recorded(messages.report_charging_profiles, call_result.ReportChargingProfiles())

    @on(Action.notify_report)
    async def on_notify_report(self, **_: Any) -> call_result.NotifyReport:
        return await self.answer_recorded(messages.notify_report, call_result.NotifyReport())

    @on(Action.notify_ev_charging_needs)
    async def on_notify_ev_charging_needs(self, **_: Any) -> call_result.NotifyEVChargingNeeds:
        # K15.FR.03-05: Accepted only where a schedule will follow (the hub's judge knows); recorded first, so the
        # planner sees the needs when it is asked.
        status = await self._judged(messages.notify_ev_charging_needs, "answer_ev_charging_needs")
        return call_result.NotifyEVChargingNeeds(status=status)

    @on(Action.notify_ev_charging_schedule)
    async def on_notify_ev_charging_schedule(self, **_: Any) -> call_result.NotifyEVChargingSchedule:
        # K15.FR.11/12: Accepted only if the EV's schedule stays within the limits it was given.
        status = await self._judged(messages.notify_ev_charging_schedule, "answer_ev_charging_schedule")
        return call_result.NotifyEVChargingSchedule(status=status)

    async def _judged(self, adapter: Any, question: str) -> str:
        converted = adapter(self.id, self.payload(), self.now())
        await self.record(converted)
        judge = getattr(self.backend, question, None)
        if judge is None or not converted.events:
            return "Accepted"
        try:
            return await judge(converted.events[0])
        except Exception:
            self.log.exception("ocpp.ev_judge_failed", message_id=self.message_id())
            return "Accepted"

    @on(Action.security_event_notification)
    async def on_security_event_notification(self, **_: Any) -> call_result.SecurityEventNotification:
        return await self.answer_recorded(messages.security_event, call_result.SecurityEventNotification())

    @on(Action.data_transfer)
    async def on_data_transfer(self, **_: Any) -> call_result.DataTransfer:
        return self.answer_data_transfer(call_result.DataTransfer)

    @on(Action.firmware_status_notification)
    async def on_firmware_status_notification(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return self.answer_logged("ocpp.firmware_status", call_result.FirmwareStatusNotification())

    @on(Action.log_status_notification)
    async def on_log_status_notification(self, **_: Any) -> call_result.LogStatusNotification:
        return self.answer_logged("ocpp.log_status", call_result.LogStatusNotification())
