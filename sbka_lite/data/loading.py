"""From image files to training and evaluation batches.

* Images are decoded by `sbka_lite.data.decode.decode_image`.
* `ImageTransform` resizes, optionally augments as the SBKA scripts do, and normalises.
* `MixedBatchSampler` + `MixedSketchPhotoDataset` + `collate_mixed` give batches with a fixed
  number of sketches and photos. Every random choice (order, augmentation) comes from
  ``(seed, epoch)``, so a batch is the same whatever the worker count, the number of
  processes it is sharded over, or where a resumed run restarts.
* A training batch never dies on a corrupt image: the sample is dropped, counted and named,
  and `BadImageLog` aborts the run when too many fail.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator, NamedTuple, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler

from .augment import STYLES, apply_centred, apply_official, centred_params, official_params
from .decode import decode_image
from .errors import ImageReadError

SKETCH, PHOTO = 0, 1
_INTERPOLATION = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


class ImageTransform:
    """Resize to a square, optionally augment, convert to a normalised float tensor [3, H, W].

    Augmentation (`augment=True`) in the ``augment_style`` of `sbka_lite.data.augment`:
    ``"centred"`` (default) or ``"official"`` (the SBKA scripts' own).
    """

    def __init__(
        self,
        image_size: int,
        mean: Sequence[float],
        std: Sequence[float],
        *,
        augment: bool = False,
        interpolation: str = "bilinear",
        augment_style: str = "centred",
    ) -> None:
        if image_size < 8:
            raise ValueError(f"image_size must be >= 8 pixels, got {image_size}")
        if interpolation not in _INTERPOLATION:
            raise ValueError(f"interpolation must be one of {sorted(_INTERPOLATION)}, got {interpolation!r}")
        self.image_size = int(image_size)
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
        if augment_style not in STYLES:
            raise ValueError(f"augment_style must be one of {STYLES}, got {augment_style!r}")
        self.augment, self.augment_style = augment, augment_style
        self.interpolation = interpolation

    def augmentation_params(self, rng: np.random.Generator) -> dict:
        """Draw one augmentation of this transform's style (see `sbka_lite.data.augment`)."""
        return official_params(rng) if self.augment_style == "official" else centred_params(rng, self.image_size)

    def __call__(self, image: Image.Image, rng: np.random.Generator | None = None) -> torch.Tensor:
        if self.augment and rng is None:
            raise ValueError("an augmenting ImageTransform needs an rng (numpy Generator)")
        if self.augment and self.augment_style == "official":  # on the stored image, before the resize
            image = apply_official(image, self.augmentation_params(rng))
        image = image.resize((self.image_size, self.image_size), _INTERPOLATION[self.interpolation])
        if self.augment and self.augment_style == "centred":
            image = apply_centred(image, self.augmentation_params(rng))
        tensor = torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).permute(2, 0, 1).float().div_(255.0)
        return (tensor - self.mean) / self.std


class MixedSketchPhotoDataset(Dataset):
    """Seen-class training images of both modalities, addressed by ``(modality, index, seed)`` keys.

    ``items`` are ``(path, class name)`` pairs as `Benchmark.items` returns them; `classes` fixes
    the label numbering (the seen classes). A key's seed drives that sample's augmentation.
    """

    def __init__(
        self,
        sketch_items: Sequence[tuple[str, str]],
        photo_items: Sequence[tuple[str, str]],
        classes: Sequence[str],
        transform: ImageTransform,
    ) -> None:
        self.classes = list(classes)
        index = {name: label for label, name in enumerate(self.classes)}
        self.items = (list(sketch_items), list(photo_items))
        self.labels = []
        for modality, items in zip(("sketch", "photo"), self.items):
            unknown = sorted({name for _, name in items if name not in index})
            if unknown:
                raise ValueError(f"{modality} items have classes outside the training classes: {unknown[:5]}")
            self.labels.append(np.array([index[name] for _, name in items], dtype=np.int64))
        self.transform = transform

    def __len__(self) -> int:
        return len(self.items[SKETCH]) + len(self.items[PHOTO])

    def __getitem__(self, key: tuple[int, int, int]) -> dict:
        modality, index, seed = key
        path = self.items[modality][index][0]
        sample = {"label": int(self.labels[modality][index]), "is_photo": modality == PHOTO, "path": path, "error": ""}
        try:
            image = decode_image(path)
        except ImageReadError as error:
            sample["image"] = None
            sample["error"] = error.reason or str(error)
            return sample
        sample["image"] = self.transform(image, np.random.default_rng(seed))
        return sample


class MixedBatch(NamedTuple):
    """A training batch. Sample i's semantic-mask row is ``mask_matrix[labels[i]]``: the trainer
    gathers it on the device instead of shipping 1000 floats per image through the workers."""

    images: torch.Tensor  # [B, 3, H, W] sketches first, then photos
    labels: torch.Tensor  # [B] seen-class labels
    is_photo: torch.Tensor  # [B] bool: the SCE sample mask
    bad_paths: list[str]  # images of this batch that failed to decode (dropped)


def collate_mixed(samples: list[dict]) -> MixedBatch:
    """Stack the decodable samples; name the others in ``bad_paths``."""
    good = [s for s in samples if s["image"] is not None]
    bad = [f"{s['path']} ({s['error']})" for s in samples if s["image"] is None]
    if not good:
        return MixedBatch(torch.empty(0), torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.bool), bad)
    return MixedBatch(
        images=torch.stack([s["image"] for s in good]),
        labels=torch.tensor([s["label"] for s in good], dtype=torch.long),
        is_photo=torch.tensor([s["is_photo"] for s in good], dtype=torch.bool),
        bad_paths=bad,
    )


class MixedBatchSampler(Sampler):
    """Index lists with a fixed number of sketches and photos per step, sharded over ranks.

    The *global* batch has `sketches_per_batch` + `photos_per_batch` images (the paper: 70 + 140);
    rank ``r`` of ``world_size`` takes every ``world_size``-th of them, so the union over ranks is
    the single-process batch. Orders and per-sample augmentation seeds are drawn from
    ``(seed, epoch)`` only. An epoch is `steps_per_epoch` steps (passes longer than the data
    chain permutations), or when 0 one pass: as zipping the two loaders, it ends with the first
    exhausted one and keeps the last partial batch.
    """

    def __init__(
        self,
        num_sketches: int,
        num_photos: int,
        sketches_per_batch: int,
        photos_per_batch: int,
        *,
        steps_per_epoch: int = 0,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if sketches_per_batch < 0 or photos_per_batch < 0 or sketches_per_batch + photos_per_batch == 0:
            raise ValueError(f"need sketches_per_batch, photos_per_batch >= 0 and not both 0, got {sketches_per_batch}, {photos_per_batch}")
        for plural, count, per_batch in (("sketches", num_sketches, sketches_per_batch), ("photos", num_photos, photos_per_batch)):
            if per_batch > 0 and count == 0:
                raise ValueError(f"no training {plural}, but {plural}_per_batch={per_batch}; set it to 0 or add images")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world_size {world_size}")
        self.counts = (num_sketches, num_photos)
        self.per_batch = (sketches_per_batch, photos_per_batch)
        self.seed, self.rank, self.world_size = seed, rank, world_size
        # steps_per_epoch 0: one pass, as zipping two loaders that keep their last partial batch
        # (489 steps on Sketchy split 1: 68,401 photos / 140, the last step with 81 of them).
        self.one_pass = steps_per_epoch <= 0
        if not self.one_pass:
            self.steps_per_epoch = steps_per_epoch
        else:
            passes = [math.ceil(count / per) for count, per in zip(self.counts, self.per_batch) if per > 0]
            self.steps_per_epoch = max(1, min(passes))
        self.epoch = 0
        self.start_step = 0

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        """Select the epoch to draw, and the step to start from (for a resumed run)."""
        self.epoch, self.start_step = int(epoch), int(start_step)

    def __len__(self) -> int:
        return self.steps_per_epoch - self.start_step

    def _orders(self) -> tuple[list[np.ndarray], np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch, 0x5B4A])
        orders = []
        for count, per_batch in zip(self.counts, self.per_batch):
            needed = min(self.steps_per_epoch * per_batch, count) if self.one_pass else self.steps_per_epoch * per_batch
            chunks = [rng.permutation(count) for _ in range(math.ceil(needed / count))] if per_batch else []
            orders.append(np.concatenate(chunks)[:needed] if chunks else np.zeros(0, dtype=np.int64))
        seeds = rng.integers(0, 2**62, size=(self.steps_per_epoch, sum(self.per_batch)))
        return orders, seeds

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        orders, seeds = self._orders()
        n_sketch, n_photo = self.per_batch
        for step in range(self.start_step, self.steps_per_epoch):
            sketches = [(SKETCH, int(i), int(s)) for i, s in
                        zip(orders[SKETCH][step * n_sketch:(step + 1) * n_sketch], seeds[step, :n_sketch])]
            photos = [(PHOTO, int(i), int(s)) for i, s in
                      zip(orders[PHOTO][step * n_photo:(step + 1) * n_photo], seeds[step, n_sketch:])]
            yield sketches[self.rank::self.world_size] + photos[self.rank::self.world_size]


@dataclass
class BadImageLog:
    """Counts images that failed to decode, names them, and aborts when there are too many.

    The run stops when more than ``max(allowed, max_fraction * images_seen)`` have failed: a few
    broken files in a large dataset are reported and skipped, a broken dataset is not trained on.
    Under DDP the counts are global (all ranks) while `bad` lists this process's files.
    """

    max_fraction: float = 0.01
    allowed: int = 10
    seen: int = 0
    failed: int = 0
    bad: list[str] = field(default_factory=list)

    def update(self, n_good: int, bad_paths: Sequence[str], *, n_bad: int | None = None) -> None:
        """Record a batch: `n_good` decoded images and the failures (`n_bad` overrides their count)."""
        n_bad = len(bad_paths) if n_bad is None else int(n_bad)
        self.seen += int(n_good) + n_bad
        self.failed += n_bad
        self.bad.extend(bad_paths)
        limit = max(self.allowed, self.max_fraction * self.seen)
        if self.failed > limit:
            shown = "\n  ".join(self.bad[:10]) or "(listed on other ranks)"
            raise ImageReadError(
                self.bad[-1].split(" (")[0] if self.bad else "<other rank>",
                f"{self.failed} of {self.seen} images failed to decode (limit {limit:.0f}); check the "
                f"dataset (re-run its data script) or raise bad_image_fraction. First failures:\n  {shown}",
            )
