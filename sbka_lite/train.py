"""Training runs: the epoch loop, checkpoints and resume, logs, and the command line.

    python -m sbka_lite.train --config configs/demo.yaml --set epochs=3 [--smoke]
    torchrun --nproc_per_node 4 -m sbka_lite.train --config configs/paper_sketchy.yaml

The method is one model, `sbka_lite.sbka.SBKAModel` (its loss terms, phases and detaches in
`sbka_lite.objective`); one optimisation step of it is `sbka_lite.trainer.Trainer`'s, which knows
nothing of the method; `sbka_lite.build` turns the config into both and into the data. This module
runs epochs of steps, validates on
held-out **seen**-class sketches (the ``test`` split; unseen classes are never read here), keeps
``best.pt`` (selection on that accuracy) and ``last.pt`` (for resume), and writes the logs.

At each epoch end ``best.pt`` is written before ``last.pt``: a kill between the two leaves the
newer ``best.pt`` and an older ``last.pt``, whose epoch is then re-run and re-selected, so
``best.pt`` and the record of it never disagree.
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from .checkpoint import CheckpointError, load_student, rng_state, save_checkpoint, set_rng_state
from .config import ConfigError, TrainConfig, parse_set_overrides
from .build import (
    build_loader,
    build_model,
    build_trainer,
    image_transform,
    open_training_benchmark,
    semantic_mask_of,
    training_data,
    validation_items,
)
from .data.benchmark import SeenSubset
from .device import get_device
from .distributed import DistContext, destroy, init_distributed
from .unseen import evaluate_unseen
from .models import Student
from .objective import TERMS
from .paths import atomic_write, exclusive, shown
from .run_folder import RunFolder
from .run_logs import epoch_row, write_logs
from .selection import FALLBACK_REASON, selects

LOSS_TERMS = tuple(TERMS)  # the log columns of the loss terms, in the objective's order


@dataclass
class TrainResult:
    """What a run leaves behind (the same on every rank; only rank 0 writes files)."""

    config: TrainConfig
    run_dir: Path
    last_checkpoint: Path
    best_checkpoint: Path | None  # selected on held-out seen-class sketch accuracy; None if not on disk
    best_val_acc: float | None
    best_epoch: int | None
    selection: str  # how best.pt was chosen: the rule, or the stated fallback when the rule picked nothing
    history: list[dict]  # one row per step: losses per term, lr, phase, ...
    epochs: list[dict]  # one row per epoch: mean losses, val_acc, seconds
    bad_images: list[str]
    completed: bool  # False when stopped early by stop_after_steps
    student: Student | None = field(default=None, repr=False)  # the final in-memory model (None if already finished)

    @property
    def selected_checkpoint(self) -> Path:
        """The checkpoint chosen on held-out seen-class sketches (never unseen), else the last one."""
        best = self.best_checkpoint
        return Path(best) if best and Path(best).is_file() else Path(self.last_checkpoint)

    def __repr__(self) -> str:  # one line: the history has a row per step (tens of thousands of characters)
        accuracy = "None" if self.best_val_acc is None else f"{self.best_val_acc:.4f}"
        return (f"TrainResult(run_dir='{shown(self.run_dir)}', completed={self.completed}, steps={len(self.history)}, "
                f"epochs={len(self.epochs)}, best_epoch={self.best_epoch}, best_val_acc={accuracy}, "
                f"selection={self.selection!r}, bad_images={len(self.bad_images)})")

    def history_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.history)

    def epochs_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.epochs)


# --------------------------------------------------------------------------- a run


class _Run:
    """One call of `train`: set-up, the epoch loop, checkpoints and logs."""

    def __init__(self, config: TrainConfig, benchmark, dist: DistContext, device: torch.device, progress: bool) -> None:
        self.config, self.benchmark, self.dist, self.device, self.progress = config, benchmark, dist, device, progress
        self.classes = list(benchmark.seen_classes)
        self.run_dir = config.resolved_run_dir()
        self.folder = RunFolder(self.run_dir, dist)
        self.last_path, self.best_path = self.folder.last_path, self.folder.best_path
        self.state, resumed = self.folder.open(config.to_dict(), bad_image_fraction=config.bad_image_fraction)
        self.model = self.trainer = None
        self.epoch_info: dict = {}  # what the model records of the current epoch (its phase)
        if self.state.epoch < config.epochs:
            self.model = build_model(config, self.classes, semantic_mask_of(benchmark, self.classes, config.pretraining),
                                     progress=progress, dist=dist)
            self.trainer = build_trainer(config, self.model, device, dist)
            if resumed is not None:
                self.trainer.load_state_dict(resumed)
                set_rng_state(resumed["rng"])

    # ----------------------------------------------------------------- outputs
    def result(self, completed: bool) -> TrainResult:
        best = self.state.best
        on_disk = best["epoch"] is not None and self.best_path.is_file()
        return TrainResult(config=self.config, run_dir=self.run_dir, last_checkpoint=self.last_path,
                           best_checkpoint=self.best_path if on_disk else None,
                           best_val_acc=best["val_acc"], best_epoch=best["epoch"],
                           selection=best.get("rule") or self.config.selection, history=self.state.history,
                           epochs=self.state.epoch_rows, bad_images=list(self.state.bad_log.bad), completed=completed,
                           student=self.model.student.eval() if self.model is not None else None)

    def checkpoint(self, path: Path) -> None:
        if self.dist.is_main:
            save_checkpoint({**self.trainer.state_dict(), **self.state.as_checkpoint(),
                             "config": self.config.to_dict(), "rng": rng_state()}, path)

    def write_logs(self) -> None:
        if self.dist.is_main:
            write_logs(self.run_dir, self.state,
                        {"config": self.config.to_dict(), "best_val_acc": self.state.best["val_acc"],
                         "best_epoch": self.state.best["epoch"], "best_val_loss": self.state.best.get("val_loss"),
                         "selection": self.state.best.get("rule") or self.config.selection, "seen_classes": self.classes,
                         "image_size": self.model.student.input_size, "terms": {n: t.symbol for n, t in TERMS.items()}})

    def stopping(self) -> bool:
        return bool(self.config.stop_after_steps) and self.state.global_step >= self.config.stop_after_steps

    # ----------------------------------------------------------------- the loop
    def _data(self):
        dataset, sampler = training_data(self.config, self.benchmark, self.classes,
                                         image_transform(self.model.student, self.config), self.dist)
        return sampler, build_loader(dataset, sampler, self.config, self.device)

    def run(self) -> TrainResult:
        config, state, trainer, dist = self.config, self.state, self.trainer, self.dist
        if trainer is None:  # a finished run: nothing to do
            return self.result(True)
        if self.stopping():  # already stopped here: calling again must not creep on step by step
            return self.result(False)
        sampler, loader = self._data()
        label = {name: index for index, name in enumerate(self.classes)}
        val_items = [(path, label[name]) for path, name in
                     validation_items(self.benchmark, self.classes, config.val_max_images, config.seed)]
        if not val_items and dist.is_main:
            warnings.warn("no held-out seen-class sketches (test split): best.pt is simply the last epoch", stacklevel=3)
        if dist.is_main:
            with atomic_write(self.run_dir / "config.json", "w") as stream:
                stream.write(json.dumps(config.to_dict(), indent=1))
        # one bar for the whole run, so its rate and time left cover every epoch
        bar = tqdm(total=config.epochs * len(sampler), initial=state.global_step, desc="training", unit="step",
                   disable=not (self.progress and dist.is_main), dynamic_ncols=True)
        with bar:
            while state.epoch < config.epochs:
                epoch = state.epoch
                self.epoch_info, lr = trainer.start_epoch(epoch)
                phase = self.epoch_info["phase"]
                sampler.set_epoch(epoch, state.step_in_epoch)
                rows = [r for r in state.history if r["epoch"] == epoch]
                started = time.perf_counter() - sum(r["seconds"] for r in rows)
                # epochs count from 0, as in epochs.csv, the tables and warmup_epochs ("phase 2 from epoch 10")
                bar.set_description(f"epoch {epoch} of 0-{config.epochs - 1}, phase {phase}")
                if not self._run_steps(loader, sampler, epoch, rows, bar):
                    return self.result(False)
                self.end_epoch(epoch, phase, lr, rows, val_items, time.perf_counter() - started)
                if self.stopping() and state.epoch < config.epochs:
                    dist.barrier()
                    return self.result(False)
        dist.barrier()
        return self.result(True)

    def _run_steps(self, loader, sampler, epoch: int, rows: list[dict], bar) -> bool:
        """The steps of one epoch; False when `stop_after_steps` interrupted it (last.pt written)."""
        config, state = self.config, self.state
        for batch in loader:
            rows.append(self._step_and_log(batch, epoch))
            bar.update()
            bar.set_postfix(loss=f"{rows[-1]['loss_student']:.3f}", acc=f"{rows[-1]['train_acc']:.2f}")
            mid_epoch = state.step_in_epoch < sampler.steps_per_epoch
            every = config.checkpoint_every_steps
            if mid_epoch and (self.stopping() or (every and state.global_step % every == 0)):
                self.checkpoint(self.last_path)
            if mid_epoch and self.stopping():
                self.trainer.sync_buffers()
                self.write_logs()
                self.dist.barrier()
                return False
        return True

    def _step_and_log(self, batch, epoch: int) -> dict:
        """One `Trainer.step`, its row appended to the history (the log of every step)."""
        state = self.state
        if batch.images.numel() == 0:
            state.bad_log.update(0, batch.bad_paths)
            raise RuntimeError(f"every image of the batch at step {state.global_step + 1} failed to decode: "
                               + "; ".join(batch.bad_paths[:5]))
        tick = time.perf_counter()
        values = self.trainer.step(batch, epoch, state.global_step)
        state.bad_log.update(values["images"], batch.bad_paths, n_bad=values["bad_images"])
        state.global_step += 1
        state.step_in_epoch += 1
        row = {"step": state.global_step, "epoch": epoch, **self.epoch_info, "lr": values["lr"],
               "loss_student": values["loss_student"], **{k: values.get(k) for k in LOSS_TERMS},
               "train_acc": values["train_acc"], "images": values["images"], "bad_images": values["bad_images"],
               "seconds": time.perf_counter() - tick}
        state.history.append(row)
        return row

    def end_epoch(self, epoch: int, phase: int, lr: float, rows: list[dict], val_items, seconds: float) -> None:
        state, config = self.state, self.config
        val_acc, val_loss = self.trainer.validate(val_items, state.bad_log)
        state.epoch_rows.append({**epoch_row(epoch, phase, lr, rows, val_acc, seconds), "val_loss": val_loss})
        if config.diagnose_unseen and self.dist.is_main:  # a learning curve: _selects never reads it
            state.epoch_rows[-1]["unseen_map_diagnostic"] = evaluate_unseen(
                self.model.student, self.benchmark, image_size=self.model.student.input_size,
                progress=False)["map_all"]
            self.model.train()
        improved = selects(config.selection, epoch, state.epoch_rows[-1], earlier=state.epoch_rows[:-1],
                           best=state.best, warmup_epochs=config.warmup_epochs)
        rule = config.selection
        if not improved and epoch == config.epochs - 1 and state.best["epoch"] is None:
            # The rule picked nothing (official: no phase-2 epoch beat every earlier one, as happens once a
            # small validation set saturates): the run still ends in a model, and says which.
            improved, rule = True, f"{config.selection}, fallback: last epoch ({FALLBACK_REASON[config.selection]})"
            if self.dist.is_main:
                warnings.warn(f"{self.run_dir}: selection {rule}", stacklevel=2)
        if improved:
            state.best = {"val_acc": val_acc, "val_loss": val_loss, "epoch": epoch, "rule": rule}
        state.epoch, state.step_in_epoch = epoch + 1, 0
        if improved:  # best first: see the module docstring
            self.checkpoint(self.best_path)
        self.checkpoint(self.last_path)
        self.write_logs()
        if self.progress and self.dist.is_main:
            shown = "n/a" if val_acc is None else f"{val_acc:.3f} (loss {val_loss:.3f})"
            tqdm.write(f"epoch {epoch} of 0-{config.epochs - 1} (phase {phase}): loss {state.epoch_rows[-1]['loss_student']:.4f}, "
                       f"held-out seen-class sketch acc {shown}")


LOCK_FILE = ".lock"  # held while a process trains the folder (sbka_lite.paths.exclusive)

def train(config: TrainConfig | dict, benchmark=None, *, progress: bool = True) -> TrainResult:
    """Train a student (and in phase 2 the teacher's head) with SBKA; see `sbka_lite.objective`.

    Args:
        config: a `TrainConfig` (or a dict for `TrainConfig.from_dict`).
        benchmark: an opened `Benchmark` (anything with ``seen_classes``, ``items(split,
            modality)`` and ``mask_matrix(classes)``); None opens ``config.benchmark`` (the
            synthetic one is generated on first use).
        progress: tqdm bars and one line per epoch (rank 0 only).

    Under ``torchrun`` (WORLD_SIZE > 1) every process calls this; it joins the process group,
    shards each batch, and only rank 0 writes logs and checkpoints. With ``resume`` (default) a
    run whose ``last.pt`` exists continues where it stopped; a finished run returns at once
    (with ``student=None``: load it with `sbka_lite.checkpoint.load_student`).

    Raises:
        FloatingPointError: a loss term or the weights became NaN/inf (named, with the step).
        ImageReadError: too many images failed to decode (they are listed).
        ConfigError / ValueError: a bad config, or resuming a run with a different config.
    """
    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    device = get_device(config.device or None)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    dist = init_distributed(device)
    try:
        if benchmark is None:
            benchmark = open_training_benchmark(config, dist, progress=progress and dist.is_main)
        if config.train_classes:
            benchmark = SeenSubset(benchmark, config.train_classes)
        run_dir = config.resolved_run_dir()
        # one training per run folder: a second process waits, then resumes (or returns) the finished run
        with exclusive(run_dir / LOCK_FILE, f"training {run_dir}") if dist.is_main else contextlib.nullcontext():
            return _Run(config, benchmark, dist, device, progress).run()
    finally:
        destroy(dist)


# --------------------------------------------------------------------------- CLI


def _parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, TrainConfig]:
    parser = argparse.ArgumentParser(prog="python -m sbka_lite.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="YAML file of TrainConfig keys (configs/*.yaml)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one key (repeatable); wins over --smoke")
    parser.add_argument("--smoke", action="store_true", help="shrink to a few tiny steps (CI)")
    parser.add_argument("--evaluate", action="store_true", help="afterwards, unseen-class retrieval metrics of best.pt")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    args = parser.parse_args(argv)
    try:
        overrides = parse_set_overrides(args.set)
        config = TrainConfig.from_yaml(args.config) if args.config else TrainConfig()
        if args.smoke:
            config = config.smoke()
        config = config.replace(**overrides) if overrides else config  # explicit settings win over --smoke
    except (ConfigError, FileNotFoundError) as error:
        parser.error(str(error))
    return args, config


def _check_evaluable(benchmark) -> None:
    # --evaluate reads the unseen lists after training: refuse now, not after hours of it.
    for modality in ("sketch", "photo"):
        if not benchmark.items("zero", modality):
            raise SystemExit(f"--evaluate needs unseen-class {modality}es, but the benchmark's zero {modality} list "
                             f"is empty ({getattr(benchmark, 'root', '')}); fix the list or drop --evaluate")


def main(argv: list[str] | None = None) -> int:
    args, config = _parse_args(argv)
    if args.print_config:
        print(json.dumps(config.to_dict(), indent=1))
        return 0
    try:
        return _main(args, config)
    except CheckpointError as error:  # a damaged or foreign checkpoint: the message says what to do
        raise SystemExit(f"error: {error}") from None
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        raise SystemExit(f"error: {error.strerror or error}") from None


def _main(args: argparse.Namespace, config: TrainConfig) -> int:
    benchmark = None
    if args.evaluate and int(os.environ.get("WORLD_SIZE", "1")) <= 1:  # under torchrun, train() opens it in step
        benchmark = open_training_benchmark(config, progress=not args.no_progress)
        _check_evaluable(benchmark)
    result = train(config, benchmark, progress=not args.no_progress)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    if args.evaluate and benchmark is None:
        benchmark = open_training_benchmark(config, progress=not args.no_progress)
        _check_evaluable(benchmark)
    summary = {"run_dir": str(result.run_dir), "completed": result.completed, "best_val_acc": result.best_val_acc,
               "best_epoch": result.best_epoch, "best_checkpoint": str(result.best_checkpoint),
               "selection": result.selection, "bad_images": len(result.bad_images)}
    if args.evaluate:
        evaluated = result.best_checkpoint
        if evaluated is None:  # stopped (stop_after_steps) before selection chose an epoch: say so, use last.pt
            evaluated = result.last_checkpoint
            summary["selection"] = "none yet (the run stopped early): evaluating last.pt"
        if not Path(evaluated).is_file():
            raise SystemExit(f"--evaluate: no checkpoint to evaluate in {result.run_dir} (neither best.pt nor last.pt)")
        student, _ = load_student(evaluated, device=get_device(config.device or None))
        summary["evaluated_checkpoint"] = str(evaluated)
        summary["unseen"] = evaluate_unseen(student, benchmark, progress=not args.no_progress)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
