"""Who may see what. Every page and endpoint that shows officers or scores asks
here, so the rules live in one place.

- admin: everything;
- supervisor: the officers of their own unit and its sub-units, with scores;
- technician: the officers (names, photos) of their unit and sub-units, no scores.

Ratings exports follow the scores (admin and supervisors, their units). Every
role sees the kiosks of its units (the fleet): technicians look after them,
supervisors see whether their counters are rating. The audit log is for admins.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hailong.sync.server.models import Counter, Officer, Unit, User


def unit_subtree(session: Session, unit_id: int) -> set[int]:
    """`unit_id` and every unit below it."""
    children: dict[int | None, list[int]] = {}
    for uid, parent in session.execute(select(Unit.id, Unit.parent_id)):
        children.setdefault(parent, []).append(uid)
    seen: set[int] = set()
    todo = [unit_id]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(children.get(current, []))
    return seen


def visible_unit_ids(session: Session, user: User) -> set[int] | None:
    """The units whose officers `user` may see; None means all of them."""
    if user.role == "admin":
        return None
    if user.unit_id is None:
        return set()
    return unit_subtree(session, user.unit_id)


def may_see_scores(user: User) -> bool:
    return user.role in ("admin", "supervisor")


def may_export_ratings(user: User) -> bool:
    return may_see_scores(user)


def may_see_fleet(user: User) -> bool:
    return user.role in ("admin", "technician", "supervisor")


def may_read_audit(user: User) -> bool:
    return user.role == "admin"


def may_see_unit(session: Session, user: User, unit_id: int) -> bool:
    units = visible_unit_ids(session, user)
    return units is None or unit_id in units


def may_see_officer(session: Session, user: User, officer: Officer) -> bool:
    return may_see_unit(session, user, officer.unit_id)


def visible_officers(session: Session, user: User) -> list[Officer]:
    query = select(Officer).order_by(Officer.unit_id, Officer.name, Officer.id)
    units = visible_unit_ids(session, user)
    if units is not None:
        query = query.where(Officer.unit_id.in_(units))
    return list(session.scalars(query))


def visible_counters(session: Session, user: User) -> list[Counter]:
    query = select(Counter).order_by(Counter.unit_id, Counter.name, Counter.id)
    units = visible_unit_ids(session, user)
    if units is not None:
        query = query.where(Counter.unit_id.in_(units))
    return list(session.scalars(query))


def visible_units(session: Session, user: User) -> list[Unit]:
    query = select(Unit).order_by(Unit.name, Unit.id)
    units = visible_unit_ids(session, user)
    if units is not None:
        query = query.where(Unit.id.in_(units))
    return list(session.scalars(query))
