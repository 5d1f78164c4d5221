"""A procedural sketch/photo benchmark in the SAKE layout, so one reader serves real and synthetic data.

Why it exists: the tutorials must run offline in minutes, yet show the real phenomena of ZS-SBIR:
a modality gap (colour photos with texture, shading and cluttered backgrounds versus black
free-hand strokes on white) and a zero-shot problem (unseen classes that share parts with seen
ones, plus whole families never seen in training). A photo and a sketch of one class share the
class geometry but are two independent instances (proportions, optional parts, pose).

Where things are (data flows down this list):

    geometry.py    parts, instance variation, point-array primitives
    materials.py   how a part looks in a photo
    registry.py    `@register_class`: each class's builder beside its family, split, ImageNet
                   counterparts and description; IMAGENET_NAMES
    families/      the class builders, one module per family (import order = catalogue order)
    catalogue.py   the complete catalogue: SEEN_CLASSES, UNSEEN_CLASSES, FAMILIES
    instance.py    seeds per class and per file, the random pose
    background.py  the scene behind a photo
    photo.py       draw_photo, in named steps (light, shadow, parts, glow, occluder, camera)
    sketch.py      draw_sketch (a sketcher's hand: abstraction, wobble, overdraw, hatching)
    mask.py        the semantic mask rule
    writer.py      make_synthetic_benchmark: lists, class files, meta, parallel rendering, atomic install
    sheet.py       render_contact_sheet

To add a class, write its builder in its family's module (or a new family module, appended to
`families/__init__.py`) under `@register_class(name, family=..., split=..., imagenet=...)`;
new images change the benchmark, so bump `GENERATOR_VERSION`.
"""
from .catalogue import FAMILIES, SEEN_CLASSES, SYNTHETIC_CLASSES, UNSEEN_CLASSES, get_class, list_synthetic_classes
from .geometry import Part, Variation
from .materials import MATERIALS, Material
from .mask import SIBLING_WEIGHT, semantic_mask
from .photo import draw_photo
from .registry import IMAGENET_NAMES, SyntheticClass, register_class
from .sheet import render_contact_sheet
from .sketch import draw_sketch
from .writer import GENERATOR_VERSION, LIST_NAMES, META_FILE, ZERO_FOLDER, make_synthetic_benchmark

__all__ = ["FAMILIES", "GENERATOR_VERSION", "IMAGENET_NAMES", "LIST_NAMES", "MATERIALS", "META_FILE", "SEEN_CLASSES",
           "SIBLING_WEIGHT", "SYNTHETIC_CLASSES", "UNSEEN_CLASSES", "ZERO_FOLDER", "Material", "Part", "SyntheticClass",
           "Variation", "draw_photo", "draw_sketch", "get_class", "list_synthetic_classes", "make_synthetic_benchmark",
           "register_class", "render_contact_sheet", "semantic_mask"]
