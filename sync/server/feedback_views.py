"""What citizens said after a low rating: reasons grouped by SIPAS factor, and
the comments with their callback numbers.

Who sees a callback number in full (`may_see_phone`, the only place that
decides): administrators, and the supervisors of the very unit where the rating
was given — they are the ones who call back. Supervisors of a parent unit see
the comment with the number masked (`09•••••678`); technicians see no comment at
all. The citizen's consent is always shown next to the number. A comment with a
serious reason (harassment, unofficial payment) is shown only to those who see
its case: administrators and the head of the unit above.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hailong.config.reasons import REASONS, SIPAS_FACTOR_LABELS
from hailong.i18n import _
from hailong.sync.server import scope
from hailong.sync.server.cases import SERIOUS_REASONS
from hailong.sync.server.models import Counter, Officer, Rating, Unit, User
from hailong.sync.server.scores import Period
from hailong.sync.server.scoring import NOT_SATISFIED_LEVELS

PAGE_SIZE = 25


@dataclass(frozen=True)
class ReasonLine:
    code: str
    label: str
    factor: str
    count: int
    share: float | None  # of the reasons given


@dataclass(frozen=True)
class FactorLine:
    code: str
    label: str
    count: int
    share: float | None
    reasons: list[ReasonLine]


@dataclass(frozen=True)
class ReasonSummary:
    factors: list[FactorLine]
    low_ratings: int
    low_with_reason: int
    given: int  # reasons given at any level

    @property
    def share_with_reason(self) -> float | None:
        return self.low_with_reason / self.low_ratings * 100 if self.low_ratings else None


def summarise_reasons(counts: Mapping[tuple[str | None, int], int]) -> ReasonSummary:
    """From valid ratings counted by (reason, SIPAS level): counts per reason and
    per SIPAS factor, and the share of low ratings (levels 1–2) with a reason.
    Labels are translated here (pure apart from the current language)."""
    per_reason: dict[str, int] = dict.fromkeys(REASONS, 0)
    low = low_with = 0
    for (reason, level), count in counts.items():
        if level in NOT_SATISFIED_LEVELS:
            low += count
            low_with += count if reason is not None else 0
        if reason is not None:
            per_reason[reason] = per_reason.get(reason, 0) + count
    given = sum(per_reason.values())

    def share(count: int) -> float | None:
        return count / given * 100 if given else None

    factors = []
    for factor, label in SIPAS_FACTOR_LABELS.items():
        lines = [ReasonLine(code, _(r.label), factor, per_reason[code], share(per_reason[code]))
                 for code, r in REASONS.items() if r.sipas_factor == factor]
        total = sum(line.count for line in lines)
        factors.append(FactorLine(factor, _(label), total, share(total), lines))
    return ReasonSummary(factors, low, low_with, given)


def reason_label(code: str | None) -> str:
    if code is None:
        return ""
    reason = REASONS.get(code)  # type: ignore[call-overload]
    return _(reason.label) if reason is not None else code


def mask_phone(phone: str) -> str:
    """`0912345678` → `09•••••678`: enough to recognise, not to call."""
    keep = 3 if phone.startswith("+") else 2
    return phone[:keep] + "•" * max(0, len(phone) - keep - 3) + phone[-3:]


def may_see_phone(user: User, unit_id: int) -> bool:
    return user.role == "admin" or (user.role == "supervisor" and user.unit_id == unit_id)


@dataclass(frozen=True)
class CommentRow:
    at: datetime
    sipas_level: int
    unit_id: int
    unit_name: str
    officer_name: str | None
    reason: str
    comment: str | None
    phone: str | None  # masked unless the viewer may see it
    phone_masked: bool
    consent: bool


@dataclass(frozen=True)
class CommentPage:
    rows: list[CommentRow]
    page: int
    pages: int
    total: int


def comments(
    session: Session, user: User, unit_ids: set[int] | None, period: Period, page: int = 1,
    page_size: int | None = PAGE_SIZE,
) -> CommentPage:
    """Ratings with a comment or a callback number of `unit_ids` (None: every
    unit), newest first, one page of `page_size` (None: all of them on one page)."""
    where = [or_(Rating.comment.is_not(None), Rating.callback_phone.is_not(None))]
    if unit_ids is not None:
        where.append(Counter.unit_id.in_(unit_ids))
    if user.role != "admin":
        # A serious report is the unit head's, like its case (cases.py).
        heads = scope.visible_unit_ids(session, user) or set()
        where.append(or_(Rating.reason.is_(None), Rating.reason.not_in(SERIOUS_REASONS),
                         Unit.parent_id.in_(heads)))
    if period.start is not None:
        where.append(Rating.corrected_time >= period.start)
    if period.end is not None:
        where.append(Rating.corrected_time < period.end)
    base = (select(Rating.id).join(Counter, Counter.id == Rating.counter_id)
            .join(Unit, Unit.id == Counter.unit_id).where(*where))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    size = page_size or max(total, 1)
    pages = max(1, -(-total // size))
    query = (
        select(Rating.corrected_time, Rating.sipas_level, Counter.unit_id, Unit.name,
               Officer.name, Rating.reason, Rating.comment, Rating.callback_phone,
               Rating.phone_consent)
        .join(Counter, Counter.id == Rating.counter_id)
        .join(Unit, Unit.id == Counter.unit_id)
        .outerjoin(Officer, Officer.id == Rating.officer_id)
        .where(*where)
        .order_by(Rating.corrected_time.desc(), Rating.id)
        .limit(size)
        .offset((min(page, pages) - 1) * size)
    )
    rows = []
    for at, level, unit_id, unit_name, officer, reason, text, phone, consent in session.execute(
        query
    ):
        masked = phone is not None and not may_see_phone(user, unit_id)
        rows.append(CommentRow(at, level, unit_id, unit_name, officer, reason_label(reason), text,
                               mask_phone(phone) if masked and phone else phone, masked, consent))
    return CommentPage(rows, min(page, pages), pages, total)
