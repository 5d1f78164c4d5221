"""Tiny fake benchmarks in the official SAKE layouts, with real (tiny) PNG/JPEG files.

Each builder writes a dataset folder and returns a `FakeDataset` describing what it wrote, so
tests can compare the reader's output with the truth. Class and folder names copy the real
releases' awkward cases: spaces, brackets, hyphens, Sketchy's two photo folders.
"""
from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import Image

Key = tuple[str, str]  # (split, modality)


def _image_bytes(fmt: str, shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, 255 - shade, 128)).save(buffer, format=fmt)
    return buffer.getvalue()


def write_image(path: Path, shade: int = 0) -> None:
    """A real 8x8 image: PNG for ``.png`` paths, JPEG otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_image_bytes("PNG" if path.suffix.lower() == ".png" else "JPEG", shade % 256))


def write_list(path: Path, rows: Iterable[tuple[str, int]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{rel} {label}\n" for rel, label in rows))


def write_mask(path: Path, labels: Iterable[int], width: int = 1000) -> dict[int, np.ndarray]:
    """A ``cid_mask.pickle`` like the official one: label -> float array; row ``l`` peaks at ``l``."""
    rows = {}
    for label in labels:
        row = np.zeros(width, dtype=np.float64)
        row[label] = 1.0
        row[(label + 500) % width] = 0.5
        rows[label] = row
    path.write_bytes(pickle.dumps(rows))
    return rows


@dataclass
class FakeDataset:
    root: Path
    name: str
    zero_folder: str
    sketch_list: str
    photo_list: str
    seen: list[str]
    unseen: list[str]
    lists: dict[Key, list[tuple[str, int]]] = field(default_factory=dict)
    mask: dict[int, np.ndarray] | None = None

    def list_path(self, split: str, modality: str) -> Path:
        name = self.sketch_list if modality == "sketch" else self.photo_list
        return self.root / self.zero_folder / f"{name}_filelist_{split}.txt"

    def classes(self, split: str, modality: str) -> list[str]:
        return [Path(rel).parent.name for rel, _ in self.lists.get((split, modality), [])]


def build_layout(dataset: FakeDataset, *, write_files: bool = True) -> FakeDataset:
    """Write ``dataset.lists`` (and an image per line) under ``dataset.root``."""
    for shade, ((split, modality), rows) in enumerate(dataset.lists.items()):
        write_list(dataset.list_path(split, modality), rows)
        if write_files:
            for index, (rel, _) in enumerate(rows):
                write_image(dataset.root / rel, shade * 40 + index)
    return dataset


def make_sketchy(root: Path, *, zero_folder: str = "zeroshot1",
                 seen: Sequence[str] = ("pig", "hot-air_balloon", "car_(sedan)"),
                 unseen: Sequence[str] = ("cup", "teddy_bear"), per_class: int = 4,
                 mask: bool = True, test_list: bool = True) -> FakeDataset:
    """Sketchy Ext: sketches under 256x256/sketch/..., photos mixed from 256x256/photo/... and
    EXTEND_image_sketchy_ready/...; train/test/zero sketch lists, train/zero photo lists."""
    # File names depend on the class, not on its label, so split 1 and split 2 share images.
    sketch = "256x256/sketch/tx_000000000000_ready/{cls}/n0{i:04d}_{cls_id}-{k}.png"
    photo = "256x256/photo/tx_000000000000_ready/{cls}/n0{i:04d}_{cls_id}.jpg"
    extend = "EXTEND_image_sketchy_ready/{cls}/ext_{cls_id}_{i}.jpg"

    def rows(classes: Sequence[str], kind: str, start: int = 0) -> list[tuple[str, int]]:
        out = []
        for label, cls in enumerate(classes):
            cls_id = sum(map(ord, cls)) % 10_000
            for i in range(start, start + per_class):
                if kind == "sketch":
                    out.append((sketch.format(cls=cls, i=i, cls_id=cls_id, k=1), label))
                else:
                    out.append(((photo if i % 2 == 0 else extend).format(cls=cls, i=i, cls_id=cls_id), label))
        return out

    dataset = FakeDataset(root, "sketchy", zero_folder, "sketch_tx_000000000000_ready", "all_photo",
                          list(seen), list(unseen))
    dataset.lists[("train", "sketch")] = rows(seen, "sketch")
    dataset.lists[("train", "photo")] = rows(seen, "photo")
    if test_list:
        dataset.lists[("test", "sketch")] = rows(seen, "sketch", start=per_class)
    dataset.lists[("zero", "sketch")] = rows(unseen, "sketch")
    dataset.lists[("zero", "photo")] = rows(unseen, "photo")
    build_layout(dataset)
    if mask:
        dataset.mask = write_mask(root / zero_folder / "cid_mask.pickle", range(len(seen)))
    return dataset


def make_tuberlin(root: Path, *, seen: Sequence[str] = ("alarm clock", "wrist-watch", "pig"),
                  unseen: Sequence[str] = ("mouse (animal)", "bottle opener"), per_class: int = 3) -> FakeDataset:
    """TU-Berlin Ext: png_ready/<class>/<n>.png sketches, ImageResized_ready/<class>/*.JPEG photos;
    class names with spaces and brackets, one photo file name with spaces and square brackets."""
    dataset = FakeDataset(root, "tuberlin", "zeroshot", "png_ready", "ImageResized_ready", list(seen), list(unseen))
    counter = iter(range(10_000))

    def rows(classes: Sequence[str], kind: str) -> list[tuple[str, int]]:
        out = []
        for label, cls in enumerate(classes):
            for i in range(per_class):
                number = next(counter)
                if kind == "sketch":
                    out.append((f"png_ready/{cls}/{number}.png", label))
                elif i == 0:
                    out.append((f"ImageResized_ready/{cls}/n0 {number} [copy].JPEG", label))
                else:
                    out.append((f"ImageResized_ready/{cls}/n0_{number}.JPEG", label))
        return out

    dataset.lists[("train", "sketch")] = rows(seen, "sketch")
    dataset.lists[("train", "photo")] = rows(seen, "photo")
    dataset.lists[("test", "sketch")] = rows(seen, "sketch")
    dataset.lists[("zero", "sketch")] = rows(unseen, "sketch")
    dataset.lists[("zero", "photo")] = rows(unseen, "photo")
    build_layout(dataset)
    dataset.mask = write_mask(root / "zeroshot" / "cid_mask.pickle", range(len(seen)))
    return dataset


def make_quickdraw(root: Path, *, seen: Sequence[str] = ("alarm clock", "cat", "sea turtle"),
                   unseen: Sequence[str] = ("bat", "windmill"), per_class: int = 10) -> FakeDataset:
    """QuickDraw Ext: train and zero lists only, no test lists and no semantic mask."""
    dataset = FakeDataset(root, "quickdraw", "zeroshot", "sketch", "all_photo", list(seen), list(unseen))

    def rows(classes: Sequence[str], kind: str, offset: int) -> list[tuple[str, int]]:
        folder = "sketches" if kind == "sketch" else "images"
        suffix = "png" if kind == "sketch" else "jpg"
        return [(f"{folder}/{cls}/{5_000_000 + 1000 * (offset + label) + i}.{suffix}", label)
                for label, cls in enumerate(classes) for i in range(per_class)]

    dataset.lists[("train", "sketch")] = rows(seen, "sketch", 0)
    dataset.lists[("train", "photo")] = rows(seen, "photo", 0)
    dataset.lists[("zero", "sketch")] = rows(unseen, "sketch", 50)
    dataset.lists[("zero", "photo")] = rows(unseen, "photo", 50)
    return build_layout(dataset)
