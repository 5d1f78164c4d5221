"""Functions that return matplotlib figures; notebooks display them, tests call them."""
from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence


import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from PIL import Image

from sbka_lite.data.decode import decode_image


def _as_image(item) -> Image.Image:
    if isinstance(item, Image.Image):
        return item
    if isinstance(item, np.ndarray):
        return Image.fromarray(item)
    return decode_image(item)


def image_grid(rows: Sequence[Sequence], row_labels: Sequence[str] | None = None, *,
               col_labels: Sequence[str] | None = None, cell_size: float = 1.3, title: str | None = None,
               highlight: Sequence[Sequence[str | None]] | None = None,
               marks: Sequence[Sequence[str | None]] | None = None):
    """A grid of images (paths, PIL images or arrays); `highlight[r][c]` colours a cell's frame and
    `marks[r][c]` prints a symbol in its corner (so a reader who cannot tell the colours apart still can)."""
    n_rows = len(rows)
    n_cols = max((len(r) for r in rows), default=1)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(cell_size * n_cols + 1.2, cell_size * n_rows + 0.4),
                             squeeze=False)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(row) and row[c] is not None:
                ax.imshow(_as_image(row[c]))
                colour = highlight[r][c] if highlight and c < len(highlight[r]) else None
                if colour:
                    for spine in ax.spines.values():
                        spine.set_visible(True)
                        spine.set_edgecolor(colour)
                        spine.set_linewidth(3)
                mark = marks[r][c] if marks and c < len(marks[r]) else None
                if mark:
                    ax.text(0.04, 0.96, mark, transform=ax.transAxes, ha="left", va="top", fontsize=11,
                            fontweight="bold", color=colour or "black",
                            bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
            if c == 0 and row_labels is not None:
                ax.set_ylabel(row_labels[r], rotation=0, ha="right", va="center", fontsize=9)
            if r == 0 and col_labels is not None and c < len(col_labels):
                ax.set_title(col_labels[c], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def sketch_photo_grid(benchmark, classes: Sequence[str], *, split: str = "train", per_class: int = 4,
                      seed: int = 0, title: str | None = None):
    """For each class, `per_class` sketches then `per_class` photos of `split`, one row per class."""
    rng = random.Random(seed)
    by_class = {m: defaultdict(list) for m in ("sketch", "photo")}
    for modality in by_class:
        for path, name in benchmark.items(split, modality):
            by_class[modality][name].append(path)
    rows, labels = [], []
    for name in classes:
        sketches = sorted(by_class["sketch"][name])
        photos = sorted(by_class["photo"][name])
        row = rng.sample(sketches, min(per_class, len(sketches))) + [None] * (per_class - min(per_class, len(sketches)))
        row += rng.sample(photos, min(per_class, len(photos)))
        rows.append(row)
        labels.append(name)
    cols = [f"sketch {i + 1}" for i in range(per_class)] + [f"photo {i + 1}" for i in range(per_class)]
    return image_grid(rows, labels, col_labels=cols, title=title)


def counts_bar(counts_by_class: dict[str, dict[str, int]], *, title: str = "images per class"):
    """Grouped bars of image counts per class and modality ({class: {"sketch": n, "photo": n}})."""
    frame = pd.DataFrame(counts_by_class).T.reset_index(names="class").melt(
        id_vars="class", var_name="modality", value_name="images")
    fig, ax = plt.subplots(figsize=(max(6, 0.25 * len(counts_by_class)), 3.2))
    sns.barplot(frame, x="class", y="images", hue="modality", ax=ax)
    ax.tick_params(axis="x", rotation=90, labelsize=7)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def umap_panels(panels: Sequence[tuple[str, np.ndarray, Sequence[str], Sequence[str]]], *,
                max_legend: int = 12, point_size: float = 10):
    """Side-by-side UMAP scatters: each panel is (title, coords [n,2], class names, modality names).

    Colour = class, marker = modality (o photo, x sketch), so the modality gap shows as two
    offset clouds and alignment as classes mixing across markers.
    """
    markers = {"photo": "o", "sketch": "X"}
    order = sorted({str(c) for _, _, classes, _ in panels for c in classes})
    palette = class_palette(order)  # one colour per class, the same in every panel
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.8), squeeze=False)
    for ax, (title, coords, classes, modality) in zip(axes[0], panels):
        classes, modality = np.asarray(classes).astype(str), np.asarray(modality).astype(str)
        for name, marker in markers.items():
            for c in order:  # one labelled series per class and modality: the legend can be checked against it
                mine = (modality == name) & (classes == c)
                if mine.any():
                    ax.scatter(coords[mine, 0], coords[mine, 1], color=palette[c], marker=marker, label=c,
                               s=point_size * (1.4 if marker == "X" else 1.0), linewidths=0, alpha=0.8)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    # the legend outside the data: classes by colour (a neutral marker), modalities by marker (neutral colour)
    handles = [Line2D([], [], marker="s", linestyle="", color=palette[c], label=c) for c in order[:max_legend]]
    handles += [Line2D([], [], marker=m, linestyle="", color="0.3", label=name) for name, m in markers.items()]
    if len(order) > max_legend:
        handles.insert(max_legend, Line2D([], [], linestyle="", label=f"... {len(order) - max_legend} more classes"))
    fig.tight_layout()
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    return fig


def class_palette(names: Sequence[str]) -> dict[str, tuple]:
    """A qualitative colour per name that stays distinguishable: tab10 up to 10 names, tab20 up to 20
    (neighbouring hues of a husl wheel are near-identical past a dozen), husl beyond."""
    names = list(names)
    base = "tab10" if len(names) <= 10 else "tab20" if len(names) <= 20 else "husl"
    return dict(zip(names, sns.color_palette(base, len(names))))


def loss_curves(history, *, terms: Sequence[str] | None = None, x: str = "step", smooth: int = 5,
                phase_boundary: float | None = None, title: str = "training losses"):
    """One line per loss term from a training history (a DataFrame or list of dicts), smoothed by a
    running mean; a dashed line marks where phase 2 (bidirectional) starts."""
    frame = history if isinstance(history, pd.DataFrame) else pd.DataFrame(list(history))
    terms = list(terms) if terms else [c for c in frame.columns if c.startswith("loss")]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for term in terms:
        if term in frame and frame[term].notna().any():
            series = frame[term].rolling(max(1, smooth), min_periods=1).mean()
            ax.plot(frame[x], series, label=term)
    if phase_boundary is not None:
        ax.axvline(phase_boundary, color="grey", linestyle="--", linewidth=1)
        ax.text(phase_boundary, ax.get_ylim()[1], " phase 2", va="top", fontsize=8, color="grey")
    ax.set_xlabel(x)
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def metric_bars(table, *, x: str, y: str, hue: str | None = None, title: str = "", ylabel: str | None = None):
    """Bars with mean and spread (one bar per `x` [and `hue`]) from a long table of runs."""
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * table[x].nunique() + 2), 3.6))
    sns.barplot(table, x=x, y=y, hue=hue, errorbar="sd", ax=ax, capsize=0.1)
    if hue is not None and ax.get_legend() is not None:
        ax.legend(title=hue, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # never over the bars
    ax.set_title(title)
    ax.set_ylabel(ylabel or y)
    ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    return fig


def per_class_change(before: dict[str, float], after: dict[str, float], *, title: str = "per-class AP change",
                     before_label: str = "one-to-one", after_label: str = "cluster"):
    """Horizontal bars of after - before per class, sorted; green gains, red losses."""
    names = sorted(before, key=lambda n: after[n] - before[n])
    delta = np.array([after[n] - before[n] for n in names])
    fig, ax = plt.subplots(figsize=(6, 0.28 * len(names) + 1.2))
    ax.barh(names, delta, color=np.where(delta >= 0, "tab:green", "tab:red"))
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"AP({after_label}) - AP({before_label})")
    ax.set_title(title)
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return fig


def two_phase_diagram(config=None):
    """The SBKA training scheme in two panels: phase 1 (teacher -> student) and phase 2 (both ways), drawn
    from `config` (a `TrainConfig`: where the teacher starts, the loss weights; None: the paper's run)."""
    from sbka_lite.data.synthetic.world import photo_world_classes  # noqa: PLC0415

    world = config is not None and config.pretraining == "photo_world"
    teacher = "photo world" if world else "ImageNet"
    head = len(photo_world_classes()) if world else 1000
    w_ka, w_gaussian = (1.0, 0.1) if config is None else (config.w_ka, config.w_gaussian)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    titles = ["phase 1 (warm-up): the teacher teaches", "phase 2: teacher and student teach each other"]
    for phase, (ax, title) in enumerate(zip(axes, titles), start=1):
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 6)
        ax.axis("off")
        ax.set_title(title, fontsize=10)

        def box(x, y, text, colour):
            ax.add_patch(FancyBboxPatch((x, y), 2.6, 1.3, boxstyle="round,pad=0.1", facecolor=colour, edgecolor="black"))
            ax.text(x + 1.3, y + 0.65, text, ha="center", va="center", fontsize=8.5)

        def arrow(a, b, text, colour="black", rad=0.0, at=None):
            ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12, color=colour,
                                         connectionstyle=f"arc3,rad={rad}", linewidth=1.4))
            x, y = at or ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2 + 0.2)
            ax.text(x, y, text, ha="center", fontsize=8, color=colour)

        box(0.2, 4.2, "sketches + photos\n(seen classes)", "#eeeeee")
        teacher_text = f"teacher ({teacher})\n{head} classes, " + ("frozen" if phase == 1 else "head trains")
        box(6.8, 4.2, teacher_text, "#cfe2f3" if phase == 1 else "#b6d7a8")
        box(3.6, 1.4, f"student\nembedding | seen | {head}", "#fce5cd")
        arrow((2.9, 4.8), (6.7, 4.8), "photos only")
        arrow((1.5, 4.1), (4.0, 2.8), "all images", at=(1.6, 3.0))
        # the label sits between the two input arrows, where no arrow crosses it
        arrow((7.6, 4.1), (6.3, 2.6), "L_KA^S: SCE(student; teacher, m)", "tab:red", rad=0.2, at=(4.9, 3.7))
        if phase == 2:
            arrow((6.3, 2.3), (8.6, 4.1), "L_KA^T: SCE(teacher; student, m)", "tab:green", rad=0.3, at=(8.4, 2.0))
        ax.text(5.0, 0.5, f"student loss: L_cls + {w_ka:g} L_KA^S + {w_gaussian:g} L_align (Gaussian prior)", ha="center",
                fontsize=8.5)
    fig.tight_layout()
    return fig


def scatter_panels(panels: Sequence[tuple[str, np.ndarray, Sequence]], *, point_size: float = 12, max_legend: int = 12):
    """Side-by-side 2-D scatters, each (title, coords [n,2], hue values): e.g. the same UMAP coloured
    by class in one panel and by cluster in the next."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.8), squeeze=False)
    for ax, (title, coords, hue) in zip(axes[0], panels):
        hue = np.asarray(hue).astype(str)
        order = sorted(set(hue.tolist()), key=lambda v: (len(v), v))
        sns.scatterplot(x=coords[:, 0], y=coords[:, 1], hue=hue, hue_order=order,
                        palette=class_palette(order), s=point_size, linewidth=0, alpha=0.85,
                        ax=ax, legend=len(order) <= max_legend)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        if ax.get_legend() is not None:  # beside its panel, not over the points
            sns.move_legend(ax, "upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, ncol=1, frameon=False)
    fig.tight_layout()
    return fig


def retrieval_rows(queries: Sequence, query_classes: Sequence[str], ranked: Sequence[Sequence],
                   ranked_classes: Sequence[Sequence[str]], row_labels: Sequence[str], *, title: str | None = None):
    """Each row: the query sketch, then its ranked photos: a hit (same class) framed green and marked "✓",
    a miss framed red and marked "✗" (shape as well as colour)."""
    rows, highlight, marks = [], [], []
    for query, query_class, photos, classes in zip(queries, query_classes, ranked, ranked_classes):
        rows.append([query, *photos])
        highlight.append([None, *["tab:green" if c == query_class else "tab:red" for c in classes]])
        marks.append([None, *["✓" if c == query_class else "✗" for c in classes]])
    cols = ["query"] + [f"{i + 1}" for i in range(max(len(r) for r in ranked))]
    return image_grid(rows, row_labels, col_labels=cols, highlight=highlight, marks=marks, cell_size=1.1, title=title)


def teacher_knowledge_bars(tables: dict[str, pd.DataFrame], *, split: str = "unseen"):
    """Top-1 of each teacher on the photos of each `split` class it can name (0 where it cannot)."""
    frames = []
    for teacher, table in tables.items():
        part = table[table.split == split].copy()
        part["teacher"] = teacher
        part["top-1"] = part.top1.fillna(0.0)
        frames.append(part)
    data = pd.concat(frames)
    # one bar group per class: the teachers that cannot name it are listed in its label (their bar is 0)
    unknown = data[~data.known.astype(bool)].groupby("class")["teacher"].apply(list)
    data["label"] = [c if c not in unknown else f"{c} (none in {', '.join(unknown[c])})" for c in data["class"]]
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * data["class"].nunique() + 2), 3.6))
    sns.barplot(data=data, x="label", y="top-1", hue="teacher", ax=ax)
    ax.set(xlabel="", ylabel="teacher top-1 on its photos", ylim=(0, 1.05), title=f"what the teacher knows: {split} classes")
    ax.tick_params(axis="x", rotation=45)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    fig.tight_layout()
    return fig


def _curve_panels(data: pd.DataFrame, hue: str, **style):
    """Unseen mAP per epoch (a diagnostic) beside held-out seen-class accuracy, mean ± sd over seeds, one line per `hue`."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, column, label in ((axes[0], "unseen_map_diagnostic", "unseen mAP@all (diagnostic only)"),
                              (axes[1], "val_acc", "held-out seen-class sketch accuracy")):
        sns.lineplot(data=data, x="epoch", y=column, hue=hue, errorbar="sd", ax=ax, legend=ax is axes[1], **style)
        ax.set(xlabel="epoch", ylabel=label)
        ax.xaxis.get_major_locator().set_params(integer=True)
    if axes[1].get_legend() is not None:
        sns.move_legend(axes[1], "upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    fig.tight_layout()
    return fig


def learning_curves(curves: pd.DataFrame, *, arms: Sequence[str] | None = None):
    """Per epoch, mean ± sd over seeds: unseen mAP (a diagnostic: it never selected a model) beside
    held-out seen-class sketch accuracy (what selection reads)."""
    data = curves if arms is None else curves[curves.arm.isin(arms)]
    # a dash pattern and a marker per arm as well as a colour: a line drawn over an identical one still shows
    fig = _curve_panels(data, "arm", style="arm", markers=True, dashes=True)
    same = coinciding(data, "arm", ("unseen_map_diagnostic", "val_acc"))
    if same:
        fig.text(0.01, -0.02, "curves that coincide (mean over seeds): " + "; ".join(" = ".join(g) for g in same),
                 fontsize=8.5, ha="left", va="top")
    return fig


def coinciding(data: pd.DataFrame, by: str, columns: Sequence[str], tolerance: float = 1e-4) -> list[list[str]]:
    """Groups of `by` values whose mean curves (per epoch, over seeds) agree within `tolerance` in every column."""
    means = data.groupby([by, "epoch"])[list(columns)].mean()
    names = list(dict.fromkeys(data[by]))
    groups: list[list[str]] = []
    for name in names:
        for group in groups:
            a, b = means.loc[group[0]], means.loc[name]
            if a.shape == b.shape and (a.index == b.index).all() and bool(((a - b).abs() <= tolerance).all().all()):
                group.append(name)
                break
        else:
            groups.append([name])
    return [group for group in groups if len(group) > 1]


def curves_by_setting(curves: pd.DataFrame):
    """One arm's learning curves in several settings (column ``setting``), mean ± sd over seeds: unseen
    mAP per epoch (a diagnostic, never selecting) beside held-out seen-class accuracy. A curve that peaks
    and falls is forgetting; one that rises and stays up has nothing for a teacher to protect."""
    return _curve_panels(curves, "setting", style="setting", markers=True, dashes=False)
