"""Why ZS-SBIR numbers disagree: the studies behind notebook 07, arrays in, tables and figures out.

* `presets_table`: one ranking under every preset (`sbka_lite.metrics.evaluate_all_presets`).
* `per_class_by_preset` and `plot_per_class_presets`: how far apart the presets are, class by class.
* `tuning_on_test_labels`: the label-free cluster matcher against the test-tuned grid (an upper bound).
* `checkpoint_selection`: choosing a checkpoint on seen classes (honest) or on unseen classes (a leak).
"""
from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sbka_lite.metrics import evaluate_scorer, per_class_mean
from sbka_lite.codebooks import LABEL_FREE_LABEL, label_free_candidates
from sbka_lite.retrieval import ClusterMatcher, grid_search_upper_bound

METRICS = ("map_all", "map_200", "prec_100", "prec_200")
LEAK_LABEL = "leak: selected on unseen (test) classes"
HONEST_LABEL = "selected on held-out seen-class sketches"


def presets_table(results: dict[str, dict[str, Any]], metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Rows: presets; columns: the metrics, then the conventions each preset used."""
    rows = {name: {**{m: result[m] for m in metrics}, **result["conventions"]} for name, result in results.items()}
    return pd.DataFrame(rows).T


def per_class_by_preset(results: dict[str, dict[str, Any]], query_labels: Any, metric: str = "ap_200") -> pd.DataFrame:
    """Rows: classes; columns: presets; values: the class's mean per-query `metric` (e.g. ``ap_200``)."""
    return pd.DataFrame({name: per_class_mean(result["per_query"][metric], query_labels)
                         for name, result in results.items()})


def plot_per_class_presets(frame: pd.DataFrame, *, title: str = ""):
    """One row per class: a marker per preset, and the class's spread (max - min) as a grey bar behind.

    Presets that give a class the same value would print on top of each other: each preset gets its own
    small vertical offset within the row, and presets equal on every class share one legend entry
    ("sbka = sake"), so every marker shows and none hides another."""
    order = (frame.max(axis=1) - frame.min(axis=1)).sort_values().index
    frame = frame.loc[order]
    groups: list[list[str]] = []  # presets equal on every class are drawn once
    for column in frame.columns:
        twin = next((g for g in groups if np.allclose(frame[g[0]], frame[column], equal_nan=True, atol=1e-12)), None)
        if twin is None:
            groups.append([column])
        else:
            twin.append(column)
    fig, ax = plt.subplots(figsize=(7, 0.42 * len(frame) + 1.4))
    y = np.arange(len(frame))
    ax.barh(y, frame.max(axis=1) - frame.min(axis=1), left=frame.min(axis=1), color="0.85", height=0.7)
    offsets = np.linspace(-0.28, 0.28, len(groups)) if len(groups) > 1 else [0.0]
    for group, offset, marker in zip(groups, offsets, "osD^v<>p"):
        ax.scatter(frame[group[0]], y + offset, label=" = ".join(group), marker=marker, s=16, zorder=3)
    ax.set_yticks(y, [str(name) for name in frame.index], fontsize=8)
    low, high = np.nanmin(frame.to_numpy()), np.nanmax(frame.to_numpy())
    pad = 0.03 * max(high - low, 0.05)
    ax.set_xlim(low - pad, high + pad)  # no marker clipped at the axis (a value of exactly 1 sits on it)
    ax.set_xlabel("per-class value")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def tuning_on_test_labels(query_emb: Any, query_labels: Any, gallery_emb: Any, gallery_labels: Any, *,
                          preset: str = "sbka", seed: int = 0, blend: float = 0.8) -> dict[str, Any]:
    """The label-free (BIC) cluster matcher, and the best (M, K) of the same candidates chosen on
    the test labels: the gap between the two is what test-set tuning adds. Both under `preset`."""
    candidates = label_free_candidates(len(gallery_emb))
    matcher = ClusterMatcher("auto", "auto", blend=blend, random_state=seed).fit(gallery_emb)
    label_free = evaluate_scorer(matcher, query_emb, query_labels, gallery_labels, preset=preset)
    upper = grid_search_upper_bound(query_emb, query_labels, gallery_emb, gallery_labels, n_components=candidates,
                                    blend=blend, random_state=seed, preset=preset)
    return {"preset": preset, "candidates": candidates,
            "label_free": {"label": LABEL_FREE_LABEL, "n_subspaces": matcher.n_subspaces_,
                           "n_components": matcher.n_components_, **{m: label_free[m] for m in METRICS}},
            "upper_bound": {"label": upper["label"], "n_subspaces": upper["best"]["n_subspaces"],
                            "n_components": upper["best"]["n_components"],
                            **{m: upper["best"][m] for m in METRICS}}}


def checkpoint_selection(rows: Sequence[dict[str, Any]], *, metric: str = "map_all") -> dict[str, Any]:
    """Which checkpoint each rule picks, from rows ``{"checkpoint", "epoch", "seen_val_acc", <metric>}``.

    The honest rule picks the best held-out seen-class accuracy; the leak picks the best unseen
    `metric`, which is the test score itself, so it can only look better: ``leak_gain >= 0``.
    """
    if not rows:
        raise ValueError("checkpoint_selection needs at least one checkpoint row")
    for row in rows:
        missing = {"checkpoint", "seen_val_acc", metric} - set(row)
        if missing:
            raise ValueError(f"checkpoint row {row.get('checkpoint', row)} lacks {sorted(missing)}")
    honest = max(rows, key=lambda row: row["seen_val_acc"])
    leak = max(rows, key=lambda row: row[metric])
    return {"metric": metric, "rows": list(rows),
            "honest": {"label": HONEST_LABEL, "checkpoint": honest["checkpoint"], metric: honest[metric]},
            "leak": {"label": LEAK_LABEL, "checkpoint": leak["checkpoint"], metric: leak[metric]},
            "leak_gain": leak[metric] - honest[metric]}
