"""Exact ZS-SBIR retrieval metrics: mAP@all, mAP@k and precision@k, vectorised and chunked.

Conventions (see ``docs/METHOD.md``, "Evaluation protocol"):

* Every query ranks the whole gallery by **ascending distance** (squared Euclidean on the
  given embeddings; the caller normalises), or by a precomputed score matrix / a scorer.
* **Tie rule** (pessimistic): among equal distances, irrelevant items rank before relevant
  ones, so a tie never helps a score. A collapsed model (all distances equal) therefore gets
  the worst AP, not one that depends on how the gallery list happens to be ordered (SAKE
  lists are sorted by class). Float32 distances tie often at benchmark scale (a few relevant
  items per Sketchy query), so the rule matters. ``ap="sklearn"`` AP@all needs no rule: its
  definition groups tied scores into one threshold.
* ``ap="voc"``: the VOC-interpolated AP of the public ZS-SBIR code (precision made monotone
  from the right, summed over recall steps). ``@k``: only the top ``k`` count and the recall
  denominator becomes ``min(k, #relevant)``.
* ``ap="sklearn"``: scikit-learn's non-interpolated ``average_precision_score`` on the
  negated distances. ``@k`` follows the peers that report it (SEM-PCYC, Doodle2Search):
  sklearn's AP on the top-``k`` list alone, so its denominator is the number of relevant
  items inside the top ``k``; 0 when there are none.
* ``prec_k``: relevant items in the top ``k`` divided by ``min(k, n_gallery)`` (the public
  code's mean over a truncated list; the same as ``/ k`` whenever ``k <= n_gallery``).
* A query whose class has no gallery item gets AP = 0 and precision = 0, and it **counts**
  in every mean (``n_queries_without_relevant`` says how many there were). The public code
  returns NaN there and averages per class with ``nanmean``; ZS-SBIR splits never have one.

How it is fast and exact: AP needs only the ranks of the relevant items. Queries are
grouped by class, so a chunk of queries shares one relevant set. Per chunk: one distance
GEMM, one SIMD sort of the distance *values* (no argsort), then each relevant distance finds
how many items are at most as far by binary search in the sorted row; with the tie rule
above that count gives its rank exactly, ties included. Memory is bounded by the chunk:
never a full queries x gallery matrix.
"""
from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from sbka_lite.device import get_device

AP_CONVENTIONS = ("voc", "sklearn")
TIE_RULE = "pessimistic: among equal distances, irrelevant items rank before relevant ones"
# Memory budget of one chunk: its float32 distance rows (sorted in place) and working copies.
CHUNK_BYTES = 256 * 2**20
_CPU_THREADS = max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                           else os.cpu_count() or 1))
_POOL: ThreadPoolExecutor | None = None
# On CPU, numpy's SIMD sort of float32 rows is several times faster than torch.sort;
# tests switch this to "torch" to exercise the code path that GPUs take.
_CPU_BACKEND = "numpy"


class Scorer(Protocol):
    """Anything with ``score(query_emb) -> [n_queries, n_gallery]`` distances (lower is better).

    Set a class attribute ``thread_safe = True`` when ``score`` may run in several threads at
    once (numpy-only scorers can); `evaluate_retrieval` then spreads it over the CPU threads.
    """

    def score(self, query_emb: np.ndarray) -> Any: ...


# ----------------------------------------------------------------------------- inputs
def _to_numpy(x: Any, name: str) -> np.ndarray:
    if x is None:
        raise ValueError(f"{name} is None; pass an array")
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def check_embeddings(x: Any, name: str) -> np.ndarray:
    """`x` as a finite float32 [n, dim] array, or a ValueError that names `name` and says why."""
    arr = _to_numpy(x, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D [n_items, dim], got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); pass at least one item of dim >= 1")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    # Squared norms enter the distance; they overflow float32 long before the values do.
    bad = ~np.isfinite(np.einsum("ij,ij->i", arr, arr))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        what = "NaN or inf" if not np.isfinite(arr[row]).all() else "values too large for float32 distances"
        raise ValueError(f"{name} row {row} holds {what} ({int(bad.sum())} bad rows in all); "
                         "fix or drop those embeddings before evaluating")
    return arr


def _check_labels(query_labels: Any, gallery_labels: Any, n_queries: int | None,
                  n_gallery: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Both label arrays encoded jointly as int64 codes (labels may be ints or strings)."""
    encoded = []
    for name, labels, expected in (("query_labels", query_labels, n_queries),
                                   ("gallery_labels", gallery_labels, n_gallery)):
        arr = _to_numpy(labels, name)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D (one label per item), got shape {arr.shape}")
        if expected is not None and len(arr) != expected:
            other = "query_emb" if name == "query_labels" else "gallery_emb"
            raise ValueError(f"{name} has {len(arr)} labels but {other} has {expected} rows; "
                             "they must match one to one")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError(f"{name} holds NaN or inf labels")
        encoded.append(arr)
    kinds = {"numeric" if arr.dtype.kind in "biuf" else "text" if arr.dtype.kind in "USO" else arr.dtype.kind
             for arr in encoded}
    if len(kinds) > 1 or not kinds <= {"numeric", "text"}:
        raise ValueError(f"query_labels and gallery_labels must both be ints or both be strings, got "
                         f"dtypes {encoded[0].dtype} and {encoded[1].dtype}")
    if len(encoded[0]) == 0 or len(encoded[1]) == 0:
        raise ValueError("query_labels and gallery_labels must each hold at least one label")
    try:
        _, codes = np.unique(np.concatenate(encoded), return_inverse=True)
    except TypeError as err:
        raise ValueError(f"query_labels and gallery_labels must be comparable (all ints or all "
                         f"strings): {err}") from None
    codes = codes.reshape(-1).astype(np.int64)
    return codes[: len(encoded[0])], codes[len(encoded[0]):]


def _check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    try:
        values = tuple(sorted({int(k) for k in ks}))
    except (TypeError, ValueError):
        raise ValueError(f"ks must be a sequence of positive ints, got {ks!r}") from None
    if any(k < 1 for k in values) or any(int(k) != k for k in ks):
        raise ValueError(f"ks must be positive ints, got {ks!r}")
    return values


# ----------------------------------------------------------------------------- distances
def _embedding_rows(query: np.ndarray, gallery: np.ndarray,
                    device: torch.device) -> Callable[[np.ndarray], np.ndarray | torch.Tensor]:
    """Rows of ``||p||^2 - 2<q, p>``: the squared distance minus ``||q||^2``, same order per row."""
    if device.type == "cpu" and _CPU_BACKEND == "numpy":
        # numpy's BLAS is faster than torch's MKL on the AMD CPUs this project runs on.
        gallery_sq = np.einsum("ij,ij->i", gallery, gallery)
        gallery_m2 = -2.0 * gallery  # scaling by a power of two is exact: saves a pass per chunk

        def rows(idx: np.ndarray) -> np.ndarray:
            dist = query[idx] @ gallery_m2.T
            dist += gallery_sq
            return dist
        return rows

    query_t = torch.from_numpy(query).to(device)
    gallery_t = torch.from_numpy(gallery).to(device)
    gallery_sq_t = (gallery_t * gallery_t).sum(1)

    def rows_torch(idx: np.ndarray) -> torch.Tensor:
        chunk = query_t[torch.from_numpy(idx).to(device)]
        return torch.addmm(gallery_sq_t, chunk, gallery_t.T, alpha=-2.0)
    return rows_torch


def pairwise_distances(query_emb: Any, gallery_emb: Any, *, squared: bool = False) -> np.ndarray:
    """Euclidean (or squared) distances [n_queries, n_gallery] as float32. Small inputs only."""
    query = check_embeddings(query_emb, "query_emb")
    gallery = check_embeddings(gallery_emb, "gallery_emb")
    if query.shape[1] != gallery.shape[1]:
        raise ValueError(f"query_emb has dim {query.shape[1]} but gallery_emb has dim {gallery.shape[1]}")
    dist = query @ gallery.T
    dist *= -2.0
    dist += np.einsum("ij,ij->i", gallery, gallery)[None, :]
    dist += np.einsum("ij,ij->i", query, query)[:, None]
    np.maximum(dist, 0.0, out=dist)
    return dist if squared else np.sqrt(dist, out=dist)


# ----------------------------------------------------------------------------- ranks
def _sort_pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=_CPU_THREADS, thread_name_prefix="sbka-metrics")
    return _POOL


def _relevant_ranks(dist: np.ndarray | torch.Tensor, relevant: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ranks of the relevant items of every row under the tie rule, ascending: [B, n] each.

    `dist` is a chunk of rows this module owns (a numpy array is sorted in place). Returns
    ``(ranks, n_le, rel_le)``: 0-based ranks and, for the relevant item of each rank, the
    number of gallery items and of relevant items whose distance is <= its own (sklearn's
    threshold counts). Tied irrelevant items rank first, so the t-th relevant item by
    distance has rank ``n_le_t - rel_le_t + t``.
    """
    n_rows, n_rel = dist.shape[0], len(relevant)
    if isinstance(dist, np.ndarray):
        rel_sorted = np.sort(dist[:, relevant], axis=1)
        dist.sort(axis=1)
        n_le = np.empty((n_rows, n_rel), dtype=np.int64)
        rel_le = np.empty((n_rows, n_rel), dtype=np.int64)
        for i in range(n_rows):  # sorted needles: numpy's searchsorted walks them in one pass
            n_le[i] = np.searchsorted(dist[i], rel_sorted[i], side="right")
            rel_le[i] = np.searchsorted(rel_sorted[i], rel_sorted[i], side="right")
    else:  # torch, e.g. on a GPU
        rel_sorted_t = torch.sort(dist[:, torch.from_numpy(relevant).to(dist.device)], dim=1).values
        sorted_t = torch.sort(dist, dim=1).values
        n_le = torch.searchsorted(sorted_t, rel_sorted_t, side="right").cpu().numpy()
        rel_le = torch.searchsorted(rel_sorted_t, rel_sorted_t, side="right").cpu().numpy()
    return n_le - rel_le + np.arange(n_rel), n_le, rel_le


def _suffix_max(x: np.ndarray) -> np.ndarray:
    return np.maximum.accumulate(x[:, ::-1], axis=1)[:, ::-1]


def _chunk_metrics(ranks: np.ndarray, n_le: np.ndarray, rel_le: np.ndarray,
                   n_gallery: int, ap: str, ks: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Per-row AP@all, AP@k and precision@k from the sorted relevant ranks."""
    n_rel = ranks.shape[1]
    out: dict[str, np.ndarray] = {}
    if ap == "voc":
        precision = np.arange(1, n_rel + 1, dtype=np.float64) / (ranks + 1.0)
        out["ap_all"] = _suffix_max(precision).sum(1) / n_rel
    else:
        precision = rel_le / n_le
        out["ap_all"] = precision.mean(1)
    for k in ks:
        top = min(k, n_gallery)
        in_top = ranks < top  # a prefix of each row, since ranks ascend
        n_in_top = in_top.sum(1)
        if ap == "voc":
            out[f"ap_{k}"] = _suffix_max(np.where(in_top, precision, 0.0)).sum(1) / min(top, n_rel)
        else:
            # sklearn's AP on the top list: counts restricted to the items inside it
            rel_in = np.minimum(rel_le, n_in_top[:, None])
            top_in = np.minimum(n_le, top)
            out[f"ap_{k}"] = np.where(in_top, rel_in / top_in, 0.0).sum(1) / np.maximum(n_in_top, 1)
        out[f"prec_{k}"] = n_in_top / top
    return out


def _owned_rows(rows: Any, device: torch.device, copy: bool) -> np.ndarray | torch.Tensor:
    """A chunk of rows as a numpy array (CPU) or a tensor on `device`, owned by the caller."""
    if device.type == "cpu" and _CPU_BACKEND == "numpy":
        if isinstance(rows, torch.Tensor):
            rows = rows.detach().cpu().numpy()
        return np.array(rows, copy=True) if copy else np.ascontiguousarray(rows)
    if not isinstance(rows, torch.Tensor):
        rows = torch.from_numpy(np.ascontiguousarray(rows))
    return rows.detach().to(device).contiguous()


# ----------------------------------------------------------------------------- engine
def _evaluate(rows_of: Callable[[np.ndarray], Any], query_codes: np.ndarray,
              gallery_codes: np.ndarray, *, ap: str, ks: tuple[int, ...], chunk_size: int | None,
              device: torch.device, progress: bool | None, check_rows: bool,
              negate: bool, rows_in_threads: bool = True) -> dict[str, Any]:
    n_queries, n_gallery = len(query_codes), len(gallery_codes)
    names = ["ap_all"] + [f"ap_{k}" for k in ks] + [f"prec_{k}" for k in ks]
    per_query = {name: np.zeros(n_queries, dtype=np.float64) for name in names}
    if chunk_size is None:
        chunk_size = max(1, CHUNK_BYTES // (8 * n_gallery))
    elif int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    chunk_size = int(chunk_size)

    # Group queries by class: one relevant set (gallery indices, ascending) per chunk.
    gallery_order = np.argsort(gallery_codes, kind="stable")
    gallery_sorted_codes = gallery_codes[gallery_order]
    query_order = np.argsort(query_codes, kind="stable")
    query_sorted_codes = query_codes[query_order]
    chunks, n_without = [], 0
    for code in np.unique(query_codes):
        q_lo, q_hi = np.searchsorted(query_sorted_codes, [code, code + 1])
        g_lo, g_hi = np.searchsorted(gallery_sorted_codes, [code, code + 1])
        if g_hi == g_lo:
            n_without += int(q_hi - q_lo)  # AP and precision stay 0
            continue
        relevant = np.sort(gallery_order[g_lo:g_hi])
        for start in range(q_lo, q_hi, chunk_size):
            chunks.append((query_order[start:min(start + chunk_size, q_hi)], relevant))

    if progress is None:
        progress = n_queries * n_gallery > 2e8

    def score_rows(idx: np.ndarray, relevant: np.ndarray, rows: Any = None) -> None:
        rows = rows_of(idx) if rows is None else rows
        if check_rows:
            if not isinstance(rows, (np.ndarray, torch.Tensor)):
                rows = np.asarray(rows)
            if tuple(rows.shape) != (len(idx), n_gallery):
                raise ValueError(f"the scorer returned shape {tuple(rows.shape)} for {len(idx)} queries; "
                                 f"expected ({len(idx)}, {n_gallery}) (one column per gallery label)")
        # A scorer may hand back a view of its own memory: copy before sorting in place.
        dist = _owned_rows(rows, device, copy=check_rows)
        if check_rows:
            lib = np if isinstance(dist, np.ndarray) else torch
            if not lib.isfinite(dist).all():
                raise ValueError("the scorer returned NaN or inf scores; check its inputs and fit")
        if negate:
            dist = -dist
        for name, values in _chunk_metrics(*_relevant_ranks(dist, relevant), n_gallery, ap, ks).items():
            per_query[name][idx] = values

    # On CPU each chunk is split over threads that each run GEMM, sort and search on their
    # rows (numpy releases the GIL), with BLAS held to one thread: BLAS threads spinning
    # beside the sort threads made a busy 2-core machine up to 5x slower. (A scorer's own
    # BLAS calls run under the same limit.)
    threads = _CPU_THREADS if device.type == "cpu" and _CPU_BACKEND == "numpy" else 1
    bar = tqdm(total=n_queries - n_without, desc=f"mAP ({ap})", unit="query", disable=not progress)
    with threadpool_limits(limits=1, user_api="blas") if threads > 1 else contextlib.nullcontext():
        for idx, relevant in chunks:
            # A scorer not marked thread_safe runs on the calling thread, a chunk at a time.
            rows = None if rows_in_threads else rows_of(idx)
            n_parts = min(threads, max(1, len(idx) // 16))
            if n_parts == 1:
                score_rows(idx, relevant, rows)
            else:
                edges = np.linspace(0, len(idx), n_parts + 1).astype(int)
                if rows is not None and not isinstance(rows, (np.ndarray, torch.Tensor)):
                    rows = np.asarray(rows)
                futures = [_sort_pool().submit(score_rows, idx[lo:hi], relevant,
                                               None if rows is None else rows[lo:hi])
                           for lo, hi in zip(edges[:-1], edges[1:])]
                for future in futures:
                    future.result()
            bar.update(len(idx))
    bar.close()

    result: dict[str, Any] = {"ap": ap, "map_all": float(per_query["ap_all"].mean())}
    for k in ks:
        result[f"map_{k}"] = float(per_query[f"ap_{k}"].mean())
        result[f"prec_{k}"] = float(per_query[f"prec_{k}"].mean())
    result.update(per_query=per_query, n_queries=n_queries, n_gallery=n_gallery,
                  n_queries_without_relevant=n_without, ks=list(ks), tie_rule=TIE_RULE)
    return result


def evaluate_retrieval(query_emb: Any, query_labels: Any, gallery_emb: Any, gallery_labels: Any, *,
                       ap: str = "voc", ks: Sequence[int] = (100, 200), scores: Any = None,
                       scorer: Scorer | None = None, higher_is_better: bool = False,
                       chunk_size: int | None = None, device: str | torch.device | None = None,
                       progress: bool | None = None) -> dict[str, Any]:
    """Exact retrieval metrics of sketch queries against a photo gallery.

    Args:
        query_emb, gallery_emb: [n, dim] arrays or tensors; ranking is by Euclidean distance
            on them as given (normalise first if the method needs it), computed in float32
            as ``||p||^2 - 2<q, p>`` (``||q||^2`` is constant per row). Near-equal distances
            can round to ties; ties follow the module's tie rule. Either may be None when
            `scores` is given; `gallery_emb` may be None when `scorer` is given.
        query_labels, gallery_labels: one class label (int or str) per row.
        ap: "voc" (VOC-interpolated, the public ZS-SBIR convention) or "sklearn"
            (scikit-learn's non-interpolated AP). Never compare numbers across the two.
        ks: cut-offs; each k gives ``map_k`` and ``prec_k``.
        scores: a precomputed [n_queries, n_gallery] matrix to rank by instead of distances.
        scorer: an object with ``score(query_emb_chunk) -> [chunk, n_gallery]``, e.g. a fitted
            `sbka_lite.retrieval.ClusterMatcher`; called on chunks of queries, from worker
            threads when it has ``thread_safe = True``, else from the calling thread.
        higher_is_better: set for similarities (`scores` or `scorer` output); distances are
            lower-is-better, the default.
        chunk_size: queries per chunk; default keeps a chunk's rows under ``CHUNK_BYTES``.
        device: where to compute; default `sbka_lite.device.get_device()` (CUDA when present).
        progress: show a progress bar; default only for large problems.

    Returns:
        dict with floats ``map_all``, ``map_<k>``, ``prec_<k>`` (means over all queries),
        ``per_query`` (dict of float64 arrays ``ap_all``, ``ap_<k>``, ``prec_<k>`` in query
        order), ``n_queries``, ``n_gallery``, ``n_queries_without_relevant``, ``ks``, ``ap``
        and ``tie_rule``. See the module docstring for the exact conventions.
    """
    if ap not in AP_CONVENTIONS:
        raise ValueError(f"ap must be one of {AP_CONVENTIONS}, got {ap!r}")
    ks = _check_ks(ks)
    if scores is not None and scorer is not None:
        raise ValueError("pass either scores or scorer, not both")
    device = get_device(device if device is None else str(device))

    if scores is not None:
        matrix = _to_numpy(scores, "scores")
        if matrix.ndim != 2:
            raise ValueError(f"scores must be 2-D [n_queries, n_gallery], got shape {matrix.shape}")
        if not np.issubdtype(matrix.dtype, np.floating):
            matrix = matrix.astype(np.float64)
        if not np.isfinite(matrix).all():
            raise ValueError("scores holds NaN or inf; a ranking needs finite scores")
        query_codes, gallery_codes = _check_labels(query_labels, gallery_labels, *matrix.shape)
        # Keep the given precision: rounding float64 scores to float32 could create ties.
        rows_of = lambda idx: matrix[idx]  # noqa: E731  (fancy indexing copies)
        check_rows, rows_in_threads = False, True
    elif scorer is not None:
        if not callable(getattr(scorer, "score", None)):
            raise ValueError("scorer must have a score(query_emb) method returning [n, n_gallery] scores")
        query = check_embeddings(query_emb, "query_emb")
        query_codes, gallery_codes = _check_labels(query_labels, gallery_labels, len(query), None)
        rows_of = lambda idx: scorer.score(query[idx])  # noqa: E731
        check_rows = True
        rows_in_threads = bool(getattr(scorer, "thread_safe", False))
    else:
        if higher_is_better:
            raise ValueError("higher_is_better applies to scores or a scorer; embeddings are ranked "
                             "by distance")
        query = check_embeddings(query_emb, "query_emb")
        gallery = check_embeddings(gallery_emb, "gallery_emb")
        if query.shape[1] != gallery.shape[1]:
            raise ValueError(f"query_emb has dim {query.shape[1]} but gallery_emb has dim "
                             f"{gallery.shape[1]}; embed both with the same model")
        query_codes, gallery_codes = _check_labels(query_labels, gallery_labels, len(query), len(gallery))
        rows_of = _embedding_rows(query, gallery, device)
        check_rows, rows_in_threads = False, True
    return _evaluate(rows_of, query_codes, gallery_codes, ap=ap, ks=ks, chunk_size=chunk_size,
                     device=device, progress=progress, check_rows=check_rows,
                     negate=higher_is_better, rows_in_threads=rows_in_threads)


def evaluate_scores(scores: Any, query_labels: Any, gallery_labels: Any, **kwargs: Any) -> dict[str, Any]:
    """`evaluate_retrieval` on a precomputed [n_queries, n_gallery] matrix (lower is better
    unless ``higher_is_better=True``)."""
    return evaluate_retrieval(None, query_labels, None, gallery_labels, scores=scores, **kwargs)


def evaluate_scorer(scorer: Scorer, query_emb: Any, query_labels: Any, gallery_labels: Any,
                    **kwargs: Any) -> dict[str, Any]:
    """`evaluate_retrieval` with a fitted scorer (e.g. a `ClusterMatcher`) ranking the gallery."""
    return evaluate_retrieval(query_emb, query_labels, None, gallery_labels, scorer=scorer, **kwargs)


def class_balanced_mean(per_query_values: Any, query_labels: Any) -> float:
    """Mean over classes of the per-class mean: how the official SBKA scripts average mAP.

    `evaluate_retrieval`'s ``map_*`` are plain means over queries (method.md); the two differ
    when classes have different numbers of queries. Name which one a number is.
    """
    values = _to_numpy(per_query_values, "per_query_values").astype(np.float64)
    labels = _to_numpy(query_labels, "query_labels")
    if values.ndim != 1 or labels.shape != values.shape:
        raise ValueError(f"per_query_values {values.shape} and query_labels {labels.shape} must be "
                         "1-D and of the same length")
    _, codes = np.unique(labels, return_inverse=True)
    codes = codes.reshape(-1)
    return float((np.bincount(codes, weights=values) / np.bincount(codes)).mean())


# ----------------------------------------------------------------------------- nearest neighbours
# Few queries against a large gallery (search): chunk over the gallery instead of the queries.

def squared_norms(matrix: torch.Tensor) -> torch.Tensor:
    """Row norms squared, without the full-size temporary that ``(m * m).sum(1)`` would allocate."""
    return torch.linalg.vector_norm(matrix, dim=1).square_()


def exact_topk(queries: np.ndarray | torch.Tensor, gallery: torch.Tensor, k: int, *,
               gallery_sq_norms: torch.Tensor | None = None, chunk_rows: int = 262_144
               ) -> tuple[np.ndarray, np.ndarray]:
    """The `k` gallery rows nearest to each query by Euclidean distance, exactly.

    Works through the gallery `chunk_rows` rows at a time, keeping a running top-k, so memory
    stays at queries x chunk_rows whatever the gallery size. Distances come from
    ``|q|^2 + |g|^2 - 2 q.g`` (one matrix product per chunk), clamped at zero. Returns
    (distances [q, k] ascending, indices [q, k]) as numpy arrays.
    """
    if gallery.ndim != 2 or len(gallery) == 0:
        raise ValueError(f"the gallery must be a non-empty [n, dim] matrix; got shape {tuple(gallery.shape)}")
    queries = torch.as_tensor(queries, dtype=gallery.dtype).to(gallery.device)
    if queries.ndim == 1:
        queries = queries[None]
    if queries.shape[1] != gallery.shape[1]:
        raise ValueError(f"query embeddings are {queries.shape[1]}-d but the gallery's are {gallery.shape[1]}-d")
    k = max(1, min(int(k), len(gallery)))
    if gallery_sq_norms is None:
        gallery_sq_norms = squared_norms(gallery)
    query_sq_norms = squared_norms(queries)[:, None]
    best_d = best_i = None
    for start in range(0, len(gallery), chunk_rows):
        block = gallery[start:start + chunk_rows]
        sq = (query_sq_norms + gallery_sq_norms[start:start + len(block)][None] - 2.0 * queries @ block.T).clamp_min_(0)
        d, i = torch.topk(sq, min(k, len(block)), dim=1, largest=False, sorted=True)
        i = i + start
        if best_d is not None:
            d, order = torch.topk(torch.cat([best_d, d], 1), k, dim=1, largest=False, sorted=True)
            i = torch.gather(torch.cat([best_i, i], 1), 1, order)
        best_d, best_i = d, i
    distances, indices = best_d.sqrt().cpu().numpy(), best_i.cpu().numpy()
    # The metrics' tie rule: equal distances in gallery order (torch.topk leaves ties unordered).
    order = np.lexsort((indices, distances), axis=-1)  # per row: by distance, then gallery index
    return np.take_along_axis(distances, order, 1), np.take_along_axis(indices, order, 1)
