"""A contact sheet: per class, one row of sketches and one row of photos, for a look at the whole catalogue."""
from __future__ import annotations

from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

from .catalogue import SYNTHETIC_CLASSES
from .photo import draw_photo
from .sketch import draw_sketch


def render_contact_sheet(class_names: Sequence[str] | None = None, *, per_row: int = 6, size: int = 96, seed: int = 0) -> Image.Image:
    """A grid with, per class, one row of sketches and one row of photos (independent instances)."""
    names = list(class_names or SYNTHETIC_CLASSES)
    label_w = 130
    sheet = Image.new("RGB", (label_w + per_row * size, 2 * len(names) * size), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for r, name in enumerate(names):
        for k in range(per_row):
            sheet.paste(draw_sketch(name, seed=seed * 1000 + k, size=size), (label_w + k * size, 2 * r * size))
            sheet.paste(draw_photo(name, seed=seed * 1000 + 500 + k, size=size), (label_w + k * size, (2 * r + 1) * size))
        split = SYNTHETIC_CLASSES[name].split
        draw.text((4, 2 * r * size + size - 12), f"{name}\n({split})", fill="black", font=font)
    return sheet
