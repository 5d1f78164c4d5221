"""Parameter sweeps over any notebook of the series, with papermill.

    python -m sbka_lite.sweep notebooks/04_cluster_matching.ipynb \\
        --grid CODEBOOK=gmm,kmeans --grid N_COMPONENTS=0,5,11 --set SMOKE=True \\
        --set TRAIN_WORKDIR=outputs/smoke --out outputs/sweeps/k   # reuse the series' trained model

Every combination of the grid is one run: ``<out>/<run name>/`` holds the executed notebook,
the notebook's own outputs (its WORKDIR points there) and ``result.json`` (parameters, status,
seconds and the notebook's recorded figures). A run whose ``result.json`` says ``ok`` is skipped,
so an interrupted sweep resumes. Unknown parameter names and values of the wrong type are
refused before anything runs (papermill alone would only warn).
"""
from __future__ import annotations

import argparse
import ast
import itertools
import json
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sbka_lite.tutorial.notebooks import notebook_parameters, run_notebook
from sbka_lite.tutorial.params import ParameterError, check_types
from sbka_lite.paths import write_json_atomic


@dataclass
class SweepConfig:
    """One sweep: a notebook, a grid of values per parameter, fixed parameters, an output folder."""

    notebook: str
    grid: dict[str, list[Any]]
    out: str
    fixed: dict[str, Any] = field(default_factory=dict)
    stop_on_error: bool = False

    def runs(self) -> list[dict[str, Any]]:
        names = list(self.grid)
        return [{**self.fixed, **dict(zip(names, values))} for values in itertools.product(*self.grid.values())]


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


def run_sweep(config: SweepConfig, *, progress: bool = True) -> list[dict[str, Any]]:
    """Run (or resume) the sweep; returns one record per run (also in each ``result.json``)."""
    from tqdm.auto import tqdm

    validate(config)
    notebook = Path(config.notebook)
    out = Path(config.out)
    varied = list(config.grid)
    records = []
    for parameters in tqdm(config.runs(), desc=f"sweep {notebook.stem}", disable=not progress):
        folder = out / run_name(parameters, varied)
        result_path = folder / "result.json"
        if result_path.is_file():
            previous = json.loads(result_path.read_text())
            if previous.get("status") == "ok":
                records.append({**previous, "skipped": True})
                continue
        started = time.perf_counter()
        record: dict[str, Any] = {"notebook": notebook.name, "run": folder.name, "parameters": parameters}
        try:
            run_notebook(notebook, folder / notebook.name, {**parameters, "WORKDIR": str(folder.resolve())})
            recorded = folder / notebook.stem / "results.json"
            record.update(status="ok", results=json.loads(recorded.read_text()) if recorded.is_file() else {})
        except Exception as error:  # a failed run is recorded, and the sweep goes on unless asked not to
            record.update(status="failed", error=f"{type(error).__name__}: {error}"[:2000],
                          traceback=traceback.format_exc()[-4000:])
            if config.stop_on_error:
                write_json_atomic(result_path, {**record, "seconds": round(time.perf_counter() - started, 1)})
                raise
        record["seconds"] = round(time.perf_counter() - started, 1)
        write_json_atomic(result_path, record)
        records.append(record)
    return records


def collect(out: str | Path, metrics: dict[str, str] | None = None):
    """A pandas table of every run under `out`: its parameters, status, seconds and chosen metrics.

    `metrics` maps a column name to a dotted path into the notebook's results, e.g.
    ``{"map_all": "cluster_label_free.map_all"}``.
    """
    import pandas as pd

    rows = []
    for path in sorted(Path(out).glob("*/result.json")):
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


def _parse_value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a bare word is a string, as with papermill -p


def _parse_pairs(pairs: list[str], *, many: bool) -> dict[str, Any]:
    parsed = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(f"expected NAME=VALUE{'[,VALUE...]' if many else ''}, got {pair!r}")
        name, text = pair.split("=", 1)
        parsed[name.strip()] = [_parse_value(v) for v in text.split(",")] if many else _parse_value(text)
    return parsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook")
    parser.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2", help="a swept parameter")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a fixed parameter")
    parser.add_argument("--out", required=True, help="folder for the runs")
    parser.add_argument("--stop-on-error", action="store_true")
    args = parser.parse_args(argv)
    config = SweepConfig(args.notebook, _parse_pairs(args.grid, many=True), args.out,
                         _parse_pairs(args.set, many=False), args.stop_on_error)
    try:
        records = run_sweep(config)
    except ParameterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    failed = [r["run"] for r in records if r.get("status") != "ok"]
    print(collect(args.out).to_string(index=False))
    if failed:
        print(f"{len(failed)} run(s) failed: {', '.join(failed)} (see their result.json)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
