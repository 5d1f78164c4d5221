"""Sweeps run every grid point once, resume, refuse unknown or mistyped parameters, and collect a table;
their CLI reads values exactly as the trainer's does."""
import json
import runpy
import sys

import pytest

import sbka_lite.ablation
import sbka_lite.sweep
from notebook_fakes import write_param_notebook
from sbka_lite import train
from sbka_lite.config import parse_set_overrides
from sbka_lite.experiments import ablation, sweep
from sbka_lite.tutorial.params import ParameterError


@pytest.fixture(scope="module")
def tiny_notebook(tmp_path_factory):
    return write_param_notebook(
        tmp_path_factory.mktemp("nb") / "tiny.ipynb", 'SMOKE = False\nWORKDIR = ""\nK = 1\nMODE = "a"',
        "P = collect_parameters()\n"
        "assert P.K != 99, 'K=99 is the failing case'\n"
        "from pathlib import Path\nimport json\n"
        "folder = Path(P.WORKDIR) / 'tiny'\nfolder.mkdir(parents=True, exist_ok=True)\n"
        "(folder / 'results.json').write_text(json.dumps({'score': P.K * (2 if P.MODE == 'b' else 1)}))",
    )


def test_sweep_runs_grid_resumes_and_collects(tiny_notebook, tmp_path):
    config = sweep.SweepConfig(str(tiny_notebook), {"K": [1, 3], "MODE": ["a", "b"]}, str(tmp_path / "out"))
    records = sweep.run_sweep(config, progress=False)
    assert [r["status"] for r in records] == ["ok"] * 4
    table = sweep.collect(tmp_path / "out", {"score": "score"}).sort_values(["K", "MODE"])
    assert table.score.tolist() == [1, 2, 3, 6]
    stamp = (tmp_path / "out" / "K-1_MODE-a" / "result.json").stat().st_mtime_ns
    again = sweep.run_sweep(config, progress=False)
    assert all(r.get("skipped") for r in again)
    assert (tmp_path / "out" / "K-1_MODE-a" / "result.json").stat().st_mtime_ns == stamp


def test_unknown_or_mistyped_parameters_fail_before_any_run(tiny_notebook, tmp_path):
    with pytest.raises(ParameterError, match="NO_SUCH"):
        sweep.run_sweep(sweep.SweepConfig(str(tiny_notebook), {"NO_SUCH": [1]}, str(tmp_path / "x")), progress=False)
    with pytest.raises(ParameterError, match="K"):
        sweep.run_sweep(sweep.SweepConfig(str(tiny_notebook), {"K": ["three"]}, str(tmp_path / "x")), progress=False)
    assert not (tmp_path / "x").exists()


def test_failed_run_is_recorded_and_retried_next_time(tiny_notebook, tmp_path):
    config = sweep.SweepConfig(str(tiny_notebook), {"K": [2, 99]}, str(tmp_path / "out"))
    records = sweep.run_sweep(config, progress=False)
    assert [r["status"] for r in records] == ["ok", "failed"]
    failed = json.loads((tmp_path / "out" / "K-99" / "result.json").read_text())
    assert "K=99 is the failing case" in failed["error"] + failed["traceback"]
    again = sweep.run_sweep(config, progress=False)
    assert again[0].get("skipped") and not again[1].get("skipped")


def test_cli(tiny_notebook, tmp_path, capsys):
    code = sweep.main([str(tiny_notebook), "--grid", "K=4,5", "--set", "MODE=b", "--out", str(tmp_path / "cli")])
    assert code == 0
    assert sweep.collect(tmp_path / "cli", {"score": "score"}).score.sort_values().tolist() == [8, 10]
    assert sweep.main([str(tiny_notebook), "--grid", "BAD=1", "--out", str(tmp_path / "bad")]) == 2
    assert "BAD" in capsys.readouterr().err


def test_cli_reads_values_as_the_trainer_does(tmp_path, capsys):
    notebook = write_param_notebook(
        tmp_path / "typed.ipynb", 'SMOKE = False\nWORKDIR = ""\nFLAG = False\nLR = 0.1\nSIZES = [0]\nNAME = "a"',
        "P = collect_parameters()")
    pairs = ["FLAG=true", "LR=1e-4", "SIZES=[1, 2]", "NAME=word"]
    code = sweep.main([str(notebook), "--out", str(tmp_path / "out"), "--no-progress",
                       *[arg for pair in pairs for arg in ("--set", pair)], "--grid", "SIZES=[1, 2],[3]"])
    assert code == 0
    recorded = [json.loads((tmp_path / "out" / name / "result.json").read_text())["parameters"]
                for name in ("SIZES-[1,-2]", "SIZES-[3]")]
    expected = {"FLAG": True, "LR": 0.0001, "SIZES": [1, 2], "NAME": "word"}
    assert recorded[0] == expected == parse_set_overrides(pairs)  # the trainer's --set parser
    assert recorded[1] == {**expected, "SIZES": [3]}
    # and the trainer's own CLI, end to end, on the keys it has
    capsys.readouterr()
    assert train.main(["--set", "amp=true", "--set", "lr=1e-4", "--set", "backbone=word", "--print-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["amp"], printed["lr"], printed["backbone"]) == (expected["FLAG"], expected["LR"], expected["NAME"])


def test_grid_values_split_on_top_level_commas_only():
    assert sweep.parse_grid(["A=1,[2, 3],'x,y',b"]) == {"A": [1, [2, 3], "x,y", "b"]}


@pytest.mark.parametrize("shim, module, names", [
    (sbka_lite.sweep, sweep, ("SweepConfig", "collect", "run_sweep", "validate", "run_name")),
    (sbka_lite.ablation, ablation, ("run_ablation", "summarise", "markdown_table", "load_results", "ARMS")),
])
def test_documented_entry_points_still_run(shim, module, names, monkeypatch, capsys):
    assert all(getattr(shim, name) is getattr(module, name) for name in (*names, "main"))
    monkeypatch.delitem(sys.modules, shim.__name__)  # run the shim's file afresh, as python -m does
    monkeypatch.setattr(sys, "argv", [shim.__name__, "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module(shim.__name__, run_name="__main__")
    assert exit_info.value.code == 0 and "--executor" in capsys.readouterr().out
