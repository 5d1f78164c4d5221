"""How far apart sketches and photos sit in an embedding space: the modality gap, in four numbers.

Arrays in, numbers out (no images, no models), so notebook 02 can compare the pretrained
backbone with a trained student on exactly the same measures.

- ``centroid_distance``: distance between the sketch centroid and the photo centroid of the
  L2-normalised embeddings (0 = the two clouds are centred on each other; 2 at most).
- ``modality_probe_accuracy``: cross-validated balanced accuracy of a linear classifier that
  predicts the modality from the embedding (0.5 = modality cannot be told apart; 1.0 = fully separable).
- ``retrieval``: mAP (VOC) of sketch->sketch, photo->photo and sketch->photo retrieval by class.
  Each modality is split in two halves (queries / gallery) so no item retrieves itself and the
  three settings face galleries of comparable size.
- ``same_to_different_ratio``: mean sketch-photo distance within a class divided by the mean
  sketch-photo distance across classes (< 1: a sketch is closer to photos of its class).
"""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from sbka_lite.distances import euclidean_chunks
from sbka_lite.metrics import evaluate_retrieval


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"embeddings must be a non-empty 2-D array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("embeddings contain NaN or inf")
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def centroid_distance(sketch_emb: np.ndarray, photo_emb: np.ndarray) -> float:
    """Euclidean distance between the two modality centroids of the L2-normalised embeddings."""
    return float(np.linalg.norm(_normalise(sketch_emb).mean(0) - _normalise(photo_emb).mean(0)))


def modality_probe_accuracy(sketch_emb: np.ndarray, photo_emb: np.ndarray, *, folds: int = 5, seed: int = 0) -> float:
    """Balanced accuracy of a cross-validated logistic regression predicting sketch vs photo."""
    x = np.concatenate([_normalise(sketch_emb), _normalise(photo_emb)])
    y = np.r_[np.zeros(len(sketch_emb), int), np.ones(len(photo_emb), int)]
    folds = int(min(folds, np.bincount(y).min()))
    if folds < 2:
        raise ValueError("need at least 2 sketches and 2 photos for the modality probe")
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    probe = LogisticRegression(max_iter=2000, C=1.0)
    return float(cross_val_score(probe, x, y, cv=cv, scoring="balanced_accuracy").mean())


def _halves(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into two halves, stratified by class, so every class is on both sides."""
    rng = np.random.default_rng(seed)
    first, second = [], []
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        cut = max(1, len(idx) // 2)
        first.extend(idx[:cut])
        second.extend(idx[cut:])
    return np.sort(first), np.sort(second)


def retrieval_by_modality(sketch_emb, sketch_labels, photo_emb, photo_labels, *, seed: int = 0) -> dict[str, float]:
    """mAP@all (VOC) of sketch->sketch, photo->photo and sketch->photo, on disjoint halves."""
    sketch, photo = _normalise(sketch_emb), _normalise(photo_emb)
    sketch_labels, photo_labels = np.asarray(sketch_labels), np.asarray(photo_labels)
    s_query, s_gallery = _halves(sketch_labels, seed)
    p_query, p_gallery = _halves(photo_labels, seed + 1)

    def mean_ap(q, ql, g, gl):
        return float(evaluate_retrieval(q, ql, g, gl)["map_all"])

    return {
        "sketch_to_sketch": mean_ap(sketch[s_query], sketch_labels[s_query], sketch[s_gallery], sketch_labels[s_gallery]),
        "photo_to_photo": mean_ap(photo[p_query], photo_labels[p_query], photo[p_gallery], photo_labels[p_gallery]),
        "sketch_to_photo": mean_ap(sketch[s_query], sketch_labels[s_query], photo[p_gallery], photo_labels[p_gallery]),
    }


def same_to_different_ratio(sketch_emb, sketch_labels, photo_emb, photo_labels, *, chunk: int = 2048) -> float:
    """Mean same-class sketch-photo distance over mean different-class distance (chunked: memory stays small)."""
    sketch, photo = _normalise(sketch_emb), _normalise(photo_emb)
    sketch_labels, photo_labels = np.asarray(sketch_labels), np.asarray(photo_labels)
    same_sum = diff_sum = 0.0
    same_n = diff_n = 0
    for start, dist in euclidean_chunks(sketch, photo, chunk=chunk):
        same = sketch_labels[start:start + chunk, None] == photo_labels[None, :]
        same_sum += float(dist[same].sum())
        same_n += int(same.sum())
        diff_sum += float(dist[~same].sum())
        diff_n += int((~same).sum())
    if same_n == 0 or diff_n == 0:
        raise ValueError("need sketch-photo pairs of the same class and of different classes")
    return (same_sum / same_n) / (diff_sum / diff_n)


def modality_gap_report(sketch_emb, sketch_labels, photo_emb, photo_labels, *, seed: int = 0) -> dict:
    """All four measures in one dict (see the module docstring for what each means)."""
    sketch_labels, photo_labels = np.asarray(sketch_labels), np.asarray(photo_labels)
    if len(sketch_labels) != len(sketch_emb) or len(photo_labels) != len(photo_emb):
        raise ValueError("each embedding array needs one label per row")
    return {
        "centroid_distance": centroid_distance(sketch_emb, photo_emb),
        "modality_probe_accuracy": modality_probe_accuracy(sketch_emb, photo_emb, seed=seed),
        "retrieval_map": retrieval_by_modality(sketch_emb, sketch_labels, photo_emb, photo_labels, seed=seed),
        "same_to_different_ratio": same_to_different_ratio(sketch_emb, sketch_labels, photo_emb, photo_labels),
    }


def umap_2d(embeddings: np.ndarray, *, seed: int = 0, n_neighbors: int = 15, min_dist: float = 0.1) -> np.ndarray:
    """A 2-D UMAP of the (L2-normalised) embeddings, for pictures only: distances in it are not measures."""
    import umap

    x = _normalise(embeddings)
    n_neighbors = int(max(2, min(n_neighbors, len(x) - 1)))
    reducer = umap.UMAP(n_neighbors=n_neighbors, min_dist=min_dist, metric="euclidean", random_state=seed,
                        n_jobs=1, init="spectral" if len(x) > n_neighbors + 2 else "random")
    return reducer.fit_transform(x).astype(np.float32)
