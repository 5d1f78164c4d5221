"""Committed notebooks carry no outputs and follow the parameters convention."""
import nbformat
import pytest

from sbka_lite.tutorial.notebooks import notebook_parameters, notebook_paths, strip_outputs

NOTEBOOKS = notebook_paths()


def test_series_exists_and_is_numbered():
    names = [p.name for p in NOTEBOOKS]
    assert names, "no notebooks found in notebooks/"
    assert names[0].startswith("01_")
    numbers = [int(n[:2]) for n in names]
    assert numbers == sorted(set(numbers)), f"notebook numbers must be unique and increasing: {names}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; run `make notebooks-clean`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_is_flat_literals_with_smoke(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{path.name}: kernel must be python3"
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one cell must be tagged 'parameters'"
    values = notebook_parameters(path)  # raises unless the cell is flat NAME = literal lines
    assert values.get("SMOKE") is False, f"{path.name}: SMOKE must default to False (tutorial size)"
    index = nb.cells.index(tagged[0])
    assert "collect_parameters()" in nb.cells[index + 1].source, f"{path.name}: the cell after parameters must validate them"
    assert "watch_parameters()" in nb.cells[index - 1].source, f"{path.name}: the cell before parameters must call watch_parameters()"


def test_strip_outputs_cleans_a_dirty_notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1 + 1")
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    cell.execution_count = 1
    nb.cells = [cell]
    path = tmp_path / "dirty.ipynb"
    nbformat.write(nb, path)
    assert strip_outputs(path) is True
    clean = nbformat.read(path, as_version=4)
    assert clean.cells[0].outputs == [] and clean.cells[0].execution_count is None
    assert strip_outputs(path) is False


def test_a_kernel_started_inside_a_notebook_leaves_no_transport_warning_in_its_outputs(tmp_path, monkeypatch):
    """Notebook 05's sweeps run notebooks from a notebook: each nested kernel's start-up warnings
    ("Kernel is running over TCP without encryption") used to land in the outer notebook's outputs."""
    from sbka_lite.tutorial.notebooks import run_notebook

    monkeypatch.delenv("PYTEST_CURRENT_TEST")  # under pytest ipykernel does not forward a child's stderr

    inner, outer = tmp_path / "inner.ipynb", tmp_path / "outer.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), inner)
    code = (f"from sbka_lite.tutorial.notebooks import run_notebook\n"
            f"run_notebook({str(inner)!r}, {str(tmp_path / 'inner_out.ipynb')!r})\nprint('inner ran')")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)],
                                            metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                     "display_name": "Python 3"}}), outer)
    executed = nbformat.read(run_notebook(outer, tmp_path / "outer_out.ipynb"), as_version=4)
    text = "".join(output.get("text", "") for cell in executed.cells for output in cell.get("outputs", []))
    assert "inner ran" in text and "WARNING" not in text and "encryption" not in text, text


def test_kernels_started_at_once_get_their_own_sockets_outside_the_checkout():
    import os
    import tempfile

    from sbka_lite.tutorial.notebooks import LocalKernelManager

    first, second = LocalKernelManager(kernel_name="python3"), LocalKernelManager(kernel_name="python3")
    if os.name == "nt":
        pytest.skip("Windows kernels use TCP")
    assert first.transport == second.transport == "ipc"
    assert first.ip != second.ip and all(os.path.dirname(m.ip) == tempfile.gettempdir() for m in (first, second))
