"""Initial schema: services, customers, appointments, calls, call events, function calls.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("aliases", sa.JSON, nullable=False),
        sa.Column("duration_min", sa.Integer, nullable=False),
        sa.Column("price_eur", sa.Numeric(8, 2), nullable=True),
        sa.Column("calcom_event_type_id", sa.Integer, nullable=True),
        sa.Column("resource", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime, server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("phone", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("service_id", sa.Integer, sa.ForeignKey("services.id"), nullable=False),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=True),
        sa.Column("resource", sa.String(64), nullable=False),
        sa.Column("start_at", sa.DateTime, nullable=False),
        sa.Column("end_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("confirmed_start", sa.DateTime, nullable=True),
        sa.Column("calcom_uid", sa.String(64), nullable=True),
        sa.Column("sync_status", sa.String(32), nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
        sa.Column("call_id", sa.String(128), nullable=True),
        sa.Column("customer_phone", sa.String(40), nullable=True),
        sa.Column("rescheduled_from_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime, server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("resource", "confirmed_start", name="uq_appointments_confirmed_start"),
    )
    op.create_index("ix_appointments_resource_start", "appointments", ["resource", "start_at"])
    op.create_index("ix_appointments_status", "appointments", ["status"])
    op.create_index("ix_appointments_calcom_uid", "appointments", ["calcom_uid"])
    op.create_index("ix_appointments_call_id", "appointments", ["call_id"])
    op.create_index("ix_appointments_customer_phone", "appointments", ["customer_phone"])
    if op.get_bind().dialect.name == "postgresql":
        # The real guarantee on PostgreSQL: no two confirmed appointments of one resource overlap,
        # whatever their start times.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE appointments ADD CONSTRAINT ex_appointments_no_overlap "
            "EXCLUDE USING gist (resource WITH =, tsrange(start_at, end_at) WITH &&) "
            "WHERE (status = 'confirmed')"
        )
    op.create_table(
        "calls",
        sa.Column("call_id", sa.String(128), primary_key=True),
        sa.Column("agent_id", sa.String(128), nullable=True),
        sa.Column("from_number", sa.String(40), nullable=True),
        sa.Column("to_number", sa.String(40), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("call", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime, server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "call_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(128), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("received_at", sa.DateTime, server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("call_id", "event", name="uq_call_events_call_event"),
    )
    op.create_index("ix_call_events_call_id", "call_events", ["call_id"])
    op.create_table(
        "function_calls",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("call_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("response", sa.JSON, nullable=True),
        sa.Column("lease_until", sa.DateTime, nullable=False),
        sa.Column("created_at", sa.DateTime, server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_function_calls_call_id", "function_calls", ["call_id"])


def downgrade() -> None:
    for table in ("function_calls", "call_events", "calls", "appointments", "customers", "services"):
        op.drop_table(table)
