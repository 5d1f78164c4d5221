"""The synthetic-benchmark ablation at convergence: which part of SBKA helps, over seeds, paired by seed.

    python -m sbka_lite.ablation --out results/ablation_synthetic.json     (make ablation)
    python -m sbka_lite.ablation ... --executor submitit-local --array-parallelism 2
    python -m sbka_lite.ablation ... --executor slurm --partition gpu --gpus-per-job 1

Every arm trains the demo recipe (`configs/demo.yaml`: 20 epochs, phase 1 for the first 10, the
official decay, enough steps that the arms stop learning the seen classes; student and teacher
start from the photo world, `sbka_lite.pretrain`). The arms form a grid, teacher term x Gaussian term:

- ``finetune`` / ``finetune+gaussian``: no teacher (L_cls, with or without L_align);
- ``one_way`` / ``one_way+gaussian``: teacher -> student distillation, teacher frozen throughout;
- ``bidirectional`` / ``bidirectional+gaussian``: phase 2 also trains the teacher's head from the
  student; ``bidirectional+gaussian`` is SBKA as published;

plus ``frozen`` (the starting backbone, no training), ``sbka_tgrad`` (the official gradient flow,
`teacher_grad_to_student=True`) and ``sbka_teacher_lr_x10`` (the teacher's head at ten times the
official phase-2 rate, the student's schedule unchanged: a labelled departure that asks whether the
teacher's update can matter at all). ``finetune@2x`` and ``one_way@2x`` rerun two arms with twice the
steps per epoch (seed 0 by default): the convergence check. Not run by default: ``imagenet_finetune``
and ``imagenet_sbka`` start from plain ImageNet weights, a teacher that barely knows these photos.

**Phase 2 isolated.** The arms with a teacher share their phase 1: a cell trains the warm-up once
(one-way, stopped where phase 2 starts) and every arm of the cell starts its phase 2 from that
checkpoint (`TrainConfig.branch_from`), so one-way and bidirectional differ only in what phase 2 does.

**Every arm evaluated both ways**: one-to-one, and with label-free cluster matching (K and M by BIC on
the unlabelled gallery, the same rule for every arm; ``cluster_*`` columns). Every arm selects its
model by the recipe's rule on held-out seen-class sketches; each logs unseen mAP after every epoch
(`diagnose_unseen`): learning curves, diagnostics that never select a model.

One cell trains one or more arms for one seed (a distillation cell: the warm-up, then its branches).
Each finished arm writes its row to ``<workdir>/cells/`` at once and the rows are merged into `out`
as they come; finished (arm, seed) rows are skipped, so an interrupted ablation resumes on any executor.
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
from sbka_lite.config import PHASE2_KEYS, TrainConfig, training_config, upgrade_saved_config
from sbka_lite.data.presets import synthetic_benchmark
from sbka_lite.data.synthetic.world import photo_world_classes
from sbka_lite.experiments.ablation_report import ARMS, CONVERGENCE_SEEDS, KNOWN_ARMS, markdown_table
from sbka_lite.experiments.executors import (
    Cell,
    ExecutorConfig,
    Outcome,
    add_executor_arguments,
    executor_from_args,
    run_cells,
)
from sbka_lite.unseen import embed_unseen
from sbka_lite.metrics import evaluate_retrieval, evaluate_scorer
from sbka_lite.paths import outputs_dir, repo_root, write_json_atomic
from sbka_lite.retrieval import ClusterMatcher
from sbka_lite.schedule import OFFICIAL_SKETCHY, budget
from sbka_lite.build import start_fingerprint, starting_student
from sbka_lite.train import train

SBKA = {"alignment": "bidirectional", "gaussian": True}
CONVERGENCE_FACTOR = 2  # the "@2x" arms: this many times the recipe's steps per epoch, the same schedule shape
# arm: (the cell that trains it, its settings over the recipe). A cell trains its arms in this order;
# arms with a teacher branch their phase 2 from the cell's shared warm-up.
TRAINED: dict[str, tuple[str, dict[str, Any]]] = {
    "finetune": ("finetune", {"alignment": "none", "gaussian": False}),
    "finetune+gaussian": ("finetune+gaussian", {"alignment": "none", "gaussian": True}),
    "one_way": ("distill", {"alignment": "teacher_to_student", "gaussian": False}),
    "bidirectional": ("distill", {"alignment": "bidirectional", "gaussian": False}),
    "one_way+gaussian": ("distill+gaussian", {"alignment": "teacher_to_student", "gaussian": True}),
    "bidirectional+gaussian": ("distill+gaussian", SBKA),
    "sbka_tgrad": ("distill+gaussian", {**SBKA, "teacher_grad_to_student": True}),
    "sbka_teacher_lr_x10": ("distill+gaussian", {**SBKA, "teacher_lr_factor": 10.0}),
    "finetune@2x": ("finetune@2x", {"alignment": "none", "gaussian": False}),
    "one_way@2x": ("distill@2x", {"alignment": "teacher_to_student", "gaussian": False}),
    "imagenet_finetune": ("imagenet_finetune", {"alignment": "none", "gaussian": False, "pretraining": "imagenet"}),
    "imagenet_sbka": ("imagenet_sbka", {**SBKA, "pretraining": "imagenet"}),
}
METRICS = ("map_all", "map_200", "prec_100", "prec_200")
# The settings the grid runs in: the recipe as it is, and variants of it chosen on the fine-tuning arm alone
# (never on how SBKA does there). "few_seen": train on 8 of the 43 seen classes (a fixed draw), where plain
# fine-tuning has much to specialise on and little to transfer: the classic setting for forgetting.
SETTINGS: dict[str, dict[str, Any]] = {"converged": {}, "few_seen": {"train_classes": 8}}


def recipe(smoke: bool, setting: str = "converged") -> TrainConfig:
    """The demo recipe (smoke-sized when `smoke`) with the `setting`'s changes."""
    if setting not in SETTINGS:
        raise ValueError(f"unknown setting {setting!r}; choose from {sorted(SETTINGS)}")
    return training_config(smoke, **SETTINGS[setting])


def default_out(setting: str = "converged") -> str:
    return "results/ablation_synthetic.json" if setting == "converged" else f"results/ablation_synthetic_{setting}.json"


def default_workdir(smoke: bool, setting: str = "converged") -> Path:
    """Where runs and checkpoints go: one folder per size and setting."""
    return outputs_dir(("ablation-smoke" if smoke else "ablation") + ("" if setting == "converged" else f"-{setting}"))


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Seed by seed, arms in KNOWN_ARMS order: the same file whichever order cells finished in."""
    return sorted(rows, key=lambda row: (row["seed"], KNOWN_ARMS.index(row["arm"])))


def _load_rows(path: Path) -> list[dict[str, Any]]:
    """The rows an earlier run left in `path`; a file that is not an ablation's is refused, never overwritten."""
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data["runs"] if isinstance(data, dict) else data
        if not (isinstance(rows, list) and all(isinstance(r, dict) and {"arm", "seed"} <= set(r) for r in rows)):
            raise ValueError("no list of ablation rows")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not an ablation results file ({type(error).__name__}: {str(error)[:120]}); "
                         "refusing to overwrite it: choose another --out, or move the file away") from None
    return list(rows)


def _saved_meta(path: Path) -> dict[str, Any] | None:
    data = json.loads(path.read_text())
    return data.get("meta") if isinstance(data, dict) else None


def _meta(smoke: bool, setting: str = "converged") -> dict[str, Any]:
    base = recipe(smoke, setting)
    recipe_budget = budget(base)
    return {"benchmark": "synthetic", "smoke": smoke, "ap": "voc", "split": "unseen (zero)", "mean": "query mean",
            "config": {k: v for k, v in base.to_dict().items() if k not in ("run_dir", "seed", "alignment", "gaussian")},
            "selection": f"{base.selection}: held-out seen-class sketch accuracy, ties to the lower validation loss, "
                         "the same rule for every arm (unseen classes never used)",
            "known": "unseen classes in the teacher's photo world (sbka_lite.data.synthetic.world)",
            "curves": "unseen_map_diagnostic per epoch: a diagnostic, never used to select a model",
            "cluster": "cluster_* columns: the same model with label-free cluster matching (K and M by BIC on the "
                       "unlabelled gallery)",
            "phase2": "arms with a teacher start phase 2 from one shared warm-up checkpoint per (cell, seed)",
            "convergence": f"@2x arms: {CONVERGENCE_FACTOR}x the steps per epoch, the same schedule shape",
            "budget": {"recipe": recipe_budget, "official_sketchy": budget(OFFICIAL_SKETCHY)},
            **({"setting": setting} if setting != "converged" else {})}


def same_recipe(saved: dict[str, Any] | None, meta: dict[str, Any]) -> bool:
    """Whether rows saved under `saved` meta were made by the recipe `meta` describes. A config key the
    saved meta does not know is newer than those rows; at its default it changes nothing, so it does
    not make them stale (as `sbka_lite.train` resumes a run)."""
    if not saved:
        return False
    saved = {**saved, "config": upgrade_saved_config(saved.get("config", {}))}
    defaults = TrainConfig().to_dict()
    newer = {k for k, v in meta.get("config", {}).items() if k not in saved.get("config", {}) and v == defaults.get(k)}
    trimmed = {**meta, "config": {k: v for k, v in meta.get("config", {}).items() if k not in newer}}
    return saved == trimmed


def label_free_cluster_matcher(gallery, seed: int = 0) -> ClusterMatcher:
    """The cluster matcher with K and M chosen by BIC on the gallery (the package's one candidate rule)."""
    return ClusterMatcher("auto", "auto", random_state=seed).fit(gallery)


def _metrics_row(arm: str, seed: int, result: dict[str, Any], query_labels, prefix: str = "") -> dict[str, Any]:
    ap = np.asarray(result["per_query"]["ap_all"])
    known = np.isin(np.asarray(query_labels), photo_world_classes())
    return {**{f"{prefix}{m}": float(result[m]) for m in METRICS},
            f"{prefix}map_known": float(ap[known].mean()) if known.any() else None,
            f"{prefix}map_unknown": float(ap[~known].mean()) if (~known).any() else None}


def _evaluate(model, benchmark, image_size: int, arm: str, seed: int) -> dict[str, Any]:
    """One-to-one and label-free cluster matching of one model: the row's metric columns."""
    q, ql, g, gl = embed_unseen(model, benchmark, image_size=image_size, progress=False)
    row = {"arm": arm, "seed": seed, **_metrics_row(arm, seed, evaluate_retrieval(q, ql, g, gl), ql)}
    matcher = label_free_cluster_matcher(g, seed)
    row.update(_metrics_row(arm, seed, evaluate_scorer(matcher, q, ql, gl), ql, "cluster_"),
               n_subspaces=int(matcher.n_subspaces_), n_components=int(matcher.n_components_))
    return row


def cell_path(workdir: str | Path, arm: str, seed: int) -> Path:
    return Path(workdir) / "cells" / f"{arm}-seed{seed}.json"


def _curve(result) -> list[dict[str, Any]]:
    keep = ("epoch", "phase", "val_acc", "val_loss", "loss_cls", "unseen_map_diagnostic")
    return [{k: row.get(k) for k in keep} for row in result.epochs]


def arm_config(arm: str, seed: int, *, smoke: bool, workdir: str | Path, setting: str = "converged") -> TrainConfig:
    """The recipe (in `setting`) with `arm`'s settings, in its own run folder."""
    base = recipe(smoke, setting)
    settings = dict(TRAINED[arm][1])
    if arm.endswith("@2x"):
        settings["steps_per_epoch"] = base.steps_per_epoch * CONVERGENCE_FACTOR
    return base.replace(seed=seed, run_dir=str(Path(workdir) / "runs" / f"{arm}-seed{seed}"), diagnose_unseen=True,
                        **settings)


def warmup_config(config: TrainConfig, cell: str, workdir: str | Path) -> TrainConfig:
    """The phase 1 that every arm of `cell` shares: one-way (phase-2 keys at their one-way values), stopped
    where phase 2 starts. Its last.pt is what the arms' `branch_from` names."""
    defaults = TrainConfig()
    one_way = {key: getattr(defaults, key) for key in PHASE2_KEYS} | {"alignment": "teacher_to_student"}
    return config.replace(**one_way, run_dir=str(Path(workdir) / "runs" / f"{cell}-warmup-seed{config.seed}"),
                          stop_after_steps=config.warmup_epochs * config.steps_per_epoch)


def run_ablation_cell(cell: str, seed: int, wanted: tuple[str, ...], *, smoke: bool, workdir: str,
                      progress: bool = False, benchmark=None, setting: str = "converged") -> list[dict[str, Any]]:
    """One cell: train (or resume) the `wanted` arms of `cell` for `seed` (a distillation cell first
    trains its shared warm-up) and evaluate each; each row is written to ``cell_path`` as it is done."""
    benchmark = benchmark if benchmark is not None else synthetic_benchmark(smoke, progress=progress)
    meta, rows = _meta(smoke, setting), []
    if cell == "frozen":
        base = recipe(smoke, setting)
        model = starting_student(base, len(benchmark.seen_classes))
        rows.append({**_evaluate(model, benchmark, base.image_size, "frozen", seed), "start": start_fingerprint(base)})
        write_json_atomic(cell_path(workdir, "frozen", seed), {"meta": meta, "rows": rows})
        return rows
    for arm in wanted:
        config = arm_config(arm, seed, smoke=smoke, workdir=workdir, setting=setting)
        started = time.perf_counter()
        if config.alignment != "none":
            warmup = warmup_config(config, cell, workdir)
            train(warmup, benchmark, progress=progress)
            config = config.replace(branch_from=str(warmup.resolved_run_dir() / "last.pt"))
        result = train(config, benchmark, progress=progress)
        student, _ = load_student(result.selected_checkpoint)
        row = {**_evaluate(student, benchmark, config.image_size, arm, seed), "start": start_fingerprint(config),
               "best_epoch": result.best_epoch,
               "val_acc": result.best_val_acc, "selection": result.selection,
               "steps_per_epoch": config.steps_per_epoch, "train_seconds": round(time.perf_counter() - started, 1),
               "curve": _curve(result)}
        write_json_atomic(cell_path(workdir, arm, seed), {"meta": meta, "rows": [row]})
        rows.append(row)
    return rows


def plan_cells(seeds, arms, done: set[tuple[str, int]]) -> list[tuple[str, int, tuple[str, ...]]]:
    """(cell, seed, arms still wanted from it) for every cell with a missing row, in the order they run:
    first the first seed's cells that the convergence check compares with, then the check ("@2x" arms,
    only for `CONVERGENCE_SEEDS`), then the rest of the first seed, then the other seeds. A grid whose
    arms have not stopped learning says nothing, so the check comes as early as it can."""
    plan = []
    for seed in seeds:
        for cell in dict.fromkeys(["frozen", *(c for c, _ in TRAINED.values())]):
            gives = ("frozen",) if cell == "frozen" else tuple(a for a, (c, _) in TRAINED.items() if c == cell)
            wanted = tuple(a for a in gives if a in arms and (a, seed) not in done
                           and (not a.endswith("@2x") or seed in CONVERGENCE_SEEDS))
            if wanted:
                plan.append((cell, seed, wanted))
    checked = {arm.removesuffix("@2x") for arm in TRAINED if arm.endswith("@2x")}

    def rank(item: tuple[str, int, tuple[str, ...]]) -> int:
        cell, seed, wanted = item
        if seed != seeds[0]:
            return 3
        if any(a.endswith("@2x") for a in wanted):
            return 1
        return 0 if cell == "frozen" or set(wanted) & checked else 2

    return sorted(plan, key=rank)  # stable: within a rank, seeds and cells keep their order


def _harvest(workdir: Path, meta: dict[str, Any], seeds, arms, done: set) -> list[dict[str, Any]]:
    """Rows that finished cells left on disk but `out` lacks (the submitter was killed after them)."""
    found = []
    for path in sorted((workdir / "cells").glob("*.json")):
        try:
            saved = json.loads(path.read_text())
        except ValueError:
            continue
        if not same_recipe(saved.get("meta"), meta):
            continue
        found += [r for r in saved["rows"] if r["arm"] in arms and r["seed"] in seeds and (r["arm"], r["seed"]) not in done]
    return found


def run_ablation(out: str | Path, *, seeds=(0, 1, 2), smoke: bool = False, workdir: str | Path = "",
                 setting: str = "converged",
                 arms=ARMS, progress: bool = True, executor: ExecutorConfig | None = None) -> list[dict[str, Any]]:
    """Run (or resume) the ablation and return its rows (also written to `out`).

    Cells run on `executor` (default: here, one after another); a failed cell is reported (with its
    job log) and the others' rows are kept; run again to retry it (see `missing`).
    """
    unknown = sorted(set(arms) - set(KNOWN_ARMS))
    if unknown:
        raise ValueError(f"unknown arm(s) {unknown}; choose from {KNOWN_ARMS}")
    out = Path(out)
    workdir = Path(workdir) if workdir else default_workdir(smoke, setting)
    executor = executor or ExecutorConfig()
    if executor.kind != "local" and not executor.folder:
        executor = dataclasses.replace(executor, folder=str(workdir / "jobs"))
    meta, rows = _meta(smoke, setting), _load_rows(out)
    if rows and not same_recipe(_saved_meta(out), meta):  # another recipe's rows must never count as done
        stale = out.with_name(out.name + ".stale")
        for number in range(1, 1000):  # never over an older .stale: each was a whole ablation's results
            if not stale.exists():
                break
            stale = out.with_name(f"{out.name}.stale.{number}")
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
                  f"with cluster matching {row.get('cluster_map_all', float('nan')):.4f}  P@100 {row['prec_100']:.4f}", flush=True)
        write_json_atomic(out, {"meta": meta, "runs": _sorted(rows)})

    harvested = _harvest(workdir, meta, seeds, arms, done)
    if harvested:
        add(harvested)
    local = executor.kind == "local"
    # generated here, once, so that jobs starting together never race to write it
    benchmark = synthetic_benchmark(smoke, progress=progress)
    cells = [Cell(f"{cell}-seed{seed}", run_ablation_cell, (cell, seed, wanted),
                  {"smoke": smoke, "workdir": str(workdir), "progress": progress and local, "setting": setting,
                   "benchmark": benchmark if local else None},
                  marker=workdir / "jobs" / f"{cell}-seed{seed}.json")
             for cell, seed, wanted in plan_cells(list(seeds), arms, done)]

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
    return [(arm, seed) for seed in seeds for arm in arms if (arm, seed) not in have
            and (not arm.endswith("@2x") or seed in CONVERGENCE_SEEDS)]


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


def ablation_meta(path: str | Path) -> dict[str, Any]:
    """What the ablation's JSON says of how it was run (recipe, budget, selection, conventions)."""
    path = Path(path)
    path = path if path.is_absolute() else repo_root() / path
    return _saved_meta(path) or {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sbka_lite.ablation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="", help="default: results/ablation_synthetic.json (the converged setting) "
                        "or results/ablation_synthetic_<setting>.json")
    parser.add_argument("--setting", default="converged", choices=sorted(SETTINGS),
                        help="converged: the demo recipe; few_seen: train on 8 of the seen classes (where fine-tuning forgets)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=KNOWN_ARMS)
    parser.add_argument("--smoke", action="store_true", help="tiny benchmark and a few steps (a check, not a result)")
    parser.add_argument("--workdir", default="", help="where runs and checkpoints go (default outputs/ablation)")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--report", action="store_true",
                        help="print the tables of what --out holds (arms, verdicts, convergence); train nothing")
    add_executor_arguments(parser)
    args = parser.parse_args(argv)
    args.out = args.out or default_out(args.setting)
    if args.report:
        print(markdown_table(load_results(args.out).to_dict("records")))
        return 0
    workdir = args.workdir or str(default_workdir(args.smoke, args.setting))
    try:
        executor = executor_from_args(args, Path(workdir) / "jobs")
    except ValueError as error:
        parser.error(str(error))
    rows = run_ablation(args.out, seeds=args.seeds, smoke=args.smoke, workdir=workdir, arms=args.arms, setting=args.setting,
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
