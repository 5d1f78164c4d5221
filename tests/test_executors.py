"""Sweeps on submitit's local executor (real subprocesses, one job per cell) behave as local ones:
the same collected JSON, a failed or killed job reported with its log and the other cells kept, and
a sweep whose submitting process was killed resumes, running only the cells that never finished."""
import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from notebook_fakes import write_param_notebook
from sbka_lite.experiments import executors, sweep
from sbka_lite.experiments.executors import ExecutorConfig

pytest.importorskip("submitit")

# Each run appends "K pid" to <out>/ran.log (so tests count which cells ran); K == FAIL raises in the
# notebook, K == KILL kills its own job process (as an out-of-memory kill would), K == SLOW sleeps.
BODY = """P = collect_parameters()
import json, os, signal, time
from pathlib import Path
out = Path(P.WORKDIR)
with open(out.parent / "ran.log", "a") as log:
    log.write(f"{P.K} {os.getpid()}\\n")
if P.K == P.KILL and not os.environ.get("TINY_KILL_CURED"):  # cured: as with more memory
    os.kill(os.getppid(), signal.SIGKILL)
    os._exit(1)
time.sleep(P.SLEEP if P.K == P.SLOW else 0)
assert P.K != P.FAIL, f"K={P.K} is the failing case"
(out / "tiny").mkdir(parents=True, exist_ok=True)
(out / "tiny" / "results.json").write_text(json.dumps({"score": P.K * 10}))"""
PARAMETERS = 'SMOKE = False\nWORKDIR = ""\nK = 1\nFAIL = 0\nKILL = 0\nSLOW = 0\nSLEEP = 0.0'
SUBMITIT = dict(kind="submitit-local", array_parallelism=4, poll_s=0.2, time_min=2)


@pytest.fixture(scope="module")
def notebook(tmp_path_factory):
    return write_param_notebook(tmp_path_factory.mktemp("nb") / "tiny.ipynb", PARAMETERS, BODY)


def _ran(out: Path) -> collections.Counter:
    log = out / "ran.log"
    return collections.Counter(int(line.split()[0]) for line in log.read_text().splitlines()) if log.is_file() else collections.Counter()


def _comparable(out: Path) -> dict:
    """The collected sweep.json without what may differ between two correct runs: timings and job logs."""
    summary = json.loads((out / "sweep.json").read_text())
    for record in summary["runs"]:
        record.pop("seconds")
        record.pop("log", None)
    return summary


def test_local_and_submitit_local_collect_the_same_json_and_report_a_failure(notebook, tmp_path, capsys):
    config = sweep.SweepConfig(str(notebook), {"K": [1, 2, 3, 4]}, str(tmp_path / "local"), {"FAIL": 3})
    local = sweep.run_sweep(config, progress=False)
    assert [r["status"] for r in local] == ["ok", "ok", "failed", "ok"]

    code = sweep.main([str(notebook), "--grid", "K=1,2,3,4", "--set", "FAIL=3", "--out", str(tmp_path / "jobs"),
                       "--executor", "submitit-local", "--array-parallelism", "4", "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    failed = json.loads((tmp_path / "jobs" / "K-3" / "result.json").read_text())
    log = Path(failed["log"])
    assert log.is_file() and "K=3 is the failing case" in log.read_text()  # the job's own stderr
    assert "failed: K-3" in err and str(log) in err and "K=3 is the failing case" in err
    assert sweep.collect(tmp_path / "jobs", {"score": "score"}).set_index("run").score.dropna().to_dict() == {
        "K-1": 10, "K-2": 20, "K-4": 40}
    # cell by cell, the same record whichever executor ran it
    assert _comparable(tmp_path / "jobs") == _comparable(tmp_path / "local")
    assert _ran(tmp_path / "jobs") == {1: 1, 2: 1, 3: 1, 4: 1}


def test_killed_job_is_reported_with_its_log_and_only_it_reruns(notebook, tmp_path, monkeypatch):
    out = tmp_path / "out"
    config = sweep.SweepConfig(str(notebook), {"K": [1, 2]}, str(out), {"KILL": 2})
    records = sweep.run_sweep(config, progress=False, executor=ExecutorConfig(**SUBMITIT))
    assert [r["status"] for r in records] == ["ok", "failed"]
    assert "without a result" in records[1]["error"] and Path(records[1]["log"]).is_file()
    assert json.loads((out / "K-2" / "result.json").read_text()) == records[1]  # on disk, not only returned
    kept = (out / "K-1" / "result.json").stat().st_mtime_ns
    # the same cells again once the cause is gone (as with more memory): only the killed one runs
    monkeypatch.setenv("TINY_KILL_CURED", "1")
    again = sweep.run_sweep(config, progress=False, executor=ExecutorConfig(**SUBMITIT))
    assert [r["status"] for r in again] == ["ok", "ok"] and again[0]["skipped"] and not again[1].get("skipped")
    assert (out / "K-1" / "result.json").stat().st_mtime_ns == kept
    assert _ran(out) == {1: 1, 2: 2}


def _wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the sweep"
        time.sleep(0.1)


def test_killed_submitter_resumes_running_only_missing_cells(notebook, tmp_path):
    out = tmp_path / "out"
    args = [str(notebook), "--grid", "K=1,2,3,4", "--set", "SLOW=2", "--set", "SLEEP=5.0", "--out", str(out),
            "--executor", "submitit-local", "--array-parallelism", "3", "--no-progress"]
    submitter = subprocess.Popen([sys.executable, "-m", "sbka_lite.sweep", *args], env=os.environ.copy(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: (out / "K-1" / "result.json").is_file(), timeout=90)
    finally:
        submitter.send_signal(signal.SIGKILL)
        submitter.wait()
    finished = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/result.json")}
    assert "K-2" not in finished and (out / "K-2" / "job.json").is_file()  # K-2's job outlived its submitter

    assert sweep.main(args) == 0  # adopts K-2's running job, submits what never ran
    assert _ran(out) == {1: 1, 2: 1, 3: 1, 4: 1}  # no cell ran twice
    assert all((out / name / "result.json").stat().st_mtime_ns == stamp for name, stamp in finished.items())
    summary = json.loads((out / "sweep.json").read_text())
    assert [(r["run"], r["status"], r["results"]["score"]) for r in summary["runs"]] == [
        ("K-1", "ok", 10), ("K-2", "ok", 20), ("K-3", "ok", 30), ("K-4", "ok", 40)]


def test_executor_options_reach_slurm(monkeypatch, tmp_path):
    monkeypatch.setattr(executors.shutil, "which", lambda name: "/usr/bin/" + name)  # pretend sbatch exists
    config = ExecutorConfig("slurm", partition="gpu", time_min=90, gpus_per_job=2, array_parallelism=3,
                            cpus_per_job=8, folder=str(tmp_path))
    script = executors.submitit_executor(config, "sweep x")._executor._make_submission_file_text("true", "uid")
    for line in ("--partition=gpu", "--time=90", "--gpus-per-node=2", "--cpus-per-task=8", "--job-name=sweep-x"):
        assert f"#SBATCH {line}" in script
    assert executors.submitit_executor(config, "x")._executor.parameters["array_parallelism"] == 3


def test_bad_executor_options_are_refused(tmp_path):
    with pytest.raises(ValueError, match="'cloud'"):
        ExecutorConfig("cloud")
    with pytest.raises(ValueError, match="array_parallelism"):
        ExecutorConfig("submitit-local", array_parallelism=0)
    if executors.shutil.which("sbatch") is None:
        cell = executors.Cell("a", print)
        with pytest.raises(RuntimeError, match="sbatch"):
            executors.run_cells([cell], ExecutorConfig("slurm", folder=str(tmp_path)))
