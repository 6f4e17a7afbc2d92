"""What the staff screens show, as plain data (no Kivy): tests check it without a window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hailong.i18n import _
from hailong.kiosk.staff.lockout import describe_wait
from hailong.kiosk.staff.stats import OfficerFigures, percent
from hailong.sync.store import SyncStatus
from hailong.sync.wire import Officer

# Plain colours, also how the GUI tests and the screenshot tool find each part.
STAFF_BACKGROUND = "#263238"
STAFF_MARK = "#7b8794"
LANGUAGE_TOGGLE = "#e2e7ee"
LANGUAGE_ACTIVE = "#35607f"
MENU_SIGN_IN = "#2e7d6f"
MENU_SIGN_OUT = "#8d6e4f"
MENU_SUPERVISOR = "#3f5f9f"
MENU_TECHNICIAN = "#6d4c8f"
MENU_BACK = "#56636b"
ROSTER_PANEL = "#2f3d45"
KEYPAD_PANEL = "#34444d"
KEYPAD_KEY = "#51626c"
LOCKED_BANNER = "#b3261e"
SUPERVISOR_HEADER = "#3b5b98"
TECHNICIAN_HEADER = "#684a8a"
SERVER_URL_ROW = "#3a4c57"
BUTTON_TEST_ROW = "#3d4f5a"
TECHNICIAN_KEYBOARD = "#44606e"
MESSAGE_SAVED = "#1f5a3a"
MESSAGE_REFUSED = "#7a2a24"

# The keypad's keys, row by row (the GUI tests find a key's place from this).
KEYPAD_ROWS: tuple[tuple[str, ...], ...] = (
    ("1", "2", "3"),
    ("4", "5", "6"),
    ("7", "8", "9"),
    ("clear", "0", "ok"),
)
ROSTER_COLUMNS = 4


@dataclass(frozen=True)
class RosterEntry:
    officer_id: int
    name: str
    title: str
    photo: Path | None
    has_pin: bool


def roster_entries(officers: Sequence[Officer], photo_dir: Path) -> tuple[RosterEntry, ...]:
    entries = []
    for officer in officers:
        photo = photo_dir / f"{officer.id}.png"
        entries.append(
            RosterEntry(
                officer_id=officer.id,
                name=officer.name,
                title=officer.title,
                photo=photo if photo.exists() else None,
                has_pin=bool(officer.pin_hash),
            )
        )
    return tuple(entries)


def lock_message(remaining_s: float) -> str:
    return _("Too many wrong PINs. Try again in {wait}.").format(wait=describe_wait(remaining_s))


def pin_dots(typed: str) -> str:
    return " ".join("•" * len(typed))


@dataclass(frozen=True)
class SupervisorRow:
    name: str
    today: str
    today_valid: str
    month: str
    month_valid: str
    sipas: str
    d766: str


@dataclass(frozen=True)
class SupervisorView:
    rows: tuple[SupervisorRow, ...]
    sync: str


def when(moment: datetime | None, timezone: str) -> str:
    if moment is None:
        return _("never")
    return moment.astimezone(ZoneInfo(timezone)).strftime("%d/%m/%Y %H:%M")


def sync_line(status: SyncStatus, timezone: str) -> str:
    line = _("Waiting to upload: {backlog} · set aside by the server: {aside} · "
             "last upload: {last}").format(
        backlog=status.backlog, aside=status.set_aside,
        last=when(status.last_success_at, timezone),
    )
    if status.last_error and (
        status.last_success_at is None
        or (status.last_error_at is not None and status.last_error_at > status.last_success_at)
    ):
        line += "\n" + _("Last error: {error}").format(error=status.last_error)
    return line


def supervisor_view(
    rows: Sequence[OfficerFigures], status: SyncStatus, timezone: str
) -> SupervisorView:
    """Counts today and this month; the indices are this month's (today's are too
    few votes to mean much)."""
    return SupervisorView(
        rows=tuple(
            SupervisorRow(
                name=row.name,
                today=str(row.today.ratings),
                today_valid=str(row.today.valid),
                month=str(row.month.ratings),
                month_valid=str(row.month.valid),
                sipas=percent(row.month.sipas_index),
                d766=percent(row.month.decision766_rate),
            )
            for row in rows
        ),
        sync=sync_line(status, timezone),
    )


@dataclass(frozen=True)
class TechnicianView:
    box: str
    version: str
    clock: str
    enrollment: str
    sync: str
    server_url: str
    port: str
    ports: tuple[str, ...]


def box_line(status: str, firmware: str, serial: str) -> str:
    names = {
        "connected": _("connected"),
        "connecting": _("connecting"),
        "disconnected": _("not connected"),
        "disabled": _("turned off in the settings"),
    }
    return _("Button box: {status} · firmware {firmware} · serial {serial}").format(
        status=names.get(status, status), firmware=firmware or "—", serial=serial or "—"
    )


def technician_view(
    *,
    box_status: str,
    firmware: str,
    serial: str,
    version: str,
    clock_trusted: bool,
    kiosk_id: str | None,
    status: SyncStatus,
    server_url: str,
    port: str,
    ports: Sequence[str],
    timezone: str,
) -> TechnicianView:
    choices = ["auto", *sorted(set(ports) - {"auto"})]
    if port not in choices:
        choices.append(port)
    return TechnicianView(
        box=box_line(box_status, firmware, serial),
        version=_("App version {version}").format(version=version),
        clock=_("Clock: synchronised") if clock_trusted
        else _("Clock: NOT synchronised — ratings are marked as untrusted time"),
        enrollment=_("Enrolled as kiosk {id}").format(id=kiosk_id) if kiosk_id
        else _("Not enrolled"),
        sync=sync_line(status, timezone),
        server_url=server_url,
        port=port,
        ports=tuple(choices),
    )
