"""What the store hands back: immutable records, decoupled from SQLAlchemy rows.

Callers never see a row object or a session, so they cannot hold a database resource by accident and the
tables can change without changing these types. Times are aware UTC; JSON documents are plain dicts/lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class StationState(StrEnum):
    """Registration state, answered to BootNotification (Pending / Accepted / Rejected)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class IdTokenStatus(StrEnum):
    """What the site says about a token it knows."""

    ACCEPTED = "accepted"
    BLOCKED = "blocked"


class TokenVerdict(StrEnum):
    """The answer to "may this token charge now?" (:meth:`IdTokenStore.authorize`).

    ``UNKNOWN`` is not a refusal: the server decides it by its ``accept_unknown_tokens`` setting.
    """

    ACCEPTED = "accepted"
    BLOCKED = "blocked"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


class CapabilityStatus(StrEnum):
    """How the capability document came about."""

    ANSWERED = "answered"  # GetConfiguration / GetVariables answered in full
    PARTIAL = "partial"  # some keys unknown or rejected
    NEVER_ANSWERED = "never_answered"  # the station did not answer (yet)


class OperationOutcome(StrEnum):
    """The result of one SetChargingProfile / ClearChargingProfile sent to a station."""

    PENDING = "pending"  # sent, no answer yet
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # answered with a non-Accepted status
    ERROR = "error"  # answered with a CallError
    TIMEOUT = "timeout"  # no answer in time (or connection lost)


@dataclass(frozen=True, slots=True)
class Station:
    id: str
    state: StationState
    security_profile: int
    has_password: bool  # the hash itself never leaves the store
    ocpp_version: str | None = None
    vendor: str | None = None
    model: str | None = None
    serial_number: str | None = None
    firmware_version: str | None = None
    dialect: str | None = None
    boot_reason: str | None = None
    created_at: datetime | None = None
    last_boot_at: datetime | None = None
    last_seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IdToken:
    """A token the site knows; ``group_id`` is its group (1.6 parentIdTag, 2.0.1 groupIdToken)."""

    token: str
    status: IdTokenStatus
    group_id: str | None = None
    expires_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Evse:
    """An EVSE of a station: what it can physically deliver (``current_type`` ``AC`` or ``DC``)."""

    station_id: str
    evse_id: int
    connector_ids: tuple[int, ...] = (1,)
    current_type: str | None = None
    phases: int | None = None
    max_current_a: float | None = None
    max_power_w: float | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConnectorState:
    station_id: str
    evse_id: int
    connector_id: int
    status: str
    error_code: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What GetConfiguration (1.6) / GetVariables or GetBaseReport (2.0.1) returned, as one JSON document."""

    station_id: str
    document: dict[str, Any]
    status: CapabilityStatus | str
    read_at: datetime | None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DesiredProfile:
    """A profile wattcap wants installed on a station: the wire JSON in ``ocpp_version`` plus its index fields.

    ``owner`` is the band or component that owns the profile (for example ``site-limit`` or ``operator``);
    ``revision`` counts changes and is assigned by the store.
    """

    station_id: str
    evse_id: int
    profile_id: int
    purpose: str
    stack_level: int
    owner: str
    ocpp_version: str
    wire: dict[str, Any]
    status: str = "pending"
    transaction_id: str | None = None
    revision: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DesiredProfileRevision:
    """One entry of a desired profile's history: what it looked like after a change, and why."""

    station_id: str
    profile_id: int
    revision: int
    change: str  # put, status, delete
    evse_id: int
    status: str
    wire: dict[str, Any]
    reason: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ProfileOperation:
    id: int
    station_id: str
    action: str
    request: dict[str, Any]
    sent_at: datetime
    outcome: OperationOutcome | str
    evse_id: int | None = None
    profile_id: int | None = None
    ocpp_version: str | None = None
    answered_at: datetime | None = None
    response_status: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    station_id: str
    transaction_id: str
    evse_id: int
    id_token: str | None = None
    remote_start_id: int | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    meter_start_wh: float | None = None
    meter_stop_wh: float | None = None
    stop_reason: str | None = None
    last_sequence: int | None = None

    @property
    def is_active(self) -> bool:
        return self.stopped_at is None


@dataclass(frozen=True, slots=True)
class StoredSample:
    station_id: str
    evse_id: int
    measured_at: datetime
    measurand: str
    value: float
    unit: str
    phase: str | None = None
    context: str | None = None
    transaction_id: str | None = None


@dataclass(frozen=True, slots=True)
class SampleBucket:
    """Samples of one measurand/phase/unit in ``[start, start + seconds)``, aggregated."""

    evse_id: int
    measurand: str
    phase: str | None
    unit: str
    start: datetime
    seconds: int
    count: int
    avg: float
    min: float
    max: float


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A station event as it was recorded (``payload`` is the event's fields as JSON)."""

    id: int
    station_id: str
    at: datetime
    kind: str
    evse_id: int | None
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ExternalLimit:
    """A limit an external system set on a station (NotifyChargingLimit) that has not been cleared."""

    station_id: str
    source: str
    evse_id: int  # 0 = the whole station
    is_grid_critical: bool | None
    schedules: list[Any]
    notified_at: datetime


@dataclass(frozen=True, slots=True)
class VerificationRecord:
    id: int
    station_id: str
    evse_id: int
    checked_at: datetime
    verdict: str
    expected: Any
    reported: Any
    differences: list[Any] = field(default_factory=list)
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    reason: str | None
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class ApiClient:
    """An HTTP API client: its name (audit entries say ``api:<name>``) and its grant document."""

    name: str
    grant: dict[str, Any]
    description: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A bearer token of a client, without its secret (which only its holder has)."""

    id: str
    client: str
    label: str | None = None
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just created: ``token`` is the bearer text, shown once and never stored."""

    token: str
    record: ApiToken


@dataclass(frozen=True, slots=True)
class StationSnapshot:
    """One station as one read transaction saw it (:meth:`Repository.station_snapshot`)."""

    station: Station
    capabilities: Capabilities | None
    desired: tuple[DesiredProfile, ...]
    transactions: tuple[TransactionRecord, ...]
