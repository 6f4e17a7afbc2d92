"""What a citizen adds after a low rating, and how officers sign in at a kiosk.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ratings") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=32)))
        batch.add_column(sa.Column("comment", sa.Text()))
        batch.add_column(sa.Column("callback_phone", sa.String(length=16)))
        batch.add_column(
            sa.Column("phone_consent", sa.Boolean(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("officers") as batch:
        batch.add_column(sa.Column("pin_hash", sa.String(length=255)))
        batch.add_column(sa.Column("badge_hash", sa.String(length=64)))
        batch.create_unique_constraint("uq_officers_badge_hash", ["badge_hash"])


def downgrade() -> None:
    with op.batch_alter_table("officers") as batch:
        batch.drop_constraint("uq_officers_badge_hash", type_="unique")
        batch.drop_column("badge_hash")
        batch.drop_column("pin_hash")
    with op.batch_alter_table("ratings") as batch:
        for column in ("phone_consent", "callback_phone", "comment", "reason"):
            batch.drop_column(column)
