"""The central database's tables.

Times are stored in UTC and come back timezone-aware on every backend. Ratings
keep the kiosk's own id (a UUID made when the rating was stored on the kiosk) as
their primary key: that id, and the pair (kiosk, kiosk sequence number), are the
unique constraints that make uploads idempotent.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("admin", "supervisor", "technician")
SOURCES = ("box", "touch")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite has no time zones: values are stored as naive UTC text, which also keeps
    their text order equal to their time order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Unit(Base):
    """An organisational unit; `parent_id` makes sub-units (a supervisor of a unit
    sees its sub-units too)."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)


class Counter(Base):
    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("unit_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The service field (lĩnh vực) the counter serves, e.g. "Thủy lợi"; scores are read per field.
    service_field: Mapped[str | None] = mapped_column(String(200))


class Officer(Base):
    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)
    photo_content_type: Mapped[str | None] = mapped_column(String(50))
    # Part of the photo's URL, so a kiosk can cache a photo until it changes.
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Sign-in at the kiosk: an Argon2id hash of the PIN, a sha256 of the badge's code.
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    badge_hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'supervisor', 'technician')", name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Kiosk(Base):
    """An enrolled kiosk. Only a hash of its token is kept."""

    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_version: Mapped[str] = mapped_column(String(64), default="")
    hostname: Mapped[str] = mapped_column(String(255), default="")
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Highest kiosk sequence number received so far (gap detection builds on it).
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the kiosk said in its last heartbeat (None until the first one).
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    box_status: Mapped[str | None] = mapped_column(String(16))
    box_firmware: Mapped[str | None] = mapped_column(String(64))
    backlog: Mapped[int | None] = mapped_column(BigInteger)
    # The kiosk's wall clock minus the server's when the heartbeat arrived.
    clock_skew_ms: Mapped[int | None] = mapped_column(BigInteger)


class EnrollmentCode(Base):
    """A one-time code a technician types on a kiosk to enroll it at a counter."""

    __tablename__ = "enrollment_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id"))


class Rating(Base):
    """One citizen's rating, as the kiosk stored it plus what the server learnt.

    `wall_time` is the kiosk's clock as sent. `corrected_time` is the time scores
    use: recomputed from the server's clock when the rating came from the boot
    that sent the batch (`time_verified`), otherwise the kiosk's wall time.
    """

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("kiosk_id", "kiosk_seq"),
        CheckConstraint("sipas_level BETWEEN 1 AND 5", name="sipas_level"),
        CheckConstraint("button BETWEEN 1 AND scale_size", name="button"),
        CheckConstraint("source IN ('box', 'touch')", name="source"),
        # Covering the scores' GROUP BY (see migration 0006): an index-only scan.
        Index("ix_ratings_officer_scores", "officer_id", "corrected_time", "sipas_level",
              "flagged"),
        Index("ix_ratings_counter_scores", "counter_id", "corrected_time", "sipas_level",
              "flagged"),
        # The export's page order (see export.py).
        Index("ix_ratings_received", "server_received_at", "id"),
        # The few ratings that carry a reason: the reasons page and the cases sweep.
        Index("ix_ratings_reason", "reason", postgresql_where=text("reason IS NOT NULL"),
              sqlite_where=text("reason IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id"))
    kiosk_seq: Mapped[int] = mapped_column(BigInteger)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    button: Mapped[int] = mapped_column(SmallInteger)
    scale_size: Mapped[int] = mapped_column(SmallInteger)
    sipas_level: Mapped[int] = mapped_column(SmallInteger)
    source: Mapped[str] = mapped_column(String(8))
    # JSON list of flag names, sorted; `flagged` is true when it is not empty.
    flags: Mapped[str] = mapped_column(Text, default="[]")
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    boot_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    monotonic_ms: Mapped[int] = mapped_column(BigInteger)
    wall_time: Mapped[datetime] = mapped_column(UTCDateTime)
    clock_trusted: Mapped[bool] = mapped_column(Boolean)
    server_received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    corrected_time: Mapped[datetime] = mapped_column(UTCDateTime)
    time_verified: Mapped[bool] = mapped_column(Boolean)
    box_serial: Mapped[str | None] = mapped_column(String(64))
    box_boot_nonce: Mapped[int | None] = mapped_column(BigInteger)
    box_seq: Mapped[int | None] = mapped_column(BigInteger)
    # sha256 of the item's canonical JSON: the same id with another hash is a conflict.
    content_hash: Mapped[str] = mapped_column(String(64))
    # What the citizen added after a low rating (see wire.RatingItem).
    reason: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    callback_phone: Mapped[str | None] = mapped_column(String(16))
    phone_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
