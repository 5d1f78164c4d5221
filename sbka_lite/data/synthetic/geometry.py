"""Object geometry: parts, instance variation and the point-array primitives the class builders use.

Coordinates are object coordinates: x to the right, y downwards, the object roughly inside
[-1, 1]^2 with its ground near y = 0.9. The renderers (`photo.py`, `sketch.py`) place, pose, colour
and texture parts for photos, or trace them as wobbly strokes for sketches.

A part's ``importance`` says how essential it is to the class: 1.0 is always drawn, lower
values are left out more often by abstract sketches (free-hand sketchers skip details).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TAU = 2.0 * math.pi


@dataclass(frozen=True)
class Part:
    """One piece of an object: a filled closed shape, or a stroke of ``width`` > 0 along ``points``."""

    points: np.ndarray
    material: str
    closed: bool = True
    importance: float = 1.0
    width: float = 0.0


class Variation:
    """The random choices that make one instance of a class (proportions, optional parts, counts)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def uniform(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def jitter(self, x: float, rel: float = 0.12) -> float:
        """`x` scaled by a random factor in [1 - rel, 1 + rel]."""
        return x * self.uniform(1.0 - rel, 1.0 + rel)

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def integer(self, lo: int, hi: int) -> int:
        """An int in [lo, hi], both ends included."""
        return int(self.rng.integers(lo, hi + 1))

    def sign(self) -> float:
        return 1.0 if self.rng.random() < 0.5 else -1.0


# ---------------------------------------------------------------- primitives (return point arrays)

def ellipse(cx, cy, rx, ry, a0=0.0, a1=TAU, rot=0.0, n=None) -> np.ndarray:
    """Points on an ellipse (or its arc from angle `a0` to `a1`), rotated by `rot`."""
    full = abs(a1 - a0) >= TAU - 1e-9
    n = n or max(8, int(44 * abs(a1 - a0) / TAU))
    t = np.linspace(a0, a1, n, endpoint=not full)
    pts = np.stack([rx * np.cos(t), ry * np.sin(t)], 1)
    return rotate(pts, rot) + (cx, cy)


def rectangle(cx, cy, width, height, rounded=0.0) -> np.ndarray:
    """An axis-aligned rectangle centred on (cx, cy); `rounded` is the corner radius."""
    if rounded <= 0:
        return np.array([(cx - width / 2, cy - height / 2), (cx + width / 2, cy - height / 2),
                         (cx + width / 2, cy + height / 2), (cx - width / 2, cy + height / 2)])
    r = min(rounded, width / 2, height / 2)
    corners = [(cx + width / 2 - r, cy - height / 2 + r, -math.pi / 2), (cx + width / 2 - r, cy + height / 2 - r, 0.0),
               (cx - width / 2 + r, cy + height / 2 - r, math.pi / 2), (cx - width / 2 + r, cy - height / 2 + r, math.pi)]
    return np.concatenate([ellipse(x, y, r, r, a, a + math.pi / 2, n=5) for x, y, a in corners])


def polygon(*pts) -> np.ndarray:
    return np.asarray(pts, dtype=float)


def line(*pts) -> np.ndarray:
    """An open polyline through `pts` (the same array as `polygon`; the name says how a part uses it)."""
    return polygon(*pts)


def trapezoid(cx, y0, y1, w0, w1) -> np.ndarray:
    """Trapezoid with width `w0` at height `y0` and `w1` at `y1`."""
    return polygon((cx - w0 / 2, y0), (cx + w0 / 2, y0), (cx + w1 / 2, y1), (cx - w1 / 2, y1))


def arch(cx, bottom, width, height) -> np.ndarray:
    """A door/window shape: rectangle with a half-round top."""
    r = width / 2
    top = ellipse(cx, bottom - height + r, r, r, math.pi, TAU, n=12)
    return np.concatenate([[(cx - r, bottom)], top, [(cx + r, bottom)]])


def rotate(pts, angle, center=(0.0, 0.0)) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    p = np.asarray(pts, dtype=float) - center
    return np.stack([c * p[:, 0] - s * p[:, 1], s * p[:, 0] + c * p[:, 1]], 1) + center


def spline(pts, closed=False, n=8) -> np.ndarray:
    """Catmull-Rom curve through `pts` (smooth outlines from a few control points), `n` points per segment."""
    p = np.asarray(pts, dtype=float)
    ext = np.concatenate([p[-1:], p, p[:2]]) if closed else np.concatenate([p[:1], p, p[-1:]])
    segments = len(p) if closed else len(p) - 1
    t = np.linspace(0, 1, n, endpoint=False)[:, None]
    out = []
    for i in range(segments):
        p0, p1, p2, p3 = ext[i], ext[i + 1], ext[i + 2], ext[i + 3]
        out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    if not closed:
        out.append(p[-1:])
    return np.concatenate(out)


def profile(cx, rows, n=6) -> np.ndarray:
    """Closed outline of a turned object (vase, bottle, guitar) from (y, half-width) rows, top to bottom."""
    right = spline([(cx + half_width, y) for y, half_width in rows], n=n)
    left = right[::-1] * (-1, 1) + (2 * cx, 0)
    return np.concatenate([right, left])


def tube(path, w0, w1=None, n=6) -> np.ndarray:
    """Closed outline of a (tapered) band of width w0 -> w1 along a smooth path."""
    p = spline(path, n=n) if len(path) > 2 else np.asarray(path, dtype=float)
    if len(p) == 2:
        p = np.linspace(p[0], p[1], 8)
    d = np.gradient(p, axis=0)
    d /= np.linalg.norm(d, axis=1, keepdims=True) + 1e-9
    normal = np.stack([-d[:, 1], d[:, 0]], 1)
    half = np.linspace(w0, w0 if w1 is None else w1, len(p))[:, None] / 2
    return np.concatenate([p + normal * half, (p - normal * half)[::-1]])


def lens(p0, p1, width, bend=0.0, n=10) -> np.ndarray:
    """A leaf/petal: pointed at both ends, `bend` curves it sideways (fraction of its length)."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    t = np.linspace(0, 1, n)
    axis = p1 - p0
    normal = np.array([-axis[1], axis[0]]) / (np.linalg.norm(axis) + 1e-9)
    mid = p0 + np.outer(t, axis) + np.outer(bend * np.linalg.norm(axis) * np.sin(math.pi * t), normal)
    half = np.sin(math.pi * t) * width / 2
    return np.concatenate([mid + np.outer(half, normal), (mid - np.outer(half, normal))[::-1][1:-1]])


def blob(cx, cy, rx, ry, bumps, depth, phase=0.0, n=90) -> np.ndarray:
    """Cloud/crown outline: an ellipse with `bumps` scallops."""
    t = np.linspace(0, TAU, n, endpoint=False)
    r = 1.0 - depth + depth * np.abs(np.cos(bumps * t / 2 + phase)) ** 0.6
    return np.stack([cx + rx * r * np.cos(t), cy + ry * r * np.sin(t)], 1)


def teardrop(cx, cy, width, height) -> np.ndarray:
    """A flame: pointed at the top, round at the bottom, centred on its round part."""
    w, h = width, height
    return spline([(cx, cy - h), (cx + w * 0.35, cy - h * 0.3), (cx + w / 2, cy + h * 0.1), (cx, cy + h * 0.35),
                   (cx - w / 2, cy + h * 0.1), (cx - w * 0.35, cy - h * 0.3)], closed=True, n=6)


# ---------------------------------------------------------------- parts

def shape(pts, material, importance=1.0) -> Part:
    """A filled closed shape."""
    return Part(np.asarray(pts, dtype=float), material, True, importance)


def stroke(pts, material, width, importance=1.0, closed=False) -> Part:
    """A line of `width` along `pts` (open unless `closed`)."""
    return Part(np.asarray(pts, dtype=float), material, closed, importance, width)


def transform_parts(parts: list[Part], angle=0.0, center=(0.0, 0.0), scale=1.0, shift=(0.0, 0.0)) -> list[Part]:
    out = []
    for p in parts:
        pts = rotate((p.points - center) * scale + center, angle, center) + shift
        out.append(Part(pts, p.material, p.closed, p.importance, p.width * scale))
    return out


def tilt(parts: list[Part], vary: Variation, lo=0.35, hi=0.75) -> list[Part]:
    """Long thin objects (tools, instruments) lie diagonally, either way."""
    return transform_parts(parts, angle=vary.sign() * vary.uniform(lo, hi))
