"""What the notebooks of the series share: one training recipe per size and where its runs live.

Notebook 03 trains; 02, 04 and 06 reuse its checkpoint when present and otherwise train the same
run themselves, so any notebook can be opened on its own.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sbka_lite.config import DEMO_CONFIG, TrainConfig, run_slug, training_config
from sbka_lite.paths import outputs_dir, repo_root
from sbka_lite.train import TrainResult, train

def run_dir(smoke: bool, override: str = "") -> Path:
    """The folder the notebook series shares (checkpoints, embeddings, results): one per size,
    so a smoke run in CI never overwrites the demo. ``override`` (a notebook's WORKDIR) wins."""
    folder = Path(override) if override else outputs_dir("smoke" if smoke else "demo")
    if not folder.is_absolute():
        folder = repo_root() / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_folder(workdir: str | Path, config: TrainConfig, *, smoke: bool, config_file: str = DEMO_CONFIG) -> Path:
    """``<workdir>/03_training/runs/<slug>``: the slug names every key that differs from the recipe
    (`sbka_lite.config.run_slug`), so no override can land in another run's folder (a run folder
    only resumes the configuration it was started with)."""
    recipe = training_config(smoke, config_file=config_file)
    slug = run_slug(config, recipe)
    if Path(config_file).stem != Path(DEMO_CONFIG).stem:
        slug += f"-{Path(config_file).stem}"
    return Path(workdir) / "03_training" / "runs" / slug


def series_config(smoke: bool, workdir: str | Path, *, config_file: str = DEMO_CONFIG, **overrides: Any) -> TrainConfig:
    """The series' recipe with `overrides`, in the run folder its keys name."""
    config = training_config(smoke, config_file=config_file, **overrides)
    return config.replace(run_dir=str(run_folder(workdir, config, smoke=smoke, config_file=config_file)))


def ensure_trained(benchmark, smoke: bool, workdir: str | Path, *, alignment: str = "bidirectional", seed: int = 0,
                   progress: bool = True, config_file: str = DEMO_CONFIG, **overrides: Any) -> TrainResult:
    """Train (or resume, or just reload) the series' run with `overrides` and return its `TrainResult`.

    A finished run returns at once: its checkpoints are read, not recomputed.
    """
    config = series_config(smoke, workdir, config_file=config_file, alignment=alignment, seed=seed, **overrides)
    return train(config, benchmark, progress=progress)
