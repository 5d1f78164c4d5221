"""The one image decoder: training, evaluation, search and the reader's checks all go through it.

* Transparency (an alpha channel, a palette's or a greyscale/RGB image's transparent colour)
  is composited onto **white** paper, so a canvas sketch with a clear background reads as
  black ink on white, whether it arrives as a file or as a PIL image.
* High bit-depth greyscale (16-bit PNG: PIL modes ``I;16*`` and ``I``; float ``F``) is scaled
  by its value range to 8 bits. A plain ``convert("RGB")`` clips it, which turns a 16-bit
  sketch white.
* A file that cannot be decoded raises `ImageReadError` naming the path; so does one larger
  than ``max_pixels`` (the caller decides whether that is skipped or fatal).
"""
from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image

from .errors import ImageReadError

WHITE = (255, 255, 255)
_HIGH_DEPTH = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535}


def _to_8bit(image: Image.Image) -> tuple[Image.Image, float]:
    """Greyscale of more than 8 bits -> ``L`` scaled by the mode's value range (and that range)."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode in _HIGH_DEPTH:
        top = _HIGH_DEPTH[image.mode]
    elif image.mode == "F":
        top = 1.0 if values.size and np.nanmax(values) <= 1.0 else 255.0
    else:  # "I": 32-bit ints, which PIL also uses for 16-bit PNGs
        peak = float(values.max()) if values.size else 0.0
        top = 255.0 if peak <= 255 else 65535.0 if peak <= 65535 else peak
    scaled = np.clip(np.nan_to_num(values) * (255.0 / top), 0, 255).round().astype(np.uint8)
    return Image.fromarray(scaled, mode="L"), top


def to_rgb(image: Image.Image) -> Image.Image:
    """An RGB copy of `image`: high bit-depth scaled to 8 bits, transparency laid on white."""
    if image.mode in _HIGH_DEPTH or image.mode in ("I", "F"):
        transparency = image.info.get("transparency")
        image, top = _to_8bit(image)
        if isinstance(transparency, (int, float)):  # a transparent 16-bit grey stays transparent
            image.info["transparency"] = int(round(min(max(transparency, 0), top) * 255.0 / top))
    if image.mode == "P" or "transparency" in image.info or image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, WHITE + (255,))
        return Image.alpha_composite(paper, rgba).convert("RGB")
    return image.convert("RGB")


def decode_image(path: str | os.PathLike, *, max_pixels: int | None = None) -> Image.Image:
    """Decode the file at `path` fully into RGB (see the module docstring).

    Args:
        max_pixels: refuse an image with more pixels than this (before decoding it; JPEGs are
            first reduced by the decoder's draft mode where that brings them under the cap).

    Raises:
        ImageReadError: missing, unreadable, truncated, not an image, or too large (``.path``).
    """
    path = os.fspath(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # max_pixels is the cap that matters
            with Image.open(path) as handle:
                if max_pixels is not None and handle.width * handle.height > max_pixels:
                    side = int((max_pixels * handle.width / max(handle.height, 1)) ** 0.5)
                    if handle.format == "JPEG":
                        handle.draft("RGB", (side, max(1, max_pixels // max(side, 1))))
                    if handle.width * handle.height > max_pixels:
                        raise ImageReadError(path, f"too large: {handle.width}x{handle.height} pixels "
                                                   f"(more than {max_pixels:,})")
                handle.load()
                return to_rgb(handle)
    except ImageReadError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageReadError(path, f"{type(error).__name__}: {error}") from error
