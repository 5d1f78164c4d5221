"""Showing results: the contact sheet (the sketch beside its ranked photos) and its thumbnails."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from PIL import Image, ImageDraw, ImageFont, ImageOps

from sbka_lite.data.errors import ImageReadError

from .engine import SearchHit
from .photos import load_photo
from .sketch import sketch_to_image

UNREADABLE_GREY = (190, 190, 190)


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()


def short_name(path: str | Path, limit: int = 24) -> str:
    """``folder/file.jpg``: enough of a path to tell photos apart in a caption."""
    name = "/".join(Path(path).parts[-2:])
    return name if len(name) <= limit else "..." + name[-(limit - 3):]


def _fit_width(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """Trim `text` from the left (keeping the file name) until it fits under a thumbnail."""
    while len(text) > 4 and draw.textlength(text, font=font) > width:
        text = "..." + text[4:]
    return text


def _thumbnail(image: Image.Image, size: int) -> Image.Image:
    image = ImageOps.contain(image, (size, size))  # scales small photos up as well as large ones down
    tile = Image.new("RGB", (size, size), "white")
    tile.paste(image, ((size - image.width) // 2, (size - image.height) // 2))
    return tile


def photo_tile(path: str | Path, size: int, font=None) -> Image.Image:
    """A photo as a white-padded square thumbnail, or a grey tile saying it is unreadable."""
    try:
        return _thumbnail(load_photo(path), size)
    except ImageReadError:
        tile = Image.new("RGB", (size, size), UNREADABLE_GREY)
        ImageDraw.Draw(tile).text((6, size // 2 - 6), "unreadable", fill="black", font=font or _font(12))
        return tile


def contact_sheet(sketch: Any, results: Sequence[SearchHit], *, thumb: int = 160, columns: int = 5) -> Image.Image:
    """The sketch beside its ranked photos, each captioned with rank, distance and file name.

    Photos are decoded by `sbka_lite.data.decode` under the search's size cap; one that can no
    longer be read shows as a grey tile saying so.
    """
    sketch_image = sketch_to_image(sketch)
    columns = max(1, min(columns, len(results) or 1))
    rows = max(1, -(-len(results) // columns))
    caption, pad = max(14, thumb // 8), 8
    cell_w, cell_h = thumb + pad, thumb + 2 * caption + pad
    width = pad + cell_w * (columns + 1) + pad
    sheet = Image.new("RGB", (width, pad + rows * cell_h), "white")
    draw, font = ImageDraw.Draw(sheet), _font(max(10, caption - 3))
    sheet.paste(_thumbnail(sketch_image, thumb), (pad, pad))
    draw.rectangle([pad - 1, pad - 1, pad + thumb, pad + thumb], outline=(200, 30, 30), width=2)
    draw.text((pad, pad + thumb + 2), "sketch", fill=(200, 30, 30), font=font)
    for rank, hit in enumerate(results):
        row, col = divmod(rank, columns)
        x, y = pad + cell_w * (col + 1) + pad, pad + row * cell_h
        sheet.paste(photo_tile(hit.path, thumb, font), (x, y))
        draw.text((x, y + thumb + 2), f"#{rank + 1}  d={hit.distance:.3f}", fill="black", font=font)
        draw.text((x, y + thumb + 2 + caption), _fit_width(draw, short_name(hit.path), font, thumb), fill=(90, 90, 90),
                  font=font)
    return sheet
