"""sbka_lite.metrics against scikit-learn and the plain per-query VOC definition (`sbka_lite.metrics_reference`).

The references rank each row with a stable argsort: the one tie rule of `sbka_lite.distances`."""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from sbka_lite import metrics, metrics_engine
from sbka_lite.distances import pairwise_distances
from sbka_lite.metrics import class_balanced_mean, evaluate_retrieval, evaluate_scorer, evaluate_scores
from sbka_lite.metrics_conventions import resolve
from sbka_lite.metrics_reference import voc_average_precision, voc_map

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- plain reference implementations
def stable_order(dist_row: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """Gallery order by distance; among equal distances by gallery index (relevance plays no part)."""
    return np.argsort(dist_row, kind="stable")


def reference_sklearn_ap(dist_row: np.ndarray, relevant: np.ndarray, top: int | None = None) -> float:
    """sklearn's AP on the whole list, or (SEM-PCYC style) on the top-k list only."""
    if top is not None:
        keep = stable_order(dist_row, relevant)[:top]
        dist_row, relevant = dist_row[keep], relevant[keep]
    if not relevant.any():
        return 0.0
    return float(average_precision_score(relevant, -dist_row))


def reference_precision(dist_row: np.ndarray, relevant: np.ndarray, k: int) -> float:
    return float(relevant[stable_order(dist_row, relevant)][:k].mean())


def reference_all(dist: np.ndarray, query_labels, gallery_labels, ap: str, ks=(100, 200)) -> dict:
    ap_fn = voc_average_precision if ap == "voc" else reference_sklearn_ap
    out = {"ap_all": [], **{f"ap_{k}": [] for k in ks}, **{f"prec_{k}": [] for k in ks}}
    for row, label in zip(dist, query_labels):
        relevant = np.asarray(gallery_labels) == label
        out["ap_all"].append(ap_fn(row, relevant))
        for k in ks:
            out[f"ap_{k}"].append(ap_fn(row, relevant, top=k))
            out[f"prec_{k}"].append(reference_precision(row, relevant, k))
    return {name: np.array(values) for name, values in out.items()}


def assert_matches_reference(result: dict, reference: dict, atol: float = 1e-12) -> None:
    for name, expected in reference.items():
        np.testing.assert_allclose(result["per_query"][name], expected, rtol=0, atol=atol, err_msg=name)
        assert result[name.replace("ap_", "map_")] == pytest.approx(expected.mean(), abs=atol)


@pytest.fixture
def tied_problem():
    """Few distinct distance values, so nearly every relevant item is tied with others."""
    rng = np.random.default_rng(0)
    n_queries, n_gallery = 40, 57
    query_labels = rng.integers(0, 4, n_queries)
    gallery_labels = rng.integers(0, 4, n_gallery)
    dist = rng.integers(0, 6, (n_queries, n_gallery)).astype(np.float64)
    return dist, query_labels, gallery_labels


@pytest.fixture(params=["numpy", "torch"])
def cpu_backend(request, monkeypatch):
    """Run a test through the numpy CPU path and through the torch path that GPUs take."""
    monkeypatch.setattr(metrics_engine, "CPU_BACKEND", request.param)
    return request.param


# ---------------------------------------------------------------- agreement with the references
@pytest.mark.parametrize("ap", ["voc", "sklearn"])
def test_tied_scores_match_references(tied_problem, ap, cpu_backend):
    dist, query_labels, gallery_labels = tied_problem
    ks = (1, 5, 20, 100)
    result = evaluate_scores(dist, query_labels, gallery_labels, preset=resolve(ap=ap), ks=ks, chunk_size=7, device="cpu")
    assert_matches_reference(result, reference_all(dist, query_labels, gallery_labels, ap, ks))


@pytest.mark.parametrize("ap", ["voc", "sklearn"])
def test_sklearn_convention_is_average_precision_score(ap):
    """Continuous scores: no ties, so sklearn's and VOC's definitions are compared as-is."""
    rng = np.random.default_rng(1)
    dist = rng.random((30, 200))
    query_labels, gallery_labels = rng.integers(0, 5, 30), rng.integers(0, 5, 200)
    result = evaluate_scores(dist, query_labels, gallery_labels, preset=resolve(ap="sklearn"), device="cpu")
    expected = [average_precision_score(gallery_labels == label, -row) for row, label in zip(dist, query_labels)]
    np.testing.assert_allclose(result["per_query"]["ap_all"], expected, atol=1e-12)
    voc = evaluate_scores(dist, query_labels, gallery_labels, device="cpu")
    # Interpolation only ever raises precision, so VOC AP >= the non-interpolated AP.
    assert (voc["per_query"]["ap_all"] >= result["per_query"]["ap_all"] - 1e-12).all()
    assert (voc["per_query"]["ap_all"] > result["per_query"]["ap_all"]).any()


@pytest.mark.parametrize("ap", ["voc", "sklearn"])
def test_integer_embeddings_rank_by_euclidean_distance(ap, cpu_backend):
    """Small-integer embeddings give exact float32 distances with many ties."""
    rng = np.random.default_rng(2)
    query = rng.integers(-2, 3, (35, 4)).astype(np.float32)
    gallery = rng.integers(-2, 3, (80, 4)).astype(np.float32)
    query_labels, gallery_labels = rng.integers(0, 3, 35), rng.integers(0, 3, 80)
    dist = ((query[:, None, :].astype(np.float64) - gallery[None]) ** 2).sum(-1)
    ks = (3, 10, 100)
    result = evaluate_retrieval(query, query_labels, gallery, gallery_labels, preset=resolve(ap=ap), ks=ks,
                                chunk_size=4, device="cpu")
    assert_matches_reference(result, reference_all(dist, query_labels, gallery_labels, ap, ks))


def test_rows_split_over_cpu_threads(monkeypatch):
    """Chunks large enough to be split over the CPU threads give the reference numbers."""
    monkeypatch.setattr(metrics_engine, "CPU_THREADS", 3)
    rng = np.random.default_rng(5)
    query = rng.integers(-3, 4, (160, 5)).astype(np.float32)
    gallery = rng.integers(-3, 4, (120, 5)).astype(np.float32)
    query_labels, gallery_labels = rng.integers(0, 2, 160), rng.integers(0, 2, 120)
    dist = ((query[:, None, :].astype(np.float64) - gallery[None]) ** 2).sum(-1)
    result = evaluate_retrieval(query, query_labels, gallery, gallery_labels, ks=(10,), device="cpu")
    assert_matches_reference(result, reference_all(dist, query_labels, gallery_labels, "voc", (10,)))


def test_random_unit_embeddings_match_reference():
    rng = np.random.default_rng(3)
    query = rng.standard_normal((60, 16)).astype(np.float32)
    gallery = rng.standard_normal((300, 16)).astype(np.float32)
    query /= np.linalg.norm(query, axis=1, keepdims=True)
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    query_labels, gallery_labels = rng.integers(0, 6, 60), rng.integers(0, 6, 300)
    dist = pairwise_distances(query, gallery)
    result = evaluate_retrieval(torch.from_numpy(query), torch.from_numpy(query_labels), gallery,
                                list(gallery_labels), device="cpu")
    assert_matches_reference(result, reference_all(dist, query_labels, gallery_labels, "voc"), atol=1e-9)
    assert 0 < result["map_all"] < 1 and result["n_queries_without_relevant"] == 0


def test_the_reference_voc_ap_by_hand():
    # hits at ranks 1 and 3 of 4: precision 1 at recall 0.5, 2/3 at recall 1
    assert voc_average_precision([0.1, 0.2, 0.3, 0.4], [True, False, True, False]) == pytest.approx((1 + 2 / 3) / 2)
    # hits at ranks 2 and 3: raw precisions 1/2 and 2/3; VOC lifts the first to the 2/3 that follows it
    assert voc_average_precision([0.1, 0.2, 0.3], [False, True, True]) == pytest.approx(2 / 3)
    # equal distances rank by gallery index, whatever the relevance
    assert voc_average_precision([0.5, 0.5], [False, True]) == pytest.approx(0.5)
    # mAP@k: only the top k count and the denominator is min(k, #relevant): one hit of 2 at precision 1/2
    assert voc_average_precision([0.1, 0.2, 0.3, 0.4], [False, True, True, True], top=2) == pytest.approx(0.25)
    assert voc_average_precision([0.1, 0.2], [False, False]) == 0.0
    labels = np.array([0, 1])
    assert voc_map(np.array([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]]), labels, [1, 0, 1]) == pytest.approx(
        (0.5 + (1 + 2 / 3) / 2) / 2)


def test_the_engine_equals_the_readable_definition_under_the_query_mean():
    rng = np.random.default_rng(4)
    query, gallery = rng.standard_normal((50, 8)), rng.standard_normal((200, 8))
    query_labels, gallery_labels = rng.integers(0, 5, 50), rng.integers(0, 5, 200)
    result = evaluate_retrieval(query, query_labels, gallery, gallery_labels, ks=(100,), device="cpu",
                                preset=resolve("sbka", aggregate="query"))
    dist = pairwise_distances(query, gallery)
    assert result["map_all"] == pytest.approx(voc_map(dist, query_labels, gallery_labels), abs=1e-12)
    assert result["map_100"] == pytest.approx(voc_map(dist, query_labels, gallery_labels, top=100), abs=1e-12)


def test_collapsed_embeddings_all_tied():
    """A collapsed model (every embedding equal): every query is flagged as tied, ranks follow gallery order."""
    query = np.ones((6, 3), np.float32)
    gallery = np.ones((10, 3), np.float32)
    query_labels = np.array([0, 0, 1, 1, 2, 2])
    gallery_labels = np.array([2, 2, 0, 1, 0, 1, 2, 0, 1, 1])
    result = evaluate_retrieval(query, query_labels, gallery, gallery_labels, ks=(3,), device="cpu")
    dist = np.zeros((6, 10))
    assert_matches_reference(result, reference_all(dist, query_labels, gallery_labels, "voc", (3,)))
    assert result["n_queries_with_ties"] == 6
    # class 2 holds gallery items 0, 1 and 6 of 10: ranked 1st, 2nd and 7th by index; precisions
    # 1/1, 2/2, 3/7, and the VOC area (1 + 1 + 3/7) / 3
    assert result["per_query"]["ap_all"][4] == pytest.approx((2 + 3 / 7) / 3)
    assert result["per_query"]["prec_3"][4] == pytest.approx(2 / 3)
    # class 0 holds items 2, 4 and 7: precisions 1/3, 2/5, 3/8; made monotone from the right
    # the first becomes 2/5: (2/5 + 2/5 + 3/8) / 3
    assert result["per_query"]["ap_all"][0] == pytest.approx((2 / 5 + 2 / 5 + 3 / 8) / 3)


def test_voc_ap_of_a_hand_ranked_query():
    """One query, six photos ranked by distance; relevant photos at places 2, 3 and 6.

    Precision at each relevant place: 1/2, 2/3, 3/6. VOC makes it monotone from the right
    (2/3, 2/3, 1/2): AP = (2/3 + 2/3 + 1/2) / 3 = 11/18. Without interpolation (sklearn):
    (1/2 + 2/3 + 1/2) / 3 = 5/9. AP@4 keeps places 2 and 3, recall denominator min(4, 3) = 3:
    (2/3 + 2/3) / 3 = 4/9. P@4 = 2/4.
    """
    dist = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]])[:, [3, 0, 1, 4, 5, 2]]  # a shuffled gallery
    labels = np.array(["dog", "cat", "cat", "dog", "dog", "cat"])[[3, 0, 1, 4, 5, 2]]
    voc = evaluate_scores(dist, ["cat"], labels, ks=(4,), device="cpu")
    assert voc["map_all"] == pytest.approx(11 / 18)
    assert voc["map_4"] == pytest.approx(4 / 9)
    assert voc["prec_4"] == pytest.approx(0.5)
    assert evaluate_scores(dist, ["cat"], labels, preset=resolve(ap="sklearn"), device="cpu")["map_all"] == pytest.approx(5 / 9)


def test_stable_argsort_loop_reproduces_the_metrics_exactly(tied_problem):
    """The tie rule is the stable sort's: a per-query argsort loop gives the same numbers bit for bit."""
    dist, query_labels, gallery_labels = tied_problem
    result = evaluate_scores(dist, query_labels, gallery_labels, ks=(5,), device="cpu")
    for row, label, ap, prec in zip(dist, query_labels, result["per_query"]["ap_all"], result["per_query"]["prec_5"]):
        hits = (gallery_labels == label)[np.argsort(row, kind="stable")]
        precision = np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)
        assert ap == pytest.approx(np.maximum.accumulate(precision[::-1])[::-1].mean(), abs=1e-15)
        assert prec == hits[:5].mean()
    assert result["n_queries_with_ties"] > 0


def test_chunk_size_and_label_types_do_not_change_results(tied_problem):
    dist, query_labels, gallery_labels = tied_problem
    reference = evaluate_scores(dist, query_labels, gallery_labels, device="cpu")
    names = np.array(["cat", "dog", "pig", "zebra"])
    for chunk_size in (1, 3, 1000):
        again = evaluate_scores(torch.from_numpy(dist), names[query_labels], names[gallery_labels],
                                chunk_size=chunk_size, device="cpu")
        for name, values in reference["per_query"].items():
            np.testing.assert_array_equal(again["per_query"][name], values)


def test_similarities_with_higher_is_better(tied_problem):
    dist, query_labels, gallery_labels = tied_problem
    as_distance = evaluate_scores(dist, query_labels, gallery_labels, device="cpu")
    as_similarity = evaluate_scores(-dist, query_labels, gallery_labels, higher_is_better=True, device="cpu")
    assert as_similarity["map_all"] == as_distance["map_all"]
    np.testing.assert_array_equal(as_similarity["per_query"]["ap_200"], as_distance["per_query"]["ap_200"])


def test_scorer_is_called_in_chunks_and_matches_scores(tied_problem):
    dist, query_labels, gallery_labels = tied_problem

    class LookupScorer:  # rows of the tied matrix, looked up by the query's id in column 0
        calls = 0

        def score(self, query_emb):
            LookupScorer.calls += 1
            return dist[query_emb[:, 0].astype(int)]

    query_ids = np.arange(len(dist), dtype=np.float32)[:, None]
    result = evaluate_scorer(LookupScorer(), query_ids, query_labels, gallery_labels, chunk_size=5, device="cpu")
    expected = evaluate_scores(dist, query_labels, gallery_labels, device="cpu")
    assert LookupScorer.calls >= len(dist) // 5
    np.testing.assert_array_equal(result["per_query"]["ap_all"], expected["per_query"]["ap_all"])


def test_class_balanced_mean_averages_classes_first():
    assert class_balanced_mean([1.0, 1.0, 1.0, 0.0], ["a", "a", "a", "b"]) == 0.5
    with pytest.raises(ValueError, match="same length"):
        class_balanced_mean([1.0, 0.0], [0])


def test_thread_safe_scorer_is_spread_over_threads(monkeypatch, tied_problem):
    import threading

    monkeypatch.setattr(metrics_engine, "CPU_THREADS", 2)
    dist, query_labels, gallery_labels = tied_problem
    dist = np.repeat(dist, 3, axis=0)  # chunks of >= 32 rows get split
    query_labels = np.repeat(query_labels, 3)
    seen_threads = {True: set(), False: set()}

    def scorer(thread_safe: bool):
        class Rows:
            def score(self, query_emb):
                seen_threads[thread_safe].add(threading.current_thread().name)
                return dist[query_emb[:, 0].astype(int)]
        Rows.thread_safe = thread_safe
        return Rows()

    ids = np.arange(len(dist), dtype=np.float32)[:, None]
    results = {flag: evaluate_scorer(scorer(flag), ids, query_labels, gallery_labels, device="cpu")
               for flag in (True, False)}
    np.testing.assert_array_equal(results[True]["per_query"]["ap_all"], results[False]["per_query"]["ap_all"])
    assert seen_threads[False] == {threading.current_thread().name}
    assert any(name.startswith("sbka-metrics") for name in seen_threads[True])


# ---------------------------------------------------------------- edge cases
def test_query_without_relevant_gallery_item_counts_as_zero():
    dist = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]])
    result = evaluate_scores(dist, [0, 5], [0, 0, 1], ks=(2,), device="cpu")
    assert result["n_queries_without_relevant"] == 1
    assert result["per_query"]["ap_all"].tolist() == [1.0, 0.0]
    assert result["map_all"] == 0.5  # the empty query is counted in the mean
    assert result["per_query"]["prec_2"].tolist() == [1.0, 0.0]


def test_one_item_gallery_and_k_beyond_gallery():
    for ap in ("voc", "sklearn"):
        result = evaluate_retrieval(np.ones((2, 3)), [1, 2], np.zeros((1, 3)), [1], preset=resolve(ap=ap), device="cpu")
        assert result["per_query"]["ap_all"].tolist() == [1.0, 0.0]
        assert result["per_query"]["ap_200"].tolist() == [1.0, 0.0]
        # top-200 of a one-item gallery is that item: precision divides by min(k, n_gallery)
        assert result["per_query"]["prec_100"].tolist() == [1.0, 0.0]


def test_k_larger_than_gallery_matches_reference(tied_problem):
    dist, query_labels, gallery_labels = tied_problem
    result = evaluate_scores(dist, query_labels, gallery_labels, ks=(500,), device="cpu")
    assert_matches_reference(result, reference_all(dist, query_labels, gallery_labels, "voc", (500,)))
    np.testing.assert_allclose(result["per_query"]["ap_500"], result["per_query"]["ap_all"], atol=1e-12)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_embeddings_raise(bad):
    query = np.ones((3, 4), np.float32)
    query[1, 2] = bad
    with pytest.raises(ValueError, match="query_emb row 1"):
        evaluate_retrieval(query, [0, 0, 0], np.ones((2, 4)), [0, 0], device="cpu")
    with pytest.raises(ValueError, match="gallery_emb row 1"):
        evaluate_retrieval(np.ones((2, 4)), [0, 0], query, [0, 0, 0], device="cpu")
    with pytest.raises(ValueError, match="too large"):
        evaluate_retrieval(np.full((1, 4), 1e30), [0], np.ones((2, 4)), [0, 0], device="cpu")


def test_non_finite_scores_raise():
    with pytest.raises(ValueError, match="NaN or inf"):
        evaluate_scores(np.array([[0.0, np.nan]]), [0], [0, 1], device="cpu")

    class NanScorer:
        def score(self, query_emb):
            return np.full((len(query_emb), 2), np.nan)

    with pytest.raises(ValueError, match="scorer returned NaN"):
        evaluate_scorer(NanScorer(), np.ones((1, 2)), [0], [0, 1], device="cpu")


def test_mismatched_inputs_raise():
    query, gallery = np.ones((3, 4)), np.ones((5, 4))
    with pytest.raises(ValueError, match="query_labels has 2 labels but query_emb has 3 rows"):
        evaluate_retrieval(query, [0, 1], gallery, [0] * 5, device="cpu")
    with pytest.raises(ValueError, match="gallery_labels has 4 labels but gallery_emb has 5 rows"):
        evaluate_retrieval(query, [0] * 3, gallery, [0] * 4, device="cpu")
    with pytest.raises(ValueError, match="dim 4 but gallery_emb has dim 2"):
        evaluate_retrieval(query, [0] * 3, np.ones((5, 2)), [0] * 5, device="cpu")
    with pytest.raises(ValueError, match="2-D"):
        evaluate_retrieval(np.ones(4), [0], gallery, [0] * 5, device="cpu")
    with pytest.raises(ValueError, match="empty"):
        evaluate_retrieval(np.ones((0, 4)), [], gallery, [0] * 5, device="cpu")
    with pytest.raises(ValueError, match="both be ints or both be strings"):
        evaluate_retrieval(query, [0, 1, 2], gallery, ["a"] * 5, device="cpu")
    with pytest.raises(ValueError, match="ap must be one of"):
        evaluate_retrieval(query, [0] * 3, gallery, [0] * 5, preset=resolve(ap="trec"), device="cpu")
    with pytest.raises(ValueError, match="positive ints"):
        evaluate_retrieval(query, [0] * 3, gallery, [0] * 5, ks=(0,), device="cpu")
    with pytest.raises(ValueError, match="expected \\(3, 5\\)"):
        evaluate_scorer(type("S", (), {"score": lambda self, q: np.zeros((len(q), 4))})(),
                        query, [0] * 3, [0] * 5, device="cpu")
    with pytest.raises(ValueError, match="scores has|query_labels has"):
        evaluate_scores(np.zeros((3, 5)), [0] * 2, [0] * 5, device="cpu")
    # the keywords that moved say where they went
    with pytest.raises(TypeError, match=r"scorer=: use evaluate_scorer\(scorer, query_emb"):
        evaluate_retrieval(query, [0] * 3, None, [0] * 5, scorer=object())
    with pytest.raises(TypeError, match=r"ap=: use preset=resolve\(preset, ap=...\)"):
        evaluate_retrieval(query, [0] * 3, gallery, [0] * 5, ap="voc")
    with pytest.raises(TypeError, match="typo=: no such keyword"):
        evaluate_scores(np.zeros((3, 5)), [0] * 3, [0] * 5, typo=1)


def _benchmark_module():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import eval_speed
    finally:
        sys.path.pop(0)
    return eval_speed


def test_public_style_loop_agrees_on_subsample():
    """The benchmark's faithful per-query baseline computes the same numbers."""
    rng = np.random.default_rng(4)
    query = rng.standard_normal((20, 8)).astype(np.float32)
    gallery = rng.standard_normal((150, 8)).astype(np.float32)
    query_labels, gallery_labels = rng.integers(0, 3, 20), rng.integers(0, 3, 150)
    ours = evaluate_retrieval(query, query_labels, gallery, gallery_labels, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _benchmark_module().public_style_metrics(query, query_labels, gallery, gallery_labels)
    for name in ("ap_all", "ap_200", "prec_100", "prec_200"):
        np.testing.assert_allclose(ours["per_query"][name], theirs[name], atol=1e-9, err_msg=name)


def test_benchmark_quick_mode_writes_json(tmp_path):
    out = tmp_path / "eval_speed.json"
    _benchmark_module().main(["--quick", "--in-process", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report["quick"] and len(report["sizes"]) == 2
    for size in report["sizes"]:
        assert size["ours"]["seconds"] > 0 and size["ours"]["peak_rss_mb"] > 0
        assert size["max_abs_ap_difference_vs_baseline"] < 1e-9
        assert size["speedup_vs_per_query_baseline"] > 1
        assert size["sort_bound"]["seconds_scaled"] > 0
        every = size["all_presets"]
        assert set(every["presets"]) == set(metrics.PRESETS) and every["seconds"] > 0
        # the default preset's figures inside the all-presets run are the single run's
        assert every["presets"]["sbka_lite"]["map_all"] == size["ours"]["map_all"]
