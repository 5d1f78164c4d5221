"""The teacher's photo world: a small stand-in for ImageNet on the synthetic benchmark.

Why it exists: SBKA's premise is that an ImageNet teacher knows things about the unseen classes
that the seen classes do not teach (ImageNet holds photos of most of Sketchy split 1's unseen
classes, never their sketches). An ImageNet EfficientNet-Lite0 barely recognises the synthetic
photos (top-1 about 0.05 at 96 px), so on this benchmark that premise is false. The photo world
makes it true, the way ImageNet does: a photo-classification label space over the classes that
have a real ImageNet counterpart, seen and unseen alike, with *fresh* photos (split "world",
other instances than any benchmark image) and no sketches at all. Student and teacher start from
a backbone pretrained on it (`sbka_lite.pretrain`).

Two kinds of unseen class remain, so a notebook can show both cases:
* known to the teacher (in the world): lighthouse, ambulance, teapot, mushroom and the boats,
  like Sketchy split 1, whose unseen classes ImageNet covers;
* unknown to it: classes without an ImageNet counterpart (mouse (animal), lantern) and the whole
  string-instrument family, held out of the world so the split-2 case (no counterpart, no seen
  relative) has more than one family, like Sketchy split 2's classes chosen outside ImageNet.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image

from .catalogue import SYNTHETIC_CLASSES, get_class
from .instance import image_seed
from .mask import SIBLING_WEIGHT
from .photo import draw_photo

WORLD_SPLIT = "world"  # the image-seed split of world photos: no benchmark image shares their seeds
HELD_OUT_FAMILIES = ("instruments",)
WORLD_RULE = ("every class with an ImageNet counterpart, seen or unseen, except the families "
              f"{', '.join(HELD_OUT_FAMILIES)}; photos only, fresh instances")
WORLD_MASK_RULE = (f"1.0 on a seen class's own world class, {SIBLING_WEIGHT} on the other seen classes of its family "
                   "that are in the world; all zeros for a seen class outside the world; unseen classes never enter a row")


def photo_world_classes() -> list[str]:
    """The world's label space, in catalogue order (see the module docstring for the rule)."""
    return [name for name, c in SYNTHETIC_CLASSES.items() if c.imagenet and c.family not in HELD_OUT_FAMILIES]


def world_mask(seen_classes: Sequence[str], world: Sequence[str] | None = None) -> np.ndarray:
    """Semantic-mask rows float32 ``[len(seen_classes), len(world)]`` over the world's classes.

    The same rule as the ImageNet mask (`mask.semantic_mask`), with world classes in place of
    ImageNet classes: the row of a seen class knows its own class and its seen siblings only.
    """
    world = list(world if world is not None else photo_world_classes())
    column = {name: j for j, name in enumerate(world)}
    seen = list(seen_classes)
    rows = np.zeros((len(seen), len(world)), dtype=np.float32)
    for i, name in enumerate(seen):
        own = get_class(name)
        if name not in column:
            continue
        for other in seen:
            if other != name and other in column and SYNTHETIC_CLASSES[other].family == own.family:
                rows[i, column[other]] = SIBLING_WEIGHT
        rows[i, column[name]] = 1.0
    return rows


def world_photo(class_name: str, index: int, *, seed: int = 0, size: int = 128) -> Image.Image:
    """Photo `index` of `class_name` in the world: a pure function of its arguments, never a benchmark image."""
    return draw_photo(class_name, seed=image_seed(seed, class_name, "photo", WORLD_SPLIT, index), size=size)
