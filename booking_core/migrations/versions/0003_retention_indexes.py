"""Indexes the retention prune reads by: the age of function calls, call events and call rows.

Without them each batch of `callsim prune` (and of the periodic task) scanned the whole table: at
5 million function-call records a batch took seconds instead of milliseconds.

Revision ID: 0003
"""

from alembic import op

revision = "0003"
down_revision = "0002_reconcile"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_function_calls_created_at", "function_calls", "created_at"),
    ("ix_call_events_received_at", "call_events", "received_at"),
    ("ix_calls_updated_at", "calls", "updated_at"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
