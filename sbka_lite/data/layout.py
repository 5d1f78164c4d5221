"""Read the public ZS-SBIR benchmarks (the SAKE file-list layout) into a `Benchmark`.

The layout the public code bases share::

    <dataset root>/<zero folder>/<list name>_filelist_<split>.txt      split in train, test, zero

Each line is ``<image path relative to the dataset root> <int label>``. The path may contain
spaces, so the label is the *last* whitespace field. Each list numbers its own labels (the
zero lists count the unseen classes from 0), so the number only indexes classes within one
list: **a class is its folder name**, and that is what this module hands out.

Opening is lazy: lists are parsed and paths are checked with directory listings, images are
never decoded here (Sketchy alone lists ~160k of them). Decoding lives in ``loading.py``;
`verify_images` decodes a sample on demand for the notebook's data check.

The leakage guard runs at open: an unseen class in a seen split, or one image in both a seen
split and the zero split, is an error, not a warning.
"""
from __future__ import annotations

import dataclasses
import os
import pickle
import re
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Literal, Sequence, Union

import numpy as np

from sbka_lite.data.errors import DatasetError, ImageReadError

if TYPE_CHECKING:  # pandas is imported only when a table is asked for
    import pandas as pd

SPLITS = ("train", "test", "zero")
MODALITIES = ("sketch", "photo")
SEEN_SPLITS = ("train", "test")
MASK_FILE = "cid_mask.pickle"
MASK_WIDTH = 1000  # one column per ImageNet-1k class
_SHOW = 5  # offenders quoted in an error message


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
        _check_modality(modality)
        return self.sketch_list if modality == "sketch" else self.photo_list

    def list_file(self, split: str, modality: str) -> str:
        """File name of one list, e.g. ``png_ready_filelist_zero.txt``."""
        _check_split(split)
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


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def _check_modality(modality: str) -> None:
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")


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
    if data_root is None:
        from sbka_lite.paths import default_data_root
        data_root = default_data_root()
    return Path(data_root).expanduser() / get_spec(name).folder


# ----------------------------------------------------------------------------- list parsing

_DRIVE = re.compile(r"^[A-Za-z]:")
_SEPARATORS = re.compile(r"[\\/]")


@dataclass
class FileList:
    """One parsed list: per line its relative path and class folder, plus the list's own
    numbering ``label_of`` (class -> label)."""

    path: Path
    rel_paths: list[str]
    classes: list[str]
    label_of: dict[str, int]

    def classes_by_label(self) -> list[str]:
        return sorted(self.label_of, key=self.label_of.__getitem__)


def _path_problem(rel: str) -> str | None:
    if not rel:
        return "the image path is empty"
    if rel.startswith(("/", "\\")) or _DRIVE.match(rel):
        return f"path {rel!r} is absolute; list paths must be relative to the dataset root"
    if ".." in _SEPARATORS.split(rel):
        return f"path {rel!r} contains '..' and could lead out of the dataset root"
    head, _, file_name = rel.rpartition("/")
    folder = head.rpartition("/")[2]
    if not file_name or folder in ("", "."):
        return f"path {rel!r} has no class folder (a class is the image's folder name)"
    return None


def _line_error(path: Path, lineno: int, raw: str, why: str) -> DatasetError:
    return DatasetError(f"{path.name}, line {lineno}: {why}.\n  line: {raw!r}\n  list: {path}\n"
                        "Fix the line or re-download the lists (see data_scripts/README.md).")


def read_filelist(path: str | os.PathLike) -> FileList:
    """Parse one ``<path> <label>`` list, refusing malformed or unsafe lines with the list's
    name and line number. Blank lines are skipped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DatasetError(f"{path} is not UTF-8 text ({err}); is it really a file list?") from err
    rel_paths: list[str] = []
    classes: list[str] = []
    class_of_label: dict[int, tuple[str, int]] = {}
    label_of_class: dict[str, tuple[int, int]] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        fields = line.rsplit(None, 1)
        if len(fields) != 2:
            raise _line_error(path, lineno, raw, "expected '<image path> <integer label>'")
        rel, label_text = fields[0].strip(), fields[1]
        try:
            label = int(label_text)
        except ValueError:
            raise _line_error(path, lineno, raw, f"the label {label_text!r} is not an integer") from None
        if label < 0:
            raise _line_error(path, lineno, raw, f"the label {label} is negative")
        problem = _path_problem(rel)
        if problem:
            raise _line_error(path, lineno, raw, problem)
        cls = rel.rpartition("/")[0].rpartition("/")[2]
        seen_class = class_of_label.setdefault(label, (cls, lineno))
        if seen_class[0] != cls:
            raise _line_error(path, lineno, raw, f"label {label} names class folder {cls!r} here but "
                              f"{seen_class[0]!r} on line {seen_class[1]}; within one list a label "
                              "must always name the same class folder")
        seen_label = label_of_class.setdefault(cls, (label, lineno))
        if seen_label[0] != label:
            raise _line_error(path, lineno, raw, f"class folder {cls!r} has label {label} here but "
                              f"{seen_label[0]} on line {seen_label[1]}; within one list a class "
                              "must always have the same label")
        rel_paths.append(rel)
        classes.append(cls)
    return FileList(path, rel_paths, classes, {cls: lab for cls, (lab, _) in label_of_class.items()})


# ----------------------------------------------------------------------------- semantic mask

class _MaskUnpickler(pickle.Unpickler):
    """Unpickles plain containers of numpy arrays and nothing else: a downloaded pickle is
    untrusted, and an unrestricted one can run arbitrary code."""

    _ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
        ("collections", "OrderedDict"),
        ("_codecs", "encode"),  # protocol-2 pickles rebuild raw bytes with it; harmless
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a semantic-mask pickle")
        with warnings.catch_warnings():  # numpy 2 warns on the numpy.core alias old pickles use
            warnings.simplefilter("ignore", DeprecationWarning)
            return super().find_class(module, name)


def load_mask_pickle(path: str | os.PathLike) -> dict[int, np.ndarray]:
    """Read ``cid_mask.pickle``: label -> float32[1000] (a dict, a list, or a 2-D array by label)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            raw = _MaskUnpickler(handle, encoding="latin1").load()  # latin1: Python-2 numpy pickles
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise DatasetError(f"{path}: cannot read the semantic mask ({err}). Expected a pickled dict "
                           f"from seen-class label to {MASK_WIDTH} floats; delete the file to train "
                           "with a zero mask.") from err
    if isinstance(raw, dict):
        entries = list(raw.items())
    elif isinstance(raw, (list, tuple, np.ndarray)):
        entries = list(enumerate(raw))
    else:
        raise DatasetError(f"{path}: the semantic mask is a {type(raw).__name__}; expected a dict "
                           f"from seen-class label to {MASK_WIDTH} floats")
    rows: dict[int, np.ndarray] = {}
    for key, value in entries:
        try:
            label = int(key)
        except (TypeError, ValueError):
            raise DatasetError(f"{path}: mask key {key!r} is not an integer label") from None
        try:
            row = np.squeeze(np.asarray(value, dtype=np.float32))
        except (TypeError, ValueError) as err:
            raise DatasetError(f"{path}: the mask row for label {label} is not numeric ({err})") from None
        if row.shape != (MASK_WIDTH,):
            raise DatasetError(f"{path}: the mask row for label {label} has shape {np.shape(value)}; "
                               f"expected {MASK_WIDTH} values (one per ImageNet-1k class)")
        if not np.all(np.isfinite(row)):
            raise DatasetError(f"{path}: the mask row for label {label} holds NaN or infinite values")
        rows[label] = row
    return rows


# ----------------------------------------------------------------------------- the benchmark

CheckFiles = Union[bool, Literal["drop"]]


class Benchmark:
    """A ZS-SBIR benchmark read from its file lists: classes, items per split and modality,
    and the semantic mask. Build it with `open_benchmark`."""

    def __init__(self, root: Path, spec: BenchmarkSpec, lists: dict[tuple[str, str], FileList], *,
                 mask_rows: dict[int, np.ndarray] | None, check_files: CheckFiles = True,
                 val_fraction: float = 0.1, seed: int = 0) -> None:
        self.root = root
        self.spec = spec
        self.name = spec.name
        self.zero_dir = root / spec.zero_folder
        self._lists = lists
        self.semantic_mask: dict[str, np.ndarray] | None = None
        self.missing_files: dict[tuple[str, str], list[str]] = {}
        self.seen_classes = _ordered_classes(lists, "train")
        self.unseen_classes = _ordered_classes(lists, "zero")
        _guard_leakage(lists)

        rel: dict[tuple[str, str], list[tuple[str, str]]] = {
            key: list(zip(parsed.rel_paths, parsed.classes)) for key, parsed in lists.items()}
        self.test_source = "list" if ("test", "sketch") in lists else "absent"
        if spec.holdout_test and ("test", "sketch") not in lists and ("train", "sketch") in lists:
            if not 0.0 <= val_fraction < 1.0:
                raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
            rel[("train", "sketch")], rel[("test", "sketch")] = _hold_out(
                rel[("train", "sketch")], val_fraction, seed, self.seen_classes)
            self.test_source = f"held out from train ({val_fraction:.0%}, seed {seed})"
        _warn_on_overlap(rel, ("train", "test"), "validation is optimistic")

        root_text = str(root)
        self._items = {key: [(os.path.join(root_text, path), cls) for path, cls in pairs]
                       for key, pairs in rel.items()}
        if check_files:
            self._check_files(drop=check_files == "drop")
        _warn_on_unmatched_zero_classes(self._items, self.name)
        self.semantic_mask = self._map_mask(mask_rows) if mask_rows is not None else None

    # ------------------------------------------------------------------ public API
    @property
    def title(self) -> str:
        return self.spec.title

    def list_path(self, split: str, modality: str) -> Path:
        """Where the list for ``split``/``modality`` is (or would be)."""
        return self.zero_dir / self.spec.list_file(split, modality)

    @property
    def missing_lists(self) -> list[Path]:
        """Required lists that are absent (the photo ``test`` list is never required, nor the
        sketch one where the reader holds out its own)."""
        return [self.list_path(split, modality) for split in SPLITS for modality in MODALITIES
                if (split, modality) not in self._items and not self._legitimately_absent(split, modality)]

    def items(self, split: str, modality: str) -> list[tuple[str, str]]:
        """``(absolute image path, class name)`` for one split and modality, in list order.

        The SAKE layout has no photo ``test`` list: that split is ``[]``. Any other missing list
        raises `DatasetError` naming the file that was expected.
        """
        _check_split(split)
        _check_modality(modality)
        if (split, modality) in self._items:
            return list(self._items[(split, modality)])
        if self._legitimately_absent(split, modality):
            return []
        hint = (f"Run `python {self.spec.script}` to download the official lists"
                if self.spec.script else "Write the list, or regenerate the dataset")
        raise DatasetError(f"{self.name}: no {split} {modality} list; expected "
                           f"{self.list_path(split, modality)}. {hint}.")

    def mask_matrix(self, classes: Sequence[str]) -> np.ndarray:
        """The semantic mask rows of ``classes`` as float32 ``[len(classes), 1000]``; zeros for
        classes without a row (or everywhere when the benchmark ships no mask)."""
        matrix = np.zeros((len(classes), MASK_WIDTH), dtype=np.float32)
        if self.semantic_mask:
            for row, cls in enumerate(classes):
                if cls in self.semantic_mask:
                    matrix[row] = self.semantic_mask[cls]
        return matrix

    def counts(self) -> "pd.DataFrame":
        """One row per (split, modality): number of classes and images, and where they come from."""
        import pandas as pd

        rows = []
        for split in SPLITS:
            for modality in MODALITIES:
                pairs = self._items.get((split, modality))
                if pairs is not None:
                    source = (self.test_source if (split, modality) == ("test", "sketch")
                              and self.test_source != "list" else self.spec.list_file(split, modality))
                elif self._legitimately_absent(split, modality):
                    source = "none in this layout"
                else:
                    source = f"MISSING {self.spec.list_file(split, modality)}"
                rows.append({"split": split, "modality": modality,
                             "classes": len({cls for _, cls in pairs or ()}),
                             "images": len(pairs or ()),
                             "missing files": len(self.missing_files.get((split, modality), ())),
                             "source": source})
        return pd.DataFrame(rows).set_index(["split", "modality"])

    def __repr__(self) -> str:
        plural = {"sketch": "sketches", "photo": "photos"}

        def part(split: str) -> str:
            shown = [f"{len(self._items[(split, m)]):,} {plural[m]}" for m in MODALITIES if (split, m) in self._items]
            return f"{split}: " + (", ".join(shown) if shown else "-")

        mask = f"{len(self.semantic_mask)} rows" if self.semantic_mask else "none (zeros)"
        lines = [f"Benchmark {self.name!r} ({self.title}) at {self.root}",
                 f"  classes: {len(self.seen_classes)} seen, {len(self.unseen_classes)} unseen; "
                 f"semantic mask: {mask}",
                 "  " + " | ".join(part(split) for split in SPLITS)]
        if self.test_source not in ("list", "absent"):
            lines.append(f"  test sketches: {self.test_source}")
        if self.missing_lists:
            lines.append("  missing lists: " + ", ".join(p.name for p in self.missing_lists))
        dropped = sum(map(len, self.missing_files.values()))
        if dropped:
            lines.append(f"  {dropped:,} listed images missing on disk were dropped")
        return "\n".join(lines)

    # ------------------------------------------------------------------ internals
    def _legitimately_absent(self, split: str, modality: str) -> bool:
        return (split, modality) == ("test", "photo")

    def _check_files(self, drop: bool) -> None:
        missing = {key: found for key, pairs in self._items.items()
                   if (found := _missing_paths(path for path, _ in pairs))}
        if not missing:
            return
        total = sum(map(len, missing.values()))
        listed = sum(map(len, self._items.values()))
        where = ", ".join(f"{split}/{modality}: {len(paths):,}" for (split, modality), paths in missing.items())
        first = [path for paths in missing.values() for path in paths][:_SHOW]
        summary = f"{total:,} of {listed:,} listed images are missing under {self.root} ({where})"
        if drop:
            warnings.warn(f"{self.name}: {summary}; they were dropped, so counts differ from the "
                          "official sizes", stacklevel=4)
            for key, paths in missing.items():
                gone = set(paths)
                self._items[key] = [pair for pair in self._items[key] if pair[0] not in gone]
            self.missing_files = missing
            return
        script = f"re-run `python {self.spec.script}` (it re-extracts the archive), " if self.spec.script else ""
        raise DatasetError(f"{self.name}: {summary}. First few:\n  " + "\n  ".join(first) +
                           f"\nThe lists and the images do not match (wrong root, partial extraction "
                           f"or a different release): {script}or open with check_files='drop' to skip "
                           "them (counts then differ from the official sizes).")

    def _map_mask(self, rows: dict[int, np.ndarray]) -> dict[str, np.ndarray]:
        # The official mask is keyed by the train lists' numbering (the sketch list's first).
        class_of: dict[int, str] = {}
        for modality in ("photo", "sketch"):
            parsed = self._lists.get(("train", modality))
            if parsed:
                class_of.update({label: cls for cls, label in parsed.label_of.items()})
        if not class_of:
            warnings.warn(f"{self.name}: {MASK_FILE} is present but there is no train list to map its "
                          "labels to classes; the mask is ignored", stacklevel=4)
            return {}
        unknown = sorted(set(rows) - set(class_of))
        if unknown:
            warnings.warn(f"{self.name}: {MASK_FILE} has rows for labels {unknown[:_SHOW]} "
                          f"({len(unknown)} in all) that no train list uses; they are ignored", stacklevel=4)
        mask = {class_of[label]: row for label, row in rows.items() if label in class_of}
        uncovered = [cls for cls in self.seen_classes if cls not in mask]
        if uncovered:
            warnings.warn(f"{self.name}: {MASK_FILE} has no row for seen classes {uncovered[:_SHOW]} "
                          f"({len(uncovered)} in all); their mask is zeros", stacklevel=4)
        return mask


def _ordered_classes(lists: dict[tuple[str, str], FileList], split: str) -> list[str]:
    """Classes of one split ordered by label: the sketch list's numbering, then classes only
    the photo list has, by the photo list's numbering."""
    ordered: list[str] = []
    for modality in MODALITIES:
        parsed = lists.get((split, modality))
        if parsed:
            ordered += [cls for cls in parsed.classes_by_label() if cls not in ordered]
    return ordered


def _guard_leakage(lists: dict[tuple[str, str], FileList]) -> None:
    """No unseen class, and no single image, may sit in both a seen split and the zero split."""
    zero_classes: set[str] = set()
    zero_paths: dict[str, str] = {}
    for modality in MODALITIES:
        parsed = lists.get(("zero", modality))
        if parsed:
            zero_classes.update(parsed.classes)
            zero_paths.update((os.path.normpath(path), parsed.path.name) for path in parsed.rel_paths)
    class_hits: list[str] = []
    path_hits: list[str] = []
    for split in SEEN_SPLITS:
        for modality in MODALITIES:
            parsed = lists.get((split, modality))
            if not parsed:
                continue
            for cls in sorted(zero_classes.intersection(parsed.classes)):
                class_hits.append(f"class {cls!r} is in {parsed.path.name} and in the zero lists")
            for path in parsed.rel_paths:
                other = zero_paths.get(os.path.normpath(path))
                if other:
                    path_hits.append(f"{path} is in {parsed.path.name} and in {other}")
    if class_hits or path_hits:
        hits = class_hits + path_hits
        raise DatasetError(f"leakage: {len(class_hits)} unseen class(es) and {len(path_hits)} image(s) appear "
                           "in both a seen split (train/test) and the zero split; training on them would "
                           "make the zero-shot results meaningless. First few:\n  " + "\n  ".join(hits[:_SHOW]) +
                           "\nUse the official lists unchanged, or fix the custom split so the two are disjoint.")


def _hold_out(pairs: list[tuple[str, str]], fraction: float, seed: int,
              class_order: list[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Split ``pairs`` into (train, held-out), stratified by class, reproducible from ``seed``.

    Every class with at least two items gives ``round(fraction * n)`` of them (at least one,
    never all) when ``fraction > 0``; the draw does not depend on the lists' line order.
    """
    by_class: dict[str, list[int]] = defaultdict(list)
    for index, (_, cls) in enumerate(pairs):
        by_class[cls].append(index)
    rng = np.random.default_rng(seed)
    held: set[int] = set()
    for cls in class_order + sorted(set(by_class) - set(class_order)):
        indices = sorted(by_class.get(cls, ()), key=lambda i: pairs[i][0])
        if fraction <= 0 or len(indices) < 2:
            continue
        count = min(max(int(round(fraction * len(indices))), 1), len(indices) - 1)
        held.update(indices[i] for i in rng.permutation(len(indices))[:count])
    train = [pair for index, pair in enumerate(pairs) if index not in held]
    test = [pair for index, pair in enumerate(pairs) if index in held]
    return train, test


def _warn_on_overlap(rel: dict[tuple[str, str], list[tuple[str, str]]], splits: tuple[str, str], why: str) -> None:
    for modality in MODALITIES:
        first, second = (rel.get((split, modality), ()) for split in splits)
        shared = {os.path.normpath(p) for p, _ in first} & {os.path.normpath(p) for p, _ in second}
        if shared:
            warnings.warn(f"{len(shared)} {modality} image(s) are in both the {splits[0]} and {splits[1]} "
                          f"lists ({why}), e.g. {sorted(shared)[:3]}", stacklevel=4)


def _warn_on_unmatched_zero_classes(items: dict[tuple[str, str], list[tuple[str, str]]], name: str) -> None:
    # A zero sketch class without photos has no relevant gallery item: its AP is undefined.
    if ("zero", "sketch") not in items or ("zero", "photo") not in items:
        return
    sketch = {cls for _, cls in items[("zero", "sketch")]}
    photo = {cls for _, cls in items[("zero", "photo")]}
    if sketch - photo:
        warnings.warn(f"{name}: unseen classes {sorted(sketch - photo)[:_SHOW]} have sketches but no "
                      "photos (folder names differ between the two lists?); their queries have "
                      "nothing to retrieve", stacklevel=4)


def _missing_paths(paths: Iterable[str]) -> list[str]:
    """The paths that do not exist, found with one directory listing per folder (no stat per file)."""
    by_folder: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        by_folder[os.path.dirname(path)].append(path)
    missing: list[str] = []
    for folder, members in by_folder.items():
        try:
            present = set(os.listdir(folder))
        except (FileNotFoundError, NotADirectoryError):
            missing += members
            continue
        missing += [path for path in members if os.path.basename(path) not in present]
    return missing


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
            folder, nothing is decoded); ``"drop"`` drops them with a warning; ``False`` skips.
        val_fraction, seed: for benchmarks without ``test`` lists (QuickDraw), the share of each
            seen class's train sketches held out as ``test``, drawn reproducibly from ``seed``.

    Raises:
        DatasetError: the root or zero folder is missing or holds no lists; a list line is
            malformed or unsafe; classes or images leak between seen and zero splits; listed
            files are missing (with ``check_files=True``); the mask is malformed.
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


def compare_with_official(benchmark: Benchmark) -> "pd.DataFrame":
    """Found versus published sizes (only the quantities the release documents)."""
    import pandas as pd

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
    from tqdm.auto import tqdm

    from sbka_lite.data.decode import decode_image

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
