"""Speed of one-to-many cluster matching at the Sketchy Ext split 1 size, with the time split.

Embeddings are random but clustered (25 class centres plus noise, unit-norm, 768-d; the
sketches carry a constant modality shift) so the mixtures have structure to find. For the
one-to-one baseline and for the cluster matcher with Gaussian-mixture and k-means codebooks
(M=2, K=25) it reports: codebook fit seconds, scoring-and-ranking seconds as used (the
matcher scores chunks on every CPU thread), a second pass that splits scoring (the matcher's
``score`` calls, on one thread) from ranking (the rest of `evaluate_retrieval`), mAP@all and
P@100 (VOC), and the process's peak memory. The label-free BIC choice of (M, K) is timed separately on a small grid.

    python benchmarks/cluster_speed.py            # writes benchmarks/results/cluster_speed.json
    python benchmarks/cluster_speed.py --quick    # reduced sizes, seconds
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sbka_lite.metrics import evaluate_scorer  # noqa: E402
from sbka_lite.paths import write_json_atomic  # noqa: E402
from sbka_lite.codebooks import select_pq_params  # noqa: E402
from sbka_lite.retrieval import ClusterMatcher, OneToOneMatcher  # noqa: E402

FULL = {"n_queries": 15_229, "n_gallery": 17_101, "n_classes": 25, "dim": 768, "n_components": 25,
        "bic_grid": {"n_subspaces": (2, 4), "n_components": (15, 25, 35)}}
QUICK = {"n_queries": 600, "n_gallery": 800, "n_classes": 10, "dim": 128, "n_components": 10,
         "bic_grid": {"n_subspaces": (2,), "n_components": (5, 10)}}
NOISE, SHIFT = 4.0, 1.3  # per-dimension noise and modality shift: one-to-one mAP@all ~0.3
RESULTS = Path(__file__).resolve().parent / "results"


def clustered_problem(n_queries: int, n_gallery: int, n_classes: int, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, dim), dtype=np.float32)
    shift = SHIFT * rng.standard_normal(dim, dtype=np.float32)
    arrays = []
    for n, offset in ((n_queries, shift), (n_gallery, 0.0)):
        labels = rng.integers(0, n_classes, n)
        emb = centres[labels] + NOISE * rng.standard_normal((n, dim), dtype=np.float32) + offset
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        arrays += [emb, labels]
    return arrays  # query, query_labels, gallery, gallery_labels


class TimedScorer:
    """Wraps a matcher and adds up the seconds spent in its ``score``. Not marked thread-safe,
    so `evaluate_retrieval` calls it from the calling thread and the split is clean."""

    def __init__(self, matcher):
        self.matcher, self.seconds = matcher, 0.0

    def score(self, query_emb):
        start = time.perf_counter()
        out = self.matcher.score(query_emb)
        self.seconds += time.perf_counter() - start
        return out


def timed_run(name: str, matcher, query, query_labels, gallery, gallery_labels) -> dict:
    start = time.perf_counter()
    matcher.fit(gallery)
    fit_seconds = time.perf_counter() - start
    # As used: the thread-safe matcher scores chunks on every CPU thread.
    start = time.perf_counter()
    result = evaluate_scorer(matcher, query, query_labels, gallery_labels, progress=False)
    evaluate_seconds = time.perf_counter() - start
    # The split: a second pass with scoring on the calling thread, timed apart from ranking.
    scorer = TimedScorer(matcher)
    start = time.perf_counter()
    evaluate_scorer(scorer, query, query_labels, gallery_labels, progress=False)
    sequential_seconds = time.perf_counter() - start
    return {"name": name, "n_subspaces": getattr(matcher, "n_subspaces_", None),
            "n_components": getattr(matcher, "n_components_", None),
            "fit_seconds": fit_seconds, "score_and_evaluate_seconds": evaluate_seconds,
            "total_seconds": fit_seconds + evaluate_seconds,
            "split_pass": {"scoring_seconds": scorer.seconds, "ranking_seconds": sequential_seconds - scorer.seconds,
                           "seconds": sequential_seconds},
            "map_all": result["map_all"], "prec_100": result["prec_100"], "map_200": result["map_200"]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes that run in seconds")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    load_before = os.getloadavg()
    query, query_labels, gallery, gallery_labels = clustered_problem(
        size["n_queries"], size["n_gallery"], size["n_classes"], size["dim"])

    runs = [timed_run("one-to-one", OneToOneMatcher(), query, query_labels, gallery, gallery_labels)]
    k = size["n_components"]
    for codebook in ("gmm", "kmeans"):
        matcher = ClusterMatcher(2, k, blend=0.8, codebook=codebook, random_state=0)
        runs.append(timed_run(f"cluster {codebook} (M=2, K={k})", matcher, query, query_labels,
                              gallery, gallery_labels))
    start = time.perf_counter()
    selection = select_pq_params(gallery, **size["bic_grid"], progress=False)
    selection_seconds = time.perf_counter() - start

    report = {"benchmark": "cluster matching speed (Sketchy Ext split 1 size)", "quick": args.quick,
              **{k: v for k, v in size.items() if k != "bic_grid"}, "runs": runs,
              "bic_selection": {"grid": size["bic_grid"], "seconds": selection_seconds,
                                "chosen": {"n_subspaces": selection["n_subspaces"],
                                           "n_components": selection["n_components"]},
                                "table": selection["table"]},
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "machine": {"cpu_count": os.cpu_count(), "load_average_before": load_before,
                          "load_average_after": os.getloadavg()}}
    for run in runs:
        split = run["split_pass"]
        print(f"{run['name']:>28}: fit {run['fit_seconds']:5.1f} s + score & rank "
              f"{run['score_and_evaluate_seconds']:5.1f} s = {run['total_seconds']:5.1f} s (split pass: scoring {split['scoring_seconds']:.1f} s, ranking "
              f"{split['ranking_seconds']:.1f} s) | mAP@all {run['map_all']:.4f}  P@100 {run['prec_100']:.4f}")
    print(f"{'BIC selection':>28}: {selection_seconds:.1f} s over {len(selection['table'])} (M, K) -> "
          f"M={selection['n_subspaces']}, K={selection['n_components']} | peak {report['peak_rss_mb']:.0f} MB")
    out = args.out or RESULTS / ("cluster_speed_quick.json" if args.quick else "cluster_speed.json")
    write_json_atomic(out, report)
    print(f"wrote {out}")
    return report


if __name__ == "__main__":
    main()
