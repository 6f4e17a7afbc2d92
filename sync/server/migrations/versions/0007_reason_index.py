"""An index on the ratings that carry a reason (a partial index: most ratings carry
none), for the reasons page and the sweep that opens missing cases, which otherwise
read the whole ratings table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHERE = sa.text("reason IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_ratings_reason", "ratings", ["reason"], postgresql_where=_WHERE,
                    sqlite_where=_WHERE)


def downgrade() -> None:
    op.drop_index("ix_ratings_reason", "ratings")
