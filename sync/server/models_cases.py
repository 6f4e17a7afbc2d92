"""Tables of what the dashboard asks people to act on: cases opened by a serious
reason, alerts raised by the rules, and the actions recorded on both."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hailong.sync.server.models import Base, UTCDateTime

STATUSES = ("open", "acknowledged", "closed")
_STATUS_CHECK = "status IN ('open', 'acknowledged', 'closed')"


class Case(Base):
    """A rating with a serious reason (harassment, unofficial payment), to be
    handled by the unit head before `due_at`. `head_unit_id` is the parent of the
    unit where the rating was given: its supervisors are the unit head (None:
    the administrators)."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        Index("ix_cases_head_status", "head_unit_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rating_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ratings.id"), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    head_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    reason: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")


class Alert(Base):
    """A rule that fired for a unit over [window_start, window_end)."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        Index("ix_alerts_unit_rule_status", "unit_id", "rule", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    rule: Mapped[str] = mapped_column(String(32))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    valid: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")


class ActionNote(Base):
    """Something a person did on a case or an alert: acknowledged, commented,
    closed. `actor` keeps the username as it was."""

    __tablename__ = "action_notes"
    __table_args__ = (
        CheckConstraint("kind IN ('case', 'alert')", name="kind"),
        CheckConstraint("action IN ('acknowledge', 'comment', 'close')", name="action"),
        Index("ix_action_notes_item", "kind", "item_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    item_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
