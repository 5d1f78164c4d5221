"""Where the cells of a sweep or an ablation run: in this process, on Slurm, or in local subprocesses.

* ``local``: one cell after another in this process (no extra dependency);
* ``slurm``: every cell is one Slurm job, submitted as one job array through submitit
  (``pip install 'sbka-lite[cluster]'``), with partition, time, GPUs per job and array parallelism;
* ``submitit-local``: the same jobs as subprocesses of this machine (submitit's local executor),
  at most ``array_parallelism`` at a time: what the tests use, and a way to try a sweep before a cluster.

The callers decide which cells still need to run (results on disk are the source of truth); this
module runs them and reports each one's outcome. Each submitted cell records its job id in a marker
file, so a submitting process that was killed and started again adopts the jobs still running instead
of starting them twice, and resubmits the ones that died. A cell that fails is reported with its log
path; the others run on.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from tqdm.auto import tqdm

from sbka_lite.paths import write_json_atomic

EXECUTORS = ("local", "slurm", "submitit-local")
_SUBMITIT_CLUSTER = {"slurm": "slurm", "submitit-local": "local"}
_SLURM_ALIVE = {"PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "SUSPENDED", "RESIZING"}


@dataclass
class ExecutorConfig:
    """Where cells run, and what each job asks the scheduler for (ignored by ``local``)."""

    kind: str = "local"
    partition: str = ""  # Slurm partition ("" -> the cluster's default)
    time_min: int = 60  # wall-clock limit per job
    gpus_per_job: int = 0
    cpus_per_job: int = 0  # 0 -> submitit's default
    mem_gb: float = 0.0  # 0 -> the partition's default
    array_parallelism: int = 8  # jobs running at once
    folder: str = ""  # submitit's job folder (scripts, pickles, logs); "" -> the caller's default
    poll_s: float = 0.5  # how often job states are checked

    def __post_init__(self) -> None:
        if self.kind not in EXECUTORS:
            raise ValueError(f"executor {self.kind!r} is not one of {EXECUTORS}")
        for name in ("time_min", "array_parallelism"):
            if getattr(self, name) < 1:
                raise ValueError(f"executor option {name} must be at least 1, got {getattr(self, name)}")
        for name in ("gpus_per_job", "cpus_per_job", "mem_gb"):
            if getattr(self, name) < 0:
                raise ValueError(f"executor option {name} must be 0 or more, got {getattr(self, name)}")


@dataclass
class Cell:
    """One unit of work: ``fn(*args, **kwargs)``; `marker` is where its job id is kept (submitit only)."""

    name: str
    fn: Callable[..., Any]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    marker: Path | None = None


@dataclass
class Outcome:
    name: str
    ok: bool
    value: Any = None
    error: str = ""
    log: str = ""  # the job's stderr log ("" for local cells)


class CellFailed(RuntimeError):
    """Raised with ``stop_on_error`` once a cell has failed (the others are cancelled)."""

    def __init__(self, outcome: Outcome) -> None:
        where = f" (log: {outcome.log})" if outcome.log else ""
        super().__init__(f"cell {outcome.name} failed: {outcome.error}{where}")
        self.outcome = outcome


def run_cells(cells: list[Cell], config: ExecutorConfig, *, desc: str = "cells", progress: bool = True,
              stop_on_error: bool = False, on_done: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run every cell where `config` says; returns one outcome per cell, in the order of `cells`.

    `on_done` is called as each cell finishes (in finishing order), so callers can save as they go.
    """
    if not cells:
        return []
    if len({cell.name for cell in cells}) != len(cells):
        raise ValueError("cell names must be unique")
    runner = _run_local if config.kind == "local" else _run_submitit
    outcomes = runner(cells, config, desc, progress, stop_on_error, on_done or (lambda outcome: None))
    order = {cell.name: index for index, cell in enumerate(cells)}
    return sorted(outcomes, key=lambda outcome: order[outcome.name])


def _run_local(cells, config, desc, progress, stop_on_error, on_done) -> list[Outcome]:
    outcomes = []
    for cell in tqdm(cells, desc=desc, disable=not progress):
        try:
            outcome = Outcome(cell.name, True, cell.fn(*cell.args, **cell.kwargs))
        except Exception as error:  # a failed cell is reported and the others run, unless asked to stop
            if stop_on_error:
                raise
            outcome = Outcome(cell.name, False, error=f"{type(error).__name__}: {error}"[:2000])
            traceback.print_exc()
        outcomes.append(outcome)
        on_done(outcome)
    return outcomes


# ------------------------------------------------------------------ submitit
def submitit_executor(config: ExecutorConfig, desc: str):
    """A submitit executor for `config` (Slurm or local subprocesses), its options set."""
    import submitit  # optional dependency: pip install 'sbka-lite[cluster]'

    if config.kind == "slurm" and shutil.which("sbatch") is None:
        raise RuntimeError("executor 'slurm' needs Slurm's sbatch on PATH; on this machine use "
                           "'submitit-local' (the same jobs as local subprocesses) or 'local'")
    if not config.folder:
        raise ValueError("a submitit executor needs a job folder (ExecutorConfig.folder)")
    executor = submitit.AutoExecutor(folder=str(Path(config.folder) / "%j"), cluster=_SUBMITIT_CLUSTER[config.kind])
    parameters: dict[str, Any] = {"name": desc.replace(" ", "-"), "timeout_min": config.time_min, "nodes": 1,
                                  "tasks_per_node": 1, "gpus_per_node": config.gpus_per_job,
                                  "slurm_array_parallelism": config.array_parallelism}
    if config.partition:
        parameters["slurm_partition"] = config.partition
    if config.cpus_per_job:
        parameters["cpus_per_task"] = config.cpus_per_job
    if config.mem_gb:
        parameters["mem_gb"] = config.mem_gb
    executor.update_parameters(**parameters)
    return executor


def _write_marker(cell: Cell, job, config: ExecutorConfig) -> None:
    if cell.marker is not None:
        write_json_atomic(cell.marker, {"executor": config.kind, "job_id": job.job_id,
                                        "folder": str(Path(config.folder) / "%j"), "submitted": time.time()})


def _pid_alive(pid: int) -> bool:
    """Whether a submitit-local job controller still runs (its pid not reused by something else)."""
    try:
        return b"submitit" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: fall back to a signal-0 probe
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False


def _adopt(cell: Cell, config: ExecutorConfig):
    """The still-running job a killed submitter left for this cell, or None."""
    import submitit

    if cell.marker is None or not cell.marker.is_file():
        return None
    try:
        marker = json.loads(cell.marker.read_text())
    except (OSError, ValueError):
        return None
    if marker.get("executor") != config.kind:
        return None
    if config.kind == "submitit-local":
        alive = str(marker["job_id"]).isdigit() and _pid_alive(int(marker["job_id"]))
        return submitit.LocalJob(marker["folder"], marker["job_id"]) if alive else None
    job = submitit.SlurmJob(marker["folder"], marker["job_id"])
    return job if job.state.split()[0] in _SLURM_ALIVE else None


def _job_done(job, config: ExecutorConfig) -> bool:
    if config.kind == "submitit-local" and getattr(job, "_process", None) is None:  # adopted: no handle
        return job.paths.result_pickle.exists() or not _pid_alive(int(job.job_id))
    return job.done()


def _outcome(name: str, job, config: ExecutorConfig) -> Outcome:
    log = str(job.paths.stderr)
    if config.kind == "submitit-local" and not job.paths.result_pickle.exists():
        time.sleep(0.5)  # the pickle is written just before the process exits
    if config.kind == "submitit-local" and not job.paths.result_pickle.exists():
        return Outcome(name, False, error=f"job {job.job_id} ended without a result (killed or timed out)", log=log)
    error = job.exception()
    if error is not None:
        last = [line for line in str(error).splitlines() if line.strip() and not line.startswith("-")]
        summary = next((line for line in reversed(last) if "Error" in line or "Exception" in line), type(error).__name__)
        return Outcome(name, False, error=f"job {job.job_id}: {summary.strip()}"[:2000], log=log)
    return Outcome(name, True, job.result(), log=log)


def _run_submitit(cells, config, desc, progress, stop_on_error, on_done) -> list[Outcome]:
    executor = submitit_executor(config, desc)
    running = {}  # cell name -> job
    waiting = []
    for cell in cells:
        adopted = _adopt(cell, config)
        if adopted is not None:
            running[cell.name] = adopted
        else:
            waiting.append(cell)
    if config.kind == "slurm":  # one job array; Slurm keeps at most array_parallelism running
        with executor.batch():
            jobs = [executor.submit(cell.fn, *cell.args, **cell.kwargs) for cell in waiting]
        for cell, job in zip(waiting, jobs):
            _write_marker(cell, job, config)
            running[cell.name] = job
        waiting = []
    outcomes: list[Outcome] = []
    bar = tqdm(total=len(cells), desc=desc, disable=not progress)
    try:
        while running or waiting:
            while waiting and len(running) < config.array_parallelism:
                cell = waiting.pop(0)
                running[cell.name] = job = executor.submit(cell.fn, *cell.args, **cell.kwargs)
                _write_marker(cell, job, config)
            for name in [n for n, job in running.items() if _job_done(job, config)]:
                outcome = _outcome(name, running.pop(name), config)
                outcomes.append(outcome)
                bar.update(1)
                on_done(outcome)
                if not outcome.ok and stop_on_error:
                    for job in running.values():
                        job.cancel(check=False)
                    raise CellFailed(outcome)
            time.sleep(config.poll_s if running else 0)
    finally:
        bar.close()
    return outcomes


# ------------------------------------------------------------------ command line
def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """The executor switch and its options, shared by ``sbka_lite.sweep`` and ``sbka_lite.ablation``."""
    group = parser.add_argument_group("executor (where cells run)")
    group.add_argument("--executor", choices=EXECUTORS, default="local",
                       help="local: one after another here; slurm: one Slurm job per cell (submitit); "
                            "submitit-local: the same jobs as local subprocesses")
    group.add_argument("--partition", default="", help="Slurm partition")
    group.add_argument("--time-min", type=int, default=60, help="wall-clock limit per job, minutes")
    group.add_argument("--gpus-per-job", type=int, default=0)
    group.add_argument("--cpus-per-job", type=int, default=0, help="0: submitit's default")
    group.add_argument("--mem-gb", type=float, default=0.0, help="0: the partition's default")
    group.add_argument("--array-parallelism", type=int, default=8, help="jobs running at once")
    group.add_argument("--jobs-folder", default="", help="submitit's scripts and logs (default: inside the output)")


def executor_from_args(args: argparse.Namespace, default_folder: str | Path) -> ExecutorConfig:
    return ExecutorConfig(kind=args.executor, partition=args.partition, time_min=args.time_min,
                          gpus_per_job=args.gpus_per_job, cpus_per_job=args.cpus_per_job, mem_gb=args.mem_gb,
                          array_parallelism=args.array_parallelism, folder=args.jobs_folder or str(default_folder))
