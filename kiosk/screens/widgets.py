"""Small drawn widgets shared by the screens: a smiley face, a tick in a ring, a
portrait placeholder, and a screen on a flat colour.

The shapes are drawn with canvas instructions, so the kiosk ships no image it did not
make and they stay sharp at any screen size. They use Kivy's Smooth* instructions,
which antialias their own edges: the window has no multisampling (see
`hailong.kiosk.app.configure_kivy`).
"""

from __future__ import annotations

import logging

from kivy.graphics import Color, SmoothEllipse, SmoothLine, SmoothRoundedRectangle
from kivy.properties import ColorProperty, NumericProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.image import Image
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from hailong.kiosk.viewmodels import mouth_points

log = logging.getLogger(__name__)


class RoundStroke:
    """A thick antialiased polyline with round ends, made inside a `with canvas:`
    block. SmoothLine has no caps or joints, so a disc as wide as the stroke sits on
    each vertex listed in `discs_at` (indices into the points; the ends by default)."""

    def __init__(self, discs_at: tuple[int, ...] = (0, -1)) -> None:
        self._line = SmoothLine()
        self._discs = [(index, SmoothEllipse()) for index in discs_at]

    def draw(self, points: list[float], width: float) -> None:
        self._line.points = points
        self._line.width = width
        vertices = list(zip(points[::2], points[1::2], strict=True))
        for index, disc in self._discs:
            x, y = vertices[index]
            disc.pos = (x - width, y - width)
            disc.size = (2 * width, 2 * width)


class Smiley(Widget):
    """A face in one colour: outline, two eyes and a mouth bent by `mouth` (-1..1)."""

    mouth = NumericProperty(0.0)
    ink = ColorProperty((1, 1, 1, 1))

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        with self.canvas:
            self._ink = Color(rgba=self.ink)
            self._outline = SmoothLine(close=True)
            self._eyes = (SmoothEllipse(), SmoothEllipse())
            self._mouth = RoundStroke()
        self.bind(pos=self._draw, size=self._draw, mouth=self._draw, ink=self._draw)
        self._draw()

    def _draw(self, *_args: object) -> None:
        # From x/y/size, not `center`: that alias may not be updated yet when `pos` fires.
        cx, cy = self.x + self.width / 2, self.y + self.height / 2
        radius = 0.5 * min(self.width, self.height)
        stroke = max(1.5, radius * 0.09)
        eye = radius * 0.13
        self._ink.rgba = self.ink
        self._outline.circle = (cx, cy, radius - stroke)
        self._outline.width = stroke
        for side, ellipse in zip((-1, 1), self._eyes, strict=True):
            ex, ey = cx + side * 0.34 * radius, cy + 0.22 * radius
            ellipse.pos = (ex - eye, ey - eye)
            ellipse.size = (2 * eye, 2 * eye)
        self._mouth.draw(mouth_points(self.mouth, cx, cy, radius), stroke)


class Tick(Widget):
    """A tick in a ring, in one colour: the thank-you's mark."""

    ink = ColorProperty((1, 1, 1, 1))

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        with self.canvas:
            self._ink = Color(rgba=self.ink)
            self._ring = SmoothLine(close=True)
            self._tick = RoundStroke(discs_at=(0, 1, 2))
        self.bind(pos=self._draw, size=self._draw, ink=self._draw)
        self._draw()

    def _draw(self, *_args: object) -> None:
        cx, cy = self.x + self.width / 2, self.y + self.height / 2
        side = min(self.width, self.height)
        self._ink.rgba = self.ink
        self._ring.circle = (cx, cy, side * 0.45)
        self._ring.width = max(2, side * 0.035)
        self._tick.draw(
            [cx - side * 0.2, cy, cx - side * 0.05, cy - side * 0.16,
             cx + side * 0.22, cy + side * 0.16],
            max(2, side * 0.045),
        )


class Silhouette(Widget):
    """A neutral head-and-shoulders outline on a soft tile, for an officer without a photo."""

    ink = ColorProperty((0.72, 0.76, 0.82, 1))
    tile = ColorProperty((0.90, 0.92, 0.95, 1))

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        with self.canvas:
            self._tile_colour = Color(rgba=self.tile)
            self._tile = SmoothRoundedRectangle()
            self._ink = Color(rgba=self.ink)
            self._head = SmoothEllipse()
            # The upper half of an ellipse whose centre sits on the tile's bottom edge.
            self._shoulders = SmoothEllipse(angle_start=-90, angle_end=90)
        self.bind(pos=self._draw, size=self._draw, ink=self._draw, tile=self._draw)
        self._draw()

    def _draw(self, *_args: object) -> None:
        side = min(self.width, self.height)
        cx = self.x + self.width / 2
        x0, y0 = cx - side / 2, self.y + (self.height - side) / 2
        head = side * 0.34
        shoulders = side * 0.8
        self._tile_colour.rgba = self.tile
        self._tile.pos = (x0, y0)
        self._tile.size = (side, side)
        self._tile.radius = [side * 0.06]
        self._ink.rgba = self.ink
        self._head.pos = (cx - head / 2, y0 + side * 0.48)
        self._head.size = (head, head)
        self._shoulders.pos = (cx - shoulders / 2, y0 - shoulders / 2)
        self._shoulders.size = (shoulders, shoulders)


class PhotoFrame(FloatLayout):
    """The officer's photo, or the silhouette when `source` is empty or cannot be read."""

    source = StringProperty("")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._silhouette = Silhouette(size_hint=(1, 1), pos_hint={"x": 0, "y": 0})
        self._image = Image(size_hint=(1, 1), pos_hint={"x": 0, "y": 0}, fit_mode="contain")
        self.bind(source=self._show)
        self._show()

    def _show(self, *_args: object) -> None:
        self.clear_widgets()
        if self.source:
            # A re-enrolled roster may replace a photo under the same file name.
            self._image.nocache = True
            self._image.source = self.source
            if self._image.texture is not None:
                self.add_widget(self._image)
                return
            # A damaged file (a download cut by a power failure) would be a blank box.
            log.warning("officer photo %s cannot be read; the placeholder is shown", self.source)
        self.add_widget(self._silhouette)


class FlatScreen(Screen):
    """A full-window screen on one colour, `background`, which the window's clear
    paints. A full-window rectangle would be a textured, blended quad that a software
    renderer shades pixel by pixel on every frame; the clear is a plain fill."""

    background = ColorProperty((1, 1, 1, 1))

    def paint(self) -> None:
        """Give the window this screen's colour, unless the screen's manager is hidden
        (the citizen's screens under the staff menu): what covers it owns the colour."""
        if self.manager is None or self.manager.opacity > 0:
            _paint_window(self.background)

    def on_pre_enter(self, *_args: object) -> None:
        self.paint()

    def on_background(self, _screen: object, _colour: list[float]) -> None:
        if self.manager is not None and self.manager.current_screen is self:
            self.paint()


def _paint_window(colour: list[float]) -> None:
    # Imported here: importing Kivy's window opens it, and these widgets are also
    # made in tests without one.
    from kivy.core.window import Window

    Window.clearcolor = colour
