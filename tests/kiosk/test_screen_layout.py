"""Every text on the kiosk's screens fits the box it is laid out in, and no two texts
are drawn over one another: in both languages, with the longest texts the screens show
in use, on the screen sizes kiosks have.

Each screen is built in a real Kivy window under Xvfb, filled, laid out, and its labels
measured: the size of the text Kivy drew (the label's texture) against the label's box."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.xvfb import run_in_kivy_window

_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from datetime import UTC, datetime
    from pathlib import Path
    from hailong.kiosk.kivy_env import prepare_kivy_environment
    prepare_kivy_environment(Path(sys.argv[1]))
    from hailong.kiosk.xdisplay import screen_size
    from kivy.config import Config
    width, height = screen_size()
    for option, value in (("width", width), ("height", height), ("multisamples", 0)):
        Config.set("graphics", option, str(value))
    from kivy.base import EventLoop
    from kivy.core.window import Window
    from kivy.uix.label import Label
    from hailong import i18n
    from hailong.config.reasons import REASON_CODES
    from hailong.config.settings import DEFAULT_SCALE, ScaleLevel
    from hailong.kiosk.controller import OfficerCard
    from hailong.kiosk.screens.comment import CommentScreen
    from hailong.kiosk.screens.consent import ConsentScreen
    from hailong.kiosk.screens.idle import IdleScreen
    from hailong.kiosk.screens.kv_i18n import _
    from hailong.kiosk.screens.not_enrolled import NotEnrolledScreen
    from hailong.kiosk.screens.phone import PhoneScreen
    from hailong.kiosk.screens.reason import ReasonScreen
    from hailong.kiosk.screens.thanks import ThanksScreen
    from hailong.kiosk.staff.screens import (
        MenuScreen, PinScreen, RosterScreen, SupervisorScreen, TechnicianScreen)
    from hailong.kiosk.staff.views import (
        RosterEntry, SupervisorRow, SupervisorView, sync_line, technician_view)
    from hailong.kiosk.viewmodels import idle_view, reason_choices
    from hailong.sync.store import SyncStatus

    # The longest texts these screens show in use: a long name, title and unit, the
    # five-level scale, an upload failing with a long message.
    NAME = "Nguyễn Thị Phương Thảo"
    CARD = OfficerCard(
        officer_id=1, name=NAME, title="Phó Trưởng phòng Tiếp nhận và Trả kết quả",
        counter_name="Quầy 12", unit_name="Sở Nông nghiệp và Phát triển nông thôn",
        photo_path=None,
    )
    FIVE_LEVELS = tuple(
        ScaleLevel(button=i, label=label, sipas_level=6 - i, colour=colour, icon=icon)
        for i, (label, colour, icon) in enumerate((
            ("Rất hài lòng", "#1b7f3b", "very_happy"), ("Hài lòng", "#6aa84f", "happy"),
            ("Bình thường", "#f1c232", "neutral"), ("Không hài lòng", "#e06666", "unhappy"),
            ("Rất không hài lòng", "#990000", "very_unhappy")), 1)
    )
    FAILING = SyncStatus(
        backlog=12345, set_aside=3, oldest_pending_at=None,
        last_success_at=datetime(2026, 11, 20, 8, 5, tzinfo=UTC),
        last_error_at=datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
        last_error="HTTP 503: máy chủ đang bảo trì, xin thử lại sau",
    )

    def idle(card, scale):
        def make():
            screen = IdleScreen(name="idle")
            screen.show(idle_view(card, scale, "disconnected"))
            return screen
        return make

    def reason():
        screen = ReasonScreen(name="reason")
        screen.show(reason_choices(REASON_CODES))
        return screen

    def menu():
        screen = MenuScreen(name="menu")
        screen.status = i18n._("{name} is signed in.").format(name=NAME)
        screen.officer_present = True
        return screen

    def roster():
        screen = RosterScreen(name="roster")
        screen.show([RosterEntry(officer_id=i, name=name, title="", photo=None, has_pin=True)
                     for i, name in enumerate(
                         (NAME, "Trần Văn Hùng", "Lê Thị Mai Anh", "Phạm Quốc Bảo"), 1)])
        return screen

    def supervisor():
        screen = SupervisorScreen(name="supervisor")
        row = SupervisorRow(name=NAME, today="128", today_valid="127", month="2,391",
                            month_valid="2,377", sipas="100.0 %", d766="100.0 %")
        screen.show(SupervisorView(rows=(row,) * 4, sync=sync_line(FAILING, "Asia/Ho_Chi_Minh")))
        return screen

    def technician():
        screen = TechnicianScreen(name="technician")
        screen.show(technician_view(
            box_status="connected", firmware="1.2.0", serial="HL-2025-000123",
            version="0.1.0", clock_trusted=False, kiosk_id="12", status=FAILING,
            server_url="https://hailong.sonnptnt.gov.vn/", port="auto",
            ports=["/dev/ttyACM0"], timezone="Asia/Ho_Chi_Minh",
        ), fields=True)
        return screen

    SCREENS = {
        "idle, officer, four levels": idle(CARD, DEFAULT_SCALE),
        "idle, officer, five levels": idle(CARD, FIVE_LEVELS),
        "idle, break": idle(None, DEFAULT_SCALE),
        "thanks": lambda: ThanksScreen(name="thanks"),
        "reason": reason,
        "comment": lambda: CommentScreen(name="comment"),
        "consent": lambda: ConsentScreen(name="consent"),
        "phone": lambda: PhoneScreen(name="phone"),
        "not enrolled": lambda: NotEnrolledScreen(name="not_enrolled"),
        "staff menu": menu,
        "roster": roster,
        "pin": lambda: PinScreen(name="pin"),
        "supervisor": supervisor,
        "technician": technician,
    }

    # Where a label's text is drawn in the window: (x, y, width, height) of the
    # non-transparent pixels of its texture, which Kivy centres on the label.
    def ink(label):
        tw, th = label.texture_size
        alpha = label.texture.pixels[3::4]
        rows = [r for r in range(th) if any(alpha[r * tw:(r + 1) * tw])]
        if not rows:
            return None
        columns = [c for c in range(tw) if any(alpha[c::tw])]
        # A label's texture holds its top row first; Kivy flips it when drawing.
        bottom = th - 1 - rows[-1]
        x, y = label.to_window(int(label.center_x - tw / 2), int(label.center_y - th / 2))
        return x + columns[0], y + bottom, columns[-1] - columns[0] + 1, rows[-1] - rows[0] + 1

    def problems(where, screen):
        labels = [w for w in screen.walk() if isinstance(w, Label) and w.text.strip()
                  and w.opacity > 0]
        found = []
        drawn = []
        for label in labels:
            label.texture_update()
            tw, th = label.texture_size
            if tw > label.width + 1 or th > label.height + 1:
                found.append(f"{where}: {label.text!r} needs {tw}x{th}, "
                             f"has {label.width:.0f}x{label.height:.0f}")
            box = ink(label)
            if box is not None:
                drawn.append((label.text, *box))
        for i, (a, ax, ay, aw, ah) in enumerate(drawn):
            for b, bx, by, bw, bh in drawn[i + 1:]:
                if min(ax + aw, bx + bw) > max(ax, bx) and min(ay + ah, by + bh) > max(ay, by):
                    found.append(f"{where}: {a!r} and {b!r} are drawn over one another")
        return found

    EventLoop.ensure_window()
    found = []
    for language in ("vi", "en"):
        i18n.set_language(language)
        _.switch_language(language)
        for name, make in SCREENS.items():
            screen = make()
            Window.add_widget(screen)
            screen.size = Window.size
            for _tick in range(6):
                EventLoop.idle()
            found += problems(f"{language} {name}", screen)
            Window.remove_widget(screen)
    print(json.dumps(found))
    """
)


# A 7-inch panel, a 10-inch one, and the 1280×800 the benchmarks use.
@pytest.mark.parametrize("size", [(800, 480), (1024, 600), (1280, 800)])
def test_screen_texts_fit_their_boxes(tmp_path: Path, size: tuple[int, int]) -> None:
    assert run_in_kivy_window(_SCRIPT, tmp_path / "kivy", size) == []
