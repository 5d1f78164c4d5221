"""String instruments, tilted: a family with no seen member at all (unseen: acoustic guitar, violin)."""

from __future__ import annotations

from ..geometry import Part, Variation, ellipse, line, profile, rectangle, shape, spline, stroke, tilt, trapezoid
from ..registry import register_class

FAMILY = "instruments"


@register_class("acoustic guitar", family=FAMILY, split="unseen", imagenet=(402,))
def guitar(vary: Variation) -> list[Part]:
    """figure-eight body with sound hole, long neck, headstock"""
    lower_bout, upper_bout = vary.jitter(0.44, 0.06), vary.jitter(0.33, 0.06)
    parts = [
        shape(rectangle(0, -0.45, 0.12, 0.72), "wood_dark"),
        shape(rectangle(0, -0.86, 0.2, 0.24, rounded=0.04), "wood_dark", 0.8),
        shape(
            profile(
                0,
                [
                    (-0.12, 0.16),
                    (0.0, upper_bout),
                    (0.2, upper_bout * 0.95),
                    (0.32, upper_bout * 0.72),
                    (0.5, lower_bout * 0.9),
                    (0.7, lower_bout),
                    (0.88, lower_bout * 0.75),
                    (0.97, 0.1),
                ],
            ),
            "wood_light",
        ),
        shape(ellipse(0, 0.3, 0.12, 0.12), "dark", 0.8),
        shape(rectangle(0, 0.72, 0.28, 0.06), "dark", 0.5),
    ]
    for k in range(3):
        for side in (-1, 1):
            parts.append(shape(ellipse(side * 0.14, -0.92 + k * 0.08, 0.03, 0.025), "metal", 0.25))
    for x in (-0.03, 0.0, 0.03):
        parts.append(stroke(line((x, 0.72), (x * 1.5, -0.8)), "metal", 0.006, 0.3))
    return tilt(parts, vary, 0.2, 0.6)


@register_class("violin", family=FAMILY, split="unseen", imagenet=(889,))
def violin(vary: Variation) -> list[Part]:
    """waisted body with f-holes, dark fingerboard, scroll"""
    lower_bout, upper_bout = vary.jitter(0.36, 0.06), vary.jitter(0.29, 0.06)
    parts = [
        shape(rectangle(0, -0.5, 0.08, 0.5), "wood_light"),
        shape(ellipse(0, -0.8, 0.08, 0.08), "wood_light", 0.8),
        stroke(ellipse(0.0, -0.8, 0.04, 0.04, 0, 4.5), "dark", 0.015, 0.4),
        shape(rectangle(0, -0.68, 0.08, 0.16), "wood_dark", 0.5),
        shape(
            profile(
                0,
                [
                    (-0.25, 0.08),
                    (-0.18, upper_bout),
                    (0.0, upper_bout),
                    (0.12, upper_bout * 0.55),
                    (0.28, upper_bout * 0.55),
                    (0.42, lower_bout),
                    (0.7, lower_bout * 0.98),
                    (0.86, 0.08),
                ],
            ),
            "wood_light",
        ),
        shape(trapezoid(0, -0.5, 0.3, 0.06, 0.1), "wood_dark", 0.8),
        shape(trapezoid(0, 0.5, 0.8, 0.16, 0.06), "wood_dark", 0.5),
    ]
    for side in (-1, 1):
        parts.append(
            stroke(spline([(side * 0.13, 0.1), (side * 0.16, 0.2), (side * 0.12, 0.32), (side * 0.15, 0.42)], n=4), "dark", 0.02, 0.5)
        )
    if vary.chance(0.4):
        parts.append(stroke(line((-0.6, 0.85), (0.7, -0.3)), "wood_dark", 0.025, 0.5))
    return tilt(parts, vary, 0.2, 0.55)
