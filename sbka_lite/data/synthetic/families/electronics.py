"""Electronics (seen: computer mouse, television, laptop)."""

from __future__ import annotations

import math

from ..geometry import Part, Variation, ellipse, line, polygon, rectangle, shape, spline, stroke, transform_parts, trapezoid
from ..registry import register_class

FAMILY = "electronics"


@register_class("mouse (computer)", family=FAMILY, split="seen", imagenet=(673,))
def mouse_computer(vary: Variation) -> list[Part]:
    """egg-shaped body, button split, scroll wheel, cable"""
    half_width = vary.jitter(0.5, 0.08)
    parts = [
        stroke(spline([(0, -0.84), (0.05, -1.0), (0.35, -1.05), (0.6, -0.95), (0.9, -1.0)], n=6), "dark", 0.035, 0.5),
        shape(
            spline(
                [(0, -0.85), (half_width * 0.9, -0.5), (half_width, 0.3), (0, 0.85), (-half_width, 0.3), (-half_width * 0.9, -0.5)],
                closed=True,
            ),
            "plastic",
        ),
        stroke(line((0, -0.85), (0, -0.2)), "dark", 0.015, 0.6),
        stroke(spline([(-half_width * 0.96, -0.18), (0, -0.22), (half_width * 0.96, -0.18)], n=4), "dark", 0.015, 0.5),
        shape(rectangle(0, -0.52, 0.1, 0.2, rounded=0.04), "dark", 0.6),
    ]
    return transform_parts(parts, angle=vary.uniform(-0.4, 0.4))


@register_class("television", family=FAMILY, split="seen", imagenet=(851, 664, 782))
def television(vary: Variation) -> list[Part]:
    """framed screen on a stand or with antennas"""
    width, height = vary.jitter(1.7, 0.06), vary.jitter(1.15, 0.08)
    is_crt = vary.chance(0.35)
    parts = []
    if is_crt:
        antenna_spread = vary.uniform(0.3, 0.6)
        for side in (-1, 1):
            parts.append(
                stroke(
                    line((0, -height / 2), (side * math.sin(antenna_spread) * 0.6, -height / 2 - math.cos(antenna_spread) * 0.6)),
                    "dark",
                    0.025,
                    0.6,
                )
            )
    else:
        parts += [
            shape(trapezoid(0, height / 2 - 0.05, 0.78, 0.15, 0.3), "plastic_dark", 0.7),
            shape(rectangle(0, 0.82, 0.7, 0.08, rounded=0.03), "plastic_dark", 0.7),
        ]
    parts += [
        shape(rectangle(0, 0, width, height, rounded=0.08), "plastic_dark"),
        shape(rectangle(-0.12 if is_crt else 0, -0.02, width * (0.72 if is_crt else 0.88), height * 0.82, rounded=0.05), "screen"),
    ]
    if is_crt:
        parts += [
            shape(ellipse(width * 0.38, -0.2, 0.07, 0.07), "metal", 0.4),
            shape(ellipse(width * 0.38, 0.05, 0.07, 0.07), "metal", 0.4),
        ]
    return parts


@register_class("laptop", family=FAMILY, split="seen", imagenet=(620, 681))
def laptop(vary: Variation) -> list[Part]:
    """open lid with screen over a keyboard base"""
    lid_height = vary.jitter(0.95, 0.08)
    parts = [
        shape(polygon((-0.7, 0.15), (-0.62, 0.15 - lid_height), (0.62, 0.15 - lid_height), (0.7, 0.15)), "plastic"),
        shape(polygon((-0.62, 0.1), (-0.56, 0.2 - lid_height), (0.56, 0.2 - lid_height), (0.62, 0.1)), "screen", 0.9),
        shape(polygon((-0.7, 0.15), (0.7, 0.15), (0.95, 0.62), (-0.95, 0.62)), "plastic"),
        shape(polygon((-0.64, 0.2), (0.64, 0.2), (0.74, 0.4), (-0.74, 0.4)), "plastic_dark", 0.6),
        shape(polygon((-0.16, 0.45), (0.16, 0.45), (0.18, 0.58), (-0.18, 0.58)), "plastic_dark", 0.4),
    ]
    for k in range(1, 3):
        y = 0.2 + k * 0.066
        parts.append(stroke(line((-0.64 - k * 0.033, y), (0.64 + k * 0.033, y)), "dark", 0.01, 0.25))
    return parts
