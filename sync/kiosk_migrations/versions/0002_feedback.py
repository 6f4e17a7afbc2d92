"""What a citizen adds after a low rating, and the hold that keeps it from being
uploaded while they answer.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite adds these without rebuilding the table.
    op.add_column("ratings", sa.Column("reason", sa.String(length=32), nullable=True))
    op.add_column("ratings", sa.Column("comment", sa.Text(), nullable=True))
    op.add_column("ratings", sa.Column("callback_phone", sa.String(length=16), nullable=True))
    op.add_column(
        "ratings",
        sa.Column("phone_consent", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "ratings", sa.Column("held", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    with op.batch_alter_table("ratings") as batch:
        for column in ("held", "phone_consent", "callback_phone", "comment", "reason"):
            batch.drop_column(column)
