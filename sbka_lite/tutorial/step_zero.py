"""Step 0 of a run, looked at before any weight moves: is the student the teacher?

With the paper's ConvNeXt (LayerNorm, no dropout) student and teacher are the same function at
step 0, so L_KA^S starts at the teacher's own masked cross-entropy: distillation only pushes back
when the student drifts. A BatchNorm student in train mode normalises with the statistics of mixed
sketch/photo batches and is a different network from its eval-mode teacher at step 0; that is
why the demo recipe freezes the statistics (`freeze_norm`). Notebook 03 shows both.
"""
from __future__ import annotations

import torch

from sbka_lite.data.loading import MixedBatchSampler, MixedSketchPhotoDataset, collate_mixed
from sbka_lite.losses import soft_cross_entropy
from sbka_lite.train import semantic_mask_of
from sbka_lite.trainer import SBKATrainer


def first_batch(trainer: SBKATrainer, benchmark):
    """The run's first training batch (its sampler at epoch 0, its augmentation)."""
    config = trainer.config
    dataset = MixedSketchPhotoDataset(benchmark.items("train", "sketch"), benchmark.items("train", "photo"),
                                      trainer.seen_classes, trainer.training_transform())
    sampler = MixedBatchSampler(len(dataset.items[0]), len(dataset.items[1]), config.sketches_per_batch,
                                config.photos_per_batch, steps_per_epoch=config.steps_per_epoch, seed=config.seed)
    sampler.set_epoch(0)
    return collate_mixed([dataset[key] for key in next(iter(sampler))])


@torch.no_grad()
def step_zero_agreement(config, benchmark) -> dict[str, float]:
    """Student against teacher on the first training batch's photos, the student in train mode as in a step.

    Returns ``max_logit_gap`` (largest |student - teacher| logit), ``loss_ka_student`` (L_KA^S as the
    first step computes it) and ``teacher_own_sce`` (the teacher's soft cross-entropy with its own
    masked target: the floor of L_KA^S, reached exactly when the two agree).
    """
    classes = list(benchmark.seen_classes)
    trainer = SBKATrainer(config.replace(alignment="teacher_to_student"), classes,
                          semantic_mask_of(benchmark, classes, config.pretraining), torch.device("cpu"), progress=False)
    trainer.start_epoch(0)
    batch = first_batch(trainer, benchmark)
    images = batch.images.contiguous(memory_format=trainer.memory_format)
    mask = trainer.mask[batch.labels[batch.is_photo]]
    # the whole mixed batch, in train mode: train-mode BatchNorm statistics are those of sketches and photos
    student = trainer.student(images).imagenet_logits[batch.is_photo]
    teacher = trainer.teacher(images[batch.is_photo])
    scale = config.mask_scale
    return {"max_logit_gap": float((student - teacher).abs().max()),
            "loss_ka_student": float(soft_cross_entropy(student, teacher, semantic_mask=mask, mask_scale=scale)),
            "teacher_own_sce": float(soft_cross_entropy(teacher, teacher, semantic_mask=mask, mask_scale=scale)),
            "photos": int(batch.is_photo.sum())}
