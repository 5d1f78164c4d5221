"""The photo-world pretraining stage: where student and teacher start when ``pretraining=photo_world``.

It mirrors what ImageNet pretraining gave the paper's ConvNeXt: the ImageNet backbone is trained
further to classify photos of the world's classes (`sbka_lite.data.synthetic.world`: seen *and*
unseen classes with a counterpart, fresh instances, never a sketch), with a new head over that
label space. That head plays the ImageNet head's part in SBKA: the student's "ImageNet logits"
and the teacher's logits are over the world's classes, and the semantic mask is `world_mask`.

The stage is shared by every run of a spec, as ImageNet weights are: its seed is fixed (0), not
the run's, so runs paired by seed start from one teacher. The result is cached under
``outputs/pretrain/`` (written atomically; an interrupted stage starts over, it takes ~5 min).

It runs on the CPU on **one thread** whatever the machine: float sums in another thread count train
another world (measured: 1 and 2 threads on one machine end at pretraining losses 0.054 and 0.046,
and their students at different unseen mAP), so unpinned, a run's start depended on how busy the
machine was. What cannot be pinned from inside the process is the CPU's instruction set: an AVX2
and an AVX-512 machine still train different worlds (`start_fingerprint` tells their runs apart).
"""
from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .data.loading import ImageTransform
from .data.synthetic.world import WORLD_RULE, photo_world_classes, world_photo
from .device import seed_everything
from .models import Student, build_backbone, image_config
from .paths import atomic_write, exclusive, file_sha256, outputs_dir

STAGE_VERSION = 2  # bump when the stage's recipe changes: cached files of older versions are not reused (2: one thread)
THREADS = 1
BATCH, LR, WEIGHT_DECAY = 32, 3e-4, 5e-4
RENDER_SIZE = 128  # world photos are drawn at the demo benchmark's size, then resized like its photos


@dataclass(frozen=True)
class WorldSpec:
    """Everything the pretrained world backbone depends on (its cache key)."""

    backbone: str
    image_size: int
    steps: int
    photos_per_class: int
    seed: int = 0

    def cache_path(self) -> Path:
        name = (f"photo_world-v{STAGE_VERSION}-{self.backbone}-{self.image_size}px-{self.steps}steps-"
                f"{self.photos_per_class}per_class-seed{self.seed}.pt")
        return outputs_dir("pretrain") / name


def world_classifier(n_classes: int, backbone_name: str) -> nn.Module:
    """An untrained backbone with an `n_classes`-way head: the shape a world checkpoint loads into."""
    model = build_backbone(backbone_name, pretrained=False)
    model.reset_classifier(n_classes)
    return model


def _world_tensors(spec: WorldSpec, classes: list[str], transform: ImageTransform, progress: bool):
    size = RENDER_SIZE if spec.image_size > 64 else spec.image_size
    images, labels = [], []
    jobs = [(label, name, i) for label, name in enumerate(classes) for i in range(spec.photos_per_class)]
    for label, name, i in tqdm(jobs, desc="rendering the photo world", disable=not progress):
        images.append(transform(world_photo(name, i, seed=spec.seed, size=size)))
        labels.append(label)
    return torch.stack(images), torch.tensor(labels)


@contextlib.contextmanager
def _threads(count: int):
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_world_backbone(spec: WorldSpec, *, progress: bool = True) -> tuple[nn.Module, dict]:
    """Fine-tune the ImageNet backbone on the world's photos; returns ``(backbone, record)``.

    Plain supervised photo classification, BatchNorm in train mode (as ImageNet models are
    trained), random horizontal flips, on `THREADS` CPU threads. `record` holds the classes, the
    spec, the loss per step and the CPU instruction set that computed them.
    """
    with _threads(THREADS):
        return _train_world_backbone(spec, progress)


def _train_world_backbone(spec: WorldSpec, progress: bool) -> tuple[nn.Module, dict]:
    classes = photo_world_classes()
    seed_everything(spec.seed)
    model = build_backbone(spec.backbone, pretrained=True)
    config = image_config(model)
    transform = ImageTransform(spec.image_size, config.mean, config.std, interpolation=config.interpolation)
    images, labels = _world_tensors(spec, classes, transform, progress)
    model.reset_classifier(len(classes))
    model.to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    rng = torch.Generator().manual_seed(spec.seed)
    losses = []
    for _ in tqdm(range(spec.steps), desc="pretraining on the photo world", disable=not progress):
        index = torch.randint(len(images), (BATCH,), generator=rng)
        batch = images[index]
        flip = torch.rand(BATCH, generator=rng) < 0.5
        batch[flip] = batch[flip].flip(-1)
        loss = F.cross_entropy(model(batch.contiguous(memory_format=torch.channels_last)), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    model.eval()
    record = {"classes": classes, "rule": WORLD_RULE, "spec": dataclasses.asdict(spec), "loss": losses,
              "stage_version": STAGE_VERSION, "threads": THREADS, "cpu": torch.backends.cpu.get_cpu_capability()}
    return model, record


def world_backbone(spec: WorldSpec, *, progress: bool = True, dist=None) -> tuple[nn.Module, dict]:
    """The pretrained world backbone of `spec`: from the cache, else trained (by rank 0) and cached."""
    path = spec.cache_path()
    if dist is None or dist.is_main:
        # one pretraining per cache: a parallel run waits for it instead of training the same world twice
        with exclusive(path.with_name(path.name + ".lock"), f"pretraining the photo world into {path}"):
            if not path.is_file():
                model, record = train_world_backbone(spec, progress=progress)
                path.parent.mkdir(parents=True, exist_ok=True)
                with atomic_write(path) as handle:
                    torch.save({"state": model.state_dict(), **record}, handle)
    if dist is not None:
        dist.barrier()
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if saved.get("classes") != photo_world_classes():
        raise RuntimeError(f"{path} was trained on another photo world ({len(saved.get('classes', []))} classes); "
                           "delete it to pretrain again")
    model = world_classifier(len(saved["classes"]), spec.backbone)
    model.load_state_dict(saved["state"], strict=True)
    return model.eval(), {key: value for key, value in saved.items() if key != "state"}


def final_loss(record: dict, last: int = 20) -> float:
    """Mean pretraining loss over the last `last` steps (how well the world was learned)."""
    return float(np.mean(record["loss"][-last:]))


def world_fingerprint(spec: WorldSpec) -> str:
    """The sha256 prefix of the cached world of `spec` (the stage is cached once per machine, and another
    CPU instruction set trains another world, so runs are paired only when they share it)."""
    path = spec.cache_path()
    if not path.is_file():
        return "not trained yet"
    return file_sha256(path)[:12]


def student_at_start(backbone: str, num_seen_classes: int, *, pretrained: bool, freeze_norm: bool,
                     world: WorldSpec | None, seed: int, progress: bool = False, dist=None) -> Student:
    """A new student over `backbone`'s own weights (ImageNet when `pretrained`), or over the photo
    world's (`world`), with a new seen-class head drawn from `seed`."""
    start = world_backbone(world, progress=progress, dist=dist)[0] if world is not None else None
    seed_everything(seed)  # the new head's initialisation must not depend on whether the world was cached
    return Student(backbone, num_seen_classes, pretrained=pretrained, backbone=start, freeze_norm=freeze_norm)
