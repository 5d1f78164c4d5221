"""nbgrader grades the exercises: the teacher's edition (solutions and hidden tests) scores full marks, the student
edition as released scores zero, and a learner who solved the visible checks but not the hidden ones loses those."""
import nbformat
import pytest

from sbka_lite.paths import exclusive
from sbka_lite.tutorial.grading import autograde
from sbka_lite.tutorial.notebooks import notebook_paths
from sbka_lite.tutorial.series import run_dir
from sbka_lite.tutorial.student import build_student_edition
from test_notebooks import SERIES_LOCK

pytest.importorskip("nbgrader")
NOTEBOOK = next(p for p in notebook_paths() if p.name.startswith("07"))  # the fastest notebook with exercises


@pytest.mark.notebook
@pytest.mark.timeout(900)
def test_autograde_gives_full_marks_to_the_solved_copy_and_zero_to_the_released_one(tmp_path):
    stripped = build_student_edition(tmp_path / "student", [NOTEBOOK])[0]
    wrong = nbformat.read(NOTEBOOK, as_version=4)  # right on the visible checks, wrong on the judgement
    for cell in wrong.cells:
        cell.source = cell.source.replace('report_tuned_as = "an upper bound"', 'report_tuned_as = "the result"')
    (tmp_path / "wrong").mkdir()
    nbformat.write(wrong, tmp_path / "wrong" / NOTEBOOK.name)
    with exclusive(run_dir(smoke=True).parent / SERIES_LOCK, "waiting for the smoke series"):  # a trained run
        scores = autograde({"solved": [NOTEBOOK], "released": [stripped], "wrong": [tmp_path / "wrong" / NOTEBOOK.name]},
                           tmp_path / "course")
    score, out_of = scores["solved"][NOTEBOOK.name]
    assert out_of == 5 and score == out_of  # two computing exercises (2 points each) and one judgement (1)
    assert scores["released"][NOTEBOOK.name] == (0.0, out_of)
    assert scores["wrong"][NOTEBOOK.name] == (4.0, out_of)
