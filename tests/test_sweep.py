"""Sweeps run every grid point once, resume, refuse unknown or mistyped parameters, and collect a table;
their CLI reads values exactly as the trainer's does."""
import dataclasses
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


@pytest.mark.parametrize("shim, module", [(sbka_lite.sweep, sweep), (sbka_lite.ablation, ablation)])
def test_documented_entry_points_still_run(shim, module, monkeypatch, capsys):
    assert shim.main is module.main
    monkeypatch.delitem(sys.modules, shim.__name__)  # run the shim's file afresh, as python -m does
    monkeypatch.setattr(sys, "argv", [shim.__name__, "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module(shim.__name__, run_name="__main__")
    assert exit_info.value.code == 0 and "--executor" in capsys.readouterr().out


def test_a_cell_is_reused_only_when_notebook_and_every_parameter_match(tiny_notebook, tmp_path):
    out = tmp_path / "out"
    assert sweep.main([str(tiny_notebook), "--grid", "K=2", "--set", "MODE=a", "--out", str(out), "--no-progress"]) == 0
    before = (out / "K-2" / "result.json").read_text()
    # a fixed parameter changed: the folder name is the same, the results would not be
    config = sweep.SweepConfig(str(tiny_notebook), {"K": [2]}, str(out), fixed={"MODE": "b"})
    with pytest.raises(sweep.SweepConflict, match="MODE: 'a' -> 'b'"):
        sweep.run_sweep(config, progress=False)
    assert (out / "K-2" / "result.json").read_text() == before
    # another notebook into the same --out: refused, never "skipped" under the wrong name
    other = write_param_notebook(tmp_path / "other.ipynb", 'SMOKE = False\nWORKDIR = ""\nK = 1\nMODE = "a"', "pass")
    with pytest.raises(sweep.SweepConflict, match="notebook 'tiny.ipynb' -> 'other.ipynb'"):
        sweep.run_sweep(sweep.SweepConfig(str(other), {"K": [2]}, str(out), fixed={"MODE": "a"}), progress=False)
    # the same notebook with other code
    edited = tmp_path / "edited" / "tiny.ipynb"
    edited.parent.mkdir()
    edited.write_text(tiny_notebook.read_text().replace("P.K * (2 if", "P.K * (3 if"))
    assert sweep.main([str(edited), "--grid", "K=2", "--set", "MODE=a", "--out", str(out), "--no-progress"]) == 2
    # --force reruns the cell with what was asked
    assert sweep.run_sweep(dataclasses.replace(config, force=True), progress=False)[0]["status"] == "ok"
    assert json.loads((out / "K-2" / "result.json").read_text())["results"] == {"score": 4}
    assert sweep.run_sweep(config, progress=False)[0].get("skipped")


def test_a_notebooks_fingerprint_is_its_code_not_its_outputs(tiny_notebook, tmp_path):
    saved = json.loads(tiny_notebook.read_text())
    for cell in saved["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [{"output_type": "stream", "name": "stdout", "text": "x"}], 3
    copy = tmp_path / "executed.ipynb"
    copy.write_text(json.dumps(saved))
    assert sweep.notebook_fingerprint(copy) == sweep.notebook_fingerprint(tiny_notebook)
    saved["cells"][-1]["source"] = "print(1)"
    copy.write_text(json.dumps(saved))
    assert sweep.notebook_fingerprint(copy) != sweep.notebook_fingerprint(tiny_notebook)


def test_a_sweep_never_writes_into_a_folder_that_is_not_a_sweeps(tiny_notebook, tmp_path):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "thesis.tex").write_text("mine")
    with pytest.raises(sweep.SweepConflict, match=r"holds files that are not a sweep's \(thesis.tex\)"):
        sweep.run_sweep(sweep.SweepConfig(str(tiny_notebook), {"K": [2]}, str(out)), progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]


def test_an_ablation_out_that_is_not_an_ablations_is_refused(tmp_path):
    notes = tmp_path / "notes.json"
    notes.write_text('{"my": "notes"}')
    with pytest.raises(ValueError, match="is not an ablation results file"):
        ablation.run_ablation(notes, smoke=True, arms=("frozen",), seeds=(0,), progress=False,
                              workdir=tmp_path / "work")
    assert notes.read_text() == '{"my": "notes"}'
