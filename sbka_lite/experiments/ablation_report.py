"""Reading the ablation's rows: means over seeds, differences paired by seed, learning curves, the
convergence check, and a verdict worded from the numbers.

Nothing here trains; it reads the rows `sbka_lite.experiments.ablation` writes (one per arm and
seed), so a notebook or the README can summarise committed results without rerunning them.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

ARMS = ("frozen", "finetune", "finetune+gaussian", "one_way", "one_way+gaussian", "bidirectional",
        "bidirectional+gaussian", "sbka_tgrad", "sbka_teacher_lr_x10", "finetune@2x", "one_way@2x")
KNOWN_ARMS = (*ARMS, "imagenet_finetune", "imagenet_sbka")
CONVERGENCE_SEEDS = (0,)  # the seeds whose "@2x" arms are run (the check is per arm, not a result)
# (arm, its reference): the differences the notebook and the README discuss, paired by seed
COMPARISONS = (("one_way", "finetune"), ("bidirectional", "one_way"), ("bidirectional+gaussian", "one_way+gaussian"),
               ("finetune+gaussian", "finetune"), ("one_way+gaussian", "one_way"),
               ("bidirectional+gaussian", "bidirectional"), ("bidirectional+gaussian", "finetune"),
               ("sbka_tgrad", "bidirectional+gaussian"), ("sbka_teacher_lr_x10", "bidirectional+gaussian"),
               ("imagenet_sbka", "imagenet_finetune"))
MIN_SEEDS = 3  # fewer paired seeds: no verdict
TOLERANCE = 0.005  # a paired mean difference below this (mAP) is "indistinguishable", whatever its sign
CONVERGED_WITHIN = 0.01  # a converged arm moves less than this over its last two evaluations and in its 2x check
# An arm without a 2x check of its own takes the check of the arm it shares its warm-up and the student's whole
# schedule with (a branch that differs only in the teacher's phase-2 update learns exactly as fast).
CHECKED_BY = {"bidirectional": "one_way"}


def summarise(rows: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and count per arm (in KNOWN_ARMS order), of rows or of `load_results`' table."""
    frame = pd.DataFrame(rows)
    columns = [c for c in ("map_all", "cluster_map_all", "map_known", "map_unknown", "cluster_map_known",
                           "cluster_map_unknown", "prec_100", "cluster_prec_100") if c in frame]
    table = frame.groupby("arm")[columns].agg(["mean", "std", "count"])
    return table.reindex([a for a in KNOWN_ARMS if a in table.index])


def paired_differences(rows: list[dict[str, Any]] | pd.DataFrame, comparisons=COMPARISONS,
                       metric: str = "map_all") -> pd.DataFrame:
    """Per (arm, reference): the mean and standard deviation over seeds of arm - reference, paired
    by seed, and in how many seeds the arm was ahead. Pairs lacking rows, or whose rows record
    different starting weights (``start``), are left out."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["arm", "reference", "mean", "std", "seeds", "ahead"])
    by = frame.pivot_table(index="seed", columns="arm", values=metric)
    # a pair counts only when both rows started from the same weights (rows without a record: assumed so)
    start = (frame.assign(start=frame["start"].fillna("")).pivot_table(index="seed", columns="arm", values="start",
                                                                       aggfunc="first")
             if "start" in frame else None)
    out = []
    for arm, reference in comparisons:
        if arm in by and reference in by:
            diff = by[arm] - by[reference]
            if start is not None and arm in start and reference in start:
                a, b = start[arm].reindex(diff.index), start[reference].reindex(diff.index)
                diff = diff[~((a.fillna("") != "") & (b.fillna("") != "") & (a != b))]
            diff = diff.dropna()
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
    if pd.isna(row[(metric, "std")]):  # one seed: no spread to show
        return f"{row[(metric, 'mean')]:.3f}"
    return f"{row[(metric, 'mean')]:.3f} ± {row[(metric, 'std')]:.3f}"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The arms (mean ± sd over seeds; one-to-one and with cluster matching), the paired differences
    with their verdicts, and the convergence check, as Markdown."""
    table = summarise(rows)
    status = convergence_status(rows)
    lines = ["| arm | mAP@all | + cluster matching | known to the teacher | unknown to it | P@100 | seeds | converged |",
             "|---|---|---|---|---|---|---|---|"]
    for arm, row in table.iterrows():
        lines.append(f"| {arm} | {_cell(row, 'map_all')} | {_cell(row, 'cluster_map_all')} | {_cell(row, 'map_known')} | "
                     f"{_cell(row, 'map_unknown')} | {_cell(row, 'prec_100')} | {int(row[('map_all', 'count')])} | "
                     f"{status.get(arm, {}).get('text', 'n/a')} |")
    for metric, label in (("map_all", "one-to-one"), ("cluster_map_all", "with cluster matching")):
        found = verdict(rows, metric=metric)
        if found:
            lines += ["", f"| arm - reference, mAP@all {label}, paired by seed | mean | sd | ahead in | verdict |",
                      "|---|---|---|---|---|"]
            lines += [f"| {d['arm']} - {d['reference']} | {d['mean']:+.3f} | {d['std']:.3f} | {d['ahead']}/{d['seeds']} | "
                      f"{d['verdict']} |" for d in found]
    checks = convergence_checks(rows)
    if len(checks):
        lines += ["", "| convergence check: arm, seed | steps per epoch | held-out acc | mAP@all | + cluster | converged |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {c.arm}, {c.seed} | {c.steps_1x} -> {c.steps_2x} | {c.val_acc_1x:.3f} -> {c.val_acc_2x:.3f} | "
                  f"{c.map_all_1x:.3f} -> {c.map_all_2x:.3f} | {c.cluster_map_all_1x:.3f} -> {c.cluster_map_all_2x:.3f} | "
                  f"{'yes' if c.converged else 'no'} |" for c in checks.itertuples()]
    return "\n".join(lines)


def verdict(rows: list[dict[str, Any]] | pd.DataFrame, comparisons=COMPARISONS, metric: str = "map_all") -> list[dict[str, Any]]:
    """Each comparison as a plain statement, worded from the numbers:

    * ``not converged: no verdict`` when either arm is marked not converged (`convergence_status`);
    * ``too few seeds`` below `MIN_SEEDS` paired seeds;
    * ``better`` / ``worse`` when the arm is ahead / behind in every seed and the paired mean exceeds
      both its standard deviation over seeds and `TOLERANCE`;
    * otherwise ``indistinguishable``; each with the paired mean and sd it rests on."""
    status = convergence_status(rows)
    out = []
    for _, d in paired_differences(rows, comparisons, metric).iterrows():
        unconverged = [a for a in (d.arm, d.reference) if status.get(a, {}).get("converged") is False]
        large = abs(d["mean"]) > max(TOLERANCE, 0.0 if pd.isna(d["std"]) else d["std"])
        if unconverged:
            word = f"not converged ({', '.join(unconverged)}): no verdict"
        elif d.seeds < MIN_SEEDS:
            word = f"too few seeds ({int(d.seeds)} < {MIN_SEEDS}): no verdict"
        elif d.ahead == d.seeds and d["mean"] > 0 and large:
            word = "better"
        elif d.ahead == 0 and d["mean"] < 0 and large:
            word = "worse"
        else:
            word = "indistinguishable"
        out.append({"arm": d.arm, "reference": d.reference, "metric": metric, "mean": d["mean"], "std": d["std"],
                    "ahead": int(d.ahead), "seeds": int(d.seeds), "verdict": word,
                    "text": f"{d.arm} vs {d.reference}: {word} ({metric} {d['mean']:+.3f}, sd {d['std']:.3f}, "
                            f"ahead in {int(d.ahead)}/{int(d.seeds)} seeds)"})
    return out


def convergence_checks(rows: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Each "@2x" row beside its 1x arm of the same seed: held-out accuracy and unseen mAP@all (one-to-one
    and with cluster matching) with twice the steps; converged when every change is below `CONVERGED_WITHIN`."""
    frame = pd.DataFrame(rows)
    out = []
    if frame.empty:
        return pd.DataFrame(columns=["arm", "seed", "converged"])
    by = {(r["arm"], r["seed"]): r for r in frame.to_dict("records")}
    for (arm, seed), long in by.items():
        base = by.get((arm.removesuffix("@2x"), seed)) if arm.endswith("@2x") else None
        if base is None:
            continue
        moved = {m: abs(long[m] - base[m]) for m in ("val_acc", "map_all", "cluster_map_all")}
        out.append({"arm": base["arm"], "seed": seed, "steps_1x": int(base["steps_per_epoch"]),
                    "steps_2x": int(long["steps_per_epoch"]),
                    **{f"{m}_1x": base[m] for m in moved}, **{f"{m}_2x": long[m] for m in moved},
                    **{f"moved_{m}": v for m, v in moved.items()},
                    "converged": all(v < CONVERGED_WITHIN for v in moved.values())})
    return pd.DataFrame(out, columns=None if out else ["arm", "seed", "converged"])


def still_rising(curve: list[dict[str, Any]] | None) -> bool | None:
    """Whether held-out accuracy rose by more than `CONVERGED_WITHIN` over the last two evaluations
    (from the third-last epoch to the last); None with fewer than three."""
    accuracy = [point["val_acc"] for point in curve or [] if point.get("val_acc") is not None]
    if len(accuracy) < 3:
        return None
    return accuracy[-1] - accuracy[-3] > CONVERGED_WITHIN


def convergence_status(rows: list[dict[str, Any]] | pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per arm: ``converged`` False when any seed's held-out accuracy is still rising (`still_rising`) or
    its 2x check moved it by `CONVERGED_WITHIN` or more, True when neither, None when nothing can tell;
    with a short ``text`` for tables."""
    frame = pd.DataFrame(rows)
    status: dict[str, dict[str, Any]] = {}
    if frame.empty:
        return status
    checks = convergence_checks(frame)
    for arm, group in frame.groupby("arm"):
        if arm == "frozen":
            status[arm] = {"converged": None, "text": "(not trained)"}
            continue
        curves = group["curve"] if "curve" in group else []
        rising = [flag for flag in (still_rising(c) for c in curves if isinstance(c, list)) if flag is not None]
        checked = CHECKED_BY.get(arm, arm.removesuffix("@2x"))
        mine = checks[checks.arm == checked] if len(checks) else checks
        failed = [int(s) for s in mine.seed[~mine.converged]] if len(mine) else []
        if any(rising) or failed:
            whose = "" if checked == arm.removesuffix("@2x") else f" of {checked}, which it shares phase 1 with"
            why = (["still rising"] if any(rising) else []) + ([f"2x check{whose} moved it (seed {failed})"] if failed else [])
            status[arm] = {"converged": False, "text": "no: " + ", ".join(why)}
        elif rising:
            status[arm] = {"converged": True, "text": "yes (curve flat, 2x checked)" if len(mine) else "yes (curve flat, not 2x-checked)"}
        else:
            status[arm] = {"converged": None, "text": "n/a (no curve)"}
    return status


def curves_frame(rows: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Learning curves, one row per (arm, seed, epoch): unseen mAP after the epoch (a diagnostic that
    never selected a model), held-out seen-class accuracy and L_cls."""
    frame = pd.DataFrame(rows)
    out = []
    for _, row in frame.iterrows():
        curve = row.get("curve")
        if not isinstance(curve, list):
            continue
        out += [{"arm": row["arm"], "seed": row["seed"], **point} for point in curve]
    return pd.DataFrame(out) if out else pd.DataFrame(columns=["arm", "seed", "epoch", "val_acc", "unseen_map_diagnostic"])


def forgetting(rows: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Per arm, from the unseen-mAP learning curves (diagnostics): the peak over epochs, the final
    value and the drop from one to the other (mean and sd over seeds). An arm *forgets measurably*
    when its drop exceeds both its spread over seeds and `TOLERANCE` (``forgets``: None below
    `MIN_SEEDS` seeds, where there is no spread to compare with)."""
    curves = curves_frame(rows)
    if curves.empty or "unseen_map_diagnostic" not in curves:
        return pd.DataFrame(columns=["arm", "peak", "final", "drop", "drop_std", "peak_epoch", "seeds", "forgets"])
    out = []
    for arm, group in curves.dropna(subset=["unseen_map_diagnostic"]).groupby("arm", sort=False):
        per_seed = []
        for _, seed_curve in group.groupby("seed"):
            values = seed_curve.sort_values("epoch")
            peak_at = values.unseen_map_diagnostic.idxmax()
            per_seed.append({"peak": values.unseen_map_diagnostic.max(), "final": values.unseen_map_diagnostic.iloc[-1],
                             "peak_epoch": int(values.loc[peak_at, "epoch"])})
        table = pd.DataFrame(per_seed)
        drop = table.peak - table.final
        spread = float(drop.std()) if len(drop) > 1 else 0.0
        out.append({"arm": arm, "peak": float(table.peak.mean()), "final": float(table.final.mean()),
                    "drop": float(drop.mean()), "drop_std": spread, "peak_epoch": float(table.peak_epoch.mean()),
                    "seeds": len(table),
                    "forgets": bool(drop.mean() > max(TOLERANCE, spread)) if len(table) >= MIN_SEEDS else None})
    return pd.DataFrame(out)


def budget_table(saved: dict[str, Any]) -> pd.DataFrame:
    """The ``budget`` of an ablation's meta as a table: steps and summed learning rate per phase, for
    the recipe and the official Sketchy run (`sbka_lite.schedule.budget`)."""
    out = []
    for run, figures in saved.items():
        for phase in ("phase1", "phase2"):
            part = figures[phase]
            out.append({"run": run, "phase": phase, "steps": part["steps"], "student lr sum": part["student_lr_sum"],
                        "teacher lr sum": part["teacher_lr_sum"], "lr first": part["lr_first"], "lr last": part["lr_last"]})
        out.append({"run": run, "phase": "total", "steps": figures["total_steps"], "student lr sum": figures["student_lr_sum"],
                    "phase 2 share": figures["phase2_share"]})
    return pd.DataFrame(out)
