"""Hand tools, drawn upright and then tilted (seen: hammer, screwdriver, wrench, shovel, axe, paintbrush)."""

from __future__ import annotations

import math

import numpy as np

from ..geometry import Part, Variation, ellipse, line, polygon, rectangle, shape, spline, stroke, tilt, tube
from ..registry import register_class

FAMILY = "tools"


@register_class("hammer", family=FAMILY, split="seen", imagenet=(587,))
def hammer(vary: Variation) -> list[Part]:
    """handle with a metal head and claw"""
    handle_length = vary.jitter(1.3, 0.08)
    parts = [shape(rectangle(0, 0.9 - handle_length / 2, 0.14, handle_length, rounded=0.05), "wood")]
    if vary.chance(0.5):
        parts.append(shape(rectangle(0, 0.7, 0.17, 0.4, rounded=0.06), "rubber", 0.5))
    head_y, head_length = 0.88 - handle_length, vary.jitter(0.42, 0.1)
    parts += [
        shape(polygon((-head_length, head_y - 0.1), (0.1, head_y - 0.11), (0.1, head_y + 0.11), (-head_length, head_y + 0.1)), "metal"),
        shape(rectangle(-head_length - 0.04, head_y, 0.08, 0.26, rounded=0.02), "metal", 0.8),
        shape(
            spline(
                [(0.08, head_y - 0.11), (0.3, head_y - 0.08), (0.5, head_y + 0.12), (0.35, head_y + 0.02), (0.08, head_y + 0.08)],
                closed=True,
                n=4,
            ),
            "metal",
            0.9,
        ),
    ]
    return tilt(parts, vary)


@register_class("screwdriver", family=FAMILY, split="seen", imagenet=(784,))
def screwdriver(vary: Variation) -> list[Part]:
    """grooved handle, thin shaft, flat tip"""
    handle_width = vary.jitter(0.28, 0.1)
    parts = [
        shape(rectangle(0, 0.5, handle_width, 0.78, rounded=handle_width / 2.2), "plastic"),
        shape(rectangle(0, 0.08, handle_width * 0.6, 0.1), "metal", 0.6),
        shape(rectangle(0, -0.35, 0.07, 0.8), "metal"),
        shape(polygon((-0.035, -0.75), (0.035, -0.75), (0.02, -0.9), (-0.02, -0.9)), "metal", 0.6),
    ]
    for x in (-handle_width / 4, 0, handle_width / 4):
        parts.append(stroke(line((x, 0.25), (x, 0.75)), "dark", 0.012, 0.3))
    return tilt(parts, vary)


@register_class("wrench", family=FAMILY, split="seen")
def wrench(vary: Variation) -> list[Part]:
    """bar with an open jaw and a ring end"""
    jaw_radius, jaw_y = vary.jitter(0.3, 0.08), -0.72
    jaw_opening = vary.uniform(0.5, 0.65)
    jaw = np.concatenate(
        [
            ellipse(0, jaw_y, jaw_radius, jaw_radius, -math.pi / 2 + jaw_opening, 1.5 * math.pi - jaw_opening, n=20),
            [(-0.08, jaw_y - jaw_radius * 0.55), (-0.08, jaw_y - 0.02), (0.08, jaw_y - 0.02), (0.08, jaw_y - jaw_radius * 0.55)],
        ]
    )
    parts = [
        shape(rectangle(0, 0.0, 0.18, 1.3, rounded=0.06), "metal"),
        shape(jaw, "metal"),
        shape(ellipse(0, 0.72, 0.24, 0.24), "metal", 0.8),
        shape(ellipse(0, 0.72, 0.12, 0.12), "interior", 0.6),
    ]
    return tilt(parts, vary)


@register_class("shovel", family=FAMILY, split="seen", imagenet=(792,))
def shovel(vary: Variation) -> list[Part]:
    """long handle with D-grip and a pointed blade"""
    parts = [
        shape(rectangle(0, -0.2, 0.09, 1.2), "wood"),
        stroke(ellipse(0, -0.9, 0.17, 0.11), "plastic", 0.05, 0.7, closed=True),
        shape(spline([(-0.3, 0.36), (0.3, 0.36), (0.33, 0.7), (0, vary.jitter(1.0, 0.05)), (-0.33, 0.7)], closed=True, n=5), "metal"),
        shape(rectangle(0, 0.35, 0.14, 0.12), "metal", 0.5),
    ]
    return tilt(parts, vary, 0.3, 0.6)


@register_class("axe", family=FAMILY, split="seen", imagenet=(596,))
def axe(vary: Variation) -> list[Part]:
    """curved handle with a wedge blade"""
    blade_reach = vary.jitter(0.55, 0.12)
    parts = [
        shape(tube([(-0.05, 0.9), (0.05, 0.0), (0, -0.82)], 0.12), "wood"),
        shape(
            np.concatenate(
                [
                    polygon((-0.1, -0.86), (-0.1, -0.58), (blade_reach * 0.5, -0.6)),
                    ellipse(blade_reach, -0.72, 0.08, 0.22, math.pi / 2, -math.pi / 2, n=10),
                    polygon((blade_reach * 0.5, -0.85)),
                ]
            ),
            "metal",
        ),
        stroke(ellipse(blade_reach, -0.72, 0.06, 0.18, 1.2, -1.2, n=8), "paint_white", 0.02, 0.25),
    ]
    return tilt(parts, vary)


@register_class("paintbrush", family=FAMILY, split="seen", imagenet=(696,))
def paintbrush(vary: Variation) -> list[Part]:
    """tapered handle, ferrule, bristles with paint"""
    parts = [
        shape(tube([(0, 0.95), (0, 0.05)], 0.08, 0.14), "plastic"),
        shape(rectangle(0, -0.04, 0.16, 0.2), "metal", 0.8),
        shape(polygon((-0.08, -0.14), (-0.1, -0.55), (0, vary.jitter(-0.78, 0.05)), (0.1, -0.55), (0.08, -0.14)), "bristle"),
        shape(polygon((-0.1, -0.5), (0, vary.jitter(-0.78, 0.02)), (0.1, -0.5)), "paint", 0.5),
    ]
    return tilt(parts, vary)
