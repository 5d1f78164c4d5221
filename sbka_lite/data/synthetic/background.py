"""The scene behind a photo's object: outdoor, indoor, studio backdrop or busy, with out-of-focus clutter."""
from __future__ import annotations

import colorsys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .geometry import blob

SCENE_KINDS = ("outdoor", "indoor", "studio", "busy")
SCENE_WEIGHTS = (0.32, 0.34, 0.14, 0.2)


def smooth_noise(rng: np.random.Generator, cells: tuple[int, int], size: int) -> np.ndarray:
    """Smooth noise in about [-1, 1]: random values on a coarse grid, upsampled bicubically."""
    small = Image.fromarray(rng.standard_normal(cells).astype(np.float32), mode="F")
    return np.asarray(small.resize((size, size), Image.BICUBIC), dtype=np.float32)


def muted_colour(rng: np.random.Generator, sat=(0.05, 0.45), val=(0.3, 0.95)) -> np.ndarray:
    """A natural-looking colour: any hue, limited saturation (0-255 RGB)."""
    return np.array(colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(*sat), rng.uniform(*val))) * 255


def draw_background(rng: np.random.Generator, n: int) -> np.ndarray:
    """An `n` x `n` float RGB scene in [0, 1]: backdrop, scenery, clutter, defocus and uneven light."""
    kind = rng.choice(list(SCENE_KINDS), p=list(SCENE_WEIGHTS))
    horizon = rng.uniform(0.5, 0.85)
    backdrop, ground = _backdrop(rng, n, kind, horizon)
    img = Image.fromarray(np.clip(backdrop * np.ones((1, n, 1)), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    if kind == "outdoor":
        _hills_and_clouds(draw, rng, n, horizon, ground)
    if kind == "indoor":
        _wall_frames(draw, rng, n, horizon)
    _clutter(draw, rng, n, kind, horizon)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 3.0) * n / 128))  # out of focus
    arr = np.asarray(img, dtype=np.float32) / 255.0
    light = 0.12 * smooth_noise(rng, (3, 3), n)[..., None] + 0.035 * smooth_noise(rng, (n // 4, n // 4), n)[..., None]
    return np.clip(arr * (1 + light), 0, 1)


def _backdrop(rng: np.random.Generator, n: int, kind: str, horizon: float) -> tuple[np.ndarray, np.ndarray | None]:
    """The backdrop's colours (0-255, one row per y, or a full image for busy scenes), and the ground colour outdoors."""
    y = np.linspace(0, 1, n, dtype=np.float32)[:, None, None]
    ground = None
    if kind == "outdoor":
        sky_top = np.array([(90, 140, 210), (150, 180, 215), (200, 205, 210), (235, 175, 130)][rng.integers(4)])
        ground = np.array([(90, 130, 60), (120, 145, 70), (190, 170, 130), (120, 120, 118), (140, 115, 90)][rng.integers(5)])
        sky = sky_top + (np.array((228, 232, 236)) - sky_top) * (y / horizon)
        arr = np.where(y < horizon, sky, ground * (0.8 + 0.5 * (y - horizon)))
    elif kind == "indoor":
        wall, floor = muted_colour(rng, val=(0.55, 0.95)), muted_colour(rng, sat=(0.1, 0.6), val=(0.25, 0.8))
        arr = np.where(y < horizon, wall * (1.05 - 0.25 * y), floor * (0.7 + 0.4 * y))
    elif kind == "studio":  # a paper backdrop curving into the floor
        paper = muted_colour(rng, sat=(0.0, 0.3), val=(0.5, 1.0))
        arr = paper * (1.0 - 0.35 * np.abs(y - horizon))
    else:
        # mottled out-of-focus scene: brightness varies a lot, hue only a little
        tint = 1 + 0.1 * np.stack([smooth_noise(rng, (4, 4), n) for _ in range(3)], -1)
        arr = muted_colour(rng)[None, None, :] * (1 + 0.3 * smooth_noise(rng, (5, 5), n))[..., None] * tint
    return arr, ground


def _hills_and_clouds(draw: ImageDraw.ImageDraw, rng: np.random.Generator, n: int, horizon: float, ground: np.ndarray) -> None:
    for _ in range(rng.integers(1, 4)):
        cx, w = rng.uniform(0, n), rng.uniform(0.2, 0.7) * n
        if rng.random() < 0.5:
            col = tuple(int(c) for c in ground * rng.uniform(0.6, 0.9))
            draw.polygon([tuple(p) for p in blob(cx, horizon * n, w / 2, rng.uniform(0.05, 0.2) * n, int(rng.integers(3, 8)), 0.2)], fill=col)
        else:
            draw.polygon([tuple(p) for p in blob(cx, rng.uniform(0.05, 0.4) * n, w / 3, 0.06 * n, int(rng.integers(4, 9)), 0.3)], fill=(245, 245, 248))


def _wall_frames(draw: ImageDraw.ImageDraw, rng: np.random.Generator, n: int, horizon: float) -> None:
    """Frames, windows and shelves on an indoor wall."""
    for _ in range(rng.integers(1, 4)):
        x0, y0 = rng.uniform(-0.1, 0.9) * n, rng.uniform(0.0, horizon - 0.1) * n
        w, h = rng.uniform(0.1, 0.35) * n, rng.uniform(0.08, 0.3) * n
        col = muted_colour(rng, sat=(0.0, 0.6))
        draw.rectangle([x0, y0, x0 + w, y0 + h], fill=tuple(int(c) for c in col), outline=tuple(int(c * 0.5) for c in col), width=max(1, n // 60))


def _clutter(draw: ImageDraw.ImageDraw, rng: np.random.Generator, n: int, kind: str, horizon: float) -> None:
    """Other things in the scene: balls, boxes standing on the floor, cans and bottles, sticks."""
    for _ in range(rng.integers(3, 9) if kind != "studio" else rng.integers(0, 2)):
        col = tuple(int(c) for c in muted_colour(rng, sat=(0.05, 0.7), val=(0.15, 0.95)))
        cx, r = rng.uniform(0, n), rng.uniform(0.04, 0.2) * n
        cy = (horizon + rng.uniform(-0.05, 0.3)) * n if kind in ("indoor", "outdoor") else rng.uniform(0.1, 1.0) * n
        kind_of_thing = rng.integers(4)
        if kind_of_thing == 0:
            draw.ellipse([cx - r, cy - r * rng.uniform(0.4, 1.2), cx + r, cy + r * 0.4], fill=col)
        elif kind_of_thing == 1:
            draw.rectangle([cx - r, cy - r * rng.uniform(0.5, 2.5), cx + r * rng.uniform(0.3, 1), cy], fill=col)
        elif kind_of_thing == 2:
            draw.rounded_rectangle([cx - r * 0.35, cy - r * rng.uniform(1.0, 2.5), cx + r * 0.35, cy], radius=r * 0.2, fill=col)
        else:
            draw.line([(cx, cy), (cx + rng.normal(0, 0.3) * n, cy + rng.normal(0, 0.3) * n)], fill=col, width=int(max(1, r / 4)))
