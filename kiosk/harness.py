"""The real kiosk app as a child process, on a prepared data directory, watched and
driven through a real X display — for the screenshot tool and GUI tests.

    seed_demo_store(data_dir)
    config = write_settings(tmp / "kiosk.toml", data_dir)
    with KioskProcess(config, display) as kiosk:
        kiosk.wait_for(lambda png: colour_box(png, "#1b7f3b") is not None)
        kiosk.tap_colour("#1b7f3b")

No Kivy is imported here: the app runs in the child.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from hailong.kiosk.kivy_env import WINDOW_CLASS
from hailong.kiosk.vi_keyboard import KEYBOARD_ROWS, Key, key_rects
from hailong.kiosk.viewmodels import KEYBOARD_BACKGROUND, choice_centre
from hailong.kiosk.xdisplay import (
    XDisplayError,
    capture,
    click,
    colour_box,
    display_env,
    find_window,
    key,
)
from hailong.sync.wire import Counter, KioskConfig, Officer


def demo_config() -> KioskConfig:
    """The demo organisation's first counter and its four officers, as the central
    server's enrollment would hand them to a kiosk."""
    from hailong.sync.server.seed import COUNTERS, DEMO_OFFICERS, UNIT

    return KioskConfig(
        kiosk_id=1,
        counter=Counter(id=1, name=COUNTERS[0][0], unit_name=UNIT),
        officers=[
            Officer(id=number, name=officer.name, title=officer.title)
            for number, officer in enumerate(DEMO_OFFICERS, start=1)
        ],
    )


def seed_demo_store(
    data_dir: Path, *, enrolled: bool = True, officer_id: int | None = 1
) -> None:
    """A kiosk store as enrollment leaves it: roster, photos and who is signed in."""
    from hailong.sync.server.seed import DEMO_OFFICERS, demo_photo
    from hailong.sync.store import KioskStore

    data_dir.mkdir(parents=True, exist_ok=True)
    with KioskStore(data_dir / "kiosk.db") as store:
        if not enrolled:
            return
        config = demo_config()
        # Where KioskController.photo_dir looks: `<data_dir>/photos/<officer id>.png`.
        photos = data_dir / "photos"
        photos.mkdir(exist_ok=True)
        for officer, demo in zip(config.officers, DEMO_OFFICERS, strict=True):
            # Without a demo photo the screen draws its neutral placeholder.
            with contextlib.suppress(FileNotFoundError):
                (photos / f"{officer.id}.png").write_bytes(demo_photo(demo.photo))
        store.set_state("config", config.model_dump_json())
        store.set_state("officer_id", str(officer_id) if officer_id else "")


def stored_rows(database: Path, query: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Rows of a kiosk's SQLite file by column name, read-only: the running kiosk
    goes on writing it."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(query, params)]


def stored_state(database: Path, key: str) -> str | None:
    """A kiosk's small state value (`KioskStore.get_state`), read-only."""
    rows = stored_rows(database, 'SELECT value FROM state WHERE "key" = ?', (key,))
    return rows[0]["value"] if rows else None


def write_settings(
    path: Path,
    data_dir: Path,
    *,
    language: str = "vi",
    window_size: tuple[int, int] = (1024, 600),
    fullscreen: bool = False,
    thanks_s: float = 3.0,
    response_interval_s: float = 5.0,
    **kiosk: object,
) -> Path:
    """A kiosk settings file for `data_dir`, with the button box turned off and no
    opening hours (tests run at any time of day). Further `kiosk` keys (e.g.
    `reason_timeout_s=2.0`, `reasons=["other"]`) go into its [kiosk] section."""
    # JSON strings are valid TOML basic strings, escapes included.
    path.write_text(
        "[kiosk]\n"
        f"language = {json.dumps(language)}\n"
        f"data_dir = {json.dumps(str(data_dir))}\n"
        f"fullscreen = {json.dumps(fullscreen)}\n"
        f"window_size = [{window_size[0]}, {window_size[1]}]\n"
        f"thanks_s = {thanks_s!r}\n"
        f"response_interval_s = {response_interval_s!r}\n"
        + "".join(f"{name} = {json.dumps(value)}\n" for name, value in kiosk.items())
        + "\n[device]\nenabled = false\n"
        "\n[kiosk.opening_hours]\nenabled = false\n",
        encoding="utf-8",
    )
    return path


class KioskProcess:
    """`hailong kiosk --config CONFIG run` on `display`, with its window found, its
    output kept in `log_path`, and a gentle stop (SIGTERM) as a service manager would."""

    def __init__(self, config: Path, display: str, log_path: Path | None = None) -> None:
        self.config = config
        self.display = display
        self.log_path = log_path or config.with_suffix(".log")
        self.window = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> KioskProcess:
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "hailong", "kiosk", "--config", str(self.config), "run"],
                env=display_env(self.display),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self.window = find_window(self.display, WINDOW_CLASS, process=self._proc)
        except XDisplayError as exc:
            self.__exit__(None, None, None)
            raise XDisplayError(f"{exc}\n--- kiosk log ---\n{self.log()}") from None
        return self

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("the kiosk has not been started")
        return self._proc.pid

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.running:
            try:
                self.stop()
            except subprocess.TimeoutExpired:
                assert self._proc is not None
                self._proc.kill()
                self._proc.wait(timeout=10)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 15) -> int:
        """Ask the app to stop as the service manager would; its exit status."""
        assert self._proc is not None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
        return self._proc.wait(timeout=timeout)

    # -- looking and touching ------------------------------------------------------

    def screen(self) -> bytes:
        return capture(self.display, self.window)

    def wait_for(self, shows: Callable[[bytes], bool], timeout: float = 15) -> bytes:
        """The first settled picture of the window that `shows` accepts: the same
        picture twice in a row, so a half-drawn frame is never taken."""
        deadline = time.monotonic() + timeout
        previous = b""
        while True:
            if not self.running:
                raise XDisplayError(f"the kiosk exited\n--- kiosk log ---\n{self.log()}")
            png = self.screen()
            if png == previous and shows(png):
                return png
            if time.monotonic() > deadline:
                raise XDisplayError(
                    f"the expected screen did not appear within {timeout} s\n"
                    f"--- kiosk log ---\n{self.log()}"
                )
            previous = png
            time.sleep(0.05)

    def tap_colour(self, colour: str) -> None:
        """Tap the middle of what is painted in `colour`, like a finger on a button."""
        box = colour_box(self.screen(), colour)
        if box is None:
            raise XDisplayError(f"nothing coloured {colour} on screen to tap")
        click(self.display, self.window, *box.centre)

    def press_key(self, keys: str) -> None:
        key(self.display, self.window, keys)

    def tap_choice(self, colour: str, index: int, count: int) -> None:
        """Tap the `index`th of `count` reason choices (all painted in `colour`)."""
        box = colour_box(self.screen(), colour)
        if box is None:
            raise XDisplayError(f"no choices coloured {colour} on screen to tap")
        bounds = (box.x, box.y, box.width, box.height)
        click(self.display, self.window, *choice_centre(bounds, index, count))

    def type_keys(
        self,
        keys: Sequence[Key],
        rows: tuple[tuple[Key, ...], ...] = KEYBOARD_ROWS,
        panel: str = KEYBOARD_BACKGROUND,
    ) -> None:
        """Tap `keys` one by one on the key panel painted in `panel` whose layout is
        `rows` (the Vietnamese keyboard by default), as a finger would."""
        box = colour_box(self.screen(), panel)
        if box is None:
            raise XDisplayError(f"no key panel coloured {panel} on screen")
        places = {(rect.key.kind, rect.key.value): rect.centre for rect in key_rects(rows)}
        for pressed in keys:
            fx, fy = places[(pressed.kind, pressed.value)]
            click(self.display, self.window, box.x + int(fx * box.width),
                  box.y + int(fy * box.height))


def showing(colour: str) -> Callable[[bytes], bool]:
    """A `wait_for` test: some of the window is painted in `colour`."""
    return lambda png: colour_box(png, colour) is not None


def filling(colour: str) -> Callable[[bytes], bool]:
    """A `wait_for` test: `colour` is the page's background, seen in all four corners
    of the window (a few pixels of it elsewhere, e.g. in anti-aliased text, do not
    count)."""
    want = colour.removeprefix("#").upper()

    def fills(png: bytes) -> bool:
        width, height = struct.unpack(">II", png[16:24])
        corners = [(2, 2), (width - 3, 2), (2, height - 3), (width - 3, height - 3)]
        result = subprocess.run(
            ["convert", "png:-", "-format",
             " ".join(f"%[hex:p{{{x},{y}}}]" for x, y in corners), "info:"],
            input=png, capture_output=True, timeout=15, check=True,
        )
        return all(pixel[:6] == want for pixel in result.stdout.decode().split())

    return fills
