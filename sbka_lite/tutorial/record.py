"""What a notebook records: key figures as JSON and figures as PNG, in one output folder.

Tests and sweeps read ``results.json`` instead of scraping notebook outputs.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sbka_lite.paths import outputs_dir, write_json_atomic


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

    def save_figure(self, fig, name: str, dpi: int = 110) -> None:
        """Save a matplotlib figure as PNG next to the results (its path is in results.json's ``figures``).
        Returns nothing, so a cell ending with it prints no path of this machine."""
        path = self.folder / f"{name}.png"
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        self.values.setdefault("figures", {})[name] = str(path)
        write_json_atomic(self.path, self.values)
