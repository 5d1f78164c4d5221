"""Reading the ablation's rows: means over seeds, differences paired by seed, learning curves, a verdict.

Nothing here trains; it reads the rows `sbka_lite.experiments.ablation` writes (one per arm and
seed), so a notebook or the README can summarise committed results without rerunning them.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

ARMS = ("frozen", "finetune", "finetune+gaussian", "one_way", "one_way+gaussian", "bidirectional",
        "bidirectional+gaussian", "sbka_tgrad", "sbka_phase2_lr_x10", "sbka_cluster")
KNOWN_ARMS = (*ARMS, "imagenet_finetune", "imagenet_sbka")
# (arm, its reference): the differences the notebook and the README discuss, paired by seed
COMPARISONS = (("one_way", "finetune"), ("bidirectional", "one_way"), ("bidirectional+gaussian", "bidirectional"),
               ("finetune+gaussian", "finetune"), ("bidirectional+gaussian", "finetune"),
               ("sbka_tgrad", "bidirectional+gaussian"), ("sbka_phase2_lr_x10", "bidirectional+gaussian"),
               ("sbka_cluster", "bidirectional+gaussian"), ("imagenet_sbka", "imagenet_finetune"))


def summarise(rows: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and count per arm (in KNOWN_ARMS order), of rows or of `load_results`' table."""
    frame = pd.DataFrame(rows)
    columns = [c for c in ("map_all", "map_known", "map_unknown", "prec_100") if c in frame]
    table = frame.groupby("arm")[columns].agg(["mean", "std", "count"])
    return table.reindex([a for a in KNOWN_ARMS if a in table.index])


def paired_differences(rows: list[dict[str, Any]] | pd.DataFrame, comparisons=COMPARISONS,
                       metric: str = "map_all") -> pd.DataFrame:
    """Per (arm, reference): the mean and standard deviation over seeds of arm - reference, paired
    by seed, and in how many seeds the arm was ahead. Pairs lacking rows are left out."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["arm", "reference", "mean", "std", "seeds", "ahead"])
    by = frame.pivot_table(index="seed", columns="arm", values=metric)
    out = []
    for arm, reference in comparisons:
        if arm in by and reference in by:
            diff = (by[arm] - by[reference]).dropna()
            if len(diff):
                out.append({"arm": arm, "reference": reference, "mean": float(diff.mean()),
                            "std": float(diff.std()) if len(diff) > 1 else float("nan"),
                            "seeds": int(len(diff)), "ahead": int((diff > 0).sum())})
    return pd.DataFrame(out)


def summary_record(rows: list[dict[str, Any]] | pd.DataFrame) -> dict[str, dict[str, float]]:
    """`summarise` as plain numbers per arm, for a notebook's recorder: ``{arm: {map_all_mean, ...}}``."""
    table = summarise(rows)
    record = {}
    for arm, row in table.iterrows():
        values = {f"{m}_{s}": float(row[(m, s)]) for m, s in row.index if s in ("mean", "std")}
        record[arm] = {**values, "seeds": int(row[("map_all", "count")])}
    return record


def _cell(row, metric: str) -> str:
    if (metric, "mean") not in row or pd.isna(row[(metric, "mean")]):
        return "n/a"
    return f"{row[(metric, 'mean')]:.3f} ± {row[(metric, 'std')]:.3f}"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The arms (mean ± sd over seeds) and the paired differences, as Markdown."""
    table = summarise(rows)
    lines = ["| arm | mAP@all | known to the teacher | unknown to it | P@100 | seeds |", "|---|---|---|---|---|---|"]
    for arm, row in table.iterrows():
        lines.append(f"| {arm} | {_cell(row, 'map_all')} | {_cell(row, 'map_known')} | {_cell(row, 'map_unknown')} | "
                     f"{_cell(row, 'prec_100')} | {int(row[('map_all', 'count')])} |")
    diffs = paired_differences(rows)
    if len(diffs):
        lines += ["", "| arm - reference (paired by seed) | mean | sd | ahead in |", "|---|---|---|---|"]
        lines += [f"| {d.arm} - {d.reference} | {d['mean']:+.3f} | {d['std']:.3f} | {d.ahead}/{d.seeds} |"
                  for _, d in diffs.iterrows()]
    return "\n".join(lines)


def verdict(rows: list[dict[str, Any]] | pd.DataFrame, comparisons=COMPARISONS, metric: str = "map_all") -> list[dict[str, Any]]:
    """Each comparison as a plain statement: ``better`` / ``worse`` when the arm is ahead / behind in
    every seed, else ``no consistent difference``; with the paired mean and sd it rests on."""
    out = []
    for _, d in paired_differences(rows, comparisons, metric).iterrows():
        word = ("better" if d.ahead == d.seeds and d["mean"] > 0 else
                "worse" if d.ahead == 0 and d["mean"] < 0 else "no consistent difference")
        out.append({"arm": d.arm, "reference": d.reference, "metric": metric, "mean": d["mean"], "std": d["std"],
                    "ahead": int(d.ahead), "seeds": int(d.seeds), "verdict": word,
                    "text": f"{d.arm} vs {d.reference}: {word} ({metric} {d['mean']:+.3f}, sd {d['std']:.3f}, "
                            f"ahead in {int(d.ahead)}/{int(d.seeds)} seeds)"})
    return out


def curves_frame(rows: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Learning curves, one row per (arm, seed, epoch): unseen mAP after the epoch (a diagnostic that
    never selected a model), held-out seen-class accuracy and L_cls."""
    frame = pd.DataFrame(rows)
    out = []
    for _, row in frame.iterrows():
        curve = row.get("curve")
        if not isinstance(curve, list) or row["arm"] == "sbka_cluster":
            continue
        out += [{"arm": row["arm"], "seed": row["seed"], **point} for point in curve]
    return pd.DataFrame(out)
