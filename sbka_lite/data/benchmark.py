"""`Benchmark`: a ZS-SBIR benchmark built from its parsed file lists, and the leakage guard.

The guard runs when a benchmark is built: an unseen class in a seen split, or one image in
both a seen split and the zero split, is a `LeakageError`, not a warning. `leakage_report`
is the one count of that overlap; the guard and `Benchmark.leakage_overlap` both use it.
"""
from __future__ import annotations

import os
import unicodedata
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence, Union

import numpy as np
import pandas as pd

from sbka_lite.data.errors import DatasetError, DatasetWarning, LeakageError
from sbka_lite.data.lists import SHOW, FileList, scan_listed_files
from sbka_lite.data.mask import MASK_FILE, MASK_WIDTH
from sbka_lite.data.specs import MODALITIES, SEEN_SPLITS, SPLITS, BenchmarkSpec, check_modality, check_split
from sbka_lite.paths import shown

CheckFiles = Union[bool, Literal["drop"]]
Key = tuple[str, str]  # (split, modality)


@dataclass(frozen=True)
class LeakageReport:
    """What the seen splits (train, test) share with the zero split."""

    classes: tuple[str, ...]  # unseen classes that also appear in a seen list
    images: tuple[str, ...]  # relative paths listed in a seen list and in a zero list
    details: tuple[str, ...]  # one readable line per finding, naming the lists

    def counts(self) -> dict[str, int]:
        return {"images": len(self.images), "classes": len(self.classes)}

    def __bool__(self) -> bool:
        return bool(self.classes or self.images)


class _RealPaths:
    """Where a listed path really leads (links and linked folders resolved, one Unicode form), so two
    spellings of one image, or a seen folder linked to an unseen one, are one image to the guard."""

    def __init__(self, root: Path | None) -> None:
        self.root, self.folders = root, {}

    def __call__(self, rel: str) -> str:
        if self.root is None:
            return _nfc(os.path.normpath(rel))
        head, _, name = rel.rpartition("/")
        if head not in self.folders:  # one realpath and one directory scan per folder, not per image
            folder = os.path.join(self.root, head)
            try:
                with os.scandir(folder) as entries:
                    links = {entry.name for entry in entries if entry.is_symlink()}
            except OSError:
                links = set()
            self.folders[head] = (os.path.realpath(folder) + os.sep, links, folder)
        real_folder, links, folder = self.folders[head]
        return _nfc(os.path.realpath(os.path.join(folder, name)) if name in links else real_folder + name)


def _nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def leakage_report(lists: dict[Key, FileList], root: Path | None = None) -> LeakageReport:
    """Count the unseen classes and images of the zero lists that also sit in a seen list (paths
    compared where they really lead under `root`, when given)."""
    where = _RealPaths(root)
    zero_classes: set[str] = set()
    zero_paths: dict[str, str] = {}
    for modality in MODALITIES:
        parsed = lists.get(("zero", modality))
        if parsed:
            zero_classes.update(parsed.classes)
            zero_paths.update((where(path), parsed.path.name) for path in parsed.rel_paths)
    classes: dict[str, None] = {}
    images: dict[str, None] = {}
    details: list[str] = []
    for key in ((split, modality) for split in SEEN_SPLITS for modality in MODALITIES):
        parsed = lists.get(key)
        if not parsed:
            continue
        for cls in sorted(zero_classes.intersection(parsed.classes)):
            classes[cls] = None
            details.append(f"class {cls!r} is in {parsed.path.name} and in the zero lists")
        for path in parsed.rel_paths:
            other = zero_paths.get(where(path))
            if other:
                images[where(path)] = None
                details.append(f"{path} is in {parsed.path.name} and in {other}")
    return LeakageReport(tuple(classes), tuple(images), tuple(details))


def guard_leakage(lists: dict[Key, FileList], root: Path | None = None) -> None:
    """Raise `LeakageError` when any unseen class or image also sits in a seen split."""
    report = leakage_report(lists, root)
    if report:
        counts = report.counts()
        raise LeakageError(
            f"leakage: {counts['classes']} unseen class(es) and {counts['images']} image(s) appear in both a seen "
            "split (train/test) and the zero split; training on them would make the zero-shot results "
            "meaningless. First few:\n  " + "\n  ".join(report.details[:SHOW]) +
            "\nUse the official lists unchanged, or fix the custom split so the two are disjoint.", report)


class Benchmark:
    """A ZS-SBIR benchmark read from its file lists: classes, items per split and modality,
    and the semantic mask. Build it with `open_benchmark`."""

    def __init__(self, root: Path, spec: BenchmarkSpec, lists: dict[Key, FileList], *,
                 mask_rows: dict[int, np.ndarray] | None, check_files: CheckFiles = True,
                 val_fraction: float = 0.1, seed: int = 0) -> None:
        self.root = root
        self.spec = spec
        self.name = spec.name
        self.zero_dir = root / spec.zero_folder
        self._lists = lists
        self.semantic_mask: dict[str, np.ndarray] | None = None
        self.missing_files: dict[Key, list[str]] = {}
        self.seen_classes = _ordered_classes(lists, "train")
        self.unseen_classes = _ordered_classes(lists, "zero")
        guard_leakage(lists, root)

        rel: dict[Key, list[tuple[str, str]]] = {
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

    @property
    def duplicate_lines(self) -> dict[Key, list[tuple[int, int]]]:
        """Per list, the dropped repeated lines as ``(line, line it repeats)``."""
        return {key: list(parsed.duplicates) for key, parsed in self._lists.items() if parsed.duplicates}

    def leakage_overlap(self) -> dict[str, int]:
        """How many images and unseen classes the seen splits share with the zero split (the
        guard's own count, so 0 and 0 for any benchmark that opened)."""
        return leakage_report(self._lists, self.root).counts()

    def items(self, split: str, modality: str) -> list[tuple[str, str]]:
        """``(absolute image path, class name)`` for one split and modality, in list order.

        The SAKE layout has no photo ``test`` list: that split is ``[]``. Any other missing list
        raises `DatasetError` naming the file that was expected.
        """
        check_split(split)
        check_modality(modality)
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

    def counts(self) -> pd.DataFrame:
        """One row per (split, modality): classes, images, dropped duplicate lines and missing
        files, and where the items come from."""
        rows = []
        for split in SPLITS:
            for modality in MODALITIES:
                pairs = self._items.get((split, modality))
                parsed = self._lists.get((split, modality))
                rows.append({"split": split, "modality": modality,
                             "classes": len({cls for _, cls in pairs or ()}),
                             "images": len(pairs or ()),
                             "duplicate lines": len(parsed.duplicates) if parsed else 0,
                             "missing files": len(self.missing_files.get((split, modality), ())),
                             "source": self._source(split, modality)})
        return pd.DataFrame(rows).set_index(["split", "modality"])

    def __repr__(self) -> str:
        plural = {"sketch": "sketches", "photo": "photos"}

        def part(split: str) -> str:
            shown = [f"{len(self._items[(split, m)]):,} {plural[m]}" for m in MODALITIES if (split, m) in self._items]
            return f"{split}: " + (", ".join(shown) if shown else "-")

        mask = f"{len(self.semantic_mask)} rows" if self.semantic_mask else "none (zeros)"
        lines = [f"Benchmark {self.name!r} ({self.title}) at {shown(self.root)}",
                 f"  classes: {len(self.seen_classes)} seen, {len(self.unseen_classes)} unseen; "
                 f"semantic mask: {mask}",
                 "  " + " | ".join(part(split) for split in SPLITS)]
        if self.test_source not in ("list", "absent"):
            lines.append(f"  test sketches: {self.test_source}")
        if self.missing_lists:
            lines.append("  missing lists: " + ", ".join(p.name for p in self.missing_lists))
        duplicates = sum(map(len, self.duplicate_lines.values()))
        if duplicates:
            lines.append(f"  {duplicates:,} duplicate list lines were dropped")
        dropped = sum(map(len, self.missing_files.values()))
        if dropped:
            lines.append(f"  {dropped:,} listed images missing on disk were dropped")
        return "\n".join(lines)

    # ------------------------------------------------------------------ internals
    def _legitimately_absent(self, split: str, modality: str) -> bool:
        return (split, modality) == ("test", "photo")

    def _source(self, split: str, modality: str) -> str:
        if (split, modality) in self._items:
            if (split, modality) == ("test", "sketch") and self.test_source != "list":
                return self.test_source
            return self.spec.list_file(split, modality)
        if self._legitimately_absent(split, modality):
            return "none in this layout"
        return f"MISSING {self.spec.list_file(split, modality)}"

    def _check_files(self, drop: bool) -> None:
        missing: dict[Key, list[str]] = {}
        for key, pairs in self._items.items():
            absent, escaping = scan_listed_files((path for path, _ in pairs), self.root)
            if escaping:
                raise self._escape_error(key, escaping)
            if absent:
                missing[key] = absent
        if missing:
            self._report_missing(missing, drop)

    def _escape_error(self, key: Key, escaping: list[tuple[str, str]]) -> DatasetError:
        # The same rule as for '..' and absolute list paths, applied to where links really lead.
        parsed = self._lists.get(key) or self._lists[("train", key[1])]  # held-out test: from train
        path, real = escaping[0]
        rel = os.path.relpath(path, self.root)
        line = parsed.line_of(rel)
        return DatasetError(
            f"{parsed.path.name}, line {line}: {rel!r} is a symbolic link (or lies in a linked folder) that "
            f"resolves to {real}, outside the dataset root {self.root}; listed images must stay inside "
            f"the root, as with '..' and absolute paths ({len(escaping)} such image(s) in this list).\n"
            f"  list: {parsed.path}\nCopy the files into the dataset, or link the whole dataset folder "
            "instead (the root itself may be a link).")

    def _report_missing(self, missing: dict[Key, list[str]], drop: bool) -> None:
        total = sum(map(len, missing.values()))
        listed = sum(map(len, self._items.values()))
        where = ", ".join(f"{split}/{modality}: {len(paths):,}" for (split, modality), paths in missing.items())
        first = [path for paths in missing.values() for path in paths][:SHOW]
        summary = f"{total:,} of {listed:,} listed images are missing under {self.root} ({where})"
        if drop:
            warnings.warn(f"{self.name}: {summary}; they were dropped, so counts differ from the "
                          "official sizes", DatasetWarning, stacklevel=5)
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
                          "labels to classes; the mask is ignored", DatasetWarning, stacklevel=4)
            return {}
        unknown = sorted(set(rows) - set(class_of))
        if unknown:
            warnings.warn(f"{self.name}: {MASK_FILE} has rows for labels {unknown[:SHOW]} ({len(unknown)} "
                          "in all) that no train list uses; they are ignored", DatasetWarning, stacklevel=4)
        mask = {class_of[label]: row for label, row in rows.items() if label in class_of}
        uncovered = [cls for cls in self.seen_classes if cls not in mask]
        if uncovered:
            warnings.warn(f"{self.name}: {MASK_FILE} has no row for seen classes {uncovered[:SHOW]} "
                          f"({len(uncovered)} in all); their mask is zeros", DatasetWarning, stacklevel=4)
        return mask


class SeenSubset:
    """A benchmark seen through `n` of its seen classes: the train and test items of the others are
    dropped, the unseen (zero) lists are unchanged. The draw depends on `seed` alone (default 0, not a
    run's seed), so every run of a variant trains on the same classes and runs stay paired by seed.

    The few-class variant of the synthetic ablation: with few seen classes plain fine-tuning has
    little to learn that transfers and much to specialise on, the classic setting for forgetting.
    """

    def __init__(self, benchmark, n: int, seed: int = 0) -> None:
        classes = list(benchmark.seen_classes)
        if not 0 < n <= len(classes):
            raise ValueError(f"train_classes={n}: the benchmark has {len(classes)} seen classes; use 1..{len(classes)} "
                             "(0 trains on all of them)")
        picked = np.sort(np.random.default_rng([seed, 0x5EE9]).choice(len(classes), size=n, replace=False))
        self.seen_classes = [classes[i] for i in picked]
        self.benchmark = benchmark

    def items(self, split: str, modality: str) -> list[tuple[str, str]]:
        rows = self.benchmark.items(split, modality)
        if split == "zero":
            return rows
        keep = set(self.seen_classes)
        return [row for row in rows if row[1] in keep]

    def __getattr__(self, name: str):
        return getattr(self.benchmark, name)


def _ordered_classes(lists: dict[Key, FileList], split: str) -> list[str]:
    """Classes of one split ordered by label: the sketch list's numbering, then classes only
    the photo list has, by the photo list's numbering."""
    ordered: list[str] = []
    for modality in MODALITIES:
        parsed = lists.get((split, modality))
        if parsed:
            ordered += [cls for cls in parsed.classes_by_label() if cls not in ordered]
    return ordered


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


def _warn_on_overlap(rel: dict[Key, list[tuple[str, str]]], splits: tuple[str, str], why: str) -> None:
    for modality in MODALITIES:
        first, second = (rel.get((split, modality), ()) for split in splits)
        shared = {os.path.normpath(p) for p, _ in first} & {os.path.normpath(p) for p, _ in second}
        if shared:
            warnings.warn(f"{len(shared)} {modality} image(s) are in both the {splits[0]} and {splits[1]} "
                          f"lists ({why}), e.g. {sorted(shared)[:3]}", DatasetWarning, stacklevel=4)


def _warn_on_unmatched_zero_classes(items: dict[Key, list[tuple[str, str]]], name: str) -> None:
    # A zero sketch class without photos has no relevant gallery item: its AP is undefined.
    if ("zero", "sketch") not in items or ("zero", "photo") not in items:
        return
    sketch = {cls for _, cls in items[("zero", "sketch")]}
    photo = {cls for _, cls in items[("zero", "photo")]}
    if sketch - photo:
        warnings.warn(f"{name}: unseen classes {sorted(sketch - photo)[:SHOW]} have sketches but no "
                      "photos (folder names differ between the two lists?); their queries have "
                      "nothing to retrieve", DatasetWarning, stacklevel=4)
