"""Initial schema: stations, EVSEs, capabilities, profiles, transactions, meter samples, journals, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Revisions are frozen history: they spell out their types instead of importing them from the package, so a later
change to ``wattcap.store.schema`` cannot silently change what this revision creates.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False)


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=nullable)


def _station(nullable: bool = False) -> sa.Column:
    return sa.Column("station_id", sa.String(255), nullable=nullable)


def _station_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["station_id"], ["stations.id"], name=op.f(f"fk_{table}_station_id_stations"), ondelete="CASCADE"
    )


def _index(table: str, *columns: str, unique: bool = False) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns), unique=unique)


def upgrade() -> None:
    op.create_table(
        "stations",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("ocpp_version", sa.String(8)),
        sa.Column("security_profile", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("state", sa.String(16), server_default="pending", nullable=False),
        sa.Column("vendor", sa.String(255)),
        sa.Column("model", sa.String(255)),
        sa.Column("serial_number", sa.String(255)),
        sa.Column("firmware_version", sa.String(255)),
        sa.Column("dialect", sa.String(64)),
        sa.Column("boot_reason", sa.String(64)),
        _ts("created_at", nullable=False),
        _ts("last_boot_at"),
        _ts("last_seen_at"),
        sa.CheckConstraint("security_profile IN (0, 1, 2)", name=op.f("ck_stations_security_profile")),
        sa.CheckConstraint("state IN ('pending', 'accepted', 'rejected')", name=op.f("ck_stations_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stations")),
    )
    op.create_table(
        "evses",
        _station(),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        _json("connector_ids", nullable=False),
        sa.Column("current_type", sa.String(2)),
        sa.Column("phases", sa.SmallInteger()),
        sa.Column("max_current_a", sa.Float()),
        sa.Column("max_power_w", sa.Float()),
        _ts("updated_at", nullable=False),
        sa.CheckConstraint("current_type IN ('AC', 'DC')", name=op.f("ck_evses_current_type")),
        _station_fk("evses"),
        sa.PrimaryKeyConstraint("station_id", "evse_id", name=op.f("pk_evses")),
    )
    op.create_table(
        "connector_status",
        _station(),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("error_code", sa.String(64)),
        _ts("at", nullable=False),
        _station_fk("connector_status"),
        sa.PrimaryKeyConstraint("station_id", "evse_id", "connector_id", name=op.f("pk_connector_status")),
    )
    op.create_table(
        "capabilities",
        _station(),
        _json("document", nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _ts("read_at"),
        _ts("updated_at", nullable=False),
        _station_fk("capabilities"),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_capabilities")),
    )
    op.create_table(
        "desired_profiles",
        _station(),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("stack_level", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("ocpp_version", sa.String(8), nullable=False),
        _json("wire", nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("transaction_id", sa.String(64)),
        sa.Column("revision", sa.Integer(), nullable=False),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        _station_fk("desired_profiles"),
        sa.PrimaryKeyConstraint("station_id", "profile_id", name=op.f("pk_desired_profiles")),
    )
    _index("desired_profiles", "station_id", "evse_id")
    op.create_table(
        "desired_profile_history",
        _id(),
        _station(),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _json("wire", nullable=False),
        sa.Column("reason", sa.Text()),
        _ts("at", nullable=False),
        _station_fk("desired_profile_history"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desired_profile_history")),
    )
    _index("desired_profile_history", "station_id", "profile_id")
    op.create_table(
        "profile_operations",
        _id(),
        _station(),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("evse_id", sa.Integer()),
        sa.Column("profile_id", sa.Integer()),
        sa.Column("ocpp_version", sa.String(8)),
        _json("request", nullable=False),
        _ts("sent_at", nullable=False),
        _ts("answered_at"),
        sa.Column("response_status", sa.String(32)),
        sa.Column("reason", sa.Text()),
        sa.Column("outcome", sa.String(16), nullable=False),
        _station_fk("profile_operations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_operations")),
    )
    _index("profile_operations", "station_id", "profile_id")
    op.create_table(
        "transactions",
        _station(),
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("id_token", sa.String(255)),
        sa.Column("remote_start_id", sa.Integer()),
        _ts("started_at"),
        _ts("stopped_at"),
        sa.Column("meter_start_wh", sa.Float()),
        sa.Column("meter_stop_wh", sa.Float()),
        sa.Column("stop_reason", sa.String(64)),
        sa.Column("last_sequence", sa.BigInteger()),
        _station_fk("transactions"),
        sa.PrimaryKeyConstraint("station_id", "transaction_id", name=op.f("pk_transactions")),
    )
    _index("transactions", "station_id", "evse_id", "stopped_at")
    op.create_table(
        "meter_samples",
        _id(),
        _station(),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        _ts("measured_at", nullable=False),
        sa.Column("measurand", sa.String(64), nullable=False),
        sa.Column("phase", sa.String(8), server_default="", nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("context", sa.String(32)),
        sa.Column("transaction_id", sa.String(64)),
        _station_fk("meter_samples"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_samples")),
        sa.UniqueConstraint(
            "station_id", "evse_id", "measured_at", "measurand", "phase",
            name=op.f("uq_meter_samples_station_id_evse_id_measured_at_measurand_phase"),
        ),
    )
    _index("meter_samples", "station_id", "measured_at")
    op.create_table(
        "station_events",
        _id(),
        _station(),
        _ts("at", nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("evse_id", sa.Integer()),
        _json("payload", nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        _station_fk("station_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_events")),
        sa.UniqueConstraint("station_id", "fingerprint", name=op.f("uq_station_events_station_id_fingerprint")),
    )
    _index("station_events", "station_id", "kind", "at")
    op.create_table(
        "external_limits",
        _station(),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("is_grid_critical", sa.Boolean()),
        _json("schedules", nullable=False),
        _ts("notified_at", nullable=False),
        _ts("cleared_at"),
        _station_fk("external_limits"),
        sa.PrimaryKeyConstraint("station_id", "source", "evse_id", name=op.f("pk_external_limits")),
    )
    op.create_table(
        "verification_results",
        _id(),
        _station(),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        _ts("checked_at", nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        _json("expected"),
        _json("reported"),
        _json("differences", nullable=False),
        sa.Column("detail", sa.Text()),
        _station_fk("verification_results"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_results")),
    )
    _index("verification_results", "station_id", "evse_id", "checked_at")
    op.create_table(
        "counters",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.create_table(
        "audit_log",
        _id(),
        _ts("at", nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(255)),
        sa.Column("reason", sa.Text()),
        _json("before"),
        _json("after"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    _index("audit_log", "target")
    _index("audit_log", "at")


def downgrade() -> None:
    for table in (
        "audit_log",
        "counters",
        "verification_results",
        "external_limits",
        "station_events",
        "meter_samples",
        "transactions",
        "profile_operations",
        "desired_profile_history",
        "desired_profiles",
        "capabilities",
        "connector_status",
        "evses",
        "stations",
    ):
        op.drop_table(table)  # their indexes go with them
