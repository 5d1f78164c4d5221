"""The codebooks of cluster matching: per-subspace mixtures (or k-means), the code rule, the BIC choice.

`sbka_lite.retrieval.ClusterMatcher` is the public face; this module fits what it scores with.
The embedding is split into M sub-vectors (`subspace_bounds`); in each, a K-component codebook is
fitted on the unlabelled gallery and every photo gets one code (a component id) per subspace.

Two styles (`CLUSTER_STYLES`), because the official scripts and our default differ:

* ``"official"``: as `src/utils/pq.py` of zermatt-luo/SBKA: ``GMM(n_components=self.Ks)`` with
  scikit-learn's defaults (line 97), so **full** covariances; the codebook is ``gmm.means_``
  (line 98); a photo's code is its **nearest mean**, ``vq(vecs_sub, self.codewords[m])``
  (line 129, `PQ.encode`, which every test script calls, e.g. `src/test_sketchy_ext_zeroshot.py`
  line 152). Line 99's ``gmm.predict`` labels only feed a reconstruction the scores never read.
* ``"ours"`` (the default): diagonal covariances (a full 384 x 384 covariance per component is
  far slower to fit at 768-d) and the posterior argmax (``predict``): the component that
  explains the photo best, which for components of unequal spread need not be the nearest mean.
"""
from __future__ import annotations

import itertools
import time
from typing import Any, Sequence

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from sbka_lite.distances import check_embeddings, ranking_rows

CODEBOOKS = ("gmm", "kmeans")
CODE_RULES = ("posterior", "nearest_mean")
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
# The two settings of (covariance_type, code_rule); the module docstring says where each comes from.
CLUSTER_STYLES: dict[str, dict[str, str]] = {
    "ours": {"covariance_type": "diag", "code_rule": "posterior"},
    "official": {"covariance_type": "full", "code_rule": "nearest_mean"},
}
LABEL_FREE_LABEL = "label-free (BIC on the unlabelled gallery)"
# The one grid of label-free K candidates (notebooks, ablation and search all read it).
LABEL_FREE_GRID = (3, 5, 8, 11, 15, 20, 30, 40, 50, 60)


def resolve_style(style: str, covariance_type: str | None = None, code_rule: str | None = None) -> dict[str, str]:
    """``{"covariance_type", "code_rule"}`` of `style`, where an explicit (non-None) value wins."""
    if style not in CLUSTER_STYLES:
        raise ValueError(f"style must be one of {sorted(CLUSTER_STYLES)}, got {style!r}")
    settings = dict(CLUSTER_STYLES[style])
    if covariance_type is not None:
        settings["covariance_type"] = covariance_type
    if code_rule is not None:
        settings["code_rule"] = code_rule
    if settings["covariance_type"] not in COVARIANCE_TYPES:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {settings['covariance_type']!r}")
    if settings["code_rule"] not in CODE_RULES:
        raise ValueError(f"code_rule must be one of {CODE_RULES}, got {settings['code_rule']!r}")
    return settings


def subspace_bounds(dim: int, n_subspaces: int) -> list[tuple[int, int]]:
    """Column ranges of the M sub-vectors: equal parts when M divides dim, else as equal as possible."""
    if not 1 <= n_subspaces <= dim:
        raise ValueError(f"n_subspaces must be between 1 and the embedding dim {dim}, got {n_subspaces}")
    edges = np.linspace(0, dim, n_subspaces + 1).round().astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


def nearest_mean_codes(x: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Index of the nearest mean (squared Euclidean) for every row of `x`: the official code.
    In float64, so a near-tie is decided by the distances, not by float32 rounding."""
    return ranking_rows(x.astype(np.float64), means.astype(np.float64)).argmin(1).astype(np.int32)


def _fit_subspace(x: np.ndarray, n_components: int, codebook: str, covariance_type: str, code_rule: str,
                  max_iter: int, random_state: int) -> dict[str, Any]:
    """One subspace: centres [K, d], codes [n], covariances (None for k-means), log L, free parameters."""
    n, d = x.shape
    if codebook == "gmm":
        # reg_covar and max_iter as scikit-learn's defaults (the official call passes none); a fixed
        # random_state where the official leaves it unset, so a fit can be repeated.
        gmm = GaussianMixture(n_components, covariance_type=covariance_type, max_iter=max_iter,
                              reg_covar=1e-6, random_state=random_state).fit(x)
        # sklearn's BIC is -2 log L + p log(n): recover p from it and the mean log-likelihood.
        log_likelihood = float(gmm.score(x) * n)
        n_params = int(round((gmm.bic(x) + 2.0 * log_likelihood) / np.log(n)))
        centres = gmm.means_.astype(np.float32)
        codes = nearest_mean_codes(x, gmm.means_) if code_rule == "nearest_mean" else gmm.predict(x)
        return {"centres": centres, "codes": codes.astype(np.int32), "log_likelihood": log_likelihood,
                "n_parameters": n_params, "covariances": gmm.covariances_.astype(np.float32)}
    km = KMeans(n_components, n_init=1, max_iter=max_iter, random_state=random_state).fit(x)
    codes = km.labels_.astype(np.int32)  # the nearest centre under either code rule
    # Hard k-means read as a mixture of spherical Gaussians with one shared variance
    # (the X-means BIC of Pelleg & Moore): means, one variance, K - 1 weights.
    variance = max(float(km.inertia_) / (n * d), 1e-12)
    sizes = np.bincount(codes, minlength=n_components)
    sizes = sizes[sizes > 0]
    log_likelihood = float((sizes * np.log(sizes / n)).sum() - 0.5 * n * d * (np.log(2 * np.pi * variance) + 1))
    return {"centres": km.cluster_centers_.astype(np.float32), "codes": codes, "log_likelihood": log_likelihood,
            "n_parameters": n_components * d + n_components, "covariances": None}


def fit_codebooks(gallery: np.ndarray, n_subspaces: int, n_components: int, *, codebook: str = "gmm",
                  covariance_type: str = "diag", code_rule: str = "posterior", max_iter: int = 100,
                  random_state: int = 0, n_jobs: int | None = 1) -> dict[str, Any]:
    """Codebooks of every subspace of a checked float32 gallery: ``centres`` (list of [K, d_m]),
    ``codes`` [n, M], ``covariances`` (list, or Nones for k-means), ``log_likelihood``,
    ``n_parameters`` and ``bic`` of the product model."""
    if codebook not in CODEBOOKS:
        raise ValueError(f"codebook must be one of {CODEBOOKS}, got {codebook!r}")
    if not 1 <= n_components <= len(gallery):
        raise ValueError(f"n_components must be between 1 and the number of gallery items "
                         f"({len(gallery)}), got {n_components}")
    parts = []
    for lo, hi in subspace_bounds(gallery.shape[1], n_subspaces):
        # k-means' OpenMP barriers stall badly when the cores are shared: measured 7x slower
        # with 2 threads than with 1 on a busy 2-core machine, hence n_jobs=1 by default.
        with threadpool_limits(limits=n_jobs):
            parts.append(_fit_subspace(np.ascontiguousarray(gallery[:, lo:hi]), n_components, codebook,
                                       covariance_type, code_rule, max_iter, random_state))
    log_likelihood = sum(part["log_likelihood"] for part in parts)
    n_params = sum(part["n_parameters"] for part in parts)
    # The product model's likelihood is the product over subspaces, so its BIC is the sum of
    # theirs and is comparable across M: every (M, K) models the same full-dim gallery.
    bic = -2.0 * log_likelihood + n_params * np.log(len(gallery))
    return {"centres": [part["centres"] for part in parts], "codes": np.stack([p["codes"] for p in parts], axis=1),
            "covariances": [part["covariances"] for part in parts], "log_likelihood": log_likelihood,
            "n_parameters": n_params, "bic": float(bic)}


def label_free_candidates(n_gallery: int, grid: Sequence[int] = LABEL_FREE_GRID) -> list[int]:
    """Candidate K for the label-free choice: the values of `LABEL_FREE_GRID` that leave at least
    4 photos per component on average, so every mixture can be fitted on a small gallery (at
    least [2]). Pass `grid` only to study the rule itself; every caller should use the default."""
    return [k for k in grid if k <= n_gallery // 4] or [2]


def select_pq_params(gallery_emb: Any, *, n_subspaces: Sequence[int] = (2, 4),
                     n_components: Sequence[int] | None = None, codebook: str = "gmm",
                     covariance_type: str = "diag", max_iter: int = 100, random_state: int = 0,
                     n_jobs: int | None = 1, progress: bool | None = None) -> dict[str, Any]:
    """Choose M and K from the unlabelled gallery alone by the Bayesian information criterion.

    Why BIC: it is the standard, label-free model-order criterion for mixtures, it penalises
    parameters by log(n) so K does not simply grow with the gallery, and the product model's
    BIC is the sum over subspaces, so one number compares different M as well as K. (The code
    rule does not change the mixture, so it does not enter the choice.)

    Returns a dict: ``label`` (says it is label-free), ``criterion``, the chosen
    ``n_subspaces`` and ``n_components``, ``seconds``, and ``table`` (one row per (M, K) with
    ``bic``, ``log_likelihood``, ``n_parameters``, ``seconds``). `n_components` defaults to
    `label_free_candidates` of the gallery's size, the package's one rule.
    """
    gallery = check_embeddings(gallery_emb, "gallery_emb")
    summary, _ = select(gallery, n_subspaces, n_components or label_free_candidates(len(gallery)),
                        codebook=codebook, covariance_type=covariance_type, max_iter=max_iter,
                        random_state=random_state, n_jobs=n_jobs, progress=progress)
    return summary


def select(gallery: np.ndarray, n_subspaces: Sequence[int], n_components: Sequence[int], *,
           progress: bool | None = None, **fit_kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """`select_pq_params` on a checked gallery, also returning the winner's fitted codebooks."""
    grid = list(itertools.product([int(m) for m in n_subspaces], [int(k) for k in n_components]))
    if not grid:
        raise ValueError("n_subspaces and n_components must each hold at least one candidate")
    if progress is None:
        progress = len(grid) > 1 and len(gallery) > 5000
    table, best, start = [], None, time.perf_counter()
    for m, k in tqdm(grid, desc="BIC over (M, K)", disable=not progress):
        t0 = time.perf_counter()
        fitted = fit_codebooks(gallery, m, k, **fit_kwargs)
        table.append({"n_subspaces": m, "n_components": k, "bic": fitted["bic"],
                      "log_likelihood": fitted["log_likelihood"], "n_parameters": fitted["n_parameters"],
                      "seconds": time.perf_counter() - t0})
        if best is None or fitted["bic"] < best[2]["bic"]:
            best = (m, k, fitted)
    summary = {"label": LABEL_FREE_LABEL, "criterion": "bic", "codebook": fit_kwargs.get("codebook", "gmm"),
               "n_subspaces": best[0], "n_components": best[1], "seconds": time.perf_counter() - start,
               "table": table}
    return summary, best[2]
