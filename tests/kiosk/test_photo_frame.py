"""The officer's photo on the idle screen: drawn when it can be read, and the drawn
placeholder instead of a blank box when the file is damaged."""

from __future__ import annotations

import textwrap
from pathlib import Path

from hailong.sync.server.seed import DEMO_OFFICERS, demo_photo
from tests.xvfb import run_in_kivy_window

_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from hailong.kiosk.kivy_env import prepare_kivy_environment
    prepare_kivy_environment(Path(sys.argv[1]))
    from kivy.base import EventLoop
    EventLoop.ensure_window()
    from hailong.kiosk.screens.widgets import PhotoFrame

    folder = Path(sys.argv[1]).parent

    def shown(frame):
        return [type(child).__name__ for child in frame.children]

    good = PhotoFrame(source=str(folder / "good.png"))
    damaged = PhotoFrame(source=str(folder / "damaged.png"))
    # An officer whose photo is replaced by a damaged one (same screen, new source).
    replaced = PhotoFrame(source=str(folder / "good.png"))
    replaced.source = str(folder / "damaged.png")
    print(json.dumps([shown(good), shown(damaged), shown(replaced)]))
    """
)


def test_a_damaged_photo_shows_the_placeholder_not_a_blank_box(tmp_path: Path) -> None:
    (tmp_path / "good.png").write_bytes(demo_photo(DEMO_OFFICERS[0].photo))
    # The first bytes of a PNG, cut short as a download stopped by a power failure.
    (tmp_path / "damaged.png").write_bytes(demo_photo(DEMO_OFFICERS[1].photo)[:300])
    good, damaged, replaced = run_in_kivy_window(_SCRIPT, tmp_path / "kivy")
    assert good == ["Image"]
    assert damaged == ["Silhouette"]
    assert replaced == ["Silhouette"]
