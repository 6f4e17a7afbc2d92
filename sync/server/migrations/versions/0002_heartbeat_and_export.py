"""Kiosk heartbeats and the ratings export's page order.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HEARTBEAT_COLUMNS = ("last_heartbeat_at", "box_status", "box_firmware", "backlog",
                     "clock_skew_ms")


def upgrade() -> None:
    with op.batch_alter_table("kiosks") as batch:
        batch.add_column(sa.Column("last_heartbeat_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("box_status", sa.String(length=16)))
        batch.add_column(sa.Column("box_firmware", sa.String(length=64)))
        batch.add_column(sa.Column("backlog", sa.BigInteger()))
        batch.add_column(sa.Column("clock_skew_ms", sa.BigInteger()))
    op.create_index("ix_ratings_received", "ratings", ["server_received_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_ratings_received", "ratings")
    with op.batch_alter_table("kiosks") as batch:
        for column in HEARTBEAT_COLUMNS:
            batch.drop_column(column)
