"""The SBKA losses as pure functions of tensors (temperature 1).

Nothing here detaches anything: whether a gradient reaches a target is the trainer's choice.
All reductions run in float32, so the losses are safe under autocast.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def soft_cross_entropy(
    logits: torch.Tensor,
    target_logits: torch.Tensor,
    *,
    semantic_mask: torch.Tensor | None = None,
    mask_scale: float = 0.3,
    sample_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """SCE(a; b, m) = -sum_c softmax(b + mask_scale * m)_c * log softmax(a)_c, averaged over samples.

    Args:
        logits: ``a``, [B, C], the distribution being trained.
        target_logits: ``b``, [B, C], the target's logits (gradient flows into it unless detached).
        semantic_mask: ``m``, [B, C] or None (zeros): raises the target where a class is
            semantically close to the sample's own class.
        mask_scale: the 0.3 of the paper.
        sample_mask: bool [B]; the mean runs over the True samples only (the photos in SBKA).
            None means all samples. No True sample gives 0 (with a graph, so backward works).
    """
    if logits.shape != target_logits.shape or logits.dim() != 2:
        raise ValueError(f"logits {tuple(logits.shape)} and target_logits {tuple(target_logits.shape)} must both be [B, C]")
    target = target_logits.float()
    if semantic_mask is not None:
        if semantic_mask.shape != target.shape:
            raise ValueError(f"semantic_mask {tuple(semantic_mask.shape)} must match logits {tuple(logits.shape)}")
        target = target + mask_scale * semantic_mask.float()
    per_sample = -(F.softmax(target, dim=-1) * F.log_softmax(logits.float(), dim=-1)).sum(dim=-1)
    if sample_mask is None:
        return per_sample.mean()
    if sample_mask.dtype != torch.bool or sample_mask.shape != per_sample.shape:
        raise ValueError(f"sample_mask must be a bool tensor of shape {tuple(per_sample.shape)}, got {sample_mask.dtype} {tuple(sample_mask.shape)}")
    # Select rather than multiply: a non-finite value in an excluded sample must not leak in as 0 * inf.
    chosen = per_sample[sample_mask]
    return chosen.sum() / max(int(chosen.numel()), 1)


def gaussian_alignment(features: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """KL(softmax(noise) || softmax(features)), summed over dimensions, mean over the batch.

    Pulls the feature distribution toward a Gaussian prior; the caller draws ``noise`` ~ N(0, I)
    with the features' shape (fresh each step), which keeps this function deterministic.
    """
    if features.shape != noise.shape:
        raise ValueError(f"noise {tuple(noise.shape)} must have the features' shape {tuple(features.shape)}")
    return F.kl_div(F.log_softmax(features.float(), dim=-1), F.softmax(noise.float(), dim=-1), reduction="batchmean")


def classification_loss(seen_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """L_cls: cross-entropy over the seen classes, sketches and photos together."""
    return F.cross_entropy(seen_logits.float(), labels)


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 accuracy as a python float (0.0 for an empty batch)."""
    if labels.numel() == 0:
        return 0.0
    return float((logits.argmax(dim=-1) == labels).float().mean())
