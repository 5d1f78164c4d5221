"""Grading the exercises with nbgrader's autograde: a learner's notebooks scored by the hidden tests.

The repository's notebooks are the teacher's edition: every exercise's check cell is an nbgrader grade cell with
points and a hidden part (``### BEGIN HIDDEN TESTS``: the same check on more and other inputs, or the answer to a
judgement). The student edition (``make student``) has the solutions and the hidden parts removed. Here each
notebook is one nbgrader assignment of a course folder: its teacher's version is the source, each learner's copy
a submission; nbgrader runs the submission with the grade cells (hidden parts included) put back, and scores them.

    python -m sbka_lite.tutorial.grading --course build/course alice=work/07_evaluation.ipynb bob=...

Notebooks run in smoke mode unless ``--demo``: grading checks the exercises, not the training.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from sbka_lite.tutorial.notebooks import notebook_paths

COURSE_ID = "sbka-lite"
CELL_TIMEOUT = 600  # seconds per cell: a notebook may train its smoke model on first use


def _api(course: Path):
    try:
        from nbgrader.apps import NbGraderAPI
        from traitlets.config import Config
    except ImportError as error:
        raise ImportError("grading needs nbgrader: run `make setup` (the dev extra installs it)") from error
    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    config.Execute.timeout = CELL_TIMEOUT
    return NbGraderAPI(config=config)


def _teacher_notebook(name: str) -> Path:
    found = {p.name: p for p in notebook_paths()}
    if name not in found:
        raise ValueError(f"{name!r} is not a notebook of the series ({sorted(found)}): name a submission after the "
                         "notebook it answers, e.g. 07_evaluation.ipynb")
    return found[name]


def autograde(submissions: dict[str, list[str | Path]], course: str | Path, *, smoke: bool = True
              ) -> dict[str, dict[str, tuple[float, float]]]:
    """Score each learner's notebooks: ``{learner: {notebook name: (score, max score)}}``.

    `submissions` maps a learner to their copies of series notebooks (each file named as the notebook it answers);
    `course` is the nbgrader course folder (created; its gradebook keeps every grade)."""
    course = Path(course).expanduser().absolute()
    course.mkdir(parents=True, exist_ok=True)
    # nbgrader runs the `alembic` command of its own environment, and the notebooks read SBKA_SMOKE
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    if smoke:
        os.environ["SBKA_SMOKE"] = "1"
    api = _api(course)
    released = set()
    scores: dict[str, dict[str, tuple[float, float]]] = {}
    for learner, paths in submissions.items():
        for path in map(Path, paths):
            teacher = _teacher_notebook(path.name)
            assignment = teacher.stem
            if assignment not in released:
                (course / "source" / assignment).mkdir(parents=True, exist_ok=True)
                shutil.copy(teacher, course / "source" / assignment / teacher.name)
                _succeeded(api.generate_assignment(assignment, force=True), f"releasing {assignment}")
                released.add(assignment)
            folder = course / "submitted" / learner / assignment
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            shutil.copy(path, folder / teacher.name)
            (folder / "timestamp.txt").write_text("2026-01-01 00:00:00.000000 UTC")
            _succeeded(api.autograde(assignment, learner, force=True), f"grading {learner}'s {assignment}")
            with api.gradebook as book:
                submission = book.find_submission(assignment, learner)
                scores.setdefault(learner, {})[teacher.name] = (float(submission.score), float(submission.max_score))
    return scores


def _succeeded(result: dict, doing: str) -> None:
    if not result.get("success"):
        raise RuntimeError(f"nbgrader failed {doing}: {result.get('error') or ''}\n{result.get('log', '')[-3000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--course", default="build/course", help="the nbgrader course folder (default: %(default)s)")
    parser.add_argument("--demo", action="store_true", help="run the notebooks at demo size, not smoke size")
    parser.add_argument("submissions", nargs="+", help="learner=path/to/NN_name.ipynb, one per notebook")
    args = parser.parse_args(argv)
    wanted: dict[str, list[str]] = {}
    for item in args.submissions:
        learner, _, path = item.partition("=")
        if not learner or not path:
            parser.error(f"{item!r}: write learner=path/to/notebook.ipynb")
        if not Path(path).is_file():
            parser.error(f"{path}: no such notebook")
        wanted.setdefault(learner, []).append(path)
    for learner, marks in autograde(wanted, args.course, smoke=not args.demo).items():
        for name, (score, out_of) in marks.items():
            print(f"{learner}\t{name}\t{score:g} / {out_of:g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
