"""The kiosk database's tables (SQLAlchemy Core). Alembic migrations in
`kiosk_migrations/` create exactly this schema; a test compares the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out. SQLite has no time zones, so a
    naive value is refused rather than guessed."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a naive datetime cannot be stored, got {value!r}")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> Any:
        return None if value is None else value.replace(tzinfo=UTC)


# Every rating ever made on this kiosk. Rows are only ever added; the feedback columns
# are filled in while a rating is `held` (the citizen is still answering), never after.
ratings = sa.Table(
    "ratings",
    metadata,
    sa.Column("kiosk_seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("id", sa.Uuid, nullable=False, unique=True),
    sa.Column("counter_id", sa.Integer, nullable=False),
    sa.Column("officer_id", sa.Integer, nullable=True),
    sa.Column("button", sa.Integer, nullable=False),
    sa.Column("scale_size", sa.Integer, nullable=False),
    sa.Column("sipas_level", sa.Integer, nullable=False),
    sa.Column("source", sa.String(8), nullable=False),
    sa.Column("flags", sa.JSON, nullable=False),
    sa.Column("box_serial", sa.String(64), nullable=True),
    sa.Column("box_boot_nonce", sa.Integer, nullable=True),
    sa.Column("box_seq", sa.Integer, nullable=True),
    sa.Column("wall_time", UtcDateTime, nullable=False),
    sa.Column("monotonic_ms", sa.Integer, nullable=False),
    sa.Column("clock_trusted", sa.Boolean, nullable=False),
    sa.Column("boot_id", sa.Uuid, nullable=False),
    sa.Column("reason", sa.String(32), nullable=True),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("callback_phone", sa.String(16), nullable=True),
    sa.Column("phone_consent", sa.Boolean, nullable=False, server_default=sa.false()),
    # Not uploaded yet: the citizen may still add a reason, a comment or a phone number.
    sa.Column("held", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.CheckConstraint("kiosk_seq >= 1", name="kiosk_seq_positive"),
    sa.CheckConstraint("button BETWEEN 1 AND scale_size", name="button_on_scale"),
    sa.CheckConstraint("scale_size BETWEEN 2 AND 5", name="scale_size_range"),
    sa.CheckConstraint("sipas_level BETWEEN 1 AND 5", name="sipas_level_range"),
    sa.CheckConstraint("source IN ('box', 'touch')", name="source_known"),
    sa.CheckConstraint("monotonic_ms >= 0", name="monotonic_ms_positive"),
    sa.CheckConstraint(
        "(box_serial IS NULL) = (box_boot_nonce IS NULL) AND (box_serial IS NULL) = "
        "(box_seq IS NULL)",
        name="box_key_whole",
    ),
)
# A press resent by the box is the same press: the database, not only the code, refuses
# a second row with the same key (SQLite treats NULLs as distinct, so touch ratings pass).
sa.Index(
    "uq_ratings_box_press",
    ratings.c.box_serial,
    ratings.c.box_boot_nonce,
    ratings.c.box_seq,
    unique=True,
)

OUTBOX_STATES = ("pending", "sent", "set_aside")

# One row per rating: whether the server has confirmed it.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column(
        "kiosk_seq",
        sa.Integer,
        sa.ForeignKey(ratings.c.kiosk_seq),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("state", sa.String(16), nullable=False),
    # The server's verdict (accepted, duplicate, conflict, rejected) and its reason.
    sa.Column("result", sa.String(16), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("synced_at", UtcDateTime, nullable=True),
    sa.CheckConstraint(
        "state IN ('pending', 'sent', 'set_aside')", name="state_known"
    ),
    sa.CheckConstraint("(state = 'sent') = (synced_at IS NOT NULL)", name="sent_has_time"),
)
# Oldest-first among pending rows is a range scan of this index, however many are sent.
sa.Index("ix_outbox_state_kiosk_seq", outbox.c.state, outbox.c.kiosk_seq)

# Named counters that only go up; `kiosk_seq` lives here rather than in MAX(kiosk_seq)
# so a number is never handed out twice, whatever happens to the rows.
sequences = sa.Table(
    "sequences",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("last_value", sa.Integer, nullable=False),
)

# Small key-value state: see the keys documented in `hailong.sync.store`.
state = sa.Table(
    "state",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
