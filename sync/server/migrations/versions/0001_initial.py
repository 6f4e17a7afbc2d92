"""The initial schema: organisation, users, fleet and ratings.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["units.id"], name="fk_units_parent_id_units"),
        sa.PrimaryKeyConstraint("id", name="pk_units"),
        sa.UniqueConstraint("name", name="uq_units_name"),
    )
    op.create_index("ix_units_parent_id", "units", ["parent_id"])

    op.create_table(
        "counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_counters_unit_id_units"),
        sa.PrimaryKeyConstraint("id", name="pk_counters"),
        sa.UniqueConstraint("unit_id", "name", name="uq_counters_unit_id_name"),
    )
    op.create_index("ix_counters_unit_id", "counters", ["unit_id"])

    op.create_table(
        "officers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        sa.Column("photo_content_type", sa.String(length=50), nullable=True),
        sa.Column("photo_sha256", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_officers_unit_id_units"),
        sa.PrimaryKeyConstraint("id", name="pk_officers"),
    )
    op.create_index("ix_officers_unit_id", "officers", ["unit_id"])

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'supervisor', 'technician')", name="ck_users_role"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_users_unit_id_units"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_index("ix_users_unit_id", "users", ["unit_id"])

    op.create_table(
        "kiosks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("counter_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("app_version", sa.String(length=64), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("enrolled_at", _utc(), nullable=False),
        sa.Column("last_seen_at", _utc(), nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["counter_id"], ["counters.id"], name="fk_kiosks_counter_id_counters"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_kiosks"),
        sa.UniqueConstraint("token_hash", name="uq_kiosks_token_hash"),
    )
    op.create_index("ix_kiosks_counter_id", "kiosks", ["counter_id"])

    op.create_table(
        "enrollment_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("counter_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("used_at", _utc(), nullable=True),
        sa.Column("kiosk_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["counter_id"], ["counters.id"], name="fk_enrollment_codes_counter_id_counters"
        ),
        sa.ForeignKeyConstraint(
            ["kiosk_id"], ["kiosks.id"], name="fk_enrollment_codes_kiosk_id_kiosks"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_enrollment_codes"),
        sa.UniqueConstraint("code_hash", name="uq_enrollment_codes_code_hash"),
    )
    op.create_index("ix_enrollment_codes_counter_id", "enrollment_codes", ["counter_id"])

    op.create_table(
        "ratings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kiosk_id", sa.Integer(), nullable=False),
        sa.Column("kiosk_seq", sa.BigInteger(), nullable=False),
        sa.Column("counter_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("button", sa.SmallInteger(), nullable=False),
        sa.Column("scale_size", sa.SmallInteger(), nullable=False),
        sa.Column("sipas_level", sa.SmallInteger(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("flags", sa.Text(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("boot_id", sa.Uuid(), nullable=False),
        sa.Column("monotonic_ms", sa.BigInteger(), nullable=False),
        sa.Column("wall_time", _utc(), nullable=False),
        sa.Column("clock_trusted", sa.Boolean(), nullable=False),
        sa.Column("server_received_at", _utc(), nullable=False),
        sa.Column("corrected_time", _utc(), nullable=False),
        sa.Column("time_verified", sa.Boolean(), nullable=False),
        sa.Column("box_serial", sa.String(length=64), nullable=True),
        sa.Column("box_boot_nonce", sa.BigInteger(), nullable=True),
        sa.Column("box_seq", sa.BigInteger(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("sipas_level BETWEEN 1 AND 5", name="ck_ratings_sipas_level"),
        sa.CheckConstraint("button BETWEEN 1 AND scale_size", name="ck_ratings_button"),
        sa.CheckConstraint("source IN ('box', 'touch')", name="ck_ratings_source"),
        sa.ForeignKeyConstraint(["kiosk_id"], ["kiosks.id"], name="fk_ratings_kiosk_id_kiosks"),
        sa.ForeignKeyConstraint(
            ["counter_id"], ["counters.id"], name="fk_ratings_counter_id_counters"
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.id"], name="fk_ratings_officer_id_officers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ratings"),
        sa.UniqueConstraint("kiosk_id", "kiosk_seq", name="uq_ratings_kiosk_id_kiosk_seq"),
    )
    op.create_index("ix_ratings_officer_time", "ratings", ["officer_id", "corrected_time"])
    op.create_index("ix_ratings_counter_time", "ratings", ["counter_id", "corrected_time"])


def downgrade() -> None:
    tables = ("ratings", "enrollment_codes", "kiosks", "users", "officers", "counters", "units")
    for table in tables:
        op.drop_table(table)
