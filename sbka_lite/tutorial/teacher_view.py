"""What the teacher sees: the distributions behind L_KA^S for a few photos, as a table and a picture.

For each photo: the teacher's top-k over its label space (ImageNet's or the photo world's), the
target the student is trained toward (the same logits lifted by the semantic mask, softmax(b + 0.3 m)),
and the student's own predictions over that label space before and after training. Seen classes
show training photos; unseen ones gallery photos, for looking only (they have no mask row: the
mask never names an unseen class, and no unseen photo is ever trained on).
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn.functional as F

from sbka_lite.data.decode import decode_image
from sbka_lite.data.loading import ImageTransform
from sbka_lite.data.synthetic.registry import IMAGENET_NAMES
from sbka_lite.data.synthetic.world import photo_world_classes
from sbka_lite.models import Teacher, image_config, input_size_of
from sbka_lite.build import semantic_mask_of, starting_student


def label_names(pretraining: str) -> list[str]:
    """The teacher's output names: the photo world's classes, or ImageNet's (short names)."""
    if pretraining == "photo_world":
        return photo_world_classes()
    return [IMAGENET_NAMES.get(i, f"imagenet #{i}").split(",")[0] for i in range(1000)]


def pick_photos(benchmark, *, seen: int = 2, unseen: int = 2) -> list[tuple[str, str, str]]:
    """(path, class, split) for the first training photo of `seen` seen classes (spread over the list)
    and the first gallery photo of `unseen` unseen classes, those the photo world knows first."""
    world = set(photo_world_classes())
    seen_classes = list(benchmark.seen_classes)[:: max(1, len(benchmark.seen_classes) // max(seen, 1))][:seen]
    unseen_classes = sorted(benchmark.unseen_classes, key=lambda c: (c not in world, benchmark.unseen_classes.index(c)))
    picks = [(c, "train") for c in seen_classes] + [(c, "zero") for c in unseen_classes[:unseen]]
    chosen = []
    for name, split in picks:
        path = next(p for p, c in benchmark.items(split, "photo") if c == name)
        chosen.append((path, name, "seen" if split == "train" else "unseen"))
    return chosen


def _top(probs: torch.Tensor, names: Sequence[str], k: int) -> list[tuple[str, float]]:
    values, indices = probs.topk(k)
    return [(names[int(i)], float(v)) for v, i in zip(values, indices)]


@torch.no_grad()
def teacher_view(config, benchmark, trained_student, *, seen: int = 2, unseen: int = 2, k: int = 5) -> pd.DataFrame:
    """One row per photo: top-k of the teacher, of the masked target, of the student before and after
    training (``[(name, probability), ...]``), and each one's probability of the photo's own class."""
    classes = list(benchmark.seen_classes)
    before = starting_student(config, len(classes)).eval()
    teacher = Teacher.from_student(before)
    mask = semantic_mask_of(benchmark, classes, config.pretraining)
    names = label_names(config.pretraining)
    ic = image_config(before)
    transform = ImageTransform(input_size_of(config.backbone, config.image_size), ic.mean, ic.std, interpolation=ic.interpolation)
    trained_student = trained_student.cpu().eval()
    rows = []
    for path, name, split in pick_photos(benchmark, seen=seen, unseen=unseen):
        image = transform(decode_image(path))[None]
        logits = teacher(image)[0]
        row = mask[classes.index(name)] if name in classes and mask is not None else torch.zeros_like(logits)
        dists = {"teacher": F.softmax(logits, -1), "target": F.softmax(logits + config.mask_scale * row, -1),
                 "student_before": F.softmax(before(image).imagenet_logits[0], -1),
                 "student_after": F.softmax(trained_student(image).imagenet_logits[0], -1)}
        own = names.index(name) if name in names else None
        rows.append({"path": path, "class": name, "split": split, "teacher_can_name_it": own is not None,
                     **{f"{key}_top": _top(p, names, k) for key, p in dists.items()},
                     **{f"{key}_own": (float(p[own]) if own is not None else None) for key, p in dists.items()}})
    return pd.DataFrame(rows)


def teacher_view_figure(view: pd.DataFrame):
    """Each photo beside the four top-k lists (the photo's own class in bold)."""
    columns = (("teacher", "teacher"), ("target", "target: + mask"), ("student_before", "student, start"),
               ("student_after", "student, trained"))
    fig, axes = plt.subplots(len(view), 1 + len(columns), figsize=(13, 1.9 * len(view)), squeeze=False)
    for r, (_, row) in enumerate(view.iterrows()):
        axes[r][0].imshow(decode_image(row.path))
        axes[r][0].set_title(f"{row['class']} ({row.split})", fontsize=9)
        for c, (key, title) in enumerate(columns, start=1):
            ax = axes[r][c]
            for i, (label, p) in enumerate(row[f"{key}_top"]):
                ax.text(0.0, 0.85 - 0.18 * i, f"{p:5.2f}  {label}", fontsize=8, family="monospace",
                        weight="bold" if label == row["class"] else "normal", transform=ax.transAxes)
            if r == 0:
                ax.set_title(title, fontsize=9)
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return fig
