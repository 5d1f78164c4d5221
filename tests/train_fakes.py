"""A tiny stand-in for `sbka_lite.data.Benchmark`, for the trainer and loader tests.

It writes a handful of small PNGs: class k is a polygon with k + 3 corners, drawn as black
strokes on white (sketches) or filled in a class colour on a tinted background (photos), so a
few training steps can actually learn something. Nothing here depends on the real reader.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

TINY_BACKBONE = "test_efficientnet"  # a timm test model: 356k parameters, BatchNorm, 1000-way head


def _polygon(rng: np.random.Generator, corners: int, size: int) -> list[tuple[float, float]]:
    centre = size / 2 + rng.uniform(-size / 10, size / 10, size=2)
    radius = size * rng.uniform(0.25, 0.4)
    start = rng.uniform(0, 2 * np.pi)
    angles = start + np.arange(corners) * 2 * np.pi / corners
    return [(float(centre[0] + radius * np.cos(a)), float(centre[1] + radius * np.sin(a))) for a in angles]


def draw(label: int, modality: str, seed: int, size: int = 32) -> Image.Image:
    rng = np.random.default_rng(seed)
    points = _polygon(rng, label + 3, size)
    if modality == "sketch":
        image = Image.new("L", (size, size), 255)
        ImageDraw.Draw(image).line(points + points[:1], fill=0, width=2)
        return image
    colour = tuple(int(c) for c in np.array([(70 * label) % 255, (130 + 50 * label) % 255, (200 - 60 * label) % 255]))
    background = tuple(int(c) for c in rng.integers(150, 255, size=3))
    image = Image.new("RGB", (size, size), background)
    ImageDraw.Draw(image).polygon(points, fill=colour)
    return image


class FakeBenchmark:
    """Seen classes c0..c{n_seen-1}, unseen u0..; splits train/test/zero like the real reader."""

    def __init__(self, root: str | Path, *, n_seen: int = 3, n_unseen: int = 2, per_class: int = 6,
                 test_per_class: int = 2, size: int = 32, seed: int = 0) -> None:
        self.root = Path(root)
        self.name = "fake"
        self.seen_classes = [f"c{k}" for k in range(n_seen)]
        self.unseen_classes = [f"u{k}" for k in range(n_unseen)]
        self._items: dict[tuple[str, str], list[tuple[str, str]]] = {}
        plan = [("train", "sketch", self.seen_classes, per_class, 0), ("train", "photo", self.seen_classes, per_class, 0),
                ("test", "sketch", self.seen_classes, test_per_class, 0),
                ("zero", "sketch", self.unseen_classes, per_class, n_seen), ("zero", "photo", self.unseen_classes, per_class, n_seen)]
        counter = 0
        for split, modality, classes, count, offset in plan:
            rows = []
            for k, name in enumerate(classes):
                folder = self.root / split / modality / name
                folder.mkdir(parents=True, exist_ok=True)
                for i in range(count):
                    path = folder / f"{i}.png"
                    if not path.exists():
                        draw(k + offset, modality, seed * 100_000 + counter, size).save(path)
                    counter += 1
                    rows.append((str(path), name))
            self._items[(split, modality)] = rows
        self.semantic_mask = {name: self._mask_row(k) for k, name in enumerate(self.seen_classes)}

    @staticmethod
    def _mask_row(k: int) -> np.ndarray:
        row = np.zeros(1000, dtype=np.float32)
        row[10 * k: 10 * k + 3] = 1.0
        return row

    def items(self, split: str, modality: str) -> list[tuple[str, str]]:
        return list(self._items.get((split, modality), []))

    def mask_matrix(self, classes) -> np.ndarray:
        zeros = np.zeros(1000, dtype=np.float32)
        return np.stack([self.semantic_mask.get(name, zeros) for name in classes]).astype(np.float32)

    def corrupt(self, split: str, modality: str, count: int) -> list[str]:
        """Overwrite the first `count` images of a split with garbage bytes; returns their paths."""
        paths = [path for path, _ in self._items[(split, modality)][:count]]
        for path in paths:
            Path(path).write_bytes(b"not an image at all")
        return paths


def tiny_config(tmp_path: Path, **overrides):
    """A TrainConfig that trains the tiny timm model for a few steps in a second or two."""
    from sbka_lite.config import TrainConfig

    values = dict(backbone=TINY_BACKBONE, pretrained=False, image_size=32, epochs=2, warmup_epochs=1,
                  steps_per_epoch=2, sketches_per_batch=3, photos_per_batch=6, num_workers=0,
                  run_dir=str(tmp_path / "run"), val_batch_size=8, lr=1e-3, seed=0)
    values.update(overrides)
    return TrainConfig(**values)


def tiny_trainer(config, classes, mask=None):
    """The engine of a run of `config` on the CPU, its `SBKAModel` as ``trainer.model``."""
    import torch

    from sbka_lite.build import build_model, build_trainer

    return build_trainer(config, build_model(config, list(classes), mask), torch.device("cpu"))
