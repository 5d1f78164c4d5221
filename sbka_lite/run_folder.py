"""A run's folder: opened fresh, resumed from ``last.pt`` or branched from a warm-up's checkpoint.

Resume continues a run with the same configuration (keys in `RESUMABLE_KEYS` may change: more epochs,
a new stop point); a branch starts phase 2 from another run stopped where its warm-up ended, and may
differ from it only in `PHASE2_KEYS`. Configurations are compared as dicts (`TrainConfig.to_dict`),
stored ones read through `upgrade_saved_config` (renamed keys). What a kill mid-write left is removed
first; a ``best.pt`` newer than ``last.pt``'s record of it (a kill between the two writes) is trusted.
"""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

from .checkpoint import RunState, best_record_on_disk, load_checkpoint, remove_stale_temporaries
from .config import PHASE2_KEYS, RESUMABLE_KEYS, upgrade_saved_config
from .paths import atomic_write


def _changed(saved: dict, current: dict, allowed: set[str]) -> str:
    # A key the saved run does not know is newer than the run; its default keeps the old behaviour.
    keys = sorted(key for key in current if key not in allowed and key in saved and saved[key] != current[key])
    return ", ".join(f"{key}: {saved.get(key)!r} -> {current[key]!r}" for key in keys)


def check_resumable(saved: dict, current: dict, path: Path) -> None:
    """Refuse to resume `path` (written with config `saved`) under another configuration `current`."""
    details = _changed(upgrade_saved_config(saved), current, set(RESUMABLE_KEYS))
    if details:
        raise ValueError(f"{path} was written by a run with a different config ({details}); "
                         "use another run_name/run_dir, or resume=False to start over")


def check_branchable(saved: dict, state: dict, current: dict, path: Path) -> None:
    """A branch starts phase 2 from `path`: a run with this config up to phase-2-only keys, stopped
    exactly at the end of its warm-up, whose teacher taught in phase 1 as this run's will."""
    saved = upgrade_saved_config(saved)
    details = _changed(saved, current, set(RESUMABLE_KEYS) | set(PHASE2_KEYS))
    if details:
        raise ValueError(f"branch_from={path}: that run differs in keys that act before phase 2 ({details}); "
                         f"a branch may differ only in {sorted(PHASE2_KEYS)}")
    if not {saved.get("alignment"), current["alignment"]} <= {"teacher_to_student", "bidirectional"}:
        raise ValueError(f"branch_from={path}: alignment {saved.get('alignment')!r} -> {current['alignment']!r}; "
                         "phase 1 is the same only between runs with a teacher (teacher_to_student, bidirectional)")
    warmup = current["warmup_epochs"]
    if (int(state["epoch"]), int(state["step_in_epoch"])) != (warmup, 0):
        raise ValueError(f"branch_from={path} stopped at epoch {state['epoch']} (+{state['step_in_epoch']} steps); "
                         f"a branch starts where the warm-up ends, epoch {warmup}: train that run with "
                         f"stop_after_steps = warmup_epochs x steps_per_epoch")


class RunFolder:
    """``last.pt`` and ``best.pt`` of one run directory, and how a run starts from them."""

    def __init__(self, run_dir: Path, dist: Any) -> None:
        self.run_dir, self.dist = Path(run_dir), dist
        self.last_path, self.best_path = self.run_dir / "last.pt", self.run_dir / "best.pt"

    def open(self, config: dict, *, bad_image_fraction: float) -> tuple[RunState, dict | None]:
        """The run's state and the checkpoint it continues from (None: a fresh start). `config` is the
        run's `TrainConfig.to_dict()`: its ``resume`` and ``branch_from`` say where to start."""
        resumed = self._saved(config)
        state = RunState.from_checkpoint(resumed, bad_image_fraction)
        if resumed is not None:
            self._trust_best_on_disk(state)
        return state, resumed

    def _saved(self, config: dict) -> dict | None:
        dist = self.dist
        if dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(self.run_dir)  # what a kill mid-write left (tens of MB each)
        resumed = load_checkpoint(self.last_path) if config["resume"] and self.last_path.is_file() else None
        if resumed is not None:
            check_resumable(resumed.get("config", {}), config, self.last_path)
        elif dist.is_main and not config["resume"]:
            for stale in (self.last_path, self.best_path):
                stale.unlink(missing_ok=True)
        if resumed is None and config["branch_from"]:
            resumed = self._branch(Path(config["branch_from"]).expanduser(), config)
        dist.barrier()
        return resumed

    def _branch(self, source: Path, config: dict) -> dict:
        """The warm-up's state, to continue as this run; its best.pt comes along when it holds the best epoch."""
        state = load_checkpoint(source)
        check_branchable(state.get("config", {}), state, config, source)
        best_epoch = state["best"]["epoch"]
        if best_epoch is not None and self.dist.is_main:
            on_disk = best_record_on_disk(source.parent / "best.pt")
            if on_disk["epoch"] != best_epoch:
                raise ValueError(f"branch_from={source} records best epoch {best_epoch}, but {source.parent / 'best.pt'} "
                                 f"holds epoch {on_disk['epoch']}: the warm-up's folder is incomplete; train it again")
            with atomic_write(self.best_path) as stream, open(source.parent / "best.pt", "rb") as original:
                shutil.copyfileobj(original, stream)
        return state

    def _trust_best_on_disk(self, state: RunState) -> None:
        on_disk = best_record_on_disk(self.best_path)
        if on_disk["epoch"] != state.best["epoch"]:
            if self.dist.is_main:
                warnings.warn(f"{self.run_dir}: last.pt records best epoch {state.best['epoch']} but best.pt holds "
                              f"epoch {on_disk['epoch']} (an interrupted write); using what best.pt holds", stacklevel=5)
            state.best = on_disk
