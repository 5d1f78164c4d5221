"""Speed and memory of `sbka_lite.metrics.evaluate_retrieval` at the real benchmark sizes.

On random unit-norm 768-d embeddings of the Sketchy Ext split 1 size (15,229 sketches x
17,101 photos, 25 classes) and the QuickDraw Ext size (92,291 x 54,151, 30 classes) it
measures, each size in a fresh subprocess (so ``ru_maxrss`` is that size's peak):

* ours: all four metrics (mAP@all, mAP@200, P@100, P@200, the default ``sbka_lite`` preset),
  wall time and peak resident memory (data included);
* all presets: `evaluate_all_presets` (every published convention from one ranking), its wall
  time, its ratio to one preset and its peak memory (on CUDA, the peak GPU memory of each run);
* a faithful per-query baseline in the style of the public ZS-SBIR code (per query: a scipy
  ``cdist`` distance row, a full ``argsort``, the VOC loop in Python), timed on a subsample
  of queries and scaled; its APs are checked against ours on that subsample;
* a bare lower bound for any method that fully sorts every row: the distance GEMM plus one
  sort of every row (the fastest of three ways to run them, see `_sort_bound`), timed on a
  subsample before and after ours (the mean of the two), scaled.

Ratios are measured within one run, so they survive a machine shared with other jobs;
absolute seconds do not. ``--quick`` runs reduced sizes in seconds.

    python benchmarks/eval_speed.py            # full sizes, writes benchmarks/results/eval_speed.json
    python benchmarks/eval_speed.py --quick    # writes benchmarks/results/eval_speed_quick.json
    python benchmarks/eval_speed.py --device cuda --sizes quickdraw --out /tmp/eval_speed_cuda.json

On ``--device cuda`` the CPU-only sort bound is skipped (it bounds the CPU engine).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SIZES = {  # name: (queries, gallery, classes, baseline subsample, bound subsample)
    "sketchy_ext_split1": (15_229, 17_101, 25, 150, 4096),
    "quickdraw_ext": (92_291, 54_151, 30, 40, 4096),
}
QUICK_SIZES = {
    "sketchy_ext_split1_quick": (1_523, 1_710, 25, 40, 1_523),
    "quickdraw_ext_quick": (2_000, 5_415, 30, 15, 2_000),
}
SIZE_ALIASES = {"sketchy": "sketchy_ext_split1", "quickdraw": "quickdraw_ext"}
DIM = 768
RESULTS = Path(__file__).resolve().parent / "results"


# ------------------------------------------------------------------ public-style baseline
def _voc_area(recall: np.ndarray, precision: np.ndarray) -> float:
    """The VOC area as the public code computes it: a Python loop over the whole list."""
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    steps = [a != b for a, b in zip(mrec[1:], mrec[:-1])]
    return float(np.sum((mrec[1:][steps] - mrec[:-1][steps]) * mpre[1:][steps]))


def _public_style_ap(relevant_sorted: np.ndarray, top: int | None) -> float:
    hits = relevant_sorted
    n_relevant = hits.sum()
    if top is not None:
        top = min(top, len(hits))
        hits = hits[:top]
        n_relevant = min(top, n_relevant)
    true_pos = np.cumsum(hits)
    false_pos = np.cumsum(~hits)
    recall = true_pos / n_relevant
    precision = true_pos / (true_pos + false_pos)
    return _voc_area(recall, precision)


def public_style_metrics(query: np.ndarray, query_labels: np.ndarray, gallery: np.ndarray,
                         gallery_labels: np.ndarray) -> dict[str, np.ndarray]:
    """Per query: a distance row, one full argsort, the VOC loop (mAP@all, mAP@200), P@100/200."""
    from scipy.spatial.distance import cdist

    out = {name: np.zeros(len(query)) for name in ("ap_all", "ap_200", "prec_100", "prec_200")}
    # The public code calls cdist once on the whole matrix, converting to float64 once; do
    # the same conversion up front so the per-row split adds no cost of its own.
    query, gallery = query.astype(np.float64), gallery.astype(np.float64)
    for i in range(len(query)):
        dist = cdist(query[i:i + 1], gallery)[0]
        relevant_sorted = (gallery_labels == query_labels[i])[np.argsort(dist)]
        out["ap_all"][i] = _public_style_ap(relevant_sorted, None)
        out["ap_200"][i] = _public_style_ap(relevant_sorted, 200)
        out["prec_100"][i] = relevant_sorted[:100].mean()
        out["prec_200"][i] = relevant_sorted[:200].mean()
    return out


# ------------------------------------------------------------------ one size, in a worker
def _random_problem(n_queries: int, n_gallery: int, n_classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    arrays = []
    for n in (n_queries, n_gallery):
        emb = rng.standard_normal((n, DIM), dtype=np.float32)
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        arrays.append(emb)
    return arrays[0], rng.integers(0, n_classes, n_queries), arrays[1], rng.integers(0, n_classes, n_gallery)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _sort_bound(query: np.ndarray, gallery: np.ndarray, n_rows: int, chunk: int) -> dict:
    """GEMM + one full sort of every row, on the first `n_rows` queries, the best of three ways:
    BLAS threads then numpy's sort; threads over row blocks (one BLAS thread each, as ours);
    BLAS threads then torch's sort (timed on at most 1,024 rows: it is slow on CPU)."""
    from concurrent.futures import ThreadPoolExecutor

    import torch
    from threadpoolctl import threadpool_limits

    from sbka_lite.metrics_engine import CPU_THREADS as _CPU_THREADS

    gemm = np_sort = torch_sort = threaded = 0.0
    torch_rows = 0
    blocks = [query[start:min(start + chunk, n_rows)] for start in range(0, n_rows, chunk)]
    for block in blocks:
        t0 = time.perf_counter()
        dist = block @ gallery.T
        t1 = time.perf_counter()
        np.sort(dist, axis=1)
        t2 = time.perf_counter()
        gemm, np_sort = gemm + t1 - t0, np_sort + t2 - t1
        if torch_rows < min(n_rows, 1024):
            t3 = time.perf_counter()
            torch.sort(torch.from_numpy(dist), dim=1)
            torch_sort += time.perf_counter() - t3
            torch_rows += len(block)
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(_CPU_THREADS) as pool:
        t0 = time.perf_counter()
        for block in blocks:
            list(pool.map(lambda part: np.sort(part @ gallery.T, axis=1), np.array_split(block, _CPU_THREADS)))
        threaded = time.perf_counter() - t0
    ms = {"gemm": gemm / n_rows * 1e3, "numpy_sort": np_sort / n_rows * 1e3,
          "torch_sort": torch_sort / torch_rows * 1e3, "threaded_gemm_and_numpy_sort": threaded / n_rows * 1e3}
    best = min(ms["gemm"] + ms["numpy_sort"], ms["gemm"] + ms["torch_sort"], ms["threaded_gemm_and_numpy_sort"])
    return {"rows_timed": n_rows, "ms_per_row": ms, "seconds_per_row": best / 1e3}


def _timed(fn, device: str) -> tuple[object, float, float | None]:
    """(fn's result, wall seconds, peak GPU MB of this call or None on CPU)."""
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    out = fn()
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    return out, seconds, torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None


def _bound_summary(bound_runs: list[dict]) -> dict:
    return {"rows_timed": bound_runs[0]["rows_timed"],
            "ms_per_row": {k: float(np.mean([b["ms_per_row"][k] for b in bound_runs]))
                           for k in bound_runs[0]["ms_per_row"]},
            "seconds_per_row": float(np.mean([b["seconds_per_row"] for b in bound_runs])),
            "seconds_per_row_before_and_after": [b["seconds_per_row"] for b in bound_runs]}


def run_size(name: str, n_queries: int, n_gallery: int, n_classes: int, n_baseline: int,
             n_bound: int, device: str = "cpu") -> dict:
    import torch

    from sbka_lite.metrics import CHUNK_BYTES, evaluate_all_presets, evaluate_retrieval

    load_before = os.getloadavg()
    query, query_labels, gallery, gallery_labels = _random_problem(n_queries, n_gallery, n_classes)
    rss_data = _peak_rss_mb()
    chunk = max(1, CHUNK_BYTES // (8 * n_gallery))
    on_cpu = device == "cpu"
    before = _sort_bound(query, gallery, min(n_bound, n_queries), chunk) if on_cpu else None

    ours, ours_seconds, ours_gpu_mb = _timed(lambda: evaluate_retrieval(
        query, query_labels, gallery, gallery_labels, ks=(100, 200), device=device, progress=False), device)
    rss_ours = _peak_rss_mb()
    every, all_seconds, all_gpu_mb = _timed(lambda: evaluate_all_presets(
        query, query_labels, gallery, gallery_labels, ks=(100, 200), device=device, progress=False), device)
    rss_all = _peak_rss_mb()
    presets = {preset: {key: result[key] for key in ("map_all", "map_200", "prec_100", "prec_200")}
               for preset, result in every.items()}

    # The load of a shared machine drifts: time the bound before and after ours, and average.
    bound = (_bound_summary([before, _sort_bound(query, gallery, min(n_bound, n_queries), chunk)])
             if on_cpu else None)
    bound_seconds = bound["seconds_per_row"] * n_queries if on_cpu else None

    sample = np.random.default_rng(1).choice(n_queries, min(n_baseline, n_queries), replace=False)
    t0 = time.perf_counter()
    baseline = public_style_metrics(query[sample], query_labels[sample], gallery, gallery_labels)
    baseline_per_query = (time.perf_counter() - t0) / len(sample)
    baseline_seconds = baseline_per_query * n_queries
    max_diff = max(float(np.abs(ours["per_query"][k][sample] - baseline[k]).max()) for k in baseline)

    return {
        "name": name, "n_queries": n_queries, "n_gallery": n_gallery, "n_classes": n_classes, "dim": DIM,
        "device": device,
        "ours": {"preset": ours["preset"], "seconds": ours_seconds, "ms_per_query": ours_seconds / n_queries * 1e3,
                 "peak_rss_mb": rss_ours, "peak_rss_mb_after_data_only": rss_data, "peak_gpu_mb": ours_gpu_mb,
                 "map_all": ours["map_all"], "map_200": ours["map_200"],
                 "prec_100": ours["prec_100"], "prec_200": ours["prec_200"]},
        "all_presets": {"seconds": all_seconds, "ratio_to_one_preset": all_seconds / ours_seconds,
                        "peak_rss_mb": rss_all, "peak_gpu_mb": all_gpu_mb, "presets": presets},
        "per_query_baseline": {"queries_timed": len(sample), "ms_per_query": baseline_per_query * 1e3,
                               "seconds_scaled": baseline_seconds},
        "sort_bound": {**bound, "seconds_scaled": bound_seconds} if on_cpu else None,
        "speedup_vs_per_query_baseline": baseline_seconds / ours_seconds,
        "ratio_to_sort_bound": ours_seconds / bound_seconds if on_cpu else None,
        "max_abs_ap_difference_vs_baseline": max_diff,
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "load_average_before": load_before, "load_average_after": os.getloadavg(),
                    "platform": platform.platform(), "device": "cpu (numpy BLAS GEMM + numpy sort)"
                    if not torch.cuda.is_available() else torch.cuda.get_device_name()},
    }


# ------------------------------------------------------------------ driver
def _summary(size: dict) -> str:
    ours, base, bound, every = size["ours"], size["per_query_baseline"], size["sort_bound"], size["all_presets"]
    bound_text = (f"GEMM+sort bound {bound['seconds_scaled']:.1f} s, ours/bound {size['ratio_to_sort_bound']:.2f} | "
                  if bound else "")
    return (f"{size['name']:>26} ({size['device']}): {size['n_queries']:,} x {size['n_gallery']:,}  "
            f"ours {ours['seconds']:.1f} s ({ours['ms_per_query']:.3f} ms/query), peak {ours['peak_rss_mb']:.0f} MB | "
            f"all {len(every['presets'])} presets {every['seconds']:.1f} s ({every['ratio_to_one_preset']:.2f}x one), "
            f"peak {every['peak_rss_mb']:.0f} MB | "
            f"per-query baseline {base['ms_per_query']:.1f} ms/query -> {base['seconds_scaled']:.0f} s scaled, "
            f"speed-up {size['speedup_vs_per_query_baseline']:.1f}x | {bound_text}"
            f"max |AP diff| {size['max_abs_ap_difference_vs_baseline']:.1e}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes that run in seconds")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    parser.add_argument("--sizes", "--only", dest="sizes", default=None,
                        help="comma-separated sizes to run: sketchy, quickdraw (or the full size names)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where evaluate_retrieval runs")
    parser.add_argument("--in-process", action="store_true",
                        help="run the sizes in this process (faster start; peak memory then covers all sizes)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES

    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            parser.error("--device cuda asked for, but torch sees no CUDA device; use --device cpu")
    if args.worker:  # one size in this (fresh) process: print its JSON
        print(json.dumps(run_size(args.worker, *sizes[args.worker], device=args.device)))
        return {}

    suffix = "_quick" if args.quick else ""
    names = ([SIZE_ALIASES.get(n, n) + (suffix if n in SIZE_ALIASES else "") for n in args.sizes.split(",")]
             if args.sizes else list(sizes))
    unknown = set(names) - set(sizes)
    if unknown:
        parser.error(f"unknown size(s) {sorted(unknown)}; choose from {list(sizes)}")
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": f"{repo}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    report = {"benchmark": "evaluate_retrieval speed and memory", "quick": args.quick, "device": args.device,
              "sizes": []}
    for name in names:
        if args.in_process:
            size = run_size(name, *sizes[name], device=args.device)
        else:  # a fresh process per size, so ru_maxrss is that size's own peak
            cmd = ([sys.executable, __file__, "--worker", name, "--device", args.device]
                   + (["--quick"] if args.quick else []))
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=repo)
            if done.returncode != 0:
                raise SystemExit(f"size {name} failed:\n{done.stderr}")
            size = json.loads(done.stdout.strip().splitlines()[-1])
        size["fresh_process"] = not args.in_process
        report["sizes"].append(size)
        print(_summary(size), flush=True)
    out = args.out or RESULTS / ("eval_speed_quick.json" if args.quick else "eval_speed.json")
    from sbka_lite.paths import write_json_atomic

    write_json_atomic(out, report)
    print(f"wrote {out}")
    return report


if __name__ == "__main__":
    main()
