"""OCPP 1.6J edge of a simulated station: the Core, Smart Charging and Remote Trigger profiles.

What is 1.6-specific lives here and only here: connector ids, the control plane naming transactions in
StartTransaction.conf (so queued MeterValues / StopTransaction get their id filled in when replayed), string
meter values, configuration keys, and the statuses a 1.6 charger reports while charging. Composite answers
are :func:`wattcap.ocpp.composite_json.composite_to_wire` (the 1.6 answer pieces, one-digit limits).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result

from wattcap.core.model import ChargingRateUnit, OcppVersion
from wattcap.core.timeutil import format_timestamp
from wattcap.ocpp.composite_json import composite_to_wire
from wattcap.sim.events import (
    AuthorizeRequested,
    ConnectorStatusChanged,
    MeterSample,
    MeterValuesReceived,
    StationEvent,
    TransactionEnded,
    TransactionStarted,
)
from wattcap.sim.outbox import Envelope
from wattcap.sim.protocol import (
    ProtocolAdapter,
    StationChargePoint,
    StationHost,
    meter_value,
    sampled_value,
    set_interval,
)

V16 = OcppVersion.V16
_ID_TAG_MAX = 20
_UNITS = {ChargingRateUnit.A: "Current", ChargingRateUnit.W: "Power"}
_SAMPLED = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Current.Offered,Power.Offered,SoC"


def _id_tag(token: str | None) -> str:
    return (token or "SIM")[:_ID_TAG_MAX]


def _meter_value(at: datetime, samples: tuple[MeterSample, ...]) -> dict[str, Any]:
    return meter_value(at, [sampled_value(s, f"{s.value:g}", {"unit": s.unit}) for s in samples])


class V16Adapter(ProtocolAdapter):
    """A 1.6J charge point. Connector ids are the station's EVSE ids."""

    version = V16
    subprotocol = "ocpp1.6"
    calls = call

    def __init__(self, host: StationHost) -> None:
        super().__init__(host)
        self._transaction_ids: dict[str, int] = {}  # station key -> id from StartTransaction.conf

    def charge_point(self, connection: Any, response_timeout: float = 30.0) -> ChargePoint:
        return _ChargePoint16(self.station.station_id, connection, self, response_timeout)

    def boot_payload(self) -> dict[str, Any]:
        spec = self.station.spec
        return {
            "chargePointModel": spec.model[:20],
            "chargePointVendor": spec.vendor[:20],
            "chargePointSerialNumber": spec.station_id[:25],
            "firmwareVersion": spec.firmware[:50],
        }

    def payload(self, envelope: Envelope) -> tuple[str, dict[str, Any]] | None:
        e = envelope.event
        if isinstance(e, ConnectorStatusChanged):
            return "StatusNotification", {
                "connectorId": e.evse_id,
                "errorCode": "NoError",
                "status": e.status,
                "timestamp": format_timestamp(e.at),
            }
        if isinstance(e, AuthorizeRequested):
            return "Authorize", {"idTag": _id_tag(e.id_token)}
        if isinstance(e, TransactionStarted):
            return "StartTransaction", {
                "connectorId": e.evse_id,
                "idTag": _id_tag(e.id_token),
                "meterStart": round(e.meter_start_wh or 0.0),
                "timestamp": format_timestamp(e.at),
            }
        if isinstance(e, MeterValuesReceived):
            payload: dict[str, Any] = {"connectorId": e.evse_id, "meterValue": [_meter_value(e.at, e.samples)]}
            transaction_id = self._transaction_ids.get(e.transaction_id or "")
            if transaction_id is not None:
                payload["transactionId"] = transaction_id
            return "MeterValues", payload
        if isinstance(e, TransactionEnded):
            transaction_id = self._transaction_ids.get(e.transaction_id)
            if transaction_id is None:  # its StartTransaction was refused: nothing to stop
                return None
            return "StopTransaction", {
                "meterStop": round(e.meter_stop_wh or 0.0),
                "timestamp": format_timestamp(e.at),
                "transactionId": transaction_id,
                "reason": e.reason,
            }
        return None  # ChargingStateChanged, EV charging needs: no 1.6 message

    def on_result(self, envelope: Envelope, result: Any) -> None:
        e = envelope.event
        if isinstance(e, TransactionStarted):
            self._transaction_ids[e.transaction_id] = result.transaction_id
            now = self.host.clock.now()
            self.host.emit(self.station.transaction_id_assigned(e.transaction_id, str(result.transaction_id), now))
        elif isinstance(e, AuthorizeRequested):
            self.authorized(e, result.id_tag_info)
        elif isinstance(e, TransactionEnded):
            self._transaction_ids.pop(e.transaction_id, None)

    def configuration(self) -> list[dict[str, Any]]:
        """The configuration keys a GetConfiguration reports (smart-charging capabilities among them)."""
        station = self.station
        caps = station.config.capabilities
        settings = self.host.settings
        keys: list[tuple[str, bool, Any]] = [
            ("HeartbeatInterval", False, int(settings.heartbeat_interval_s)),
            ("MeterValueSampleInterval", False, int(settings.meter_interval_s)),
            ("MeterValuesSampledData", True, _SAMPLED),
            ("NumberOfConnectors", True, len(station.evse_ids)),
            ("SupportedFeatureProfiles", True, "Core,SmartCharging,RemoteTrigger"),
            ("LocalAuthorizeOffline", True, "true"),
            ("ChargeProfileMaxStackLevel", True, caps.max_stack_level),
            ("ChargingScheduleAllowedChargingRateUnit", True, ",".join(_UNITS[u] for u in caps.rate_units)),
            ("ChargingScheduleMaxPeriods", True, caps.max_periods_per_schedule),
            ("MaxChargingProfilesInstalled", True, caps.max_installed_profiles),
            ("ConnectorSwitch3to1PhaseSupported", True, str(caps.phase_switching_3to1).lower()),
        ]
        return [{"key": k, "readonly": ro, "value": str(v)} for k, ro, v in keys if v is not None]


class _ChargePoint16(StationChargePoint, ChargePoint):
    """Serves the control plane's 1.6 calls on one connection (connector ids are EVSE ids)."""

    _adapter: V16Adapter

    # ---- smart charging ------------------------------------------------------------------------------------

    @on("SetChargingProfile")
    def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict, **_: Any) -> Any:
        verdict = self._set_profile(connector_id, cs_charging_profiles)
        return call_result.SetChargingProfile(status=verdict.status.value)

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, **kwargs: Any) -> Any:
        return call_result.ClearChargingProfile(status=self._clear_profiles(kwargs))

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(
        self, connector_id: int, duration: int, charging_rate_unit: str | None = None, **_: Any
    ) -> Any:
        answer = self._composite(connector_id, duration, charging_rate_unit)
        if not answer.accepted:
            return call_result.GetCompositeSchedule(status="Rejected")
        if answer.schedule is None:
            return call_result.GetCompositeSchedule(status="Accepted")
        body = composite_to_wire(answer.schedule, V16)
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=body["connectorId"],
            schedule_start=body["scheduleStart"],
            charging_schedule=body["chargingSchedule"],
        )

    # ---- remote control ------------------------------------------------------------------------------------

    @on("RemoteStartTransaction")
    def on_remote_start(
        self, id_tag: str, connector_id: int | None = None, charging_profile: dict | None = None, **_: Any
    ) -> Any:
        return call_result.RemoteStartTransaction(status=self._remote_start(connector_id, id_tag, charging_profile))

    @after("RemoteStartTransaction")
    def after_remote_start(self, **kwargs: Any) -> None:
        self._flush()

    @on("RemoteStopTransaction")
    def on_remote_stop(self, transaction_id: int, **_: Any) -> Any:
        return call_result.RemoteStopTransaction(status=self._remote_stop(str(transaction_id)))

    @after("RemoteStopTransaction")
    def after_remote_stop(self, **kwargs: Any) -> None:
        self._flush()

    @on("Reset")
    def on_reset(self, type: str, **_: Any) -> Any:
        return call_result.Reset(status="Accepted")

    @after("Reset")
    def after_reset(self, **kwargs: Any) -> None:
        self._host.schedule_reboot()

    @on("TriggerMessage")
    def on_trigger_message(self, requested_message: str, connector_id: int | None = None, **_: Any) -> Any:
        return call_result.TriggerMessage(status=self._trigger(requested_message, connector_id))

    def _triggered(self, requested_message: str, now: datetime) -> list[StationEvent] | None:
        return self._station.meter_values(now) if requested_message == "MeterValues" else None

    @after("TriggerMessage")
    def after_trigger_message(self, **kwargs: Any) -> None:
        self._flush()

    # ---- configuration -------------------------------------------------------------------------------------

    @on("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        known = self._adapter.configuration()
        if not key:
            return call_result.GetConfiguration(configuration_key=known)
        found = [k for k in known if k["key"] in key]
        names = {k["key"] for k in found}
        return call_result.GetConfiguration(configuration_key=found, unknown_key=[k for k in key if k not in names])

    @on("ChangeConfiguration")
    def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        writable = {"HeartbeatInterval": "heartbeat_interval_s", "MeterValueSampleInterval": "meter_interval_s"}
        if key in writable:
            accepted = set_interval(self._host.settings, writable[key], value)
            return call_result.ChangeConfiguration(status="Accepted" if accepted else "Rejected")
        if any(k["key"] == key for k in self._adapter.configuration()):
            return call_result.ChangeConfiguration(status="Rejected")
        return call_result.ChangeConfiguration(status="NotSupported")
