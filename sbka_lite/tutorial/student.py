"""The student edition (``make student``): every notebook with its exercise solutions removed and no outputs.

The solutions sit between nbgrader's ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers in cells whose
metadata says ``nbgrader.solution``; nbgrader's own `ClearSolutions` replaces each region with
``raise NotImplementedError()``, `ClearHiddenTests` removes the grade cells' hidden tests (between
``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``: the teacher's edition, the repository's notebooks, keeps
them) and `ClearOutput` drops outputs, so the edition is what nbgrader would release; `sbka_lite.tutorial.grading`
grades a learner's copy of it. The check cells stay, and tell a learner who runs them early that the exercise is not done yet.

    python -m sbka_lite.tutorial.student --out build/student

A rerun refreshes the edition, but never over a notebook the learner changed (copy it elsewhere, use another
``--out``, or pass ``--force``), and never into the folder of the source notebooks.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from sbka_lite.ownership import NotOurs, claim
from sbka_lite.paths import repo_root
from sbka_lite.tutorial.notebooks import notebook_paths

EXERCISE_TAGS = ("exercise", "exercise-check", "exercise-text")
TOOL = "sbka_lite.tutorial.student"  # the name in the edition's ownership manifest


def _preprocessors() -> list:
    try:  # a teaching extra: only the student edition needs it
        from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions
    except ImportError as error:
        raise ImportError("the student edition needs nbgrader: run `make setup` (it installs the dev extra) "
                          "or `pip install nbgrader`") from error
    return [ClearSolutions(), ClearHiddenTests(), ClearOutput()]


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `nb` with solution regions stubbed out and every output cleared."""
    nb, resources = nbformat.from_dict(nb), {}
    for preprocessor in _preprocessors():
        nb, resources = preprocessor.preprocess(nb, resources)
    for cell in nb.cells:  # ClearOutput keeps per-cell execution timings; a fresh edition has none
        cell.metadata.pop("execution", None)
    return nb


def exercise_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of the exercise, check and exercise-text cells (tagged in the notebook's metadata)."""
    return [i for i, cell in enumerate(nb.cells) if set(EXERCISE_TAGS) & set(cell.metadata.get("tags", []))]


def _refuse_the_sources(out: Path, sources: list[Path]) -> None:
    """The edition strips solutions: written over the source notebooks it would delete them for good."""
    folders = {path.resolve().parent for path in sources}
    same = out.resolve() in folders or any((out / p.name).exists() and (out / p.name).samefile(p) for p in sources)
    if same:
        raise ValueError(f"refusing --out {out}: it holds the source notebooks, and the student edition would strip "
                         "their solutions in place; choose another folder (the default is build/student)")


def build_student_edition(out: str | Path, notebooks: list[Path] | None = None, force: bool = False) -> list[Path]:
    """Write the student edition of every numbered notebook to `out`; returns the files written.

    Every notebook is rendered before any file is replaced, and all are replaced together, so an error (a full
    disk, a read-only file) leaves the previous edition as it was. A notebook the learner changed since this
    tool wrote it is never overwritten (`sbka_lite.ownership.NotOurs`) unless `force`; the folder of the
    source notebooks is refused always.
    """
    out = Path(out)
    if not out.is_absolute():
        out = repo_root() / out
    sources = list(notebooks or notebook_paths())
    _refuse_the_sources(out, sources)
    planned = {}
    for path in sources:
        text = nbformat.writes(student_notebook(nbformat.read(path, as_version=4)))
        planned[path.name] = (text if text.endswith("\n") else text + "\n").encode()  # as nbformat.write
    return claim(out, TOOL, force=force, planned=planned).write_all(planned)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="build/student", help="folder for the student notebooks (ignored by git)")
    parser.add_argument("--force", action="store_true", help="overwrite notebooks changed since this tool wrote them")
    args = parser.parse_args(argv)
    try:
        written = build_student_edition(args.out, force=args.force)
    except (NotOurs, ValueError) as error:
        print(f"[sbka-lite] student edition: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"[sbka-lite] student edition: could not write {error.filename or args.out}: "
              f"{error.strerror or error}; the previous edition is unchanged", file=sys.stderr)
        return 1
    stubbed = sum(bool(cell.metadata.get("nbgrader", {}).get("solution"))
                  for path in written for cell in nbformat.read(path, as_version=4).cells)
    print(f"[sbka-lite] student edition: {len(written)} notebooks, {stubbed} exercises -> {written[0].parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
