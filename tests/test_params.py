"""Notebook parameters fail loudly on unknown names and wrong types, under papermill too."""
import json

import papermill as pm
import pytest

from notebook_fakes import write_param_notebook
from sbka_lite.tutorial.params import ParameterError, Params, check_types, collect_parameters

DEFAULTS = {"SMOKE": False, "EPOCHS": 3, "LR": 0.001, "NAME": "demo", "ROOT": None}


def test_check_types_accepts_defaults_and_int_for_float():
    check_types({"SMOKE": True, "EPOCHS": 5, "LR": 1, "NAME": "x", "ROOT": "/data"}, DEFAULTS)


@pytest.mark.parametrize("name,value", [("EPOCHS", "abc"), ("EPOCHS", 2.5), ("SMOKE", 1), ("EPOCHS", True), ("NAME", 3)])
def test_check_types_rejects_wrong_type_naming_parameter(name, value):
    with pytest.raises(ParameterError, match=name):
        check_types({name: value}, DEFAULTS)


def test_check_types_rejects_unknown_names_and_lists_known():
    with pytest.raises(ParameterError, match="NO_SUCH_PARAM.*accepts: EPOCHS"):
        check_types({"NO_SUCH_PARAM": 1}, DEFAULTS)


def test_collect_parameters_explicit_namespace(monkeypatch):
    monkeypatch.setenv("SBKA_SMOKE", "1")
    ns = {"SMOKE": False, "EPOCHS": 7, "LR": 0.01, "NAME": "n", "ROOT": None}
    params = collect_parameters(ns, DEFAULTS)
    assert isinstance(params, Params)
    assert params.SMOKE is True and ns["SMOKE"] is True  # env switches smoke on
    assert params.as_dict()["EPOCHS"] == 7


def _tiny_notebook(path):
    return write_param_notebook(path, "SMOKE = False\nEPOCHS = 3\nLR = 0.001",
                                "P = collect_parameters()\nimport json, os\n"
                                "open(os.environ['PARAMS_OUT'], 'w').write(json.dumps(P.as_dict()))")


@pytest.fixture(scope="module")
def tiny_nb(tmp_path_factory):
    return _tiny_notebook(tmp_path_factory.mktemp("nb") / "tiny.ipynb")


def _run(tiny_nb, tmp_path, monkeypatch, **parameters):
    out = tmp_path / "params.json"
    monkeypatch.setenv("PARAMS_OUT", str(out))
    monkeypatch.delenv("SBKA_SMOKE", raising=False)
    pm.execute_notebook(str(tiny_nb), str(tmp_path / "out.ipynb"), parameters=parameters,
                        kernel_name="python3", progress_bar=False)
    return json.loads(out.read_text())


def test_papermill_valid_parameters_pass_through(tiny_nb, tmp_path, monkeypatch):
    assert _run(tiny_nb, tmp_path, monkeypatch, EPOCHS=5, LR=1) == {"SMOKE": False, "EPOCHS": 5, "LR": 1}


def test_papermill_unknown_parameter_fails_naming_it(tiny_nb, tmp_path, monkeypatch):
    with pytest.raises(pm.PapermillExecutionError, match="NO_SUCH_PARAM"):
        _run(tiny_nb, tmp_path, monkeypatch, NO_SUCH_PARAM=1)


def test_papermill_wrong_type_fails_naming_it(tiny_nb, tmp_path, monkeypatch):
    with pytest.raises(pm.PapermillExecutionError, match="EPOCHS"):
        _run(tiny_nb, tmp_path, monkeypatch, EPOCHS="three")
