"""A run's parts, built from its config: the benchmark, the mask rows, the model, its engine and its data.

    model = build_model(config, classes, semantic_mask_of(benchmark, classes, config.pretraining))
    trainer = build_trainer(config, model, device)
    dataset, sampler = training_data(config, benchmark, classes, image_transform(model.student, config))

This is where a `TrainConfig` is resolved into explicit settings, once: the objective's
(`ObjectiveSettings.pick`), the schedule's (`Schedule.pick`), where student and teacher start
(`world_of`, `starting_student`), the engine's. Modules below this one never see the config;
`sbka_lite.train` runs the parts, the notebooks and experiments build them here too.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .config import TrainConfig
from .data import open_benchmark
from .data.layout import dataset_dir
from .data.loading import ImageTransform, MixedBatchSampler, MixedSketchPhotoDataset, collate_mixed
from .data.presets import synthetic_benchmark
from .data.synthetic.world import world_mask
from .device import seed_everything
from .distributed import DistContext
from .models import Student, Teacher, image_config, input_size_of
from .objective import ObjectiveSettings
from .paths import default_data_root, synthetic_root
from .pretrain import WorldSpec, student_at_start, world_fingerprint
from .sbka import SBKAModel
from .schedule import Schedule
from .trainer import Trainer


# --------------------------------------------------------------------------- data


def open_training_benchmark(config: TrainConfig, dist: DistContext | None = None, *, progress: bool = True):
    """Open ``config.benchmark`` under ``config.data_root``; the synthetic one is generated if missing
    (at the size ``config.synthetic_size`` names: the smoke config trains on the smoke benchmark)."""
    dist = dist or DistContext()
    root = Path(config.data_root).expanduser() if config.data_root else default_data_root()
    if config.benchmark != "synthetic":
        return open_benchmark(root, config.benchmark)
    if (root / "zeroshot").is_dir():  # data_root is the benchmark folder itself
        return open_benchmark(root, "synthetic")
    smoke = config.synthetic_size == "smoke"
    folder = synthetic_root(smoke) if not config.data_root else Path(f"{dataset_dir('synthetic', root)}{'-smoke' if smoke else ''}")
    if (folder / "zeroshot").is_dir():  # already there (whatever its sizes): read it as it is
        return open_benchmark(folder, "synthetic")
    if dist.is_main:  # one process generates; the others wait, then read
        synthetic_benchmark(smoke, str(folder), progress=progress)
    dist.barrier()
    return open_benchmark(folder, "synthetic")


def semantic_mask_of(benchmark, classes: list[str], pretraining: str = "imagenet") -> torch.Tensor | None:
    """The semantic-mask rows for `classes` over the teacher's classes: the benchmark's ([n, 1000])
    for an ImageNet teacher, `world_mask` for a photo-world one; None when the benchmark has none."""
    if pretraining == "photo_world":
        return torch.as_tensor(world_mask(classes))
    rows = benchmark.mask_matrix(classes) if hasattr(benchmark, "mask_matrix") else None
    return None if rows is None else torch.as_tensor(np.asarray(rows, dtype=np.float32))


def validation_items(benchmark, classes: list[str], limit: int, seed: int) -> list[tuple[str, str]]:
    items = list(benchmark.items("test", "sketch"))
    foreign = sorted({name for _, name in items if name not in set(classes)})
    if foreign:  # the held-out split must be seen classes only: never select on unseen ones
        raise ValueError(f"validation (test split) has classes outside the seen classes: {foreign[:5]}")
    if limit and len(items) > limit:
        keep = np.sort(np.random.default_rng([seed, 0x7A1]).choice(len(items), size=limit, replace=False))
        items = [items[i] for i in keep]
    return items


def training_data(config: TrainConfig, benchmark, classes: list[str], transform: ImageTransform,
                  dist: DistContext | None = None) -> tuple[MixedSketchPhotoDataset, MixedBatchSampler]:
    """The run's training images and its sampler of mixed sketch/photo batches (this rank's shard)."""
    dist = dist or DistContext()
    dataset = MixedSketchPhotoDataset(benchmark.items("train", "sketch"), benchmark.items("train", "photo"),
                                      classes, transform)
    sampler = MixedBatchSampler(len(dataset.items[0]), len(dataset.items[1]), config.sketches_per_batch,
                                config.photos_per_batch, steps_per_epoch=config.steps_per_epoch,
                                seed=config.seed, rank=dist.rank, world_size=dist.world_size)
    return dataset, sampler


def build_loader(dataset, sampler, config: TrainConfig, device: torch.device):
    # Workers persist across epochs; the sampler is iterated in this process, so set_epoch
    # still takes effect on each new pass.
    return torch.utils.data.DataLoader(
        dataset, batch_sampler=sampler, num_workers=config.num_workers, collate_fn=collate_mixed,
        pin_memory=device.type == "cuda", persistent_workers=config.num_workers > 0)


# --------------------------------------------------------------------------- the model and its trainer


def world_of(config: TrainConfig) -> WorldSpec | None:
    """The photo world a run of `config` starts from (`sbka_lite.pretrain`), at the run's input size,
    or None: the backbone's own (ImageNet) weights."""
    if config.pretraining != "photo_world":
        return None
    return WorldSpec(config.backbone, input_size_of(config.backbone, config.image_size), config.pretraining_steps,
                     config.pretraining_photos_per_class)


def starting_student(config: TrainConfig, num_seen_classes: int, *, progress: bool = False,
                     dist: DistContext | None = None) -> Student:
    """The student a run of `config` starts from, before any step: the "pretrained" baseline of a notebook."""
    return student_at_start(config.backbone, num_seen_classes, pretrained=config.pretrained,
                            freeze_norm=config.freeze_norm, world=world_of(config), seed=config.seed,
                            progress=progress, dist=dist)


def start_fingerprint(config: TrainConfig) -> str:
    """Which weights a run of `config` starts from: ``photo_world:<sha256 prefix of the cached world>``
    or ``imagenet:<backbone>`` (ablation rows are paired only when they share it)."""
    world = world_of(config)
    return f"imagenet:{config.backbone}" if world is None else f"photo_world:{world_fingerprint(world)}"


def build_model(config: TrainConfig, classes: list[str], mask_rows: torch.Tensor | None, *,
                progress: bool = False, dist: DistContext | None = None) -> SBKAModel:
    """SBKA as `config` asks: student and teacher where they start, the mask rows, the objective, the schedule."""
    dist = dist or DistContext()
    seed_everything(config.seed)
    # Both start from the backbone's own (ImageNet) weights, or from the photo world's (sbka_lite.pretrain):
    # the teacher is a copy of the student's start.
    student = starting_student(config, len(classes), progress=progress and dist.is_main, dist=dist)
    teacher = Teacher.from_student(student) if config.alignment != "none" else None
    student.input_size = input_size_of(config.backbone, config.image_size)
    return SBKAModel(student, teacher, mask_rows, classes, ObjectiveSettings.pick(config), Schedule.pick(config),
                     seed=config.seed, whole_teacher_in_checkpoint=not config.pretrained)


def build_trainer(config: TrainConfig, model: SBKAModel, device: torch.device, dist: DistContext | None = None) -> Trainer:
    """The engine for `model`, with the config's optimiser, precision, layout and validation settings."""
    return Trainer(model, device, dist, lr=config.lr, weight_decay=config.weight_decay, amp=config.amp,
                   channels_last=config.channels_last, eval_transform=image_transform(model.student),
                   val_batch_size=config.val_batch_size, num_workers=config.num_workers)


def image_transform(student: Student, config: TrainConfig | None = None) -> ImageTransform:
    """The student's preprocessing at its trained size; with `config`, its training augmentation too."""
    ic = image_config(student)
    augment = {} if config is None else {"augment": config.augment, "augment_style": config.augment_style}
    return ImageTransform(student.input_size, ic.mean, ic.std, interpolation=ic.interpolation, **augment)
