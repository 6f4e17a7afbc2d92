"""Cases, alerts and the actions recorded on them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUS_CHECK = "status IN ('open', 'acknowledged', 'closed')"


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rating_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("head_unit_id", sa.Integer(), nullable=True),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint(_STATUS_CHECK, name="ck_cases_status"),
        sa.ForeignKeyConstraint(["rating_id"], ["ratings.id"], name="fk_cases_rating_id_ratings"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_cases_unit_id_units"),
        sa.ForeignKeyConstraint(["head_unit_id"], ["units.id"],
                                name="fk_cases_head_unit_id_units"),
        sa.ForeignKeyConstraint(["officer_id"], ["officers.id"],
                                name="fk_cases_officer_id_officers"),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("rating_id", name="uq_cases_rating_id"),
    )
    op.create_index("ix_cases_unit_id", "cases", ["unit_id"])
    op.create_index("ix_cases_head_status", "cases", ["head_unit_id", "status"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint(_STATUS_CHECK, name="ck_alerts_status"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_alerts_unit_id_units"),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    op.create_index("ix_alerts_unit_rule_status", "alerts", ["unit_id", "rule", "status"])
    op.create_table(
        "action_notes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('case', 'alert')", name="ck_action_notes_kind"),
        sa.CheckConstraint("action IN ('acknowledge', 'comment', 'close')",
                           name="ck_action_notes_action"),
        sa.PrimaryKeyConstraint("id", name="pk_action_notes"),
    )
    op.create_index("ix_action_notes_item", "action_notes", ["kind", "item_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_action_notes_item", table_name="action_notes")
    op.drop_table("action_notes")
    op.drop_index("ix_alerts_unit_rule_status", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_cases_head_status", table_name="cases")
    op.drop_index("ix_cases_unit_id", table_name="cases")
    op.drop_table("cases")
