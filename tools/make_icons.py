"""Draw the home-screen icons (static/icons/app-*.png) from the favicon's design: an orange
tile with a white shopping bag. Run once after changing the design; the PNGs are committed.

    .venv/bin/python tools/make_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ORANGE = (240, 90, 40, 255)
WHITE = (255, 255, 255, 255)
ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
SUPERSAMPLE = 4  # drawn large, then scaled down: smooth edges without an SVG renderer


def draw(size: int, *, maskable: bool) -> Image.Image:
    """The icon at `size` px. A maskable icon fills the square (the launcher cuts its own
    shape) and keeps the bag inside the middle 80%, the safe zone; the other has the favicon's
    rounded corners."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if maskable:
        pen.rectangle((0, 0, big, big), fill=ORANGE)
        scale, offset = big * 0.8 / 64, big * 0.1
    else:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 14 / 64, fill=ORANGE)
        scale, offset = big / 64, 0.0

    def at(x: float, y: float) -> tuple[float, float]:
        return offset + x * scale, offset + y * scale

    pen.polygon([at(18, 22), at(46, 22), at(43, 44), at(21, 44)], fill=WHITE)  # the bag
    left, top = at(25, 15)
    right, bottom = at(39, 29)
    pen.arc((left, top, right, bottom), 180, 360, fill=WHITE, width=round(4 * scale))  # handle
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    for name, size, maskable in (
        ("app-192.png", 192, False),
        ("app-512.png", 512, False),
        ("app-maskable-512.png", 512, True),
        ("apple-touch-icon.png", 180, True),  # iOS rounds the corners itself
    ):
        draw(size, maskable=maskable).save(ICONS / name, optimize=True)
        print(ICONS / name)


if __name__ == "__main__":
    main()
