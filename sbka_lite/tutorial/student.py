"""The student edition (``make student``): every notebook with its exercise solutions removed and no outputs.

The solutions sit between nbgrader's ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers in cells whose
metadata says ``nbgrader.solution``; nbgrader's own `ClearSolutions` replaces each region with
``raise NotImplementedError()`` and `ClearOutput` drops outputs, so the edition is what nbgrader would
release. The check cells stay, and tell a learner who runs them early that the exercise is not done yet.

    python -m sbka_lite.tutorial.student --out build/student
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from sbka_lite.paths import repo_root
from sbka_lite.tutorial.notebooks import notebook_paths

EXERCISE_TAGS = ("exercise", "exercise-check", "exercise-text")


def _preprocessors() -> list:
    try:  # a teaching extra: only the student edition needs it
        from nbgrader.preprocessors import ClearOutput, ClearSolutions
    except ImportError as error:
        raise ImportError("the student edition needs nbgrader: run `make setup` (it installs the dev extra) "
                          "or `pip install nbgrader`") from error
    return [ClearSolutions(), ClearOutput()]


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


def build_student_edition(out: str | Path, notebooks: list[Path] | None = None) -> list[Path]:
    """Write the student edition of every numbered notebook to `out`; returns the files written."""
    out = Path(out)
    if not out.is_absolute():
        out = repo_root() / out
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks or notebook_paths():
        nb = student_notebook(nbformat.read(path, as_version=4))
        nbformat.write(nb, out / path.name)
        written.append(out / path.name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="build/student", help="folder for the student notebooks (ignored by git)")
    args = parser.parse_args(argv)
    written = build_student_edition(args.out)
    stubbed = sum(bool(cell.metadata.get("nbgrader", {}).get("solution"))
                  for path in written for cell in nbformat.read(path, as_version=4).cells)
    print(f"[sbka-lite] student edition: {len(written)} notebooks, {stubbed} exercises -> {written[0].parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
