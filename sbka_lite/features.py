"""Batched embedding extraction for queries and gallery, and unseen-class evaluation.

`extract_embeddings` works for a trained `Student`, a `Teacher` or a plain timm classifier (the
"frozen" baseline): the embedding is always the L2-normalised pooled feature. Images are
resized to a square and normalised with the backbone's statistics, as in training, without
augmentation. A file that cannot be decoded raises `ImageReadError`: an evaluation must not
drop gallery items silently.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data.errors import ImageReadError
from .data.loading import ImageListDataset, ImageTransform
from .device import autocast
from .models import Student, image_config, pooled_features


def _embedding_fn(model: nn.Module):
    model = getattr(model, "module", model)  # DistributedDataParallel
    if isinstance(model, Student):
        return model, model.embed
    backbone = getattr(model, "backbone", model)  # Teacher or a bare timm model
    return model, lambda images: F.normalize(pooled_features(backbone, images).float(), dim=-1)


def _paths(items_or_paths: Sequence[Any]) -> list[str]:
    return [str(item[0]) if isinstance(item, (tuple, list)) else str(item) for item in items_or_paths]


def extract_embeddings(
    model_or_student: nn.Module,
    items_or_paths: Sequence[Any],
    *,
    batch_size: int = 64,
    image_size: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    num_workers: int = 0,
    channels_last: bool = True,
) -> np.ndarray:
    """L2-normalised embeddings [n, d] float32 of images, in input order.

    Args:
        model_or_student: a `Student`, `Teacher`, timm classifier, or a DDP wrapper of one.
        items_or_paths: image paths, or ``(path, class name)`` pairs as `Benchmark.items` gives.
        image_size: square input side; default the size the student was trained at
            (``student.input_size``), else the backbone's pretrained size.
        device: where to compute (the model is moved there); default where the model is.
        num_workers: DataLoader processes for decoding.

    Runs in eval mode without gradients (the model's train/eval mode is restored afterwards),
    with AMP on GPUs and channels_last memory.
    """
    module, embed = _embedding_fn(model_or_student)
    paths = _paths(items_or_paths)
    if device is not None:
        module.to(torch.device(device))
    parameter = next(module.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    config = image_config(module)
    size = int(image_size or getattr(module, "input_size", None) or config.input_size)
    transform = ImageTransform(size, config.mean, config.std, interpolation=config.interpolation)
    loader = torch.utils.data.DataLoader(ImageListDataset(paths, transform), batch_size=batch_size,
                                         num_workers=num_workers, pin_memory=device.type == "cuda")
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    was_training = module.training
    module.eval()
    chunks = []
    from tqdm.auto import tqdm

    try:
        with torch.no_grad():
            for images, positions, errors in tqdm(loader, desc="embedding", disable=not progress or not paths, leave=False):
                for position, error in zip(positions.tolist(), errors):
                    if error:
                        raise ImageReadError(paths[position], error)
                images = images.to(device, non_blocking=True).contiguous(memory_format=memory_format)
                with autocast(device):
                    chunks.append(embed(images).float().cpu())
    finally:
        module.train(was_training)
    if not chunks:
        dim = int(getattr(getattr(module, "backbone", module), "num_features", 0))
        return np.zeros((0, dim), dtype=np.float32)
    return torch.cat(chunks).numpy().astype(np.float32, copy=False)


def embed_split(model_or_student: nn.Module, benchmark, split: str, modality: str, *,
                max_items: int | None = None, seed: int = 0, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings and class names (a str array) of one split/modality of a benchmark.

    `max_items` keeps a reproducible random subset (from `seed`), in list order.
    """
    items = list(benchmark.items(split, modality))
    if max_items and len(items) > max_items:
        keep = np.sort(np.random.default_rng(seed).choice(len(items), size=max_items, replace=False))
        items = [items[i] for i in keep]
    embeddings = extract_embeddings(model_or_student, items, **kwargs)
    return embeddings, np.array([name for _, name in items])


def embed_unseen(model_or_student: nn.Module, benchmark, *, max_queries: int | None = None, seed: int = 0,
                 **kwargs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The unseen (``zero``) split embedded: sketch queries, their classes, photo gallery, its classes.

    `max_queries` keeps a reproducible subset of the sketches; the gallery is always whole.
    """
    queries, query_labels = embed_split(model_or_student, benchmark, "zero", "sketch", max_items=max_queries,
                                        seed=seed, **kwargs)
    gallery, gallery_labels = embed_split(model_or_student, benchmark, "zero", "photo", **kwargs)
    if len(queries) == 0 or len(gallery) == 0:
        raise ValueError(f"the benchmark has {len(queries)} unseen sketches and {len(gallery)} unseen photos; need both")
    return queries, query_labels, gallery, gallery_labels


def evaluate_unseen(
    student: nn.Module,
    benchmark,
    *,
    ap: str = "voc",
    batch_size: int = 64,
    image_size: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    max_queries: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Unseen-class retrieval: every ``zero`` sketch ranks every ``zero`` photo (one-to-one).

    `max_queries` evaluates a reproducible subset of queries (the gallery is always whole, so
    the numbers stay comparable). Returns `sbka_lite.metrics.evaluate_retrieval`'s scalar
    metrics (``map_all``, ``map_200``, ``prec_100``, ``prec_200``, ...), ``n_queries``,
    ``n_gallery`` and ``ap`` (the AP convention used).
    """
    from .metrics import evaluate_retrieval  # evaluation sits downstream of training

    queries, query_labels, gallery, gallery_labels = embed_unseen(
        student, benchmark, max_queries=max_queries, seed=seed, batch_size=batch_size, image_size=image_size,
        device=device, progress=progress)
    metrics = evaluate_retrieval(queries, query_labels, gallery, gallery_labels, ap=ap, progress=False)
    return {key: value for key, value in metrics.items() if key != "per_query"}
