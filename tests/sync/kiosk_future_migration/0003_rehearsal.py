"""Test only: a future kiosk upgrade that rebuilds both outbox tables (SQLite's batch
mode copies each table into a new one), the riskiest kind of change for unsynced
ratings.

Revision ID: 0003_rehearsal
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_rehearsal"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ratings", recreate="always") as batch:
        batch.add_column(sa.Column("remark", sa.Text(), nullable=True))
    with op.batch_alter_table("outbox", recreate="always") as batch:
        batch.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", recreate="always") as batch:
        batch.drop_column("attempts")
    with op.batch_alter_table("ratings", recreate="always") as batch:
        batch.drop_column("remark")
