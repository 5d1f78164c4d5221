"""Run the notebook series with papermill (``make demo``), and keep committed notebooks clean.

    python -m sbka_lite.tutorial.notebooks --mode demo --out outputs/demo
    python -m sbka_lite.tutorial.notebooks --strip notebooks/*.ipynb
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import nbformat
import papermill as pm
from jupyter_client.manager import AsyncKernelManager

from sbka_lite.paths import repo_root


def notebook_paths(folder: str | Path | None = None) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) in order."""
    folder = Path(folder) if folder else repo_root() / "notebooks"
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def notebook_parameters(path: str | Path) -> dict[str, Any]:
    """The defaults of a notebook's cell tagged ``parameters`` (flat literals, by convention)."""

    nb = nbformat.read(Path(path), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ValueError(f"{path}: expected exactly one cell tagged 'parameters', found {len(tagged)}")
    values = {}
    for node in ast.parse(tagged[0].source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise ValueError(f"{path}: the parameters cell must hold only NAME = literal lines")
        values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


class LocalKernelManager(AsyncKernelManager):
    """A kernel reached over local sockets (IPC) rather than TCP: nothing on the network, and no
    "Kernel is running over TCP without encryption" warning in every executed notebook (notebook 05's
    sweeps start kernels inside a kernel, and each warning landed in its outputs). Windows has no IPC."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if os.name != "nt":
            self.transport = "ipc"
            # jupyter_client's default socket name is "kernel-ipc" in the working directory: shared by
            # kernels started at once (a sweep's jobs) and left in the checkout if one is killed
            self.ip = os.path.join(tempfile.gettempdir(), f"sbka-kernel-{uuid.uuid4().hex[:16]}-ipc")


def run_notebook(path: str | Path, output: str | Path, parameters: dict[str, Any] | None = None,
                 *, timeout: int | None = None, log_output: bool = False) -> Path:
    """Execute one notebook with papermill in the repository root (the series' fixed working directory)."""
    path, output = Path(path), Path(output)
    if not path.is_file():
        raise FileNotFoundError(f"notebook not found: {path}")
    output.parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(
        str(path), str(output), parameters=parameters or {}, kernel_name="python3",
        cwd=str(repo_root()), progress_bar=False, log_output=log_output, execution_timeout=timeout,
        kernel_manager_class=LocalKernelManager,
    )
    return output


def run_series(mode: str, out: str | Path, only: list[str] | None = None) -> list[dict[str, Any]]:
    """Run every numbered notebook at `mode` size ("demo" or "smoke"), sharing one work folder."""
    out = Path(out)
    if not out.is_absolute():
        out = repo_root() / out
    rows = []
    for path in notebook_paths():
        if only and not any(path.name.startswith(o) for o in only):
            continue
        params = {"SMOKE": mode == "smoke", "WORKDIR": str(out)}
        started = time.perf_counter()
        print(f"[sbka-lite] running {path.name} ({mode}) ...", flush=True)
        executed = run_notebook(path, out / "notebooks" / path.name, params, log_output=False)
        seconds = time.perf_counter() - started
        rows.append({"notebook": path.name, "seconds": round(seconds, 1), "executed": str(executed)})
        print(f"[sbka-lite]   done in {seconds:.0f} s -> {executed}", flush=True)
    (out / "series_timings.json").write_text(json.dumps(rows, indent=2))
    return rows


def strip_outputs(path: str | Path) -> bool:
    """Remove outputs and execution counts from a notebook in place; True if it changed."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            cell.outputs, cell.execution_count = [], None
            changed = True
        if "execution" in cell.get("metadata", {}):
            del cell.metadata["execution"]
            changed = True
    if changed:
        nbformat.write(nb, path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["demo", "smoke"], default="demo")
    parser.add_argument("--out", default="outputs/demo", help="folder for executed notebooks, figures and results")
    parser.add_argument("--only", nargs="*", help="notebook prefixes to run, e.g. 01 03")
    parser.add_argument("--strip", nargs="*", metavar="NOTEBOOK", help="strip outputs from these notebooks and exit")
    args = parser.parse_args(argv)
    if args.strip is not None:
        for nb in args.strip:
            print(("stripped " if strip_outputs(nb) else "clean    ") + nb)
        return 0
    started = time.perf_counter()
    rows = run_series(args.mode, args.out, args.only)
    out = Path(args.out).resolve()
    print(f"\n[sbka-lite] {len(rows)} notebooks in {time.perf_counter() - started:.0f} s")
    print(f"  executed notebooks : {out / 'notebooks'}")
    print(f"  figures and results: {out}/<notebook>/ (results.json and *.png)")
    print(f"  timings            : {out / 'series_timings.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
