"""Small drawn widgets shared by the screens: a smiley face and a portrait placeholder.

Both are drawn with canvas instructions, so the kiosk ships no image it did not make
and they stay sharp at any screen size.
"""

from __future__ import annotations

from kivy.graphics import Color, Ellipse, Line, RoundedRectangle
from kivy.properties import ColorProperty, NumericProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.image import Image
from kivy.uix.widget import Widget

from hailong.kiosk.viewmodels import mouth_points


class Smiley(Widget):
    """A face in one colour: outline, two eyes and a mouth bent by `mouth` (-1..1)."""

    mouth = NumericProperty(0.0)
    ink = ColorProperty((1, 1, 1, 1))

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        with self.canvas:
            self._ink = Color(rgba=self.ink)
            self._outline = Line()
            self._eyes = (Ellipse(), Ellipse())
            self._mouth = Line(cap="round")
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
        self._mouth.points = mouth_points(self.mouth, cx, cy, radius)
        self._mouth.width = stroke


class Silhouette(Widget):
    """A neutral head-and-shoulders outline on a soft tile, for an officer without a photo."""

    ink = ColorProperty((0.72, 0.76, 0.82, 1))
    tile = ColorProperty((0.90, 0.92, 0.95, 1))

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        with self.canvas:
            self._tile_colour = Color(rgba=self.tile)
            self._tile = RoundedRectangle()
            self._ink = Color(rgba=self.ink)
            self._head = Ellipse()
            # The upper half of an ellipse whose centre sits on the tile's bottom edge.
            self._shoulders = Ellipse(angle_start=-90, angle_end=90)
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
    """The officer's photo, or the silhouette when `source` is empty."""

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
            self.add_widget(self._image)
        else:
            self.add_widget(self._silhouette)
