"""Vehicles seen from the side (seen: car, bus, truck, tractor, steam locomotive; unseen: ambulance), all on `wheel`s."""

from __future__ import annotations

import math

from ..geometry import Part, Variation, TAU, blob, ellipse, line, polygon, rectangle, shape, spline, stroke, trapezoid
from ..registry import register_class

FAMILY = "vehicles"


def wheel(cx, cy, radius, hub="metal") -> list[Part]:
    """A tyre with a hub of material `hub`."""
    return [shape(ellipse(cx, cy, radius, radius), "rubber"), shape(ellipse(cx, cy, radius * 0.5, radius * 0.5), hub, 0.55)]


@register_class("car", family=FAMILY, split="seen", imagenet=(436, 468, 511, 817))
def car(vary: Variation) -> list[Part]:
    """low body, cabin with two side windows, two wheels"""
    length, roof_y, cabin_back = vary.jitter(1.8, 0.06), vary.jitter(-0.05, 0.5) - 0.05, vary.uniform(-0.6, -0.45)
    cabin_front = vary.uniform(0.25, 0.4)
    cabin = spline([(cabin_back - 0.1, 0.32), (cabin_back + 0.15, roof_y), (cabin_front - 0.1, roof_y), (cabin_front + 0.15, 0.32)], n=4)
    parts = [shape(cabin, "body"), shape(rectangle(0, 0.45, length, 0.32, rounded=0.09), "body")]
    parts += [
        shape(polygon((cabin_back, 0.28), (cabin_back + 0.17, roof_y + 0.06), (-0.06, roof_y + 0.06), (-0.06, 0.28)), "window", 0.7),
        shape(polygon((0.0, 0.28), (0.0, roof_y + 0.06), (cabin_front - 0.12, roof_y + 0.06), (cabin_front + 0.07, 0.28)), "window", 0.7),
    ]
    parts += wheel(-length * 0.3, 0.65, vary.jitter(0.2, 0.08)) + wheel(length * 0.3, 0.65, vary.jitter(0.2, 0.08))
    parts += [
        shape(ellipse(length / 2 - 0.06, 0.38, 0.05, 0.04), "light", 0.4),
        shape(ellipse(-length / 2 + 0.04, 0.38, 0.03, 0.04), "red", 0.3),
        stroke(line((-0.03, 0.3), (-0.03, 0.55)), "dark", 0.012, 0.3),
    ]
    return parts


@register_class(
    "bus",
    family=FAMILY,
    split="seen",
    imagenet=(654, 779, 874),
    palette=dict(body=((230, 180, 30), (200, 40, 40), (40, 90, 170), (235, 235, 230))),
)
def bus(vary: Variation) -> list[Part]:
    """long box with a row of windows, two wheels"""
    length, height = vary.jitter(1.9, 0.04), vary.jitter(0.85)
    top = 0.74 - height
    parts = [shape(rectangle(0, top + height / 2 - 0.04, length, height, rounded=0.1), "body")]
    windows = vary.integer(4, 6)
    window_span = length * 0.72
    window_width = window_span / windows * 0.8
    for k in range(windows):
        parts.append(
            shape(
                rectangle(-length / 2 + 0.12 + window_width / 2 + k * window_span / windows, top + 0.2, window_width, 0.22, rounded=0.02),
                "window",
                0.6,
            )
        )
    parts += [
        shape(rectangle(length / 2 - 0.1, top + 0.27, 0.14, 0.4), "window", 0.7),
        shape(rectangle(length / 2 - 0.32, top + height * 0.55, 0.16, height * 0.6), "window", 0.5),
        shape(rectangle(0, top + height * 0.62, length * 0.95, 0.06), "red", 0.35),
    ]
    parts += wheel(-length * 0.3, 0.74, 0.17) + wheel(length * 0.3, 0.74, 0.17)
    parts.append(shape(ellipse(length / 2 - 0.04, top + height * 0.8, 0.04, 0.04), "light", 0.3))
    return parts


@register_class("truck", family=FAMILY, split="seen", imagenet=(675, 867))
def truck(vary: Variation) -> list[Part]:
    """cab and cargo box, three wheels"""
    cab_height, box_length = vary.jitter(0.6), vary.jitter(1.25, 0.08)
    parts = [
        shape(rectangle(-0.95 + box_length / 2, 0.22, box_length, vary.jitter(0.85, 0.06), rounded=0.02), "cargo"),
        shape(rectangle(0.66, 0.62 - cab_height / 2, 0.5, cab_height, rounded=0.06), "body"),
        shape(rectangle(0.2, 0.62, 1.5, 0.08), "dark", 0.5),
    ]
    parts.append(
        shape(
            polygon(
                (0.5, 0.62 - cab_height + 0.06),
                (0.8, 0.62 - cab_height + 0.06),
                (0.86, 0.62 - cab_height * 0.45),
                (0.5, 0.62 - cab_height * 0.45),
            ),
            "window",
            0.7,
        )
    )
    parts += wheel(-0.6, 0.74, 0.16) + wheel(-0.25, 0.74, 0.16) + wheel(0.68, 0.74, 0.16)
    for k in range(3):
        parts.append(stroke(line((0.9, 0.4 + k * 0.05), (0.9, 0.42 + k * 0.05)), "dark", 0.02, 0.2))
    parts.append(shape(ellipse(0.89, 0.48, 0.03, 0.03), "light", 0.3))
    return parts


@register_class("tractor", family=FAMILY, split="seen", imagenet=(866,), palette=dict(body=((40, 130, 50), (200, 40, 30), (230, 160, 20))))
def tractor(vary: Variation) -> list[Part]:
    """big rear wheel, small front wheel, cab, hood, exhaust"""
    rear_radius, front_radius = vary.jitter(0.38, 0.08), vary.jitter(0.2, 0.1)
    parts = [
        shape(rectangle(-0.35, -0.1, 0.55, 0.65, rounded=0.02), "window", 0.8),
        stroke(rectangle(-0.35, -0.1, 0.55, 0.65), "dark", 0.05, 0.8, closed=True),
        shape(rectangle(-0.35, -0.45, 0.65, 0.06), "body", 0.7),
        shape(rectangle(0.3, 0.35, vary.jitter(0.8, 0.08), 0.34, rounded=0.05), "body"),
        shape(rectangle(0.4, 0.0, 0.06, 0.4), "dark", 0.5),
    ]
    parts += wheel(-0.45, 0.9 - rear_radius, rear_radius, hub="hub") + wheel(0.6, 0.9 - front_radius, front_radius, hub="hub")
    return parts


@register_class("steam locomotive", family=FAMILY, split="seen", imagenet=(820,))
def locomotive(vary: Variation) -> list[Part]:
    """boiler, smokestack, cab, three drive wheels, cowcatcher"""
    boiler_height = vary.jitter(0.45, 0.08)
    parts = [
        shape(blob(0.45 + 0.1, -0.62, 0.14, 0.1, 4, 0.3), "smoke", 0.3),
        shape(blob(0.3, -0.8, 0.2, 0.12, 5, 0.3), "smoke", 0.25),
        shape(trapezoid(0.45, -0.45, 0.05, 0.2, 0.12), "dark", 0.8),
        shape(rectangle(0.05, 0.25, 1.1, boiler_height, rounded=boiler_height / 2.2), "engine"),
        shape(ellipse(-0.05, 0.28 - boiler_height / 2, 0.12, 0.1, math.pi, TAU), "brass", 0.5),
        shape(rectangle(-0.65, 0.1, 0.45, 0.78), "body"),
        shape(rectangle(-0.65, -0.33, 0.55, 0.07), "dark", 0.6),
        shape(rectangle(-0.65, -0.05, 0.22, 0.2), "window", 0.6),
        shape(polygon((0.62, 0.45), (0.92, 0.7), (0.62, 0.7)), "red", 0.6),
    ]
    for x in (-0.45, -0.05, 0.35):
        parts += wheel(x, 0.72, 0.17, hub="red")
    parts.append(stroke(line((-0.45, 0.72), (0.35, 0.72)), "metal", 0.03, 0.4))
    return parts


@register_class("ambulance", family=FAMILY, split="unseen", imagenet=(407,))
def ambulance(vary: Variation) -> list[Part]:
    """white van with red cross, stripe and beacon"""
    box_length = vary.jitter(1.25, 0.06)
    parts = [
        shape(rectangle(-0.92 + box_length / 2, 0.25, box_length, 0.95, rounded=0.05), "paint_white"),
        shape(polygon((0.4, -0.12), (0.62, -0.12), (0.9, 0.25), (0.92, 0.72), (0.4, 0.72)), "paint_white"),
        shape(polygon((0.47, -0.05), (0.6, -0.05), (0.82, 0.25), (0.47, 0.25)), "window", 0.8),
        shape(rectangle(-0.92 + box_length / 2, -0.27, 0.3, 0.08), "beacon", 0.6),
        shape(rectangle(0, 0.5, 1.8, 0.07), "red", 0.5),
    ]
    cross_x, cross_y, cross_arm, cross_half_width = -0.92 + box_length * 0.45, 0.12, 0.2, 0.065
    parts.append(
        shape(
            polygon(
                (cross_x - cross_half_width, cross_y - cross_arm),
                (cross_x + cross_half_width, cross_y - cross_arm),
                (cross_x + cross_half_width, cross_y - cross_half_width),
                (cross_x + cross_arm, cross_y - cross_half_width),
                (cross_x + cross_arm, cross_y + cross_half_width),
                (cross_x + cross_half_width, cross_y + cross_half_width),
                (cross_x + cross_half_width, cross_y + cross_arm),
                (cross_x - cross_half_width, cross_y + cross_arm),
                (cross_x - cross_half_width, cross_y + cross_half_width),
                (cross_x - cross_arm, cross_y + cross_half_width),
                (cross_x - cross_arm, cross_y - cross_half_width),
                (cross_x - cross_half_width, cross_y - cross_half_width),
            ),
            "red",
            0.9,
        )
    )
    parts += wheel(-0.5, 0.74, 0.17) + wheel(0.58, 0.74, 0.17)
    parts.append(stroke(line((-0.2 + box_length * 0.1, -0.15), (-0.2 + box_length * 0.1, 0.65)), "dark", 0.012, 0.3))
    return parts
