"""The one image decoder: training, evaluation, search and the reader's checks all go through it.

* Transparency (an alpha channel, a palette's or a greyscale/RGB image's transparent colour)
  is composited onto **white** paper, so a canvas sketch with a clear background reads as
  black ink on white, whether it arrives as a file or as a PIL image.
* High bit-depth greyscale (16-bit PNG: PIL modes ``I;16*`` and ``I``; float ``F``) is scaled
  by its value range to 8 bits. A plain ``convert("RGB")`` clips it, which turns a 16-bit
  sketch white.
* A file's EXIF orientation is applied (a phone photo stored sideways is decoded upright), so
  search shows and embeds what the camera saw. The public code bases ignore it; their resized
  benchmark photos are not expected to carry one, but one that does is decoded upright here.
* Everything else (``1``, ``L``, ``P``, ``CMYK`` JPEGs, ``YCbCr``, 16-bit RGB PNGs, which PIL
  reads as 8-bit RGB) goes through PIL's own conversion.
* A file that cannot be decoded raises `ImageReadError` naming the path; so does one larger
  than ``max_pixels`` (the caller decides whether that is skipped or fatal).
"""
from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image, ImageOps

from .errors import ImageReadError

WHITE = (255, 255, 255)
_ORIENTATION = 0x0112  # the EXIF tag a camera sets when it stores a photo sideways
_HIGH_DEPTH = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535}


def _to_8bit(image: Image.Image) -> Image.Image:
    """Greyscale of more than 8 bits -> ``L`` scaled by the mode's value range."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode in _HIGH_DEPTH:
        top = _HIGH_DEPTH[image.mode]
    elif image.mode == "F":
        top = 1.0 if values.size and np.nanmax(values) <= 1.0 else 255.0
    else:  # "I": 32-bit ints, which PIL also uses for 16-bit PNGs
        peak = float(values.max()) if values.size else 0.0
        top = 255.0 if peak <= 255 else 65535.0 if peak <= 65535 else peak
    scaled = np.clip(np.nan_to_num(values) * (255.0 / top), 0, 255).round().astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


def _on_white(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, WHITE + (255,)), rgba).convert("RGB")


def _high_depth_to_rgb(image: Image.Image) -> Image.Image:
    grey = _to_8bit(image)
    transparency = image.info.get("transparency")
    if not isinstance(transparency, (int, float)):
        return grey.convert("RGB")
    # Compared at full depth: after scaling to 8 bits, near-by greys would match the transparent one too.
    alpha = np.where(np.asarray(image) == transparency, 0, 255).astype(np.uint8)
    return _on_white(Image.merge("LA", (grey, Image.fromarray(alpha, mode="L"))))


def to_rgb(image: Image.Image) -> Image.Image:
    """An RGB copy of `image`: high bit-depth scaled to 8 bits, transparency laid on white."""
    if image.mode in _HIGH_DEPTH or image.mode in ("I", "F"):
        return _high_depth_to_rgb(image)
    if image.mode == "P" or "transparency" in image.info or image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return _on_white(image)
    return image.convert("RGB")  # L, 1, RGB, CMYK (PIL undoes Adobe's inverted CMYK), YCbCr, ...


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
                    if handle.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale: draft keeps at least the size asked
                        scale, (width, height) = 1, handle.size
                        while scale < 8 and (width // scale) * (height // scale) > max_pixels:
                            scale *= 2
                        handle.draft("RGB", (width // scale, height // scale))
                    if handle.width * handle.height > max_pixels:
                        raise ImageReadError(path, f"too large: {handle.width}x{handle.height} pixels "
                                                   f"(more than {max_pixels:,})")
                handle.load()
                upright = ImageOps.exif_transpose(handle) if handle.getexif().get(_ORIENTATION, 1) != 1 else handle
                return to_rgb(upright)
    except ImageReadError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageReadError(path, f"{type(error).__name__}: {error}") from error
