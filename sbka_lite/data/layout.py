"""Read the public ZS-SBIR benchmarks (the SAKE file-list layout) into a `Benchmark`.

The layout the public code bases share::

    <dataset root>/<zero folder>/<list name>_filelist_<split>.txt      split in train, test, zero

Each line is ``<image path relative to the dataset root> <int label>``. The path may contain
spaces, so the label is the *last* whitespace field. Each list numbers its own labels (the
zero lists count the unseen classes from 0), so the number only indexes classes within one
list: **a class is its folder name**, and that is what this module hands out.

Opening is lazy: lists are parsed and paths are checked with directory listings, images are
never decoded here (Sketchy alone lists ~160k of them). `verify_images` decodes a sample on
demand for the notebook's data check. Where the parts live: ``specs.py`` (the benchmarks),
``lists.py`` (one list, path safety), ``mask.py`` (the semantic mask), ``benchmark.py`` (the
`Benchmark` and the leakage guard); this module opens them and re-exports their public names.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Union

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sbka_lite.data.benchmark import Benchmark, CheckFiles, LeakageReport, guard_leakage, leakage_report
from sbka_lite.data.decode import decode_image
from sbka_lite.data.errors import DatasetError, ImageReadError
from sbka_lite.data.lists import FileList, read_filelist
from sbka_lite.data.mask import MASK_FILE, MASK_WIDTH, load_mask_pickle
from sbka_lite.data.specs import (
    BENCHMARKS,
    MODALITIES,
    SEEN_SPLITS,
    SPLITS,
    BenchmarkSpec,
    dataset_dir,
    get_spec,
)

__all__ = ["BENCHMARKS", "MASK_FILE", "MASK_WIDTH", "MODALITIES", "SEEN_SPLITS", "SPLITS", "Benchmark",
           "BenchmarkSpec", "CheckFiles", "FileList", "LeakageReport", "compare_with_official", "dataset_dir",
           "get_spec", "guard_leakage", "leakage_report", "load_mask_pickle", "open_benchmark", "read_filelist",
           "verify_images"]


def _resolve_root(root: str | os.PathLike, spec: BenchmarkSpec) -> Path:
    """The folder that holds ``spec.zero_folder``: ``root`` itself or ``root/spec.folder``."""
    root = Path(root).expanduser()
    nested = root / spec.folder
    if spec.script:
        hint = f"Download it with `python {spec.script}`, or pass the folder that holds {spec.zero_folder!r}."
    else:
        hint = f"Pass the folder that holds {spec.zero_folder!r}."
    if not root.is_dir():
        raise DatasetError(f"{spec.name}: dataset root {root} does not exist; expected the lists in "
                           f"{root / spec.zero_folder}. {hint}")
    for candidate in (root, nested):
        if (candidate / spec.zero_folder).is_dir():
            return candidate.resolve()
    raise DatasetError(f"{spec.name}: no {spec.zero_folder!r} folder; expected {root / spec.zero_folder} "
                       f"(or {nested / spec.zero_folder}) holding {spec.list_file('train', 'sketch')} and "
                       f"the other lists. {hint}")


def open_benchmark(root: str | os.PathLike, name: Union[str, BenchmarkSpec], *,
                   zero_folder: str | None = None, sketch_list: str | None = None,
                   photo_list: str | None = None, check_files: CheckFiles = True,
                   val_fraction: float = 0.1, seed: int = 0) -> Benchmark:
    """Open a benchmark stored in the SAKE file-list layout.

    Args:
        root: the dataset folder (the one holding the zero folder), or the data root that
            holds it under the benchmark's conventional folder name (e.g. ``data/Sketchy``).
        name: ``sketchy``, ``sketchy_split2``, ``tuberlin``, ``quickdraw``, ``synthetic``, or a
            `BenchmarkSpec`; ``zero_folder``/``sketch_list``/``photo_list`` override its fields
            (a custom dataset in the same layout).
        check_files: ``True`` fails when listed images are missing (one directory listing per
            folder, nothing is decoded); ``"drop"`` drops them with a warning; ``False`` skips
            every check on disk. Either of the first two refuses an image whose link or folder
            resolves outside the dataset root.
        val_fraction, seed: for benchmarks without ``test`` lists (QuickDraw), the share of each
            seen class's train sketches held out as ``test``, drawn reproducibly from ``seed``.

    Raises:
        DatasetError: the root or zero folder is missing or holds no lists; a list line is
            malformed or unsafe, or a listed image links outside the root; classes or images
            leak between seen and zero splits (`LeakageError`); listed files are missing (with
            ``check_files=True``); the mask is malformed.

    Warns:
        DatasetWarning: a list repeats a line (dropped, counted in ``counts()``), files were
            dropped, the mask does not cover the classes, or train and test lists overlap.
    """
    spec = get_spec(name, zero_folder=zero_folder, sketch_list=sketch_list, photo_list=photo_list)
    dataset_root = _resolve_root(root, spec)
    zero_dir = dataset_root / spec.zero_folder
    lists = {(split, modality): read_filelist(zero_dir / spec.list_file(split, modality))
             for split in SPLITS for modality in MODALITIES
             if (zero_dir / spec.list_file(split, modality)).is_file()}
    if not lists:
        expected = "\n  ".join(str(zero_dir / spec.list_file(split, modality))
                               for split in SPLITS for modality in MODALITIES)
        raise DatasetError(f"{spec.name}: {zero_dir} holds none of the expected lists:\n  {expected}\n"
                           "Check the zero folder and list names (zero_folder=, sketch_list=, photo_list=).")
    mask_path = zero_dir / MASK_FILE
    mask_rows = load_mask_pickle(mask_path) if mask_path.is_file() else None
    return Benchmark(dataset_root, spec, lists, mask_rows=mask_rows, check_files=check_files,
                     val_fraction=val_fraction, seed=seed)


def compare_with_official(benchmark: Benchmark) -> pd.DataFrame:
    """Found versus published sizes (only the quantities the release documents)."""
    found = {"classes/seen": len(benchmark.seen_classes), "classes/unseen": len(benchmark.unseen_classes)}
    for split in SPLITS:
        for modality in MODALITIES:
            try:
                found[f"{split}/{modality}"] = len(benchmark.items(split, modality))
            except DatasetError:
                found[f"{split}/{modality}"] = None
    rows = [{"quantity": key, "official": value, "found": found.get(key),
             "ok": found.get(key) == value} for key, value in benchmark.spec.official]
    return pd.DataFrame(rows, columns=["quantity", "official", "found", "ok"])


def verify_images(items: Iterable[tuple[str, str] | str], limit: int | None = None, *,
                  progress: bool = True) -> tuple[int, list[tuple[str, str]]]:
    """Decode images with the training decoder and report the ones that fail: ``(ok count, [(path, reason)])``.

    ``items`` are ``(path, class)`` pairs or bare paths. With ``limit`` only that many are
    checked, spread evenly over the list (a quick data check, not a full pass).
    """
    paths = [item if isinstance(item, (str, os.PathLike)) else item[0] for item in items]
    if limit is not None and limit < len(paths):
        picks = np.linspace(0, len(paths) - 1, num=max(limit, 0)).round().astype(int)
        paths = [paths[i] for i in dict.fromkeys(picks.tolist())]
    ok = 0
    failures: list[tuple[str, str]] = []
    for path in tqdm(paths, desc="decoding images", disable=not progress or len(paths) < 500):
        try:
            decode_image(path)
            ok += 1
        except ImageReadError as err:
            failures.append((str(path), err.reason))
    return ok, failures
