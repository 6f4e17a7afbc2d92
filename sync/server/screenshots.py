"""Photographs of the supervisor's (scores, trends, heatmap, reasons, comments,
report), the fleet, the audit, the cases and alerts and the public pages in
headless Chromium, for the documentation:
`python -m hailong.sync.server.screenshots docs/screenshots`.

It starts the real server on a throwaway SQLite database with the demo
organisation and a year of made-up ratings, logs in through the form like a
person, and writes `dashboard-*.png` (desktop width, plus phone-width copies).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from hailong.config.settings import ServerSettings
from hailong.sync.server import fleet, org
from hailong.sync.server.app import create_app
from hailong.sync.server.browser import Chromium
from hailong.sync.server.db import make_engine, make_session_factory, migrate
from hailong.sync.server.runner import serving_in_thread
from hailong.sync.server.seed import DemoLogin, seed_demo
from hailong.sync.wire import API_PREFIX

DESKTOP_WIDTH = 1280
PHONE_WIDTH = 390
TIMEOUT_S = 15.0
BATCH_ITEMS = 500
# Each demo officer's number of ratings in a year and the weights of SIPAS
# levels 1–5: three with enough ratings to be ranked, one with too few.
PROFILES = (
    (420, (2, 3, 8, 35, 52)),
    (380, (3, 5, 14, 38, 40)),
    (300, (6, 8, 20, 36, 30)),
    (18, (1, 1, 2, 6, 8)),
)


@dataclass(frozen=True)
class DemoRating:
    officer_id: int
    counter_id: int
    sipas_level: int
    at: datetime
    flagged: bool
    reason: str | None = None
    comment: str | None = None
    phone: str | None = None


# What citizens said after a low rating: reasons weighted as complaints usually run.
DEMO_REASONS = (("waited_too_long", 35), ("came_back_several_times", 20),
                ("unclear_guidance", 20), ("staff_attitude", 12), ("late_result", 7),
                ("harassment_or_payment", 3), ("other", 3))
DEMO_COMMENTS = (
    "Phải chờ gần một tiếng mới đến lượt.",
    "Cán bộ hướng dẫn chưa rõ, tôi phải bổ sung hồ sơ hai lần.",
    "Nên có thêm ghế ngồi chờ.",
    "Hẹn trả kết quả thứ Hai nhưng đến thứ Năm mới có.",
)


def _follow_up(rng: random.Random, level: int) -> dict[str, Any]:
    """Reason, comment and callback number of a low rating, as some citizens give them."""
    if level > 2 or rng.random() > 0.7:
        return {}
    codes, weights = zip(*DEMO_REASONS, strict=True)
    answer: dict[str, Any] = {"reason": rng.choices(codes, weights)[0]}
    if rng.random() < 0.25:
        answer["comment"] = rng.choice(DEMO_COMMENTS)
    if rng.random() < 0.1:
        answer["phone"] = f"09{rng.randrange(10**8):08d}"
    return answer


def demo_ratings(
    officer_ids: Sequence[int], counter_ids: Sequence[int], now: datetime, seed: int = 39
) -> list[DemoRating]:
    """A year of ratings for the demo officers, the same for the same `seed`."""
    rng = random.Random(seed)
    ratings = []
    for slot, (officer_id, (count, weights)) in enumerate(zip(officer_ids, PROFILES,
                                                              strict=False)):
        for _n in range(count):
            at = now - timedelta(days=rng.uniform(0, 360))
            # office hours in Vietnam (UTC+7): 8:00–17:00 local is 1:00–10:00 UTC
            at = at.replace(hour=rng.randint(1, 9), minute=rng.randint(0, 59))
            level = rng.choices((1, 2, 3, 4, 5), weights)[0]
            ratings.append(DemoRating(officer_id, counter_ids[slot % len(counter_ids)], level,
                                      min(at, now), rng.random() < 0.03,
                                      **_follow_up(rng, level)))
    return sorted(ratings, key=lambda r: r.at)


def _batches(ratings: Sequence[DemoRating], counter_id: int) -> Iterator[dict[str, Any]]:
    """Upload bodies for one counter's kiosk. The ratings carry an earlier boot
    than the batches, so the server keeps their own (past) times."""
    old_boot, sending_boot = str(uuid.uuid4()), str(uuid.uuid4())
    mine = [r for r in ratings if r.counter_id == counter_id]
    for start in range(0, len(mine), BATCH_ITEMS):
        items = [
            {
                "id": str(uuid.uuid4()), "kiosk_seq": start + n + 1, "counter_id": counter_id,
                "officer_id": r.officer_id, "button": {5: 1, 4: 2, 3: 3, 2: 4, 1: 4}[r.sipas_level],
                "scale_size": 4, "sipas_level": r.sipas_level, "source": "box",
                "flags": ["too_soon"] if r.flagged else [], "boot_id": old_boot,
                "monotonic_ms": 1000 + start + n, "wall_time": r.at.isoformat(),
                "clock_trusted": True, "reason": r.reason, "comment": r.comment,
                "callback_phone": r.phone, "phone_consent": r.phone is not None,
            }
            for n, r in enumerate(mine[start:start + BATCH_ITEMS])
        ]
        yield {"sent_wall_time": datetime.now(UTC).isoformat(), "sent_monotonic_ms": 5000,
               "boot_id": sending_boot, "items": items}


def _demo_server_data(settings: ServerSettings, base_url: str) -> DemoLogin:
    engine = make_engine(settings.effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            login = seed_demo(session)
            now = datetime.now(UTC)
            tokens = {}
            for counter_id in login.counter_ids:
                code = fleet.issue_enrollment_code(session, counter_id, timedelta(hours=1), now)
                tokens[counter_id] = fleet.enroll(session, code, "demo", "demo", now)[1]
    finally:
        engine.dispose()
    ratings = demo_ratings(login.officer_ids, login.counter_ids, now)
    for counter_id, token in tokens.items():
        for body in _batches(ratings, counter_id):
            answer = requests.post(f"{base_url}{API_PREFIX}/ratings/batches", json=body,
                                   headers={"Authorization": f"Bearer {token}"},
                                   timeout=TIMEOUT_S)
            answer.raise_for_status()
        # The first kiosk is a little behind on its uploads and its clock.
        late = counter_id == login.counter_ids[0]
        beat = {"sent_wall_time": (datetime.now(UTC) - timedelta(seconds=4 if late else 0))
                .isoformat(), "app_version": "1.0.0", "box_status": "connected",
                "box_firmware": "hl-box 1.0", "backlog": 12 if late else 0}
        requests.post(f"{base_url}{API_PREFIX}/kiosk/heartbeat", json=beat,
                      headers={"Authorization": f"Bearer {token}"},
                      timeout=TIMEOUT_S).raise_for_status()
    return login


def _demo_admin(settings: ServerSettings) -> tuple[str, str]:
    """An administrator, to photograph the audit log."""
    username, password = "quantri", uuid.uuid4().hex
    engine = make_engine(settings.effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            org.add_user(session, username, password, "admin", None)
    finally:
        engine.dispose()
    return username, password


def log_in(browser: Chromium, base_url: str, username: str, password: str) -> None:
    """Through the login form, typing and clicking like a person."""
    browser.goto(f"{base_url}/login")
    browser.type_into("input[name=username]", username)
    browser.type_into("input[name=password]", password)
    browser.expect_navigation()
    browser.click("form.login button[type=submit]")
    browser.wait_for("Page.loadEventFired")


def photograph(browser: Chromium, path: Path, phone: bool = False) -> Path:
    if phone:
        path = path.with_name(f"{path.stem}-phone{path.suffix}")
    browser.screenshot(path, PHONE_WIDTH if phone else DESKTOP_WIDTH, mobile=phone)
    return path


def capture(out_dir: Path) -> list[Path]:
    """Make the screenshots in `out_dir`; returns their paths."""
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="hailong-shots-") as scratch:
        settings = ServerSettings(data_dir=Path(scratch),
                                  database_url=f"sqlite:///{Path(scratch) / 'server.db'}")
        migrate(settings.effective_database_url)
        with serving_in_thread(create_app(settings), TIMEOUT_S) as base_url, Chromium(
            lang="vi"
        ) as web:
            login = _demo_server_data(settings, base_url)
            web.goto(f"{base_url}/login")
            written.append(photograph(web, out_dir / "dashboard-login.png"))
            log_in(web, base_url, login.username, login.password)
            for phone in (False, True):
                web.goto(f"{base_url}/")
                written.append(photograph(web, out_dir / "dashboard-officers.png", phone))
            web.goto(f"{base_url}/officers/{login.officer_ids[0]}")
            written.append(photograph(web, out_dir / "dashboard-officer.png"))
            for page, name in (("/trends", "trends"), ("/trends?step=week", "trends-weekly"),
                               ("/heatmap", "heatmap"), ("/reasons", "reasons"),
                               ("/comments", "comments"), ("/report", "report")):
                web.goto(f"{base_url}{page}")
                written.append(photograph(web, out_dir / f"dashboard-{name}.png"))
            for phone in (False, True):
                web.goto(f"{base_url}/fleet")
                written.append(photograph(web, out_dir / "dashboard-fleet.png", phone))
            for phone in (False, True):
                web.goto(f"{base_url}/public")
                written.append(photograph(web, out_dir / "dashboard-public.png", phone))
            web.goto(f"{base_url}/")
            web.expect_navigation()
            web.click("form.who button[type=submit]")
            web.wait_for("Page.loadEventFired")
            log_in(web, base_url, *_demo_admin(settings))
            web.goto(f"{base_url}/audit")
            written.append(photograph(web, out_dir / "dashboard-audit.png"))
            # Cases go to the unit head, never to the officer's own unit.
            for page in ("cases", "alerts"):
                web.goto(f"{base_url}/{page}")
                written.append(photograph(web, out_dir / f"dashboard-{page}.png"))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hailong.sync.server.screenshots",
        description="Photograph the server's pages in headless Chromium "
                    "(demo data on a throwaway database).",
    )
    parser.add_argument("out_dir", type=Path, help="folder for the PNG files")
    args = parser.parse_args(argv)
    for path in capture(args.out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
