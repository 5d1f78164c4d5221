"""What makes one image: its random streams (derived from the seed, the class and the file) and its pose.

Every image is a pure function of (seed, class name, modality, split, index), so the benchmark is
byte-for-byte reproducible whatever the number of workers.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from .geometry import rotate


def check_size(size: int) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or size < 16:
        raise ValueError(f"size/image_size must be an int >= 16, got {size!r}")


def class_seed(seed: int, class_name: str) -> list[int]:
    """The class takes part in the seed, so one seed gives unrelated scenes for different classes."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return [int(seed), zlib.crc32(class_name.encode("utf-8"))]


def independent_streams(key: list[int], n: int) -> list[np.random.Generator]:
    """`n` unrelated generators from one key (geometry, pose, look... never share draws)."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(key).spawn(n)]


def image_seed(seed: int, class_name: str, modality: str, split: str, index: int) -> int:
    """The seed of one benchmark file: it does not depend on which other files are generated."""
    key = [seed, zlib.crc32(class_name.encode()), zlib.crc32(modality.encode()), zlib.crc32(split.encode()), index]
    return int(np.random.SeedSequence(key).generate_state(1)[0])


@dataclass(frozen=True)
class Pose:
    """Where an object lies on the canvas: object coordinates -> pixels."""

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


def random_pose(rng: np.random.Generator, canvas: int, *, photo: bool) -> Pose:
    """Photos: a wide range of scale and position, objects may touch the frame; sketches: centred and large."""
    if photo:
        return Pose(canvas * (0.5 + rng.uniform(-0.13, 0.13)), canvas * (0.5 + rng.uniform(-0.1, 0.1)), canvas / 2 * rng.uniform(0.5, 0.88),
                    rng.normal(0, 0.14), rng.random() < 0.5, rng.uniform(0.8, 1.2), rng.uniform(-0.18, 0.18))
    return Pose(canvas * (0.5 + rng.uniform(-0.05, 0.05)), canvas * (0.5 + rng.uniform(-0.05, 0.05)), canvas / 2 * rng.uniform(0.68, 0.9),
                rng.normal(0, 0.1), rng.random() < 0.5, rng.uniform(0.85, 1.15), rng.uniform(-0.08, 0.08))
