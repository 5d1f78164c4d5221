"""Sketch rendering: a class instance traced as free-hand-looking dark strokes on white.

Each sketch has its own abstraction level: abstract sketches leave out minor parts, straighten
curves and wobble more; any sketch may stop strokes short, run over them, retrace them, misplace
parts slightly and vary the pen width. Sketches are drawn at twice the size, then reduced.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from .catalogue import get_class
from .geometry import Variation, rotate
from .instance import check_size, class_seed, independent_streams, random_pose

HATCHED_MATERIALS = ("dark", "window", "screen", "interior")  # dark regions a sketcher may shade


@dataclass(frozen=True)
class Pen:
    """One sketcher's hand for one sketch (lengths in pixels of the double-size canvas)."""

    width: float
    ink: int  # grey level of the strokes
    step: float  # spacing of the points along a stroke
    wobble: float  # amplitude of the hand's drift across the stroke
    drift_length: float  # distance over which the drift changes direction
    overdraw: float  # probability of retracing a stroke
    gap: float  # probability of a pen lift in the middle of a stroke


def draw_sketch(class_name: str, *, seed: int, size: int = 128) -> Image.Image:
    """One free-hand-looking sketch of `class_name`: dark wobbly strokes on white, as an RGB image.

    Pure function of (class_name, seed, size). Each sketch has its own abstraction level: abstract
    sketches leave out minor parts, straighten curves and wobble more; any sketch may stop strokes
    short, run over them, retrace them, misplace parts slightly and vary the pen width.
    """
    spec = get_class(class_name)
    check_size(size)
    r_geometry, r_pose, r_hand = independent_streams(class_seed(seed, class_name), 3)
    n = 2 * size
    parts = spec.build(Variation(r_geometry))
    pose = random_pose(r_pose, n, photo=False)
    abstraction = r_hand.uniform(0, 1)
    pen = Pen(width=r_hand.uniform(1.0, 2.8) * n / 128, ink=int(r_hand.integers(0, 70)), step=n * 0.008,
              wobble=n * (0.004 + 0.011 * abstraction), drift_length=n * r_hand.uniform(0.05, 0.12),
              overdraw=r_hand.uniform(0.05, 0.4), gap=r_hand.uniform(0.0, 0.25))
    canvas = Image.new("L", (n, n), 255)
    draw = ImageDraw.Draw(canvas)
    for part in parts:
        if r_hand.random() < (1.0 - part.importance) * (0.25 + 0.7 * abstraction):
            continue  # left out, as sketchers skip details
        pix = pose.apply(_placed_by_hand(part.points, r_hand, abstraction))
        extent = float(np.ptp(pix, axis=0).max())
        if part.width == 0 and part.material == "dark" and extent < 0.07 * n:
            draw.polygon(pix.ravel().tolist(), fill=pen.ink)  # pupils, nostrils: filled dots
            continue
        if part.width == 0 and part.material in HATCHED_MATERIALS and extent > 0.07 * n and r_hand.random() < 0.25:
            _hatch(canvas, pix, r_hand, pen)
        _draw_stroke(draw, pix, part.closed, r_hand, pen)
    return canvas.reduce(2).convert("RGB")


def _placed_by_hand(pts: np.ndarray, rng: np.random.Generator, abstraction: float) -> np.ndarray:
    """A part as a hand puts it down: curves of abstract sketches become a few segments, and the part
    lands a little off in position, angle and size."""
    if len(pts) > 10 and _is_smooth(pts) and rng.random() < 0.6 * abstraction:
        pts = pts[:: int(rng.integers(2, 5))]
    c = pts.mean(0)
    return rotate((pts - c) * rng.normal(1, 0.04), rng.normal(0, 0.04)) + c + rng.normal(0, 0.02, 2)


def _is_smooth(pts: np.ndarray) -> bool:
    """True for curves (ellipses, splines); False for outlines with many corners (battlements, zigzags)."""
    d = np.diff(pts, axis=0)
    ang = np.arctan2(d[:, 1], d[:, 0])
    turn = np.abs((np.diff(ang) + math.pi) % (2 * math.pi) - math.pi)
    return bool(np.mean(turn > 0.8) < 0.12)


def _resample(p: np.ndarray, step: float) -> np.ndarray:
    """Points every `step` pixels along the polyline `p` (at least 3, at most 601)."""
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    count = int(np.clip(s[-1] / step, 2, 600)) + 1
    t = np.linspace(0, s[-1], count)
    return np.stack([np.interp(t, s, p[:, 0]), np.interp(t, s, p[:, 1])], 1)


def _wobble(q: np.ndarray, rng: np.random.Generator, amp: float, corr: float) -> np.ndarray:
    """Offset points along their normals by smooth noise (a hand's drift) plus a little tremor."""
    if len(q) < 3:
        return q
    length = float(np.linalg.norm(np.diff(q, axis=0), axis=1).sum())
    knots = max(2, int(length / corr) + 1)
    drift = np.interp(np.linspace(0, knots, len(q)), np.arange(knots + 1), rng.standard_normal(knots + 1))
    tremor = np.convolve(rng.standard_normal(len(q) + 4), np.ones(5) / 5, mode="valid")[: len(q)]
    d = np.gradient(q, axis=0)
    d /= np.linalg.norm(d, axis=1, keepdims=True) + 1e-9
    normal = np.stack([-d[:, 1], d[:, 0]], 1)
    return q + normal * (amp * (drift + 0.25 * tremor))[:, None]


def _stroke_path(pts: np.ndarray, closed: bool, rng: np.random.Generator, pen: Pen) -> np.ndarray | None:
    """Where the pen goes: from any start on a loop, stopping short or running on, overshooting open strokes."""
    p = np.asarray(pts, dtype=float)
    if closed:
        p = np.roll(p, -int(rng.integers(len(p))), axis=0)
        p = np.vstack([p, p[:1]])
    q = _resample(p, pen.step)
    k = len(q)
    if k < 3:
        return None
    end = rng.uniform(-0.1, 0.12)  # < 0: the stroke stops short, > 0: it runs on past its start (over-drawn)
    if closed and end > 0:
        q = np.vstack([q, q[1: max(2, int(end * k))]])
    elif end < 0:
        cut = int(-end * k * (0.5 if closed else 0.4))
        q = q[: k - cut] if rng.random() < 0.5 else q[cut:]
    if not closed and rng.random() < 0.3:
        q = np.vstack([q, q[-1] + (q[-1] - q[-2]) * np.arange(1, 4)[:, None]])
    return q


def _draw_stroke(draw: ImageDraw.ImageDraw, pts: np.ndarray, closed: bool, rng: np.random.Generator, pen: Pen) -> None:
    """Trace one part once or twice, with the hand's wobble, sometimes a pen lift, and varying pressure."""
    q = _stroke_path(pts, closed, rng, pen)
    if q is None:
        return
    passes = 2 if rng.random() < pen.overdraw else 1
    for _ in range(passes):
        w = _wobble(q, rng, pen.wobble, pen.drift_length) + rng.normal(0, pen.wobble * 0.6, 2)
        if rng.random() < pen.gap and len(w) > 12:
            lift = int(rng.integers(3, len(w) - 8))
            pieces = [w[:lift], w[lift + int(rng.integers(2, 5)):]]
        else:
            pieces = [w]
        for piece in pieces:
            for c0 in range(0, len(piece) - 1, 20):  # pressure varies along the stroke
                chunk = piece[c0: c0 + 21]
                if len(chunk) >= 2:
                    draw.line(chunk.ravel().tolist(), fill=pen.ink, width=max(1, int(round(pen.width * rng.uniform(0.7, 1.3)))), joint="curve")


def _hatch(canvas: Image.Image, pts: np.ndarray, rng: np.random.Generator, pen: Pen) -> None:
    """Shade a dark region with parallel strokes, clipped to its outline."""
    n = canvas.size[0]
    mask = Image.new("L", (n, n), 0)
    ImageDraw.Draw(mask).polygon(pts.ravel().tolist(), fill=255)
    layer = Image.new("L", (n, n), 255)
    d = ImageDraw.Draw(layer)
    a = rng.uniform(0.5, 1.1) * rng.choice([-1, 1])
    gap = max(3.0, pen.width * rng.uniform(2.0, 3.5))
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    span = (x1 - x0) + (y1 - y0)
    for t in np.arange(-span, span, gap):
        p0 = np.array([x0 + t, y0])
        d.line([tuple(p0), tuple(p0 + span * np.array([math.cos(a), math.sin(a)]))], fill=pen.ink, width=max(1, int(pen.width * 0.6)))
    canvas.paste(ImageChops.darker(canvas, layer), (0, 0), mask)
