"""Persistence: SQLAlchemy 2 (async) on SQLite or PostgreSQL, with Alembic migrations shipped in the package.

Typical use by the server::

    url = database_url()                      # WATTCAP_DATABASE_URL or ./data/wattcap.db
    repository = await Repository.open(url)   # creates or migrates the schema, then connects
    await repository.record(event)            # every wattcap.core.events event
    ...
    await repository.close()
"""

from wattcap.store.db import DEFAULT_URL, ENV_VAR, create_engine, database_url, migrate, schema_revision
from wattcap.store.errors import ProfileIdTakenError, StationExistsError, StoreError, UnknownStationError
from wattcap.store.profiles import desired_from_profile
from wattcap.store.records import (
    ApiClient,
    ApiToken,
    AuditEntry,
    Capabilities,
    CapabilityStatus,
    ConnectorState,
    DesiredProfile,
    DesiredProfileRevision,
    Evse,
    ExternalLimit,
    IdToken,
    IdTokenStatus,
    IssuedToken,
    JournalEntry,
    OperationOutcome,
    ProfileOperation,
    SampleBucket,
    Station,
    StationSnapshot,
    StationState,
    StoredSample,
    TokenVerdict,
    TransactionRecord,
    VerificationRecord,
)
from wattcap.store.repository import Repository

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "ApiClient",
    "ApiToken",
    "AuditEntry",
    "Capabilities",
    "CapabilityStatus",
    "ConnectorState",
    "DesiredProfile",
    "DesiredProfileRevision",
    "Evse",
    "ExternalLimit",
    "IdToken",
    "IdTokenStatus",
    "IssuedToken",
    "JournalEntry",
    "OperationOutcome",
    "ProfileIdTakenError",
    "ProfileOperation",
    "Repository",
    "SampleBucket",
    "Station",
    "StationExistsError",
    "StationSnapshot",
    "StationState",
    "StoreError",
    "StoredSample",
    "TokenVerdict",
    "TransactionRecord",
    "UnknownStationError",
    "VerificationRecord",
    "create_engine",
    "database_url",
    "desired_from_profile",
    "migrate",
    "schema_revision",
]
