"""Covering indexes for the scores: the officer and counter time indexes also hold
the SIPAS level and the flag, so a scoreboard over a year is read from the index
alone (an index-only scan) instead of from hundreds of thousands of table rows.

Why (docs/benchmarks.md, `bench_scores`): with 10 million ratings, one unit's year
is 500,000 ratings spread over every page of a 2.1 GiB table, so PostgreSQL read
the whole table in a parallel sequential scan: the officers' board of one unit
took 1.1 s (median; p95 1.4 s) and the officers page 2.2 s, against a goal of
p95 ≤ 200 ms.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The old indexes are prefixes of the new ones: every query that used them can use
# these, so they are replaced rather than kept beside them (one index each to write).
_REPLACED = (
    ("ix_ratings_officer_time", "ix_ratings_officer_scores", "officer_id"),
    ("ix_ratings_counter_time", "ix_ratings_counter_scores", "counter_id"),
)


def upgrade() -> None:
    for old, new, key in _REPLACED:
        op.create_index(new, "ratings", [key, "corrected_time", "sipas_level", "flagged"])
        op.drop_index(old, "ratings")


def downgrade() -> None:
    for old, new, key in _REPLACED:
        op.create_index(old, "ratings", [key, "corrected_time"])
        op.drop_index(new, "ratings")
