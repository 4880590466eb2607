"""The OCPP 1.6 central system side of one charge point connection.

Each handler reads the wire payload, turns it into events with :mod:`wattcap.ocpp.messages_v16`, records
them, and answers. Answers carry UTC timestamps with ``Z``. No handler awaits a call to the station.
Messages 2.0.1 words alike are handled by the shared bodies of :class:`StationChargePoint`; this class routes
to them with the 1.6 adapter and answer type.
"""

from __future__ import annotations

from typing import Any

from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action

from wattcap.core.model import OcppVersion
from wattcap.ocpp import messages_v16 as messages
from wattcap.server.charge_point import StationChargePoint


class V16ChargePoint(StationChargePoint, ChargePoint):
    version = OcppVersion.V16
    known_actions = frozenset(a.value for a in Action)
    fast_actions = frozenset({"MeterValues", "Heartbeat", "StatusNotification", "StartTransaction", "StopTransaction"})

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
        return call_result.Authorize(id_tag_info=await self.authorized(self.payload()["idTag"]))

    @on(Action.start_transaction)
    async def on_start_transaction(self, **_: Any) -> call_result.StartTransaction:
        payload = self.payload()
        id_tag_info = await self.authorized(payload["idTag"])
        # 1.6: the central system assigns the id, and does so even when the idTag is not accepted (the
        # charge point then stops the transaction itself, and still reports it). A start recorded before
        # (its answer was lost, e.g. to a restart of wattcap, and the charger resends it) keeps its id.
        probe = messages.start_transaction(self.id, payload, 0, self.now()).events[0]
        existing = await self.backend.existing_transaction(probe)
        if existing is not None and existing.isdigit():
            transaction_id = int(existing)
        else:
            transaction_id = await self.backend.next_transaction_id()
        self.memory.transaction_evse[str(transaction_id)] = payload["connectorId"]
        await self.record(messages.start_transaction(self.id, payload, transaction_id, self.now()))
        return call_result.StartTransaction(transaction_id=transaction_id, id_tag_info=id_tag_info)

    @on(Action.stop_transaction)
    async def on_stop_transaction(self, **_: Any) -> call_result.StopTransaction:
        payload = self.payload()
        transaction_id = str(payload["transactionId"])
        evse_id = await self.evse_of_transaction(transaction_id)
        await self.record(messages.stop_transaction(self.id, payload, evse_id, self.now()))
        self.memory.transaction_evse.pop(transaction_id, None)
        id_tag = payload.get("idTag")
        if id_tag is None:
            return call_result.StopTransaction()
        return call_result.StopTransaction(id_tag_info=await self.authorized(id_tag))

    @on(Action.meter_values)
    async def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return await self.answer_recorded(messages.meter_values, call_result.MeterValues())

    @on(Action.security_event_notification)
    async def on_security_event_notification(self, **_: Any) -> call_result.SecurityEventNotification:
        return await self.answer_recorded(messages.security_event, call_result.SecurityEventNotification())

    @on(Action.data_transfer)
    async def on_data_transfer(self, **_: Any) -> call_result.DataTransfer:
        return self.answer_data_transfer(call_result.DataTransfer)

    @on(Action.firmware_status_notification)
    async def on_firmware_status_notification(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return self.answer_logged("ocpp.firmware_status", call_result.FirmwareStatusNotification())

    @on(Action.diagnostics_status_notification)
    async def on_diagnostics_status_notification(self, **_: Any) -> call_result.DiagnosticsStatusNotification:
        return self.answer_logged("ocpp.diagnostics_status", call_result.DiagnosticsStatusNotification())

    @on(Action.signed_firmware_status_notification)
    async def on_signed_firmware_status_notification(self, **_: Any) -> call_result.SignedFirmwareStatusNotification:
        return self.answer_logged("ocpp.firmware_status", call_result.SignedFirmwareStatusNotification())

    @on(Action.log_status_notification)
    async def on_log_status_notification(self, **_: Any) -> call_result.LogStatusNotification:
        return self.answer_logged("ocpp.log_status", call_result.LogStatusNotification())
