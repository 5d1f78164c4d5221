"""Plants (seen: pine, leafy and palm trees, cactus, daisy, potted plant; unseen: mushroom)."""

from __future__ import annotations

import math

import numpy as np

from ..geometry import Part, Variation, TAU, blob, ellipse, lens, line, polygon, profile, rectangle, shape, spline, stroke, trapezoid, tube
from ..registry import register_class

FAMILY = "plants"


@register_class("pine tree", family=FAMILY, split="seen")
def pine_tree(vary: Variation) -> list[Part]:
    """stacked jagged triangles on a short trunk"""
    parts = [shape(rectangle(0, 0.78, vary.jitter(0.16), 0.26), "trunk")]
    tiers = vary.integer(3, 4)
    base, crown_top, half_width = 0.68, -0.95, vary.jitter(0.75, 0.1)
    tier_step = (base - crown_top) / (tiers + 0.6)
    for k in range(tiers):  # bottom tier first so upper tiers overlap it
        tier_base = base - k * tier_step
        tier_half_width = half_width * (1 - k / (tiers + 0.8))
        apex = tier_base - tier_step * 1.7
        teeth = 5
        xs = np.linspace(tier_half_width, -tier_half_width, 2 * teeth + 1)
        bottom = [(x, tier_base - (0.07 if i % 2 else 0)) for i, x in enumerate(xs)]
        parts.append(shape(polygon((0, apex), *bottom), "foliage_dark"))
    return parts


@register_class("leafy tree", family=FAMILY, split="seen")
def leafy_tree(vary: Variation) -> list[Part]:
    """trunk with branches under a scalloped crown"""
    parts = [shape(tube([(0, 0.92), (vary.uniform(-0.05, 0.05), 0.5), (0, 0.05)], 0.24, 0.14), "trunk")]
    for s in (-1, 1):
        parts.append(shape(tube([(0, 0.35), (s * 0.2, 0.1), (s * 0.35, -0.05)], 0.08, 0.04), "trunk", 0.4))
    parts.append(
        shape(
            blob(
                0, -0.35, vary.jitter(0.8, 0.08), vary.jitter(0.6, 0.1), vary.integer(7, 11), vary.uniform(0.08, 0.15), vary.uniform(0, 3)
            ),
            "foliage",
        )
    )
    if vary.chance(0.3):
        for _ in range(vary.integer(3, 5)):
            parts.append(shape(ellipse(vary.uniform(-0.5, 0.5), vary.uniform(-0.6, -0.1), 0.05, 0.05), "red", 0.2))
    return parts


@register_class("palm tree", family=FAMILY, split="seen")
def palm_tree(vary: Variation) -> list[Part]:
    """curved segmented trunk with a fan of fronds"""
    lean = vary.sign() * vary.uniform(0.1, 0.35)
    top = (lean, -0.45)
    path = [(0, 0.92), (lean * 0.3, 0.3), top]
    parts = [shape(tube(path, 0.18, 0.09), "trunk")]
    spine = spline(path, n=6)
    for k in range(3, len(spine) - 2, 3):
        point, direction = spine[k], spine[k + 1] - spine[k - 1]
        normal = np.array([-direction[1], direction[0]]) / (np.linalg.norm(direction) + 1e-9) * 0.07
        parts.append(stroke(line(point - normal, point + normal), "dark", 0.012, 0.25))
    fronds = vary.integer(5, 7)
    for k in range(fronds):
        angle = math.pi + (k + 0.5) * math.pi / fronds + vary.uniform(-0.15, 0.15)  # fan over the upper half
        frond_length = vary.jitter(0.7, 0.15)
        end = (top[0] + frond_length * math.cos(angle), top[1] + frond_length * math.sin(angle) * 0.6 + 0.25)
        parts.append(shape(lens(top, end, 0.16, bend=0.25 * (1 if math.cos(angle) < 0 else -1)), "foliage"))
    for k in range(vary.integer(2, 3)):
        parts.append(shape(ellipse(top[0] + (k - 1) * 0.08, top[1] + 0.08, 0.05, 0.05), "coconut", 0.3))
    return parts


@register_class("cactus", family=FAMILY, split="seen")
def cactus(vary: Variation) -> list[Part]:
    """columnar body with two bent arms and spines"""
    body_width, top = vary.jitter(0.34, 0.1), vary.jitter(-0.85, 0.08)
    potted = vary.chance(0.45)
    ground = 0.5 if potted else 0.9
    parts = []
    for side, arm_y in ((-1, vary.uniform(0.0, 0.25)), (1, vary.uniform(-0.2, 0.1))):
        arm_tip_y = arm_y - vary.jitter(0.5, 0.2)
        parts.append(
            shape(tube([(0, arm_y), (side * 0.28, arm_y + 0.02), (side * 0.4, arm_y - 0.12), (side * 0.42, arm_tip_y)], 0.2), "cactus", 0.9)
        )
        parts.append(shape(ellipse(side * 0.42, arm_tip_y, 0.1, 0.1), "cactus", 0.9))
    parts.append(shape(rectangle(0, (top + ground) / 2, body_width, ground - top, rounded=body_width / 2), "cactus"))
    for _ in range(vary.integer(3, 6)):
        x, arm_y = vary.uniform(-body_width / 2, body_width / 2), vary.uniform(top + 0.2, ground - 0.1)
        parts.append(stroke(line((x, arm_y), (x + 0.06 * np.sign(x + 1e-3), arm_y - 0.04)), "dark", 0.01, 0.15))
    if potted:
        parts += [shape(trapezoid(0, 0.45, 0.9, 0.7, 0.5), "terracotta"), shape(rectangle(0, 0.45, 0.8, 0.12), "terracotta", 0.8)]
    if vary.chance(0.3):
        parts.append(shape(blob(0, top, 0.1, 0.07, 5, 0.3), "petal", 0.3))
    return parts


@register_class("flower (daisy)", family=FAMILY, split="seen", imagenet=(985,))
def flower(vary: Variation) -> list[Part]:
    """ring of petals round a disc, stem and leaves"""
    centre = (vary.uniform(-0.05, 0.05), -0.35)
    parts = [shape(tube([(0, 0.95), (0.06, 0.3), centre], 0.06), "stem")]
    for side, y in ((-1, 0.55), (1, 0.35)):
        parts.append(shape(lens((0.03, y), (side * 0.4, y - 0.25), 0.18, bend=0.1 * side), "foliage", 0.6))
    petals, petal_length = vary.integer(9, 14), vary.jitter(0.4, 0.1)
    for k in range(petals):
        angle = TAU * k / petals + vary.uniform(-0.1, 0.1)
        parts.append(
            shape(
                lens(centre, (centre[0] + petal_length * math.cos(angle), centre[1] + petal_length * math.sin(angle)), 0.14), "petal", 0.95
            )
        )
    parts.append(shape(ellipse(centre[0], centre[1], 0.13, 0.13), "flower_center"))
    return parts


@register_class("potted plant", family=FAMILY, split="seen", imagenet=(738,))
def potted_plant(vary: Variation) -> list[Part]:
    """fan of leaves in a terracotta pot"""
    parts = []
    leaves = vary.integer(6, 9)
    for k in range(leaves):
        angle = math.pi + (k + 0.5) * math.pi / leaves + vary.uniform(-0.12, 0.12)
        leaf_length = vary.jitter(0.7, 0.2)
        end = (leaf_length * math.cos(angle), 0.3 + leaf_length * math.sin(angle) * 1.2)
        parts.append(shape(lens((0, 0.32), end, vary.jitter(0.22), bend=vary.uniform(-0.2, 0.2)), "foliage"))
    parts += [
        shape(trapezoid(0, 0.4, 0.92, vary.jitter(0.7, 0.08), vary.jitter(0.48, 0.08)), "terracotta"),
        shape(rectangle(0, 0.4, 0.8, 0.13, rounded=0.02), "terracotta", 0.8),
    ]
    return parts


@register_class("mushroom", family=FAMILY, split="unseen", imagenet=(947, 992))
def mushroom(vary: Variation) -> list[Part]:
    """dome cap with spots on a stem"""
    cap_half_width, cap_height, cap_y = vary.jitter(0.8, 0.1), vary.jitter(0.6, 0.15), vary.uniform(-0.15, 0.05)
    parts = [
        shape(profile(0, [(cap_y, 0.16), (0.5, 0.2), (0.88, 0.25)]), "cream"),
        shape(
            np.concatenate(
                [
                    ellipse(0, cap_y, cap_half_width, cap_height, math.pi, TAU, n=24),
                    spline([(cap_half_width, cap_y), (0, cap_y + 0.1), (-cap_half_width, cap_y)], n=6),
                ]
            ),
            "mushroom_cap",
        ),
        stroke(
            spline([(-cap_half_width * 0.8, cap_y + 0.03), (0, cap_y + 0.12), (cap_half_width * 0.8, cap_y + 0.03)], n=6),
            "dark",
            0.015,
            0.3,
        ),
    ]
    for _ in range(vary.integer(3, 7)):
        parts.append(
            shape(
                ellipse(vary.uniform(-0.6, 0.6) * cap_half_width, cap_y - vary.uniform(0.15, 0.8) * cap_height, 0.07, 0.05),
                "paint_white",
                0.35,
            )
        )
    for _ in range(vary.integer(2, 5)):
        x = vary.uniform(-0.6, 0.6)
        parts.append(stroke(line((x, 0.9), (x + vary.uniform(-0.08, 0.08), 0.75)), "foliage", 0.02, 0.2))
    return parts
