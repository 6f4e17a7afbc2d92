"""`python -m hailong.kiosk.screenshots OUTDIR`: pictures of the kiosk's screens as a
person sees them.

Runs the real app (a child process) on a demo store, taps it with real X events, and
photographs its window. With no DISPLAY, or with --xvfb, it brings its own Xvfb.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from hailong.config.reasons import REASON_CODES
from hailong.config.settings import DEFAULT_SCALE
from hailong.i18n import DEFAULT_LANGUAGE, LANGUAGES, _
from hailong.kiosk.harness import (
    KioskProcess,
    filling,
    seed_demo_store,
    showing,
    write_settings,
)
from hailong.kiosk.staff.screenshots import staff_screenshots
from hailong.kiosk.vi_keyboard import keys_for
from hailong.kiosk.viewmodels import (
    CHOICE_COLOUR,
    COMMENT_BACKGROUND,
    CONSENT_BACKGROUND,
    KEYPAD_ROWS,
    NOT_ENROLLED_BACKGROUND,
    PHONE_BACKGROUND,
    PRIMARY_COLOUR,
    REASON_BACKGROUND,
    THANKS_BACKGROUND,
)
from hailong.xvfb import Xvfb

log = logging.getLogger(__name__)


def _name(stem: str, language: str) -> str:
    return f"{stem}.png" if language == DEFAULT_LANGUAGE else f"{stem}-{language}.png"


def take_screenshots(
    outdir: Path, display: str, language: str, window_size: tuple[int, int]
) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    first_level = DEFAULT_SCALE[0].colour
    written: list[Path] = []

    def save(stem: str, png: bytes) -> None:
        path = outdir / _name(stem, language)
        path.write_bytes(png)
        written.append(path)
        log.info("wrote %s", path)

    scenes = (
        ("serving", {"enrolled": True, "officer_id": 1}),
        ("follow_up", {"enrolled": True, "officer_id": 1}),
        ("break", {"enrolled": True, "officer_id": None}),
        ("not_enrolled", {"enrolled": False}),
    )
    with tempfile.TemporaryDirectory(prefix="hailong-shots-") as tmp:
        for scene, seed in scenes:
            data_dir = Path(tmp) / scene
            seed_demo_store(data_dir, **seed)
            config = write_settings(
                Path(tmp) / f"{scene}.toml", data_dir, language=language, window_size=window_size,
                # Time enough for the pictures, whatever the machine.
                reason_timeout_s=120.0,
            )
            with KioskProcess(config, display) as kiosk:
                if scene == "serving":
                    save("kiosk-idle", kiosk.wait_for(showing(first_level)))
                    kiosk.tap_colour(first_level)
                    save("kiosk-thanks", kiosk.wait_for(showing(THANKS_BACKGROUND)))
                elif scene == "follow_up":
                    _follow_up(kiosk, save)
                elif scene == "break":
                    save("kiosk-no-officer", kiosk.wait_for(showing(first_level)))
                else:
                    save("kiosk-not-enrolled", kiosk.wait_for(showing(NOT_ENROLLED_BACKGROUND)))
        staff_screenshots(Path(tmp), display, language, window_size, save)
    return written


def _follow_up(kiosk: KioskProcess, save: Callable[[str, bytes], None]) -> None:
    """The pages after the lowest rating, filled in as a citizen would."""
    lowest = DEFAULT_SCALE[-1].colour
    kiosk.wait_for(showing(lowest))
    kiosk.tap_colour(lowest)
    save("kiosk-reason", kiosk.wait_for(filling(REASON_BACKGROUND)))
    kiosk.tap_choice(CHOICE_COLOUR, 0, len(REASON_CODES))
    kiosk.wait_for(filling(COMMENT_BACKGROUND))
    kiosk.type_keys(keys_for("Người dân chờ quá lâu, phải đến hai lần"))
    save("kiosk-comment", kiosk.wait_for(filling(COMMENT_BACKGROUND)))
    kiosk.tap_colour(PRIMARY_COLOUR)
    save("kiosk-consent", kiosk.wait_for(filling(CONSENT_BACKGROUND)))
    kiosk.tap_colour(PRIMARY_COLOUR)
    kiosk.wait_for(filling(PHONE_BACKGROUND))
    kiosk.type_keys(keys_for("0912345678"), KEYPAD_ROWS)
    save("kiosk-phone", kiosk.wait_for(showing(PRIMARY_COLOUR)))
    kiosk.tap_colour(PRIMARY_COLOUR)
    kiosk.wait_for(showing(THANKS_BACKGROUND))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hailong.kiosk.screenshots",
        description=_("Photograph every kiosk screen, running the real app on demo data."),
    )
    parser.add_argument("outdir", type=Path, help=_("folder for the PNG files"))
    parser.add_argument(
        "--language", choices=LANGUAGES, action="append",
        help=_("language of the screens (repeat for several; default: all)"),
    )
    parser.add_argument(
        "--xvfb", action="store_true", help=_("use a private Xvfb even when DISPLAY is set")
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    window_size = (1024, 600)
    with ExitStack() as stack:
        display = os.environ.get("DISPLAY", "")
        if args.xvfb or not display:
            width, height = window_size
            display = stack.enter_context(Xvfb(width, height)).display
            log.info("no display given: using Xvfb %s", display)
        for language in args.language or LANGUAGES:
            take_screenshots(args.outdir, display, language, window_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
