"""The tables wattcap persists, as SQLAlchemy Core metadata.

This module is the code's view of the schema; the Alembic revisions in ``migrations/versions`` create it, and
a test checks that a migrated database matches this metadata exactly, so the two cannot drift apart.

Design choices that matter for correctness:

* station ids are the OCPP identity strings, the natural key every message carries;
* transactions are keyed by ``(station_id, transaction_id)``: ids are only unique per station;
* meter samples have a natural unique key (station, EVSE, time, measurand, phase) so that a message the
  station replays from its offline queue inserts nothing new; ``phase`` is ``''`` for "total" because NULLs
  never collide in a unique index;
* the event journal is de-duplicated by a fingerprint of the event for the same reason;
* history tables (desired-profile revisions, profile operations, verification results, audit log) are
  append-only and ordered by their auto-increment id, which is the order things happened in this process.
"""

from __future__ import annotations

import sqlalchemy as sa

from wattcap.store.types import BigId, Json, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

STATION_STATES = ("pending", "accepted", "rejected")


def _station_fk() -> sa.ForeignKey:
    return sa.ForeignKey("stations.id", ondelete="CASCADE")


stations = sa.Table(
    "stations",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("ocpp_version", sa.String(8)),
    sa.Column("security_profile", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("password_hash", sa.String(255)),
    sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("vendor", sa.String(255)),
    sa.Column("model", sa.String(255)),
    sa.Column("serial_number", sa.String(255)),
    sa.Column("firmware_version", sa.String(255)),
    sa.Column("dialect", sa.String(64)),
    sa.Column("boot_reason", sa.String(64)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_boot_at", UtcDateTime),
    sa.Column("last_seen_at", UtcDateTime),
    sa.CheckConstraint("security_profile IN (0, 1, 2)", name="security_profile"),
    sa.CheckConstraint("state IN ('pending', 'accepted', 'rejected')", name="state"),
)

evses = sa.Table(
    "evses",
    metadata,
    sa.Column("station_id", sa.String(255), _station_fk(), primary_key=True),
    sa.Column("evse_id", sa.Integer, primary_key=True),
    sa.Column("connector_ids", Json, nullable=False),
    sa.Column("current_type", sa.String(2)),
    sa.Column("phases", sa.SmallInteger),
    sa.Column("max_current_a", sa.Float),
    sa.Column("max_power_w", sa.Float),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.CheckConstraint("current_type IN ('AC', 'DC')", name="current_type"),
)

connector_status = sa.Table(
    "connector_status",
    metadata,
    sa.Column("station_id", sa.String(255), _station_fk(), primary_key=True),
    sa.Column("evse_id", sa.Integer, primary_key=True),
    sa.Column("connector_id", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("error_code", sa.String(64)),
    sa.Column("at", UtcDateTime, nullable=False),
)

capabilities = sa.Table(
    "capabilities",
    metadata,
    sa.Column("station_id", sa.String(255), _station_fk(), primary_key=True),
    sa.Column("document", Json, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("read_at", UtcDateTime),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

desired_profiles = sa.Table(
    "desired_profiles",
    metadata,
    sa.Column("station_id", sa.String(255), _station_fk(), primary_key=True),
    sa.Column("profile_id", sa.Integer, primary_key=True),
    sa.Column("evse_id", sa.Integer, nullable=False),
    sa.Column("purpose", sa.String(64), nullable=False),
    sa.Column("stack_level", sa.Integer, nullable=False),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("ocpp_version", sa.String(8), nullable=False),
    sa.Column("wire", Json, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("transaction_id", sa.String(64)),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Index(None, "station_id", "evse_id"),
)

desired_profile_history = sa.Table(
    "desired_profile_history",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("station_id", sa.String(255), _station_fk(), nullable=False),
    sa.Column("profile_id", sa.Integer, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("change", sa.String(16), nullable=False),  # put, status, delete
    sa.Column("evse_id", sa.Integer, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("wire", Json, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index(None, "station_id", "profile_id"),
)

profile_operations = sa.Table(
    "profile_operations",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("station_id", sa.String(255), _station_fk(), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),  # SetChargingProfile, ClearChargingProfile
    sa.Column("evse_id", sa.Integer),
    sa.Column("profile_id", sa.Integer),
    sa.Column("ocpp_version", sa.String(8)),
    sa.Column("request", Json, nullable=False),
    sa.Column("sent_at", UtcDateTime, nullable=False),
    sa.Column("answered_at", UtcDateTime),
    sa.Column("response_status", sa.String(32)),
    sa.Column("reason", sa.Text),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Index(None, "station_id", "profile_id"),
)

transactions = sa.Table(
    "transactions",
    metadata,
    sa.Column("station_id", sa.String(255), _station_fk(), primary_key=True),
    sa.Column("transaction_id", sa.String(64), primary_key=True),
    sa.Column("evse_id", sa.Integer, nullable=False),
    sa.Column("id_token", sa.String(255)),
    sa.Column("remote_start_id", sa.Integer),
    sa.Column("started_at", UtcDateTime),
    sa.Column("stopped_at", UtcDateTime),
    sa.Column("meter_start_wh", sa.Float),
    sa.Column("meter_stop_wh", sa.Float),
    sa.Column("stop_reason", sa.String(64)),
    sa.Column("last_sequence", sa.BigInteger),
    sa.Index(None, "station_id", "evse_id", "stopped_at"),
)

meter_samples = sa.Table(
    "meter_samples",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("station_id", sa.String(255), _station_fk(), nullable=False),
    sa.Column("evse_id", sa.Integer, nullable=False),
    sa.Column("measured_at", UtcDateTime, nullable=False),
    sa.Column("measurand", sa.String(64), nullable=False),
    sa.Column("phase", sa.String(8), nullable=False, server_default=""),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("unit", sa.String(16), nullable=False),
    sa.Column("context", sa.String(32)),
    sa.Column("transaction_id", sa.String(64)),
    # The replay key; its column order also serves time-range queries per station and EVSE.
    sa.UniqueConstraint("station_id", "evse_id", "measured_at", "measurand", "phase"),
    sa.Index(None, "station_id", "measured_at"),
)

station_events = sa.Table(
    "station_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("station_id", sa.String(255), _station_fk(), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("evse_id", sa.Integer),
    sa.Column("payload", Json, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.UniqueConstraint("station_id", "fingerprint"),
    sa.Index(None, "station_id", "kind", "at"),
)

external_limits = sa.Table(
    "external_limits",
    metadata,
    sa.Column("station_id", sa.String(255), _station_fk(), primary_key=True),
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("evse_id", sa.Integer, primary_key=True),  # 0 = the whole station
    sa.Column("is_grid_critical", sa.Boolean),
    sa.Column("schedules", Json, nullable=False),
    sa.Column("notified_at", UtcDateTime, nullable=False),
    sa.Column("cleared_at", UtcDateTime),
)

verification_results = sa.Table(
    "verification_results",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("station_id", sa.String(255), _station_fk(), nullable=False),
    sa.Column("evse_id", sa.Integer, nullable=False),
    sa.Column("checked_at", UtcDateTime, nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("expected", Json),
    sa.Column("reported", Json),
    sa.Column("differences", Json, nullable=False),
    sa.Column("detail", sa.Text),
    sa.Index(None, "station_id", "evse_id", "checked_at"),
)

# Named counters that must never repeat, not even across restarts (OCPP 1.6 transaction ids the CSMS assigns).
counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(255)),
    sa.Column("reason", sa.Text),
    sa.Column("before", Json),
    sa.Column("after", Json),
    sa.Index(None, "target"),
    sa.Index(None, "at"),
)

# Who may charge: id tokens (1.6 idTag, 2.0.1 idToken value) known to the site, shared by all its stations.
# ``group_id`` is the token's group (1.6 parentIdTag, 2.0.1 groupIdToken); an expired token is refused.
id_tokens = sa.Table(
    "id_tokens",
    metadata,
    sa.Column("token", sa.String(255), primary_key=True),
    sa.Column("group_id", sa.String(255)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("expires_at", UtcDateTime),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.CheckConstraint("status IN ('accepted', 'blocked')", name="status"),
)

# API clients: who may use the HTTP API, and what they may change (``grant``: a
# :class:`wattcap.core.governance.Grant` document). Audit entries name the client as ``api:<name>``.
api_clients = sa.Table(
    "api_clients",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("description", sa.Text),
    sa.Column("grant_json", Json, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

# Bearer tokens of API clients. Only a SHA-256 of the secret part is kept: a token is 256 random bits, so a fast
# hash is as safe as a slow one and costs nothing per request. ``id`` is the token's public part (shown in
# listings, used to revoke it).
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("client", sa.String(64), sa.ForeignKey("api_clients.name", ondelete="CASCADE"), nullable=False),
    sa.Column("secret_hash", sa.String(128), nullable=False),
    sa.Column("label", sa.String(255)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_used_at", UtcDateTime),
    sa.Column("revoked_at", UtcDateTime),
    sa.Index(None, "client"),
)
