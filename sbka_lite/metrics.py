"""Exact ZS-SBIR retrieval metrics: mAP@all, mAP@k and precision@k, under every published convention.

* Every query ranks the whole gallery by **ascending distance** (squared Euclidean on the
  given embeddings; the caller normalises: `evaluate_retrieval`), or by a precomputed score
  matrix (`evaluate_scores`) or a fitted scorer such as a cluster matcher (`evaluate_scorer`).
  Equal distances rank by gallery index (`sbka_lite.distances.TIE_RULE`), so a per-query
  ``np.argsort(row, kind="stable")`` loop gives exactly these numbers. ``n_queries_with_ties``
  counts the queries where a relevant item shares its distance with an irrelevant one.
* The convention is chosen by name: ``preset="sbka"`` (or ``"sake"``, ``"zse"``,
  ``"doodle2search"``, ``"sklearn"``; default ``"sbka_lite"``, this project's), or
  ``preset=resolve("sbka", aggregate="query")`` to change one of its choices (``ap``,
  ``ap_at_k``, ``precision``, ``aggregate``, ``empty``; `sbka_lite.metrics_conventions` says
  what each means and where each preset was read).
  Every result records ``preset`` and ``conventions``: never compare numbers across them.
* `evaluate_all_presets` ranks once and reports every preset: the ranks are shared, only
  the arithmetic differs.

The engine (chunked, threaded, exact under ties) is `sbka_lite.metrics_engine`; the definition it is
tested against, VOC AP one query at a time in a few readable lines, is `sbka_lite.metrics_reference`.
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence, Union

import numpy as np
import torch

from sbka_lite import metrics_engine as engine
from sbka_lite.device import get_device
from sbka_lite.distances import TIE_RULE, check_embeddings, check_same_dim, chunk_rows_of, to_numpy
from sbka_lite.metrics_conventions import PRESETS, Convention, aggregate, per_query_names, resolve, value_key

CHUNK_BYTES = engine.CHUNK_BYTES


class Scorer(Protocol):
    """Anything with ``score(query_emb) -> [n_queries, n_gallery]`` distances (lower is better).

    Set a class attribute ``thread_safe = True`` when ``score`` may run in several threads at
    once (numpy-only scorers can); `evaluate_retrieval` then spreads it over the CPU threads.
    """

    def score(self, query_emb: np.ndarray) -> Any: ...


# ----------------------------------------------------------------------------- inputs to rows
def _score_matrix_rows(scores: Any, query_labels: Any, gallery_labels: Any) -> tuple:
    matrix = to_numpy(scores, "scores")
    if matrix.ndim != 2:
        raise ValueError(f"scores must be 2-D [n_queries, n_gallery], got shape {matrix.shape}")
    if not np.issubdtype(matrix.dtype, np.floating):
        matrix = matrix.astype(np.float64)
    if not np.isfinite(matrix).all():
        raise ValueError("scores holds NaN or inf; a ranking needs finite scores")
    codes = engine.check_labels(query_labels, gallery_labels, *matrix.shape)
    # Keep the given precision: rounding float64 scores to float32 could create ties.
    return (lambda idx: matrix[idx]), codes, False, True  # fancy indexing copies


def _scorer_rows(scorer: Scorer, query_emb: Any, query_labels: Any, gallery_labels: Any) -> tuple:
    if not callable(getattr(scorer, "score", None)):
        raise ValueError("scorer must have a score(query_emb) method returning [n, n_gallery] scores")
    query = check_embeddings(query_emb, "query_emb")
    codes = engine.check_labels(query_labels, gallery_labels, len(query), None)
    return (lambda idx: scorer.score(query[idx])), codes, True, bool(getattr(scorer, "thread_safe", False))


def _embedding_rows(query_emb: Any, query_labels: Any, gallery_emb: Any, gallery_labels: Any,
                    device: torch.device) -> tuple:
    query = check_embeddings(query_emb, "query_emb")
    gallery = check_embeddings(gallery_emb, "gallery_emb")
    check_same_dim(query, gallery)
    codes = engine.check_labels(query_labels, gallery_labels, len(query), len(gallery))
    return chunk_rows_of(query, gallery, device, engine.uses_numpy(device)), codes, False, True


def _rank(query_emb: Any, query_labels: Any, gallery_emb: Any, gallery_labels: Any, *, ks: Sequence[int],
          conventions: list[Convention], scores: Any, scorer: Scorer | None, higher_is_better: bool,
          chunk_size: int | None, device: Any, progress: bool | None) -> tuple:
    """Rank once; return (ks, per-query values of every convention, codes, empty mask, tie flags)."""
    ks = engine.check_ks(ks)
    if scores is not None and scorer is not None:
        raise ValueError("pass either scores or scorer, not both")
    device = get_device(device if device is None else str(device))
    if scores is not None:
        rows_of, codes, check_rows, in_threads = _score_matrix_rows(scores, query_labels, gallery_labels)
    elif scorer is not None:
        rows_of, codes, check_rows, in_threads = _scorer_rows(scorer, query_emb, query_labels, gallery_labels)
    else:
        if higher_is_better:
            raise ValueError("higher_is_better applies to scores or a scorer; embeddings are ranked by distance")
        rows_of, codes, check_rows, in_threads = _embedding_rows(query_emb, query_labels, gallery_emb,
                                                                 gallery_labels, device)
    values, empty, tied = engine.run(rows_of, *codes, ks=ks, conventions=conventions, chunk_size=chunk_size,
                                     device=device, progress=progress, check_rows=check_rows,
                                     negate=higher_is_better, rows_in_threads=in_threads)
    return ks, values, codes, empty, tied


def _report(name: str, convention: Convention, ks: tuple[int, ...], values: dict, codes: tuple,
            empty: np.ndarray, tied: np.ndarray) -> dict[str, Any]:
    query_codes, gallery_codes = codes
    zeros = np.zeros(len(query_codes))
    result: dict[str, Any] = {"preset": name, "conventions": convention.as_dict(), "ap": convention.ap}
    per_query = {}
    for metric in per_query_names(ks):
        raw = values.get(value_key(metric, convention), zeros)
        per_query[metric], mean = aggregate(raw, query_codes, empty, convention)
        result[metric.replace("ap_", "map_")] = mean
    result.update(per_query=per_query, n_queries=len(query_codes), n_gallery=len(gallery_codes),
                  n_queries_without_relevant=int(empty.sum()), n_queries_with_ties=int(tied.sum()),
                  ks=list(ks), tie_rule=TIE_RULE)
    return result


# ----------------------------------------------------------------------------- public API
Preset = Union[str, Convention, "tuple[str, Convention]", None]
# Keywords the three entry points no longer take, and what to write instead.
_REPLACED = {
    **{name: f"preset=resolve(preset, {name}=...) (sbka_lite.metrics_conventions) or preset=Convention(...)"
       for name in ("ap", "ap_at_k", "precision", "aggregate", "empty")},
    "scores": "evaluate_scores(scores, query_labels, gallery_labels, ...)",
    "scorer": "evaluate_scorer(scorer, query_emb, query_labels, gallery_labels, ...)",
    "higher_is_better": "evaluate_scores(...) or evaluate_scorer(...) with higher_is_better=True",
}


def _refuse_replaced(function: str, given: dict[str, Any]) -> None:
    if given:
        hints = "; ".join(f"{key}=: use {_REPLACED[key]}" if key in _REPLACED else f"{key}=: no such keyword"
                          for key in given)
        raise TypeError(f"{function}() got {', '.join(sorted(given))}: {hints}")


def named_convention(preset: Preset) -> tuple[str, Convention]:
    """(name, convention) for a preset name (None: ``sbka_lite``), a `Convention`, or `resolve`'s pair."""
    if isinstance(preset, Convention):
        return next((name for name, c in PRESETS.items() if c == preset), "custom"), preset
    if isinstance(preset, tuple) and len(preset) == 2 and isinstance(preset[1], Convention):
        return preset
    return resolve(preset)


def _evaluate(query_emb: Any, query_labels: Any, gallery_emb: Any, gallery_labels: Any, *, preset: Preset,
              ks: Sequence[int], scores: Any, scorer: Scorer | None, higher_is_better: bool,
              chunk_size: int | None, device: Any, progress: bool | None) -> dict[str, Any]:
    name, convention = named_convention(preset)
    ranked = _rank(query_emb, query_labels, gallery_emb, gallery_labels, ks=ks, conventions=[convention],
                   scores=scores, scorer=scorer, higher_is_better=higher_is_better, chunk_size=chunk_size,
                   device=device, progress=progress)
    return _report(name, convention, *ranked)


def evaluate_retrieval(query_emb: Any, query_labels: Any, gallery_emb: Any, gallery_labels: Any, *,
                       preset: Preset = None, ks: Sequence[int] = (100, 200), chunk_size: int | None = None,
                       device: str | torch.device | None = None, progress: bool | None = None,
                       **replaced: Any) -> dict[str, Any]:
    """Exact retrieval metrics of sketch queries against a photo gallery, under one named convention.

    Args:
        query_emb, gallery_emb: [n, dim] arrays or tensors; ranking is by Euclidean distance
            on them as given (normalise first if the method needs it), computed in float32
            as ``||p||^2 - 2<q, p>`` (``||q||^2`` is constant per row).
        query_labels, gallery_labels: one class label (int or str) per row.
        preset: a name in `PRESETS` (default ``"sbka_lite"``): the published code base whose
            arithmetic to reproduce; or a `Convention`, or ``resolve(name, ap=..., ...)``
            (`sbka_lite.metrics_conventions`) for a preset with one choice changed.
        ks: cut-offs; each k gives ``map_k`` and ``prec_k``.
        chunk_size: queries per chunk; default keeps a chunk's rows under ``CHUNK_BYTES``.
        device: where to compute; default `sbka_lite.device.get_device()` (CUDA when present).
        progress: show a progress bar; default only for large problems.

    Rank by a precomputed matrix with `evaluate_scores`, by a fitted matcher with `evaluate_scorer`.

    Returns:
        dict with floats ``map_all``, ``map_<k>``, ``prec_<k>`` (averaged as the convention
        says), ``per_query`` (float64 arrays ``ap_all``, ``ap_<k>``, ``prec_<k>`` in query
        order; NaN where the convention skips a query), ``preset``, ``conventions``, ``ap``,
        ``n_queries``, ``n_gallery``, ``n_queries_without_relevant``, ``n_queries_with_ties``,
        ``ks`` and ``tie_rule``.
    """
    _refuse_replaced("evaluate_retrieval", replaced)
    return _evaluate(query_emb, query_labels, gallery_emb, gallery_labels, preset=preset, ks=ks, scores=None,
                     scorer=None, higher_is_better=False, chunk_size=chunk_size, device=device, progress=progress)


def evaluate_all_presets(query_emb: Any, query_labels: Any, gallery_emb: Any, gallery_labels: Any, *,
                         presets: Sequence[str] | None = None, ks: Sequence[int] = (100, 200),
                         **kwargs: Any) -> dict[str, dict[str, Any]]:
    """`evaluate_retrieval` under every preset (or those named) from one ranking: {preset: result}.

    Takes the same inputs and keywords (``scores``, ``scorer``, ``device``, ...) except the
    convention keywords; costs one ranking plus a little arithmetic per preset.
    """
    names = list(PRESETS) if presets is None else list(presets)
    resolved = [resolve(name) for name in names]
    ranked = _rank(query_emb, query_labels, gallery_emb, gallery_labels, ks=ks,
                   conventions=[c for _, c in resolved], **{"scores": None, "scorer": None,
                                                            "higher_is_better": False, "chunk_size": None,
                                                            "device": None, "progress": None, **kwargs})
    return {name: _report(name, convention, *ranked) for name, convention in resolved}


def evaluate_scores(scores: Any, query_labels: Any, gallery_labels: Any, *, higher_is_better: bool = False,
                    preset: Preset = None, ks: Sequence[int] = (100, 200), chunk_size: int | None = None,
                    device: str | torch.device | None = None, progress: bool | None = None,
                    **replaced: Any) -> dict[str, Any]:
    """`evaluate_retrieval`'s metrics, ranking by a precomputed [n_queries, n_gallery] matrix (lower is
    better unless `higher_is_better`, for similarities)."""
    _refuse_replaced("evaluate_scores", replaced)
    return _evaluate(None, query_labels, None, gallery_labels, preset=preset, ks=ks, scores=scores, scorer=None,
                     higher_is_better=higher_is_better, chunk_size=chunk_size, device=device, progress=progress)


def evaluate_scorer(scorer: Scorer, query_emb: Any, query_labels: Any, gallery_labels: Any, *,
                    higher_is_better: bool = False, preset: Preset = None, ks: Sequence[int] = (100, 200),
                    chunk_size: int | None = None, device: str | torch.device | None = None,
                    progress: bool | None = None, **replaced: Any) -> dict[str, Any]:
    """`evaluate_retrieval`'s metrics, ranking by a fitted scorer (e.g. a `ClusterMatcher`): its
    ``score(query chunk)`` gives [chunk, n_gallery] scores, lower is better unless `higher_is_better`."""
    _refuse_replaced("evaluate_scorer", replaced)
    return _evaluate(query_emb, query_labels, None, gallery_labels, preset=preset, ks=ks, scores=None, scorer=scorer,
                     higher_is_better=higher_is_better, chunk_size=chunk_size, device=device, progress=progress)


def class_balanced_mean(per_query_values: Any, query_labels: Any) -> float:
    """Mean over classes of the per-class mean: how the official SBKA scripts average mAP.

    ``preset="sbka"`` reports this directly; the default ``sbka_lite`` preset averages over
    queries. The two differ when classes have different numbers of queries.
    """
    by_class = per_class_mean(per_query_values, query_labels)
    return float(np.mean(list(by_class.values())))


def per_class_mean(per_query_values: Any, query_labels: Any) -> dict[Any, float]:
    """{class label: mean of its queries' values}, e.g. per-class AP from ``result["per_query"]["ap_all"]``.

    Labels come back as Python scalars (JSON-ready); NaN values (queries a convention skips)
    are left out of their class's mean.
    """
    values = to_numpy(per_query_values, "per_query_values").astype(np.float64)
    labels = to_numpy(query_labels, "query_labels")
    if values.ndim != 1 or labels.shape != values.shape:
        raise ValueError(f"per_query_values {values.shape} and query_labels {labels.shape} must be "
                         "1-D and of the same length")
    classes, codes = np.unique(labels, return_inverse=True)
    codes = codes.reshape(-1)
    counted = ~np.isnan(values)
    sums = np.bincount(codes[counted], weights=values[counted], minlength=len(classes))
    counts = np.bincount(codes[counted], minlength=len(classes))
    return {label.item() if hasattr(label, "item") else label: float(s / c) if c else float("nan")
            for label, s, c in zip(classes, sums, counts)}
