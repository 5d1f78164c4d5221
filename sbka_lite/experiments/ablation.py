"""The synthetic-benchmark ablation: which part of SBKA helps, measured over seeds.

    python -m sbka_lite.ablation --out results/ablation_synthetic.json     (make ablation)
    python -m sbka_lite.ablation ... --executor slurm --partition gpu --gpus-per-job 1

Arms, each evaluated on the unseen classes (every zero sketch ranks every zero photo, VOC AP):

- ``frozen``: the pretrained backbone, no training (deterministic: the same for every seed);
- ``finetune``: plain fine-tuning, L_cls only;
- ``one_way``: teacher -> student distillation (+ Gaussian term), teacher frozen throughout;
- ``bidirectional``: SBKA, phase 2 also trains the teacher's head from the student;
- ``bidirectional_cluster``: the SBKA model with one-to-many cluster matching, K and M chosen
  from the unlabelled gallery (BIC), never from test labels.

Models are selected on held-out seen-class sketches only. One cell is one (trained arm, seed):
the ``bidirectional`` cell also gives the ``bidirectional_cluster`` row from the same model. Each
cell writes its rows to ``<workdir>/cells/`` and the rows are merged into `out` as cells finish;
finished (arm, seed) pairs are skipped, so an interrupted ablation resumes on any executor.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from sbka_lite.checkpoint import load_student
from sbka_lite.data.presets import synthetic_benchmark
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
from sbka_lite.models import Student
from sbka_lite.paths import outputs_dir, repo_root, write_json_atomic
from sbka_lite.retrieval import ClusterMatcher, label_free_candidates
from sbka_lite.train import train
from sbka_lite.tutorial.series import selected_checkpoint, training_config

ARMS = ("frozen", "finetune", "one_way", "bidirectional", "bidirectional_cluster")
TRAINED = {
    "finetune": {"alignment": "none", "gaussian": False},
    "one_way": {"alignment": "teacher_to_student", "gaussian": True},
    "bidirectional": {"alignment": "bidirectional", "gaussian": True},
    # Diagnostic, not in the default arms: the official script's choice, where the teacher's loss
    # also sends gradient into the student (see TrainConfig.teacher_grad_to_student).
    "bidirectional_tgrad": {"alignment": "bidirectional", "gaussian": True, "teacher_grad_to_student": True},
}
KNOWN_ARMS = (*ARMS, "bidirectional_tgrad")
METRICS = ("map_all", "map_200", "prec_100", "prec_200")


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Seed by seed, arms in KNOWN_ARMS order: the same file whichever order cells finished in."""
    return sorted(rows, key=lambda row: (row["seed"], KNOWN_ARMS.index(row["arm"])))


def _load_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    return list(data["runs"] if isinstance(data, dict) else data)


def _meta(smoke: bool) -> dict[str, Any]:
    base = training_config(smoke)
    return {"benchmark": "synthetic", "smoke": smoke, "ap": "voc", "split": "unseen (zero)",
            "config": {k: v for k, v in base.to_dict().items() if k not in ("run_dir", "seed", "alignment", "gaussian")},
            "selection": "best held-out seen-class sketch accuracy (unseen classes never used)",
            "cluster": "label-free K and M (BIC on the unlabelled gallery)"}


def label_free_cluster_matcher(gallery, seed: int = 0) -> ClusterMatcher:
    """The cluster matcher with K and M chosen by BIC on the gallery (candidates scaled to its size)."""
    return ClusterMatcher("auto", "auto", candidate_subspaces=(2, 4),
                          candidate_components=label_free_candidates(len(gallery), (3, 5, 8, 11, 15, 20, 30, 40)),
                          random_state=seed).fit(gallery)


def _metrics_row(arm: str, seed: int, result: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"arm": arm, "seed": seed, **{m: float(result[m]) for m in METRICS}, **extra}


def cell_path(workdir: str | Path, arm: str, seed: int) -> Path:
    return Path(workdir) / "cells" / f"{arm}-seed{seed}.json"


def run_ablation_cell(arm: str, seed: int, wanted: tuple[str, ...], *, smoke: bool, workdir: str,
                      progress: bool = False, benchmark=None) -> list[dict[str, Any]]:
    """One cell: train (or resume) `arm` for `seed` and evaluate the `wanted` rows; written to
    ``cell_path`` and returned. This is what each job runs."""
    benchmark = benchmark if benchmark is not None else synthetic_benchmark(smoke, progress=progress)
    base = training_config(smoke)
    if arm == "frozen":
        model = Student(base.backbone, len(benchmark.seen_classes), pretrained=base.pretrained)
        q, ql, g, gl = embed_unseen(model, benchmark, image_size=base.image_size, progress=False)
        rows = [_metrics_row("frozen", seed, evaluate_retrieval(q, ql, g, gl, ap="voc"))]
    else:
        config = base.replace(seed=seed, run_dir=str(Path(workdir) / "runs" / f"{arm}-seed{seed}"), **TRAINED[arm])
        started = time.perf_counter()
        result = train(config, benchmark, progress=progress)
        extra = {"best_epoch": result.best_epoch, "val_acc": result.best_val_acc,
                 "train_seconds": round(time.perf_counter() - started, 1)}
        student, _ = load_student(selected_checkpoint(result))
        q, ql, g, gl = embed_unseen(student, benchmark, image_size=config.image_size, progress=False)
        rows = []
        if arm in wanted:
            rows.append(_metrics_row(arm, seed, evaluate_retrieval(q, ql, g, gl, ap="voc"), **extra))
        if "bidirectional_cluster" in wanted:
            matcher = label_free_cluster_matcher(g, seed)
            rows.append(_metrics_row("bidirectional_cluster", seed,
                                     evaluate_retrieval(q, ql, None, gl, scorer=matcher, ap="voc"),
                                     n_subspaces=int(matcher.n_subspaces_), n_components=int(matcher.n_components_),
                                     **extra))
    write_json_atomic(cell_path(workdir, arm, seed), {"meta": _meta(smoke), "rows": rows})
    return rows


def plan_cells(seeds, arms, done: set[tuple[str, int]]) -> list[tuple[str, int, tuple[str, ...]]]:
    """(cell arm, seed, rows still wanted from it) for every cell with a missing row."""
    plan = []
    for seed in seeds:
        for arm in ("frozen", *TRAINED):
            gives = (arm, "bidirectional_cluster") if arm == "bidirectional" else (arm,)
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


def summarise(rows: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and count per arm (in ARMS order), of rows or of `load_results`' table."""
    frame = pd.DataFrame(rows)
    table = frame.groupby("arm")[["map_all", "prec_100"]].agg(["mean", "std", "count"])
    return table.reindex([a for a in KNOWN_ARMS if a in table.index])


def summary_record(rows: list[dict[str, Any]] | pd.DataFrame) -> dict[str, dict[str, float]]:
    """`summarise` as plain numbers per arm, for a notebook's recorder: ``{arm: {map_all_mean, ...}}``."""
    table = summarise(rows)
    return {arm: {"map_all_mean": float(row[("map_all", "mean")]), "map_all_std": float(row[("map_all", "std")]),
                  "prec_100_mean": float(row[("prec_100", "mean")]), "prec_100_std": float(row[("prec_100", "std")]),
                  "seeds": int(row[("map_all", "count")])} for arm, row in table.iterrows()}


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


def markdown_table(rows: list[dict[str, Any]]) -> str:
    table = summarise(rows)
    lines = ["| arm | mAP@all (mean ± sd) | P@100 (mean ± sd) | seeds |", "|---|---|---|---|"]
    for arm, row in table.iterrows():
        lines.append(f"| {arm} | {row[('map_all', 'mean')]:.4f} ± {row[('map_all', 'std')]:.4f} | "
                     f"{row[('prec_100', 'mean')]:.4f} ± {row[('prec_100', 'std')]:.4f} | {int(row[('map_all', 'count')])} |")
    return "\n".join(lines)


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
