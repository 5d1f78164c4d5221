"""What the teacher knows about a benchmark's photos: its top-1 / top-5 per class, at the training size.

SBKA's premise is that the teacher recognises photos of classes the seen classes do not teach.
This measures it before any training: for each class with a counterpart in the teacher's label
space (ImageNet classes, or the photo world's), the share of its photos whose top-1 (top-5)
prediction is one of those counterparts. Seen classes are measured on their training photos,
unseen ones on the gallery (``zero``) photos; nothing here trains or selects anything.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .data.errors import ImageReadError
from .data.loading import ImageTransform
from .data.synthetic.catalogue import SYNTHETIC_CLASSES
from .data.synthetic.world import photo_world_classes
from .features import embed_files
from .models import build_backbone, image_config
from .pretrain import WorldSpec, world_backbone


def synthetic_targets(pretraining: str) -> dict[str, list[int]]:
    """Per synthetic class, its counterparts in the teacher's label space (empty: none)."""
    if pretraining == "imagenet":
        return {name: list(c.imagenet) for name, c in SYNTHETIC_CLASSES.items()}
    if pretraining == "photo_world":
        world = photo_world_classes()
        return {name: [world.index(name)] if name in world else [] for name in SYNTHETIC_CLASSES}
    raise ValueError(f"pretraining must be 'imagenet' or 'photo_world', got {pretraining!r}")


def synthetic_teacher(pretraining: str, backbone: str, image_size: int, *, steps: int = 250,
                      photos_per_class: int = 30, progress: bool = True) -> nn.Module:
    """The teacher a run with these settings starts from, in eval mode."""
    if pretraining == "photo_world":
        return world_backbone(WorldSpec(backbone, image_size, steps, photos_per_class), progress=progress)[0]
    return build_backbone(backbone, pretrained=True).eval()


class _ClassScores:
    """The teacher's class scores per image, for `embed_files` (the package's one image-batching loop)."""

    def __init__(self, teacher: nn.Module, image_size: int) -> None:
        config = image_config(teacher)
        self.teacher = teacher.eval()
        self.preprocess = ImageTransform(image_size, config.mean, config.std, interpolation=config.interpolation)

    def embed_batch(self, prepared: Sequence[torch.Tensor]) -> np.ndarray:
        with torch.no_grad():
            return self.teacher(torch.stack(list(prepared))).float().numpy()


def _ranks(teacher: nn.Module, paths: Sequence[str], image_size: int, batch_size: int, progress: bool) -> np.ndarray:
    """The teacher's top-5 class indices per photo; a photo that cannot be read is an error, naming it."""
    scores = []
    for item in embed_files(_ClassScores(teacher, image_size), paths, batch_size=batch_size, progress=progress,
                            desc="teacher on photos"):
        if item.embedding is None:
            raise ImageReadError(paths[item.position], item.reason)
        scores.append(item.embedding)
    if not scores:
        return np.zeros((0, 5), dtype=np.int64)
    return torch.from_numpy(np.stack(scores)).topk(5, dim=-1).indices.numpy()


def teacher_knowledge(teacher: nn.Module, benchmark, targets: Mapping[str, Sequence[int]], *, image_size: int,
                      batch_size: int = 64, progress: bool = True) -> pd.DataFrame:
    """One row per class with a counterpart: split, photos, top-1 and top-5 of the teacher.

    `targets` maps a class name to its counterparts' indices in the teacher's outputs; classes
    with none are listed with ``known=False`` and no accuracy (the teacher cannot name them).
    """
    rows = []
    for split, part, classes in (("train", "seen", benchmark.seen_classes), ("zero", "unseen", benchmark.unseen_classes)):
        items = [(path, name) for path, name in benchmark.items(split, "photo") if name in set(classes)]
        known = [(path, name) for path, name in items if targets.get(name)]
        top = _ranks(teacher, [p for p, _ in known], image_size, batch_size, progress)
        hits1 = np.array([top[i, 0] in targets[name] for i, (_, name) in enumerate(known)], dtype=bool)
        hits5 = np.array([bool(set(top[i]) & set(targets[name])) for i, (_, name) in enumerate(known)], dtype=bool)
        names = np.array([name for _, name in known])
        for name in classes:
            n = sum(1 for _, c in items if c == name)
            mine = names == name
            rows.append({"class": name, "split": part, "known": bool(targets.get(name)), "photos": n,
                         "top1": float(hits1[mine].mean()) if mine.any() else np.nan,
                         "top5": float(hits5[mine].mean()) if mine.any() else np.nan})
    return pd.DataFrame(rows)


def knowledge_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Photo-weighted top-1 / top-5 per split over the classes the teacher can name, and how many it cannot."""
    out = []
    for split, part in table.groupby("split", sort=False):
        named = part[part.known]
        weights = named.photos.to_numpy(dtype=float)
        average = (lambda col: float(np.average(named[col], weights=weights))) if weights.sum() else (lambda col: np.nan)
        out.append({"split": split, "classes_with_counterpart": int(len(named)), "classes_without": int((~part.known).sum()),
                    "top1": average("top1"), "top5": average("top5")})
    return pd.DataFrame(out).set_index("split")


def knowledge_record(tables: Mapping[str, pd.DataFrame]) -> dict:
    """Summaries and per-class numbers of several teachers as plain JSON-ready values."""
    def plain(value):
        return None if pd.isna(value) else float(value)

    out = {}
    for teacher, table in tables.items():
        summary = knowledge_summary(table)
        out[teacher] = {"summary": {split: {k: plain(v) for k, v in row.items()} for split, row in summary.iterrows()},
                        "per_class": {r["class"]: {"split": r.split, "known": bool(r.known), "top1": plain(r.top1),
                                                   "top5": plain(r.top5)} for _, r in table.iterrows()}}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """python -m sbka_lite.teacher_knowledge --out results/teacher_knowledge_synthetic.json (the demo recipe)."""
    import argparse

    from .config import TrainConfig
    from .data.presets import synthetic_benchmark
    from .paths import repo_root, write_json_atomic

    parser = argparse.ArgumentParser(prog="python -m sbka_lite.teacher_knowledge", description=__doc__)
    parser.add_argument("--out", default="results/teacher_knowledge_synthetic.json")
    parser.add_argument("--config", default="configs/demo.yaml", help="the recipe whose teachers are measured")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    recipe = TrainConfig.from_yaml(repo_root() / args.config)
    recipe = recipe.smoke() if args.smoke else recipe
    benchmark = synthetic_benchmark(args.smoke)
    tables = {source: teacher_knowledge(synthetic_teacher(source, recipe.backbone, recipe.image_size,
                                                          steps=recipe.pretraining_steps,
                                                          photos_per_class=recipe.pretraining_photos_per_class),
                                        benchmark, synthetic_targets(source), image_size=recipe.image_size)
              for source in ("imagenet", "photo_world")}
    for source, table in tables.items():
        print(f"{source} teacher at {recipe.image_size} px:\n{knowledge_summary(table).round(3).to_string()}\n")
    write_json_atomic(args.out, {"meta": {"image_size": recipe.image_size, "backbone": recipe.backbone,
                                          "seen photos": "train", "unseen photos": "zero (the gallery)",
                                          "top1": "share of a class's photos whose top prediction is a counterpart"},
                                 "teachers": knowledge_record(tables)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
