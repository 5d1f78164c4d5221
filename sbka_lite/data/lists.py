"""One ``<image path> <int label>`` file list: parsing and the rules that keep its paths safe.

Lists are downloaded files, so every line is checked: a path that is absolute or has a ``..``
component is refused with the list's name and line number, and so (when files are checked on
disk) is a listed image whose folder or symbolic link resolves outside the dataset root. A line
repeated in one list is dropped with a `DatasetWarning` naming the lines: a repeated image would
count twice in training and as two gallery items in evaluation, which changes the metrics.
"""
from __future__ import annotations

import os
import re
import unicodedata
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from sbka_lite.data.errors import DatasetError, DatasetWarning

SHOW = 5  # offenders quoted in a message
_DRIVE = re.compile(r"^[A-Za-z]:")
_SEPARATORS = re.compile(r"[\\/]")


@dataclass
class FileList:
    """One parsed list: per kept line its relative path, class folder and line number, plus the
    list's own numbering ``label_of`` (class -> label) and the dropped ``duplicates``
    (``(line, line it repeats)``)."""

    path: Path
    rel_paths: list[str]
    classes: list[str]
    label_of: dict[str, int]
    line_numbers: list[int] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)

    def classes_by_label(self) -> list[str]:
        return sorted(self.label_of, key=self.label_of.__getitem__)

    def line_of(self, rel_path: str) -> int | None:
        """The line that lists ``rel_path`` (compared after normalisation), if any."""
        wanted = os.path.normpath(rel_path)
        for rel, line in zip(self.rel_paths, self.line_numbers):
            if os.path.normpath(rel) == wanted:
                return line
        return None


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


def _parse_line(path: Path, lineno: int, raw: str) -> tuple[str, str, int]:
    """``(relative path, class folder, label)`` of one non-blank line, or a `DatasetError`."""
    fields = raw.strip().rsplit(None, 1)
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
    # one Unicode form: "café" typed on macOS (NFD) and on Linux (NFC) must be one class
    return rel, unicodedata.normalize("NFC", rel.rpartition("/")[0].rpartition("/")[2]), label


def _check_numbering(path: Path, lineno: int, raw: str, cls: str, label: int,
                     class_of_label: dict[int, tuple[str, int]], label_of_class: dict[str, tuple[int, int]]) -> None:
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


def read_filelist(path: str | os.PathLike) -> FileList:
    """Parse one ``<path> <label>`` list, refusing malformed or unsafe lines with the list's
    name and line number. Blank lines are skipped; a repeated path (after normalisation) is
    dropped with a `DatasetWarning` naming the lines."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DatasetError(f"{path} is not UTF-8 text ({err}); is it really a file list?") from err
    parsed = FileList(path, [], [], {})
    class_of_label: dict[int, tuple[str, int]] = {}
    label_of_class: dict[str, tuple[int, int]] = {}
    first_line: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        rel, cls, label = _parse_line(path, lineno, raw)
        _check_numbering(path, lineno, raw, cls, label, class_of_label, label_of_class)
        first = first_line.setdefault(os.path.normpath(rel), lineno)
        if first != lineno:
            parsed.duplicates.append((lineno, first))
            continue
        parsed.rel_paths.append(rel)
        parsed.classes.append(cls)
        parsed.line_numbers.append(lineno)
    parsed.label_of = {cls: label for cls, (label, _) in label_of_class.items()}
    if parsed.duplicates:
        _warn_duplicates(parsed)
    return parsed


def _warn_duplicates(parsed: FileList) -> None:
    shown = ", ".join(f"line {line} repeats line {first}" for line, first in parsed.duplicates[:SHOW])
    more = f" (and {len(parsed.duplicates) - SHOW} more)" if len(parsed.duplicates) > SHOW else ""
    warnings.warn(f"{parsed.path.name}: {len(parsed.duplicates)} duplicate line(s) dropped: {shown}{more}. "
                  f"A repeated image would count twice in training and as two gallery items in "
                  f"evaluation. List: {parsed.path}", DatasetWarning, stacklevel=3)


def _inside(real: str, real_root: str) -> bool:
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def scan_listed_files(paths: Iterable[str], root: str | os.PathLike) -> tuple[list[str], list[tuple[str, str]]]:
    """``(missing, escaping)`` for absolute image paths under ``root``: the ones that do not
    exist, and ``(path, where it resolves)`` for those whose symbolic link or folder leads
    outside ``root``. One directory scan per folder; only links and linked folders are resolved."""
    real_root = os.path.realpath(root)
    by_folder: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        by_folder[os.path.dirname(path)].append(path)
    missing: list[str] = []
    escaping: list[tuple[str, str]] = []
    for folder, members in by_folder.items():
        try:
            with os.scandir(folder) as entries:
                present = {entry.name: entry.is_symlink() for entry in entries}
        except (FileNotFoundError, NotADirectoryError):
            missing += members
            continue
        folder_outside = not _inside(os.path.realpath(folder), real_root)
        for path in members:
            is_link = present.get(os.path.basename(path))
            if is_link is None:
                missing.append(path)
            elif is_link or folder_outside:
                real = os.path.realpath(path)
                if not _inside(real, real_root):
                    escaping.append((path, real))
    return missing, escaping
