"""Buildings (seen: house, church, barn, castle, skyscraper; unseen: lighthouse), from shared walls, gable roofs and windows."""

from __future__ import annotations

import math

import numpy as np

from ..geometry import Part, Variation, TAU, arch, blob, ellipse, line, polygon, rectangle, shape, stroke, trapezoid
from ..registry import register_class

FAMILY = "buildings"
RED_WALLS = ((190, 40, 35), (170, 30, 30), (210, 60, 40))


def gable_roof(cx, top, width, height, overhang, material="roof") -> Part:
    """A triangular roof on a wall whose top edge is at `top`."""
    return shape(polygon((cx - width / 2 - overhang, top), (cx, top - height), (cx + width / 2 + overhang, top)), material)


def window(cx, cy, width, height, vary: Variation, importance=0.6) -> list[Part]:
    """A window pane, often with a cross of glazing bars."""
    parts = [shape(rectangle(cx, cy, width, height), "window", importance)]
    if vary.chance(0.6):
        parts += [
            stroke(line((cx, cy - height / 2), (cx, cy + height / 2)), "trim", 0.02, importance * 0.5),
            stroke(line((cx - width / 2, cy), (cx + width / 2, cy)), "trim", 0.02, importance * 0.5),
        ]
    return parts


def crenellated(cx, top, bottom, width, merlons, merlon_height) -> np.ndarray:
    """Outline of a wall/tower top with `merlons` merlons of height `merlon_height`."""
    xs = np.linspace(cx - width / 2, cx + width / 2, 2 * merlons)
    pts = [(cx - width / 2, bottom)]
    for i in range(2 * merlons - 1):
        y = top - merlon_height if i % 2 == 0 else top
        pts += [(xs[i], y), (xs[i + 1], y)]
    pts += [(cx + width / 2, top - merlon_height), (cx + width / 2, bottom)]
    return polygon(*pts)


@register_class("house", family=FAMILY, split="seen")
def house(vary: Variation) -> list[Part]:
    """walls, gable roof, door, windows, chimney"""
    width, height, ground = vary.jitter(1.3), vary.jitter(0.75), 0.9
    wall_top, roof_height, overhang = ground - height, vary.jitter(0.6, 0.2), vary.uniform(0.04, 0.15)
    parts = []
    if vary.chance(0.75):
        x = vary.sign() * vary.uniform(0.18, 0.35) * width
        roof_y = wall_top - roof_height * (1 - abs(x) / (width / 2 + overhang))
        parts.append(shape(rectangle(x, roof_y - 0.08, 0.13, 0.35), "stone", 0.5))
    parts += [shape(rectangle(0, ground - height / 2, width, height), "wall"), gable_roof(0, wall_top, width, roof_height, overhang)]
    door_x, door_width, door_height = vary.uniform(-0.2, 0.2) * width, vary.jitter(0.22), vary.jitter(0.42)
    parts += [
        shape(rectangle(door_x, ground - door_height / 2, door_width, door_height), "door", 0.8),
        shape(ellipse(door_x + door_width * 0.3, ground - door_height * 0.45, 0.025, 0.025), "metal", 0.2),
    ]
    window_size = vary.jitter(0.22)
    for x in (-width * 0.33, width * 0.33):
        if abs(x - door_x) > (window_size + door_width) / 2 + 0.03:
            parts += window(x, ground - height * 0.58, window_size, window_size, vary)
    if vary.chance(0.4):
        parts += window(0, wall_top - roof_height * 0.35, 0.14, 0.14, vary, 0.3)
    return parts


@register_class("church", family=FAMILY, split="seen", imagenet=(497,))
def church(vary: Variation) -> list[Part]:
    """nave with gable roof, bell tower with spire and cross"""
    side, ground = vary.sign(), 0.9
    nave_width, nave_height, tower_width, tower_height = vary.jitter(1.05), vary.jitter(0.6), vary.jitter(0.32), vary.jitter(1.05)
    nave_x, tower_x = -side * 0.2, side * 0.55
    spire_height = vary.jitter(0.45)
    parts = [
        shape(rectangle(nave_x, ground - nave_height / 2, nave_width, nave_height), "wall"),
        gable_roof(nave_x, ground - nave_height, nave_width, vary.jitter(0.4), 0.06),
        shape(rectangle(tower_x, ground - tower_height / 2, tower_width, tower_height), "wall"),
        shape(
            polygon(
                (tower_x - tower_width / 2 - 0.03, ground - tower_height),
                (tower_x, ground - tower_height - spire_height),
                (tower_x + tower_width / 2 + 0.03, ground - tower_height),
            ),
            "roof",
        ),
    ]
    spire_tip = ground - tower_height - spire_height
    parts += [
        stroke(line((tower_x, spire_tip), (tower_x, spire_tip - 0.22)), "metal", 0.03, 0.6),
        stroke(line((tower_x - 0.07, spire_tip - 0.15), (tower_x + 0.07, spire_tip - 0.15)), "metal", 0.03, 0.6),
    ]
    parts += [
        shape(arch(tower_x, ground, tower_width * 0.5, 0.3), "door", 0.8),
        shape(arch(tower_x, ground - tower_height * 0.55, tower_width * 0.35, 0.18), "window", 0.4),
    ]
    parts.append(shape(ellipse(nave_x, ground - nave_height * 0.95, 0.09, 0.09), "window", 0.5))
    for k in range(vary.integer(2, 3)):
        parts.append(shape(arch(nave_x - nave_width * 0.35 + k * nave_width * 0.3, ground - nave_height * 0.25, 0.1, 0.28), "window", 0.35))
    return parts


@register_class("barn", family=FAMILY, split="seen", imagenet=(425,), palette=dict(wall=RED_WALLS))
def barn(vary: Variation) -> list[Part]:
    """red walls, gambrel roof, braced double door"""
    width, height, ground = vary.jitter(1.45), vary.jitter(0.65), 0.9
    wall_top, roof_height, overhang = ground - height, vary.jitter(0.55, 0.15), 0.05
    roof = polygon(
        (-width / 2 - overhang, wall_top),
        (-width / 2 * 0.78, wall_top - roof_height * 0.62),
        (0, wall_top - roof_height),
        (width / 2 * 0.78, wall_top - roof_height * 0.62),
        (width / 2 + overhang, wall_top),
    )
    door_width, door_height = vary.jitter(0.5), vary.jitter(0.5)
    parts = [
        shape(rectangle(0, ground - height / 2, width, height), "wall"),
        shape(roof, "roof"),
        shape(rectangle(0, ground - door_height / 2, door_width, door_height), "door", 0.9),
    ]
    for brace_start, brace_end in (
        ((-door_width / 2, ground - door_height), (door_width / 2, ground)),
        ((door_width / 2, ground - door_height), (-door_width / 2, ground)),
    ):
        parts.append(stroke(line(brace_start, brace_end), "trim", 0.035, 0.6))
    parts.append(stroke(rectangle(0, ground - door_height / 2, door_width, door_height), "trim", 0.035, 0.5, closed=True))
    parts += [shape(rectangle(0, wall_top - roof_height * 0.3, 0.22, 0.2), "window", 0.5)]
    if vary.chance(0.5):
        parts.append(shape(rectangle(width / 2 + 0.17, ground - 0.45, 0.26, 0.9, rounded=0.12), "stone", 0.3))  # silo
    return parts


@register_class("castle", family=FAMILY, split="seen", imagenet=(483,))
def castle(vary: Variation) -> list[Part]:
    """crenellated wall between two towers, gate, flag"""
    wall_width, wall_height, ground = vary.jitter(1.2), vary.jitter(0.6), 0.9
    tower_width, tower_height = vary.jitter(0.34), vary.jitter(1.05)
    parts = [shape(crenellated(0, ground - wall_height, ground, wall_width, vary.integer(3, 5), 0.09), "stone")]
    cone_roofs = vary.chance(0.5)
    for side in (-1, 1):
        tower_x = side * (wall_width / 2)
        parts.append(
            shape(
                crenellated(tower_x, ground - tower_height, ground, tower_width, 2, 0.08)
                if not cone_roofs
                else rectangle(tower_x, ground - tower_height / 2, tower_width, tower_height),
                "stone",
            )
        )
        if cone_roofs:
            parts.append(
                shape(
                    polygon(
                        (tower_x - tower_width / 2 - 0.04, ground - tower_height),
                        (tower_x, ground - tower_height - vary.jitter(0.4)),
                        (tower_x + tower_width / 2 + 0.04, ground - tower_height),
                    ),
                    "roof",
                    0.8,
                )
            )
        parts.append(shape(rectangle(tower_x, ground - tower_height * 0.6, 0.05, 0.14), "dark", 0.3))
    parts.append(shape(arch(0, ground, vary.jitter(0.32), vary.jitter(0.4)), "dark", 0.9))
    if vary.chance(0.6):
        flag_x, flag_y = vary.sign() * wall_width / 2, ground - tower_height - (0.45 if cone_roofs else 0.1)
        parts += [
            stroke(line((flag_x, flag_y), (flag_x, flag_y - 0.3)), "dark", 0.02, 0.4),
            shape(polygon((flag_x, flag_y - 0.3), (flag_x + 0.2, flag_y - 0.25), (flag_x, flag_y - 0.2)), "red", 0.4),
        ]
    return parts


@register_class("skyscraper", family=FAMILY, split="seen")
def skyscraper(vary: Variation) -> list[Part]:
    """tall glass tower with floor grid and antenna"""
    width, height, ground = vary.jitter(0.6), vary.jitter(1.7, 0.06), 0.9
    top = ground - height
    parts = [shape(rectangle(0, ground - height / 2, width, height), "facade")]
    if vary.chance(0.5):
        setback_width = width * vary.uniform(0.55, 0.75)
        parts.append(shape(rectangle(0, top - 0.12, setback_width, 0.25), "facade", 0.8))
        top -= 0.25
    parts.append(stroke(line((0, top), (0, top - vary.jitter(0.2))), "dark", 0.02, 0.5))
    cols, rows = vary.integer(3, 4), vary.integer(7, 10)
    for i in range(1, cols):
        x = -width / 2 + i * width / cols
        parts.append(stroke(line((x, ground - height + 0.04), (x, ground - 0.2)), "dark", 0.012, 0.4))
    for k in range(1, rows):
        y = ground - height + k * (height - 0.2) / rows
        parts.append(stroke(line((-width / 2, y), (width / 2, y)), "dark", 0.012, 0.4))
    parts.append(shape(rectangle(0, ground - 0.09, width * 0.3, 0.18), "door", 0.5))
    return parts


@register_class("lighthouse", family=FAMILY, split="unseen", imagenet=(437,))
def lighthouse(vary: Variation) -> list[Part]:
    """tapered striped tower, gallery, lantern room, beams"""
    ground, tower_top, base_width, top_width = 0.9, -0.45, vary.jitter(0.55), vary.jitter(0.3)
    parts = [
        shape(blob(0, ground, 0.55, 0.12, 5, 0.3), "stone", 0.4),
        shape(trapezoid(0, tower_top, ground, top_width, base_width), "paint_white"),
    ]
    bands = vary.integer(2, 3)
    for k in range(bands):  # horizontal red bands on the tapered tower
        band_top = tower_top + (k * 2 + 1) * (ground - tower_top) / (2 * bands + 1)
        band_bottom = band_top + (ground - tower_top) / (2 * bands + 1)
        band_top_width, band_bottom_width = (
            top_width + (base_width - top_width) * (y - tower_top) / (ground - tower_top) for y in (band_top, band_bottom)
        )
        parts.append(shape(trapezoid(0, band_top, band_bottom, band_top_width, band_bottom_width), "red", 0.6))
    parts += [
        shape(rectangle(0, tower_top - 0.03, top_width + 0.14, 0.06), "dark", 0.7),
        shape(rectangle(0, tower_top - 0.17, top_width * 0.7, 0.22), "light"),
        shape(ellipse(0, tower_top - 0.28, top_width * 0.42, 0.12, math.pi, TAU), "red", 0.8),
        shape(arch(0, ground, 0.12, 0.2), "door", 0.4),
    ]
    for side in (-1, 1):
        parts.append(
            stroke(line((side * 0.2, tower_top - 0.17), (side * 0.85, tower_top - 0.3 + vary.uniform(-0.1, 0.1))), "light", 0.015, 0.25)
        )
    return parts
