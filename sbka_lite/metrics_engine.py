"""The exact, chunked ranking engine behind `sbka_lite.metrics`: ranks of the relevant items, fast.

AP and P@k need only the ranks of the relevant items. Queries are grouped by class, so a
chunk of queries shares one relevant set. Per chunk: one distance GEMM
(`sbka_lite.distances`), one SIMD sort of the distance *values* (no argsort), then each
relevant distance finds how many items are nearer by binary search in the sorted row. Under
the tie rule of `sbka_lite.distances` (equal distances by gallery index) that count is the
rank, plus, inside a group of equal distances, the relevant items of lower index; only a row
where a relevant item ties with an irrelevant one needs more: a scan of the row up to that item.
Memory is bounded by the chunk: never a full queries x gallery matrix. The ranks are computed
once and every requested convention (`sbka_lite.metrics_conventions`) reads them.
"""
from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from sbka_lite.distances import to_numpy
from sbka_lite.metrics_conventions import Convention, chunk_values

# Memory budget of one chunk: its float32 distance rows and their sorted copy.
CHUNK_BYTES = 256 * 2**20
CPU_THREADS = max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                          else os.cpu_count() or 1))
_POOL: ThreadPoolExecutor | None = None
# On CPU, numpy's SIMD sort of float32 rows is several times faster than torch.sort;
# tests switch this to "torch" to exercise the code path that GPUs take.
CPU_BACKEND = "numpy"


def uses_numpy(device: torch.device) -> bool:
    return device.type == "cpu" and CPU_BACKEND == "numpy"


# ----------------------------------------------------------------------------- labels
def check_labels(query_labels: Any, gallery_labels: Any, n_queries: int | None,
                 n_gallery: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Both label arrays encoded jointly as int64 codes (labels may be ints or strings)."""
    encoded = []
    for name, labels, expected in (("query_labels", query_labels, n_queries),
                                   ("gallery_labels", gallery_labels, n_gallery)):
        arr = to_numpy(labels, name)
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


def check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    try:
        values = tuple(sorted({int(k) for k in ks}))
    except (TypeError, ValueError):
        raise ValueError(f"ks must be a sequence of positive ints, got {ks!r}") from None
    if any(k < 1 for k in values) or any(int(k) != k for k in ks):
        raise ValueError(f"ks must be positive ints, got {ks!r}")
    return values


def class_chunks(query_codes: np.ndarray, gallery_codes: np.ndarray, chunk_size: int
                 ) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Chunks ``(query indices, relevant gallery indices ascending)`` of one class each, and the
    mask of queries whose class has no gallery item (they get no chunk)."""
    gallery_order = np.argsort(gallery_codes, kind="stable")
    gallery_sorted = gallery_codes[gallery_order]
    query_order = np.argsort(query_codes, kind="stable")
    query_sorted = query_codes[query_order]
    chunks, empty = [], np.zeros(len(query_codes), dtype=bool)
    for code in np.unique(query_codes):
        q_lo, q_hi = np.searchsorted(query_sorted, [code, code + 1])
        g_lo, g_hi = np.searchsorted(gallery_sorted, [code, code + 1])
        if g_hi == g_lo:
            empty[query_order[q_lo:q_hi]] = True
            continue
        relevant = np.sort(gallery_order[g_lo:g_hi])
        for start in range(q_lo, q_hi, chunk_size):
            chunks.append((query_order[start:min(start + chunk_size, q_hi)], relevant))
    return chunks, empty


# ----------------------------------------------------------------------------- ranks
def _group_bounds(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each entry of rows sorted ascending: the first index of its group of equal values, and
    one past the last (``searchsorted`` left and right of every entry in its own row, vectorised)."""
    n = sorted_values.shape[1]
    positions = np.broadcast_to(np.arange(n), sorted_values.shape)
    starts = np.ones(sorted_values.shape, dtype=bool)
    starts[:, 1:] = sorted_values[:, 1:] != sorted_values[:, :-1]
    first = np.maximum.accumulate(np.where(starts, positions, 0), axis=1)
    ends = np.ones(sorted_values.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    after = np.minimum.accumulate(np.where(ends, positions + 1, n)[:, ::-1], axis=1)[:, ::-1]
    return first, after


def _ranks_numpy(dist: np.ndarray, relevant: np.ndarray) -> tuple[np.ndarray, ...]:
    rel_sorted = np.sort(dist[:, relevant], axis=1)
    sorted_rows = np.sort(dist, axis=1)  # a copy: `dist` stays for rows with mixed ties
    n_le = np.empty(rel_sorted.shape, dtype=np.int64)
    for i in range(len(dist)):  # sorted needles: numpy's searchsorted walks them in one pass
        n_le[i] = np.searchsorted(sorted_rows[i], rel_sorted[i], side="right")
    # n_lt: step back over equal values (a group of equal float32 distances holds two or three)
    n_lt = n_le - 1
    flat_rows = sorted_rows.ravel()
    flat_lt = (n_lt + np.arange(len(dist))[:, None] * dist.shape[1]).ravel()  # flat index of the item itself
    needles = rel_sorted.ravel()
    check = np.flatnonzero(n_lt.ravel() > 0)
    while check.size:
        check = check[flat_rows[flat_lt[check] - 1] == needles[check]]
        flat_lt[check] -= 1
        n_lt.ravel()[check] -= 1
        check = check[n_lt.ravel()[check] > 0]
    rel_lt, rel_le = _group_bounds(rel_sorted)
    return rel_sorted, n_lt, n_le, rel_lt, rel_le


def _ranks_torch(dist: torch.Tensor, relevant: np.ndarray) -> tuple[np.ndarray, ...]:
    rel = torch.sort(dist[:, torch.from_numpy(relevant).to(dist.device)], dim=1).values
    sorted_rows = torch.sort(dist, dim=1).values
    counts = (torch.searchsorted(sorted_rows, rel, side="left"), torch.searchsorted(sorted_rows, rel, side="right"),
              torch.searchsorted(rel, rel, side="left"), torch.searchsorted(rel, rel, side="right"))
    return (rel.cpu().numpy(), *(c.cpu().numpy() for c in counts))


def _tied_ranks(row: np.ndarray, relevant: np.ndarray, rel_values: np.ndarray, n_lt: np.ndarray,
                rel_lt: np.ndarray, mixed: np.ndarray) -> np.ndarray:
    """Exact ranks of one row's relevant items (in rank order) whose distance group holds irrelevant
    items too: the nearer items plus the group's items of lower gallery index (a scan up to it)."""
    rel_row = row[relevant]
    ranks = []
    for t in np.flatnonzero(mixed):
        value = rel_values[t]
        # the group's relevant items in gallery order; this one is the (t - rel_lt)-th of them
        j = relevant[np.flatnonzero(rel_row == value)[t - rel_lt[t]]]
        ranks.append(n_lt[t] + np.count_nonzero(row[:j] == value))
    return np.asarray(ranks, dtype=np.int64)


def relevant_ranks(dist: np.ndarray | torch.Tensor, relevant: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ranks of the relevant items of every row under the tie rule, ascending: [B, n] each.

    Returns ``(ranks, n_le, rel_le, tied)``: 0-based ranks; for the relevant item of each
    rank the number of gallery and of relevant items whose distance is <= its own; and per
    row whether a relevant item shares its distance with an irrelevant one.
    """
    is_numpy = isinstance(dist, np.ndarray)
    rel_values, n_lt, n_le, rel_lt, rel_le = (_ranks_numpy if is_numpy else _ranks_torch)(dist, relevant)
    # nearer items, then the relevant items of lower index inside the group of equal distances
    ranks = n_lt + (np.arange(len(relevant)) - rel_lt)
    mixed = (n_le - n_lt) > (rel_le - rel_lt)  # the group also holds irrelevant items: their indices decide
    tied = mixed.any(1)
    rows = np.flatnonzero(tied)
    if rows.size:  # few items per row (a group of equal float32 distances is small)
        tied_rows = dist[rows] if is_numpy else dist[torch.from_numpy(rows).to(dist.device)].cpu().numpy()
        for row, i in zip(tied_rows, rows):
            ranks[i, mixed[i]] = _tied_ranks(row, relevant, rel_values[i], n_lt[i], rel_lt[i], mixed[i])
    return ranks, n_le, rel_le, tied


def _owned_rows(rows: Any, device: torch.device, copy: bool) -> np.ndarray | torch.Tensor:
    """A chunk of rows as a numpy array (CPU) or a tensor on `device`, owned by the caller."""
    if uses_numpy(device):
        if isinstance(rows, torch.Tensor):
            rows = rows.detach().cpu().numpy()
        return np.array(rows, copy=True) if copy else np.ascontiguousarray(rows)
    if not isinstance(rows, torch.Tensor):
        rows = torch.from_numpy(np.ascontiguousarray(rows))
    return rows.detach().to(device).contiguous()


def _sort_pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=CPU_THREADS, thread_name_prefix="sbka-metrics")
    return _POOL


# ----------------------------------------------------------------------------- the loop
class _ChunkScorer:
    """Scores one chunk of rows into the shared per-query value arrays (safe across threads)."""

    def __init__(self, rows_of: Callable[[np.ndarray], Any], n_queries: int, n_gallery: int,
                 ks: tuple[int, ...], conventions: list[Convention], device: torch.device,
                 check_rows: bool, negate: bool):
        self.rows_of, self.n_gallery, self.ks, self.conventions = rows_of, n_gallery, ks, conventions
        self.device, self.check_rows, self.negate = device, check_rows, negate
        self.values: dict[tuple, np.ndarray] = {}
        self.n_queries = n_queries
        self.tied = np.zeros(n_queries, dtype=bool)

    def _checked(self, rows: Any, n: int) -> Any:
        if not isinstance(rows, (np.ndarray, torch.Tensor)):
            rows = np.asarray(rows)
        if tuple(rows.shape) != (n, self.n_gallery):
            raise ValueError(f"the scorer returned shape {tuple(rows.shape)} for {n} queries; "
                             f"expected ({n}, {self.n_gallery}) (one column per gallery label)")
        return rows

    def __call__(self, idx: np.ndarray, relevant: np.ndarray, rows: Any = None) -> None:
        rows = self.rows_of(idx) if rows is None else rows
        if self.check_rows:
            rows = self._checked(rows, len(idx))
        # A scorer may hand back a view of its own memory: copy before working on it.
        dist = _owned_rows(rows, self.device, copy=self.check_rows)
        if self.check_rows:
            lib = np if isinstance(dist, np.ndarray) else torch
            if not lib.isfinite(dist).all():
                raise ValueError("the scorer returned NaN or inf scores; check its inputs and fit")
        if self.negate:
            dist = -dist
        ranks, n_le, rel_le, tied = relevant_ranks(dist, relevant)
        self.tied[idx] = tied
        for key, values in chunk_values(ranks, n_le, rel_le, self.n_gallery, self.ks, self.conventions).items():
            # setdefault is atomic under the GIL: threads share one array per key
            self.values.setdefault(key, np.zeros(self.n_queries, dtype=np.float64))[idx] = values


def run(rows_of: Callable[[np.ndarray], Any], query_codes: np.ndarray, gallery_codes: np.ndarray, *,
        ks: tuple[int, ...], conventions: list[Convention], chunk_size: int | None, device: torch.device,
        progress: bool | None, check_rows: bool, negate: bool, rows_in_threads: bool = True
        ) -> tuple[dict[tuple, np.ndarray], np.ndarray, np.ndarray]:
    """Per-query values for every convention (keys of `chunk_values`), the empty-query mask and
    the per-query tie flags."""
    n_queries, n_gallery = len(query_codes), len(gallery_codes)
    if chunk_size is None:
        chunk_size = max(1, CHUNK_BYTES // (8 * n_gallery))
    elif int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    chunks, empty = class_chunks(query_codes, gallery_codes, int(chunk_size))
    scorer = _ChunkScorer(rows_of, n_queries, n_gallery, ks, conventions, device, check_rows, negate)
    if progress is None:
        progress = n_queries * n_gallery > 2e8
    # On CPU each chunk is split over threads that each run GEMM, sort and search on their
    # rows (numpy releases the GIL), with BLAS held to one thread: BLAS threads spinning
    # beside the sort threads made a busy 2-core machine up to 5x slower. (A scorer's own
    # BLAS calls run under the same limit.)
    threads = CPU_THREADS if uses_numpy(device) else 1
    bar = tqdm(total=int(n_queries - empty.sum()), desc="mAP", unit="query", disable=not progress)
    with threadpool_limits(limits=1, user_api="blas") if threads > 1 else contextlib.nullcontext():
        for idx, relevant in chunks:
            # A scorer not marked thread_safe runs on the calling thread, a chunk at a time.
            rows = None if rows_in_threads else rows_of(idx)
            n_parts = min(threads, max(1, len(idx) // 16))
            if n_parts == 1:
                scorer(idx, relevant, rows)
            else:
                edges = np.linspace(0, len(idx), n_parts + 1).astype(int)
                if rows is not None and not isinstance(rows, (np.ndarray, torch.Tensor)):
                    rows = np.asarray(rows)
                futures = [_sort_pool().submit(scorer, idx[lo:hi], relevant, None if rows is None else rows[lo:hi])
                           for lo, hi in zip(edges[:-1], edges[1:])]
                for future in futures:
                    future.result()
            bar.update(len(idx))
    bar.close()
    return scorer.values, empty, scorer.tied
