"""Function calls: a retry is told from a deliberate repeat, and one attempt owns a claim.

Revision ID: 0004_call_invocations
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_call_invocations"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("function_calls") as table:
        # (call, function, args) hashed: equal for a Retell retry and for a deliberate repeat alike.
        table.add_column(sa.Column("request_key", sa.String(64), nullable=True))
        # Order of the call's mutating requests: only a repeat of the latest one is a retry.
        table.add_column(sa.Column("seq", sa.Integer, nullable=True))
        # Token of the attempt holding the lease: renewals and stored answers are fenced by it.
        table.add_column(sa.Column("owner", sa.String(32), nullable=True))
    calls = sa.table("function_calls", sa.column("key"), sa.column("request_key"), sa.column("seq"))
    op.execute(calls.update().values(request_key=calls.c.key, seq=0))  # quoted: KEY is reserved in MariaDB
    op.create_index("ix_function_calls_call_seq", "function_calls", ["call_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_function_calls_call_seq", "function_calls")
    with op.batch_alter_table("function_calls") as table:
        table.drop_column("owner")
        table.drop_column("seq")
        table.drop_column("request_key")
