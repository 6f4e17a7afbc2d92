"""Alerts: rules over a unit's recent ratings, evaluated by a pure function, and
the alerts they raise, stored until a supervisor closes them.

A rule fires for a unit when, over the last `window`, it has at least
`min_count` valid ratings and either the share of not-satisfied ratings (levels
1–2) reaches `threshold` (`negative_share`) or the SIPAS index falls below it
(`index_below`). While an alert of a rule is not closed, and while the rule's
window still reaches back to the last alert, the same rule raises no second one
for that unit: closing an alert does not re-raise it from the same ratings.

Who sees an alert: whoever may see the unit's scores (`scope.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hailong.i18n import _
from hailong.sync.server import scope
from hailong.sync.server.cases import notes_of
from hailong.sync.server.models import Counter, Unit, User
from hailong.sync.server.models_cases import ActionNote, Alert
from hailong.sync.server.scores import Period, Tally, tallies
from hailong.sync.server.scoring import NOT_SATISFIED_LEVELS, sipas_index

RuleKind = Literal["negative_share", "index_below"]


@dataclass(frozen=True)
class Rule:
    kind: RuleKind
    window: timedelta
    min_count: int
    threshold: float  # a percentage

    @property
    def code(self) -> str:
        """The rule as stored on its alerts: the kind and the window in hours."""
        return f"{self.kind}:{int(self.window / timedelta(hours=1))}h"


def default_rules(target: float) -> tuple[Rule, ...]:
    """A bad day (a third negative among 10 or more ratings), and a month below
    the target (30 or more ratings)."""
    return (
        Rule("negative_share", timedelta(hours=24), 10, 100 / 3),
        Rule("index_below", timedelta(days=30), 30, target),
    )


@dataclass(frozen=True)
class Finding:
    value: float
    valid: int


def evaluate(rule: Rule, tally: Tally) -> Finding | None:
    """Whether `rule` fires on a unit's valid ratings of its window (pure)."""
    valid = tally.valid
    if valid < rule.min_count or valid == 0:
        return None
    if rule.kind == "negative_share":
        share = sum(tally.valid_by_level[level] for level in NOT_SATISFIED_LEVELS) / valid * 100
        return Finding(share, valid) if share >= rule.threshold else None
    index = sipas_index(tally.valid_by_level)
    assert index is not None
    return Finding(index, valid) if index < rule.threshold else None


def describe(rule_code: str) -> str:
    kind, _sep, hours_text = rule_code.partition(":")
    hours = int(hours_text.removesuffix("h") or 0)
    span = (_("{days} days").format(days=hours // 24) if hours > 24 and hours % 24 == 0
            else _("{hours} h").format(hours=hours))
    if kind == "negative_share":
        return _("Share of negative ratings over {span}").format(span=span)
    return _("SIPAS index over {span}").format(span=span)


def explain(rule: Rule) -> str:
    """The rule in a sentence, for the alerts page."""
    if rule.kind == "negative_share":
        text = _("{what}: {threshold}% or more, with at least {count} ratings")
    else:
        text = _("{what}: below {threshold}%, with at least {count} ratings")
    return text.format(what=describe(rule.code), threshold=f"{rule.threshold:.0f}",
                       count=rule.min_count)


def raise_alerts(session: Session, now: datetime, rules: Sequence[Rule]) -> list[Alert]:
    """Evaluate `rules` for every unit with counters at `now`; store and return
    the new alerts (flushed, not committed)."""
    unit_ids = list(session.scalars(select(Unit.id).where(Unit.id.in_(select(Counter.unit_id)))))
    raised = []
    for rule in rules:
        start = now - rule.window
        busy = set(session.scalars(
            select(Alert.unit_id).where(
                Alert.rule == rule.code,
                or_(Alert.status != "closed", Alert.raised_at > start))))
        counts = tallies(session, "unit", [u for u in unit_ids if u not in busy],
                         Period(start, now))
        for unit_id, tally in counts.items():
            finding = evaluate(rule, tally)
            if finding is None:
                continue
            alert = Alert(unit_id=unit_id, rule=rule.code, window_start=start, window_end=now,
                          valid=finding.valid, value=finding.value, threshold=rule.threshold,
                          raised_at=now, status="open")
            session.add(alert)
            raised.append(alert)
    session.flush()
    return raised


def may_see_alert(session: Session, user: User, alert: Alert) -> bool:
    return scope.may_see_scores(user) and scope.may_see_unit(session, user, alert.unit_id)


@dataclass(frozen=True)
class AlertRow:
    alert: Alert
    unit_name: str
    description: str
    notes: list[ActionNote]


def visible_alerts(
    session: Session, user: User, include_closed: bool = False,
    raised_from: datetime | None = None, raised_to: datetime | None = None,
    unit_ids: set[int] | None = None,
) -> list[AlertRow]:
    """The alerts of the units `user` may see, newest first."""
    query = (select(Alert, Unit.name).join(Unit, Unit.id == Alert.unit_id)
             .order_by(Alert.raised_at.desc(), Alert.id.desc()))
    visible = scope.visible_unit_ids(session, user)
    if visible is not None:
        query = query.where(Alert.unit_id.in_(visible))
    if unit_ids is not None:
        query = query.where(Alert.unit_id.in_(unit_ids))
    if not include_closed:
        query = query.where(Alert.status != "closed")
    if raised_from is not None:
        query = query.where(Alert.raised_at >= raised_from)
    if raised_to is not None:
        query = query.where(Alert.raised_at < raised_to)
    rows = list(session.execute(query))
    notes = notes_of(session, "alert", [alert.id for alert, _name in rows])
    return [AlertRow(alert, name, describe(alert.rule), notes[alert.id]) for alert, name in rows]
