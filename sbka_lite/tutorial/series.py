"""What the notebooks of the series share: one training recipe per size and where its runs live.

Notebook 03 trains; 02, 04 and 06 reuse its checkpoint when present and otherwise train the same
run themselves, so any notebook can be opened on its own.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sbka_lite.paths import outputs_dir, repo_root

DEMO_CONFIG = "configs/demo.yaml"


def run_dir(smoke: bool, override: str = "") -> Path:
    """The folder the notebook series shares (checkpoints, embeddings, results): one per size,
    so a smoke run in CI never overwrites the demo. ``override`` (a notebook's WORKDIR) wins."""
    folder = Path(override) if override else outputs_dir("smoke" if smoke else "demo")
    if not folder.is_absolute():
        folder = repo_root() / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def training_config(smoke: bool, *, config_file: str = DEMO_CONFIG, run_dir: str | Path = "", **overrides: Any):
    """The demo recipe (or `config_file`) with `overrides`, shrunk to smoke size when `smoke`."""
    from sbka_lite.train import TrainConfig

    path = Path(config_file)
    if not path.is_absolute():
        path = repo_root() / path
    config = TrainConfig.from_yaml(path, {k: v for k, v in overrides.items() if v is not None})
    if smoke:
        config = config.smoke()
    if run_dir:
        config = config.replace(run_dir=str(run_dir))
    return config


def run_folder(workdir: str | Path, alignment: str = "bidirectional", seed: int = 0, *, gaussian: bool = True,
               teacher_grad_to_student: bool = False, epochs: int = 0, config_file: str = DEMO_CONFIG) -> Path:
    """``<workdir>/03_training/runs/<alignment>-seed<seed>[-switches]``: one folder per distinct run.

    Switches that differ from the series' recipe are part of the name, so notebook 03 run with,
    say, ``GAUSSIAN=False`` trains beside the default run instead of clashing with it (a run folder
    only resumes the configuration it was started with).
    """
    parts = [alignment, f"seed{seed}"]
    if not gaussian:
        parts.append("nogauss")
    if teacher_grad_to_student:
        parts.append("tgrad")
    if epochs:
        parts.append(f"e{epochs}")
    if Path(config_file).stem != Path(DEMO_CONFIG).stem:
        parts.append(Path(config_file).stem)
    return Path(workdir) / "03_training" / "runs" / "-".join(parts)


def ensure_trained(benchmark, smoke: bool, workdir: str | Path, *, alignment: str = "bidirectional", seed: int = 0,
                   progress: bool = True, **overrides: Any):
    """Train (or resume, or just reload) the series' run and return its `TrainResult`.

    A finished run returns at once: its checkpoints are read, not recomputed.
    """
    from sbka_lite.train import train

    config = training_config(smoke, run_dir=run_folder(workdir, alignment, seed), alignment=alignment, seed=seed,
                             **overrides)
    return train(config, benchmark, progress=progress)


def selected_checkpoint(result) -> Path:
    """The checkpoint chosen on held-out seen-class sketches (never unseen), else the last one."""
    best = result.best_checkpoint
    return Path(best) if best and Path(best).is_file() else Path(result.last_checkpoint)
