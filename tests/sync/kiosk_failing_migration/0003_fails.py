"""Test only: an upgrade that fails half-way, after it has already rebuilt the
ratings table, as a power cut or a bug would stop it.

Revision ID: 0003_fails
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_fails"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ratings", recreate="always") as batch:
        batch.add_column(sa.Column("remark", sa.Text(), nullable=True))
    op.execute("DELETE FROM outbox")
    raise RuntimeError("rehearsed failure half-way through an upgrade")


def downgrade() -> None:
    raise NotImplementedError
