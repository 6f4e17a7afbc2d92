"""Cases: a rating whose reason is serious (harassment, a request for unofficial
payment) opens one, due within `CASE_WORKING_DAYS` working days and escalated to
the unit head.

Who sees a case (`may_see_case`, the only place that decides):
- administrators, every case;
- the unit head: the supervisors whose units include the PARENT of the unit where
  the rating was given (`head_unit_id`). A unit without a parent escalates to
  the administrators only;
- never the supervisors of that unit alone, and never the officer concerned.
  Users are not linked to officers today; should a user ever carry an
  `officer_id`, `may_see_case` already refuses that user the cases about them.

Opening is idempotent (one case per rating): the ingest calls
`open_for_ratings` with the ids it stored, and the pages call `open_missing`
first, so a rating stored by any path is never missed. Both flush and leave the
commit to the caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hailong.config.reasons import REASONS
from hailong.i18n import _
from hailong.sync.server import scope
from hailong.sync.server.models import Counter, Officer, Rating, Unit, User
from hailong.sync.server.models_cases import ActionNote, Case
from hailong.sync.server.trends import LOCAL_TZ

CASE_WORKING_DAYS = 5
SERIOUS_REASONS: tuple[str, ...] = tuple(code for code, r in REASONS.items() if r.serious)
ACTIONS = ("acknowledge", "comment", "close")
MAX_NOTE = 2000


def add_working_days(day: date, count: int) -> date:
    """The day `count` working days (Monday to Friday) after `day`."""
    current = day
    left = count
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def due_after(opened_at: datetime, working_days: int = CASE_WORKING_DAYS) -> datetime:
    """The end (local midnight) of the `working_days`-th working day after opening."""
    last = add_working_days(opened_at.astimezone(LOCAL_TZ).date(), working_days)
    return datetime.combine(last + timedelta(days=1), time(), LOCAL_TZ)


def _open(session: Session, ratings: Sequence[Rating]) -> list[Case]:
    if not ratings:
        return []
    parents = dict(session.execute(select(Unit.id, Unit.parent_id)).all())
    unit_of = dict(session.execute(
        select(Counter.id, Counter.unit_id).where(Counter.id.in_({r.counter_id for r in ratings}))
    ).all())
    opened = []
    for rating in ratings:
        unit_id = unit_of[rating.counter_id]
        case = Case(rating_id=rating.id, unit_id=unit_id, head_unit_id=parents.get(unit_id),
                    officer_id=rating.officer_id, reason=rating.reason,
                    opened_at=rating.server_received_at,
                    due_at=due_after(rating.server_received_at), status="open")
        # Another process may open the same case at the same moment: its row wins.
        try:
            with session.begin_nested():
                session.add(case)
        except IntegrityError:
            continue
        opened.append(case)
    return opened


def open_for_ratings(session: Session, rating_ids: Iterable[uuid.UUID]) -> list[Case]:
    """Open a case for each of these ratings that has a serious reason and no case
    yet; the case is dated from the rating's arrival at the server."""
    wanted = list(rating_ids)
    if not wanted:
        return []
    ratings = session.scalars(
        select(Rating)
        .where(Rating.id.in_(wanted), Rating.reason.in_(SERIOUS_REASONS),
               Rating.id.not_in(select(Case.rating_id)))
        .order_by(Rating.server_received_at)
    ).all()
    return _open(session, ratings)


def open_missing(session: Session) -> list[Case]:
    """Open the cases of every serious rating that has none (a sweep)."""
    ratings = session.scalars(
        select(Rating)
        .where(Rating.reason.in_(SERIOUS_REASONS), Rating.id.not_in(select(Case.rating_id)))
        .order_by(Rating.server_received_at)
    ).all()
    return _open(session, ratings)


def _sees(user: User, case: Case, visible_units: set[int] | None) -> bool:
    """The rule, given the units `user` sees (None: all of them)."""
    linked_officer = getattr(user, "officer_id", None)
    if linked_officer is not None and linked_officer == case.officer_id:
        return False
    if user.role == "admin":
        return True
    if user.role != "supervisor" or case.head_unit_id is None:
        return False
    return visible_units is None or case.head_unit_id in visible_units


def may_see_case(session: Session, user: User, case: Case) -> bool:
    visible = scope.visible_unit_ids(session, user) if user.role == "supervisor" else None
    return _sees(user, case, visible)


@dataclass(frozen=True)
class CaseRow:
    case: Case
    unit_name: str
    officer_name: str | None
    comment: str | None
    overdue: bool
    notes: list[ActionNote]

    @property
    def due_day(self) -> date:
        """The last local day to act: the case is due at its end."""
        return (self.case.due_at - timedelta(microseconds=1)).astimezone(LOCAL_TZ).date()


def notes_of(session: Session, kind: str, ids: Sequence[int]) -> dict[int, list[ActionNote]]:
    found: dict[int, list[ActionNote]] = {item: [] for item in ids}
    if ids:
        query = (select(ActionNote)
                 .where(ActionNote.kind == kind, ActionNote.item_id.in_(list(ids)))
                 .order_by(ActionNote.at, ActionNote.id))
        for note in session.scalars(query):
            found[note.item_id].append(note)
    return found


def visible_cases(
    session: Session, user: User, now: datetime, include_closed: bool = False,
    opened_from: datetime | None = None, opened_to: datetime | None = None,
    unit_ids: set[int] | None = None,
) -> list[CaseRow]:
    """The cases `user` may see, oldest due first (closed ones last)."""
    query = (select(Case, Unit.name, Officer.name, Rating.comment)
             .join(Unit, Unit.id == Case.unit_id)
             .join(Rating, Rating.id == Case.rating_id)
             .outerjoin(Officer, Officer.id == Case.officer_id)
             .order_by(Case.due_at, Case.id))
    if not include_closed:
        query = query.where(Case.status != "closed")
    if opened_from is not None:
        query = query.where(Case.opened_at >= opened_from)
    if opened_to is not None:
        query = query.where(Case.opened_at < opened_to)
    if unit_ids is not None:
        query = query.where(Case.unit_id.in_(unit_ids))
    visible = scope.visible_unit_ids(session, user) if user.role == "supervisor" else None
    if user.role != "admin":
        query = query.where(Case.head_unit_id.in_(visible or set()))
    # the query only narrows: _sees decides, as for a single case
    rows = [row for row in session.execute(query) if _sees(user, row[0], visible)]
    notes = notes_of(session, "case", [row[0].id for row in rows])
    return [CaseRow(case, unit, officer, comment,
                    case.status != "closed" and case.due_at <= now, notes[case.id])
            for case, unit, officer, comment in rows]


class ActionError(ValueError):
    """An action that cannot be done: the message says why, for the person."""


class Actionable(Protocol):
    """A case or an alert."""

    id: int
    status: str


def record_action(
    session: Session, item: Actionable, kind: str, user: User, action: str, text: str,
    now: datetime,
) -> ActionNote:
    """Acknowledge, comment on or close a case or an alert. A comment and a
    closing need a text; a closed item takes no more."""
    text = text.strip()
    if action not in ACTIONS:
        raise ActionError(_("Unknown action {action}.").format(action=action))
    if len(text) > MAX_NOTE:
        raise ActionError(_("The note is longer than {limit} characters.").format(limit=MAX_NOTE))
    if item.status == "closed":
        raise ActionError(_("It is closed already."))
    if action in ("comment", "close") and not text:
        raise ActionError(_("Write what was done."))
    if action == "acknowledge":
        item.status = "acknowledged"
    elif action == "close":
        item.status = "closed"
    note = ActionNote(kind=kind, item_id=item.id, at=now, actor=user.username, action=action,
                      text=text)
    session.add(note)
    session.flush()
    return note
