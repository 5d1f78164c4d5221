"""Lamps (seen: table, floor and street lamps, candle; unseen: lantern): a light source on a stand."""

from __future__ import annotations

import math

from ..geometry import Part, Variation, TAU, ellipse, line, profile, rectangle, shape, spline, stroke, teardrop, trapezoid, tube
from ..registry import register_class

FAMILY = "lamps"


@register_class("table lamp", family=FAMILY, split="seen", imagenet=(846, 619))
def table_lamp(vary: Variation) -> list[Part]:
    """shade over a short stem and base"""
    shade_top_width, shade_bottom_width = vary.jitter(0.55, 0.15), vary.jitter(1.1, 0.08)
    parts = [shape(ellipse(0, -0.05, 0.12, 0.1), "light", 0.3), shape(rectangle(0, 0.42, 0.08, 0.95), "brass")]
    if vary.chance(0.5):
        parts.append(shape(profile(0, [(0.3, 0.08), (0.55, 0.3), (0.75, 0.25), (0.9, 0.16)]), "ceramic"))
    else:
        parts.append(shape(ellipse(0, 0.86, 0.38, 0.08), "brass"))
    parts.append(shape(trapezoid(0, -0.75, -0.1, shade_top_width, shade_bottom_width), "fabric"))
    if vary.chance(0.4):
        parts.append(stroke(line((0.15, -0.1), (0.15, 0.15)), "dark", 0.012, 0.2))
    return parts


@register_class("floor lamp", family=FAMILY, split="seen", imagenet=(619,))
def floor_lamp(vary: Variation) -> list[Part]:
    """small shade on a tall pole with a base disc"""
    parts = [shape(ellipse(0, 0.91, 0.34, 0.06), "metal")]
    if vary.chance(0.3):  # arc lamp: curved pole, hanging shade
        parts += [
            stroke(spline([(0, 0.9), (0.05, -0.6), (0.5, -0.85), (0.75, -0.6)], n=8), "metal", 0.05),
            shape(trapezoid(0.75, -0.62, -0.3, 0.2, 0.5), "fabric"),
        ]
    else:
        parts += [
            shape(rectangle(0, 0.15, 0.05, 1.5), "metal"),
            shape(trapezoid(0, -0.95, -0.55, vary.jitter(0.3), vary.jitter(0.6, 0.1)), "fabric"),
        ]
    return parts


@register_class("street lamp", family=FAMILY, split="seen")
def street_lamp(vary: Variation) -> list[Part]:
    """tall pole with a curved arm and a lamp head"""
    side = vary.sign()
    parts = [
        shape(trapezoid(0, 0.72, 0.92, 0.16, 0.26), "dark_metal", 0.6),
        shape(tube([(0, 0.92), (0, -0.7)], 0.09, 0.06), "dark_metal"),
        shape(tube([(0, -0.68), (side * 0.15, -0.9), (side * 0.45, -0.86)], 0.05), "dark_metal"),
    ]
    head_x = side * 0.48
    parts += [shape(trapezoid(head_x, -0.86, -0.7, 0.12, 0.34), "dark_metal"), shape(ellipse(head_x, -0.69, 0.15, 0.05), "light", 0.6)]
    return parts


@register_class("candle", family=FAMILY, split="seen", imagenet=(470,))
def candle(vary: Variation) -> list[Part]:
    """wax cylinder, wick, flame, holder"""
    width, wax_top = vary.jitter(0.3, 0.12), vary.jitter(-0.15, 0.5)
    parts = []
    if vary.chance(0.6):
        parts += [stroke(ellipse(0.55, 0.8, 0.12, 0.1), "brass", 0.04, 0.3, closed=True), shape(ellipse(0, 0.86, 0.5, 0.09), "brass", 0.7)]
    parts += [
        shape(rectangle(0, (wax_top + 0.84) / 2, width, 0.84 - wax_top, rounded=0.03), "wax"),
        shape(ellipse(0, wax_top, width / 2, 0.04), "wax", 0.3),
    ]
    for _ in range(vary.integer(0, 2)):
        x = vary.uniform(-width / 2, width / 2)
        parts.append(shape(tube([(x, wax_top), (x, wax_top + vary.uniform(0.1, 0.3))], 0.05, 0.07), "wax", 0.3))
    parts += [
        stroke(line((0, wax_top), (0, wax_top - 0.12)), "dark", 0.02, 0.6),
        shape(teardrop(0, wax_top - 0.22, 0.16, vary.jitter(0.32)), "flame"),
        shape(teardrop(0, wax_top - 0.2, 0.07, 0.14), "light", 0.3),
    ]
    return parts


@register_class("lantern", family=FAMILY, split="unseen")
def lantern(vary: Variation) -> list[Part]:
    """glass box in a frame with cap, ring handle and flame"""
    width, height = vary.jitter(0.6, 0.1), vary.jitter(1.0, 0.1)
    top, bottom = 0.62 - height, 0.62
    parts = [
        stroke(ellipse(0, top - 0.2, 0.18, 0.2, math.pi, TAU), "dark_metal", 0.04, 0.6),
        shape(trapezoid(0, top - 0.18, top, 0.3, width + 0.1), "dark_metal"),
        shape(rectangle(0, (top + bottom) / 2, width, height), "glassware"),
        shape(rectangle(0, bottom - 0.12, 0.14, 0.24), "wax", 0.4),
        shape(teardrop(0, bottom - 0.38, 0.16, 0.3), "flame", 0.8),
        shape(rectangle(0, bottom + 0.07, width + 0.12, 0.14), "dark_metal"),
    ]
    for x in (-width / 2, -width / 6, width / 6, width / 2):
        parts.append(stroke(line((x, top), (x, bottom)), "dark_metal", 0.03, 0.8 if abs(x) > width / 3 else 0.4))
    return parts
