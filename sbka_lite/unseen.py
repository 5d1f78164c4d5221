"""The unseen (``zero``) split of a benchmark embedded and evaluated: what every notebook, the trainer's
diagnostic and the ablation measure. Sketches are the queries, the split's photos the gallery, one-to-one
(cluster matching is `sbka_lite.retrieval`); embeddings come from `sbka_lite.features`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .features import extract_embeddings
from .metrics import evaluate_retrieval


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
    preset: str | None = None,
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
    queries, query_labels, gallery, gallery_labels = embed_unseen(
        student, benchmark, max_queries=max_queries, seed=seed, batch_size=batch_size, image_size=image_size,
        device=device, progress=progress)
    metrics = evaluate_retrieval(queries, query_labels, gallery, gallery_labels, preset=preset, progress=False)
    return {key: value for key, value in metrics.items() if key != "per_query"}
