"""VOC mean average precision written the obvious way: the definition the fast engine is tested against.

Read this before `sbka_lite.metrics`, which computes the same numbers (and every other published
convention) exactly, from one ranking per chunk of queries, many times faster; `tests/test_metrics.py`
checks that the two agree on tied and untied data. One query at a time: rank the gallery by
ascending distance (equal distances by gallery index, the package's one tie rule), walk down the
list, and take the area under the precision-recall curve after making precision non-increasing
from the right (PASCAL VOC's interpolation, as in the SBKA and SAKE test scripts).
"""
from __future__ import annotations

from typing import Any

import numpy as np


def voc_area(hits: np.ndarray, n_relevant: int) -> float:
    """Area under VOC's interpolated precision-recall curve of a ranked list of `hits` (True = relevant)."""
    true_pos = np.cumsum(hits)
    recall = np.concatenate([[0.0], true_pos / n_relevant, [1.0]])
    precision = np.concatenate([[0.0], true_pos / np.arange(1, len(hits) + 1), [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # the best precision at this recall or beyond
    steps = recall[1:] != recall[:-1]  # only where recall grows
    return float(np.sum((recall[1:] - recall[:-1])[steps] * precision[1:][steps]))


def voc_average_precision(distances: Any, relevant: Any, top: int | None = None) -> float:
    """VOC AP of one query: `distances` to every gallery item, `relevant` a boolean per item.

    With `top` (mAP@k), only the first `top` items count and the denominator is min(top, #relevant),
    as in the SBKA scripts. A query with nothing relevant scores 0."""
    order = np.argsort(np.asarray(distances), kind="stable")
    hits = np.asarray(relevant, dtype=bool)[order]
    n_relevant = int(hits.sum())
    if top is not None:
        hits, n_relevant = hits[:top], min(top, n_relevant)
    if n_relevant == 0:
        return 0.0
    return voc_area(hits, n_relevant)


def voc_map(distances: Any, query_labels: Any, gallery_labels: Any, top: int | None = None) -> float:
    """Mean over queries of `voc_average_precision` for a (queries x gallery) distance matrix; relevant
    means "same label". A plain mean over queries (``aggregate="query"``); the SBKA scripts average each
    class's queries first (`sbka_lite.metrics.class_balanced_mean` of the per-query values)."""
    gallery_labels = np.asarray(gallery_labels)
    return float(np.mean([voc_average_precision(row, gallery_labels == label, top)
                          for row, label in zip(np.asarray(distances), np.asarray(query_labels))]))
