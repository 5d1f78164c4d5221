"""The synthetic-benchmark ablation: which part of SBKA helps, measured over seeds.

    python -m sbka_lite.ablation --out results/ablation_synthetic.json     (make ablation)

Arms, each evaluated on the unseen classes (every zero sketch ranks every zero photo, VOC AP):

- ``frozen``: the pretrained backbone, no training (deterministic: the same for every seed);
- ``finetune``: plain fine-tuning, L_cls only;
- ``one_way``: teacher -> student distillation (+ Gaussian term), teacher frozen throughout;
- ``bidirectional``: SBKA, phase 2 also trains the teacher's head from the student;
- ``bidirectional_cluster``: the SBKA model with one-to-many cluster matching, K and M chosen
  from the unlabelled gallery (BIC), never from test labels.

Models are selected on held-out seen-class sketches only. Rows are written to the JSON as they
finish, and finished (arm, seed) pairs are skipped, so an interrupted ablation resumes.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

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


def _load_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    return list(data["runs"] if isinstance(data, dict) else data)


def _save(path: Path, rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    from sbka_lite.paths import write_json_atomic

    write_json_atomic(path, {"meta": meta, "runs": rows})


def label_free_cluster_matcher(gallery, seed: int = 0):
    """The cluster matcher with K and M chosen by BIC on the gallery (candidates scaled to its size)."""
    from sbka_lite.retrieval import ClusterMatcher, label_free_candidates

    return ClusterMatcher("auto", "auto", candidate_subspaces=(2, 4),
                          candidate_components=label_free_candidates(len(gallery), (3, 5, 8, 11, 15, 20, 30, 40)),
                          random_state=seed).fit(gallery)


def run_ablation(out: str | Path, *, seeds=(0, 1, 2), smoke: bool = False, workdir: str | Path = "",
                 arms=ARMS, progress: bool = True) -> list[dict[str, Any]]:
    """Run (or resume) the ablation and return its rows (also written to `out`)."""
    from sbka_lite.checkpoint import load_student
    from sbka_lite.data.presets import synthetic_benchmark
    from sbka_lite.features import embed_unseen
    from sbka_lite.metrics import evaluate_retrieval
    from sbka_lite.models import Student
    from sbka_lite.paths import outputs_dir
    from sbka_lite.tutorial.series import selected_checkpoint, training_config
    from sbka_lite.train import train

    unknown = sorted(set(arms) - set(KNOWN_ARMS))
    if unknown:
        raise ValueError(f"unknown arm(s) {unknown}; choose from {KNOWN_ARMS}")
    out = Path(out)
    workdir = Path(workdir) if workdir else outputs_dir("ablation-smoke" if smoke else "ablation")
    benchmark = synthetic_benchmark(smoke, progress=progress)
    rows = _load_rows(out)
    done = {(r["arm"], r["seed"]) for r in rows}
    base = training_config(smoke)
    meta = {"benchmark": "synthetic", "smoke": smoke, "ap": "voc", "split": "unseen (zero)",
            "config": {k: v for k, v in base.to_dict().items() if k not in ("run_dir", "seed", "alignment", "gaussian")},
            "selection": "best held-out seen-class sketch accuracy (unseen classes never used)",
            "cluster": "label-free K and M (BIC on the unlabelled gallery)"}

    def add(row: dict[str, Any]) -> None:
        rows.append(row)
        done.add((row["arm"], row["seed"]))
        _save(out, rows, meta)
        print(f"[ablation] {row['arm']:>22} seed {row['seed']}: mAP@all {row['map_all']:.4f}  P@100 {row['prec_100']:.4f}",
              flush=True)

    def metrics_row(arm, seed, result, **extra):
        return {"arm": arm, "seed": seed, **{m: float(result[m]) for m in METRICS}, **extra}

    for seed in seeds:
        if "frozen" in arms and ("frozen", seed) not in done:
            model = Student(base.backbone, len(benchmark.seen_classes), pretrained=base.pretrained)
            q, ql, g, gl = embed_unseen(model, benchmark, image_size=base.image_size, progress=False)
            add(metrics_row("frozen", seed, evaluate_retrieval(q, ql, g, gl, ap="voc")))
        for arm, switches in TRAINED.items():
            wants_cluster = arm == "bidirectional" and "bidirectional_cluster" in arms
            needed = (arm in arms and (arm, seed) not in done) or (wants_cluster and ("bidirectional_cluster", seed) not in done)
            if not needed:
                continue
            config = base.replace(seed=seed, run_dir=str(workdir / "runs" / f"{arm}-seed{seed}"), **switches)
            started = time.perf_counter()
            result = train(config, benchmark, progress=progress)
            seconds = time.perf_counter() - started
            student, _ = load_student(selected_checkpoint(result))
            q, ql, g, gl = embed_unseen(student, benchmark, image_size=config.image_size, progress=False)
            extra = {"best_epoch": result.best_epoch, "val_acc": result.best_val_acc, "train_seconds": round(seconds, 1)}
            if arm in arms and (arm, seed) not in done:
                add(metrics_row(arm, seed, evaluate_retrieval(q, ql, g, gl, ap="voc"), **extra))
            if wants_cluster and ("bidirectional_cluster", seed) not in done:
                matcher = label_free_cluster_matcher(g, seed)
                add(metrics_row("bidirectional_cluster", seed, evaluate_retrieval(q, ql, None, gl, scorer=matcher, ap="voc"),
                                n_subspaces=int(matcher.n_subspaces_), n_components=int(matcher.n_components_), **extra))
    return rows


def summarise(rows: list[dict[str, Any]]):
    """Mean, standard deviation and count per arm (in ARMS order)."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    table = frame.groupby("arm")[["map_all", "prec_100"]].agg(["mean", "std", "count"])
    return table.reindex([a for a in KNOWN_ARMS if a in table.index])


def markdown_table(rows: list[dict[str, Any]]) -> str:
    table = summarise(rows)
    lines = ["| arm | mAP@all (mean ± sd) | P@100 (mean ± sd) | seeds |", "|---|---|---|---|"]
    for arm, row in table.iterrows():
        lines.append(f"| {arm} | {row[('map_all', 'mean')]:.4f} ± {row[('map_all', 'std')]:.4f} | "
                     f"{row[('prec_100', 'mean')]:.4f} ± {row[('prec_100', 'std')]:.4f} | {int(row[('map_all', 'count')])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="results/ablation_synthetic.json")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=KNOWN_ARMS)
    parser.add_argument("--smoke", action="store_true", help="tiny benchmark and a few steps (a check, not a result)")
    parser.add_argument("--workdir", default="", help="where runs and checkpoints go (default outputs/ablation)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    rows = run_ablation(args.out, seeds=args.seeds, smoke=args.smoke, workdir=args.workdir, arms=args.arms,
                        progress=not args.no_progress)
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
