"""Exercises and the student edition: checks that explain, solutions nbgrader strips, check cells that say
"not done yet" in the student edition and pass in the full one.

The notebook test runs each exercise notebook reduced to its exercise cells (a fresh kernel, smoke mode):
the exercise cells are self-contained by design, and everything outside them is the same in both editions
(asserted below), while the full notebooks run end to end under papermill elsewhere in the suite.
"""
import errno
import os

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from sbka_lite.paths import repo_root
from sbka_lite.tutorial import exercises, student
from sbka_lite.tutorial.notebooks import notebook_paths
from sbka_lite.tutorial.student import build_student_edition, exercise_cells

EXERCISE_NOTEBOOKS = [p for p in notebook_paths() if p.name[:2] in ("02", "03", "04", "05", "07")]


def _ap_voc(relevant):
    precision = np.cumsum(relevant) / np.arange(1, len(relevant) + 1)
    return float(np.maximum.accumulate(precision[::-1])[::-1][relevant].sum() / relevant.sum())


def test_check_passes_a_right_answer_and_names_the_case_of_a_wrong_one(capsys):
    assert exercises.check_voc_ap(_ap_voc, n_cases=4) is None  # a value would be nbgrader's partial credit
    assert "passed" in capsys.readouterr().out

    def uninterpolated(relevant):  # the classic mistake: sklearn's AP where VOC's was asked for
        hits = np.cumsum(relevant)
        return float((hits / np.arange(1, len(relevant) + 1))[relevant].sum() / relevant.sum())
    with pytest.raises(exercises.ExerciseError, match=r"case \d+ of 8 \(relevant: array\(\d+,\)\): returned .* expected"):
        exercises.check_voc_ap(uninterpolated)


def test_check_says_not_done_yet_and_reports_a_crash_with_its_case():
    def stub(relevant):
        raise NotImplementedError()
    with pytest.raises(exercises.ExerciseError, match="exercise not done yet: write the body of `stub`"):
        exercises.check_voc_ap(stub)
    with pytest.raises(exercises.ExerciseError, match=r"raised ZeroDivisionError: .* on case 1 of"):
        exercises.check_voc_ap(lambda relevant: 1 / 0)
    with pytest.raises(exercises.ExerciseError, match=r"returned shape \(3,\).*expected shape \(\)"):
        exercises.check_voc_ap(lambda relevant: np.zeros(3))


def test_top_k_check_catches_a_tie_rule_other_than_the_gallery_index():
    def ties_last_index_first(scores, k):
        columns = np.arange(scores.shape[1])[::-1]
        return columns[np.argsort(scores[:, ::-1], axis=1, kind="stable")][:, :k]
    with pytest.raises(exercises.ExerciseError, match="entries differ"):
        exercises.check_top_k(ties_last_index_first)


def test_student_edition_strips_solutions_and_outputs_and_keeps_everything_else(tmp_path):
    written = build_student_edition(tmp_path, EXERCISE_NOTEBOOKS)
    for full_path, student_path in zip(EXERCISE_NOTEBOOKS, written):
        full, student = (nbformat.read(p, as_version=4) for p in (full_path, student_path))
        solutions = [c for c in full.cells if c.metadata.get("nbgrader", {}).get("solution")]
        assert len(solutions) >= (1 if full_path.name.startswith("05") else 2), full_path.name
        assert all("### BEGIN SOLUTION" in c.source for c in solutions), full_path.name
        assert len(student.cells) == len(full.cells)
        for before, after in zip(full.cells, student.cells):
            if before.metadata.get("nbgrader", {}).get("solution"):
                assert "BEGIN SOLUTION" not in after.source and "raise NotImplementedError()" in after.source
                signature = before.source.split("### BEGIN")[0].rstrip()
                assert after.source.startswith(signature), "the function's signature and docstring stay"
            elif "### BEGIN HIDDEN TESTS" in before.source:  # a grade cell: its visible part stays, its hidden part goes
                assert before.metadata["nbgrader"]["grade"] and before.metadata["nbgrader"]["points"] > 0
                assert after.source == before.source.split("### BEGIN HIDDEN TESTS")[0].rstrip("\n")
                assert "HIDDEN" not in after.source and "check" in after.source
            else:
                assert after.source == before.source
            assert not after.get("outputs") and after.get("execution_count") is None


def _exercise_cells(path):
    nb = nbformat.read(path, as_version=4)
    return [nb.cells[i] for i in exercise_cells(nb)]


def _tagged(cells, tag):
    return [c for c in cells if tag in c.metadata.get("tags", [])]


@pytest.mark.notebook
@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.name)
def test_check_cells_fail_helpfully_in_the_student_edition_and_pass_in_the_full_one(path, tmp_path, monkeypatch):
    # One kernel: the student edition's exercise cells, then the full edition's (each re-defines its function).
    student = _exercise_cells(build_student_edition(tmp_path, [path])[0])
    full = _exercise_cells(path)
    nb = nbformat.v4.new_notebook(cells=student + full, metadata=nbformat.read(path, as_version=4).metadata)
    monkeypatch.setenv("SBKA_SMOKE", "1")
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(repo_root())}}).execute()
    student, full = nb.cells[:len(student)], nb.cells[len(student):]
    checks = _tagged(student, "exercise-check")
    assert len(checks) >= (1 if path.name.startswith("05") else 2), f"{path.name}: expected exercises with checks"
    for cell in checks:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert len(errors) == 1, f"{path.name}: a student check cell must fail with one error:\n{cell.source}"
        assert errors[0].ename == "ExerciseError", f"{path.name}: crashed with {errors[0].ename}: {errors[0].evalue}"
        assert "exercise not done yet: " in errors[0].evalue and "in the cell above" in errors[0].evalue
    for cell in full:
        errors = [f"{o.ename}: {o.evalue}" for o in cell.get("outputs", []) if o.output_type == "error"]
        assert not errors, f"{path.name}: the full edition's exercises fail: {errors}\n{cell.source}"
        if "exercise-check" in cell.metadata.get("tags", []):
            assert "passed:" in "".join(o.get("text", "") for o in cell.outputs)


# --- the edition never destroys what it did not write -------------------------------------------------------------

@pytest.fixture
def sources(tmp_path):
    """Copies of two exercise notebooks: a test may change them (a newer release) without touching the repository."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for path in EXERCISE_NOTEBOOKS[:2]:
        (folder / path.name).write_bytes(path.read_bytes())
    return sorted(folder.iterdir())


def _new_release(paths):
    """Change every source notebook, so the next edition differs from the one on disk."""
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        nb.cells.append(nbformat.v4.new_markdown_cell("A cell added in a newer release."))
        nbformat.write(nb, path)


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("through_a_link", [False, True])
def test_student_edition_refuses_the_folder_of_the_source_notebooks(sources, tmp_path, through_a_link):
    before = _snapshot(sources[0].parent)
    out = sources[0].parent
    if through_a_link:
        (tmp_path / "link").symlink_to(out, target_is_directory=True)
        out = tmp_path / "link"
    with pytest.raises(ValueError, match="holds the source notebooks.*strip their solutions.*another folder"):
        build_student_edition(out, sources)
    assert _snapshot(sources[0].parent) == before
    with pytest.raises(ValueError, match="holds the source notebooks"):
        build_student_edition(out, sources, force=True)  # not even --force: the solutions would be gone for good
    assert _snapshot(sources[0].parent) == before


def test_a_rerun_refreshes_the_edition_but_never_over_a_learners_edit(sources, tmp_path, monkeypatch, capsys):
    out = tmp_path / "student"
    build_student_edition(out, sources)
    build_student_edition(out, sources)  # `make student` twice: its own output is no obstacle
    (out / ".sbka-lite.json").unlink(missing_ok=True)  # an edition from before the manifest, identical bytes: nothing to lose
    build_student_edition(out, sources)
    edited = out / sources[1].name
    nb = nbformat.read(edited, as_version=4)
    nb.cells[0].source += "\nmy notes"
    nbformat.write(nb, edited)
    mine = edited.read_bytes()
    _new_release(sources)
    monkeypatch.setattr("sbka_lite.tutorial.student.notebook_paths", lambda: sources)
    assert student.main(["--out", str(out)]) != 0
    error = capsys.readouterr().err
    assert sources[1].name in error and sources[0].name not in error, error
    assert "--force" in error and "another output folder" in error and "Traceback" not in error
    assert edited.read_bytes() == mine
    assert student.main(["--out", str(out), "--force"]) == 0
    assert "my notes" not in edited.read_text() and "newer release" in edited.read_text()


def _fail_on_second_file(error):
    from sbka_lite import ownership  # here, not at the top: the module is new
    calls = []

    def write(descriptor, data):  # the second notebook: half written, then the error
        calls.append(data)
        if len(calls) == 2:
            os.write(descriptor, data[: len(data) // 2])
            raise error
        return original(descriptor, data)
    original = ownership._write_bytes
    return write


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"),
                                   PermissionError(errno.EACCES, "Permission denied")], ids=["disk-full", "denied"])
def test_an_error_mid_edition_leaves_the_old_edition_whole_and_says_so_in_one_line(
        sources, tmp_path, monkeypatch, capsys, error):
    out = tmp_path / "student"
    build_student_edition(out, sources)
    old = _snapshot(out)
    _new_release(sources)
    monkeypatch.setattr("sbka_lite.tutorial.student.notebook_paths", lambda: sources)
    monkeypatch.setattr("sbka_lite.ownership._write_bytes", _fail_on_second_file(error))
    assert student.main(["--out", str(out)]) != 0
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and "Traceback" not in message, message
    assert sources[1].name in message and error.strerror in message and "unchanged" in message, message
    assert _snapshot(out) == old  # every notebook the old one, none half-written, no staging files left
    for path in out.glob("*.ipynb"):
        nbformat.validate(nbformat.read(path, as_version=4))


def test_a_read_only_notebook_is_kept_and_the_edition_left_whole(sources, tmp_path, capsys):
    out = tmp_path / "student"
    build_student_edition(out, sources)
    old = _snapshot(out)
    (out / sources[1].name).chmod(0o444)  # the learner protected it (root included: the mode is what counts)
    _new_release(sources)
    with pytest.raises(PermissionError, match="read-only") as raised:
        build_student_edition(out, sources)
    assert raised.value.filename == str(out / sources[1].name)
    assert _snapshot(out) == old
