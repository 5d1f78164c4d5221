"""Sweeps run every grid point once, resume, refuse unknown or mistyped parameters, and collect a table."""
import json

import pytest

from notebook_fakes import write_param_notebook
from sbka_lite import sweep
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
