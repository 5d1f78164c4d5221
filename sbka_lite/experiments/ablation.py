"""The synthetic-benchmark ablation: which part of SBKA helps, measured over seeds, paired by seed.

    python -m sbka_lite.ablation --out results/ablation_synthetic.json     (make ablation)
    python -m sbka_lite.ablation ... --executor slurm --partition gpu --gpus-per-job 1

Every arm trains the demo recipe (`configs/demo.yaml`: student and teacher start from the photo
world, `sbka_lite.pretrain`) and is evaluated on the unseen classes (every zero sketch ranks every
zero photo, VOC AP, query mean), split into the unseen classes the teacher knows (in its photo
world) and those it does not. The arms form a grid, teacher term x Gaussian term:

- ``finetune`` / ``finetune+gaussian``: no teacher (L_cls, with or without L_align);
- ``one_way`` / ``one_way+gaussian``: teacher -> student distillation, teacher frozen throughout;
- ``bidirectional`` / ``bidirectional+gaussian``: phase 2 also trains the teacher's head from the
  student; ``bidirectional+gaussian`` is SBKA as published;

plus ``frozen`` (the starting backbone, no training: the same for every seed), ``sbka_tgrad`` (the
official gradient flow, `teacher_grad_to_student=True`), ``sbka_phase2_lr_x10`` (phase 2 at ten
times the official schedule, about QuickDraw's 2.5e-5: a departure from the Sketchy recipe) and
``sbka_cluster`` (the SBKA model with one-to-many cluster matching, K and M chosen from the
unlabelled gallery by BIC, never from test labels). Not run by default: ``imagenet_finetune`` and
``imagenet_sbka`` start from plain ImageNet weights, a teacher that barely knows these photos.

Every arm selects its model by the same rule, on held-out seen-class sketches only. Each trained
cell also logs unseen mAP after every epoch (`diagnose_unseen`): learning curves, diagnostics that
never select a model. One cell is one (trained arm, seed); the ``bidirectional+gaussian`` cell also
gives the ``sbka_cluster`` row from the same model. Each cell writes its rows to
``<workdir>/cells/`` and the rows are merged into `out` as cells finish; finished (arm, seed)
pairs are skipped, so an interrupted ablation resumes on any executor.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sbka_lite.checkpoint import load_student
from sbka_lite.data.presets import synthetic_benchmark
from sbka_lite.data.synthetic.world import photo_world_classes
from sbka_lite.experiments.ablation_report import (  # noqa: F401  (re-exported)
    ARMS,
    COMPARISONS,
    KNOWN_ARMS,
    markdown_table,
    paired_differences,
    summarise,
    summary_record,
)
from sbka_lite.experiments.executors import (
    Cell,
    ExecutorConfig,
    Outcome,
    add_executor_arguments,
    executor_from_args,
    run_cells,
)
from sbka_lite.features import embed_unseen
from sbka_lite.metrics import evaluate_retrieval
from sbka_lite.paths import outputs_dir, repo_root, write_json_atomic
from sbka_lite.pretrain import starting_student
from sbka_lite.retrieval import ClusterMatcher, label_free_candidates
from sbka_lite.train import train
from sbka_lite.tutorial.series import selected_checkpoint, training_config

SBKA = {"alignment": "bidirectional", "gaussian": True}
TRAINED = {
    "finetune": {"alignment": "none", "gaussian": False},
    "finetune+gaussian": {"alignment": "none", "gaussian": True},
    "one_way": {"alignment": "teacher_to_student", "gaussian": False},
    "one_way+gaussian": {"alignment": "teacher_to_student", "gaussian": True},
    "bidirectional": {"alignment": "bidirectional", "gaussian": False},
    "bidirectional+gaussian": SBKA,
    "sbka_tgrad": {**SBKA, "teacher_grad_to_student": True},
    "sbka_phase2_lr_x10": {**SBKA, "phase2_lr_scale": 10.0},
    "imagenet_finetune": {"alignment": "none", "gaussian": False, "pretraining": "imagenet"},
    "imagenet_sbka": {**SBKA, "pretraining": "imagenet"},
}
CLUSTER_SOURCE = "bidirectional+gaussian"  # the cell whose model also gives the sbka_cluster row
METRICS = ("map_all", "map_200", "prec_100", "prec_200")
def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Seed by seed, arms in KNOWN_ARMS order: the same file whichever order cells finished in."""
    return sorted(rows, key=lambda row: (row["seed"], KNOWN_ARMS.index(row["arm"])))


def _load_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    return list(data["runs"] if isinstance(data, dict) else data)


def _saved_meta(path: Path) -> dict[str, Any] | None:
    data = json.loads(path.read_text())
    return data.get("meta") if isinstance(data, dict) else None


def _meta(smoke: bool) -> dict[str, Any]:
    base = training_config(smoke)
    return {"benchmark": "synthetic", "smoke": smoke, "ap": "voc", "split": "unseen (zero)", "mean": "query mean",
            "config": {k: v for k, v in base.to_dict().items() if k not in ("run_dir", "seed", "alignment", "gaussian")},
            "selection": f"{base.selection}: held-out seen-class sketch accuracy, the same rule for every arm "
                         "(unseen classes never used)",
            "known": "unseen classes in the teacher's photo world (sbka_lite.data.synthetic.world)",
            "curves": "unseen_map_diagnostic per epoch: a diagnostic, never used to select a model",
            "cluster": "label-free K and M (BIC on the unlabelled gallery)"}


def label_free_cluster_matcher(gallery, seed: int = 0) -> ClusterMatcher:
    """The cluster matcher with K and M chosen by BIC on the gallery (the package's one candidate rule)."""
    return ClusterMatcher("auto", "auto", candidate_subspaces=(2, 4),
                          candidate_components=label_free_candidates(len(gallery)), random_state=seed).fit(gallery)


def _metrics_row(arm: str, seed: int, result: dict[str, Any], query_labels, **extra: Any) -> dict[str, Any]:
    ap = np.asarray(result["per_query"]["ap_all"])
    known = np.isin(np.asarray(query_labels), photo_world_classes())
    split = {"map_known": float(ap[known].mean()) if known.any() else None,
             "map_unknown": float(ap[~known].mean()) if (~known).any() else None}
    return {"arm": arm, "seed": seed, **{m: float(result[m]) for m in METRICS}, **split, **extra}


def cell_path(workdir: str | Path, arm: str, seed: int) -> Path:
    return Path(workdir) / "cells" / f"{arm}-seed{seed}.json"


def _curve(result) -> list[dict[str, Any]]:
    keep = ("epoch", "phase", "val_acc", "loss_cls", "unseen_map_diagnostic")
    return [{k: row.get(k) for k in keep} for row in result.epochs]


def run_ablation_cell(arm: str, seed: int, wanted: tuple[str, ...], *, smoke: bool, workdir: str,
                      progress: bool = False, benchmark=None) -> list[dict[str, Any]]:
    """One cell: train (or resume) `arm` for `seed` and evaluate the `wanted` rows; written to
    ``cell_path`` and returned. This is what each job runs."""
    benchmark = benchmark if benchmark is not None else synthetic_benchmark(smoke, progress=progress)
    base = training_config(smoke)
    if arm == "frozen":
        model = starting_student(base, len(benchmark.seen_classes))
        q, ql, g, gl = embed_unseen(model, benchmark, image_size=base.image_size, progress=False)
        rows = [_metrics_row("frozen", seed, evaluate_retrieval(q, ql, g, gl, ap="voc"), ql)]
    else:
        config = base.replace(seed=seed, run_dir=str(Path(workdir) / "runs" / f"{arm}-seed{seed}"),
                              diagnose_unseen=True, **TRAINED[arm])
        started = time.perf_counter()
        result = train(config, benchmark, progress=progress)
        extra = {"best_epoch": result.best_epoch, "val_acc": result.best_val_acc,
                 "train_seconds": round(time.perf_counter() - started, 1), "curve": _curve(result)}
        student, _ = load_student(selected_checkpoint(result))
        q, ql, g, gl = embed_unseen(student, benchmark, image_size=config.image_size, progress=False)
        rows = []
        if arm in wanted:
            rows.append(_metrics_row(arm, seed, evaluate_retrieval(q, ql, g, gl, ap="voc"), ql, **extra))
        if "sbka_cluster" in wanted:
            matcher = label_free_cluster_matcher(g, seed)
            rows.append(_metrics_row("sbka_cluster", seed, evaluate_retrieval(q, ql, None, gl, scorer=matcher, ap="voc"),
                                     ql, n_subspaces=int(matcher.n_subspaces_), n_components=int(matcher.n_components_),
                                     **extra))
    write_json_atomic(cell_path(workdir, arm, seed), {"meta": _meta(smoke), "rows": rows})
    return rows


def plan_cells(seeds, arms, done: set[tuple[str, int]]) -> list[tuple[str, int, tuple[str, ...]]]:
    """(cell arm, seed, rows still wanted from it) for every cell with a missing row."""
    plan = []
    for seed in seeds:
        for arm in ("frozen", *TRAINED):
            gives = (arm, "sbka_cluster") if arm == CLUSTER_SOURCE else (arm,)
            wanted = tuple(a for a in gives if a in arms and (a, seed) not in done)
            if wanted:
                plan.append((arm, seed, wanted))
    return plan


def _harvest(workdir: Path, meta: dict[str, Any], seeds, arms, done: set) -> list[dict[str, Any]]:
    """Rows that finished cells left on disk but `out` lacks (the submitter was killed after them)."""
    found = []
    for path in sorted((workdir / "cells").glob("*.json")):
        try:
            saved = json.loads(path.read_text())
        except ValueError:
            continue
        if saved.get("meta") != meta:
            continue
        found += [r for r in saved["rows"] if r["arm"] in arms and r["seed"] in seeds and (r["arm"], r["seed"]) not in done]
    return found


def run_ablation(out: str | Path, *, seeds=(0, 1, 2), smoke: bool = False, workdir: str | Path = "",
                 arms=ARMS, progress: bool = True, executor: ExecutorConfig | None = None) -> list[dict[str, Any]]:
    """Run (or resume) the ablation and return its rows (also written to `out`).

    Cells run on `executor` (default: here, one after another); a failed cell is reported (with its
    job log) and the others' rows are kept; run again to retry it (see `missing`).
    """
    unknown = sorted(set(arms) - set(KNOWN_ARMS))
    if unknown:
        raise ValueError(f"unknown arm(s) {unknown}; choose from {KNOWN_ARMS}")
    out = Path(out)
    workdir = Path(workdir) if workdir else outputs_dir("ablation-smoke" if smoke else "ablation")
    executor = executor or ExecutorConfig()
    if executor.kind != "local" and not executor.folder:
        executor = dataclasses.replace(executor, folder=str(workdir / "jobs"))
    meta, rows = _meta(smoke), _load_rows(out)
    if rows and _saved_meta(out) != meta:  # another recipe's rows must never count as done
        stale = out.with_name(out.name + ".stale")
        out.replace(stale)
        print(f"[ablation] {out} was made with another recipe or arm set; moved to {stale}, starting over",
              file=sys.stderr, flush=True)
        rows = []
    done = {(r["arm"], r["seed"]) for r in rows}

    def add(new_rows: list[dict[str, Any]]) -> None:
        for row in new_rows:
            if (row["arm"], row["seed"]) in done:
                continue
            rows.append(row)
            done.add((row["arm"], row["seed"]))
            print(f"[ablation] {row['arm']:>22} seed {row['seed']}: mAP@all {row['map_all']:.4f}  "
                  f"P@100 {row['prec_100']:.4f}", flush=True)
        write_json_atomic(out, {"meta": meta, "runs": _sorted(rows)})

    harvested = _harvest(workdir, meta, seeds, arms, done)
    if harvested:
        add(harvested)
    local = executor.kind == "local"
    # generated here, once, so that jobs starting together never race to write it
    benchmark = synthetic_benchmark(smoke, progress=progress)
    cells = [Cell(f"{arm}-seed{seed}", run_ablation_cell, (arm, seed, wanted),
                  {"smoke": smoke, "workdir": str(workdir), "progress": progress and local,
                   "benchmark": benchmark if local else None},
                  marker=workdir / "jobs" / f"{arm}-seed{seed}.json")
             for arm, seed, wanted in plan_cells(seeds, arms, done)]

    def finished(outcome: Outcome) -> None:
        if outcome.ok:
            add(outcome.value)
        else:
            where = f" (log: {outcome.log})" if outcome.log else ""
            print(f"[ablation] cell {outcome.name} failed: {outcome.error}{where}", file=sys.stderr, flush=True)

    run_cells(cells, executor, desc="ablation", progress=progress, on_done=finished)
    return _sorted(rows)


def missing(rows: list[dict[str, Any]], seeds, arms) -> list[tuple[str, int]]:
    """The requested (arm, seed) pairs without a row (their cells failed)."""
    have = {(r["arm"], r["seed"]) for r in rows}
    return [(arm, seed) for seed in seeds for arm in arms if (arm, seed) not in have]


def load_results(path: str | Path) -> pd.DataFrame:
    """The ablation's rows (one per arm and seed) from its JSON; a relative path is read from the
    repository root, as the notebooks resolve theirs."""
    path = Path(path)
    if not path.is_absolute():
        path = repo_root() / path
    if not path.is_file():
        raise FileNotFoundError(f"no ablation results at {path}; run `make ablation` "
                                "(python -m sbka_lite.ablation) to produce them")
    rows = _load_rows(path)
    if not rows or not {"arm", "seed", "map_all", "prec_100"} <= set(rows[0]):
        raise ValueError(f"{path} holds no ablation rows (expected runs with arm, seed, map_all, prec_100)")
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sbka_lite.ablation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="results/ablation_synthetic.json")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=KNOWN_ARMS)
    parser.add_argument("--smoke", action="store_true", help="tiny benchmark and a few steps (a check, not a result)")
    parser.add_argument("--workdir", default="", help="where runs and checkpoints go (default outputs/ablation)")
    parser.add_argument("--no-progress", action="store_true")
    add_executor_arguments(parser)
    args = parser.parse_args(argv)
    workdir = args.workdir or str(outputs_dir("ablation-smoke" if args.smoke else "ablation"))
    try:
        executor = executor_from_args(args, Path(workdir) / "jobs")
    except ValueError as error:
        parser.error(str(error))
    rows = run_ablation(args.out, seeds=args.seeds, smoke=args.smoke, workdir=workdir, arms=args.arms,
                        progress=not args.no_progress, executor=executor)
    if rows:
        print(markdown_table(rows))
    lacking = missing(rows, args.seeds, args.arms)
    if lacking:
        print(f"{len(lacking)} row(s) missing: {', '.join(f'{a} seed {s}' for a, s in lacking)}; "
              "their cells failed (see above); run the same command again to retry them", file=sys.stderr)
    return 1 if lacking else 0


if __name__ == "__main__":
    sys.exit(main())
