"""The complete catalogue: every registered class, the fixed seen/unseen split and the families.

54 classes in 11 families built from shared parts; 43 seen and 11 unseen. Six unseen classes are
new members of seen families (lighthouse, ambulance, teapot, mushroom, lantern, mouse (animal));
five belong to families with no seen member at all (boats, string instruments).
"""
from __future__ import annotations

from . import families  # noqa: F401  (registers every class, in catalogue order)
from .registry import SYNTHETIC_CLASSES, SyntheticClass

SEEN_CLASSES: list[str] = [n for n, c in SYNTHETIC_CLASSES.items() if c.split == "seen"]
UNSEEN_CLASSES: list[str] = [n for n, c in SYNTHETIC_CLASSES.items() if c.split == "unseen"]
FAMILIES: dict[str, list[str]] = {}
for _name, _cls in SYNTHETIC_CLASSES.items():
    FAMILIES.setdefault(_cls.family, []).append(_name)


def get_class(class_name: str) -> SyntheticClass:
    """The registered class `class_name`, or a ValueError that lists the valid names."""
    try:
        return SYNTHETIC_CLASSES[class_name]
    except KeyError:
        raise ValueError(f"unknown synthetic class {class_name!r}; choose one of {sorted(SYNTHETIC_CLASSES)}") from None


def list_synthetic_classes() -> list[dict]:
    """One row per class: name, family, split, role, ImageNet indices and a description (pandas-ready)."""
    return [dict(name=c.name, family=c.family, split=c.split, role=c.role, imagenet=list(c.imagenet), description=c.description)
            for c in SYNTHETIC_CLASSES.values()]
