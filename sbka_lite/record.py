"""What a notebook records: key figures as JSON and figures as PNG, in one output folder.

Tests and sweeps read ``results.json`` instead of scraping notebook outputs.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from sbka_lite.paths import atomic_write, outputs_dir


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json_atomic(path: str | os.PathLike, data: Any) -> Path:
    """Write JSON through a temp file + rename so an interrupted run never leaves half a file."""
    path = Path(path)
    with atomic_write(path, "w") as handle:
        json.dump(_plain(data), handle, indent=2, sort_keys=True)
    return path


class Recorder:
    """Collects a notebook's key figures into ``<folder>/results.json`` (rewritten on every `log`)."""

    def __init__(self, folder: str | os.PathLike | None = None, name: str = "run"):
        self.folder = Path(folder) if folder else outputs_dir(name)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "results.json"
        self.values: dict[str, Any] = {}

    def log(self, **values: Any) -> None:
        self.values.update(values)
        write_json_atomic(self.path, self.values)

    def save_figure(self, fig, name: str, dpi: int = 110) -> Path:
        """Save a matplotlib figure as PNG next to the results and return its path."""
        path = self.folder / f"{name}.png"
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        self.values.setdefault("figures", {})[name] = str(path)
        write_json_atomic(self.path, self.values)
        return path
