"""The two sizes of the generated benchmark every notebook agrees on (smoke for CI, demo for people).

A notebook opened on its own generates (or reuses) exactly the benchmark notebook 01 made, because
the sizes live here and the generator is deterministic and caches by its parameters.
"""
from __future__ import annotations

import pandas as pd

from sbka_lite.data.errors import DatasetError
from sbka_lite.data.layout import open_benchmark
from sbka_lite.data.synthetic import list_synthetic_classes, make_synthetic_benchmark
from sbka_lite.paths import synthetic_root

# Smoke: a handful of images per class at 64 px, so the whole series runs in CI in minutes.
SMOKE_SIZES = dict(image_size=64, sketches_per_class=3, test_sketches_per_class=2, photos_per_class=3,
                   unseen_sketches_per_class=3, unseen_photos_per_class=5)
# Demo: the generator's defaults (about 4.7k images at 128 px).
DEMO_SIZES: dict = {}


def synthetic_sizes(smoke: bool) -> dict:
    return dict(SMOKE_SIZES if smoke else DEMO_SIZES)


def synthetic_benchmark(smoke: bool, root: str = "", *, seed: int = 0, progress: bool = True):
    """Generate the synthetic benchmark of that size if it is not on disk yet, then open it."""
    folder = make_synthetic_benchmark(synthetic_root(smoke, root), seed=seed, progress=progress, **synthetic_sizes(smoke))
    return open_benchmark(folder, "synthetic")


def class_table(benchmark):
    """One row per class: split (seen/unseen), sketch and photo counts, and for the synthetic
    benchmark its family and role (which unseen classes extend a seen family, which are new)."""
    rows = {}
    for split, part in (("train", "seen"), ("test", "seen"), ("zero", "unseen")):
        for modality in ("sketch", "photo"):
            for _, name in _items_or_empty(benchmark, split, modality):
                row = rows.setdefault(name, {"class": name, "split": part, "sketches": 0, "photos": 0})
                row["sketches" if modality == "sketch" else "photos"] += 1
    table = pd.DataFrame(list(rows.values()))
    if benchmark.name == "synthetic":
        info = pd.DataFrame(list_synthetic_classes())[["name", "family", "role"]].rename(columns={"name": "class"})
        table = table.merge(info, on="class", how="left")
    return table.sort_values(["split", "class"], ascending=[False, True]).reset_index(drop=True)


def _items_or_empty(benchmark, split, modality):
    try:
        return benchmark.items(split, modality)
    except DatasetError:
        return []
