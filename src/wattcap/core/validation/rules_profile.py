"""Rules about a profile's purpose: where it may go, who may send it, and when it names a transaction."""

from __future__ import annotations

from collections.abc import Iterator

from wattcap.core.model import ChargingProfileKind, ChargingProfilePurpose
from wattcap.core.validation.findings import ChargerResponse, ReasonCode
from wattcap.core.validation.request import ProfileRequest
from wattcap.core.validation.rule import (
    ALL_CONTEXTS,
    ALL_VERSIONS,
    REMOTE_START,
    SENT,
    SET,
    TARGETED,
    V2X,
    V16,
    V21,
    V201,
    Hit,
    error,
    warning,
)

MAX = ChargingProfilePurpose.CHARGING_STATION_MAX
TX = ChargingProfilePurpose.TX
EXTERNAL = ChargingProfilePurpose.CHARGING_STATION_EXTERNAL_CONSTRAINTS
_ADDITIONAL_21 = frozenset({ChargingProfilePurpose.PRIORITY_CHARGING, ChargingProfilePurpose.LOCAL_GENERATION})


def _max_off_station(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.purpose is MAX and req.evse_id != 0:
        yield Hit(
            req.facts.evse_field,
            f"{req.purpose_name} is the limit of the whole station and only goes to {req.facts.evse_noun} 0; "
            f"to cap one {req.facts.evse_noun} use a TxDefaultProfile or TxProfile on it",
        )


def _tx_on_station(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.purpose is TX and req.evse_id == 0:
        yield Hit(
            req.facts.evse_field,
            f"a TxProfile belongs to one transaction and so to one {req.facts.evse_noun} > 0; send it to the "
            f"{req.facts.evse_noun} the transaction runs on",
        )


def _max_relative(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.purpose is MAX and req.profile.kind is ChargingProfileKind.RELATIVE:
        yield Hit(
            "chargingProfileKind",
            f"a {req.purpose_name} must not be Relative (it has no transaction to start from, and chargers reject "
            "it, A15); send it Absolute with startSchedule in the past, or Recurring",
        )


def _remote_start_not_tx(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.purpose is not TX:
        yield Hit(
            "chargingProfilePurpose",
            f"the profile of a remote start must be a TxProfile, not {req.purpose_name}; send other purposes "
            "with SetChargingProfile",
        )


def _remote_start_not_relative(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.purpose is TX and req.profile.kind is not ChargingProfileKind.RELATIVE:
        yield Hit(
            "chargingProfileKind",
            f"a remote-start TxProfile is {req.profile.kind.value}; the OCA test tool (TC_059_CSMS, TC_K_37_CSMS) "
            "expects Relative, which starts with the transaction",
        )


def _tx_without_transaction_id(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.purpose is TX and req.profile.transaction_id is None:
        yield Hit(
            "transactionId",
            "a TxProfile in SetChargingProfile must name its transaction; without transactionId chargers "
            "either reject it or apply it to whatever runs on the connector (A16). Add the running "
            "transaction's id",
        )


def _transaction_id_in_remote_start(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.transaction_id is not None:
        yield Hit(
            "transactionId",
            "the transaction of a remote start does not exist yet, so its profile must not carry a transactionId; "
            "remove it",
        )


def _transaction_id_on_non_tx(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.purpose is not TX and req.profile.transaction_id is not None:
        yield Hit(
            "transactionId",
            f"transactionId is only allowed on a TxProfile, not on a {req.purpose_name}; remove it (chargers "
            "differ on whether they reject or ignore it)",
        )


def _external_constraints_from_csms(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.purpose is EXTERNAL:
        yield Hit(
            "chargingProfilePurpose",
            "ChargingStationExternalConstraints profiles are set by an external system at the station, never by "
            "the CSMS; use ChargingStationMaxProfile or TxDefaultProfile",
        )


def _external_constraints_disallowed(req: ProfileRequest) -> Iterator[Hit]:
    if req.profile.purpose is EXTERNAL and not req.caps.external_constraints_allowed:
        yield Hit(
            "chargingProfilePurpose",
            "the station sets SmartChargingCtrlr.ExternalConstraintsProfileDisallowed, so it refuses "
            "ChargingStationExternalConstraints profiles from the CSMS",
        )


def _additional_purpose_unsupported(req: ProfileRequest) -> Iterator[Hit]:
    purpose = req.profile.purpose
    if purpose in _ADDITIONAL_21 and purpose not in req.caps.supported_additional_purposes:
        yield Hit(
            "chargingProfilePurpose",
            f"{purpose.value} is not in the station's SmartChargingCtrlr.SupportedAdditionalPurposes",
        )


RULES = (
    error(
        "R16-01",
        V16,
        TARGETED,
        "ChargePointMaxProfile only with connectorId 0.",
        _max_off_station,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "WC-E06",
        V2X,
        TARGETED,
        "ChargingStationMaxProfile only with evseId 0 (evseId description; libocpp answers InvalidValue).",
        _max_off_station,
        reason_code=ReasonCode.INVALID_VALUE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "R16-02",
        V16,
        TARGETED,
        "TxProfile only with connectorId > 0.",
        _tx_on_station,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.16",
        V2X,
        TARGETED,
        "TxProfile only with evseId > 0.",
        _tx_on_station,
        reason_code=ReasonCode.INVALID_VALUE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.38",
        ALL_VERSIONS,
        ALL_CONTEXTS,
        "A station max profile is never Relative (2.0.1 text; 1.6 chargers reject it too, A15).",
        _max_relative,
        reason_code=ReasonCode.INVALID_VALUE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K05.FR.02",
        V2X,
        REMOTE_START,
        "The profile in RequestStartTransaction is a TxProfile.",
        _remote_start_not_tx,
        reason_code=ReasonCode.INVALID_PROFILE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "R16-17",
        V16,
        REMOTE_START,
        "The profile in RemoteStartTransaction is a TxProfile (TC_059_CSMS).",
        _remote_start_not_tx,
        response=ChargerResponse.REJECTED,
    ),
    warning(
        "WC-W08",
        ALL_VERSIONS,
        REMOTE_START,
        "A remote-start TxProfile should be Relative (R16-17 / OCTT TC_059_CSMS, TC_K_37_CSMS).",
        _remote_start_not_relative,
    ),
    error(
        "R16-15",
        V16,
        SET,
        "A TxProfile in SetChargingProfile carries the transactionId (A16: chargers reject it or guess).",
        _tx_without_transaction_id,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "R16-15",
        V16,
        REMOTE_START,
        "The profile in RemoteStartTransaction carries no transactionId (E16 3.41).",
        _transaction_id_in_remote_start,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "K01.FR.03",
        V2X,
        SET,
        "A TxProfile carries the transactionId.",
        _tx_without_transaction_id,
        reason_code=ReasonCode.MISSING_PARAM,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "WC-E07",
        V2X,
        REMOTE_START,
        "The profile in RequestStartTransaction carries no transactionId (K05 remark).",
        _transaction_id_in_remote_start,
        reason_code=ReasonCode.INVALID_VALUE,
    ),
    error(
        "WC-E08",
        ALL_VERSIONS,
        TARGETED,
        "transactionId only on a TxProfile (\"SHALL only be included if ChargingProfilePurpose is TxProfile\").",
        _transaction_id_on_non_tx,
        reason_code=ReasonCode.INVALID_VALUE,
    ),
    error(
        "K01.FR.22",
        V201,
        SET,
        "The CSMS does not set ChargingStationExternalConstraints profiles.",
        _external_constraints_from_csms,
        reason_code=ReasonCode.INVALID_VALUE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "WC-E09",
        V21,
        SET,
        "2.1: ChargingStationExternalConstraints from the CSMS only where ExternalConstraintsProfileDisallowed "
        "is not set.",
        _external_constraints_disallowed,
        reason_code=ReasonCode.INVALID_VALUE,
        response=ChargerResponse.REJECTED,
    ),
    error(
        "WC-E10",
        V21,
        SENT,
        "2.1: PriorityCharging / LocalGeneration only where SupportedAdditionalPurposes lists them.",
        _additional_purpose_unsupported,
        reason_code=ReasonCode.INVALID_VALUE,
        response=ChargerResponse.REJECTED,
    ),
)
