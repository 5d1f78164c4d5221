"""Containers (seen: coffee mug, vase, bottle, wine glass, bucket; unseen: teapot): turned profiles, handles, openings."""

from __future__ import annotations

import math

import numpy as np

from ..geometry import Part, Variation, TAU, ellipse, line, profile, rectangle, shape, spline, stroke, trapezoid, tube
from ..registry import register_class

FAMILY = "containers"


def handle_loop(x0, y0, y1, reach, width, material) -> Part:
    """A mug/teapot handle: a band bulging sideways by `reach` from (x0, y0) to (x0, y1)."""
    side = np.sign(reach)
    mid = (y0 + y1) / 2
    return shape(
        tube(
            [
                (x0 - side * 0.05, y0),
                (x0 + reach * 0.8, y0 + 0.05),
                (x0 + reach, mid),
                (x0 + reach * 0.8, y1 - 0.05),
                (x0 - side * 0.05, y1),
            ],
            width,
        ),
        material,
    )


@register_class("coffee mug", family=FAMILY, split="seen", imagenet=(504, 968))
def coffee_mug(vary: Variation) -> list[Part]:
    """cylinder with handle loop and opening"""
    half_width, top, bottom = vary.jitter(0.45, 0.1), vary.jitter(-0.5, 0.2), 0.85
    parts = [
        handle_loop(half_width - 0.02, top + 0.25, bottom - 0.2, vary.jitter(0.38), 0.1, "ceramic"),
        shape(
            profile(
                0,
                [
                    (top, half_width),
                    ((top + bottom) / 2, half_width * vary.uniform(0.96, 1.02)),
                    (bottom - 0.03, half_width * vary.uniform(0.9, 1.0)),
                    (bottom, half_width * 0.85),
                ],
            ),
            "ceramic",
        ),
        shape(ellipse(0, top, half_width, 0.08), "interior", 0.7),
    ]
    if vary.chance(0.4):
        parts.append(shape(rectangle(0, (top + bottom) / 2, half_width * 1.95, 0.12), "accent", 0.3))
    for k in range(vary.integer(0, 2)):
        x = (k - 0.5) * 0.22
        parts.append(
            stroke(
                spline([(x, top - 0.15), (x + 0.07, top - 0.3), (x - 0.05, top - 0.45), (x + 0.04, top - 0.6)], n=5), "smoke", 0.025, 0.2
            )
        )
    return parts


@register_class("vase", family=FAMILY, split="seen", imagenet=(883,))
def vase(vary: Variation) -> list[Part]:
    """turned body with belly, neck and bands"""
    belly, neck, belly_y = vary.jitter(0.45, 0.15), vary.jitter(0.14, 0.2), vary.uniform(0.05, 0.35)
    rows = [
        (-0.85, neck * 1.3),
        (-0.65, neck),
        (-0.4, neck * 1.05),
        (belly_y - 0.3, belly * 0.85),
        (belly_y, belly),
        (0.6, belly * 0.7),
        (0.85, neck * 1.4),
    ]
    parts = [shape(profile(0, rows), "ceramic"), shape(ellipse(0, -0.85, neck * 1.3, 0.04), "interior", 0.5)]
    for y in (belly_y - 0.15, belly_y + 0.12):
        parts.append(stroke(line((-belly * 0.93, y), (belly * 0.93, y)), "accent", 0.03, 0.3))
    return parts


@register_class("bottle", family=FAMILY, split="seen", imagenet=(440, 737, 898, 907))
def bottle(vary: Variation) -> list[Part]:
    """glass cylinder, shoulder, neck, cap, label"""
    half_width, neck_half_width, shoulder_y = vary.jitter(0.27, 0.1), vary.jitter(0.09, 0.1), vary.uniform(-0.2, 0.0)
    parts = [
        shape(
            profile(
                0,
                [
                    (-0.78, neck_half_width),
                    (-0.4, neck_half_width * 1.05),
                    (shoulder_y, half_width * 0.95),
                    (shoulder_y + 0.15, half_width),
                    (0.85, half_width),
                ],
            ),
            "glass",
        ),
        shape(rectangle(0, -0.82, neck_half_width * 2.3, 0.1, rounded=0.02), "cap", 0.7),
    ]
    if vary.chance(0.8):
        parts.append(shape(rectangle(0, 0.38, half_width * 2, vary.jitter(0.4)), "label", 0.6))
    return parts


@register_class("wine glass", family=FAMILY, split="seen", imagenet=(572, 966))
def wine_glass(vary: Variation) -> list[Part]:
    """bowl on a thin stem and foot, wine inside"""
    rim_radius, bowl_depth = vary.jitter(0.38, 0.1), vary.jitter(0.7, 0.12)
    top = -0.85
    bottom = top + bowl_depth
    parts = [
        shape(ellipse(0, 0.86, vary.jitter(0.3), 0.06), "glassware"),
        shape(rectangle(0, (bottom + 0.86) / 2, 0.05, 0.86 - bottom), "glassware"),
        shape(
            profile(
                0,
                [
                    (top, rim_radius),
                    (top + bowl_depth * 0.45, rim_radius * 1.02),
                    (top + bowl_depth * 0.85, rim_radius * 0.55),
                    (bottom, 0.04),
                ],
            ),
            "glassware",
        ),
    ]
    if vary.chance(0.7):
        wine_level = top + bowl_depth * vary.uniform(0.35, 0.55)
        parts.append(
            shape(
                profile(0, [(wine_level, rim_radius * 0.98), (top + bowl_depth * 0.8, rim_radius * 0.6), (bottom - 0.02, 0.04)]),
                "wine",
                0.5,
            )
        )
    parts.append(stroke(ellipse(0, top, rim_radius, 0.05), "glassware", 0.02, 0.5, closed=True))
    return parts


@register_class("bucket", family=FAMILY, split="seen", imagenet=(463,))
def bucket(vary: Variation) -> list[Part]:
    """tapered pail with bands and an arched handle"""
    top_half_width, bottom_half_width, top = vary.jitter(0.55, 0.08), vary.jitter(0.4, 0.08), vary.jitter(-0.35, 0.15)
    parts = [
        stroke(
            spline(
                [
                    (-top_half_width, top),
                    (-top_half_width * 0.7, top - 0.45),
                    (0, top - 0.6),
                    (top_half_width * 0.7, top - 0.45),
                    (top_half_width, top),
                ],
                n=6,
            ),
            "metal",
            0.035,
            0.7,
        ),
        shape(trapezoid(0, top, 0.85, 2 * top_half_width, 2 * bottom_half_width), "pail"),
        shape(ellipse(0, top, top_half_width, 0.08), "interior", 0.7),
    ]
    for fraction in (0.25, 0.75):
        y = top + fraction * (0.85 - top)
        half_width = top_half_width + (bottom_half_width - top_half_width) * fraction
        parts.append(stroke(line((-half_width, y), (half_width, y)), "dark", 0.025, 0.4))
    return parts


@register_class("teapot", family=FAMILY, split="unseen", imagenet=(849,))
def teapot(vary: Variation) -> list[Part]:
    """round body, lid with knob, spout and handle"""
    belly_radius, lid_y = vary.jitter(0.6, 0.1), -0.32
    parts = [
        shape(tube([(belly_radius * 0.7, 0.35), (belly_radius + 0.15, 0.1), (belly_radius + 0.3, -0.25)], 0.2, 0.07), "ceramic", 0.9),
        handle_loop(-belly_radius + 0.1, -0.15, 0.5, -vary.jitter(0.38), 0.1, "ceramic"),
        shape(
            profile(
                0,
                [(lid_y, 0.28), (-0.15, belly_radius * 0.85), (0.2, belly_radius), (0.55, belly_radius * 0.85), (0.8, belly_radius * 0.5)],
            ),
            "ceramic",
        ),
        shape(ellipse(0, lid_y, 0.3, 0.16, math.pi, TAU), "ceramic", 0.7),
        shape(ellipse(0, lid_y - 0.19, 0.07, 0.06), "ceramic", 0.5),
    ]
    return parts
