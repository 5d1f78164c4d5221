"""Class geometry of the synthetic benchmark: parts, families and the fixed seen/unseen split.

Every class is a small program that, given a source of randomness, returns the parts of one
*instance* (proportions, optional pieces and counts vary from instance to instance). Classes of
a family are written from shared part helpers (a wheel, a gable roof, a vessel profile, a head
with ears...), so siblings look related and a model must learn more than "has wheels".

Coordinates are object coordinates: x to the right, y downwards, the object roughly inside
[-1, 1]^2 with its ground near y = 0.9. The renderers (`synthetic.py`) place, pose, colour and
texture parts for photos, or trace them as wobbly strokes for sketches.

A part's ``importance`` says how essential it is to the class: 1.0 is always drawn, lower
values are left out more often by abstract sketches (free-hand sketchers skip details).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

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


class Var:
    """Instance variation drawn from one random generator (short names keep builders readable)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def u(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def j(self, x: float, rel: float = 0.12) -> float:
        """`x` scaled by a random factor in [1 - rel, 1 + rel]."""
        return x * self.u(1.0 - rel, 1.0 + rel)

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def int(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))

    def sign(self) -> float:
        return 1.0 if self.rng.random() < 0.5 else -1.0


# ---------------------------------------------------------------- primitives (return point arrays)

def ellipse(cx, cy, rx, ry, a0=0.0, a1=TAU, rot=0.0, n=None) -> np.ndarray:
    full = abs(a1 - a0) >= TAU - 1e-9
    n = n or max(8, int(44 * abs(a1 - a0) / TAU))
    t = np.linspace(a0, a1, n, endpoint=not full)
    pts = np.stack([rx * np.cos(t), ry * np.sin(t)], 1)
    return rotate(pts, rot) + (cx, cy)


def rect(cx, cy, w, h, r=0.0) -> np.ndarray:
    if r <= 0:
        return np.array([(cx - w / 2, cy - h / 2), (cx + w / 2, cy - h / 2), (cx + w / 2, cy + h / 2), (cx - w / 2, cy + h / 2)])
    r = min(r, w / 2, h / 2)
    corners = [(cx + w / 2 - r, cy - h / 2 + r, -math.pi / 2), (cx + w / 2 - r, cy + h / 2 - r, 0.0),
               (cx - w / 2 + r, cy + h / 2 - r, math.pi / 2), (cx - w / 2 + r, cy - h / 2 + r, math.pi)]
    return np.concatenate([ellipse(x, y, r, r, a, a + math.pi / 2, n=5) for x, y, a in corners])


def poly(*pts) -> np.ndarray:
    return np.asarray(pts, dtype=float)


def trap(cx, y0, y1, w0, w1) -> np.ndarray:
    """Trapezoid with width `w0` at height `y0` and `w1` at `y1`."""
    return poly((cx - w0 / 2, y0), (cx + w0 / 2, y0), (cx + w1 / 2, y1), (cx - w1 / 2, y1))


def arch(cx, bottom, w, h) -> np.ndarray:
    """A door/window shape: rectangle with a half-round top."""
    r = w / 2
    top = ellipse(cx, bottom - h + r, r, r, math.pi, TAU, n=12)
    return np.concatenate([[(cx - r, bottom)], top, [(cx + r, bottom)]])


def rotate(pts, angle, center=(0.0, 0.0)) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    p = np.asarray(pts, dtype=float) - center
    return np.stack([c * p[:, 0] - s * p[:, 1], s * p[:, 0] + c * p[:, 1]], 1) + center


def spline(pts, closed=False, n=8) -> np.ndarray:
    """Catmull-Rom curve through `pts` (smooth outlines from a few control points)."""
    p = np.asarray(pts, dtype=float)
    ext = np.concatenate([p[-1:], p, p[:2]]) if closed else np.concatenate([p[:1], p, p[-1:]])
    segs = len(p) if closed else len(p) - 1
    t = np.linspace(0, 1, n, endpoint=False)[:, None]
    out = []
    for i in range(segs):
        p0, p1, p2, p3 = ext[i], ext[i + 1], ext[i + 2], ext[i + 3]
        out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    if not closed:
        out.append(p[-1:])
    return np.concatenate(out)


def profile(cx, rows, n=6) -> np.ndarray:
    """Closed outline of a turned object (vase, bottle, guitar) from (y, half-width) rows, top to bottom."""
    right = spline([(cx + hw, y) for y, hw in rows], n=n)
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
    w = np.linspace(w0, w0 if w1 is None else w1, len(p))[:, None] / 2
    return np.concatenate([p + normal * w, (p - normal * w)[::-1]])


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


def teardrop(cx, cy, w, h) -> np.ndarray:
    """A flame: pointed at the top, round at the bottom, centred on its round part."""
    return spline([(cx, cy - h), (cx + w * 0.35, cy - h * 0.3), (cx + w / 2, cy + h * 0.1), (cx, cy + h * 0.35),
                   (cx - w / 2, cy + h * 0.1), (cx - w * 0.35, cy - h * 0.3)], closed=True, n=6)


def line(*pts) -> np.ndarray:
    return poly(*pts)


def S(pts, material, importance=1.0) -> Part:
    """A filled closed shape."""
    return Part(np.asarray(pts, dtype=float), material, True, importance)


def L(pts, material, width, importance=1.0, closed=False) -> Part:
    """A stroke (open unless `closed`)."""
    return Part(np.asarray(pts, dtype=float), material, closed, importance, width)


def transform_parts(parts: list[Part], angle=0.0, center=(0.0, 0.0), scale=1.0, shift=(0.0, 0.0)) -> list[Part]:
    out = []
    for p in parts:
        pts = rotate((p.points - center) * scale + center, angle, center) + shift
        out.append(Part(pts, p.material, p.closed, p.importance, p.width * scale))
    return out


# ---------------------------------------------------------------- family helpers (shared parts)

def gable_roof(cx, top, w, h, overhang, material="roof") -> Part:
    return S(poly((cx - w / 2 - overhang, top), (cx, top - h), (cx + w / 2 + overhang, top)), material)


def window(cx, cy, w, h, v: Var, importance=0.6) -> list[Part]:
    parts = [S(rect(cx, cy, w, h), "window", importance)]
    if v.chance(0.6):
        parts += [L(line((cx, cy - h / 2), (cx, cy + h / 2)), "trim", 0.02, importance * 0.5),
                  L(line((cx - w / 2, cy), (cx + w / 2, cy)), "trim", 0.02, importance * 0.5)]
    return parts


def crenellated(cx, top, bottom, w, n, mh) -> np.ndarray:
    """Outline of a wall/tower top with `n` merlons of height `mh`."""
    xs = np.linspace(cx - w / 2, cx + w / 2, 2 * n)
    pts = [(cx - w / 2, bottom)]
    for i in range(2 * n - 1):
        y = top - mh if i % 2 == 0 else top
        pts += [(xs[i], y), (xs[i + 1], y)]
    pts += [(cx + w / 2, top - mh), (cx + w / 2, bottom)]
    return poly(*pts)


def wheel(cx, cy, r, hub="metal") -> list[Part]:
    return [S(ellipse(cx, cy, r, r), "rubber"), S(ellipse(cx, cy, r * 0.5, r * 0.5), hub, 0.55)]


def handle_loop(x0, y0, y1, reach, width, material) -> Part:
    """A mug/teapot handle: a band bulging sideways by `reach` from (x0, y0) to (x0, y1)."""
    s = np.sign(reach)
    mid = (y0 + y1) / 2
    return S(tube([(x0 - s * 0.05, y0), (x0 + reach * 0.8, y0 + 0.05), (x0 + reach, mid), (x0 + reach * 0.8, y1 - 0.05), (x0 - s * 0.05, y1)], width), material)


def eyes(dx, cy, rx, ry, iris="dark", pupil=None, importance=0.9) -> list[Part]:
    parts = []
    for s in (-1, 1):
        parts.append(S(ellipse(s * dx, cy, rx, ry), iris, importance))
        if pupil:
            parts.append(S(ellipse(s * dx, cy, pupil[0], pupil[1]), "dark", importance * 0.6))
    return parts


def whiskers(cx, cy, spread, length, n, v: Var, importance=0.35) -> list[Part]:
    parts = []
    for s in (-1, 1):
        for k in range(n):
            a = (k - (n - 1) / 2) * 0.22 + v.u(-0.05, 0.05)
            x0 = cx + s * spread
            parts.append(L(line((x0, cy), (x0 + s * length * math.cos(a), cy + length * math.sin(a))), "dark", 0.012, importance))
    return parts


def ticks(cx, cy, r0, r1, n, material="dark", width=0.03, importance=0.3) -> list[Part]:
    return [L(line((cx + r0 * math.cos(a), cy + r0 * math.sin(a)), (cx + r1 * math.cos(a), cy + r1 * math.sin(a))), material, width, importance)
            for a in np.linspace(0, TAU, n, endpoint=False)]


def clock_hands(cx, cy, r, v: Var) -> list[Part]:
    a1, a2 = v.u(0, TAU), v.u(0, TAU)
    return [L(line((cx, cy), (cx + 0.5 * r * math.cos(a1), cy + 0.5 * r * math.sin(a1))), "dark", 0.055, 0.9),
            L(line((cx, cy), (cx + 0.8 * r * math.cos(a2), cy + 0.8 * r * math.sin(a2))), "dark", 0.04, 0.9),
            S(ellipse(cx, cy, 0.05, 0.05), "dark", 0.4)]


def waves(y, v: Var, x0=-1.0, x1=1.0, importance=0.3) -> list[Part]:
    xs = np.linspace(x0, x1, 24)
    ph = v.u(0, TAU)
    return [L(np.stack([xs, y + 0.03 * np.sin(xs * 9 + ph)], 1), "water", 0.025, importance)]


def hull(x0, x1, top, bottom, bow=0.15) -> np.ndarray:
    return spline([(x0, top), (x1, top), (x1 - bow, (top + bottom) / 2 + 0.05), ((x0 + x1) / 2 + (x1 - x0) * 0.3, bottom),
                   ((x0 + x1) / 2 - (x1 - x0) * 0.3, bottom), (x0 + bow * 0.5, (top + bottom) / 2)], closed=True, n=5)


def tilt(parts: list[Part], v: Var, lo=0.35, hi=0.75) -> list[Part]:
    """Long thin objects (tools, instruments) lie diagonally, either way."""
    return transform_parts(parts, angle=v.sign() * v.u(lo, hi))


# ---------------------------------------------------------------- buildings

def house(v: Var) -> list[Part]:
    w, h, g = v.j(1.3), v.j(0.75), 0.9
    top, rh, ov = g - h, v.j(0.6, 0.2), v.u(0.04, 0.15)
    parts = []
    if v.chance(0.75):
        x = v.sign() * v.u(0.18, 0.35) * w
        y_roof = top - rh * (1 - abs(x) / (w / 2 + ov))
        parts.append(S(rect(x, y_roof - 0.08, 0.13, 0.35), "stone", 0.5))
    parts += [S(rect(0, g - h / 2, w, h), "wall"), gable_roof(0, top, w, rh, ov)]
    dx, dw, dh = v.u(-0.2, 0.2) * w, v.j(0.22), v.j(0.42)
    parts += [S(rect(dx, g - dh / 2, dw, dh), "door", 0.8), S(ellipse(dx + dw * 0.3, g - dh * 0.45, 0.025, 0.025), "metal", 0.2)]
    ws = v.j(0.22)
    for x in (-w * 0.33, w * 0.33):
        if abs(x - dx) > (ws + dw) / 2 + 0.03:
            parts += window(x, g - h * 0.58, ws, ws, v)
    if v.chance(0.4):
        parts += window(0, top - rh * 0.35, 0.14, 0.14, v, 0.3)
    return parts


def church(v: Var) -> list[Part]:
    side, g = v.sign(), 0.9
    nw, nh, tw, th = v.j(1.05), v.j(0.6), v.j(0.32), v.j(1.05)
    nx, tx = -side * 0.2, side * 0.55
    sh = v.j(0.45)
    parts = [S(rect(nx, g - nh / 2, nw, nh), "wall"), gable_roof(nx, g - nh, nw, v.j(0.4), 0.06),
             S(rect(tx, g - th / 2, tw, th), "wall"), S(poly((tx - tw / 2 - 0.03, g - th), (tx, g - th - sh), (tx + tw / 2 + 0.03, g - th)), "roof")]
    cy = g - th - sh
    parts += [L(line((tx, cy), (tx, cy - 0.22)), "metal", 0.03, 0.6), L(line((tx - 0.07, cy - 0.15), (tx + 0.07, cy - 0.15)), "metal", 0.03, 0.6)]
    parts += [S(arch(tx, g, tw * 0.5, 0.3), "door", 0.8), S(arch(tx, g - th * 0.55, tw * 0.35, 0.18), "window", 0.4)]
    parts.append(S(ellipse(nx, g - nh * 0.95, 0.09, 0.09), "window", 0.5))
    for k in range(v.int(2, 3)):
        parts.append(S(arch(nx - nw * 0.35 + k * nw * 0.3, g - nh * 0.25, 0.1, 0.28), "window", 0.35))
    return parts


def barn(v: Var) -> list[Part]:
    w, h, g = v.j(1.45), v.j(0.65), 0.9
    top, rh, ov = g - h, v.j(0.55, 0.15), 0.05
    roof = poly((-w / 2 - ov, top), (-w / 2 * 0.78, top - rh * 0.62), (0, top - rh), (w / 2 * 0.78, top - rh * 0.62), (w / 2 + ov, top))
    dw, dh = v.j(0.5), v.j(0.5)
    parts = [S(rect(0, g - h / 2, w, h), "wall"), S(roof, "roof"), S(rect(0, g - dh / 2, dw, dh), "door", 0.9)]
    for a, b in (((-dw / 2, g - dh), (dw / 2, g)), ((dw / 2, g - dh), (-dw / 2, g))):
        parts.append(L(line(a, b), "trim", 0.035, 0.6))
    parts.append(L(rect(0, g - dh / 2, dw, dh), "trim", 0.035, 0.5, closed=True))
    parts += [S(rect(0, top - rh * 0.3, 0.22, 0.2), "window", 0.5)]
    if v.chance(0.5):
        parts.append(S(rect(w / 2 + 0.17, g - 0.45, 0.26, 0.9, r=0.12), "stone", 0.3))  # silo
    return parts


def castle(v: Var) -> list[Part]:
    w, h, g = v.j(1.2), v.j(0.6), 0.9
    tw, th = v.j(0.34), v.j(1.05)
    parts = [S(crenellated(0, g - h, g, w, v.int(3, 5), 0.09), "stone")]
    cone = v.chance(0.5)
    for s in (-1, 1):
        x = s * (w / 2)
        parts.append(S(crenellated(x, g - th, g, tw, 2, 0.08) if not cone else rect(x, g - th / 2, tw, th), "stone"))
        if cone:
            parts.append(S(poly((x - tw / 2 - 0.04, g - th), (x, g - th - v.j(0.4)), (x + tw / 2 + 0.04, g - th)), "roof", 0.8))
        parts.append(S(rect(x, g - th * 0.6, 0.05, 0.14), "dark", 0.3))
    parts.append(S(arch(0, g, v.j(0.32), v.j(0.4)), "dark", 0.9))
    if v.chance(0.6):
        fx, fy = v.sign() * w / 2, g - th - (0.45 if cone else 0.1)
        parts += [L(line((fx, fy), (fx, fy - 0.3)), "dark", 0.02, 0.4), S(poly((fx, fy - 0.3), (fx + 0.2, fy - 0.25), (fx, fy - 0.2)), "red", 0.4)]
    return parts


def skyscraper(v: Var) -> list[Part]:
    w, h, g = v.j(0.6), v.j(1.7, 0.06), 0.9
    top = g - h
    parts = [S(rect(0, g - h / 2, w, h), "facade")]
    if v.chance(0.5):
        w2 = w * v.u(0.55, 0.75)
        parts.append(S(rect(0, top - 0.12, w2, 0.25), "facade", 0.8))
        top -= 0.25
    parts.append(L(line((0, top), (0, top - v.j(0.2))), "dark", 0.02, 0.5))
    cols, rows = v.int(3, 4), v.int(7, 10)
    for i in range(1, cols):
        x = -w / 2 + i * w / cols
        parts.append(L(line((x, g - h + 0.04), (x, g - 0.2)), "dark", 0.012, 0.4))
    for k in range(1, rows):
        y = g - h + k * (h - 0.2) / rows
        parts.append(L(line((-w / 2, y), (w / 2, y)), "dark", 0.012, 0.4))
    parts.append(S(rect(0, g - 0.09, w * 0.3, 0.18), "door", 0.5))
    return parts


def lighthouse(v: Var) -> list[Part]:
    g, top, wb, wt = 0.9, -0.45, v.j(0.55), v.j(0.3)
    parts = [S(blob(0, g, 0.55, 0.12, 5, 0.3), "stone", 0.4), S(trap(0, top, g, wt, wb), "paint_white")]
    n = v.int(2, 3)
    for k in range(n):  # horizontal red bands on the tapered tower
        y0 = top + (k * 2 + 1) * (g - top) / (2 * n + 1)
        y1 = y0 + (g - top) / (2 * n + 1)
        w0, w1 = (wt + (wb - wt) * (y - top) / (g - top) for y in (y0, y1))
        parts.append(S(trap(0, y0, y1, w0, w1), "red", 0.6))
    parts += [S(rect(0, top - 0.03, wt + 0.14, 0.06), "dark", 0.7), S(rect(0, top - 0.17, wt * 0.7, 0.22), "light"),
              S(ellipse(0, top - 0.28, wt * 0.42, 0.12, math.pi, TAU), "red", 0.8), S(arch(0, g, 0.12, 0.2), "door", 0.4)]
    for s in (-1, 1):
        parts.append(L(line((s * 0.2, top - 0.17), (s * 0.85, top - 0.3 + v.u(-0.1, 0.1))), "light", 0.015, 0.25))
    return parts


# ---------------------------------------------------------------- vehicles

def car(v: Var) -> list[Part]:
    L_, roof, back = v.j(1.8, 0.06), v.j(-0.05, 0.5) - 0.05, v.u(-0.6, -0.45)
    front = v.u(0.25, 0.4)
    cabin = spline([(back - 0.1, 0.32), (back + 0.15, roof), (front - 0.1, roof), (front + 0.15, 0.32)], n=4)
    parts = [S(cabin, "body"), S(rect(0, 0.45, L_, 0.32, r=0.09), "body")]
    parts += [S(poly((back, 0.28), (back + 0.17, roof + 0.06), (-0.06, roof + 0.06), (-0.06, 0.28)), "window", 0.7),
              S(poly((0.0, 0.28), (0.0, roof + 0.06), (front - 0.12, roof + 0.06), (front + 0.07, 0.28)), "window", 0.7)]
    parts += wheel(-L_ * 0.3, 0.65, v.j(0.2, 0.08)) + wheel(L_ * 0.3, 0.65, v.j(0.2, 0.08))
    parts += [S(ellipse(L_ / 2 - 0.06, 0.38, 0.05, 0.04), "light", 0.4), S(ellipse(-L_ / 2 + 0.04, 0.38, 0.03, 0.04), "red", 0.3),
              L(line((-0.03, 0.3), (-0.03, 0.55)), "dark", 0.012, 0.3)]
    return parts


def bus(v: Var) -> list[Part]:
    L_, h = v.j(1.9, 0.04), v.j(0.85)
    top = 0.74 - h
    parts = [S(rect(0, top + h / 2 - 0.04, L_, h, r=0.1), "body")]
    n = v.int(4, 6)
    span = L_ * 0.72
    ww = span / n * 0.8
    for k in range(n):
        parts.append(S(rect(-L_ / 2 + 0.12 + ww / 2 + k * span / n, top + 0.2, ww, 0.22, r=0.02), "window", 0.6))
    parts += [S(rect(L_ / 2 - 0.1, top + 0.27, 0.14, 0.4), "window", 0.7), S(rect(L_ / 2 - 0.32, top + h * 0.55, 0.16, h * 0.6), "window", 0.5),
              S(rect(0, top + h * 0.62, L_ * 0.95, 0.06), "red", 0.35)]
    parts += wheel(-L_ * 0.3, 0.74, 0.17) + wheel(L_ * 0.3, 0.74, 0.17)
    parts.append(S(ellipse(L_ / 2 - 0.04, top + h * 0.8, 0.04, 0.04), "light", 0.3))
    return parts


def truck(v: Var) -> list[Part]:
    ch, bx = v.j(0.6), v.j(1.25, 0.08)
    parts = [S(rect(-0.95 + bx / 2, 0.22, bx, v.j(0.85, 0.06), r=0.02), "cargo"),
             S(rect(0.66, 0.62 - ch / 2, 0.5, ch, r=0.06), "body"), S(rect(0.2, 0.62, 1.5, 0.08), "dark", 0.5)]
    parts.append(S(poly((0.5, 0.62 - ch + 0.06), (0.8, 0.62 - ch + 0.06), (0.86, 0.62 - ch * 0.45), (0.5, 0.62 - ch * 0.45)), "window", 0.7))
    parts += wheel(-0.6, 0.74, 0.16) + wheel(-0.25, 0.74, 0.16) + wheel(0.68, 0.74, 0.16)
    for k in range(3):
        parts.append(L(line((0.9, 0.4 + k * 0.05), (0.9, 0.42 + k * 0.05)), "dark", 0.02, 0.2))
    parts.append(S(ellipse(0.89, 0.48, 0.03, 0.03), "light", 0.3))
    return parts


def tractor(v: Var) -> list[Part]:
    rr, fr = v.j(0.38, 0.08), v.j(0.2, 0.1)
    parts = [S(rect(-0.35, -0.1, 0.55, 0.65, r=0.02), "window", 0.8), L(rect(-0.35, -0.1, 0.55, 0.65), "dark", 0.05, 0.8, closed=True),
             S(rect(-0.35, -0.45, 0.65, 0.06), "body", 0.7), S(rect(0.3, 0.35, v.j(0.8, 0.08), 0.34, r=0.05), "body"),
             S(rect(0.4, 0.0, 0.06, 0.4), "dark", 0.5)]
    parts += wheel(-0.45, 0.9 - rr, rr, hub="hub") + wheel(0.6, 0.9 - fr, fr, hub="hub")
    return parts


def locomotive(v: Var) -> list[Part]:
    bh = v.j(0.45, 0.08)
    parts = [S(blob(0.45 + 0.1, -0.62, 0.14, 0.1, 4, 0.3), "smoke", 0.3), S(blob(0.3, -0.8, 0.2, 0.12, 5, 0.3), "smoke", 0.25),
             S(trap(0.45, -0.45, 0.05, 0.2, 0.12), "dark", 0.8), S(rect(0.05, 0.25, 1.1, bh, r=bh / 2.2), "engine"),
             S(ellipse(-0.05, 0.28 - bh / 2, 0.12, 0.1, math.pi, TAU), "brass", 0.5),
             S(rect(-0.65, 0.1, 0.45, 0.78), "body"), S(rect(-0.65, -0.33, 0.55, 0.07), "dark", 0.6),
             S(rect(-0.65, -0.05, 0.22, 0.2), "window", 0.6), S(poly((0.62, 0.45), (0.92, 0.7), (0.62, 0.7)), "red", 0.6)]
    for x in (-0.45, -0.05, 0.35):
        parts += wheel(x, 0.72, 0.17, hub="red")
    parts.append(L(line((-0.45, 0.72), (0.35, 0.72)), "metal", 0.03, 0.4))
    return parts


def ambulance(v: Var) -> list[Part]:
    bl = v.j(1.25, 0.06)
    parts = [S(rect(-0.92 + bl / 2, 0.25, bl, 0.95, r=0.05), "paint_white"),
             S(poly((0.4, -0.12), (0.62, -0.12), (0.9, 0.25), (0.92, 0.72), (0.4, 0.72)), "paint_white"),
             S(poly((0.47, -0.05), (0.6, -0.05), (0.82, 0.25), (0.47, 0.25)), "window", 0.8),
             S(rect(-0.92 + bl / 2, -0.27, 0.3, 0.08), "beacon", 0.6), S(rect(0, 0.5, 1.8, 0.07), "red", 0.5)]
    cx, cy, a, b = -0.92 + bl * 0.45, 0.12, 0.2, 0.065
    parts.append(S(poly((cx - b, cy - a), (cx + b, cy - a), (cx + b, cy - b), (cx + a, cy - b), (cx + a, cy + b), (cx + b, cy + b),
                        (cx + b, cy + a), (cx - b, cy + a), (cx - b, cy + b), (cx - a, cy + b), (cx - a, cy - b), (cx - b, cy - b)), "red", 0.9))
    parts += wheel(-0.5, 0.74, 0.17) + wheel(0.58, 0.74, 0.17)
    parts.append(L(line((-0.2 + bl * 0.1, -0.15), (-0.2 + bl * 0.1, 0.65)), "dark", 0.012, 0.3))
    return parts


# ---------------------------------------------------------------- containers

def coffee_mug(v: Var) -> list[Part]:
    hw, top, bottom = v.j(0.45, 0.1), v.j(-0.5, 0.2), 0.85
    parts = [handle_loop(hw - 0.02, top + 0.25, bottom - 0.2, v.j(0.38), 0.1, "ceramic"),
             S(profile(0, [(top, hw), ((top + bottom) / 2, hw * v.u(0.96, 1.02)), (bottom - 0.03, hw * v.u(0.9, 1.0)), (bottom, hw * 0.85)]), "ceramic"),
             S(ellipse(0, top, hw, 0.08), "interior", 0.7)]
    if v.chance(0.4):
        parts.append(S(rect(0, (top + bottom) / 2, hw * 1.95, 0.12), "accent", 0.3))
    for k in range(v.int(0, 2)):
        x = (k - 0.5) * 0.22
        parts.append(L(spline([(x, top - 0.15), (x + 0.07, top - 0.3), (x - 0.05, top - 0.45), (x + 0.04, top - 0.6)], n=5), "smoke", 0.025, 0.2))
    return parts


def vase(v: Var) -> list[Part]:
    belly, neck, yb = v.j(0.45, 0.15), v.j(0.14, 0.2), v.u(0.05, 0.35)
    rows = [(-0.85, neck * 1.3), (-0.65, neck), (-0.4, neck * 1.05), (yb - 0.3, belly * 0.85), (yb, belly), (0.6, belly * 0.7), (0.85, neck * 1.4)]
    parts = [S(profile(0, rows), "ceramic"), S(ellipse(0, -0.85, neck * 1.3, 0.04), "interior", 0.5)]
    for y in (yb - 0.15, yb + 0.12):
        parts.append(L(line((-belly * 0.93, y), (belly * 0.93, y)), "accent", 0.03, 0.3))
    return parts


def bottle(v: Var) -> list[Part]:
    hw, nw, sh = v.j(0.27, 0.1), v.j(0.09, 0.1), v.u(-0.2, 0.0)
    parts = [S(profile(0, [(-0.78, nw), (-0.4, nw * 1.05), (sh, hw * 0.95), (sh + 0.15, hw), (0.85, hw)]), "glass"),
             S(rect(0, -0.82, nw * 2.3, 0.1, r=0.02), "cap", 0.7)]
    if v.chance(0.8):
        parts.append(S(rect(0, 0.38, hw * 2, v.j(0.4)), "label", 0.6))
    return parts


def wine_glass(v: Var) -> list[Part]:
    r, bowl = v.j(0.38, 0.1), v.j(0.7, 0.12)
    top = -0.85
    bottom = top + bowl
    parts = [S(ellipse(0, 0.86, v.j(0.3), 0.06), "glassware"), S(rect(0, (bottom + 0.86) / 2, 0.05, 0.86 - bottom), "glassware"),
             S(profile(0, [(top, r), (top + bowl * 0.45, r * 1.02), (top + bowl * 0.85, r * 0.55), (bottom, 0.04)]), "glassware")]
    if v.chance(0.7):
        wy = top + bowl * v.u(0.35, 0.55)
        parts.append(S(profile(0, [(wy, r * 0.98), (top + bowl * 0.8, r * 0.6), (bottom - 0.02, 0.04)]), "wine", 0.5))
    parts.append(L(ellipse(0, top, r, 0.05), "glassware", 0.02, 0.5, closed=True))
    return parts


def bucket(v: Var) -> list[Part]:
    wt, wb, top = v.j(0.55, 0.08), v.j(0.4, 0.08), v.j(-0.35, 0.15)
    parts = [L(spline([(-wt, top), (-wt * 0.7, top - 0.45), (0, top - 0.6), (wt * 0.7, top - 0.45), (wt, top)], n=6), "metal", 0.035, 0.7),
             S(trap(0, top, 0.85, 2 * wt, 2 * wb), "pail"), S(ellipse(0, top, wt, 0.08), "interior", 0.7)]
    for f in (0.25, 0.75):
        y = top + f * (0.85 - top)
        w = wt + (wb - wt) * f
        parts.append(L(line((-w, y), (w, y)), "dark", 0.025, 0.4))
    return parts


def teapot(v: Var) -> list[Part]:
    r, top = v.j(0.6, 0.1), -0.32
    parts = [S(tube([(r * 0.7, 0.35), (r + 0.15, 0.1), (r + 0.3, -0.25)], 0.2, 0.07), "ceramic", 0.9),
             handle_loop(-r + 0.1, -0.15, 0.5, -v.j(0.38), 0.1, "ceramic"),
             S(profile(0, [(top, 0.28), (-0.15, r * 0.85), (0.2, r), (0.55, r * 0.85), (0.8, r * 0.5)]), "ceramic"),
             S(ellipse(0, top, 0.3, 0.16, math.pi, TAU), "ceramic", 0.7), S(ellipse(0, top - 0.19, 0.07, 0.06), "ceramic", 0.5)]
    return parts


# ---------------------------------------------------------------- plants

def pine_tree(v: Var) -> list[Part]:
    parts = [S(rect(0, 0.78, v.j(0.16), 0.26), "trunk")]
    n = v.int(3, 4)
    base, apex_top, hw = 0.68, -0.95, v.j(0.75, 0.1)
    step = (base - apex_top) / (n + 0.6)
    for k in range(n):  # bottom tier first so upper tiers overlap it
        yb = base - k * step
        w = hw * (1 - k / (n + 0.8))
        apex = yb - step * 1.7
        teeth = 5
        xs = np.linspace(w, -w, 2 * teeth + 1)
        bottom = [(x, yb - (0.07 if i % 2 else 0)) for i, x in enumerate(xs)]
        parts.append(S(poly((0, apex), *bottom), "foliage_dark"))
    return parts


def leafy_tree(v: Var) -> list[Part]:
    parts = [S(tube([(0, 0.92), (v.u(-0.05, 0.05), 0.5), (0, 0.05)], 0.24, 0.14), "trunk")]
    for s in (-1, 1):
        parts.append(S(tube([(0, 0.35), (s * 0.2, 0.1), (s * 0.35, -0.05)], 0.08, 0.04), "trunk", 0.4))
    parts.append(S(blob(0, -0.35, v.j(0.8, 0.08), v.j(0.6, 0.1), v.int(7, 11), v.u(0.08, 0.15), v.u(0, 3)), "foliage"))
    if v.chance(0.3):
        for _ in range(v.int(3, 5)):
            parts.append(S(ellipse(v.u(-0.5, 0.5), v.u(-0.6, -0.1), 0.05, 0.05), "red", 0.2))
    return parts


def palm_tree(v: Var) -> list[Part]:
    lean = v.sign() * v.u(0.1, 0.35)
    top = (lean, -0.45)
    path = [(0, 0.92), (lean * 0.3, 0.3), top]
    parts = [S(tube(path, 0.18, 0.09), "trunk")]
    spine = spline(path, n=6)
    for k in range(3, len(spine) - 2, 3):
        p, d = spine[k], spine[k + 1] - spine[k - 1]
        nrm = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-9) * 0.07
        parts.append(L(line(p - nrm, p + nrm), "dark", 0.012, 0.25))
    n = v.int(5, 7)
    for k in range(n):
        a = math.pi + (k + 0.5) * math.pi / n + v.u(-0.15, 0.15)  # fan over the upper half
        ln = v.j(0.7, 0.15)
        end = (top[0] + ln * math.cos(a), top[1] + ln * math.sin(a) * 0.6 + 0.25)
        parts.append(S(lens(top, end, 0.16, bend=0.25 * (1 if math.cos(a) < 0 else -1)), "foliage"))
    for k in range(v.int(2, 3)):
        parts.append(S(ellipse(top[0] + (k - 1) * 0.08, top[1] + 0.08, 0.05, 0.05), "coconut", 0.3))
    return parts


def cactus(v: Var) -> list[Part]:
    bw, top = v.j(0.34, 0.1), v.j(-0.85, 0.08)
    potted = v.chance(0.45)
    g = 0.5 if potted else 0.9
    parts = []
    for s, y in ((-1, v.u(0.0, 0.25)), (1, v.u(-0.2, 0.1))):
        up = y - v.j(0.5, 0.2)
        parts.append(S(tube([(0, y), (s * 0.28, y + 0.02), (s * 0.4, y - 0.12), (s * 0.42, up)], 0.2), "cactus", 0.9))
        parts.append(S(ellipse(s * 0.42, up, 0.1, 0.1), "cactus", 0.9))
    parts.append(S(rect(0, (top + g) / 2, bw, g - top, r=bw / 2), "cactus"))
    for _ in range(v.int(3, 6)):
        x, y = v.u(-bw / 2, bw / 2), v.u(top + 0.2, g - 0.1)
        parts.append(L(line((x, y), (x + 0.06 * np.sign(x + 1e-3), y - 0.04)), "dark", 0.01, 0.15))
    if potted:
        parts += [S(trap(0, 0.45, 0.9, 0.7, 0.5), "terracotta"), S(rect(0, 0.45, 0.8, 0.12), "terracotta", 0.8)]
    if v.chance(0.3):
        parts.append(S(blob(0, top, 0.1, 0.07, 5, 0.3), "petal", 0.3))
    return parts


def flower(v: Var) -> list[Part]:
    c = (v.u(-0.05, 0.05), -0.35)
    parts = [S(tube([(0, 0.95), (0.06, 0.3), c], 0.06), "stem")]
    for s, y in ((-1, 0.55), (1, 0.35)):
        parts.append(S(lens((0.03, y), (s * 0.4, y - 0.25), 0.18, bend=0.1 * s), "foliage", 0.6))
    n, ln = v.int(9, 14), v.j(0.4, 0.1)
    for k in range(n):
        a = TAU * k / n + v.u(-0.1, 0.1)
        parts.append(S(lens(c, (c[0] + ln * math.cos(a), c[1] + ln * math.sin(a)), 0.14), "petal", 0.95))
    parts.append(S(ellipse(c[0], c[1], 0.13, 0.13), "flower_center"))
    return parts


def potted_plant(v: Var) -> list[Part]:
    parts = []
    n = v.int(6, 9)
    for k in range(n):
        a = math.pi + (k + 0.5) * math.pi / n + v.u(-0.12, 0.12)
        ln = v.j(0.7, 0.2)
        end = (ln * math.cos(a), 0.3 + ln * math.sin(a) * 1.2)
        parts.append(S(lens((0, 0.32), end, v.j(0.22), bend=v.u(-0.2, 0.2)), "foliage"))
    parts += [S(trap(0, 0.4, 0.92, v.j(0.7, 0.08), v.j(0.48, 0.08)), "terracotta"), S(rect(0, 0.4, 0.8, 0.13, r=0.02), "terracotta", 0.8)]
    return parts


def mushroom(v: Var) -> list[Part]:
    cw, ch, cy = v.j(0.8, 0.1), v.j(0.6, 0.15), v.u(-0.15, 0.05)
    parts = [S(profile(0, [(cy, 0.16), (0.5, 0.2), (0.88, 0.25)]), "cream"),
             S(np.concatenate([ellipse(0, cy, cw, ch, math.pi, TAU, n=24), spline([(cw, cy), (0, cy + 0.1), (-cw, cy)], n=6)]), "mushroom_cap"),
             L(spline([(-cw * 0.8, cy + 0.03), (0, cy + 0.12), (cw * 0.8, cy + 0.03)], n=6), "dark", 0.015, 0.3)]
    for _ in range(v.int(3, 7)):
        parts.append(S(ellipse(v.u(-0.6, 0.6) * cw, cy - v.u(0.15, 0.8) * ch, 0.07, 0.05), "paint_white", 0.35))
    for _ in range(v.int(2, 5)):
        x = v.u(-0.6, 0.6)
        parts.append(L(line((x, 0.9), (x + v.u(-0.08, 0.08), 0.75)), "foliage", 0.02, 0.2))
    return parts


# ---------------------------------------------------------------- lamps

def table_lamp(v: Var) -> list[Part]:
    sh_top, sh_bot = v.j(0.55, 0.15), v.j(1.1, 0.08)
    parts = [S(ellipse(0, -0.05, 0.12, 0.1), "light", 0.3), S(rect(0, 0.42, 0.08, 0.95), "brass")]
    if v.chance(0.5):
        parts.append(S(profile(0, [(0.3, 0.08), (0.55, 0.3), (0.75, 0.25), (0.9, 0.16)]), "ceramic"))
    else:
        parts.append(S(ellipse(0, 0.86, 0.38, 0.08), "brass"))
    parts.append(S(trap(0, -0.75, -0.1, sh_top, sh_bot), "fabric"))
    if v.chance(0.4):
        parts.append(L(line((0.15, -0.1), (0.15, 0.15)), "dark", 0.012, 0.2))
    return parts


def floor_lamp(v: Var) -> list[Part]:
    parts = [S(ellipse(0, 0.91, 0.34, 0.06), "metal")]
    if v.chance(0.3):  # arc lamp: curved pole, hanging shade
        parts += [L(spline([(0, 0.9), (0.05, -0.6), (0.5, -0.85), (0.75, -0.6)], n=8), "metal", 0.05),
                  S(trap(0.75, -0.62, -0.3, 0.2, 0.5), "fabric")]
    else:
        parts += [S(rect(0, 0.15, 0.05, 1.5), "metal"), S(trap(0, -0.95, -0.55, v.j(0.3), v.j(0.6, 0.1)), "fabric")]
    return parts


def street_lamp(v: Var) -> list[Part]:
    s = v.sign()
    parts = [S(trap(0, 0.72, 0.92, 0.16, 0.26), "dark_metal", 0.6), S(tube([(0, 0.92), (0, -0.7)], 0.09, 0.06), "dark_metal"),
             S(tube([(0, -0.68), (s * 0.15, -0.9), (s * 0.45, -0.86)], 0.05), "dark_metal")]
    hx = s * 0.48
    parts += [S(trap(hx, -0.86, -0.7, 0.12, 0.34), "dark_metal"), S(ellipse(hx, -0.69, 0.15, 0.05), "light", 0.6)]
    return parts


def candle(v: Var) -> list[Part]:
    w, top = v.j(0.3, 0.12), v.j(-0.15, 0.5)
    parts = []
    if v.chance(0.6):
        parts += [L(ellipse(0.55, 0.8, 0.12, 0.1), "brass", 0.04, 0.3, closed=True), S(ellipse(0, 0.86, 0.5, 0.09), "brass", 0.7)]
    parts += [S(rect(0, (top + 0.84) / 2, w, 0.84 - top, r=0.03), "wax"), S(ellipse(0, top, w / 2, 0.04), "wax", 0.3)]
    for _ in range(v.int(0, 2)):
        x = v.u(-w / 2, w / 2)
        parts.append(S(tube([(x, top), (x, top + v.u(0.1, 0.3))], 0.05, 0.07), "wax", 0.3))
    parts += [L(line((0, top), (0, top - 0.12)), "dark", 0.02, 0.6), S(teardrop(0, top - 0.22, 0.16, v.j(0.32)), "flame"),
              S(teardrop(0, top - 0.2, 0.07, 0.14), "light", 0.3)]
    return parts


def lantern(v: Var) -> list[Part]:
    w, h = v.j(0.6, 0.1), v.j(1.0, 0.1)
    top, bottom = 0.62 - h, 0.62
    parts = [L(ellipse(0, top - 0.2, 0.18, 0.2, math.pi, TAU), "dark_metal", 0.04, 0.6), S(trap(0, top - 0.18, top, 0.3, w + 0.1), "dark_metal"),
             S(rect(0, (top + bottom) / 2, w, h), "glassware"), S(rect(0, bottom - 0.12, 0.14, 0.24), "wax", 0.4),
             S(teardrop(0, bottom - 0.38, 0.16, 0.3), "flame", 0.8), S(rect(0, bottom + 0.07, w + 0.12, 0.14), "dark_metal")]
    for x in (-w / 2, -w / 6, w / 6, w / 2):
        parts.append(L(line((x, top), (x, bottom)), "dark_metal", 0.03, 0.8 if abs(x) > w / 3 else 0.4))
    return parts


# ---------------------------------------------------------------- animal faces

def cat(v: Var) -> list[Part]:
    parts = []
    for s in (-1, 1):
        tip = (s * v.j(0.58, 0.08), v.j(-0.95, 0.05))
        parts += [S(poly((s * 0.2, -0.45), tip, (s * 0.72, -0.15)), "fur"), S(poly((s * 0.3, -0.43), (tip[0] * 0.95, tip[1] + 0.15), (s * 0.62, -0.2)), "fur_inner", 0.4)]
    parts += [S(ellipse(0, 0.05, v.j(0.75, 0.06), v.j(0.65, 0.06)), "fur")]
    parts += eyes(0.28, -0.05, 0.14, 0.09, "iris", (0.03, 0.08))
    parts += [S(poly((-0.07, 0.15), (0.07, 0.15), (0, 0.23)), "nose", 0.7),
              L(spline([(-0.17, 0.3), (-0.08, 0.35), (0, 0.27), (0.08, 0.35), (0.17, 0.3)], n=4), "dark", 0.02, 0.6)]
    return parts + whiskers(0, 0.25, 0.15, 0.6, 3, v)


def dog(v: Var) -> list[Part]:
    parts = []
    for s in (-1, 1):
        parts.append(S(ellipse(s * 0.58, 0.05, 0.18, v.j(0.45), rot=-s * v.u(0.15, 0.4)), "fur_dark"))
    parts += [S(ellipse(0, -0.05, v.j(0.58, 0.06), v.j(0.7, 0.06)), "fur"), S(ellipse(0, 0.38, 0.34, 0.26), "fur_light", 0.7),
              S(ellipse(0, 0.24, 0.14, 0.09), "dark")]
    parts += eyes(0.24, -0.15, 0.08, 0.09)
    parts.append(L(spline([(-0.15, 0.45), (0, 0.5), (0.15, 0.45)], n=4), "dark", 0.02, 0.5))
    if v.chance(0.5):
        parts.append(S(ellipse(0, 0.58, 0.09, 0.12), "tongue", 0.35))
    return parts


def rabbit(v: Var) -> list[Part]:
    parts = []
    for s in (-1, 1):
        ln, rot = v.j(0.45, 0.1), s * v.u(0.05, 0.3)
        parts += [S(ellipse(s * 0.25, -0.5, 0.14, ln, rot=rot), "fur"), S(ellipse(s * 0.25, -0.48, 0.07, ln * 0.75, rot=rot), "fur_inner", 0.5)]
    parts += [S(ellipse(0, 0.3, v.j(0.55, 0.06), v.j(0.5, 0.06)), "fur")]
    parts += eyes(0.22, 0.18, 0.08, 0.1)
    parts += [S(ellipse(0, 0.4, 0.06, 0.04), "nose", 0.6), S(rect(0, 0.56, 0.1, 0.1), "paint_white", 0.4),
              L(line((0, 0.44), (0, 0.5)), "dark", 0.015, 0.4)]
    return parts + whiskers(0, 0.43, 0.08, 0.45, 2, v)


def owl(v: Var) -> list[Part]:
    parts = []
    for s in (-1, 1):
        parts.append(S(poly((s * 0.25, -0.6), (s * 0.5, -0.92), (s * 0.52, -0.5)), "feather", 0.7))
    parts += [S(ellipse(0, 0.1, v.j(0.62, 0.06), v.j(0.82, 0.04)), "feather")]
    for s in (-1, 1):
        parts += [S(lens((s * 0.5, -0.1), (s * 0.45, 0.75), 0.28, bend=s * 0.15), "feather_dark", 0.6),
                  S(ellipse(s * 0.26, -0.25, 0.25, 0.25), "fur_light", 0.6)]
    parts += eyes(0.26, -0.25, 0.17, 0.17, "iris", (0.08, 0.08))
    parts.append(S(poly((-0.07, -0.08), (0.07, -0.08), (0, 0.12)), "beak", 0.8))
    for k in range(v.int(2, 4)):
        y = 0.25 + k * 0.13
        parts.append(L(poly((-0.1, y), (0, y + 0.05), (0.1, y)), "dark", 0.015, 0.2))
    for s in (-1, 1):
        parts.append(L(poly((s * 0.2, 0.86), (s * 0.16, 0.97), (s * 0.24, 0.97)), "beak", 0.025, 0.3))
    return parts


def pig(v: Var) -> list[Part]:
    parts = []
    for s in (-1, 1):
        parts.append(S(poly((s * 0.25, -0.45), (s * 0.65, -0.85), (s * 0.7, -0.3)), "pig"))
    parts += [S(ellipse(0, 0.02, v.j(0.76, 0.06), v.j(0.64, 0.06)), "pig"), S(ellipse(0, 0.22, v.j(0.28, 0.1), 0.19), "pig_dark"),
              S(ellipse(-0.09, 0.22, 0.04, 0.06), "dark", 0.6), S(ellipse(0.09, 0.22, 0.04, 0.06), "dark", 0.6)]
    parts += eyes(0.32, -0.15, 0.05, 0.06)
    parts.append(L(spline([(-0.18, 0.48), (0, 0.53), (0.18, 0.48)], n=4), "dark", 0.015, 0.35))
    return parts


def bear(v: Var) -> list[Part]:
    parts = []
    for s in (-1, 1):
        parts += [S(ellipse(s * 0.52, -0.55, 0.2, 0.2), "fur"), S(ellipse(s * 0.52, -0.53, 0.1, 0.1), "fur_light", 0.4)]
    parts += [S(ellipse(0, 0.02, v.j(0.72, 0.06), v.j(0.66, 0.06)), "fur"), S(ellipse(0, 0.28, 0.3, 0.22), "fur_light", 0.8),
              S(ellipse(0, 0.17, 0.12, 0.08), "dark")]
    parts += eyes(0.27, -0.12, 0.06, 0.06)
    parts.append(L(spline([(-0.12, 0.38), (0, 0.42), (0.12, 0.38)], n=4), "dark", 0.015, 0.5))
    return parts


def mouse_animal(v: Var) -> list[Part]:
    parts = []
    er = v.j(0.33, 0.1)
    for s in (-1, 1):
        parts += [S(ellipse(s * 0.5, -0.45, er, er), "fur"), S(ellipse(s * 0.5, -0.43, er * 0.6, er * 0.6), "fur_inner", 0.5)]
    parts.append(S(spline([(0, -0.5), (0.45, -0.3), (0.42, 0.15), (0.1, 0.58), (0, 0.65), (-0.1, 0.58), (-0.42, 0.15), (-0.45, -0.3)], closed=True), "fur"))
    parts += eyes(0.18, -0.05, 0.06, 0.07)
    parts.append(S(ellipse(0, 0.62, 0.06, 0.05), "nose", 0.7))
    return parts + whiskers(0, 0.55, 0.05, 0.55, 3, v, 0.45)


# ---------------------------------------------------------------- tools (drawn upright, then tilted)

def hammer(v: Var) -> list[Part]:
    hl = v.j(1.3, 0.08)
    parts = [S(rect(0, 0.9 - hl / 2, 0.14, hl, r=0.05), "wood")]
    if v.chance(0.5):
        parts.append(S(rect(0, 0.7, 0.17, 0.4, r=0.06), "rubber", 0.5))
    hy, hw = 0.88 - hl, v.j(0.42, 0.1)
    parts += [S(poly((-hw, hy - 0.1), (0.1, hy - 0.11), (0.1, hy + 0.11), (-hw, hy + 0.1)), "metal"),
              S(rect(-hw - 0.04, hy, 0.08, 0.26, r=0.02), "metal", 0.8),
              S(spline([(0.08, hy - 0.11), (0.3, hy - 0.08), (0.5, hy + 0.12), (0.35, hy + 0.02), (0.08, hy + 0.08)], closed=True, n=4), "metal", 0.9)]
    return tilt(parts, v)


def screwdriver(v: Var) -> list[Part]:
    hw = v.j(0.28, 0.1)
    parts = [S(rect(0, 0.5, hw, 0.78, r=hw / 2.2), "plastic"), S(rect(0, 0.08, hw * 0.6, 0.1), "metal", 0.6),
             S(rect(0, -0.35, 0.07, 0.8), "metal"), S(poly((-0.035, -0.75), (0.035, -0.75), (0.02, -0.9), (-0.02, -0.9)), "metal", 0.6)]
    for x in (-hw / 4, 0, hw / 4):
        parts.append(L(line((x, 0.25), (x, 0.75)), "dark", 0.012, 0.3))
    return tilt(parts, v)


def wrench(v: Var) -> list[Part]:
    r, cy = v.j(0.3, 0.08), -0.72
    gap = v.u(0.5, 0.65)
    jaw = np.concatenate([ellipse(0, cy, r, r, -math.pi / 2 + gap, 1.5 * math.pi - gap, n=20),
                          [(-0.08, cy - r * 0.55), (-0.08, cy - 0.02), (0.08, cy - 0.02), (0.08, cy - r * 0.55)]])
    parts = [S(rect(0, 0.0, 0.18, 1.3, r=0.06), "metal"), S(jaw, "metal"), S(ellipse(0, 0.72, 0.24, 0.24), "metal", 0.8),
             S(ellipse(0, 0.72, 0.12, 0.12), "interior", 0.6)]
    return tilt(parts, v)


def shovel(v: Var) -> list[Part]:
    parts = [S(rect(0, -0.2, 0.09, 1.2), "wood"), L(ellipse(0, -0.9, 0.17, 0.11), "plastic", 0.05, 0.7, closed=True),
             S(spline([(-0.3, 0.36), (0.3, 0.36), (0.33, 0.7), (0, v.j(1.0, 0.05)), (-0.33, 0.7)], closed=True, n=5), "metal"),
             S(rect(0, 0.35, 0.14, 0.12), "metal", 0.5)]
    return tilt(parts, v, 0.3, 0.6)


def axe(v: Var) -> list[Part]:
    bl = v.j(0.55, 0.12)
    parts = [S(tube([(-0.05, 0.9), (0.05, 0.0), (0, -0.82)], 0.12), "wood"),
             S(np.concatenate([poly((-0.1, -0.86), (-0.1, -0.58), (bl * 0.5, -0.6)), ellipse(bl, -0.72, 0.08, 0.22, math.pi / 2, -math.pi / 2, n=10),
                               poly((bl * 0.5, -0.85))]), "metal"),
             L(ellipse(bl, -0.72, 0.06, 0.18, 1.2, -1.2, n=8), "paint_white", 0.02, 0.25)]
    return tilt(parts, v)


def paintbrush(v: Var) -> list[Part]:
    parts = [S(tube([(0, 0.95), (0, 0.05)], 0.08, 0.14), "plastic"), S(rect(0, -0.04, 0.16, 0.2), "metal", 0.8),
             S(poly((-0.08, -0.14), (-0.1, -0.55), (0, v.j(-0.78, 0.05)), (0.1, -0.55), (0.08, -0.14)), "bristle"),
             S(poly((-0.1, -0.5), (0, v.j(-0.78, 0.02)), (0.1, -0.5)), "paint", 0.5)]
    return tilt(parts, v)


# ---------------------------------------------------------------- clocks

def alarm_clock(v: Var) -> list[Part]:
    r = v.j(0.68, 0.06)
    parts = [L(ellipse(0, -0.72, 0.2, 0.15, math.pi, TAU), "metal", 0.035, 0.3)]
    for s in (-1, 1):
        parts += [S(ellipse(s * 0.45, -0.62, 0.24, 0.24, math.pi, TAU, rot=s * 0.6), "brass", 0.9),
                  S(tube([(s * 0.35, 0.6), (s * 0.5, 0.88)], 0.08), "metal", 0.6)]
    parts += [L(line((0, -0.7), (0, -0.95)), "metal", 0.03, 0.35), S(ellipse(0, 0.05, r, r), "clock_body"),
              S(ellipse(0, 0.05, r * 0.84, r * 0.84), "clock_face")]
    return parts + ticks(0, 0.05, r * 0.68, r * 0.78, 12) + clock_hands(0, 0.05, r * 0.8, v)


def wall_clock(v: Var) -> list[Part]:
    r = v.j(0.9, 0.05)
    frame = rect(0, 0, 2 * r, 2 * r, r=0.25) if v.chance(0.25) else ellipse(0, 0, r, r)
    parts = [S(frame, "wood"), S(ellipse(0, 0, r * 0.85, r * 0.85), "clock_face")]
    parts += ticks(0, 0, r * 0.68, r * 0.8, 12, importance=0.4) + clock_hands(0, 0, r * 0.78, v)
    a = v.u(0, TAU)
    parts.append(L(line((0, 0), (0.7 * r * math.cos(a), 0.7 * r * math.sin(a))), "red", 0.015, 0.3))
    return parts


def stopwatch(v: Var) -> list[Part]:
    r = v.j(0.72, 0.05)
    parts = [L(ellipse(0, -0.93, 0.13, 0.08), "metal", 0.04, 0.5, closed=True), S(rect(0, -0.75, 0.16, 0.2), "metal", 0.9),
             S(rotate(rect(0, -0.8, 0.12, 0.14), 0.8, (0, 0.1)), "metal", 0.5), S(ellipse(0, 0.1, r, r), "metal"),
             S(ellipse(0, 0.1, r * 0.86, r * 0.86), "clock_face"), S(ellipse(0, 0.38, 0.13, 0.13), "clock_face", 0.3),
             L(ellipse(0, 0.38, 0.13, 0.13), "dark", 0.015, 0.3, closed=True)]
    a = v.u(0, TAU)
    parts += ticks(0, 0.1, r * 0.72, r * 0.82, 12, importance=0.3)
    parts += [L(line((0, 0.1), (0.8 * r * math.cos(a), 0.1 + 0.8 * r * math.sin(a))), "red", 0.03, 0.9), S(ellipse(0, 0.1, 0.05, 0.05), "dark", 0.4)]
    return parts


# ---------------------------------------------------------------- electronics

def mouse_computer(v: Var) -> list[Part]:
    w = v.j(0.5, 0.08)
    parts = [L(spline([(0, -0.84), (0.05, -1.0), (0.35, -1.05), (0.6, -0.95), (0.9, -1.0)], n=6), "dark", 0.035, 0.5),
             S(spline([(0, -0.85), (w * 0.9, -0.5), (w, 0.3), (0, 0.85), (-w, 0.3), (-w * 0.9, -0.5)], closed=True), "plastic"),
             L(line((0, -0.85), (0, -0.2)), "dark", 0.015, 0.6), L(spline([(-w * 0.96, -0.18), (0, -0.22), (w * 0.96, -0.18)], n=4), "dark", 0.015, 0.5),
             S(rect(0, -0.52, 0.1, 0.2, r=0.04), "dark", 0.6)]
    return transform_parts(parts, angle=v.u(-0.4, 0.4))


def television(v: Var) -> list[Part]:
    w, h = v.j(1.7, 0.06), v.j(1.15, 0.08)
    crt = v.chance(0.35)
    parts = []
    if crt:
        a = v.u(0.3, 0.6)
        for s in (-1, 1):
            parts.append(L(line((0, -h / 2), (s * math.sin(a) * 0.6, -h / 2 - math.cos(a) * 0.6)), "dark", 0.025, 0.6))
    else:
        parts += [S(trap(0, h / 2 - 0.05, 0.78, 0.15, 0.3), "plastic_dark", 0.7), S(rect(0, 0.82, 0.7, 0.08, r=0.03), "plastic_dark", 0.7)]
    parts += [S(rect(0, 0, w, h, r=0.08), "plastic_dark"), S(rect(-0.12 if crt else 0, -0.02, w * (0.72 if crt else 0.88), h * 0.82, r=0.05), "screen")]
    if crt:
        parts += [S(ellipse(w * 0.38, -0.2, 0.07, 0.07), "metal", 0.4), S(ellipse(w * 0.38, 0.05, 0.07, 0.07), "metal", 0.4)]
    return parts


def laptop(v: Var) -> list[Part]:
    lh = v.j(0.95, 0.08)
    parts = [S(poly((-0.7, 0.15), (-0.62, 0.15 - lh), (0.62, 0.15 - lh), (0.7, 0.15)), "plastic"),
             S(poly((-0.62, 0.1), (-0.56, 0.2 - lh), (0.56, 0.2 - lh), (0.62, 0.1)), "screen", 0.9),
             S(poly((-0.7, 0.15), (0.7, 0.15), (0.95, 0.62), (-0.95, 0.62)), "plastic"),
             S(poly((-0.64, 0.2), (0.64, 0.2), (0.74, 0.4), (-0.74, 0.4)), "plastic_dark", 0.6),
             S(poly((-0.16, 0.45), (0.16, 0.45), (0.18, 0.58), (-0.18, 0.58)), "plastic_dark", 0.4)]
    for k in range(1, 3):
        y = 0.2 + k * 0.066
        parts.append(L(line((-0.64 - k * 0.033, y), (0.64 + k * 0.033, y)), "dark", 0.01, 0.25))
    return parts


# ---------------------------------------------------------------- boats (an unseen family)

def sailboat(v: Var) -> list[Part]:
    mh = v.j(1.3, 0.08)
    parts = waves(0.8, v) + [S(hull(-0.85, 0.85, 0.42, 0.75), "hull"), L(line((0, 0.42), (0, 0.42 - mh)), "wood", 0.035)]
    parts += [S(poly((0.04, 0.38 - mh), (0.04, 0.35), (v.j(0.7, 0.1), 0.35)), "sail"),
              S(poly((-0.04, 0.5 - mh), (-0.04, 0.35), (-v.j(0.55, 0.1), 0.35)), "sail", 0.7),
              S(poly((0, 0.42 - mh), (0.18, 0.46 - mh), (0, 0.5 - mh)), "red", 0.3)]
    return parts


def canoe(v: Var) -> list[Part]:
    top, bottom = v.j(0.1, 0.3), v.j(0.38, 0.08)
    shell = spline([(-1.0, top - 0.18), (0, top + 0.02), (1.0, top - 0.18), (0.6, bottom - 0.05), (0, bottom), (-0.6, bottom - 0.05)], closed=True, n=6)
    parts = waves(0.45, v) + [S(shell, "wood_hull"),
                              S(spline([(-0.9, top - 0.15), (0, top + 0.08), (0.9, top - 0.15), (0, top + 0.02)], closed=True, n=6), "interior", 0.5)]
    for x in (-0.35, 0.35):
        parts.append(L(line((x, top + 0.01), (x, top + 0.1)), "dark", 0.02, 0.3))
    if v.chance(0.7):
        a = v.u(-0.2, 0.2)
        p0, p1 = rotate(poly((-0.1, -0.75), (0.25, 0.3)), a)
        parts += [L(line(p0, p1), "wood", 0.04, 0.7), S(ellipse(*(p1 + (p1 - p0) * 0.15), 0.08, 0.2, rot=math.atan2(*(p1 - p0)[::-1]) - math.pi / 2), "wood", 0.7)]
    return parts


def steamship(v: Var) -> list[Part]:
    parts = waves(0.62, v)
    n = v.int(1, 3)
    for k in range(n):
        x = -0.35 + k * 0.3
        parts += [S(blob(x - 0.15, -0.8, 0.16, 0.08, 4, 0.3), "smoke", 0.25), S(trap(x, -0.72, -0.15, 0.18, 0.15), "funnel"),
                  S(trap(x, -0.72, -0.62, 0.18, 0.178), "dark", 0.4)]
    parts += [S(rect(-0.15, -0.1, v.j(0.6, 0.1), 0.2), "paint_white", 0.7), S(rect(-0.1, 0.1, 1.0, 0.26), "paint_white"),
              S(poly((-0.92, 0.22), (0.98, 0.12), (0.78, 0.58), (-0.85, 0.58)), "hull"), S(poly((-0.87, 0.48), (0.82, 0.48), (0.78, 0.58), (-0.85, 0.58)), "red", 0.4)]
    for k in range(7):
        parts.append(S(ellipse(-0.65 + k * 0.22, 0.32, 0.035, 0.035), "window", 0.3))
    parts.append(L(line((-0.55, 0.06), (0.35, 0.06)), "dark", 0.02, 0.3))
    return parts


# ---------------------------------------------------------------- string instruments (an unseen family)

def guitar(v: Var) -> list[Part]:
    lb, ub = v.j(0.44, 0.06), v.j(0.33, 0.06)
    parts = [S(rect(0, -0.45, 0.12, 0.72), "wood_dark"), S(rect(0, -0.86, 0.2, 0.24, r=0.04), "wood_dark", 0.8),
             S(profile(0, [(-0.12, 0.16), (0.0, ub), (0.2, ub * 0.95), (0.32, ub * 0.72), (0.5, lb * 0.9), (0.7, lb), (0.88, lb * 0.75), (0.97, 0.1)]), "wood_light"),
             S(ellipse(0, 0.3, 0.12, 0.12), "dark", 0.8), S(rect(0, 0.72, 0.28, 0.06), "dark", 0.5)]
    for k in range(3):
        for s in (-1, 1):
            parts.append(S(ellipse(s * 0.14, -0.92 + k * 0.08, 0.03, 0.025), "metal", 0.25))
    for x in (-0.03, 0.0, 0.03):
        parts.append(L(line((x, 0.72), (x * 1.5, -0.8)), "metal", 0.006, 0.3))
    return tilt(parts, v, 0.2, 0.6)


def violin(v: Var) -> list[Part]:
    lb, ub = v.j(0.36, 0.06), v.j(0.29, 0.06)
    parts = [S(rect(0, -0.5, 0.08, 0.5), "wood_light"), S(ellipse(0, -0.8, 0.08, 0.08), "wood_light", 0.8),
             L(ellipse(0.0, -0.8, 0.04, 0.04, 0, 4.5), "dark", 0.015, 0.4), S(rect(0, -0.68, 0.08, 0.16), "wood_dark", 0.5),
             S(profile(0, [(-0.25, 0.08), (-0.18, ub), (0.0, ub), (0.12, ub * 0.55), (0.28, ub * 0.55), (0.42, lb), (0.7, lb * 0.98), (0.86, 0.08)]), "wood_light"),
             S(trap(0, -0.5, 0.3, 0.06, 0.1), "wood_dark", 0.8), S(trap(0, 0.5, 0.8, 0.16, 0.06), "wood_dark", 0.5)]
    for s in (-1, 1):
        parts.append(L(spline([(s * 0.13, 0.1), (s * 0.16, 0.2), (s * 0.12, 0.32), (s * 0.15, 0.42)], n=4), "dark", 0.02, 0.5))
    if v.chance(0.4):
        parts.append(L(line((-0.6, 0.85), (0.7, -0.3)), "wood_dark", 0.025, 0.5))
    return tilt(parts, v, 0.2, 0.55)


# ---------------------------------------------------------------- the catalogue

@dataclass(frozen=True)
class SyntheticClass:
    """One class of the synthetic benchmark."""

    name: str
    family: str
    split: str  # "seen" | "unseen"
    role: str  # "seen" | "unseen: new member of a seen family" | "unseen: member of an unseen family"
    build: Callable[[Var], list[Part]]
    imagenet: tuple[int, ...]  # ImageNet-1k indices of classes that depict this object (own synonyms)
    palette: tuple[tuple[str, tuple[tuple[int, int, int], ...]], ...] = ()
    description: str = ""


def _pal(**materials) -> tuple:
    return tuple((m, tuple(c)) for m, c in materials.items())


_RED = ((190, 40, 35), (170, 30, 30), (210, 60, 40))
_FURS = ((120, 120, 125), (200, 130, 60), (60, 50, 45), (230, 225, 215), (150, 110, 80))

# (name, family, split, build, imagenet indices, palette, description)
_SPEC = [
    ("house", "buildings", "seen", house, (), {}, "walls, gable roof, door, windows, chimney"),
    ("church", "buildings", "seen", church, (497,), {}, "nave with gable roof, bell tower with spire and cross"),
    ("barn", "buildings", "seen", barn, (425,), dict(wall=_RED), "red walls, gambrel roof, braced double door"),
    ("castle", "buildings", "seen", castle, (483,), {}, "crenellated wall between two towers, gate, flag"),
    ("skyscraper", "buildings", "seen", skyscraper, (), {}, "tall glass tower with floor grid and antenna"),
    ("lighthouse", "buildings", "unseen", lighthouse, (437,), {}, "tapered striped tower, gallery, lantern room, beams"),
    ("car", "vehicles", "seen", car, (436, 468, 511, 817), {}, "low body, cabin with two side windows, two wheels"),
    ("bus", "vehicles", "seen", bus, (654, 779, 874), dict(body=((230, 180, 30), (200, 40, 40), (40, 90, 170), (235, 235, 230))), "long box with a row of windows, two wheels"),
    ("truck", "vehicles", "seen", truck, (675, 867), {}, "cab and cargo box, three wheels"),
    ("tractor", "vehicles", "seen", tractor, (866,), dict(body=((40, 130, 50), (200, 40, 30), (230, 160, 20))), "big rear wheel, small front wheel, cab, hood, exhaust"),
    ("steam locomotive", "vehicles", "seen", locomotive, (820,), {}, "boiler, smokestack, cab, three drive wheels, cowcatcher"),
    ("ambulance", "vehicles", "unseen", ambulance, (407,), {}, "white van with red cross, stripe and beacon"),
    ("coffee mug", "containers", "seen", coffee_mug, (504, 968), {}, "cylinder with handle loop and opening"),
    ("vase", "containers", "seen", vase, (883,), {}, "turned body with belly, neck and bands"),
    ("bottle", "containers", "seen", bottle, (440, 737, 898, 907), {}, "glass cylinder, shoulder, neck, cap, label"),
    ("wine glass", "containers", "seen", wine_glass, (572, 966), {}, "bowl on a thin stem and foot, wine inside"),
    ("bucket", "containers", "seen", bucket, (463,), {}, "tapered pail with bands and an arched handle"),
    ("teapot", "containers", "unseen", teapot, (849,), {}, "round body, lid with knob, spout and handle"),
    ("pine tree", "plants", "seen", pine_tree, (), {}, "stacked jagged triangles on a short trunk"),
    ("leafy tree", "plants", "seen", leafy_tree, (), {}, "trunk with branches under a scalloped crown"),
    ("palm tree", "plants", "seen", palm_tree, (), {}, "curved segmented trunk with a fan of fronds"),
    ("cactus", "plants", "seen", cactus, (), {}, "columnar body with two bent arms and spines"),
    ("flower (daisy)", "plants", "seen", flower, (985,), {}, "ring of petals round a disc, stem and leaves"),
    ("potted plant", "plants", "seen", potted_plant, (738,), {}, "fan of leaves in a terracotta pot"),
    ("mushroom", "plants", "unseen", mushroom, (947, 992), {}, "dome cap with spots on a stem"),
    ("table lamp", "lamps", "seen", table_lamp, (846, 619), {}, "shade over a short stem and base"),
    ("floor lamp", "lamps", "seen", floor_lamp, (619,), {}, "small shade on a tall pole with a base disc"),
    ("street lamp", "lamps", "seen", street_lamp, (), {}, "tall pole with a curved arm and a lamp head"),
    ("candle", "lamps", "seen", candle, (470,), {}, "wax cylinder, wick, flame, holder"),
    ("lantern", "lamps", "unseen", lantern, (), {}, "glass box in a frame with cap, ring handle and flame"),
    ("cat", "animals", "seen", cat, (281, 282, 285), dict(fur=_FURS), "round face, pointed ears, slit pupils, whiskers"),
    ("dog", "animals", "seen", dog, (207, 208), dict(fur=_FURS[1:4], fur_dark=((90, 60, 40), (50, 40, 35), (150, 100, 60))), "long face, floppy ears, muzzle, big nose"),
    ("rabbit", "animals", "seen", rabbit, (330, 331, 332), dict(fur=((235, 230, 225), (160, 130, 100), (130, 125, 120))), "face with two long upright ears, teeth"),
    ("owl", "animals", "seen", owl, (24,), {}, "egg body, huge round eyes, beak, ear tufts, wings"),
    ("pig", "animals", "seen", pig, (341,), {}, "pink round face, snout with nostrils, folded ears"),
    ("bear", "animals", "seen", bear, (294, 295), dict(fur=((110, 70, 40), (40, 35, 30), (150, 100, 60))), "round face, small round ears, muzzle"),
    ("mouse (animal)", "animals", "unseen", mouse_animal, (), dict(fur=((140, 135, 130), (230, 225, 220), (150, 115, 85))), "pointed face, very big round ears, long whiskers"),
    ("hammer", "tools", "seen", hammer, (587,), {}, "handle with a metal head and claw"),
    ("screwdriver", "tools", "seen", screwdriver, (784,), {}, "grooved handle, thin shaft, flat tip"),
    ("wrench", "tools", "seen", wrench, (), {}, "bar with an open jaw and a ring end"),
    ("shovel", "tools", "seen", shovel, (792,), {}, "long handle with D-grip and a pointed blade"),
    ("axe", "tools", "seen", axe, (596,), {}, "curved handle with a wedge blade"),
    ("paintbrush", "tools", "seen", paintbrush, (696,), {}, "tapered handle, ferrule, bristles with paint"),
    ("alarm clock", "clocks", "seen", alarm_clock, (409,), {}, "round dial with two bells on top and legs"),
    ("wall clock", "clocks", "seen", wall_clock, (892, 409), {}, "framed dial with twelve ticks and hands"),
    ("stopwatch", "clocks", "seen", stopwatch, (826,), {}, "round case with crown button, sub-dial, one hand"),
    ("mouse (computer)", "electronics", "seen", mouse_computer, (673,), {}, "egg-shaped body, button split, scroll wheel, cable"),
    ("television", "electronics", "seen", television, (851, 664, 782), {}, "framed screen on a stand or with antennas"),
    ("laptop", "electronics", "seen", laptop, (620, 681), {}, "open lid with screen over a keyboard base"),
    ("sailboat", "boats", "unseen", sailboat, (484, 780, 914), {}, "hull, mast, main sail and jib, waves"),
    ("canoe", "boats", "unseen", canoe, (472,), {}, "long pointed shell, seats, paddle"),
    ("steamship", "boats", "unseen", steamship, (510, 628), {}, "long hull, superstructure, funnels, portholes"),
    ("acoustic guitar", "instruments", "unseen", guitar, (402,), {}, "figure-eight body with sound hole, long neck, headstock"),
    ("violin", "instruments", "unseen", violin, (889,), {}, "waisted body with f-holes, dark fingerboard, scroll"),
]


def _role(split: str, family: str) -> str:
    if split == "seen":
        return "seen"
    family_has_seen = any(f == family and s == "seen" for _, f, s, *_ in _SPEC)
    return "unseen: new member of a seen family" if family_has_seen else "unseen: member of an unseen family"


SYNTHETIC_CLASSES: dict[str, SyntheticClass] = {
    name: SyntheticClass(name, family, split, _role(split, family), build, tuple(imagenet), _pal(**palette), description)
    for name, family, split, build, imagenet, palette, description in _SPEC
}
