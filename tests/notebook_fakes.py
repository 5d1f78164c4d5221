"""A tiny notebook that follows the series' parameters convention, for tests of params and sweeps."""
import nbformat


def write_param_notebook(path, parameters: str, body: str):
    """setup cell (watch_parameters) + `parameters` cell + `body`; returns `path`."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    setup = nbformat.v4.new_code_cell("from sbka_lite.tutorial.params import watch_parameters, collect_parameters\nwatch_parameters()")
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [setup, params, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)
    return path
