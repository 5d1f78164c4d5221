"""Test-time matchers: one-to-one distances and the one-to-many cluster matcher of SBKA.

Both follow scikit-learn's shape: ``fit(gallery_emb)`` on the unlabelled gallery, then
``score(query_emb) -> [n_queries, n_gallery]`` distances (lower is better). Pass a fitted
matcher as ``scorer=`` to `sbka_lite.metrics.evaluate_retrieval`, which calls ``score`` on
chunks of queries, so a full score matrix is never held.

Cluster matching (``docs/METHOD.md``, "Test time") is product quantisation: the embedding
is split into M sub-vectors; in each subspace a K-component Gaussian mixture (or k-means) is
fitted on the gallery and every photo is coded by its component. A photo's score for a query

    blend * sum_m ||q_m - mu_{k_m(photo)}||^2 + (1 - blend) * ||q - photo||

compares the query with the clusters the photo belongs to (many photos) and with the photo
itself (one). The official scripts pick K and M by grid search on the test labels; here K and
M are chosen from the gallery alone by BIC (`select_pq_params`), and the test-tuned search is
a separate function, `grid_search_upper_bound`, whose result says it is an upper bound.
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

from sbka_lite.distances import check_embeddings, euclidean, smallest_k, squared_norms
from sbka_lite.metrics import evaluate_retrieval

CODEBOOKS = ("gmm", "kmeans")
UPPER_BOUND_LABEL = "upper bound (tuned on test labels)"
LABEL_FREE_LABEL = "label-free (BIC on the unlabelled gallery)"
# The one grid of label-free K candidates (notebooks, ablation and search all read it).
LABEL_FREE_GRID = (3, 5, 8, 11, 15, 20, 30, 40, 50, 60)


class OneToOneMatcher:
    """Rank photos by the Euclidean distance between query and photo embeddings."""

    thread_safe = True  # score only reads fitted arrays: evaluate_retrieval may call it from threads

    def fit(self, gallery_emb: Any) -> "OneToOneMatcher":
        """Store the gallery embeddings [n_gallery, dim]."""
        self.gallery_ = check_embeddings(gallery_emb, "gallery_emb")
        self.gallery_sq_ = squared_norms(self.gallery_)
        return self

    def score(self, query_emb: Any) -> np.ndarray:
        """Euclidean distances [n_queries, n_gallery] (float32, lower is better)."""
        gallery = _fitted(self, "gallery_")
        return euclidean(_check_queries(query_emb, gallery.shape[1]), gallery, gallery_sq=self.gallery_sq_)


def _fitted(matcher: Any, attribute: str) -> Any:
    if not hasattr(matcher, attribute):
        raise RuntimeError(f"{type(matcher).__name__} is not fitted yet; call fit(gallery_emb) first")
    return getattr(matcher, attribute)


def _check_queries(query_emb: Any, dim: int) -> np.ndarray:
    query = check_embeddings(query_emb, "query_emb")
    if query.shape[1] != dim:
        raise ValueError(f"query_emb has dim {query.shape[1]} but the matcher was fitted on dim {dim}")
    return query


def subspace_bounds(dim: int, n_subspaces: int) -> list[tuple[int, int]]:
    """Column ranges of the M sub-vectors: equal parts when M divides dim, else as equal as possible."""
    if not 1 <= n_subspaces <= dim:
        raise ValueError(f"n_subspaces must be between 1 and the embedding dim {dim}, got {n_subspaces}")
    edges = np.linspace(0, dim, n_subspaces + 1).round().astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


# ----------------------------------------------------------------------------- codebooks
def _fit_subspace(x: np.ndarray, n_components: int, codebook: str, covariance_type: str,
                  max_iter: int, random_state: int) -> tuple[np.ndarray, np.ndarray, float, int]:
    """One subspace: (centres [K, d], codes [n], log-likelihood, free parameters)."""
    n, d = x.shape
    if codebook == "gmm":
        gmm = GaussianMixture(n_components, covariance_type=covariance_type, max_iter=max_iter,
                              reg_covar=1e-6, random_state=random_state).fit(x)
        # sklearn's BIC is -2 log L + p log(n): recover p from it and the mean log-likelihood.
        log_likelihood = float(gmm.score(x) * n)
        n_params = int(round((gmm.bic(x) + 2.0 * log_likelihood) / np.log(n)))
        return gmm.means_.astype(np.float32), gmm.predict(x).astype(np.int32), log_likelihood, n_params
    km = KMeans(n_components, n_init=1, max_iter=max_iter, random_state=random_state).fit(x)
    codes = km.labels_.astype(np.int32)
    # Hard k-means read as a mixture of spherical Gaussians with one shared variance
    # (the X-means BIC of Pelleg & Moore): means, one variance, K - 1 weights.
    variance = max(float(km.inertia_) / (n * d), 1e-12)
    sizes = np.bincount(codes, minlength=n_components)
    sizes = sizes[sizes > 0]
    log_likelihood = float((sizes * np.log(sizes / n)).sum() - 0.5 * n * d * (np.log(2 * np.pi * variance) + 1))
    return km.cluster_centers_.astype(np.float32), codes, log_likelihood, n_components * d + n_components


def _fit_codebooks(gallery: np.ndarray, n_subspaces: int, n_components: int, codebook: str,
                   covariance_type: str, max_iter: int, random_state: int,
                   n_jobs: int | None) -> dict[str, Any]:
    if codebook not in CODEBOOKS:
        raise ValueError(f"codebook must be one of {CODEBOOKS}, got {codebook!r}")
    if not 1 <= n_components <= len(gallery):
        raise ValueError(f"n_components must be between 1 and the number of gallery items "
                         f"({len(gallery)}), got {n_components}")
    centres, codes, log_likelihood, n_params = [], [], 0.0, 0
    for lo, hi in subspace_bounds(gallery.shape[1], n_subspaces):
        # k-means' OpenMP barriers stall badly when the cores are shared: measured 7x slower
        # with 2 threads than with 1 on a busy 2-core machine, hence n_jobs=1 by default.
        with threadpool_limits(limits=n_jobs):
            c, k, ll, p = _fit_subspace(np.ascontiguousarray(gallery[:, lo:hi]), n_components, codebook,
                                        covariance_type, max_iter, random_state)
        centres.append(c)
        codes.append(k)
        log_likelihood += ll
        n_params += p
    # The product model's likelihood is the product over subspaces, so its BIC is the sum of
    # theirs and is comparable across M: every (M, K) models the same full-dim gallery.
    bic = -2.0 * log_likelihood + n_params * np.log(len(gallery))
    return {"centres": centres, "codes": np.stack(codes, axis=1), "log_likelihood": log_likelihood,
            "n_parameters": n_params, "bic": float(bic)}


def label_free_candidates(n_gallery: int, grid: Sequence[int] = LABEL_FREE_GRID) -> list[int]:
    """Candidate K for the label-free choice: the values of `LABEL_FREE_GRID` that leave at least
    4 photos per component on average, so every mixture can be fitted on a small gallery (at
    least [2]). Pass `grid` only to study the rule itself; every caller should use the default."""
    return [k for k in grid if k <= n_gallery // 4] or [2]


def select_pq_params(gallery_emb: Any, *, n_subspaces: Sequence[int] = (2, 4),
                     n_components: Sequence[int] = (10, 20, 30, 40, 50, 60), codebook: str = "gmm",
                     covariance_type: str = "diag", max_iter: int = 100, random_state: int = 0,
                     n_jobs: int | None = 1, progress: bool | None = None) -> dict[str, Any]:
    """Choose M and K from the unlabelled gallery alone by the Bayesian information criterion.

    Why BIC: it is the standard, label-free model-order criterion for mixtures, it penalises
    parameters by log(n) so K does not simply grow with the gallery, and the product model's
    BIC is the sum over subspaces, so one number compares different M as well as K.

    Returns a dict: ``label`` (says it is label-free), ``criterion``, the chosen
    ``n_subspaces`` and ``n_components``, ``seconds``, and ``table`` (one row per (M, K) with
    ``bic``, ``log_likelihood``, ``n_parameters``, ``seconds``).
    """
    summary, _ = _select(check_embeddings(gallery_emb, "gallery_emb"), n_subspaces, n_components,
                         codebook, covariance_type, max_iter, random_state, n_jobs, progress)
    return summary


def _select(gallery: np.ndarray, n_subspaces: Sequence[int], n_components: Sequence[int], codebook: str,
            covariance_type: str, max_iter: int, random_state: int, n_jobs: int | None,
            progress: bool | None) -> tuple[dict[str, Any], dict[str, Any]]:
    grid = list(itertools.product([int(m) for m in n_subspaces], [int(k) for k in n_components]))
    if not grid:
        raise ValueError("n_subspaces and n_components must each hold at least one candidate")
    if progress is None:
        progress = len(grid) > 1 and len(gallery) > 5000
    table, best, start = [], None, time.perf_counter()
    for m, k in tqdm(grid, desc="BIC over (M, K)", disable=not progress):
        t0 = time.perf_counter()
        fitted = _fit_codebooks(gallery, m, k, codebook, covariance_type, max_iter, random_state, n_jobs)
        table.append({"n_subspaces": m, "n_components": k, "bic": fitted["bic"],
                      "log_likelihood": fitted["log_likelihood"], "n_parameters": fitted["n_parameters"],
                      "seconds": time.perf_counter() - t0})
        if best is None or fitted["bic"] < best[2]["bic"]:
            best = (m, k, fitted)
    summary = {"label": LABEL_FREE_LABEL, "criterion": "bic", "codebook": codebook,
               "n_subspaces": best[0], "n_components": best[1], "seconds": time.perf_counter() - start,
               "table": table}
    return summary, best[2]


# ----------------------------------------------------------------------------- the matcher
class ClusterMatcher:
    """One-to-many cluster matching: product-quantised clusters of the gallery plus the photo itself.

    Args:
        n_subspaces: M, the number of sub-vectors, or "auto" (BIC over `candidate_subspaces`).
        n_components: K, components per subspace, or "auto" (BIC over `candidate_components`).
        blend: weight of the cluster term; 0.8 in the official scripts. 0 gives one-to-one.
        codebook: "gmm" (Gaussian mixture, as the paper) or "kmeans" (faster).
        covariance_type: of the mixture; "diag" by default ("full" is far slower at 768-d).
        random_state: seeds the mixture / k-means initialisation.
        n_jobs: threads for fitting the codebooks; 1 (default) is fastest on small shared
            machines, None uses every core.

    After `fit`: ``centres_`` (list of [K, d_m]), ``codes_`` ([n_gallery, M] component ids),
    ``n_subspaces_``, ``n_components_``, ``selection_`` (the BIC table, or None), ``fit_seconds_``.
    """

    thread_safe = True  # score only reads fitted arrays: evaluate_retrieval may call it from threads

    def __init__(self, n_subspaces: int | str = 2, n_components: int | str = 25, *, blend: float = 0.8,
                 codebook: str = "gmm", covariance_type: str = "diag",
                 candidate_subspaces: Sequence[int] = (2, 4),
                 candidate_components: Sequence[int] = (10, 20, 30, 40, 50, 60),
                 max_iter: int = 100, random_state: int = 0, n_jobs: int | None = 1):
        self.n_subspaces = n_subspaces
        self.n_components = n_components
        self.blend = blend
        self.codebook = codebook
        self.covariance_type = covariance_type
        self.candidate_subspaces = candidate_subspaces
        self.candidate_components = candidate_components
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _check_params(self) -> None:
        if not 0.0 <= float(self.blend) <= 1.0:
            raise ValueError(f"blend must be in [0, 1], got {self.blend}")
        if self.codebook not in CODEBOOKS:
            raise ValueError(f"codebook must be one of {CODEBOOKS}, got {self.codebook!r}")
        for name in ("n_subspaces", "n_components"):
            value = getattr(self, name)
            if value != "auto" and (isinstance(value, (bool, str)) or int(value) != value or value < 1):
                raise ValueError(f"{name} must be a positive int or 'auto', got {value!r}")

    def fit(self, gallery_emb: Any) -> "ClusterMatcher":
        """Fit the per-subspace codebooks on the unlabelled gallery [n_gallery, dim]."""
        self._check_params()
        gallery = check_embeddings(gallery_emb, "gallery_emb")
        start = time.perf_counter()
        auto_m, auto_k = self.n_subspaces == "auto", self.n_components == "auto"
        self.selection_ = None
        if auto_m or auto_k:
            self.selection_, fitted = _select(
                gallery, self.candidate_subspaces if auto_m else (self.n_subspaces,),
                self.candidate_components if auto_k else (self.n_components,), self.codebook,
                self.covariance_type, self.max_iter, self.random_state, self.n_jobs, progress=None)
            m, k = self.selection_["n_subspaces"], self.selection_["n_components"]
        else:
            m, k = int(self.n_subspaces), int(self.n_components)
            fitted = _fit_codebooks(gallery, m, k, self.codebook, self.covariance_type,
                                    self.max_iter, self.random_state, self.n_jobs)
        self.n_subspaces_, self.n_components_ = m, k
        self.bounds_ = subspace_bounds(gallery.shape[1], m)
        self.centres_, self.codes_ = fitted["centres"], fitted["codes"]
        self.bic_ = fitted["bic"]
        self.gallery_ = gallery
        self.gallery_sq_ = squared_norms(gallery)
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def cluster_distance(self, query_emb: Any) -> np.ndarray:
        """``sum_m ||q_m - mu_{k_m(photo)}||^2`` for every photo: [n_queries, n_gallery]."""
        centres = _fitted(self, "centres_")
        query = _check_queries(query_emb, self.gallery_.shape[1])
        out = np.zeros((len(query), len(self.gallery_)), dtype=np.float32)
        for m, (lo, hi) in enumerate(self.bounds_):
            # one small [n_queries, K] table per subspace, then a lookup per photo
            table = euclidean(np.ascontiguousarray(query[:, lo:hi]), centres[m], squared=True)
            out += np.take(table, self.codes_[:, m], axis=1)
        return out

    def score(self, query_emb: Any) -> np.ndarray:
        """Blended distances [n_queries, n_gallery] (float32, lower is better)."""
        blend = float(self.blend)
        out = self.cluster_distance(query_emb)
        out *= blend
        if blend < 1.0:
            query = _check_queries(query_emb, self.gallery_.shape[1])
            out += (1.0 - blend) * euclidean(query, self.gallery_, gallery_sq=self.gallery_sq_)
        return out


def ranked_top_k(matcher: Any, query_emb: Any, k: int) -> np.ndarray:
    """Indices [n_queries, k] of each query's `k` best gallery items under a fitted matcher's
    score (lower is better), ties by gallery index (`sbka_lite.distances.TIE_RULE`)."""
    return smallest_k(np.asarray(matcher.score(query_emb)), k)[1]


def grid_search_upper_bound(query_emb: Any, query_labels: Any, gallery_emb: Any, gallery_labels: Any, *,
                            n_subspaces: Sequence[int] = (2, 4),
                            n_components: Sequence[int] = (22, 23, 24, 25, 26, 27, 28),
                            blend: float = 0.8, codebook: str = "gmm", covariance_type: str = "diag",
                            select_by: str = "map_all", ap: str | None = None, ks: Sequence[int] = (100, 200),
                            random_state: int = 0, n_jobs: int | None = 1, progress: bool | None = None,
                            **eval_kwargs: Any) -> dict[str, Any]:
    """The official scripts' choice of (M, K): the best test-set score over a grid.

    It reads the test labels, so its figure is an **upper bound**, never a result: the
    returned dict says so in ``label`` and ``tuned_on_test_labels``. The default grid is the
    official Sketchy one (M in {2, 4}, K in 22..28). `ap` and any `eval_kwargs` (``preset=``,
    ...) go to `evaluate_retrieval`. Returns ``best`` (M, K and its metrics), ``table`` (one row
    per (M, K): metrics and fit/score seconds), and the ``preset`` and ``ap`` it was scored under.
    """
    grid = list(itertools.product([int(m) for m in n_subspaces], [int(k) for k in n_components]))
    if not grid:
        raise ValueError("n_subspaces and n_components must each hold at least one candidate")
    table = []
    for m, k in tqdm(grid, desc="test-tuned grid (upper bound)", disable=not progress):
        t0 = time.perf_counter()
        matcher = ClusterMatcher(m, k, blend=blend, codebook=codebook, covariance_type=covariance_type,
                                 random_state=random_state, n_jobs=n_jobs).fit(gallery_emb)
        t1 = time.perf_counter()
        metrics = evaluate_retrieval(query_emb, query_labels, None, gallery_labels, scorer=matcher,
                                     ap=ap, ks=ks, **eval_kwargs)
        if select_by not in metrics or not isinstance(metrics[select_by], float):
            raise ValueError(f"select_by must name a float metric such as 'map_all', got {select_by!r}")
        table.append({"n_subspaces": m, "n_components": k,
                      **{name: value for name, value in metrics.items() if isinstance(value, float)},
                      "fit_seconds": t1 - t0, "score_seconds": time.perf_counter() - t1})
    best = max(table, key=lambda row: row[select_by])
    return {"label": UPPER_BOUND_LABEL, "tuned_on_test_labels": True, "select_by": select_by,
            "preset": metrics["preset"], "ap": metrics["ap"], "blend": blend, "codebook": codebook, "best": best, "table": table}
