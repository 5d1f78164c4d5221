"""A sketch query as an RGB image, from a file path, a PIL image or a numpy array (e.g. a canvas)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from sbka_lite.data.decode import decode_image, to_rgb
from sbka_lite.data.errors import ImageReadError

from .errors import SearchError
from .photos import MAX_PHOTO_PIXELS


def _array_to_image(array: np.ndarray) -> Image.Image:
    if array.size == 0 or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise SearchError(f"a sketch array must be HxW, HxWx1, HxWx3 or HxWx4 (alpha); got shape {array.shape}")
    if array.dtype == bool:
        raise SearchError("a boolean sketch array is ambiguous (is True ink or paper?); "
                          "pass uint8 0..255 or floats 0..1 with black ink on white")
    if not np.issubdtype(array.dtype, np.number):
        raise SearchError(f"a sketch array must hold numbers; got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise SearchError("the sketch array holds NaN or infinite values")
        array = array * 255.0 if array.max(initial=0) <= 1.0 else array
    array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return Image.fromarray(np.ascontiguousarray(array))  # uint8 HxW -> L, HxWx3 -> RGB, HxWx4 -> RGBA


def sketch_to_image(sketch: Any) -> Image.Image:
    """An RGB PIL image from a sketch given as a file path, a PIL image or a numpy array.

    Arrays may be HxW (grey), HxWx3 or HxWx4, uint8 (0..255) or float (0..1, or 0..255 when
    anything exceeds 1). Files go through the one decoder (`sbka_lite.data.decode`, under the
    photos' size cap), PIL images through its `to_rgb`: transparent pixels become white paper
    (so a canvas's RGBA strokes read as ink on paper) and 16-bit greyscale is scaled by its range.
    Anything else raises `SearchError`.
    """
    if isinstance(sketch, (str, os.PathLike)):
        path = Path(sketch).expanduser()
        if not path.is_file():
            raise SearchError(f"sketch file not found: {path}")
        try:
            return decode_image(path, max_pixels=MAX_PHOTO_PIXELS)
        except ImageReadError as error:
            raise SearchError(f"the sketch {path} is not an image that can be read ({error.reason})") from error
    if isinstance(sketch, Image.Image):
        return to_rgb(sketch)
    if isinstance(sketch, torch.Tensor):
        raise SearchError("pass the sketch as a PIL image, a numpy array or a path, not a tensor: "
                          "search applies the model's own preprocessing")
    if isinstance(sketch, np.ndarray):
        return to_rgb(_array_to_image(sketch))
    raise SearchError(f"a sketch must be an image file path, a PIL image or a numpy array; got {type(sketch).__name__}")
