"""Parameter sweeps over any notebook of the series, with papermill.

    python -m sbka_lite.sweep notebooks/04_cluster_matching.ipynb \\
        --grid CODEBOOK=gmm,kmeans --grid N_COMPONENTS=0,5,11 --set SMOKE=true \\
        --set TRAIN_WORKDIR=outputs/smoke --out outputs/sweeps/k   # reuse the series' trained model
    python -m sbka_lite.sweep ... --executor slurm --partition gpu --gpus-per-job 1 --time-min 120

Every combination of the grid is one cell: ``<out>/<run name>/`` holds the executed notebook,
the notebook's own outputs (its WORKDIR points there) and ``result.json`` (parameters, status,
seconds and the notebook's recorded figures). A cell whose ``result.json`` says ``ok`` for the same
notebook (its name and the hash of its code cells) and the same parameters, fixed ones included, is
skipped, so an interrupted sweep resumes, whichever executor ran it; a cell holding another
notebook's or other parameters' results is refused, naming the difference (``--force`` reruns it). ``<out>/sweep.json`` collects every
cell's record. Values are read as YAML (``true``, ``1e-4``, ``[1, 2]``, a bare word is a string),
exactly as ``python -m sbka_lite.train --set`` reads them. Unknown parameter names and values of the
wrong type are refused before anything runs (papermill alone would only warn).
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sbka_lite.config import ConfigError, parse_set_overrides, parse_value
from sbka_lite.experiments.executors import (
    Cell,
    CellFailed,
    ExecutorConfig,
    Outcome,
    add_executor_arguments,
    executor_from_args,
    run_cells,
)
from sbka_lite.paths import write_json_atomic
from sbka_lite.tutorial.notebooks import notebook_parameters, run_notebook
from sbka_lite.tutorial.params import ParameterError, check_types

RESULT = "result.json"
SUMMARY = "sweep.json"
JOBS = "_jobs"  # submitit's scripts and logs, beside the cells


@dataclass
class SweepConfig:
    """One sweep: a notebook, a grid of values per parameter, fixed parameters, an output folder."""

    notebook: str
    grid: dict[str, list[Any]]
    out: str
    fixed: dict[str, Any] = field(default_factory=dict)
    stop_on_error: bool = False
    force: bool = False  # rerun cells whose saved results came from another notebook or other parameters

    def runs(self) -> list[dict[str, Any]]:
        names = list(self.grid)
        return [{**self.fixed, **dict(zip(names, values))} for values in itertools.product(*self.grid.values())]


class SweepConflict(ValueError):
    """`out` holds results of another notebook, another version of it, or other parameters."""


def notebook_fingerprint(path: str | Path) -> str:
    """``sha256:<hex>`` of the notebook's code cells: what runs, not its outputs or metadata (so
    opening and saving it in Jupyter does not change it)."""
    cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    sources = ["".join(c["source"]) if isinstance(c.get("source"), list) else c.get("source", "")
               for c in cells if c.get("cell_type") == "code"]
    return "sha256:" + hashlib.sha256(json.dumps(sources).encode()).hexdigest()


def differences(record: dict[str, Any], base: dict[str, Any]) -> list[str]:
    """How a saved cell record's inputs differ from this sweep's (empty: the same cell)."""
    found = []
    if record.get("notebook") != base["notebook"]:
        found.append(f"notebook {record.get('notebook')!r} -> {base['notebook']!r}")
    elif record.get("notebook_sha256") != base["notebook_sha256"]:
        found.append("the notebook's code changed" if record.get("notebook_sha256")
                     else "no notebook hash recorded (an older sbka-lite)")
    old, new = record.get("parameters", {}), base["parameters"]
    for name in sorted(set(old) | set(new), key=str):
        if old.get(name, "<unset>") != new.get(name, "<unset>"):
            found.append(f"{name}: {old.get(name, '<unset>')!r} -> {new.get(name, '<unset>')!r}"[:200])
    return found


def run_name(parameters: dict[str, Any], varied: list[str]) -> str:
    """A folder name from the varied parameters, e.g. ``CODEBOOK-gmm_N_COMPONENTS-5``."""
    parts = [f"{name}-{parameters[name]}" for name in varied] or ["default"]
    return "_".join(parts).replace("/", "-").replace(" ", "-")


def validate(config: SweepConfig) -> dict[str, Any]:
    """Check every swept and fixed name and value against the notebook's parameters cell."""
    defaults = notebook_parameters(config.notebook)
    for name, values in config.grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ParameterError(f"grid entry {name} needs a non-empty list of values")
    for parameters in config.runs():
        check_types(parameters, defaults)
    return defaults


def run_cell(notebook: str, folder: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """Run one grid point and write its ``result.json``; a failure is recorded, then raised.

    This is what each job runs (in this process or on another machine).
    """
    notebook_path, folder_path = Path(notebook), Path(folder)
    (folder_path / RESULT).unlink(missing_ok=True)  # a stale failed record must not outlive this attempt
    started = time.perf_counter()
    record: dict[str, Any] = {"notebook": notebook_path.name, "notebook_sha256": notebook_fingerprint(notebook_path),
                              "run": folder_path.name, "parameters": parameters}
    try:
        run_notebook(notebook_path, folder_path / notebook_path.name,
                     {**parameters, "WORKDIR": str(folder_path.resolve())})
        recorded = folder_path / notebook_path.stem / "results.json"
        record.update(status="ok", results=json.loads(recorded.read_text()) if recorded.is_file() else {})
    except Exception as error:
        record.update(status="failed", error=_error_summary(notebook_path, error),
                      traceback=traceback.format_exc()[-4000:], seconds=round(time.perf_counter() - started, 1))
        write_json_atomic(folder_path / RESULT, record)
        raise
    record["seconds"] = round(time.perf_counter() - started, 1)
    write_json_atomic(folder_path / RESULT, record)
    return record


def _error_summary(notebook: Path, error: Exception) -> str:
    """One line: a notebook's own exception (papermill carries its name and value), else the error."""
    if hasattr(error, "ename"):
        return f"{notebook.name}: {error.ename}: {error.evalue}"[:2000]
    return f"{type(error).__name__}: {error}"[:2000]


def _read_record(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / RESULT).read_text())
    except (OSError, ValueError):  # absent, or cut short by a kill: the cell runs again
        return None


def _settle(folder: Path, outcome: Outcome, base: dict[str, Any]) -> dict[str, Any]:
    """The cell's record after its job ended: what it wrote, plus the job's log; a record for a job
    that died before writing one."""
    record = _read_record(folder)
    if record is None:
        record = {**base, "status": "failed", "error": outcome.error}
    if outcome.log and record.get("status") != "ok":
        record["log"] = outcome.log
    if record != _read_record(folder):
        write_json_atomic(folder / RESULT, record)
    return record


def run_sweep(config: SweepConfig, *, progress: bool = True,
              executor: ExecutorConfig | None = None) -> list[dict[str, Any]]:
    """Run (or resume) the sweep; returns one record per cell in grid order (also in each ``result.json``).

    Finished cells are skipped (``"skipped": True``); the rest run on `executor` (default: here,
    one after another). A failed cell is recorded with its error (and its job log) and the others run on.
    """
    validate(config)
    executor = executor or ExecutorConfig()
    if executor.kind != "local" and not executor.folder:
        executor = dataclasses.replace(executor, folder=str(Path(config.out) / JOBS))
    notebook, out, varied = Path(config.notebook), Path(config.out), list(config.grid)
    _check_out(out, config.force)
    fingerprint = notebook_fingerprint(notebook)
    records: dict[str, dict[str, Any]] = {}
    bases, cells, conflicts = {}, [], []
    for parameters in config.runs():
        folder = out / run_name(parameters, varied)
        base = {"notebook": notebook.name, "notebook_sha256": fingerprint, "run": folder.name, "parameters": parameters}
        previous = _read_record(folder)
        if previous is not None and previous.get("status") == "ok":
            differs = differences(previous, base)
            if not differs:
                records[folder.name] = {**previous, "skipped": True}
                continue
            if not config.force:
                conflicts.append(f"{folder}: {'; '.join(differs[:4])}")
                continue
        bases[folder.name] = base
        cells.append(Cell(folder.name, run_cell, (str(notebook), str(folder), parameters), marker=folder / "job.json"))

    if conflicts:  # checked before anything runs: results are never silently replaced or mislabelled
        raise SweepConflict(
            f"{len(conflicts)} cell(s) under {out} hold results of another notebook or other parameters:\n  "
            + "\n  ".join(conflicts[:10]) + ("\n  ..." if len(conflicts) > 10 else "")
            + "\nuse another --out, or --force to run those cells again (replacing their results)")

    def settle(outcome: Outcome) -> None:
        records[outcome.name] = _settle(out / outcome.name, outcome, bases[outcome.name])

    try:
        run_cells(cells, executor, desc=f"sweep {notebook.stem}", progress=progress,
                  stop_on_error=config.stop_on_error, on_done=settle)
    finally:
        ordered = [records[name] for name in (run_name(p, varied) for p in config.runs()) if name in records]
        if ordered:
            write_summary(config, ordered)
    return ordered


def _check_out(out: Path, force: bool) -> None:
    """A sweep writes only into a new or empty folder, or one a sweep wrote (it has sweep.json or cells)."""
    if force or not out.is_dir() or not any(out.iterdir()):
        if out.exists() and not out.is_dir():
            raise SweepConflict(f"--out {out} is a file; name a folder for the sweep")
        return
    if (out / SUMMARY).is_file() or any(out.glob(f"*/{RESULT}")) or (out / JOBS).is_dir():
        return
    shown = ", ".join(sorted(p.name for p in out.iterdir())[:5])
    raise SweepConflict(f"--out {out} holds files that are not a sweep's ({shown}); choose a new or empty folder "
                        "(or --force to write the sweep's cells beside them)")


def write_summary(config: SweepConfig, records: list[dict[str, Any]]) -> Path:
    """``<out>/sweep.json``: the sweep and every cell's record (the same whichever executor ran them)."""
    runs = [{k: v for k, v in record.items() if k != "skipped"} for record in records]
    return write_json_atomic(Path(config.out) / SUMMARY, {"notebook": Path(config.notebook).name,
                                                          "grid": config.grid, "fixed": config.fixed, "runs": runs})


def collect(out: str | Path, metrics: dict[str, str] | None = None) -> pd.DataFrame:
    """A pandas table of every run under `out`: its parameters, status, seconds and chosen metrics.

    `metrics` maps a column name to a dotted path into the notebook's results, e.g.
    ``{"map_all": "cluster_label_free.map_all"}``.
    """
    rows = []
    for path in sorted(Path(out).glob(f"*/{RESULT}")):
        record = json.loads(path.read_text())
        row = {"run": record.get("run", path.parent.name), "status": record.get("status"),
               "seconds": record.get("seconds"), **record.get("parameters", {})}
        for column, dotted in (metrics or {}).items():
            value: Any = record.get("results", {})
            for key in dotted.split("."):
                value = value.get(key) if isinstance(value, dict) else None
            row[column] = value
        rows.append(row)
    return pd.DataFrame(rows)


def split_values(text: str) -> list[str]:
    """``"1,[2, 3],'a,b'"`` -> ``["1", "[2, 3]", "'a,b'"]``: commas inside brackets or quotes stay."""
    parts, depth, quote, start = [], 0, "", 0
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    return [*parts, text[start:]]


def parse_grid(pairs: list[str]) -> dict[str, list[Any]]:
    """``["K=1,2", "MODE=a,b"]`` -> ``{"K": [1, 2], "MODE": ["a", "b"]}`` (each value read as YAML)."""
    grid = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--grid expects NAME=VALUE[,VALUE...], got {pair!r}")
        name, text = pair.split("=", 1)
        grid[name.strip()] = [parse_value(value) for value in split_values(text)]
    return grid


def _report(records: list[dict[str, Any]], out: str) -> int:
    print(collect(out).to_string(index=False))
    failed = [r for r in records if r.get("status") != "ok"]
    for record in failed:
        where = f"log: {record['log']}" if record.get("log") else f"see {Path(out) / record['run'] / RESULT}"
        print(f"failed: {record['run']}: {record.get('error', '?')[:300]} ({where})", file=sys.stderr)
    if failed:
        print(f"{len(failed)} of {len(records)} cell(s) failed; run the same command again to retry them",
              file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sbka_lite.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook")
    parser.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2", help="a swept parameter")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a fixed parameter")
    parser.add_argument("--out", required=True, help="folder for the runs")
    parser.add_argument("--stop-on-error", action="store_true")
    parser.add_argument("--force", action="store_true",
                        help="rerun cells whose saved results came from another notebook or other parameters")
    parser.add_argument("--no-progress", action="store_true")
    add_executor_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config = SweepConfig(args.notebook, parse_grid(args.grid), args.out, parse_set_overrides(args.set),
                             args.stop_on_error, args.force)
        executor = executor_from_args(args, Path(args.out) / JOBS)
        records = run_sweep(config, executor=executor, progress=not args.no_progress)
    except (ParameterError, ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except CellFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return _report(records, args.out)


if __name__ == "__main__":
    sys.exit(main())
