"""Every notebook refuses a parameter it does not have, or one of the wrong type, naming it (papermill -p ...).

Apart from tests/test_notebooks.py so that pytest-xdist runs these on the other worker: they fail in the
parameters cell and never touch the series' shared folder."""
import papermill as pm
import pytest

from sbka_lite.tutorial.notebooks import notebook_paths, run_notebook

NOTEBOOKS = notebook_paths()


@pytest.mark.notebook
@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_rejects_unknown_and_mistyped_parameters(path, tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="NO_SUCH_PARAM"):
        run_notebook(path, tmp_path / "unknown.ipynb", {"SMOKE": True, "NO_SUCH_PARAM": 1})
    with pytest.raises(pm.PapermillExecutionError, match="SEED"):
        run_notebook(path, tmp_path / "mistyped.ipynb", {"SMOKE": True, "SEED": "zero"})
