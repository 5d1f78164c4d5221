"""Animal faces, seen from the front (seen: cat, dog, rabbit, owl, pig, bear; unseen: mouse), with shared eyes and whiskers."""

from __future__ import annotations

import math

from ..geometry import Part, Variation, ellipse, lens, line, polygon, rectangle, shape, spline, stroke
from ..registry import register_class

FAMILY = "animals"
FUR_COLOURS = ((120, 120, 125), (200, 130, 60), (60, 50, 45), (230, 225, 215), (150, 110, 80))


def eyes(offset_x, cy, rx, ry, iris="dark", pupil=None, importance=0.9) -> list[Part]:
    """Two eyes at x = -offset_x and +offset_x, with pupils of radii `pupil` when given."""
    parts = []
    for side in (-1, 1):
        parts.append(shape(ellipse(side * offset_x, cy, rx, ry), iris, importance))
        if pupil:
            parts.append(shape(ellipse(side * offset_x, cy, pupil[0], pupil[1]), "dark", importance * 0.6))
    return parts


def whiskers(cx, cy, spread, length, count, vary: Variation, importance=0.35) -> list[Part]:
    """`count` whiskers on each side of the muzzle, fanned out a little irregularly."""
    parts = []
    for side in (-1, 1):
        for k in range(count):
            angle = (k - (count - 1) / 2) * 0.22 + vary.uniform(-0.05, 0.05)
            x0 = cx + side * spread
            parts.append(
                stroke(line((x0, cy), (x0 + side * length * math.cos(angle), cy + length * math.sin(angle))), "dark", 0.012, importance)
            )
    return parts


@register_class("cat", family=FAMILY, split="seen", imagenet=(281, 282, 285), palette=dict(fur=FUR_COLOURS))
def cat(vary: Variation) -> list[Part]:
    """round face, pointed ears, slit pupils, whiskers"""
    parts = []
    for side in (-1, 1):
        ear_tip = (side * vary.jitter(0.58, 0.08), vary.jitter(-0.95, 0.05))
        parts += [
            shape(polygon((side * 0.2, -0.45), ear_tip, (side * 0.72, -0.15)), "fur"),
            shape(polygon((side * 0.3, -0.43), (ear_tip[0] * 0.95, ear_tip[1] + 0.15), (side * 0.62, -0.2)), "fur_inner", 0.4),
        ]
    parts += [shape(ellipse(0, 0.05, vary.jitter(0.75, 0.06), vary.jitter(0.65, 0.06)), "fur")]
    parts += eyes(0.28, -0.05, 0.14, 0.09, "iris", (0.03, 0.08))
    parts += [
        shape(polygon((-0.07, 0.15), (0.07, 0.15), (0, 0.23)), "nose", 0.7),
        stroke(spline([(-0.17, 0.3), (-0.08, 0.35), (0, 0.27), (0.08, 0.35), (0.17, 0.3)], n=4), "dark", 0.02, 0.6),
    ]
    return parts + whiskers(0, 0.25, 0.15, 0.6, 3, vary)


@register_class(
    "dog",
    family=FAMILY,
    split="seen",
    imagenet=(207, 208),
    palette=dict(fur=FUR_COLOURS[1:4], fur_dark=((90, 60, 40), (50, 40, 35), (150, 100, 60))),
)
def dog(vary: Variation) -> list[Part]:
    """long face, floppy ears, muzzle, big nose"""
    parts = []
    for side in (-1, 1):
        parts.append(shape(ellipse(side * 0.58, 0.05, 0.18, vary.jitter(0.45), rot=-side * vary.uniform(0.15, 0.4)), "fur_dark"))
    parts += [
        shape(ellipse(0, -0.05, vary.jitter(0.58, 0.06), vary.jitter(0.7, 0.06)), "fur"),
        shape(ellipse(0, 0.38, 0.34, 0.26), "fur_light", 0.7),
        shape(ellipse(0, 0.24, 0.14, 0.09), "dark"),
    ]
    parts += eyes(0.24, -0.15, 0.08, 0.09)
    parts.append(stroke(spline([(-0.15, 0.45), (0, 0.5), (0.15, 0.45)], n=4), "dark", 0.02, 0.5))
    if vary.chance(0.5):
        parts.append(shape(ellipse(0, 0.58, 0.09, 0.12), "tongue", 0.35))
    return parts


@register_class(
    "rabbit", family=FAMILY, split="seen", imagenet=(330, 331, 332), palette=dict(fur=((235, 230, 225), (160, 130, 100), (130, 125, 120)))
)
def rabbit(vary: Variation) -> list[Part]:
    """face with two long upright ears, teeth"""
    parts = []
    for side in (-1, 1):
        ear_length, ear_tilt = vary.jitter(0.45, 0.1), side * vary.uniform(0.05, 0.3)
        parts += [
            shape(ellipse(side * 0.25, -0.5, 0.14, ear_length, rot=ear_tilt), "fur"),
            shape(ellipse(side * 0.25, -0.48, 0.07, ear_length * 0.75, rot=ear_tilt), "fur_inner", 0.5),
        ]
    parts += [shape(ellipse(0, 0.3, vary.jitter(0.55, 0.06), vary.jitter(0.5, 0.06)), "fur")]
    parts += eyes(0.22, 0.18, 0.08, 0.1)
    parts += [
        shape(ellipse(0, 0.4, 0.06, 0.04), "nose", 0.6),
        shape(rectangle(0, 0.56, 0.1, 0.1), "paint_white", 0.4),
        stroke(line((0, 0.44), (0, 0.5)), "dark", 0.015, 0.4),
    ]
    return parts + whiskers(0, 0.43, 0.08, 0.45, 2, vary)


@register_class("owl", family=FAMILY, split="seen", imagenet=(24,))
def owl(vary: Variation) -> list[Part]:
    """egg body, huge round eyes, beak, ear tufts, wings"""
    parts = []
    for side in (-1, 1):
        parts.append(shape(polygon((side * 0.25, -0.6), (side * 0.5, -0.92), (side * 0.52, -0.5)), "feather", 0.7))
    parts += [shape(ellipse(0, 0.1, vary.jitter(0.62, 0.06), vary.jitter(0.82, 0.04)), "feather")]
    for side in (-1, 1):
        parts += [
            shape(lens((side * 0.5, -0.1), (side * 0.45, 0.75), 0.28, bend=side * 0.15), "feather_dark", 0.6),
            shape(ellipse(side * 0.26, -0.25, 0.25, 0.25), "fur_light", 0.6),
        ]
    parts += eyes(0.26, -0.25, 0.17, 0.17, "iris", (0.08, 0.08))
    parts.append(shape(polygon((-0.07, -0.08), (0.07, -0.08), (0, 0.12)), "beak", 0.8))
    for k in range(vary.integer(2, 4)):
        y = 0.25 + k * 0.13
        parts.append(stroke(polygon((-0.1, y), (0, y + 0.05), (0.1, y)), "dark", 0.015, 0.2))
    for side in (-1, 1):
        parts.append(stroke(polygon((side * 0.2, 0.86), (side * 0.16, 0.97), (side * 0.24, 0.97)), "beak", 0.025, 0.3))
    return parts


@register_class("pig", family=FAMILY, split="seen", imagenet=(341,))
def pig(vary: Variation) -> list[Part]:
    """pink round face, snout with nostrils, folded ears"""
    parts = []
    for side in (-1, 1):
        parts.append(shape(polygon((side * 0.25, -0.45), (side * 0.65, -0.85), (side * 0.7, -0.3)), "pig"))
    parts += [
        shape(ellipse(0, 0.02, vary.jitter(0.76, 0.06), vary.jitter(0.64, 0.06)), "pig"),
        shape(ellipse(0, 0.22, vary.jitter(0.28, 0.1), 0.19), "pig_dark"),
        shape(ellipse(-0.09, 0.22, 0.04, 0.06), "dark", 0.6),
        shape(ellipse(0.09, 0.22, 0.04, 0.06), "dark", 0.6),
    ]
    parts += eyes(0.32, -0.15, 0.05, 0.06)
    parts.append(stroke(spline([(-0.18, 0.48), (0, 0.53), (0.18, 0.48)], n=4), "dark", 0.015, 0.35))
    return parts


@register_class("bear", family=FAMILY, split="seen", imagenet=(294, 295), palette=dict(fur=((110, 70, 40), (40, 35, 30), (150, 100, 60))))
def bear(vary: Variation) -> list[Part]:
    """round face, small round ears, muzzle"""
    parts = []
    for side in (-1, 1):
        parts += [shape(ellipse(side * 0.52, -0.55, 0.2, 0.2), "fur"), shape(ellipse(side * 0.52, -0.53, 0.1, 0.1), "fur_light", 0.4)]
    parts += [
        shape(ellipse(0, 0.02, vary.jitter(0.72, 0.06), vary.jitter(0.66, 0.06)), "fur"),
        shape(ellipse(0, 0.28, 0.3, 0.22), "fur_light", 0.8),
        shape(ellipse(0, 0.17, 0.12, 0.08), "dark"),
    ]
    parts += eyes(0.27, -0.12, 0.06, 0.06)
    parts.append(stroke(spline([(-0.12, 0.38), (0, 0.42), (0.12, 0.38)], n=4), "dark", 0.015, 0.5))
    return parts


@register_class("mouse (animal)", family=FAMILY, split="unseen", palette=dict(fur=((140, 135, 130), (230, 225, 220), (150, 115, 85))))
def mouse_animal(vary: Variation) -> list[Part]:
    """pointed face, very big round ears, long whiskers"""
    parts = []
    ear_radius = vary.jitter(0.33, 0.1)
    for side in (-1, 1):
        parts += [
            shape(ellipse(side * 0.5, -0.45, ear_radius, ear_radius), "fur"),
            shape(ellipse(side * 0.5, -0.43, ear_radius * 0.6, ear_radius * 0.6), "fur_inner", 0.5),
        ]
    parts.append(
        shape(
            spline(
                [(0, -0.5), (0.45, -0.3), (0.42, 0.15), (0.1, 0.58), (0, 0.65), (-0.1, 0.58), (-0.42, 0.15), (-0.45, -0.3)], closed=True
            ),
            "fur",
        )
    )
    parts += eyes(0.18, -0.05, 0.06, 0.07)
    parts.append(shape(ellipse(0, 0.62, 0.06, 0.05), "nose", 0.7))
    return parts + whiskers(0, 0.55, 0.05, 0.55, 3, vary, 0.45)
