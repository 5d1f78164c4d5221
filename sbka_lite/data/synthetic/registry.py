"""The registry of synthetic classes: each class's builder carries its metadata (as timm's `@register_model`).

A family module registers its classes with `@register_class(...)`; the builder's docstring (first
paragraph) is the class description written to the benchmark's meta file. The catalogue order,
which fixes the labels, is the order of registration (`families/__init__.py` imports the family
modules in a fixed order).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from .geometry import Part, Variation
from .materials import MATERIALS

SPLITS = ("seen", "unseen")

# Descriptions of the ImageNet-1k indices the classes use (from timm's ImageNetInfo; a test checks them).
IMAGENET_NAMES: dict[int, str] = {
    24: "great grey owl", 207: "golden retriever", 208: "Labrador retriever", 281: "tabby, tabby cat", 282: "tiger cat",
    285: "Egyptian cat", 294: "brown bear", 295: "American black bear", 330: "wood rabbit, cottontail", 331: "hare",
    332: "Angora, Angora rabbit", 341: "hog, pig", 402: "acoustic guitar", 407: "ambulance", 409: "analog clock", 425: "barn",
    436: "beach wagon, station wagon", 437: "beacon, lighthouse", 440: "beer bottle", 463: "bucket, pail", 468: "cab, taxi",
    470: "candle, taper, wax light", 472: "canoe", 483: "castle", 484: "catamaran", 497: "church, church building",
    504: "coffee mug", 510: "container ship", 511: "convertible", 572: "goblet", 587: "hammer", 596: "hatchet",
    619: "lampshade, lamp shade", 620: "laptop, laptop computer", 628: "liner, ocean liner", 654: "minibus",
    664: "monitor", 673: "mouse, computer mouse", 675: "moving van", 681: "notebook, notebook computer", 696: "paintbrush",
    737: "pop bottle, soda bottle", 738: "pot, flowerpot", 779: "school bus", 780: "schooner", 782: "screen, CRT screen",
    784: "screwdriver", 792: "shovel", 817: "sports car, sport car", 820: "steam locomotive", 826: "stopwatch, stop watch",
    846: "table lamp", 849: "teapot", 851: "television, television system", 866: "tractor", 867: "trailer truck",
    874: "trolleybus", 883: "vase", 889: "violin, fiddle", 892: "wall clock", 898: "water bottle", 907: "wine bottle",
    914: "yawl", 947: "mushroom", 966: "red wine", 968: "cup", 985: "daisy", 992: "agaric",
}

Colour = tuple[int, int, int]
Builder = Callable[[Variation], list[Part]]


@dataclass(frozen=True)
class SyntheticClass:
    """One class of the synthetic benchmark."""

    name: str
    family: str
    split: str  # "seen" | "unseen"
    build: Builder  # one instance's parts from its random choices
    imagenet: tuple[int, ...]  # ImageNet-1k indices of classes that depict this object (own synonyms)
    palette: tuple[tuple[str, tuple[Colour, ...]], ...] = ()  # material -> colours, overriding the material's own
    description: str = ""

    @property
    def role(self) -> str:
        """"seen", or whether an unseen class extends a seen family or belongs to a family never seen."""
        if self.split == "seen":
            return "seen"
        family_has_seen = any(c.family == self.family and c.split == "seen" for c in SYNTHETIC_CLASSES.values())
        return "unseen: new member of a seen family" if family_has_seen else "unseen: member of an unseen family"


# Filled by `register_class` as the family modules are imported; `catalogue.py` exposes it complete.
SYNTHETIC_CLASSES: dict[str, SyntheticClass] = {}


def register_class(name: str, *, family: str, split: str, imagenet: tuple[int, ...] = (),
                   palette: dict[str, tuple[Colour, ...]] | None = None) -> Callable[[Builder], Builder]:
    """Register the decorated builder as the class `name`; its docstring's first paragraph describes it."""

    def register(build: Builder) -> Builder:
        where = f"synthetic class {name!r} ({build.__module__}.{build.__qualname__})"
        if name in SYNTHETIC_CLASSES:
            raise ValueError(f"{where}: the name is already registered by {SYNTHETIC_CLASSES[name].build.__module__}")
        if split not in SPLITS:
            raise ValueError(f"{where}: split must be one of {SPLITS}, got {split!r}")
        unknown = [i for i in imagenet if i not in IMAGENET_NAMES]
        if unknown:
            raise ValueError(f"{where}: ImageNet indices {unknown} are not in IMAGENET_NAMES; add their descriptions there")
        unknown = [m for m in palette or {} if m not in MATERIALS]
        if unknown:
            raise ValueError(f"{where}: palette names unknown materials {unknown}; choose from materials.MATERIALS")
        if not build.__doc__:
            raise ValueError(f"{where}: give the builder a docstring, it is the class description")
        description = " ".join(inspect.cleandoc(build.__doc__).split("\n\n", 1)[0].split())
        colours = tuple((material, tuple(c)) for material, c in (palette or {}).items())
        SYNTHETIC_CLASSES[name] = SyntheticClass(name, family, split, build, tuple(imagenet), colours, description)
        return build

    return register
