"""Draw the demo officers' portraits (illustrated avatars, not real people).

Run by a developer when the demo roster changes; the PNGs are committed under
`demo_photos/`. Needs Pillow (a dev dependency):

    python -m hailong.sync.server.make_demo_photos
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from hailong.sync.server.seed import DEMO_OFFICERS, DemoOfficer

OUT = Path(__file__).with_name("demo_photos")
SIZE = (240, 300)
SCALE = 3  # drawn large, then shrunk: smooth edges without anti-aliasing support
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def portrait(officer: DemoOfficer) -> Image.Image:
    w, h = SIZE[0] * SCALE, SIZE[1] * SCALE
    image = Image.new("RGB", (w, h), officer.background)
    draw = ImageDraw.Draw(image)
    cx = w // 2
    if officer.long_hair:  # behind the head and down to the shoulders
        draw.rounded_rectangle(
            (cx - 0.22 * w, 0.21 * h, cx + 0.22 * w, 0.68 * h), radius=0.2 * w, fill=officer.hair
        )
    else:
        draw.ellipse((cx - 0.195 * w, 0.205 * h, cx + 0.195 * w, 0.50 * h), fill=officer.hair)
    draw.rectangle((cx - 0.07 * w, 0.56 * h, cx + 0.07 * w, 0.74 * h), fill=officer.skin)
    draw.ellipse((cx - 0.46 * w, 0.71 * h, cx + 0.46 * w, 1.30 * h), fill=officer.shirt)
    draw.polygon(
        [(cx - 0.09 * w, 0.715 * h), (cx + 0.09 * w, 0.715 * h), (cx, 0.80 * h)], fill=officer.skin
    )
    draw.ellipse((cx - 0.17 * w, 0.27 * h, cx + 0.17 * w, 0.62 * h), fill=officer.skin)
    # the fringe over the forehead
    draw.chord((cx - 0.18 * w, 0.225 * h, cx + 0.18 * w, 0.43 * h), 180, 360, fill=officer.hair)
    # initials on the shirt
    font = ImageFont.truetype(FONT, int(0.11 * h))
    draw.text((cx, 0.89 * h), officer.initials, font=font, fill="#ffffff", anchor="mm")
    small = image.resize(SIZE, Image.Resampling.LANCZOS)
    return small.quantize(colors=48, method=Image.Quantize.MEDIANCUT)


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for officer in DEMO_OFFICERS:
        path = OUT / officer.photo
        portrait(officer).save(path, optimize=True)
        print(f"{path} {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
