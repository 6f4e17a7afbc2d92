"""The demo organisation `make run` starts with: a unit of Hanoi's Department of
Agriculture and Rural Development, two counters of two service fields, four officers with (drawn)
photos and one supervisor. Idempotent: running it again adds nothing twice."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from hailong.sync.server import org
from hailong.sync.server.auth import hash_password
from hailong.sync.server.models import Counter, Officer, Unit, User

DEPARTMENT = "Sở Nông nghiệp và Phát triển nông thôn Hà Nội"
UNIT = "Bộ phận Một cửa — Sở Nông nghiệp và Phát triển nông thôn"
# Each counter with the service field (lĩnh vực) it serves.
COUNTERS = (("Quầy 1", "Trồng trọt và Bảo vệ thực vật"), ("Quầy 2", "Thủy lợi"))
SUPERVISOR = "giamsat"
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


@dataclass(frozen=True)
class DemoOfficer:
    name: str
    title: str
    photo: str
    initials: str
    background: str
    shirt: str
    skin: str
    hair: str
    long_hair: bool


DEMO_OFFICERS = (
    DemoOfficer("Nguyễn Thị Lan", "Chuyên viên", "nguyen-thi-lan.png", "NL",
                "#cfe3f3", "#2f6f9f", "#f1c9a5", "#2b1d14", True),
    DemoOfficer("Trần Văn Hùng", "Chuyên viên chính", "tran-van-hung.png", "TH",
                "#d9ead3", "#38761d", "#e0ac7e", "#1a1a1a", False),
    DemoOfficer("Lê Thị Mai Anh", "Chuyên viên", "le-thi-mai-anh.png", "MA",
                "#fce5cd", "#b45f06", "#f3cfb0", "#3b2416", True),
    DemoOfficer("Phạm Quốc Bảo", "Cán sự", "pham-quoc-bao.png", "QB",
                "#e6e0f3", "#674ea7", "#d9a27a", "#222222", False),
)


@dataclass(frozen=True)
class DemoLogin:
    """What to print so a person can log in to the demo."""

    username: str
    password: str
    unit_id: int
    counter_ids: tuple[int, ...]
    officer_ids: tuple[int, ...]
    # What every demo officer types at the kiosk to sign in.
    officer_pin: str


def demo_photo(file_name: str) -> bytes:
    return (resources.files("hailong.sync.server") / "demo_photos" / file_name).read_bytes()


def _unit(session: Session, name: str, parent_id: int | None) -> Unit:
    found = session.scalars(select(Unit).where(Unit.name == name)).first()
    return found or org.add_unit(session, name, parent_id)


def seed_demo(session: Session) -> DemoLogin:
    """Create what is missing of the demo organisation. The supervisor's password
    and the officers' PIN are renewed on every call, so the caller can always print
    a working login."""
    department = _unit(session, DEPARTMENT, None)
    unit = _unit(session, UNIT, department.id)
    counter_ids = []
    for name, service_field in COUNTERS:
        counter = session.scalars(
            select(Counter).where(Counter.unit_id == unit.id, Counter.name == name)
        ).first()
        if counter is None:
            counter = org.add_counter(session, unit.id, name, service_field)
        elif counter.service_field is None:
            # A demo database seeded before counters had service fields.
            counter.service_field = service_field
            session.commit()
        counter_ids.append(counter.id)
    officer_ids = []
    officer_pin = "".join(secrets.choice("0123456789") for _i in range(6))
    for demo in DEMO_OFFICERS:
        officer = session.scalars(
            select(Officer).where(Officer.unit_id == unit.id, Officer.name == demo.name)
        ).first()
        if officer is None:
            officer = org.add_officer(
                session, unit.id, demo.name, demo.title, demo_photo(demo.photo)
            )
        org.set_officer_pin(session, officer.id, officer_pin)
        officer_ids.append(officer.id)
    password = "".join(secrets.choice(PASSWORD_ALPHABET) for _i in range(12))
    user = session.scalars(select(User).where(User.username == SUPERVISOR)).first()
    if user is None:
        org.add_user(session, SUPERVISOR, password, "supervisor", unit.id)
    else:
        user.password_hash = hash_password(password)
        user.active = True
        session.commit()
    return DemoLogin(
        SUPERVISOR, password, unit.id, tuple(counter_ids), tuple(officer_ids), officer_pin
    )
