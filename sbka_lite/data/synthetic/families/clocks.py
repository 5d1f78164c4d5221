"""Clocks (seen: alarm clock, wall clock, stopwatch): a round dial with ticks and hands."""

from __future__ import annotations

import math

import numpy as np

from ..geometry import Part, Variation, TAU, ellipse, line, rectangle, rotate, shape, stroke, tube
from ..registry import register_class

FAMILY = "clocks"


def ticks(cx, cy, inner, outer, count, material="dark", width=0.03, importance=0.3) -> list[Part]:
    """`count` evenly spaced marks between radii `inner` and `outer` round (cx, cy)."""
    return [
        stroke(
            line(
                (cx + inner * math.cos(angle), cy + inner * math.sin(angle)), (cx + outer * math.cos(angle), cy + outer * math.sin(angle))
            ),
            material,
            width,
            importance,
        )
        for angle in np.linspace(0, TAU, count, endpoint=False)
    ]


def clock_hands(cx, cy, radius, vary: Variation) -> list[Part]:
    """An hour and a minute hand at random times, and the pin that holds them."""
    hour_angle, minute_angle = vary.uniform(0, TAU), vary.uniform(0, TAU)
    return [
        stroke(line((cx, cy), (cx + 0.5 * radius * math.cos(hour_angle), cy + 0.5 * radius * math.sin(hour_angle))), "dark", 0.055, 0.9),
        stroke(line((cx, cy), (cx + 0.8 * radius * math.cos(minute_angle), cy + 0.8 * radius * math.sin(minute_angle))), "dark", 0.04, 0.9),
        shape(ellipse(cx, cy, 0.05, 0.05), "dark", 0.4),
    ]


@register_class("alarm clock", family=FAMILY, split="seen", imagenet=(409,))
def alarm_clock(vary: Variation) -> list[Part]:
    """round dial with two bells on top and legs"""
    radius = vary.jitter(0.68, 0.06)
    parts = [stroke(ellipse(0, -0.72, 0.2, 0.15, math.pi, TAU), "metal", 0.035, 0.3)]
    for side in (-1, 1):
        parts += [
            shape(ellipse(side * 0.45, -0.62, 0.24, 0.24, math.pi, TAU, rot=side * 0.6), "brass", 0.9),
            shape(tube([(side * 0.35, 0.6), (side * 0.5, 0.88)], 0.08), "metal", 0.6),
        ]
    parts += [
        stroke(line((0, -0.7), (0, -0.95)), "metal", 0.03, 0.35),
        shape(ellipse(0, 0.05, radius, radius), "clock_body"),
        shape(ellipse(0, 0.05, radius * 0.84, radius * 0.84), "clock_face"),
    ]
    return parts + ticks(0, 0.05, radius * 0.68, radius * 0.78, 12) + clock_hands(0, 0.05, radius * 0.8, vary)


@register_class("wall clock", family=FAMILY, split="seen", imagenet=(892, 409))
def wall_clock(vary: Variation) -> list[Part]:
    """framed dial with twelve ticks and hands"""
    radius = vary.jitter(0.9, 0.05)
    frame = rectangle(0, 0, 2 * radius, 2 * radius, rounded=0.25) if vary.chance(0.25) else ellipse(0, 0, radius, radius)
    parts = [shape(frame, "wood"), shape(ellipse(0, 0, radius * 0.85, radius * 0.85), "clock_face")]
    parts += ticks(0, 0, radius * 0.68, radius * 0.8, 12, importance=0.4) + clock_hands(0, 0, radius * 0.78, vary)
    second_hand_angle = vary.uniform(0, TAU)
    parts.append(
        stroke(line((0, 0), (0.7 * radius * math.cos(second_hand_angle), 0.7 * radius * math.sin(second_hand_angle))), "red", 0.015, 0.3)
    )
    return parts


@register_class("stopwatch", family=FAMILY, split="seen", imagenet=(826,))
def stopwatch(vary: Variation) -> list[Part]:
    """round case with crown button, sub-dial, one hand"""
    radius = vary.jitter(0.72, 0.05)
    parts = [
        stroke(ellipse(0, -0.93, 0.13, 0.08), "metal", 0.04, 0.5, closed=True),
        shape(rectangle(0, -0.75, 0.16, 0.2), "metal", 0.9),
        shape(rotate(rectangle(0, -0.8, 0.12, 0.14), 0.8, (0, 0.1)), "metal", 0.5),
        shape(ellipse(0, 0.1, radius, radius), "metal"),
        shape(ellipse(0, 0.1, radius * 0.86, radius * 0.86), "clock_face"),
        shape(ellipse(0, 0.38, 0.13, 0.13), "clock_face", 0.3),
        stroke(ellipse(0, 0.38, 0.13, 0.13), "dark", 0.015, 0.3, closed=True),
    ]
    hand_angle = vary.uniform(0, TAU)
    parts += ticks(0, 0.1, radius * 0.72, radius * 0.82, 12, importance=0.3)
    parts += [
        stroke(line((0, 0.1), (0.8 * radius * math.cos(hand_angle), 0.1 + 0.8 * radius * math.sin(hand_angle))), "red", 0.03, 0.9),
        shape(ellipse(0, 0.1, 0.05, 0.05), "dark", 0.4),
    ]
    return parts
