"""The benchmarks this package reads: where their lists live and what the official releases hold."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from sbka_lite.paths import default_data_root

SPLITS = ("train", "test", "zero")
MODALITIES = ("sketch", "photo")
SEEN_SPLITS = ("train", "test")


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def check_modality(modality: str) -> None:
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")


@dataclass(frozen=True)
class BenchmarkSpec:
    """Where one benchmark's lists live and what the official release contains.

    ``folder`` is the conventional folder name under the data root (the download scripts put
    the dataset there). ``holdout_test`` marks a benchmark without ``test`` lists (QuickDraw):
    the reader then holds out part of the seen-class train sketches for validation.
    ``official`` holds the published sizes (``"train/sketch"``, ``"classes/seen"``, ...).
    """

    name: str
    title: str
    folder: str
    zero_folder: str
    sketch_list: str
    photo_list: str
    holdout_test: bool = False
    official: tuple[tuple[str, int], ...] = ()
    script: str | None = None

    def list_name(self, modality: str) -> str:
        check_modality(modality)
        return self.sketch_list if modality == "sketch" else self.photo_list

    def list_file(self, split: str, modality: str) -> str:
        """File name of one list, e.g. ``png_ready_filelist_zero.txt``."""
        check_split(split)
        return f"{self.list_name(modality)}_filelist_{split}.txt"

    def official_sizes(self) -> dict[str, int]:
        return dict(self.official)


_SKETCHY = dict(folder="Sketchy", sketch_list="sketch_tx_000000000000_ready", photo_list="all_photo",
                script="data_scripts/get_sketchy.py")

BENCHMARKS: dict[str, BenchmarkSpec] = {
    "sketchy": BenchmarkSpec(
        name="sketchy", title="Sketchy Ext, split 1 (25 random unseen classes)", zero_folder="zeroshot1",
        official=(("classes/seen", 100), ("classes/unseen", 25), ("train/sketch", 55_252),
                  ("train/photo", 68_401), ("test/sketch", 5_000), ("zero/sketch", 15_229),
                  ("zero/photo", 17_101)),
        **_SKETCHY),
    "sketchy_split2": BenchmarkSpec(
        name="sketchy_split2", title="Sketchy Ext, split 2 (21 unseen classes outside ImageNet-1k)",
        zero_folder="zeroshot2",
        official=(("classes/seen", 104), ("classes/unseen", 21), ("zero/sketch", 12_694),
                  ("zero/photo", 12_553)),
        **_SKETCHY),
    "tuberlin": BenchmarkSpec(
        name="tuberlin", title="TU-Berlin Ext", folder="TUBerlin", zero_folder="zeroshot",
        sketch_list="png_ready", photo_list="ImageResized_ready",
        official=(("classes/seen", 220), ("classes/unseen", 30), ("zero/sketch", 2_400),
                  ("zero/photo", 27_989)),
        script="data_scripts/get_tuberlin.py"),
    "quickdraw": BenchmarkSpec(
        name="quickdraw", title="QuickDraw Ext", folder="QuickDraw", zero_folder="zeroshot",
        sketch_list="sketch", photo_list="all_photo", holdout_test=True,
        official=(("classes/seen", 80), ("classes/unseen", 30), ("zero/sketch", 92_291),
                  ("zero/photo", 54_151)),
        script="data_scripts/get_quickdraw.py"),
    "synthetic": BenchmarkSpec(
        name="synthetic", title="Synthetic sketches and photos (generated)", folder="synthetic",
        zero_folder="zeroshot", sketch_list="sketch", photo_list="photo"),
}


def get_spec(name: Union[str, BenchmarkSpec], **overrides) -> BenchmarkSpec:
    """The spec of a named benchmark, with any non-None ``overrides`` applied (a custom dataset
    in the same layout: ``get_spec("sketchy", zero_folder="my_split")``)."""
    if isinstance(name, BenchmarkSpec):
        spec = name
    elif name in BENCHMARKS:
        spec = BENCHMARKS[name]
    else:
        raise ValueError(f"unknown benchmark {name!r}; choose one of {sorted(BENCHMARKS)} "
                         "or pass a BenchmarkSpec for a custom dataset in the same layout")
    changes = {key: value for key, value in overrides.items() if value is not None}
    return dataclasses.replace(spec, **changes) if changes else spec


def dataset_dir(name: str, data_root: str | os.PathLike | None = None) -> Path:
    """Where the download scripts put a benchmark: ``<data root>/<spec.folder>``."""
    return Path(data_root if data_root is not None else default_data_root()).expanduser() / get_spec(name).folder
