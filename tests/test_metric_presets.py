"""Named evaluation presets: hand-made rankings per preset, and per-query re-statements of the
public scripts' loops (written from their published logic) on random data."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from sbka_lite.metrics import PRESETS, evaluate_all_presets, evaluate_retrieval, evaluate_scorer, evaluate_scores
from sbka_lite.metrics_conventions import resolve
from sbka_lite.metrics_reference import voc_area

# ---------------------------------------------------------------- a hand-made ranking
# Gallery labels a b b a b (#relevant: a 2, b 3). Three queries, each with its gallery order:
#   q0 (a): 0 1 2 3 4 -> hits a b b a b: places 1, 4; precisions 1, 1/2
#   q1 (a): 1 2 0 4 3 -> hits b b a b a: places 3, 5; precisions 1/3, 2/5 (VOC: 2/5, 2/5)
#   q2 (b): 1 0 2 3 4 -> hits b a b a b: places 1, 3, 5; precisions 1, 2/3, 3/5
GALLERY = np.array(["a", "b", "b", "a", "b"])
QUERIES = np.array(["a", "a", "b"])
ORDERS = [[0, 1, 2, 3, 4], [1, 2, 0, 4, 3], [1, 0, 2, 3, 4]]
# Per query, by hand (k = 3):
AP_VOC = [3 / 4, 2 / 5, (1 + 2 / 3 + 3 / 5) / 3]            # VOC area over the whole list
AP_SKLEARN = [3 / 4, (1 / 3 + 2 / 5) / 2, (1 + 2 / 3 + 3 / 5) / 3]
AP3_SUM = [1, 1 / 3, 1 + 2 / 3]                                # precisions of the relevant items in the top 3
AP3 = {"min_k_relevant": [AP3_SUM[0] / 2, AP3_SUM[1] / 2, AP3_SUM[2] / 3],  # min(3, #rel) = 2, 2, 3
       "relevant_in_top_k": [AP3_SUM[0] / 1, AP3_SUM[1] / 1, AP3_SUM[2] / 2],
       "relevant": [AP3_SUM[0] / 2, AP3_SUM[1] / 2, AP3_SUM[2] / 3]}
P3 = {"k": [1 / 3, 1 / 3, 2 / 3],             # hits in the top 3, over 3
      "min_k_relevant": [1 / 2, 0 / 2, 2 / 3]}  # hits in the top min(3, #rel) = 2, 2, 3, over that


def _hand_scores() -> np.ndarray:
    dist = np.zeros((3, 5))
    for q, order in enumerate(ORDERS):
        dist[q, order] = np.arange(5)
    return dist


def _query_mean(values):
    return float(np.mean(values))


def _class_mean(values):  # class a: queries 0 and 1; class b: query 2
    return ((values[0] + values[1]) / 2 + values[2]) / 2


EXPECTED = {
    "sbka_lite": (_query_mean(AP_VOC), _query_mean(AP3["min_k_relevant"]), _query_mean(P3["k"])),
    "sbka": (_class_mean(AP_VOC), _class_mean(AP3["min_k_relevant"]), _class_mean(P3["k"])),
    "sake": (_class_mean(AP_VOC), _class_mean(AP3["min_k_relevant"]), _class_mean(P3["k"])),
    "zse": (_query_mean(AP_VOC), _query_mean(AP3["min_k_relevant"]), _query_mean(P3["min_k_relevant"])),
    "doodle2search": (_query_mean(AP_SKLEARN), _query_mean(AP3["relevant_in_top_k"]), _query_mean(P3["k"])),
    "sklearn": (_query_mean(AP_SKLEARN), _query_mean(AP3["relevant"]), _query_mean(P3["k"])),
}


@pytest.mark.parametrize("preset", sorted(EXPECTED))
def test_hand_ranking_under_each_preset(preset):
    result = evaluate_scores(_hand_scores(), QUERIES, GALLERY, preset=preset, ks=(3,), device="cpu")
    assert (result["map_all"], result["map_3"], result["prec_3"]) == pytest.approx(EXPECTED[preset], abs=1e-12)
    assert result["preset"] == preset and result["conventions"] == PRESETS[preset].as_dict()


def test_every_preset_is_checked_by_hand():
    assert set(EXPECTED) == set(PRESETS)


def test_all_presets_at_once_equal_one_at_a_time():
    rng = np.random.default_rng(0)
    query, gallery = rng.standard_normal((40, 6)).astype(np.float32), rng.standard_normal((70, 6)).astype(np.float32)
    query_labels, gallery_labels = rng.integers(0, 4, 40), rng.integers(0, 5, 70)
    query_labels[:3] = 7  # a class with no gallery item: counted as 0 by some presets, skipped by others
    every = evaluate_all_presets(query, query_labels, gallery, gallery_labels, ks=(5, 20), device="cpu")
    assert set(every) == set(PRESETS)
    for name, result in every.items():
        alone = evaluate_retrieval(query, query_labels, gallery, gallery_labels, preset=name, ks=(5, 20), device="cpu")
        for key in ("map_all", "map_5", "map_20", "prec_5", "prec_20", "preset", "conventions"):
            assert result[key] == alone[key], (name, key)
    # the empty queries: zero and counted (sbka_lite), NaN and skipped (zse)
    assert (every["sbka_lite"]["per_query"]["ap_all"][:3] == 0).all()
    assert np.isnan(every["zse"]["per_query"]["ap_all"][:3]).all()
    assert every["zse"]["map_all"] == pytest.approx(np.mean(every["sbka_lite"]["per_query"]["ap_all"][3:]))


def test_overrides_are_named_and_recorded():
    dist = _hand_scores()
    result = evaluate_scores(dist, QUERIES, GALLERY, preset=resolve("sbka", aggregate="query"), ks=(3,), device="cpu")
    assert result["preset"] == "sbka+custom" and result["conventions"]["aggregate"] == "query"
    assert result["map_all"] == pytest.approx(_query_mean(AP_VOC))
    same = evaluate_scores(dist, QUERIES, GALLERY, preset=resolve("sbka", aggregate="class"), ks=(3,), device="cpu")
    assert same["preset"] == "sbka"
    # backward compatible: ap="sklearn" alone gives sklearn's customary @k (relevant inside the top k)
    assert resolve(ap="sklearn")[1].ap_at_k == "relevant_in_top_k"
    with pytest.raises(ValueError, match="unknown preset 'papers'"):
        evaluate_scores(dist, QUERIES, GALLERY, preset="papers")
    with pytest.raises(ValueError, match="aggregate must be one of"):
        evaluate_scores(dist, QUERIES, GALLERY, preset=resolve(aggregate="median"))


def test_scorer_takes_the_preset_keyword():
    dist = _hand_scores()

    class Rows:
        def score(self, query_emb):
            return dist[query_emb[:, 0].astype(int)]

    ids = np.arange(3, dtype=np.float32)[:, None]
    result = evaluate_scorer(Rows(), ids, QUERIES, GALLERY, preset="zse", ks=(3,), device="cpu")
    assert result["prec_3"] == pytest.approx(EXPECTED["zse"][2])


# ---------------------------------------------------------------- the public loops, re-stated
def sbka_script(dist, query_labels, gallery_labels, k_ap=200, k_prec=100):
    """SBKA / SAKE test scripts: per query argsort, VOC AP (top k: denominator min(k, #rel)),
    P@k = hits / min(k, n); nanmean over each class's queries, then mean over classes."""
    per_class: dict = {}
    for row, label in zip(dist, query_labels):
        hits = gallery_labels[np.argsort(row)] == label
        top = min(k_ap, len(hits))
        values = (voc_area(hits, hits.sum()), voc_area(hits[:top], min(top, hits.sum())),
                  hits[:min(k_prec, len(hits))].sum() / min(k_prec, len(hits)))
        per_class.setdefault(label, []).append(values)
    return np.mean([np.nanmean(v, axis=0) for v in per_class.values()], axis=0)


def zse_script(dist, query_labels, gallery_labels, k_ap=200, k_prec=100):
    """ZSE-SBIR utils/ap.py: the same VOC AP; P@k = mean of the top min(k, #rel) hits; nanmean over queries."""
    rows = []
    for row, label in zip(dist, query_labels):
        hits = gallery_labels[np.argsort(row)] == label
        top = min(k_ap, len(hits))
        rows.append((voc_area(hits, hits.sum()), voc_area(hits[:top], min(top, hits.sum())),
                     hits[:min(k_prec, hits.sum())].mean()))
    return np.nanmean(rows, axis=0)


def doodle2search_script(dist, query_labels, gallery_labels, k_ap=200, k_prec=100):
    """Doodle2Search: sklearn AP on the similarity 1/(1+d), mean over queries; @k: sklearn AP on the
    top-k list of the sorted similarities (NaN read as 0); P@k = hits / k."""
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for row, label in zip(dist, query_labels):
            similarity, relevant = 1 / (1 + row), gallery_labels == label
            order = np.argsort(-similarity)
            top_ap = average_precision_score(relevant[order][:k_ap], similarity[order][:k_ap])
            rows.append((average_precision_score(relevant, similarity), 0.0 if np.isnan(top_ap) else top_ap,
                         relevant[order][:k_prec].mean()))
    return np.mean(rows, axis=0)


def sklearn_loop(dist, query_labels, gallery_labels, k_ap=200, k_prec=100):
    """scikit-learn's AP per query; @k: the precision at each relevant item of the top k, over #relevant."""
    rows = []
    for row, label in zip(dist, query_labels):
        relevant = gallery_labels == label
        hits = relevant[np.argsort(row)]
        at = np.flatnonzero(hits[:k_ap])
        rows.append((average_precision_score(relevant, -row), np.sum((np.arange(len(at)) + 1) / (at + 1)) / relevant.sum(),
                     hits[:k_prec].mean()))
    return np.mean(rows, axis=0)


SCRIPTS = {"sbka": sbka_script, "sake": sbka_script, "zse": zse_script, "doodle2search": doodle2search_script,
           "sklearn": sklearn_loop}


@pytest.mark.parametrize("preset", sorted(SCRIPTS))
def test_preset_reproduces_the_public_loop(preset):
    """Random continuous embeddings (no ties, so the scripts' unstable argsort does not matter), uneven
    classes so that class and query means differ, a gallery larger than 200."""
    rng = np.random.default_rng(1)
    query = rng.standard_normal((90, 8)).astype(np.float32)
    gallery = rng.standard_normal((400, 8)).astype(np.float32)
    query_labels = rng.choice(5, 90, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    gallery_labels = rng.choice(5, 400, p=[0.1, 0.2, 0.2, 0.2, 0.3])
    gallery[gallery_labels == 1] += 0.3  # some structure, so AP is not just chance
    dist = np.sqrt(((query[:, None, :].astype(np.float64) - gallery[None]) ** 2).sum(-1))
    ours = evaluate_retrieval(query, query_labels, gallery, gallery_labels, preset=preset, ks=(10, 100, 200),
                              device="cpu")
    theirs = SCRIPTS[preset](dist, query_labels, gallery_labels)
    np.testing.assert_allclose([ours["map_all"], ours["map_200"], ours["prec_100"]], theirs, rtol=0, atol=1e-9)
    # k below #relevant: the @k denominators and the ZSE precision cut part ways here
    theirs = SCRIPTS[preset](dist, query_labels, gallery_labels, k_ap=10, k_prec=10)
    np.testing.assert_allclose([ours["map_10"], ours["prec_10"]], theirs[1:], rtol=0, atol=1e-9)
