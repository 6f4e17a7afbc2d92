"""Kiosk heartbeats and the fleet listing, whose state (online, late, offline) is
derived when read from the time of each kiosk's last heartbeat."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hailong.sync.server.fleet import printable
from hailong.sync.server.gaps import missing_counts
from hailong.sync.server.models import Counter, Kiosk, Unit
from hailong.sync.wire import Heartbeat, HeartbeatAck, KioskState, KioskStatus

# Defaults until they become server settings. Kiosks beat about once a minute:
# one missed beat is "late", a quarter of an hour of silence is "offline".
ONLINE_WITHIN = timedelta(minutes=2)
OFFLINE_AFTER = timedelta(minutes=15)


def kiosk_state(
    last_heartbeat_at: datetime | None, revoked_at: datetime | None, now: datetime
) -> KioskState:
    if revoked_at is not None:
        return "revoked"
    if last_heartbeat_at is None:
        return "new"
    silence = now - last_heartbeat_at
    if silence <= ONLINE_WITHIN:
        return "online"
    return "late" if silence <= OFFLINE_AFTER else "offline"


def clock_skew_ms(kiosk_time: datetime, server_time: datetime) -> int:
    # Any two datetimes are less than 10,000 years apart: this fits a BIGINT.
    return round((kiosk_time - server_time) / timedelta(milliseconds=1))


def record_heartbeat(
    session: Session, kiosk: Kiosk, beat: Heartbeat, now: datetime
) -> HeartbeatAck:
    skew = clock_skew_ms(beat.sent_wall_time, now)
    kiosk.last_seen_at = now
    kiosk.last_heartbeat_at = now
    kiosk.app_version = printable(beat.app_version)
    kiosk.box_status = beat.box_status
    kiosk.box_firmware = printable(beat.box_firmware)
    kiosk.backlog = beat.backlog
    kiosk.clock_skew_ms = skew
    session.commit()
    return HeartbeatAck(server_time=now, clock_skew_ms=skew)


def fleet(session: Session, unit_ids: Iterable[int] | None, now: datetime) -> list[KioskStatus]:
    """The kiosks at counters of `unit_ids` (None: all), by id."""
    query = (
        select(Kiosk, Counter, Unit)
        .join(Counter, Counter.id == Kiosk.counter_id)
        .join(Unit, Unit.id == Counter.unit_id)
        .order_by(Kiosk.id)
    )
    if unit_ids is not None:
        query = query.where(Counter.unit_id.in_(list(unit_ids)))
    rows = session.execute(query).all()
    missing = missing_counts(session, [kiosk.id for kiosk, _c, _u in rows])
    return [
        KioskStatus(
            id=kiosk.id,
            counter_id=counter.id,
            counter_name=counter.name,
            unit_id=unit.id,
            unit_name=unit.name,
            hostname=kiosk.hostname,
            app_version=kiosk.app_version,
            enrolled_at=kiosk.enrolled_at,
            state=kiosk_state(kiosk.last_heartbeat_at, kiosk.revoked_at, now),
            last_seen_at=kiosk.last_seen_at,
            last_heartbeat_at=kiosk.last_heartbeat_at,
            box_status=kiosk.box_status,
            box_firmware=kiosk.box_firmware,
            backlog=kiosk.backlog,
            clock_skew_ms=kiosk.clock_skew_ms,
            last_seq=kiosk.last_seq,
            missing=missing.get(kiosk.id, 0),
        )
        for kiosk, counter, unit in rows
    ]
