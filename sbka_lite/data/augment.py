"""Training augmentation in two styles (`ImageTransform(augment=True, augment_style=...)`).

* ``"official"``: as the SBKA dataset classes do it. With probability 0.7 one random affine map:
  a horizontal flip (p 0.5), independent x and y scales in [0.7, 1.3] (p 0.5), a rotation in
  +-30 degrees (p 0.5) and a translation of up to 10 px per axis (p 0.5), composed as scikit-image's
  ``AffineTransform(scale, rotation, translation)`` about the image **origin** (top-left), warped
  with black fill on the **stored** image before the resize.
* ``"centred"`` (sbka-lite's variant): each part with p 0.5 and no gate, one uniform scale, about
  the **centre**, after the resize (translation scaled with the size), with **white** fill (the
  sketches' paper). Rotating about the corner with black fill pushes much of a sketch off the
  canvas and paints black paper, which a small demo cannot afford; the official style is there
  for faithful runs (`configs/paper_*.yaml`).
"""
from __future__ import annotations

import numpy as np
import torchvision.transforms.functional as TF
from PIL import Image
from skimage.transform import AffineTransform, warp

from .decode import WHITE

STYLES = ("centred", "official")
_REFERENCE_SIZE = 224  # the official translation is 10 px at this size (centred style scales it)


def centred_params(rng: np.random.Generator, image_size: int) -> dict:
    """Draw one centred augmentation (identity parts where a coin says no)."""
    max_shift = 10.0 * image_size / _REFERENCE_SIZE
    coins = rng.random(4) < 0.5
    draws = rng.uniform(size=4)
    return {
        "flip": bool(coins[0]),
        "scale": float(0.7 + 0.6 * draws[0]) if coins[1] else 1.0,
        "angle": float(-30.0 + 60.0 * draws[1]) if coins[2] else 0.0,
        "translate": (
            (int(round((2 * draws[2] - 1) * max_shift)), int(round((2 * draws[3] - 1) * max_shift)))
            if coins[3] else (0, 0)
        ),
    }


def apply_centred(image: Image.Image, params: dict) -> Image.Image:
    if params["flip"]:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if params["scale"] != 1.0 or params["angle"] != 0.0 or params["translate"] != (0, 0):
        image = TF.affine(image, angle=params["angle"], translate=list(params["translate"]), scale=params["scale"],
                          shear=[0.0], interpolation=TF.InterpolationMode.BILINEAR, fill=list(WHITE))
    return image


def official_params(rng: np.random.Generator) -> dict:
    """Draw one official augmentation; every number is drawn whatever the coins say, so the
    stream of draws (and so every later sample) does not depend on them."""
    gate, flip, scale_coin, rotation_coin, shift_coin = rng.random(5)
    sx, sy = rng.uniform(0.7, 1.3, size=2)
    rotation = rng.uniform(-np.pi / 6, np.pi / 6)
    tx, ty = rng.uniform(-10.0, 10.0, size=2)
    if gate >= 0.7:
        return {"apply": False}
    return {"apply": True, "flip": bool(flip < 0.5),
            "scale": (float(sx), float(sy)) if scale_coin < 0.5 else (1.0, 1.0),
            "rotation": float(rotation) if rotation_coin < 0.5 else 0.0,
            "translation": (float(tx), float(ty)) if shift_coin < 0.5 else (0.0, 0.0)}


def apply_official(image: Image.Image, params: dict) -> Image.Image:
    if not params["apply"]:
        return image
    pixels = np.asarray(image)
    if params["flip"]:
        pixels = pixels[:, ::-1, :]
    transform = AffineTransform(scale=params["scale"], rotation=params["rotation"], translation=params["translation"])
    warped = warp(pixels, transform.inverse, preserve_range=True)  # constant 0 (black) outside, bilinear
    return Image.fromarray(warped.astype(np.uint8))
