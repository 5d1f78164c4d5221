"""sbka_lite.retrieval: one-to-one and cluster matchers, label-free (M, K), the upper-bound search."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from sbka_lite.metrics import evaluate_retrieval, evaluate_scorer
from sbka_lite.data.specs import BENCHMARKS
from sbka_lite.codebooks import LABEL_FREE_GRID, label_free_candidates, select_pq_params, subspace_bounds
from sbka_lite.retrieval import (UPPER_BOUND_GRIDS, UPPER_BOUND_LABEL, ClusterMatcher, OneToOneMatcher,
                                 grid_search_upper_bound, ranked_top_k, upper_bound_grid)

REPO = Path(__file__).resolve().parents[1]


def clustered(n_classes=6, dim=32, n_gallery=600, n_queries=150, spread=1.2, shift=0.4, seed=0):
    """Unit-norm embeddings around class centres; queries carry a modality shift."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, dim)).astype(np.float32)
    gallery_labels = rng.integers(0, n_classes, n_gallery)
    query_labels = rng.integers(0, n_classes, n_queries)
    gallery = centres[gallery_labels] + spread * rng.standard_normal((n_gallery, dim)).astype(np.float32)
    query = centres[query_labels] + spread * rng.standard_normal((n_queries, dim)).astype(np.float32) + shift
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    query /= np.linalg.norm(query, axis=1, keepdims=True)
    return query, query_labels, gallery, gallery_labels


@pytest.fixture(scope="module")
def data():
    return clustered()


def test_one_to_one_matcher_is_euclidean_distance(data):
    query, query_labels, gallery, gallery_labels = data
    matcher = OneToOneMatcher().fit(gallery)
    np.testing.assert_allclose(matcher.score(query), cdist(query, gallery), atol=2e-4)
    via_scorer = evaluate_scorer(matcher, query, query_labels, gallery_labels, device="cpu")
    via_embeddings = evaluate_retrieval(query, query_labels, gallery, gallery_labels, device="cpu")
    assert via_scorer["map_all"] == pytest.approx(via_embeddings["map_all"], abs=1e-3)


@pytest.mark.parametrize("codebook,style", [("gmm", "ours"), ("kmeans", "ours"), ("gmm", "official")])
def test_cluster_score_is_the_blend_formula(data, codebook, style):
    query, _, gallery, _ = data
    matcher = ClusterMatcher(n_subspaces=4, n_components=5, blend=0.8, codebook=codebook, style=style).fit(gallery)
    assert matcher.codes_.shape == (len(gallery), 4) and len(matcher.centres_) == 4
    expected = np.zeros((len(query), len(gallery)))
    for m, (lo, hi) in enumerate(matcher.bounds_):
        photo_centres = matcher.centres_[m][matcher.codes_[:, m]]  # [n_gallery, d_m]
        expected += cdist(query[:, lo:hi], photo_centres, "sqeuclidean")
    expected = 0.8 * expected + 0.2 * cdist(query, gallery)
    np.testing.assert_allclose(matcher.score(query), expected, atol=2e-4)


def test_kmeans_codes_are_nearest_centres(data):
    _, _, gallery, _ = data
    matcher = ClusterMatcher(2, 6, codebook="kmeans").fit(gallery)
    for m, (lo, hi) in enumerate(matcher.bounds_):
        nearest = cdist(gallery[:, lo:hi], matcher.centres_[m], "sqeuclidean").argmin(1)
        assert (nearest == matcher.codes_[:, m]).mean() > 0.99


def test_blend_zero_is_one_to_one_and_fit_is_deterministic(data):
    query, _, gallery, _ = data
    matcher = ClusterMatcher(2, 6, blend=0.0).fit(gallery)
    np.testing.assert_allclose(matcher.score(query), OneToOneMatcher().fit(gallery).score(query), atol=1e-6)
    again = ClusterMatcher(2, 6, blend=0.0).fit(gallery)
    np.testing.assert_array_equal(matcher.codes_, again.codes_)


def test_cluster_matching_helps_on_clustered_gallery(data):
    query, query_labels, gallery, gallery_labels = data
    one_to_one = evaluate_retrieval(query, query_labels, gallery, gallery_labels, device="cpu")
    matcher = ClusterMatcher(2, 6).fit(gallery)
    cluster = evaluate_scorer(matcher, query, query_labels, gallery_labels, device="cpu")
    assert cluster["map_all"] > one_to_one["map_all"] + 0.05


def test_bic_recovers_the_number_of_clusters_without_labels():
    _, _, gallery, _ = clustered(n_classes=6, spread=0.6, n_gallery=900)
    selection = select_pq_params(gallery, n_subspaces=(1, 2), n_components=(3, 6, 12))
    assert selection["n_components"] == 6
    assert "label-free" in selection["label"] and selection["criterion"] == "bic"
    assert len(selection["table"]) == 6
    best = min(selection["table"], key=lambda row: row["bic"])
    assert (best["n_subspaces"], best["n_components"]) == (selection["n_subspaces"], selection["n_components"])
    for row in selection["table"]:  # BIC = -2 log L + p log n
        assert row["bic"] == pytest.approx(-2 * row["log_likelihood"] + row["n_parameters"] * np.log(900))


def test_kmeans_bic_and_auto_matcher():
    _, _, gallery, _ = clustered(n_classes=6, spread=0.6, n_gallery=900)
    matcher = ClusterMatcher("auto", "auto", codebook="kmeans", candidate_subspaces=(1, 2),
                             candidate_components=(3, 6, 12)).fit(gallery)
    assert matcher.n_components_ == 6 and matcher.selection_["n_components"] == 6
    assert matcher.codes_.shape == (900, matcher.n_subspaces_)
    fixed = ClusterMatcher(2, 6).fit(gallery)
    assert fixed.selection_ is None and fixed.n_subspaces_ == 2


def test_grid_search_is_labelled_upper_bound_and_beats_label_free(data):
    query, query_labels, gallery, gallery_labels = data
    result = grid_search_upper_bound(query, query_labels, gallery, gallery_labels,
                                     n_subspaces=(1, 2), n_components=(3, 6, 12), device="cpu")
    assert result["label"] == UPPER_BOUND_LABEL and result["tuned_on_test_labels"] is True
    assert len(result["table"]) == 6
    assert result["best"]["map_all"] == max(row["map_all"] for row in result["table"])
    label_free = ClusterMatcher("auto", "auto", candidate_subspaces=(1, 2),
                                candidate_components=(3, 6, 12)).fit(gallery)
    honest = evaluate_scorer(label_free, query, query_labels, gallery_labels, device="cpu")
    assert honest["map_all"] <= result["best"]["map_all"]


def test_subspace_bounds_split_uneven_dims():
    assert subspace_bounds(768, 2) == [(0, 384), (384, 768)]
    bounds = subspace_bounds(10, 4)
    assert bounds[0][0] == 0 and bounds[-1][1] == 10 and all(hi > lo for lo, hi in bounds)
    with pytest.raises(ValueError, match="n_subspaces"):
        subspace_bounds(3, 4)


def test_matcher_errors(data):
    query, _, gallery, _ = data
    with pytest.raises(RuntimeError, match="not fitted"):
        ClusterMatcher().score(query)
    with pytest.raises(RuntimeError, match="not fitted"):
        OneToOneMatcher().score(query)
    matcher = ClusterMatcher(2, 3).fit(gallery)
    with pytest.raises(ValueError, match="dim 8 but the matcher was fitted on dim 32"):
        matcher.score(np.ones((2, 8)))
    bad = gallery.copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="gallery_emb row 3"):
        ClusterMatcher(2, 3).fit(bad)
    with pytest.raises(ValueError, match="n_components must be between 1 and the number of gallery items"):
        ClusterMatcher(2, 10).fit(gallery[:5])
    with pytest.raises(ValueError, match="blend"):
        ClusterMatcher(blend=1.5).fit(gallery)
    with pytest.raises(ValueError, match="codebook"):
        ClusterMatcher(codebook="faiss").fit(gallery)
    with pytest.raises(ValueError, match="n_components must be a positive int or 'auto'"):
        ClusterMatcher(n_components="many").fit(gallery)


def test_cluster_benchmark_quick_mode(tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import cluster_speed
    finally:
        sys.path.pop(0)
    out = tmp_path / "cluster_speed.json"
    cluster_speed.main(["--quick", "--out", str(out)])
    report = json.loads(out.read_text())
    assert [run["name"] for run in report["runs"]][0] == "one-to-one" and len(report["runs"]) == 3
    for run in report["runs"]:
        assert run["fit_seconds"] >= 0 and run["score_and_evaluate_seconds"] > 0
        split = run["split_pass"]
        assert split["scoring_seconds"] + split["ranking_seconds"] == pytest.approx(split["seconds"])
        assert 0 <= run["map_all"] <= 1
    assert report["bic_selection"]["chosen"]["n_components"] in (5, 10)


def test_cluster_score_by_hand_on_four_photos():
    """0.8 * sum of squared sub-vector distances to the photo's code means + 0.2 * ||q - photo||.

    Photos (0,0), (2,2), (10,12), (12,10), M=2 one-dimensional subspaces, K=2 k-means: each
    subspace's means are 1 and 11, photos 0-1 coded (1, 1), photos 2-3 coded (11, 11).
    Query (3, 0): cluster term (3-1)^2 + (0-1)^2 = 5 for photos 0-1, (3-11)^2 + (0-11)^2 = 185
    for photos 2-3; photo distances 3, sqrt(5), sqrt(193), sqrt(181).
    """
    gallery = np.array([[0, 0], [2, 2], [10, 12], [12, 10]], np.float32)
    matcher = ClusterMatcher(2, 2, codebook="kmeans").fit(gallery)
    assert sorted(float(c) for c in matcher.centres_[0].ravel()) == pytest.approx([1.0, 11.0])
    expected = [0.8 * 5 + 0.2 * 3, 0.8 * 5 + 0.2 * 5 ** 0.5, 0.8 * 185 + 0.2 * 193 ** 0.5, 0.8 * 185 + 0.2 * 181 ** 0.5]
    np.testing.assert_allclose(matcher.score(np.array([[3, 0]], np.float32))[0], expected, rtol=1e-6)
    np.testing.assert_allclose(matcher.cluster_distance(np.array([[3, 0]], np.float32))[0], [5, 5, 185, 185])


def test_ranked_top_k_breaks_ties_by_gallery_index():
    gallery = np.array([[1, 0], [0, 1], [-1, 0], [3, 0]], np.float32)  # photos 0-2 equally far from 0
    top = ranked_top_k(OneToOneMatcher().fit(gallery), np.zeros((1, 2), np.float32), 3)
    assert top.tolist() == [[0, 1, 2]]
    top = ranked_top_k(OneToOneMatcher().fit(gallery[::-1].copy()), np.zeros((1, 2), np.float32), 2)
    assert top.tolist() == [[1, 2]]


def test_label_free_candidates_is_the_one_grid():
    assert label_free_candidates(10_000) == list(LABEL_FREE_GRID)
    assert label_free_candidates(100) == [k for k in LABEL_FREE_GRID if k <= 25]
    assert label_free_candidates(4) == [2]


def test_official_upper_bound_grids():
    """The grids the official test scripts print (zermatt-luo/SBKA src/test_*_zeroshot.py)."""
    assert upper_bound_grid("sketchy") == {"n_subspaces": (2, 4), "n_components": (22, 23, 24, 25, 26, 27, 28)}
    assert upper_bound_grid("sketchy_split2") == {"n_subspaces": (2, 4), "n_components": tuple(range(18, 25))}
    assert upper_bound_grid("tuberlin") == {"n_subspaces": (2, 4), "n_components": tuple(range(27, 34))}
    assert upper_bound_grid("quickdraw") == {"n_subspaces": (2,), "n_components": tuple(range(27, 34))}
    assert set(UPPER_BOUND_GRIDS) <= set(BENCHMARKS)  # keyed by the names sbka_lite.data uses
    with pytest.raises(ValueError, match=r"benchmark 'synthetic'.*\['quickdraw', 'sketchy', 'sketchy_split2', "
                                         r"'tuberlin'\].*n_subspaces= and n_components="):
        upper_bound_grid("synthetic")


def test_grid_search_runs_a_benchmark_grid_in_the_official_style():
    query, query_labels, gallery, gallery_labels = clustered(n_gallery=400, n_queries=60)
    result = grid_search_upper_bound(query, query_labels, gallery, gallery_labels, benchmark="quickdraw",
                                     style="official", device="cpu")
    assert [(row["n_subspaces"], row["n_components"]) for row in result["table"]] == [(2, k) for k in range(27, 34)]
    assert result["label"] == UPPER_BOUND_LABEL and result["tuned_on_test_labels"] is True
    settings = (result["benchmark"], result["covariance_type"], result["code_rule"])
    assert settings == ("quickdraw", "full", "nearest_mean")
    best = result["best"]
    by_hand = ClusterMatcher(2, best["n_components"], style="official").fit(gallery)
    again = evaluate_scorer(by_hand, query, query_labels, gallery_labels, device="cpu")
    assert again["map_all"] == pytest.approx(best["map_all"], abs=1e-9)
    default = grid_search_upper_bound(query, query_labels, gallery, gallery_labels, n_components=(3,), device="cpu")
    assert [(row["n_subspaces"], row["n_components"]) for row in default["table"]] == [(2, 3), (4, 3)]
    assert default["code_rule"] == "posterior" and default["benchmark"] is None
    # an explicit override reaches the matchers: each row scores as that matcher does by hand
    overridden = grid_search_upper_bound(query, query_labels, gallery, gallery_labels, n_subspaces=(2,),
                                         n_components=(3,), code_rule="nearest_mean", device="cpu")
    assert overridden["code_rule"] == "nearest_mean"
    for rule, row in (("nearest_mean", overridden["table"][0]), ("posterior", default["table"][0])):
        matcher = ClusterMatcher(2, 3, code_rule=rule).fit(gallery)
        by_hand = evaluate_scorer(matcher, query, query_labels, gallery_labels, device="cpu")
        assert row["map_all"] == pytest.approx(by_hand["map_all"], abs=1e-9)
    assert overridden["table"][0]["map_all"] != pytest.approx(default["table"][0]["map_all"], abs=1e-4)
    with pytest.raises(ValueError, match="not both"):
        grid_search_upper_bound(query, query_labels, gallery, gallery_labels, benchmark="sketchy", n_components=(3,))
    with pytest.raises(ValueError, match="no official upper-bound grid for benchmark 'sketchy1'"):
        grid_search_upper_bound(query, query_labels, gallery, gallery_labels, benchmark="sketchy1")
