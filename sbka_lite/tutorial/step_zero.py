"""Step 0 of a run, looked at before any weight moves: is the student the teacher?

With the paper's ConvNeXt (LayerNorm, no dropout) student and teacher are the same function at
step 0, so L_KA^S starts at the teacher's own masked cross-entropy: distillation only pushes back
when the student drifts. A BatchNorm student in train mode normalises with the statistics of mixed
sketch/photo batches and is a different network from its eval-mode teacher at step 0; that is
why the demo recipe freezes the statistics (`freeze_norm`). Notebook 03 shows both.
"""
from __future__ import annotations

import torch

from sbka_lite.data.loading import collate_mixed
from sbka_lite.losses import soft_cross_entropy
from sbka_lite.build import build_model, image_transform, semantic_mask_of, training_data


def first_batch(config, model, benchmark):
    """The first training batch of a run of `config` (its sampler at epoch 0, its augmentation)."""
    dataset, sampler = training_data(config, benchmark, model.seen_classes, image_transform(model.student, config))
    sampler.set_epoch(0)
    return collate_mixed([dataset[key] for key in next(iter(sampler))])


@torch.no_grad()
def step_zero_agreement(config, benchmark) -> dict[str, float]:
    """Student against teacher on the first training batch's photos, the student in train mode as in a step.

    Returns ``max_logit_gap`` (largest |student - teacher| logit), ``loss_ka_student`` (L_KA^S as the
    model's first step computes it) and ``teacher_own_sce`` (the teacher's soft cross-entropy with its
    own masked target: the floor of L_KA^S, reached exactly when the two agree).
    """
    classes = list(benchmark.seen_classes)
    config = config.replace(alignment="teacher_to_student")
    model = build_model(config, classes, semantic_mask_of(benchmark, classes, config.pretraining))
    layout = torch.channels_last if config.channels_last else torch.contiguous_format
    model.to(memory_format=layout).set_epoch(0)
    batch = first_batch(config, model, benchmark)
    images, photos = batch.images.contiguous(memory_format=layout), batch.is_photo
    # the whole mixed batch, in train mode: train-mode BatchNorm statistics are those of sketches and photos
    first_step = model(images, batch.labels, photos, epoch=0, step=0)
    student = model.student(images).imagenet_logits[photos]
    teacher = model.teacher(images[photos].contiguous(memory_format=layout))
    mask = model.mask_rows[batch.labels[photos]]
    return {"max_logit_gap": float((student - teacher).abs().max()),
            "loss_ka_student": float(first_step.terms["loss_ka_student"]),
            "teacher_own_sce": float(soft_cross_entropy(teacher, teacher, semantic_mask=mask, mask_scale=config.mask_scale)),
            "photos": int(photos.sum())}
