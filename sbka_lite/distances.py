"""Euclidean distances and exact top-k, chunked, for numpy arrays and torch tensors: one tie rule.

Arrays in, numbers out: no images, no models. Metrics, matchers, the modality-gap measures and
search all rank through this module, so they all order the gallery the same way.

**Tie rule** (``TIE_RULE``): equal distances rank by gallery index, lowest first, i.e. the
order of a *stable* sort of each row. It is the only rule that needs no labels, so one rule
serves the metrics (which know relevance), top-k lists and search (which do not), and a
per-query ``np.argsort(row, kind="stable")`` loop reproduces `sbka_lite.metrics` exactly.
Why not "irrelevant first" (the pessimistic rule earlier versions of the metrics used)? It
cannot be applied to a top-k list or a search, and it hides ties instead of reporting them.
A gallery listed by class (as the SAKE lists are) lets ties favour the classes listed first;
so the metrics count the queries whose relevant items share a distance with an irrelevant one
(``n_queries_with_ties``): a collapsed model shows up there, not as a lucky AP.

Distances are computed as ``||q||^2 + ||g||^2 - 2 q.g`` (one matrix product), clamped at zero.
Rankings are taken on ``||g||^2 - 2 q.g`` (``||q||^2`` is constant per row and adding it in
float32 can round two distinct distances into a tie), then ``||q||^2`` is added for display.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np
import torch

TIE_RULE = "stable: equal distances rank by gallery index (lowest first)"
Array = Any  # np.ndarray | torch.Tensor


# ----------------------------------------------------------------------------- inputs
def to_numpy(x: Any, name: str) -> np.ndarray:
    """`x` (array, tensor or sequence) as a numpy array; a ValueError naming `name` when None."""
    if x is None:
        raise ValueError(f"{name} is None; pass an array")
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def check_embeddings(x: Any, name: str) -> np.ndarray:
    """`x` as a finite float32 [n, dim] array, or a ValueError that names `name` and says why."""
    arr = to_numpy(x, name)
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


def check_same_dim(query: np.ndarray, gallery: np.ndarray) -> None:
    if query.shape[1] != gallery.shape[1]:
        raise ValueError(f"query_emb has dim {query.shape[1]} but gallery_emb has dim {gallery.shape[1]}; "
                         "embed both with the same model")


# ----------------------------------------------------------------------------- distances
def squared_norms(matrix: Array) -> Array:
    """Row norms squared, as a sum of squares (a root then a square would round) and without the
    full-size temporary of ``(m * m).sum(1)``."""
    if isinstance(matrix, torch.Tensor):
        return torch.einsum("ij,ij->i", matrix, matrix)
    return np.einsum("ij,ij->i", matrix, matrix)


def ranking_rows(query: Array, gallery: Array, gallery_sq: Array | None = None) -> Array:
    """``||g||^2 - 2 q.g`` [n_query, n_gallery]: the squared distance minus ``||q||^2``, same order per row."""
    if gallery_sq is None:
        gallery_sq = squared_norms(gallery)
    if isinstance(gallery, torch.Tensor):
        return torch.addmm(gallery_sq, query, gallery.T, alpha=-2.0)
    rows = query @ (-2.0 * gallery).T  # scaling by a power of two is exact
    rows += gallery_sq
    return rows


def _finish(rows: Array, query: Array, squared: bool) -> Array:
    """Add ``||q||^2`` to ranking rows, clamp rounding below zero, take the root unless `squared`."""
    if isinstance(rows, torch.Tensor):
        rows = (rows + squared_norms(query)[:, None]).clamp_min_(0)
        return rows if squared else rows.sqrt_()
    rows += squared_norms(query)[:, None]
    np.maximum(rows, 0.0, out=rows)
    return rows if squared else np.sqrt(rows, out=rows)


def euclidean(query: Array, gallery: Array, *, gallery_sq: Array | None = None,
              squared: bool = False) -> Array:
    """Euclidean (or squared) distances [n_query, n_gallery] of unchecked float arrays or tensors."""
    return _finish(ranking_rows(query, gallery, gallery_sq), query, squared)


def euclidean_chunks(query: np.ndarray, gallery: np.ndarray, *, chunk: int = 2048,
                     squared: bool = False) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, distances of query[start:start + chunk])`` blocks: memory stays at chunk x gallery."""
    gallery_sq = squared_norms(gallery)
    for start in range(0, len(query), chunk):
        yield start, euclidean(query[start:start + chunk], gallery, gallery_sq=gallery_sq, squared=squared)


def pairwise_distances(query_emb: Any, gallery_emb: Any, *, squared: bool = False) -> np.ndarray:
    """Euclidean (or squared) distances [n_queries, n_gallery] as float32, inputs checked. Small inputs only."""
    query = check_embeddings(query_emb, "query_emb")
    gallery = check_embeddings(gallery_emb, "gallery_emb")
    check_same_dim(query, gallery)
    return euclidean(query, gallery, squared=squared)


def chunk_rows_of(query: np.ndarray, gallery: np.ndarray, device: torch.device,
                  use_numpy: bool) -> Callable[[np.ndarray], Array]:
    """``rows(idx)``: ranking rows of the queries `idx`, by numpy BLAS (`use_numpy`) or torch on `device`."""
    if use_numpy:
        gallery_sq = squared_norms(gallery)
        return lambda idx: ranking_rows(query[idx], gallery, gallery_sq)
    query_t = torch.from_numpy(query).to(device)
    gallery_t = torch.from_numpy(gallery).to(device)
    gallery_sq_t = squared_norms(gallery_t)
    return lambda idx: ranking_rows(query_t[torch.from_numpy(idx).to(device)], gallery_t, gallery_sq_t)


# ----------------------------------------------------------------------------- top-k
def sort_by_value_then_index(values: Array, indices: Array) -> tuple[Array, Array]:
    """Each row of (values, indices) reordered by value, ties by index: the tie rule on candidate lists."""
    if isinstance(values, torch.Tensor):
        indices, perm = indices.sort(dim=1)
        values = values.gather(1, perm)
        values, perm = values.sort(dim=1, stable=True)
        return values, indices.gather(1, perm)
    order = np.lexsort((indices, values), axis=-1)
    return np.take_along_axis(values, order, 1), np.take_along_axis(indices, order, 1)


def smallest_k(rows: Array, k: int) -> tuple[Array, Array]:
    """The `k` smallest values of each row and their columns, ascending, ties by column (the tie rule)."""
    k = max(1, min(int(k), rows.shape[1]))
    if isinstance(rows, np.ndarray):
        idx = np.argsort(rows, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(rows, idx, 1), idx
    values, idx = torch.topk(rows, k, dim=1, largest=False, sorted=True)
    # topk may drop a tied value of lower column at the k-th place: redo those rows with a stable sort
    kth = values[:, -1:]
    short = (rows == kth).sum(1) > (values == kth).sum(1)
    values, idx = sort_by_value_then_index(values, idx)
    if bool(short.any()):
        full_values, full_idx = torch.sort(rows[short], dim=1, stable=True)
        values[short], idx[short] = full_values[:, :k], full_idx[:, :k]
    return values, idx


def exact_topk(queries: Array, gallery: Array, k: int, *, gallery_sq_norms: Array | None = None,
               chunk_rows: int = 262_144) -> tuple[np.ndarray, np.ndarray]:
    """The `k` gallery rows nearest to each query by Euclidean distance, exactly, under the tie rule.

    Works through the gallery `chunk_rows` rows at a time, keeping a running top-k, so memory
    stays at queries x chunk_rows whatever the gallery size. `gallery` is a tensor (on any
    device) or an array; `queries` follows it. Returns (distances [q, k] ascending, indices
    [q, k]) as numpy arrays.
    """
    if gallery.ndim != 2 or len(gallery) == 0:
        raise ValueError(f"the gallery must be a non-empty [n, dim] matrix; got shape {tuple(gallery.shape)}")
    gallery = torch.as_tensor(gallery)
    queries = torch.as_tensor(queries, dtype=gallery.dtype).to(gallery.device)
    if queries.ndim == 1:
        queries = queries[None]
    if queries.shape[1] != gallery.shape[1]:
        raise ValueError(f"query embeddings are {queries.shape[1]}-d but the gallery's are {gallery.shape[1]}-d")
    k = max(1, min(int(k), len(gallery)))
    if gallery_sq_norms is None:
        gallery_sq_norms = squared_norms(gallery)
    best_v = best_i = None
    for start in range(0, len(gallery), chunk_rows):
        block = gallery[start:start + chunk_rows]
        v, i = smallest_k(ranking_rows(queries, block, gallery_sq_norms[start:start + len(block)]), k)
        i = i + start
        if best_v is not None:  # merge: every earlier index is lower, the full sort keeps the rule
            v, i = sort_by_value_then_index(torch.cat([best_v, v], 1), torch.cat([best_i, i], 1))
            v, i = v[:, :k], i[:, :k]
        best_v, best_i = v, i
    distances = _finish(best_v.clone(), queries, squared=False)
    return distances.cpu().numpy(), best_i.cpu().numpy()
