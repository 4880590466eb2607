"""The OCPP 2.0.1 CSMS side of one charging station connection.

Each handler reads the wire payload, turns it into events with :mod:`wattcap.ocpp.messages_v201`, records
them, and answers. Answers carry UTC timestamps with ``Z``. No handler awaits a call to the station.
"""

from __future__ import annotations

from typing import Any

from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call_result
from ocpp.v201.enums import Action

from wattcap.core.model import OcppVersion
from wattcap.core.timeutil import format_timestamp
from wattcap.ocpp import messages_v201 as messages
from wattcap.server.charge_point import StationChargePoint


class V201ChargePoint(StationChargePoint, ChargePoint):
    version = OcppVersion.V201
    known_actions = frozenset(a.value for a in Action)

    async def _id_token_info(self, id_token: dict[str, Any]) -> dict[str, str]:
        # A token of type NoAuthorization carries no identity to check: the station needs no authorization.
        if id_token.get("type") == "NoAuthorization":
            return {"status": "Accepted"}
        accepted = await self.backend.authorize(self.id, id_token["idToken"])
        return {"status": "Accepted" if accepted else "Invalid"}

    @on(Action.boot_notification)
    async def on_boot_notification(self, **_: Any) -> call_result.BootNotification:
        await self.record(messages.boot_notification(self.id, self.payload(), self.now()))
        return call_result.BootNotification(
            current_time=format_timestamp(self.now()),
            interval=self.settings.heartbeat_interval_s,
            status=await self.boot_status(),
        )

    @after(Action.boot_notification)
    def after_boot_notification(self, **_: Any) -> None:
        self.booted()

    @on(Action.heartbeat)
    async def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        await self.record(messages.heartbeat(self.id, self.now()))
        return call_result.Heartbeat(current_time=format_timestamp(self.now()))

    @on(Action.status_notification)
    async def on_status_notification(self, **_: Any) -> call_result.StatusNotification:
        await self.record(messages.status_notification(self.id, self.payload(), self.now()))
        return call_result.StatusNotification()

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
        await self.record(messages.meter_values(self.id, self.payload(), self.now()))
        return call_result.MeterValues()

    @on(Action.notify_charging_limit)
    async def on_notify_charging_limit(self, **_: Any) -> call_result.NotifyChargingLimit:
        await self.record(messages.notify_charging_limit(self.id, self.payload(), self.now()))
        return call_result.NotifyChargingLimit()

    @on(Action.cleared_charging_limit)
    async def on_cleared_charging_limit(self, **_: Any) -> call_result.ClearedChargingLimit:
        await self.record(messages.cleared_charging_limit(self.id, self.payload(), self.now()))
        return call_result.ClearedChargingLimit()

    @on(Action.report_charging_profiles)
    async def on_report_charging_profiles(self, **_: Any) -> call_result.ReportChargingProfiles:
        await self.record(messages.report_charging_profiles(self.id, self.payload(), self.now()))
        return call_result.ReportChargingProfiles()

    @on(Action.notify_report)
    async def on_notify_report(self, **_: Any) -> call_result.NotifyReport:
        await self.record(messages.notify_report(self.id, self.payload(), self.now()))
        return call_result.NotifyReport()

    @on(Action.notify_ev_charging_needs)
    async def on_notify_ev_charging_needs(self, **_: Any) -> call_result.NotifyEVChargingNeeds:
        await self.record(messages.notify_ev_charging_needs(self.id, self.payload(), self.now()))
        # No planner yet: accept, as the brief for this stage asks (K15 "Processing" would promise less).
        return call_result.NotifyEVChargingNeeds(status="Accepted")

    @on(Action.notify_ev_charging_schedule)
    async def on_notify_ev_charging_schedule(self, **_: Any) -> call_result.NotifyEVChargingSchedule:
        await self.record(messages.notify_ev_charging_schedule(self.id, self.payload(), self.now()))
        return call_result.NotifyEVChargingSchedule(status="Accepted")

    @on(Action.security_event_notification)
    async def on_security_event_notification(self, **_: Any) -> call_result.SecurityEventNotification:
        await self.record(messages.security_event(self.id, self.payload(), self.now()))
        return call_result.SecurityEventNotification()

    @on(Action.data_transfer)
    async def on_data_transfer(self, **_: Any) -> call_result.DataTransfer:
        self.log.info("ocpp.data_transfer", message_id=self.message_id(), vendor_id=self.payload().get("vendorId"))
        return call_result.DataTransfer(status="UnknownVendorId")

    @on(Action.firmware_status_notification)
    async def on_firmware_status_notification(self, **_: Any) -> call_result.FirmwareStatusNotification:
        self.log.info("ocpp.firmware_status", message_id=self.message_id(), status=self.payload().get("status"))
        return call_result.FirmwareStatusNotification()

    @on(Action.log_status_notification)
    async def on_log_status_notification(self, **_: Any) -> call_result.LogStatusNotification:
        self.log.info("ocpp.log_status", message_id=self.message_id(), status=self.payload().get("status"))
        return call_result.LogStatusNotification()
