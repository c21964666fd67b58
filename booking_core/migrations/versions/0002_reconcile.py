"""Reconciler: durable rechecks of unknown outcomes, who closed an appointment, leases.

Revision ID: 0002_reconcile
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_reconcile"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments") as table:
        # An unknown Cal.com outcome is re-checked from the row, so a worker restart loses nothing.
        table.add_column(sa.Column("recheck_at", sa.DateTime, nullable=True))
        table.add_column(sa.Column("absent_checks", sa.Integer, nullable=False, server_default="0"))
        # The idempotency key of the call that cancelled or moved it: its retry answers what happened.
        table.add_column(sa.Column("closed_by_key", sa.String(64), nullable=True))
    op.create_index("ix_appointments_closed_by_key", "appointments", ["closed_by_key"])
    op.create_table(
        "leases",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_index("ix_appointments_closed_by_key", "appointments")
    with op.batch_alter_table("appointments") as table:
        table.drop_column("closed_by_key")
        table.drop_column("absent_checks")
        table.drop_column("recheck_at")
