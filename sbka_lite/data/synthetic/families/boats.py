"""Boats on waves: a family with no seen member at all (unseen: sailboat, canoe, steamship)."""

from __future__ import annotations

import math

import numpy as np

from ..geometry import Part, Variation, TAU, blob, ellipse, line, polygon, rectangle, rotate, shape, spline, stroke, trapezoid
from ..registry import register_class

FAMILY = "boats"


def waves(y, vary: Variation, x0=-1.0, x1=1.0, importance=0.3) -> list[Part]:
    """A wavy water line at height `y`."""
    xs = np.linspace(x0, x1, 24)
    phase = vary.uniform(0, TAU)
    return [stroke(np.stack([xs, y + 0.03 * np.sin(xs * 9 + phase)], 1), "water", 0.025, importance)]


def hull(x0, x1, top, bottom, bow=0.15) -> np.ndarray:
    """Outline of a hull from its deck (`top`, x0..x1) down to its keel (`bottom`), the bow raked by `bow`."""
    return spline(
        [
            (x0, top),
            (x1, top),
            (x1 - bow, (top + bottom) / 2 + 0.05),
            ((x0 + x1) / 2 + (x1 - x0) * 0.3, bottom),
            ((x0 + x1) / 2 - (x1 - x0) * 0.3, bottom),
            (x0 + bow * 0.5, (top + bottom) / 2),
        ],
        closed=True,
        n=5,
    )


@register_class("sailboat", family=FAMILY, split="unseen", imagenet=(484, 780, 914))
def sailboat(vary: Variation) -> list[Part]:
    """hull, mast, main sail and jib, waves"""
    mast_height = vary.jitter(1.3, 0.08)
    parts = waves(0.8, vary) + [
        shape(hull(-0.85, 0.85, 0.42, 0.75), "hull"),
        stroke(line((0, 0.42), (0, 0.42 - mast_height)), "wood", 0.035),
    ]
    parts += [
        shape(polygon((0.04, 0.38 - mast_height), (0.04, 0.35), (vary.jitter(0.7, 0.1), 0.35)), "sail"),
        shape(polygon((-0.04, 0.5 - mast_height), (-0.04, 0.35), (-vary.jitter(0.55, 0.1), 0.35)), "sail", 0.7),
        shape(polygon((0, 0.42 - mast_height), (0.18, 0.46 - mast_height), (0, 0.5 - mast_height)), "red", 0.3),
    ]
    return parts


@register_class("canoe", family=FAMILY, split="unseen", imagenet=(472,))
def canoe(vary: Variation) -> list[Part]:
    """long pointed shell, seats, paddle"""
    gunwale_y, keel_y = vary.jitter(0.1, 0.3), vary.jitter(0.38, 0.08)
    shell = spline(
        [
            (-1.0, gunwale_y - 0.18),
            (0, gunwale_y + 0.02),
            (1.0, gunwale_y - 0.18),
            (0.6, keel_y - 0.05),
            (0, keel_y),
            (-0.6, keel_y - 0.05),
        ],
        closed=True,
        n=6,
    )
    parts = waves(0.45, vary) + [
        shape(shell, "wood_hull"),
        shape(
            spline([(-0.9, gunwale_y - 0.15), (0, gunwale_y + 0.08), (0.9, gunwale_y - 0.15), (0, gunwale_y + 0.02)], closed=True, n=6),
            "interior",
            0.5,
        ),
    ]
    for x in (-0.35, 0.35):
        parts.append(stroke(line((x, gunwale_y + 0.01), (x, gunwale_y + 0.1)), "dark", 0.02, 0.3))
    if vary.chance(0.7):
        paddle_tilt = vary.uniform(-0.2, 0.2)
        paddle_grip, paddle_blade = rotate(polygon((-0.1, -0.75), (0.25, 0.3)), paddle_tilt)
        parts += [
            stroke(line(paddle_grip, paddle_blade), "wood", 0.04, 0.7),
            shape(
                ellipse(
                    *(paddle_blade + (paddle_blade - paddle_grip) * 0.15),
                    0.08,
                    0.2,
                    rot=math.atan2(*(paddle_blade - paddle_grip)[::-1]) - math.pi / 2,
                ),
                "wood",
                0.7,
            ),
        ]
    return parts


@register_class("steamship", family=FAMILY, split="unseen", imagenet=(510, 628))
def steamship(vary: Variation) -> list[Part]:
    """long hull, superstructure, funnels, portholes"""
    parts = waves(0.62, vary)
    funnels = vary.integer(1, 3)
    for k in range(funnels):
        x = -0.35 + k * 0.3
        parts += [
            shape(blob(x - 0.15, -0.8, 0.16, 0.08, 4, 0.3), "smoke", 0.25),
            shape(trapezoid(x, -0.72, -0.15, 0.18, 0.15), "funnel"),
            shape(trapezoid(x, -0.72, -0.62, 0.18, 0.178), "dark", 0.4),
        ]
    parts += [
        shape(rectangle(-0.15, -0.1, vary.jitter(0.6, 0.1), 0.2), "paint_white", 0.7),
        shape(rectangle(-0.1, 0.1, 1.0, 0.26), "paint_white"),
        shape(polygon((-0.92, 0.22), (0.98, 0.12), (0.78, 0.58), (-0.85, 0.58)), "hull"),
        shape(polygon((-0.87, 0.48), (0.82, 0.48), (0.78, 0.58), (-0.85, 0.58)), "red", 0.4),
    ]
    for k in range(7):
        parts.append(shape(ellipse(-0.65 + k * 0.22, 0.32, 0.035, 0.035), "window", 0.3))
    parts.append(stroke(line((-0.55, 0.06), (0.35, 0.06)), "dark", 0.02, 0.3))
    return parts
