"""The semantic mask (`cid_mask.pickle`, the `m` of the soft cross-entropy in docs/METHOD.md).

Every class lists the ImageNet-1k classes that depict the same object (checked against timm's
ImageNet class list, see `registry.IMAGENET_NAMES`). The row of a seen class c is 1.0 on c's own
ImageNet classes and `SIBLING_WEIGHT` (0.3) on the ImageNet classes of the other *seen* classes of
c's family. A class with no honest ImageNet counterpart (house, wrench, pine tree...) gets an
all-zero row, and so does "mouse (animal)" although ImageNet has "mouse" (that is the computer
mouse). Unseen classes never enter a row, so the mask carries no knowledge of the unseen split.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .catalogue import SYNTHETIC_CLASSES, get_class

SIBLING_WEIGHT = 0.3
MASK_RULE = (f"1.0 on a seen class's own ImageNet classes, {SIBLING_WEIGHT} on those of the other seen classes "
             "of its family; all zeros when the class has no ImageNet counterpart; unseen classes never enter a row")


def semantic_mask(seen_classes: Sequence[str]) -> dict[str, np.ndarray]:
    """Mask rows (float32[1000]) for `seen_classes`: see the module docstring for the rule."""
    rows = {}
    for name in seen_classes:
        own = get_class(name)
        row = np.zeros(1000, dtype=np.float32)
        if own.imagenet:
            for other in seen_classes:
                sibling = SYNTHETIC_CLASSES[other]
                if other != name and sibling.family == own.family:
                    row[list(sibling.imagenet)] = SIBLING_WEIGHT
            row[list(own.imagenet)] = 1.0
        rows[name] = row
    return rows
