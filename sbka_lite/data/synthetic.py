"""A procedural sketch/photo benchmark in the SAKE layout, so one reader serves real and synthetic data.

Why it exists: the tutorials must run offline in minutes, yet show the real phenomena of ZS-SBIR:
a modality gap (colour photos with texture, shading and cluttered backgrounds versus black
free-hand strokes on white) and a zero-shot problem (unseen classes that share parts with seen
ones, plus whole families never seen in training).

Classes (`synthetic_shapes.py`): 54 classes in 11 families built from shared parts; 43 seen and
11 unseen. Six unseen classes are new members of seen families (lighthouse, ambulance, teapot,
mushroom, lantern, mouse (animal)); five belong to families with no seen member at all (boats,
string instruments). A photo and a sketch of one class share the class geometry but are two
independent instances (proportions, optional parts, pose).

Semantic mask rule (`cid_mask.pickle`, the `m` of the soft cross-entropy in docs/METHOD.md): every
class lists the ImageNet-1k classes that depict the same object (checked against timm's ImageNet
class list, see `IMAGENET_NAMES`). The row of a seen class c is 1.0 on c's own ImageNet classes
and `SIBLING_WEIGHT` (0.3) on the ImageNet classes of the other *seen* classes of c's family.
A class with no honest ImageNet counterpart (house, wrench, pine tree...) gets an all-zero row,
and so does "mouse (animal)" although ImageNet has "mouse" (that is the computer mouse). Unseen
classes never enter a row, so the mask carries no knowledge of the unseen split.

Files written under `root` (relative paths in lists; class folders may contain spaces and
brackets)::

    sketch/<class>/{train,test,zero}_0000.png      photo/<class>/{train,zero}_0000.jpg
    zeroshot/sketch_filelist_{train,test,zero}.txt  zeroshot/photo_filelist_{train,zero}.txt
    zeroshot/cname_cid.txt  zeroshot/cname_cid_zero.txt  zeroshot/cid_mask.pickle
    synthetic_meta.json

Every image is a pure function of (seed, class name, modality, split, index), so the benchmark is
byte-for-byte reproducible whatever the number of workers.
"""
from __future__ import annotations

import colorsys
import json
import math
import multiprocessing as mp
import os
import pickle
import shutil
import sys
import time
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from .synthetic_shapes import SYNTHETIC_CLASSES, SyntheticClass, Var, blob, rotate

GENERATOR_VERSION = 1
SIBLING_WEIGHT = 0.3
ZERO_FOLDER = "zeroshot"
META_FILE = "synthetic_meta.json"
LIST_NAMES = ("sketch_filelist_train.txt", "sketch_filelist_test.txt", "sketch_filelist_zero.txt",
              "photo_filelist_train.txt", "photo_filelist_zero.txt")

SEEN_CLASSES: list[str] = [n for n, c in SYNTHETIC_CLASSES.items() if c.split == "seen"]
UNSEEN_CLASSES: list[str] = [n for n, c in SYNTHETIC_CLASSES.items() if c.split == "unseen"]
FAMILIES: dict[str, list[str]] = {}
for _name, _cls in SYNTHETIC_CLASSES.items():
    FAMILIES.setdefault(_cls.family, []).append(_name)

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


# ---------------------------------------------------------------- materials (photo appearance)

@dataclass(frozen=True)
class Material:
    colors: tuple[tuple[int, int, int], ...]
    tex: tuple[float, float, float] = (0.06, 0.04, 0.03)  # amplitude of coarse / medium / fine noise
    streaks: float = 0.0  # wood-like grain
    round: float = 0.35  # darkening towards the outline (reads as volume)
    spec: float = 0.0  # specular highlight
    alpha: float = 1.0
    emissive: bool = False


_PAINT = ((200, 30, 35), (30, 70, 160), (235, 235, 235), (30, 30, 35), (170, 175, 180), (230, 190, 30), (40, 120, 60), (220, 110, 30))
_BRIGHT = ((200, 40, 40), (40, 90, 180), (240, 190, 30), (40, 150, 70), (120, 60, 160), (240, 120, 30))
MATERIALS: dict[str, Material] = {
    "wall": Material(((215, 200, 170), (235, 230, 215), (185, 95, 70), (160, 160, 165), (225, 200, 130), (170, 190, 200)), (0.06, 0.05, 0.06), round=0.15),
    "roof": Material(((150, 55, 45), (90, 65, 55), (70, 72, 85), (125, 85, 55)), (0.05, 0.06, 0.08), streaks=0.08, round=0.15),
    "stone": Material(((150, 145, 135), (120, 115, 110), (170, 160, 140)), (0.08, 0.1, 0.1), round=0.2),
    "door": Material(((110, 70, 40), (70, 45, 30), (150, 40, 40), (40, 70, 90)), (0.04, 0.04, 0.04), streaks=0.1, round=0.2),
    "window": Material(((120, 160, 195), (70, 95, 120), (160, 195, 215)), (0.1, 0.02, 0.01), round=0.1, spec=0.5),
    "trim": Material(((240, 240, 235), (60, 50, 45)), (0.02, 0.02, 0.02), round=0.0),
    "dark": Material(((30, 28, 30), (45, 40, 38)), (0.03, 0.02, 0.03), round=0.1, spec=0.15),
    "red": Material(((195, 35, 35), (215, 50, 40)), (0.04, 0.03, 0.03)),
    "facade": Material(((100, 130, 160), (140, 150, 160), (80, 100, 110), (170, 160, 140)), (0.15, 0.04, 0.02), round=0.1, spec=0.5),
    "paint_white": Material(((240, 240, 238), (230, 232, 235)), (0.04, 0.03, 0.03)),
    "light": Material(((255, 240, 170), (255, 250, 220)), (0.0, 0.0, 0.0), round=0.0, emissive=True),
    "flame": Material(((255, 170, 40), (255, 140, 30)), (0.0, 0.0, 0.0), round=0.0, emissive=True),
    "beacon": Material(((40, 90, 230), (230, 40, 40)), (0.0, 0.0, 0.0), round=0.0, emissive=True),
    "body": Material(_PAINT, (0.03, 0.02, 0.02), spec=0.55),
    "rubber": Material(((30, 30, 32),), (0.03, 0.03, 0.05), round=0.4, spec=0.1),
    "hub": Material(((230, 190, 30), (200, 40, 30)), (0.02, 0.02, 0.02), spec=0.3),
    "cargo": Material(((225, 225, 220), (180, 180, 185), (60, 90, 150), (200, 150, 60)), (0.04, 0.03, 0.04), round=0.15),
    "engine": Material(((30, 30, 35), (35, 70, 45), (120, 30, 30)), (0.03, 0.02, 0.03), spec=0.5),
    "metal": Material(((170, 172, 178), (130, 132, 138), (200, 200, 205)), (0.08, 0.03, 0.02), spec=0.7, round=0.3),
    "brass": Material(((190, 150, 60), (170, 130, 50)), (0.06, 0.03, 0.02), spec=0.7),
    "dark_metal": Material(((40, 42, 45), (35, 50, 40), (60, 60, 62)), (0.04, 0.03, 0.03), spec=0.4),
    "smoke": Material(((200, 200, 200), (150, 150, 155)), (0.15, 0.1, 0.0), round=0.5, alpha=0.7),
    "ceramic": Material(((240, 238, 230), (200, 40, 40), (40, 80, 160), (230, 200, 60), (60, 140, 120), (235, 225, 200), (30, 30, 30)), (0.03, 0.02, 0.02), spec=0.6, round=0.45),
    "interior": Material(((60, 40, 30), (45, 40, 38)), (0.04, 0.03, 0.03), round=0.5),
    "accent": Material(_BRIGHT, (0.03, 0.02, 0.02)),
    "glass": Material(((60, 120, 50), (120, 70, 25), (170, 200, 200), (40, 80, 150)), (0.05, 0.02, 0.01), spec=0.8, alpha=0.85, round=0.4),
    "cap": Material(((190, 170, 80), (200, 40, 40), (40, 40, 40), (230, 230, 230)), (0.03, 0.02, 0.02), spec=0.5),
    "label": Material(((240, 230, 200), (200, 40, 40), (40, 60, 130), (240, 240, 240)), (0.03, 0.02, 0.02), round=0.2),
    "glassware": Material(((225, 235, 240),), (0.02, 0.01, 0.0), spec=0.9, alpha=0.45, round=0.8),
    "wine": Material(((120, 15, 30), (230, 210, 120), (180, 30, 40)), (0.03, 0.0, 0.0), alpha=0.85, spec=0.4),
    "pail": Material(((170, 172, 178), (200, 50, 40), (40, 90, 170), (230, 180, 40)), (0.06, 0.03, 0.03), spec=0.5),
    "trunk": Material(((100, 70, 45), (80, 55, 40), (120, 90, 60)), (0.06, 0.05, 0.08), streaks=0.15, round=0.4),
    "foliage": Material(((60, 130, 50), (90, 150, 50), (40, 100, 45), (120, 150, 50)), (0.1, 0.12, 0.12), round=0.4),
    "foliage_dark": Material(((30, 85, 45), (40, 100, 60), (25, 70, 40)), (0.08, 0.1, 0.12), round=0.35),
    "coconut": Material(((110, 80, 40),), (0.05, 0.05, 0.05)),
    "cactus": Material(((70, 130, 70), (90, 145, 80)), (0.05, 0.05, 0.06), streaks=0.1, round=0.5),
    "terracotta": Material(((185, 95, 60), (160, 80, 55)), (0.05, 0.05, 0.06), round=0.35),
    "petal": Material(((250, 250, 245), (245, 215, 60), (230, 120, 170), (240, 150, 60)), (0.03, 0.03, 0.03), round=0.3),
    "stem": Material(((70, 130, 55),), (0.04, 0.03, 0.03)),
    "flower_center": Material(((230, 170, 30), (120, 70, 30)), (0.06, 0.1, 0.12), round=0.5),
    "cream": Material(((235, 225, 200), (220, 210, 185)), (0.05, 0.04, 0.04), round=0.4),
    "mushroom_cap": Material(((200, 35, 30), (150, 90, 50), (220, 130, 50)), (0.05, 0.04, 0.04), spec=0.3, round=0.5),
    "fabric": Material(((240, 230, 200), (230, 215, 180), (200, 60, 50), (60, 90, 80), (240, 240, 235)), (0.04, 0.06, 0.08), round=0.2),
    "wax": Material(((245, 240, 225), (230, 60, 50), (245, 230, 180)), (0.03, 0.02, 0.02), round=0.4, spec=0.2),
    "fur": Material(((150, 110, 80),), (0.06, 0.08, 0.14), round=0.45),
    "fur_dark": Material(((90, 60, 40),), (0.06, 0.08, 0.14), round=0.45),
    "fur_light": Material(((235, 225, 210),), (0.05, 0.06, 0.1), round=0.3),
    "fur_inner": Material(((230, 170, 170),), (0.04, 0.04, 0.05), round=0.3),
    "iris": Material(((200, 180, 40), (120, 170, 60), (220, 140, 30)), (0.04, 0.05, 0.05), spec=0.6, round=0.3),
    "nose": Material(((220, 130, 140), (60, 40, 40)), (0.03, 0.03, 0.03), spec=0.4),
    "tongue": Material(((225, 95, 110),), (0.03, 0.03, 0.03), spec=0.4),
    "feather": Material(((130, 95, 60), (150, 130, 110), (100, 80, 60)), (0.06, 0.1, 0.14), round=0.4),
    "feather_dark": Material(((90, 65, 45), (100, 90, 80)), (0.06, 0.1, 0.14), streaks=0.1, round=0.4),
    "beak": Material(((220, 160, 40), (120, 110, 100)), (0.04, 0.03, 0.03), spec=0.3),
    "pig": Material(((240, 175, 170), (230, 160, 150)), (0.04, 0.04, 0.05), round=0.45),
    "pig_dark": Material(((225, 140, 140),), (0.04, 0.04, 0.05), round=0.45, spec=0.2),
    "wood": Material(((160, 110, 60), (130, 85, 45), (190, 140, 80)), (0.05, 0.04, 0.04), streaks=0.2, round=0.3),
    "wood_light": Material(((210, 150, 80), (180, 100, 40), (150, 60, 30)), (0.05, 0.04, 0.03), streaks=0.12, spec=0.5, round=0.35),
    "wood_dark": Material(((60, 40, 30), (90, 55, 35)), (0.04, 0.03, 0.03), streaks=0.15, spec=0.3),
    "wood_hull": Material(((170, 110, 60), (190, 50, 40), (60, 110, 70), (40, 70, 130)), (0.05, 0.04, 0.04), streaks=0.15, spec=0.4),
    "plastic": Material(_BRIGHT + ((40, 40, 45), (220, 220, 225), (150, 150, 155)), (0.03, 0.02, 0.02), spec=0.5, round=0.45),
    "plastic_dark": Material(((35, 35, 40), (60, 60, 65), (25, 25, 28)), (0.03, 0.02, 0.02), spec=0.4),
    "bristle": Material(((210, 180, 130), (40, 35, 30)), (0.04, 0.06, 0.12), streaks=0.2),
    "paint": Material(_BRIGHT, (0.05, 0.04, 0.03), spec=0.5),
    "clock_body": Material(((200, 40, 40), (40, 80, 160), (180, 180, 185), (30, 30, 30), (230, 190, 40)), (0.03, 0.02, 0.02), spec=0.7, round=0.4),
    "clock_face": Material(((245, 243, 235), (240, 235, 215)), (0.02, 0.02, 0.02), round=0.15),
    "screen": Material(((30, 40, 60), (40, 60, 90), (90, 130, 170)), (0.2, 0.04, 0.01), spec=0.6, round=0.1),
    "water": Material(((60, 110, 170),), (0.05, 0.03, 0.03), round=0.0),
    "hull": Material(((240, 240, 240), (40, 40, 45), (170, 40, 35), (40, 70, 130)), (0.04, 0.03, 0.03), spec=0.4),
    "sail": Material(((245, 242, 230), (235, 225, 200), (200, 60, 50)), (0.04, 0.04, 0.03), round=0.15),
    "funnel": Material(((200, 40, 30), (230, 180, 40), (30, 30, 30)), (0.03, 0.02, 0.02), spec=0.3),
}


# ---------------------------------------------------------------- small numeric helpers

def _noise(rng: np.random.Generator, cells: tuple[int, int], size: int) -> np.ndarray:
    """Smooth noise in about [-1, 1]: random values on a coarse grid, upsampled bicubically."""
    small = Image.fromarray(rng.standard_normal(cells).astype(np.float32), mode="F")
    return np.asarray(small.resize((size, size), Image.BICUBIC), dtype=np.float32)


def _sub_rngs(key: list[int], n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(key).spawn(n)]


def _class_seed(seed: int, class_name: str) -> list[int]:
    """The class takes part in the seed, so one seed gives unrelated scenes for different classes."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return [int(seed), zlib.crc32(class_name.encode("utf-8"))]


@dataclass(frozen=True)
class _Pose:
    cx: float
    cy: float
    scale: float  # pixels per object unit
    angle: float
    flip: bool
    aspect: float  # x stretch
    keystone: float  # x scale changes with y: a cheap out-of-plane tilt

    def apply(self, pts: np.ndarray) -> np.ndarray:
        p = np.array(pts, dtype=float)
        if self.flip:
            p[:, 0] = -p[:, 0]
        p[:, 0] *= self.aspect * (1.0 + self.keystone * p[:, 1])
        p = rotate(p, self.angle)
        return p * self.scale + (self.cx, self.cy)


def _random_pose(rng: np.random.Generator, canvas: int, *, photo: bool) -> _Pose:
    if photo:  # photos: wide range of scale and position, objects may touch the frame
        return _Pose(canvas * (0.5 + rng.uniform(-0.13, 0.13)), canvas * (0.5 + rng.uniform(-0.1, 0.1)), canvas / 2 * rng.uniform(0.5, 0.88),
                     rng.normal(0, 0.14), rng.random() < 0.5, rng.uniform(0.8, 1.2), rng.uniform(-0.18, 0.18))
    return _Pose(canvas * (0.5 + rng.uniform(-0.05, 0.05)), canvas * (0.5 + rng.uniform(-0.05, 0.05)), canvas / 2 * rng.uniform(0.68, 0.9),
                 rng.normal(0, 0.1), rng.random() < 0.5, rng.uniform(0.85, 1.15), rng.uniform(-0.08, 0.08))


def _class(class_name: str) -> SyntheticClass:
    try:
        return SYNTHETIC_CLASSES[class_name]
    except KeyError:
        raise ValueError(f"unknown synthetic class {class_name!r}; choose one of {sorted(SYNTHETIC_CLASSES)}") from None


def _check_size(size: int) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or size < 16:
        raise ValueError(f"size/image_size must be an int >= 16, got {size!r}")


# ---------------------------------------------------------------- photos

def _muted(rng: np.random.Generator, sat=(0.05, 0.45), val=(0.3, 0.95)) -> np.ndarray:
    """A natural-looking colour: any hue, limited saturation (0-255 RGB)."""
    return np.array(colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(*sat), rng.uniform(*val))) * 255


def _background(rng: np.random.Generator, n: int) -> np.ndarray:
    """A scene behind the object: outdoor, indoor, studio backdrop or busy, with out-of-focus clutter."""
    y = np.linspace(0, 1, n, dtype=np.float32)[:, None, None]
    kind = rng.choice(["outdoor", "indoor", "studio", "busy"], p=[0.32, 0.34, 0.14, 0.2])
    horizon = rng.uniform(0.5, 0.85)
    if kind == "outdoor":
        sky_top = np.array([(90, 140, 210), (150, 180, 215), (200, 205, 210), (235, 175, 130)][rng.integers(4)])
        ground = np.array([(90, 130, 60), (120, 145, 70), (190, 170, 130), (120, 120, 118), (140, 115, 90)][rng.integers(5)])
        sky = sky_top + (np.array((228, 232, 236)) - sky_top) * (y / horizon)
        arr = np.where(y < horizon, sky, ground * (0.8 + 0.5 * (y - horizon)))
    elif kind == "indoor":
        wall, floor = _muted(rng, val=(0.55, 0.95)), _muted(rng, sat=(0.1, 0.6), val=(0.25, 0.8))
        arr = np.where(y < horizon, wall * (1.05 - 0.25 * y), floor * (0.7 + 0.4 * y))
    elif kind == "studio":  # a paper backdrop curving into the floor
        c0 = _muted(rng, sat=(0.0, 0.3), val=(0.5, 1.0))
        arr = c0 * (1.0 - 0.35 * np.abs(y - horizon))
    else:
        # mottled out-of-focus scene: brightness varies a lot, hue only a little
        tint = 1 + 0.1 * np.stack([_noise(rng, (4, 4), n) for _ in range(3)], -1)
        arr = _muted(rng)[None, None, :] * (1 + 0.3 * _noise(rng, (5, 5), n))[..., None] * tint
    img = Image.fromarray(np.clip(arr * np.ones((1, n, 1)), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    if kind == "outdoor":
        for _ in range(rng.integers(1, 4)):  # hills, bushes, clouds
            cx, w = rng.uniform(0, n), rng.uniform(0.2, 0.7) * n
            if rng.random() < 0.5:
                col = tuple(int(c) for c in ground * rng.uniform(0.6, 0.9))
                draw.polygon([tuple(p) for p in blob(cx, horizon * n, w / 2, rng.uniform(0.05, 0.2) * n, int(rng.integers(3, 8)), 0.2)], fill=col)
            else:
                draw.polygon([tuple(p) for p in blob(cx, rng.uniform(0.05, 0.4) * n, w / 3, 0.06 * n, int(rng.integers(4, 9)), 0.3)], fill=(245, 245, 248))
    if kind == "indoor":
        for _ in range(rng.integers(1, 4)):  # frames, windows and shelves on the wall
            x0, y0 = rng.uniform(-0.1, 0.9) * n, rng.uniform(0.0, horizon - 0.1) * n
            w, h = rng.uniform(0.1, 0.35) * n, rng.uniform(0.08, 0.3) * n
            col = _muted(rng, sat=(0.0, 0.6))
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=tuple(int(c) for c in col), outline=tuple(int(c * 0.5) for c in col), width=max(1, n // 60))
    for _ in range(rng.integers(3, 9) if kind != "studio" else rng.integers(0, 2)):  # other things in the scene
        col = tuple(int(c) for c in _muted(rng, sat=(0.05, 0.7), val=(0.15, 0.95)))
        cx, r = rng.uniform(0, n), rng.uniform(0.04, 0.2) * n
        cy = (horizon + rng.uniform(-0.05, 0.3)) * n if kind in ("indoor", "outdoor") else rng.uniform(0.1, 1.0) * n
        shape = rng.integers(4)
        if shape == 0:
            draw.ellipse([cx - r, cy - r * rng.uniform(0.4, 1.2), cx + r, cy + r * 0.4], fill=col)
        elif shape == 1:  # boxes standing on the floor
            draw.rectangle([cx - r, cy - r * rng.uniform(0.5, 2.5), cx + r * rng.uniform(0.3, 1), cy], fill=col)
        elif shape == 2:  # cans and bottles
            draw.rounded_rectangle([cx - r * 0.35, cy - r * rng.uniform(1.0, 2.5), cx + r * 0.35, cy], radius=r * 0.2, fill=col)
        else:
            draw.line([(cx, cy), (cx + rng.normal(0, 0.3) * n, cy + rng.normal(0, 0.3) * n)], fill=col, width=int(max(1, r / 4)))
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 3.0) * n / 128))  # out of focus
    arr = np.asarray(img, dtype=np.float32) / 255.0
    light = 0.12 * _noise(rng, (3, 3), n)[..., None] + 0.035 * _noise(rng, (n // 4, n // 4), n)[..., None]
    return np.clip(arr * (1 + light), 0, 1)


def _part_mask(pts: np.ndarray, width: float, closed: bool, box: tuple[int, int, int, int]) -> Image.Image:
    """Anti-aliased coverage of one part inside `box`: drawn at 2x, then averaged down."""
    x0, y0, x1, y1 = box
    m = Image.new("L", (2 * (x1 - x0), 2 * (y1 - y0)), 0)
    d = ImageDraw.Draw(m)
    local = ((pts - (x0, y0)) * 2).ravel().tolist()
    if width > 0:
        if closed:
            local += local[:2]
        d.line(local, fill=255, width=max(1, int(round(2 * width))), joint="curve")
    else:
        d.polygon(local, fill=255)
    return m.reduce(2)


def _soft(mask: Image.Image, radius: float, box: bool = False) -> np.ndarray:
    """A blurred mask in [0, 1] (Gaussian, or a cheaper box blur; large radii blur at reduced resolution)."""
    f = int(max(1, min(4, radius // 2)))
    small = mask.reduce(f) if f > 1 else mask
    blurred = small.filter((ImageFilter.BoxBlur if box else ImageFilter.GaussianBlur)(float(radius / f)))
    if f > 1:
        blurred = blurred.resize(mask.size, Image.BILINEAR)
    return np.asarray(blurred, dtype=np.float32) / 255.0


def draw_photo(class_name: str, *, seed: int, size: int = 128) -> Image.Image:
    """One photo-like RGB image of `class_name`: a coloured, textured, shaded instance in a cluttered scene.

    Pure function of (class_name, seed, size). Pose, scale, position, lighting, colours, texture,
    background, blur and sensor noise vary with `seed`; part outlines are anti-aliased.
    """
    spec = _class(class_name)
    _check_size(size)
    r_geom, r_pose, r_look, r_bg = _sub_rngs(_class_seed(seed, class_name), 4)
    n = size
    parts = spec.build(Var(r_geom))
    pose = _random_pose(r_pose, n, photo=True)
    canvas = _background(r_bg, n)
    palette = dict(spec.palette)

    # per-image lighting and texture fields, shared by all parts so surfaces look lit by one light
    theta = r_look.uniform(0, 2 * math.pi)
    light_dir = np.array([math.cos(theta), math.sin(theta)])
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / n
    ramp = 1.0 + r_look.uniform(0.15, 0.45) * ((xx - 0.5) * light_dir[0] + (yy - 0.5) * light_dir[1])
    fields = (_noise(r_look, (5, 5), n), _noise(r_look, (n // 10, n // 10), n), r_look.standard_normal((n, n)).astype(np.float32) * 0.6)
    streak = _noise(r_look, (n // 3, 3), n)

    pix = [(p, pose.apply(p.points), p.width * pose.scale) for p in parts]
    # soft cast shadow: the blurred silhouette, shifted away from the light
    sil = Image.new("L", (n, n), 0)
    sd = ImageDraw.Draw(sil)
    for part, pts, w in pix:
        if w > 0:
            sd.line(pts.ravel().tolist(), fill=255, width=max(1, int(w)))
        else:
            sd.polygon(pts.ravel().tolist(), fill=255)
    off = (-light_dir * n * r_look.uniform(0.02, 0.06)).astype(int)
    shadow = _soft(ImageChops.offset(sil, int(off[0]), int(off[1])), n * 0.025)
    canvas *= 1.0 - r_look.uniform(0.3, 0.55) * shadow[..., None]

    colours: dict[str, np.ndarray] = {}
    glow = Image.new("L", (n, n), 0)
    for part, pts, w in pix:
        mat = MATERIALS[part.material]
        if part.material not in colours:
            choices = palette.get(part.material, mat.colors)
            base = np.array(choices[int(r_look.integers(len(choices)))], dtype=np.float32) / 255.0
            colours[part.material] = np.clip(base * r_look.uniform(0.9, 1.1) * r_look.uniform(0.94, 1.06, 3), 0, 1)
        pad = int(w) + 2
        x0, y0 = np.floor(pts.min(0)).astype(int) - pad
        x1, y1 = np.ceil(pts.max(0)).astype(int) + pad
        x0, y0, x1, y1 = int(max(x0, 0)), int(max(y0, 0)), int(min(x1, n)), int(min(y1, n))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        m_img = _part_mask(pts, w, part.closed, (x0, y0, x1, y1))
        mask = np.asarray(m_img, dtype=np.float32) / 255.0
        sl = (slice(y0, y1), slice(x0, x1))
        if mat.emissive:
            shade = np.ones_like(mask)
            glow.paste(ImageChops.lighter(glow.crop((x0, y0, x1, y1)), m_img), (x0, y0))
        else:
            shade = ramp[sl].copy()
            if mat.round > 0:  # darken near the outline: blurred mask ~0.5 at the edge, 1 deep inside
                shade *= 1.0 - mat.round * (1.0 - _soft(m_img, max(0.7, 0.1 * min(x1 - x0, y1 - y0)), box=True))
            tex = mat.tex[0] * fields[0][sl] + mat.tex[1] * fields[1][sl] + mat.tex[2] * fields[2][sl] + mat.streaks * streak[sl]
            shade *= 1.0 + tex
        rgb = colours[part.material][None, None, :] * shade[..., None]
        if mat.spec > 0:  # a highlight on the lit side of the part
            cx, cy = (x0 + x1) / 2 + light_dir[0] * 0.22 * (x1 - x0), (y0 + y1) / 2 + light_dir[1] * 0.22 * (y1 - y0)
            sig = 0.18 * max(x1 - x0, y1 - y0) + 0.5
            g = np.exp(-(((xx[sl] * n - cx) ** 2 + (yy[sl] * n - cy) ** 2) / (2 * sig ** 2)))
            rgb = rgb + mat.spec * 0.6 * g[..., None] * (1 - rgb)
        a = mask[..., None] * mat.alpha
        canvas[sl] = canvas[sl] * (1 - a) + np.clip(rgb, 0, 1) * a
    if glow.getbbox():
        halo = _soft(glow, n * 0.05)[..., None]
        canvas = canvas + 0.5 * halo * (np.array([1.0, 0.85, 0.5]) - canvas * 0.5)

    if r_look.random() < 0.2:  # something in front, at the edge of the frame
        occ = Image.new("L", (n, n), 0)
        side = r_look.integers(4)
        cx, cy = [(0, r_look.uniform(0, n)), (n, r_look.uniform(0, n)), (r_look.uniform(0, n), n), (r_look.uniform(0, n), 0)][side]
        ImageDraw.Draw(occ).ellipse([cx - n * 0.15, cy - n * 0.12, cx + n * 0.15, cy + n * 0.12], fill=255)
        a = _soft(occ, n * 0.01)[..., None]
        canvas = canvas * (1 - a) + a * (r_look.uniform(0.1, 0.9, 3) * (1 + 0.1 * fields[1][..., None]))

    # camera: exposure, white balance, vignette, lens blur, sensor noise
    canvas = canvas * (r_look.uniform(0.85, 1.15) * (1 + r_look.normal(0, 0.05, 3)))
    canvas *= 1 - 0.5 * r_look.uniform(0, 1) * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2)[..., None]
    canvas += r_look.normal(0, r_look.uniform(0.004, 0.02), (n, n, 1))
    img = Image.fromarray((np.clip(canvas, 0, 1) * 255).astype(np.uint8))
    return img.filter(ImageFilter.GaussianBlur(r_look.uniform(0.0, 0.6) * size / 128))


# ---------------------------------------------------------------- sketches

def _resample(p: np.ndarray, step: float) -> np.ndarray:
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    count = int(np.clip(s[-1] / step, 2, 600)) + 1
    t = np.linspace(0, s[-1], count)
    return np.stack([np.interp(t, s, p[:, 0]), np.interp(t, s, p[:, 1])], 1)


def _wobble(q: np.ndarray, rng: np.random.Generator, amp: float, corr: float) -> np.ndarray:
    """Offset points along their normals by smooth noise (a hand's drift) plus a little tremor."""
    if len(q) < 3:
        return q
    length = float(np.linalg.norm(np.diff(q, axis=0), axis=1).sum())
    knots = max(2, int(length / corr) + 1)
    drift = np.interp(np.linspace(0, knots, len(q)), np.arange(knots + 1), rng.standard_normal(knots + 1))
    tremor = np.convolve(rng.standard_normal(len(q) + 4), np.ones(5) / 5, mode="valid")[: len(q)]
    d = np.gradient(q, axis=0)
    d /= np.linalg.norm(d, axis=1, keepdims=True) + 1e-9
    normal = np.stack([-d[:, 1], d[:, 0]], 1)
    return q + normal * (amp * (drift + 0.25 * tremor))[:, None]


def _stroke(draw: ImageDraw.ImageDraw, pts: np.ndarray, closed: bool, rng: np.random.Generator, style: dict) -> None:
    p = np.asarray(pts, dtype=float)
    if closed:
        p = np.roll(p, -int(rng.integers(len(p))), axis=0)  # a sketcher starts anywhere on a loop
        p = np.vstack([p, p[:1]])
    q = _resample(p, style["step"])
    k = len(q)
    if k < 3:
        return
    end = rng.uniform(-0.1, 0.12)  # < 0: the stroke stops short, > 0: it runs on past its start (over-drawn)
    if closed and end > 0:
        q = np.vstack([q, q[1: max(2, int(end * k))]])
    elif end < 0:
        cut = int(-end * k * (0.5 if closed else 0.4))
        q = q[: k - cut] if rng.random() < 0.5 else q[cut:]
    if not closed and rng.random() < 0.3:  # overshoot an open stroke tangentially
        q = np.vstack([q, q[-1] + (q[-1] - q[-2]) * np.arange(1, 4)[:, None]])
    passes = 2 if rng.random() < style["overdraw"] else 1
    for _ in range(passes):
        w = _wobble(q, rng, style["wobble"], style["corr"]) + rng.normal(0, style["wobble"] * 0.6, 2)
        if rng.random() < style["gap"] and len(w) > 12:  # a pen lift in the middle
            g0 = int(rng.integers(3, len(w) - 8))
            pieces = [w[:g0], w[g0 + int(rng.integers(2, 5)):]]
        else:
            pieces = [w]
        for piece in pieces:
            for c0 in range(0, len(piece) - 1, 20):  # pressure varies along the stroke
                chunk = piece[c0: c0 + 21]
                if len(chunk) >= 2:
                    draw.line(chunk.ravel().tolist(), fill=style["ink"], width=max(1, int(round(style["width"] * rng.uniform(0.7, 1.3)))), joint="curve")


def _hatch(canvas: Image.Image, pts: np.ndarray, rng: np.random.Generator, style: dict) -> None:
    """Shade a dark region with parallel strokes, clipped to its outline."""
    n = canvas.size[0]
    mask = Image.new("L", (n, n), 0)
    ImageDraw.Draw(mask).polygon(pts.ravel().tolist(), fill=255)
    layer = Image.new("L", (n, n), 255)
    d = ImageDraw.Draw(layer)
    a = rng.uniform(0.5, 1.1) * rng.choice([-1, 1])
    gap = max(3.0, style["width"] * rng.uniform(2.0, 3.5))
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    span = (x1 - x0) + (y1 - y0)
    for t in np.arange(-span, span, gap):
        p0 = np.array([x0 + t, y0])
        d.line([tuple(p0), tuple(p0 + span * np.array([math.cos(a), math.sin(a)]))], fill=style["ink"], width=max(1, int(style["width"] * 0.6)))
    canvas.paste(ImageChops.darker(canvas, layer), (0, 0), mask)


def _is_smooth(pts: np.ndarray) -> bool:
    """True for curves (ellipses, splines); False for outlines with many corners (battlements, zigzags)."""
    d = np.diff(pts, axis=0)
    ang = np.arctan2(d[:, 1], d[:, 0])
    turn = np.abs((np.diff(ang) + math.pi) % (2 * math.pi) - math.pi)
    return bool(np.mean(turn > 0.8) < 0.12)


def draw_sketch(class_name: str, *, seed: int, size: int = 128) -> Image.Image:
    """One free-hand-looking sketch of `class_name`: dark wobbly strokes on white, as an RGB image.

    Pure function of (class_name, seed, size). Each sketch has its own abstraction level: abstract
    sketches leave out minor parts, straighten curves and wobble more; any sketch may stop strokes
    short, run over them, retrace them, misplace parts slightly and vary the pen width.
    """
    spec = _class(class_name)
    _check_size(size)
    r_geom, r_pose, r_hand = _sub_rngs(_class_seed(seed, class_name), 3)
    n = 2 * size
    parts = spec.build(Var(r_geom))
    pose = _random_pose(r_pose, n, photo=False)
    abstraction = r_hand.uniform(0, 1)
    style = dict(width=r_hand.uniform(1.0, 2.8) * n / 128, ink=int(r_hand.integers(0, 70)), step=n * 0.008,
                 wobble=n * (0.004 + 0.011 * abstraction), corr=n * r_hand.uniform(0.05, 0.12),
                 overdraw=r_hand.uniform(0.05, 0.4), gap=r_hand.uniform(0.0, 0.25))
    canvas = Image.new("L", (n, n), 255)
    draw = ImageDraw.Draw(canvas)
    for part in parts:
        if r_hand.random() < (1.0 - part.importance) * (0.25 + 0.7 * abstraction):
            continue  # left out, as sketchers skip details
        pts = part.points
        if len(pts) > 10 and _is_smooth(pts) and r_hand.random() < 0.6 * abstraction:  # curves become a few segments
            pts = pts[:: int(r_hand.integers(2, 5))]
        # each part is placed by hand: a little off in position, angle and size
        c = pts.mean(0)
        pts = rotate((pts - c) * r_hand.normal(1, 0.04), r_hand.normal(0, 0.04)) + c + r_hand.normal(0, 0.02, 2)
        pix = pose.apply(pts)
        extent = float(np.ptp(pix, axis=0).max())
        if part.width == 0 and part.material == "dark" and extent < 0.07 * n:
            draw.polygon(pix.ravel().tolist(), fill=style["ink"])  # pupils, nostrils: filled dots
            continue
        if part.width == 0 and part.material in ("dark", "window", "screen", "interior") and extent > 0.07 * n and r_hand.random() < 0.25:
            _hatch(canvas, pix, r_hand, style)
        _stroke(draw, pix, part.closed, r_hand, style)
    return canvas.reduce(2).convert("RGB")


# ---------------------------------------------------------------- class listing and semantic mask

def list_synthetic_classes() -> list[dict]:
    """One row per class: name, family, split, role, ImageNet indices and a description (pandas-ready)."""
    return [dict(name=c.name, family=c.family, split=c.split, role=c.role, imagenet=list(c.imagenet), description=c.description)
            for c in SYNTHETIC_CLASSES.values()]


def semantic_mask(seen_classes: Sequence[str]) -> dict[str, np.ndarray]:
    """Mask rows (float32[1000]) for `seen_classes`: see the module docstring for the rule."""
    rows = {}
    for name in seen_classes:
        own = _class(name)
        row = np.zeros(1000, dtype=np.float32)
        if own.imagenet:
            for other in seen_classes:
                sib = SYNTHETIC_CLASSES[other]
                if other != name and sib.family == own.family:
                    row[list(sib.imagenet)] = SIBLING_WEIGHT
            row[list(own.imagenet)] = 1.0
        rows[name] = row
    return rows


# ---------------------------------------------------------------- writing a benchmark

def _image_seed(seed: int, class_name: str, modality: str, split: str, index: int) -> int:
    key = [seed, zlib.crc32(class_name.encode()), zlib.crc32(modality.encode()), zlib.crc32(split.encode()), index]
    return int(np.random.SeedSequence(key).generate_state(1)[0])


def _render_job(job: tuple) -> int:
    out_dir, rel, class_name, modality, image_seed, size = job
    path = Path(out_dir) / rel
    if modality == "sketch":
        draw_sketch(class_name, seed=image_seed, size=size).convert("L").save(path, format="PNG")
    else:  # JPEG quality varies like in a crawled photo set
        quality = 60 + image_seed % 33
        draw_photo(class_name, seed=image_seed, size=size).save(path, format="JPEG", quality=quality)
    return 1


def _render_chunk(jobs: list[tuple]) -> int:
    return sum(_render_job(j) for j in jobs)


def _plan(classes: Sequence[str], seed: int, counts: dict[str, int]) -> tuple[dict[str, list[str]], list[tuple]]:
    """File-list lines and render jobs; labels number seen and unseen classes separately from 0."""
    seen = [c for c in classes if SYNTHETIC_CLASSES[c].split == "seen"]
    unseen = [c for c in classes if SYNTHETIC_CLASSES[c].split == "unseen"]
    lists: dict[str, list[str]] = {name: [] for name in LIST_NAMES}
    jobs = []
    plan = [("sketch", "train", seen, "sketches_per_class"), ("sketch", "test", seen, "test_sketches_per_class"),
            ("photo", "train", seen, "photos_per_class"), ("sketch", "zero", unseen, "unseen_sketches_per_class"),
            ("photo", "zero", unseen, "unseen_photos_per_class")]
    for modality, split, names, count_key in plan:
        ext = "png" if modality == "sketch" else "jpg"
        for label, name in enumerate(names):
            for i in range(counts[count_key]):
                rel = f"{modality}/{name}/{split}_{i:04d}.{ext}"
                lists[f"{modality}_filelist_{split}.txt"].append(f"{rel} {label}")
                jobs.append((rel, name, modality, _image_seed(seed, name, modality, split, i)))
    return lists, jobs


def _meta(params: dict, classes: Sequence[str]) -> dict:
    seen = [c for c in classes if SYNTHETIC_CLASSES[c].split == "seen"]
    unseen = [c for c in classes if SYNTHETIC_CLASSES[c].split == "unseen"]
    families = {}
    for c in classes:
        families.setdefault(SYNTHETIC_CLASSES[c].family, []).append(c)
    return {
        "generator": "sbka_lite.data.synthetic",
        "version": GENERATOR_VERSION,
        "parameters": params,
        "split": {"seen": seen, "unseen": unseen},
        "families": families,
        "classes": {c: {"family": SYNTHETIC_CLASSES[c].family, "split": SYNTHETIC_CLASSES[c].split, "role": SYNTHETIC_CLASSES[c].role,
                        "label": (seen if SYNTHETIC_CLASSES[c].split == "seen" else unseen).index(c),
                        "imagenet": {str(i): IMAGENET_NAMES[i] for i in SYNTHETIC_CLASSES[c].imagenet},
                        "description": SYNTHETIC_CLASSES[c].description} for c in classes},
        "semantic_mask_rule": f"1.0 on a seen class's own ImageNet classes, {SIBLING_WEIGHT} on those of the other seen classes "
                              "of its family; all zeros when the class has no ImageNet counterpart; unseen classes never enter a row",
        "layout": {"zero_folder": ZERO_FOLDER, "lists": list(LIST_NAMES), "sketch_format": "PNG (grayscale)", "photo_format": "JPEG"},
    }


def _is_complete(root: Path) -> bool:
    """All lists, class files and mask exist and every listed image is on disk."""
    zero = root / ZERO_FOLDER
    needed = [zero / n for n in LIST_NAMES] + [zero / "cname_cid.txt", zero / "cname_cid_zero.txt", zero / "cid_mask.pickle", root / META_FILE]
    if not all(p.is_file() for p in needed):
        return False
    for name in LIST_NAMES:
        for line in (zero / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not (root / line.rsplit(" ", 1)[0]).is_file():
                return False
    return True


def _read_meta(root: Path) -> dict | None:
    try:
        return json.loads((root / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _remove_stale_partials(root: Path) -> None:
    """Delete leftovers of interrupted runs (their process is gone); a live run's folder is left alone."""
    prefix = f".{root.name}.partial-"
    for folder in [p for p in root.parent.iterdir() if p.name.startswith(prefix)]:
        try:
            pid = int(folder.name.rsplit("-", 2)[-2])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (ValueError, IndexError, PermissionError):
            pass


def _check_count(name: str, value: int, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def make_synthetic_benchmark(
    root: str | os.PathLike,
    *,
    seed: int = 0,
    image_size: int = 128,
    sketches_per_class: int = 40,
    test_sketches_per_class: int = 8,
    photos_per_class: int = 40,
    unseen_sketches_per_class: int = 30,
    unseen_photos_per_class: int = 40,
    classes: Iterable[str] | None = None,
    n_workers: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Write the synthetic sketch/photo benchmark under `root` in the SAKE layout and return `root`.

    Args:
        root: target folder. It must not exist, be empty, or hold a synthetic benchmark.
        seed: the whole benchmark is a pure function of the seed and the parameters below.
        image_size: side of the square images in pixels (>= 16).
        sketches_per_class / test_sketches_per_class / photos_per_class: per *seen* class, images in
            the train sketch, held-out test sketch and train photo lists.
        unseen_sketches_per_class / unseen_photos_per_class: per *unseen* class (zero lists).
        classes: a subset of `SYNTHETIC_CLASSES` names (keeps each class's fixed split; must hold at
            least one seen and one unseen class); None means all 54. A class's images do not depend
            on which other classes are chosen.
        n_workers: processes for rendering; None means os.cpu_count(), 1 renders in this process.
        force: replace an existing synthetic benchmark made with other parameters. Folders that do
            not hold a synthetic benchmark are never overwritten.
        progress: show a progress bar and print the generation time.

    If `root` already holds a complete benchmark with identical parameters it is returned at once.
    The benchmark is written to a hidden sibling folder and renamed into place at the end, so an
    interrupted run never leaves a half-written benchmark at `root`.
    """
    root = Path(root).expanduser().absolute()
    _check_size(image_size)
    counts = {"sketches_per_class": _check_count("sketches_per_class", sketches_per_class, 1),
              "test_sketches_per_class": _check_count("test_sketches_per_class", test_sketches_per_class, 0),
              "photos_per_class": _check_count("photos_per_class", photos_per_class, 1),
              "unseen_sketches_per_class": _check_count("unseen_sketches_per_class", unseen_sketches_per_class, 1),
              "unseen_photos_per_class": _check_count("unseen_photos_per_class", unseen_photos_per_class, 1)}
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if n_workers is not None:
        _check_count("n_workers", n_workers, 1)
    chosen = list(SYNTHETIC_CLASSES) if classes is None else list(dict.fromkeys(classes))
    unknown = [c for c in chosen if c not in SYNTHETIC_CLASSES]
    if unknown:
        raise ValueError(f"unknown synthetic classes {unknown}; choose from {list(SYNTHETIC_CLASSES)}")
    chosen = [c for c in SYNTHETIC_CLASSES if c in chosen]  # catalogue order, so labels do not depend on argument order
    if not any(SYNTHETIC_CLASSES[c].split == "seen" for c in chosen) or not any(SYNTHETIC_CLASSES[c].split == "unseen" for c in chosen):
        raise ValueError(f"classes must include at least one seen and one unseen class, got {chosen}")
    params = {"seed": seed, "image_size": image_size, **counts, "classes": chosen}
    meta = _meta(params, chosen)

    if root.exists():
        if not root.is_dir():
            raise FileExistsError(f"{root} exists and is not a folder; pass a folder path for the synthetic benchmark")
        old = _read_meta(root)
        if old is None and any(root.iterdir()):
            raise FileExistsError(f"{root} holds files that are not a synthetic benchmark (no {META_FILE}); refusing to "
                                  "overwrite them: choose a new or empty folder")
        if old is not None:
            if old.get("version") == GENERATOR_VERSION and old.get("parameters") == params and _is_complete(root):
                if progress:
                    print(f"synthetic benchmark already complete at {root} (same parameters); not regenerating")
                return root
            if not force:
                differs = sorted(k for k in set(params) | set(old.get("parameters", {})) if old.get("parameters", {}).get(k) != params.get(k))
                why = f"parameters differ in {differs}" if differs else "it is incomplete or from another generator version"
                raise FileExistsError(f"{root} holds a synthetic benchmark that does not match the request ({why}); "
                                      "pass force=True to regenerate it, or choose another folder")

    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(root)
    tmp = root.parent / f".{root.name}.partial-{os.getpid()}-{time.time_ns()}"
    started = time.perf_counter()
    try:
        lists, plan = _plan(chosen, seed, counts)
        for modality in ("sketch", "photo"):
            for c in chosen:
                (tmp / modality / c).mkdir(parents=True, exist_ok=True)
        jobs = [(str(tmp), rel, name, modality, s, image_size) for rel, name, modality, s in plan]
        workers = max(1, min(n_workers or os.cpu_count() or 1, len(jobs) // 16 or 1))
        _render_all(jobs, workers, progress)
        _write_index(tmp, lists, chosen, meta)
        _install(tmp, root, force)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    if progress:
        print(f"synthetic benchmark: {len(jobs)} images ({image_size} px) in {time.perf_counter() - started:.1f} s "
              f"with {workers} worker(s) -> {root}")
    return root


def _render_all(jobs: list[tuple], workers: int, progress: bool) -> None:
    from tqdm.auto import tqdm

    with tqdm(total=len(jobs), desc="synthetic images", unit="img", disable=not progress) as bar:
        if workers == 1:
            for job in jobs:
                bar.update(_render_job(job))
            return
        chunk = max(4, min(64, len(jobs) // (workers * 8)))
        chunks = [jobs[i: i + chunk] for i in range(0, len(jobs), chunk)]
        # fork on Linux: instant start and no `if __name__ == "__main__"` guard needed in user scripts
        # (workers only use numpy and PIL, so forking a threaded parent such as a Jupyter kernel is safe)
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
            pool = mp.get_context(method).Pool(workers)
        with pool:
            for done in pool.imap_unordered(_render_chunk, chunks):
                bar.update(done)


def _write_index(tmp: Path, lists: dict[str, list[str]], chosen: Sequence[str], meta: dict) -> None:
    zero = tmp / ZERO_FOLDER
    zero.mkdir(parents=True, exist_ok=True)
    for name, lines in lists.items():
        (zero / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    seen, unseen = meta["split"]["seen"], meta["split"]["unseen"]
    (zero / "cname_cid.txt").write_text("".join(f"{c} {i}\n" for i, c in enumerate(seen)), encoding="utf-8")
    (zero / "cname_cid_zero.txt").write_text("".join(f"{c} {i}\n" for i, c in enumerate(unseen)), encoding="utf-8")
    rows = semantic_mask(seen)
    with open(zero / "cid_mask.pickle", "wb") as f:
        pickle.dump({i: rows[c] for i, c in enumerate(seen)}, f, protocol=4)
    # written last: its presence marks a complete benchmark
    (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _install(tmp: Path, root: Path, force: bool) -> None:
    """Move the finished benchmark into place; an old synthetic benchmark is swapped out, then deleted."""
    if root.exists() and not any(root.iterdir()):
        root.rmdir()
    if not root.exists():
        try:
            tmp.rename(root)
            return
        except OSError:
            if not root.exists():
                raise
    # another process finished first, or force=True on an existing synthetic benchmark
    old = _read_meta(root)
    new = _read_meta(tmp)
    if old is not None and new is not None and old == new and _is_complete(root):
        return
    if old is None or not force:
        raise FileExistsError(f"{root} appeared while the benchmark was generated and holds something else; not overwriting it")
    trash = root.parent / f".{root.name}.old-{os.getpid()}-{time.time_ns()}"
    root.rename(trash)
    tmp.rename(root)
    shutil.rmtree(trash, ignore_errors=True)


def render_contact_sheet(class_names: Sequence[str] | None = None, *, per_row: int = 6, size: int = 96, seed: int = 0) -> Image.Image:
    """A grid with, per class, one row of sketches and one row of photos (independent instances)."""
    from PIL import ImageFont

    names = list(class_names or SYNTHETIC_CLASSES)
    label_w = 130
    sheet = Image.new("RGB", (label_w + per_row * size, 2 * len(names) * size), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for r, name in enumerate(names):
        for k in range(per_row):
            sheet.paste(draw_sketch(name, seed=seed * 1000 + k, size=size), (label_w + k * size, 2 * r * size))
            sheet.paste(draw_photo(name, seed=seed * 1000 + 500 + k, size=size), (label_w + k * size, (2 * r + 1) * size))
        split = SYNTHETIC_CLASSES[name].split
        draw.text((4, 2 * r * size + size - 12), f"{name}\n({split})", fill="black", font=font)
    return sheet
