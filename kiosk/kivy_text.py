"""Kivy's SDL2 text provider, made to let go of each label's drawing surface.

To draw a label, Kivy renders its text into an SDL surface (width × height × 4
bytes), copies the pixels out and uploads the copy to the label's texture. Kivy
2.3's SDL2 provider then keeps the surface for as long as the label lives (its
Pygame provider deletes it): on the kiosk, some 2.6 MB held for text already drawn.

Import this only after `hailong.kiosk.kivy_env.prepare_kivy_environment`.
"""

from __future__ import annotations

from typing import Any

from kivy.core.text import text_sdl2


def release_label_surfaces() -> None:
    """From now on, every SDL2 label drops its surface once the pixels are copied out.
    Idempotent."""
    provider = text_sdl2.LabelSDL2
    if getattr(provider._render_end, "releases_surface", False):
        return
    keep_surface = provider._render_end

    def render_end(self: Any) -> Any:
        # The image data holds its own copy of the pixels (a bytes object); the next
        # render starts a new surface in `_render_begin`.
        data = keep_surface(self)
        self._surface = None
        return data

    render_end.releases_surface = True  # type: ignore[attr-defined]
    provider._render_end = render_end
