"""OCPP 2.0.1 edge of a simulated station: provisioning, authorization, transactions, smart charging (K).

What is 2.0.1-specific lives here and only here: TransactionEvent with its seqNo, trigger reasons and the
``offline`` flag, Available/Occupied connector states, ``statusInfo`` reason codes, GetChargingProfiles /
ReportChargingProfiles, NotifyEVChargingNeeds, and the device model a control plane reads (GetVariables,
SetVariables, and GetBaseReport answered with NotifyReport messages; the table is :mod:`wattcap.sim.device_model`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result

from wattcap.core.model import OcppVersion
from wattcap.core.timeutil import format_timestamp
from wattcap.ocpp.composite_json import composite_to_wire
from wattcap.ocpp.profile_json import schedule_to_json
from wattcap.ocpp.profile_requests import get_request_from_json, report_payloads
from wattcap.sim.device_model import (
    DeviceVariable,
    VariableKey,
    base_report,
    device_model,
    key_of,
    notify_report_payloads,
)
from wattcap.sim.events import (
    AuthorizeRequested,
    ChargingStateChanged,
    ConnectorStatusChanged,
    EVChargingNeedsNotified,
    EVChargingScheduleNotified,
    MeterSample,
    MeterValuesReceived,
    StationEvent,
    TransactionEnded,
    TransactionStarted,
)
from wattcap.sim.outbox import Envelope
from wattcap.sim.protocol import (
    ProtocolAdapter,
    RawCall,
    StationChargePoint,
    StationHost,
    meter_value,
    sampled_value,
    set_interval,
    wire,
)

V201 = OcppVersion.V201
_STATUS_INFO_MAX = 512
# Why a transaction ended -> the trigger that reports it.
_END_TRIGGERS = {
    "EVDisconnected": "EVDeparted",
    "Remote": "RemoteStop",
    "Local": "StopAuthorized",
    "Reboot": "ResetCommand",
    "PowerLoss": "AbnormalCondition",
}
_REPORT_CHUNK = 8  # profiles per ReportChargingProfiles
# Variables per NotifyReport: small enough that the base report of any station spans several messages, so a
# control plane's handling of seqNo and tbc is always exercised.
_NOTIFY_REPORT_CHUNK = 10
# SetVariables: the writable variables -> the StationSettings field each one sets.
_SETTINGS_FIELDS: dict[VariableKey, str] = {
    ("SampledDataCtrlr", None, None, "TxUpdatedInterval", None): "meter_interval_s",
    ("OCPPCommCtrlr", None, None, "HeartbeatInterval", None): "heartbeat_interval_s",
}


def _meter_value(at: datetime, samples: tuple[MeterSample, ...]) -> dict[str, Any]:
    return meter_value(at, [sampled_value(s, s.value, {"unitOfMeasure": {"unit": s.unit}}) for s in samples])


def _energy(at: datetime, wh: float | None, context: str) -> list[dict[str, Any]]:
    sample = MeterSample(at, "Energy.Active.Import.Register", round(wh or 0.0, 1), "Wh", context=context)
    return [_meter_value(at, (sample,))]


def _status_info(reason_code: str | None, detail: str | None) -> dict[str, Any] | None:
    if reason_code is None:
        return None
    info: dict[str, Any] = {"reasonCode": reason_code}
    if detail:
        info["additionalInfo"] = detail[:_STATUS_INFO_MAX]
    return info


class V201Adapter(ProtocolAdapter):
    """A 2.0.1 charging station with one connector per EVSE."""

    version = V201
    subprotocol = "ocpp2.0.1"
    calls = call

    def __init__(self, host: StationHost) -> None:
        super().__init__(host)
        self._seq: dict[str, int] = {}  # transaction key -> next seqNo
        self._sent_status: dict[int, str] = {}

    def charge_point(self, connection: Any, response_timeout: float = 30.0) -> ChargePoint:
        self.forget_sent_statuses()  # a new connection gets every connector's state again
        return _ChargePoint201(self.station.station_id, connection, self, response_timeout)

    def forget_sent_statuses(self) -> None:
        """Send every connector's state again, even if unchanged (reconnect, TriggerMessage)."""
        self._sent_status.clear()

    def boot_payload(self) -> dict[str, Any]:
        spec = self.station.spec
        return {
            "chargingStation": {
                "model": spec.model[:20],
                "vendorName": spec.vendor[:50],
                "serialNumber": spec.station_id[:25],
                "firmwareVersion": spec.firmware[:50],
            },
            "reason": "PowerUp",
        }

    def payload(self, envelope: Envelope) -> tuple[str, dict[str, Any]] | None:
        e = envelope.event
        if isinstance(e, ConnectorStatusChanged):
            status = "Available" if e.status == "Available" else "Occupied"
            if self._sent_status.get(e.evse_id) == status:
                return None
            self._sent_status[e.evse_id] = status
            return "StatusNotification", {
                "timestamp": format_timestamp(e.at),
                "connectorStatus": status,
                "evseId": e.evse_id,
                "connectorId": e.connector_id,
            }
        if isinstance(e, AuthorizeRequested):
            return "Authorize", {"idToken": {"idToken": e.id_token, "type": "ISO14443"}}
        if isinstance(e, EVChargingNeedsNotified):
            return "NotifyEVChargingNeeds", {"evseId": e.evse_id, "chargingNeeds": _charging_needs(e)}
        if isinstance(e, EVChargingScheduleNotified) and e.schedule is not None:
            return "NotifyEVChargingSchedule", {
                "timeBase": format_timestamp(e.time_base), "evseId": e.evse_id,
                "chargingSchedule": schedule_to_json(e.schedule, OcppVersion.V201),
            }
        if isinstance(e, TransactionStarted | MeterValuesReceived | ChargingStateChanged | TransactionEnded):
            return "TransactionEvent", self._transaction_event(e, envelope.offline)
        return None

    def _transaction_event(self, e: StationEvent, offline: bool) -> dict[str, Any]:
        key: str = e.transaction_id  # type: ignore[attr-defined]
        seq = self._seq.get(key, 0)
        self._seq[key] = seq + 1
        info: dict[str, Any] = {"transactionId": key}
        body: dict[str, Any] = {"timestamp": format_timestamp(e.at), "seqNo": seq, "transactionInfo": info}
        if offline:
            body["offline"] = True
        if isinstance(e, TransactionStarted):
            body.update(eventType="Started", evse={"id": e.evse_id, "connectorId": 1})
            body["triggerReason"] = "RemoteStart" if e.remote_start_id is not None else "Authorized"
            if e.remote_start_id is not None:
                info["remoteStartId"] = e.remote_start_id
            if e.id_token:
                token_type = "Central" if e.remote_start_id is not None else "ISO14443"
                body["idToken"] = {"idToken": e.id_token, "type": token_type}
            body["meterValue"] = _energy(e.at, e.meter_start_wh, "Transaction.Begin")
        elif isinstance(e, MeterValuesReceived):
            body.update(
                eventType="Updated", triggerReason="MeterValuePeriodic", meterValue=[_meter_value(e.at, e.samples)]
            )
        elif isinstance(e, ChargingStateChanged):
            body.update(eventType="Updated", triggerReason="ChargingStateChanged")
            info["chargingState"] = e.state
        elif isinstance(e, TransactionEnded):
            reason = e.reason or "Local"
            body.update(eventType="Ended", triggerReason=_END_TRIGGERS.get(reason, "AbnormalCondition"))
            info["stoppedReason"] = reason
            body["meterValue"] = _energy(e.at, e.meter_stop_wh, "Transaction.End")
            self._seq.pop(key, None)
        return body

    def on_result(self, envelope: Envelope, result: Any) -> None:
        e = envelope.event
        if isinstance(e, AuthorizeRequested):
            self.authorized(e, result.id_token_info)

    def variables(self) -> dict[VariableKey, DeviceVariable]:
        """The device model a control plane can read, by key (see :mod:`wattcap.sim.device_model`)."""
        return {v.key: v for v in device_model(self.station, self.host.settings)}


def _charging_needs(e: EVChargingNeedsNotified) -> dict[str, Any]:
    needs: dict[str, Any] = {"requestedEnergyTransfer": e.requested_energy_transfer}
    if e.departure_time is not None:
        needs["departureTime"] = format_timestamp(e.departure_time)
    energy = round(e.energy_amount_wh or 0)
    if e.requested_energy_transfer == "DC":
        needs["dcChargingParameters"] = {
            "evMaxCurrent": round(e.ev_max_current_a or 0),
            "evMaxVoltage": 800,
            "energyAmount": energy,
            "evMaxPower": round(e.ev_max_power_w or 0),
        }
    else:
        needs["acChargingParameters"] = {
            "energyAmount": energy,
            "evMinCurrent": 6,
            "evMaxCurrent": round(e.ev_max_current_a or 0),
            "evMaxVoltage": 400,
        }
    return needs


class _ChargePoint201(StationChargePoint, ChargePoint):
    """Serves the control plane's 2.0.1 calls on one connection."""

    _adapter: V201Adapter

    # ---- smart charging ------------------------------------------------------------------------------------

    @on("SetChargingProfile")
    def on_set_charging_profile(self, evse_id: int, charging_profile: dict, **_: Any) -> Any:
        verdict = self._set_profile(evse_id, charging_profile)
        return call_result.SetChargingProfile(
            status=verdict.status.value, status_info=_status_info(verdict.reason_code, verdict.detail)
        )

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, **kwargs: Any) -> Any:
        return call_result.ClearChargingProfile(status=self._clear_profiles(kwargs))

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(
        self, duration: int, evse_id: int, charging_rate_unit: str | None = None, **_: Any
    ) -> Any:
        answer = self._composite(evse_id, duration, charging_rate_unit)
        if not answer.accepted:
            return call_result.GetCompositeSchedule(status="Rejected")
        schedule = None if answer.schedule is None else composite_to_wire(answer.schedule, V201)
        return call_result.GetCompositeSchedule(status="Accepted", schedule=schedule)

    @on("GetChargingProfiles")
    def on_get_charging_profiles(self, **kwargs: Any) -> Any:
        request = get_request_from_json(wire(kwargs), V201)
        result = self._station.charging_profiles(request)
        now = self._now()
        self._later = [
            RawCall(self._station.station_id, now, "ReportChargingProfiles", payload)
            for payload in report_payloads(request.request_id, result.reports, V201, _REPORT_CHUNK)
        ]
        return call_result.GetChargingProfiles(status=result.status.value)

    @after("GetChargingProfiles")
    def after_get_charging_profiles(self, **kwargs: Any) -> None:
        self._flush()

    # ---- remote control ------------------------------------------------------------------------------------

    @on("RequestStartTransaction")
    def on_request_start(
        self,
        id_token: dict,
        remote_start_id: int,
        evse_id: int | None = None,
        charging_profile: dict | None = None,
        **_: Any,
    ) -> Any:
        status = self._remote_start(evse_id, id_token["id_token"], charging_profile, remote_start_id=remote_start_id)
        return call_result.RequestStartTransaction(status=status)

    @after("RequestStartTransaction")
    def after_request_start(self, **kwargs: Any) -> None:
        self._flush()

    @on("RequestStopTransaction")
    def on_request_stop(self, transaction_id: str, **_: Any) -> Any:
        return call_result.RequestStopTransaction(status=self._remote_stop(transaction_id))

    @after("RequestStopTransaction")
    def after_request_stop(self, **kwargs: Any) -> None:
        self._flush()

    @on("Reset")
    def on_reset(self, type: str, evse_id: int | None = None, **_: Any) -> Any:
        if evse_id is not None:
            return call_result.Reset(status="Rejected")
        return call_result.Reset(status="Accepted")

    @after("Reset")
    def after_reset(self, type: str, evse_id: int | None = None, **_: Any) -> None:
        if evse_id is None:
            self._host.schedule_reboot()

    @on("TriggerMessage")
    def on_trigger_message(self, requested_message: str, evse: dict | None = None, **_: Any) -> Any:
        if requested_message == "StatusNotification":
            self._adapter.forget_sent_statuses()  # the states asked for are sent even if unchanged
        return call_result.TriggerMessage(status=self._trigger(requested_message, (evse or {}).get("id")))

    @after("TriggerMessage")
    def after_trigger_message(self, **kwargs: Any) -> None:
        self._flush()

    # ---- device model --------------------------------------------------------------------------------------

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict], **_: Any) -> Any:
        table = self._adapter.variables()
        results = []
        for item in get_variable_data:
            component, variable = wire(item["component"]), wire(item["variable"])
            key = key_of(component, variable)
            result: dict[str, Any] = {"component": component, "variable": variable}
            attribute = item.get("attribute_type", "Actual")
            if attribute != "Actual":
                result["attributeStatus"] = "NotSupportedAttributeType"
            elif key in table:
                result.update(attributeStatus="Accepted", attributeValue=table[key].value)
            else:
                result["attributeStatus"] = _unknown(key, table)
            results.append(result)
        return call_result.GetVariables(get_variable_result=results)

    @on("SetVariables")
    def on_set_variables(self, set_variable_data: list[dict], **_: Any) -> Any:
        table = self._adapter.variables()
        results = []
        for item in set_variable_data:
            component, variable = wire(item["component"]), wire(item["variable"])
            key = key_of(component, variable)
            status = "Rejected"
            if key not in table:
                status = _unknown(key, table)
            elif key in _SETTINGS_FIELDS:
                accepted = set_interval(self._host.settings, _SETTINGS_FIELDS[key], item["attribute_value"])
                status = "Accepted" if accepted else "Rejected"
            results.append({"attributeStatus": status, "component": component, "variable": variable})
        return call_result.SetVariables(set_variable_result=results)

    @on("GetBaseReport")
    def on_get_base_report(self, request_id: int, report_base: str, **_: Any) -> Any:
        """Accepted, and the report follows in NotifyReport messages, sent from :meth:`after_get_base_report`
        (behind this answer, as B07 orders it)."""
        variables = base_report(self._adapter.variables().values(), report_base)
        if not variables:
            return call_result.GetBaseReport(status="EmptyResultSet")
        now = self._now()
        self._later = [
            RawCall(self._station.station_id, now, "NotifyReport", payload)
            for payload in notify_report_payloads(request_id, now, variables, _NOTIFY_REPORT_CHUNK)
        ]
        return call_result.GetBaseReport(status="Accepted")

    @after("GetBaseReport")
    def after_get_base_report(self, **kwargs: Any) -> None:
        self._flush()


def _unknown(key: VariableKey, table: dict[VariableKey, DeviceVariable]) -> str:
    """Why ``key`` is not in ``table``: the component exists without that variable, or not at all."""
    return "UnknownVariable" if any(k[:3] == key[:3] for k in table) else "UnknownComponent"
