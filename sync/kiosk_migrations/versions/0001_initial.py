"""The kiosk's first schema: ratings, their outbox, counters and small state.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

A migration is a frozen snapshot: it spells out its tables instead of importing
`hailong.sync.kiosk_schema`, which will move on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("kiosk_seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("counter_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("button", sa.Integer(), nullable=False),
        sa.Column("scale_size", sa.Integer(), nullable=False),
        sa.Column("sipas_level", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("box_serial", sa.String(length=64), nullable=True),
        sa.Column("box_boot_nonce", sa.Integer(), nullable=True),
        sa.Column("box_seq", sa.Integer(), nullable=True),
        sa.Column("wall_time", sa.DateTime(), nullable=False),
        sa.Column("monotonic_ms", sa.Integer(), nullable=False),
        sa.Column("clock_trusted", sa.Boolean(), nullable=False),
        sa.Column("boot_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("kiosk_seq >= 1", name="ck_ratings_kiosk_seq_positive"),
        sa.CheckConstraint("button BETWEEN 1 AND scale_size", name="ck_ratings_button_on_scale"),
        sa.CheckConstraint("scale_size BETWEEN 2 AND 5", name="ck_ratings_scale_size_range"),
        sa.CheckConstraint("sipas_level BETWEEN 1 AND 5", name="ck_ratings_sipas_level_range"),
        sa.CheckConstraint("source IN ('box', 'touch')", name="ck_ratings_source_known"),
        sa.CheckConstraint("monotonic_ms >= 0", name="ck_ratings_monotonic_ms_positive"),
        sa.CheckConstraint(
            "(box_serial IS NULL) = (box_boot_nonce IS NULL) AND (box_serial IS NULL) = "
            "(box_seq IS NULL)",
            name="ck_ratings_box_key_whole",
        ),
        sa.PrimaryKeyConstraint("kiosk_seq", name="pk_ratings"),
        sa.UniqueConstraint("id", name="uq_ratings_id"),
    )
    op.create_index(
        "uq_ratings_box_press",
        "ratings",
        ["box_serial", "box_boot_nonce", "box_seq"],
        unique=True,
    )
    op.create_table(
        "outbox",
        sa.Column("kiosk_seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("synced_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'set_aside')", name="ck_outbox_state_known"
        ),
        sa.CheckConstraint(
            "(state = 'sent') = (synced_at IS NOT NULL)", name="ck_outbox_sent_has_time"
        ),
        sa.ForeignKeyConstraint(
            ["kiosk_seq"], ["ratings.kiosk_seq"], name="fk_outbox_kiosk_seq_ratings"
        ),
        sa.PrimaryKeyConstraint("kiosk_seq", name="pk_outbox"),
    )
    op.create_index("ix_outbox_state_kiosk_seq", "outbox", ["state", "kiosk_seq"])
    sequences = op.create_table(
        "sequences",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_sequences"),
    )
    op.bulk_insert(sequences, [{"name": "kiosk_seq", "last_value": 0}])
    op.create_table(
        "state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_state"),
    )


def downgrade() -> None:
    op.drop_table("state")
    op.drop_table("sequences")
    op.drop_index("ix_outbox_state_kiosk_seq", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("uq_ratings_box_press", table_name="ratings")
    op.drop_table("ratings")
