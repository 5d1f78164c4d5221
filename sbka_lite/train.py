"""The two-phase SBKA trainer: one function for notebooks and tests, the same as a CLI.

    python -m sbka_lite.train --config configs/demo.yaml --set epochs=3 [--smoke]
    torchrun --nproc_per_node 4 -m sbka_lite.train --config configs/paper_sketchy.yaml

Each step sees a batch of seen-class sketches and photos (a fixed ratio) and optimises

* the student: ``L_cls + w_ka * L_KA^S + w_align * L_align``, where L_KA^S pulls the student's
  ImageNet logits toward the teacher's (photos only, with the semantic mask), and
* in phase 2 (epochs >= `warmup_epochs`, ``alignment="bidirectional"``) also the teacher's
  head: ``L_KA^T``, the same soft cross-entropy the other way round.

``alignment="teacher_to_student"`` never enters phase 2; ``"none"`` is plain fine-tuning
(``L_cls``, plus ``L_align`` when `gaussian` is on). Model selection uses the held-out
seen-class sketches (the ``test`` split) only; unseen classes are never read here.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .config import ALIGNMENTS, SMOKE_OVERRIDES, ConfigError, TrainConfig, load_yaml, parse_set_overrides  # noqa: F401
from .data.loading import (
    BadImageLog,
    ImageListDataset,
    ImageTransform,
    MixedBatchSampler,
    MixedSketchPhotoDataset,
    collate_mixed,
)
from .device import autocast, get_device, needs_grad_scaler, seed_everything
from .losses import classification_loss, gaussian_alignment, soft_cross_entropy
from .models import Student, Teacher, image_config

LOSS_TERMS = ("loss_cls", "loss_ka_student", "loss_ka_teacher", "loss_align")
# Keys that may change between an interrupted run and its resumption without changing the maths.
_RESUMABLE_CHANGES = {"resume", "stop_after_steps", "num_workers", "device", "data_root", "run_dir",
                      "checkpoint_every_steps", "val_batch_size"}


# --------------------------------------------------------------------------- results


@dataclass
class TrainResult:
    """What a run leaves behind (the same on every rank; only rank 0 writes files)."""

    config: TrainConfig
    run_dir: Path
    last_checkpoint: Path
    best_checkpoint: Path | None  # selected on held-out seen-class sketch accuracy
    best_val_acc: float | None
    best_epoch: int | None
    history: list[dict]  # one row per step: losses per term, lr, phase, ...
    epochs: list[dict]  # one row per epoch: mean losses, val_acc, seconds
    bad_images: list[str]
    completed: bool  # False when stopped early by stop_after_steps
    student: Student | None = field(default=None, repr=False)  # the final in-memory model (None if already finished)

    def history_frame(self):
        import pandas as pd

        return pd.DataFrame(self.history)

    def epochs_frame(self):
        import pandas as pd

        return pd.DataFrame(self.epochs)


# --------------------------------------------------------------------------- distributed


@dataclass
class _Dist:
    rank: int = 0
    world_size: int = 1
    initialized_here: bool = False

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.active:
            torch.distributed.all_reduce(tensor)
        return tensor

    def barrier(self) -> None:
        if self.active:
            torch.distributed.barrier()


def _init_distributed(device: torch.device) -> _Dist:
    """Join the torchrun process group when WORLD_SIZE > 1 (nccl on GPUs, gloo on CPUs)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return _Dist(dist.get_rank(), dist.get_world_size(), False)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return _Dist()
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return _Dist(dist.get_rank(), dist.get_world_size(), True)


# --------------------------------------------------------------------------- data


def open_training_benchmark(config: TrainConfig, dist: _Dist | None = None, *, progress: bool = True):
    """Open ``config.benchmark`` under ``config.data_root``; the synthetic one is generated if missing."""
    dist = dist or _Dist()
    from .data import open_benchmark
    from .data.layout import dataset_dir
    from .paths import default_data_root

    root = Path(config.data_root).expanduser() if config.data_root else default_data_root()
    if config.benchmark == "synthetic":
        target = root if (root / "zeroshot").is_dir() else dataset_dir("synthetic", root)
        if not (target / "zeroshot").is_dir():
            if dist.is_main:
                from .data import make_synthetic_benchmark

                print(f"generating the synthetic benchmark in {target} ...", flush=True)
                make_synthetic_benchmark(target, progress=progress)
            dist.barrier()
        root = target
    return open_benchmark(root, config.benchmark)


def semantic_mask_of(benchmark, classes: list[str]) -> torch.Tensor | None:
    """The benchmark's semantic-mask rows for `classes` ([n, 1000]), or None when it has none."""
    rows = benchmark.mask_matrix(classes) if hasattr(benchmark, "mask_matrix") else None
    return None if rows is None else torch.as_tensor(np.asarray(rows, dtype=np.float32))


def _validation_items(benchmark, classes: list[str], limit: int, seed: int) -> list[tuple[str, str]]:
    items = list(benchmark.items("test", "sketch"))
    foreign = sorted({name for _, name in items if name not in set(classes)})
    if foreign:  # the held-out split must be seen classes only: never select on unseen ones
        raise ValueError(f"validation (test split) has classes outside the seen classes: {foreign[:5]}")
    if limit and len(items) > limit:
        keep = np.sort(np.random.default_rng([seed, 0x7A1]).choice(len(items), size=limit, replace=False))
        items = [items[i] for i in keep]
    return items


# --------------------------------------------------------------------------- the engine


class SBKATrainer:
    """Models, optimisers and one training step; `train` drives it, benchmarks time it.

    Build it, then call `step(batch, epoch, global_step)` for each `MixedBatch`.
    """

    def __init__(self, config: TrainConfig, seen_classes: list[str], semantic_mask: torch.Tensor | None,
                 device: torch.device, dist: _Dist | None = None) -> None:
        self.config, self.device, self.dist = config, device, dist or _Dist()
        self.seen_classes = list(seen_classes)
        seed_everything(config.seed)
        self.student = Student(config.backbone, len(seen_classes), pretrained=config.pretrained)
        self.teacher = Teacher.from_student(self.student) if config.alignment != "none" else None
        if self.teacher is None:
            # Plain fine-tuning: no loss reads the ImageNet head, so it is frozen (DDP needs every
            # trainable parameter to receive a gradient).
            for parameter in self.student.imagenet_head.parameters():
                parameter.requires_grad_(False)
        self.image_config = image_config(self.student)
        self.image_size = config.image_size or self.image_config.input_size
        self.student.input_size = self.image_size
        width = self.student.imagenet_head.out_features
        mask = semantic_mask if semantic_mask is not None else torch.zeros(len(seen_classes), width)
        if tuple(mask.shape) != (len(seen_classes), width):
            raise ValueError(f"semantic mask has shape {tuple(mask.shape)}; expected ({len(seen_classes)}, {width}): "
                             "one row per seen class over the teacher's classes")
        self.mask = mask.float().to(device)
        memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        self.memory_format = memory_format
        self.student.to(device=device, memory_format=memory_format)
        if self.teacher is not None:
            self.teacher.to(device=device, memory_format=memory_format)
        self.optimizer = torch.optim.Adam([p for p in self.student.parameters() if p.requires_grad],
                                          lr=config.lr, weight_decay=config.weight_decay)
        self.teacher_optimizer = (
            torch.optim.Adam(list(self.teacher.head_parameters()), lr=config.lr, weight_decay=config.weight_decay)
            if config.alignment == "bidirectional" else None
        )
        self.scaler = torch.amp.GradScaler(device.type) if config.amp and needs_grad_scaler(device) else None
        self.model: nn.Module = self.student
        if self.dist.active:
            self.model = nn.parallel.DistributedDataParallel(
                self.student, device_ids=[device.index] if device.type == "cuda" else None)

    # ----------------------------------------------------------------- schedule
    def phase(self, epoch: int) -> int:
        return 2 if self.config.alignment == "bidirectional" and epoch >= self.config.warmup_epochs else 1

    def learning_rate(self, epoch: int) -> float:
        return self.config.lr * self.config.lr_final_factor ** (epoch / self.config.epochs)

    def start_epoch(self, epoch: int) -> tuple[int, float]:
        lr, phase = self.learning_rate(epoch), self.phase(epoch)
        for optimizer in (self.optimizer, self.teacher_optimizer):
            if optimizer is not None:
                for group in optimizer.param_groups:
                    group["lr"] = lr
        if self.teacher is not None:
            self.teacher.set_phase(phase)
        self.student.train()
        return phase, lr

    def _noise(self, shape: torch.Size, global_step: int) -> torch.Tensor:
        # Drawn on the CPU from (seed, step, rank): identical whatever the device or a resume point.
        seed = int(np.random.SeedSequence([self.config.seed, global_step, self.dist.rank, 0x6A55]).generate_state(1)[0])
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(tuple(shape), generator=generator).to(self.device)

    # ----------------------------------------------------------------- one step
    def step(self, batch, epoch: int, global_step: int) -> dict[str, float]:
        """One optimisation step on a `MixedBatch`; returns the (rank-averaged) loss terms."""
        config, phase = self.config, self.phase(epoch)
        images = batch.images.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
        labels = batch.labels.to(self.device, non_blocking=True)
        is_photo = batch.is_photo.to(self.device, non_blocking=True)
        terms: dict[str, torch.Tensor] = {}
        with autocast(self.device, enabled=config.amp):
            out = self.model(images)
            terms["loss_cls"] = classification_loss(out.seen_logits, labels)
            student_loss = terms["loss_cls"]
            if config.gaussian:
                terms["loss_align"] = gaussian_alignment(out.features, self._noise(out.features.shape, global_step))
                student_loss = student_loss + config.w_align * terms["loss_align"]
            teacher_loss = None
            if self.teacher is not None:
                mask_rows = self.mask[labels]
                teacher_logits = self.teacher(images)  # backbone without autograd; head learns in phase 2
                terms["loss_ka_student"] = soft_cross_entropy(
                    out.imagenet_logits, teacher_logits.detach(), semantic_mask=mask_rows,
                    mask_scale=config.mask_scale, sample_mask=is_photo)
                student_loss = student_loss + config.w_ka * terms["loss_ka_student"]
                if phase == 2:
                    target = out.imagenet_logits if config.teacher_grad_to_student else out.imagenet_logits.detach()
                    teacher_loss = soft_cross_entropy(
                        teacher_logits, target, semantic_mask=mask_rows,
                        mask_scale=config.mask_scale, sample_mask=is_photo)
                    terms["loss_ka_teacher"] = teacher_loss
        values = self._reduced_values(terms, student_loss, out.seen_logits, labels, len(batch.bad_paths))
        self._check_finite(values, epoch, global_step + 1)

        # One backward of the sum: L_KA^S reads detached teacher logits, so the teacher's head
        # gets gradient from L_KA^T only, as with the official two separate backward passes.
        total = student_loss if teacher_loss is None else student_loss + teacher_loss
        self.optimizer.zero_grad(set_to_none=True)
        if self.teacher_optimizer is not None:
            self.teacher_optimizer.zero_grad(set_to_none=True)
        (self.scaler.scale(total) if self.scaler else total).backward()
        if teacher_loss is not None and self.dist.active:
            for parameter in self.teacher.head_parameters():  # the teacher is not DDP-wrapped
                if parameter.grad is not None:
                    torch.distributed.all_reduce(parameter.grad)
                    parameter.grad.div_(self.dist.world_size)
        optimizers = [self.optimizer] + ([self.teacher_optimizer] if teacher_loss is not None else [])
        for optimizer in optimizers:
            if self.scaler:
                self.scaler.step(optimizer)
            else:
                optimizer.step()
        if self.scaler:
            self.scaler.update()
        values.update(phase=phase, lr=self.optimizer.param_groups[0]["lr"])
        return values

    def _reduced_values(self, terms, student_loss, seen_logits, labels, n_bad) -> dict[str, float]:
        names = ["loss_student", *terms, "train_acc"]
        with torch.no_grad():
            correct = (seen_logits.argmax(-1) == labels).float().mean()
            local = torch.stack([student_loss.detach().float(), *(t.detach().float() for t in terms.values()),
                                 correct, torch.tensor(float(labels.numel()), device=self.device),
                                 torch.tensor(float(n_bad), device=self.device)])
            local[: len(names)] /= self.dist.world_size
            numbers = self.dist.all_reduce_sum(local).tolist()
        values = dict(zip(names, numbers[: len(names)]))
        values["images"], values["bad_images"] = int(numbers[-2]), int(numbers[-1])
        return values

    @staticmethod
    def _check_finite(values: dict[str, float], epoch: int, step: int) -> None:
        # Name a broken term before the sum it poisons.
        for name, value in sorted(values.items(), key=lambda item: item[0] == "loss_student"):
            if isinstance(value, float) and not math.isfinite(value):
                raise FloatingPointError(
                    f"{name} = {value} at step {step} (epoch {epoch}); the step was not applied. "
                    "Try a lower lr, amp=False, or check the images of this batch")

    # ----------------------------------------------------------------- validation
    def sync_buffers(self) -> None:
        """Copy rank 0's BatchNorm statistics to every rank.

        DDP broadcasts buffers at the start of each forward, so after the last training step
        each replica still holds the statistics of its own last batch.
        """
        if self.dist.active:
            for buffer in self.student.buffers():
                torch.distributed.broadcast(buffer, src=0)

    @torch.no_grad()
    def validate(self, items: list[tuple[str, str]], bad_log: BadImageLog) -> float | None:
        """Seen-class top-1 accuracy of the student on held-out sketches (sharded over ranks)."""
        self.sync_buffers()
        if not items:
            return None
        index = {name: label for label, name in enumerate(self.seen_classes)}
        mine = items[self.dist.rank::self.dist.world_size]
        transform = ImageTransform(self.image_size, self.image_config.mean, self.image_config.std,
                                   interpolation=self.image_config.interpolation)
        loader = torch.utils.data.DataLoader(ImageListDataset([p for p, _ in mine], transform),
                                             batch_size=self.config.val_batch_size,
                                             num_workers=self.config.num_workers,
                                             pin_memory=self.device.type == "cuda")
        labels = torch.tensor([index[name] for _, name in mine], dtype=torch.long)
        self.student.eval()
        correct = torch.zeros(3, dtype=torch.float64)  # correct, counted, failed
        bad = []
        for images, positions, errors in loader:
            ok = torch.tensor([not e for e in errors])
            bad += [f"{mine[int(i)][0]} ({e})" for i, e in zip(positions, errors) if e]
            if not ok.any():
                continue
            images = images[ok].to(self.device).contiguous(memory_format=self.memory_format)
            with autocast(self.device, enabled=self.config.amp):
                logits = self.student(images).seen_logits
            correct[0] += (logits.argmax(-1).cpu() == labels[positions[ok]]).sum().item()
            correct[1] += int(ok.sum())
        correct[2] = len(bad)
        self.student.train()
        totals = self.dist.all_reduce_sum(correct.to(self.device)).cpu()
        bad_log.update(int(totals[1]), bad, n_bad=int(totals[2]))
        return float(totals[0] / totals[1]) if totals[1] else None

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        state = {
            "student": self.student.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "backbone": self.config.backbone,
            "embedding_dim": self.student.embedding_dim,
            "seen_classes": self.seen_classes,
            "image_size": self.image_size,
            "grad_scaler": self.scaler.state_dict() if self.scaler else None,
        }
        if self.teacher is not None:
            # A pretrained teacher's backbone is rebuilt from the pretrained weights; a randomly
            # initialised one (tests) is stored whole.
            module = self.teacher.backbone if not self.config.pretrained else self.teacher.head
            state["teacher"] = {"whole_backbone": not self.config.pretrained, "state": module.state_dict()}
        if self.teacher_optimizer is not None:
            state["teacher_optimizer"] = self.teacher_optimizer.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.student.load_state_dict(state["student"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.teacher is not None and "teacher" in state:
            part = state["teacher"]
            (self.teacher.backbone if part["whole_backbone"] else self.teacher.head).load_state_dict(part["state"])
        if self.teacher_optimizer is not None and "teacher_optimizer" in state:
            self.teacher_optimizer.load_state_dict(state["teacher_optimizer"])
        if self.scaler and state.get("grad_scaler"):
            self.scaler.load_state_dict(state["grad_scaler"])


# --------------------------------------------------------------------------- the loop


def _build_loader(dataset, sampler, config: TrainConfig, device: torch.device):
    # Workers persist across epochs; the sampler is iterated in this process, so set_epoch
    # still takes effect on each new pass.
    return torch.utils.data.DataLoader(
        dataset, batch_sampler=sampler, num_workers=config.num_workers, collate_fn=collate_mixed,
        pin_memory=device.type == "cuda", persistent_workers=config.num_workers > 0)


def _epoch_row(epoch: int, phase: int, lr: float, rows: list[dict], val_acc, seconds: float) -> dict:
    row = {"epoch": epoch, "phase": phase, "lr": lr, "steps": len(rows)}
    for name in ("loss_student", *LOSS_TERMS, "train_acc"):
        values = [r[name] for r in rows if r.get(name) is not None]
        row[name] = float(np.mean(values)) if values else None
    images = sum(r["images"] for r in rows)
    row.update(val_acc=val_acc, images=images, seconds=seconds, images_per_s=images / seconds if seconds else None)
    return row


def _write_logs(run_dir: Path, history: list[dict], epochs: list[dict], bad: list[str], extra: dict) -> None:
    def write_csv(path: Path, rows: list[dict]) -> None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
        temporary = path.with_suffix(".csv.tmp")
        with temporary.open("w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(temporary, path)

    write_csv(run_dir / "steps.csv", history)
    write_csv(run_dir / "epochs.csv", epochs)
    payload = {**extra, "epochs": epochs, "steps": history, "bad_images": bad}
    temporary = run_dir / "history.json.tmp"
    temporary.write_text(json.dumps(payload, indent=1))
    os.replace(temporary, run_dir / "history.json")
    if bad:
        (run_dir / "bad_images.txt").write_text("\n".join(bad) + "\n")


def _check_resumable(saved: dict, config: TrainConfig, path: Path) -> None:
    current = config.to_dict()
    changed = sorted(key for key in current if key not in _RESUMABLE_CHANGES and saved.get(key) != current[key])
    if changed:
        details = ", ".join(f"{key}: {saved.get(key)!r} -> {current[key]!r}" for key in changed)
        raise ValueError(f"{path} was written by a run with a different config ({details}); "
                         "use another run_name/run_dir, or resume=False to start over")


@dataclass
class _Progress:
    """Where a run stands: restored from and saved into ``last.pt``."""

    epoch: int = 0  # the epoch to run next (or being run)
    step_in_epoch: int = 0  # steps of `epoch` already done
    global_step: int = 0
    history: list[dict] = field(default_factory=list)
    epoch_rows: list[dict] = field(default_factory=list)
    best: dict = field(default_factory=lambda: {"val_acc": None, "epoch": None})
    bad_log: BadImageLog = field(default_factory=BadImageLog)

    @classmethod
    def from_checkpoint(cls, state: dict | None, max_fraction: float) -> "_Progress":
        bad_log = BadImageLog(max_fraction=max_fraction)
        if state is None:
            return cls(bad_log=bad_log)
        saved = state["bad_log"]
        bad_log.seen, bad_log.failed, bad_log.bad = int(saved["seen"]), int(saved["failed"]), list(saved["bad"])
        return cls(int(state["epoch"]), int(state["step_in_epoch"]), int(state["step"]), list(state["history"]),
                   list(state["epoch_rows"]), dict(state["best"]), bad_log)

    def as_checkpoint(self) -> dict:
        log = self.bad_log
        return {"epoch": self.epoch, "step_in_epoch": self.step_in_epoch, "step": self.global_step,
                "history": self.history, "epoch_rows": self.epoch_rows, "best": self.best,
                "best_val_acc": self.best["val_acc"],
                "bad_log": {"seen": log.seen, "failed": log.failed, "bad": list(log.bad)}}


class _Run:
    """One call of `train`: set-up, the epoch loop, checkpoints and logs."""

    def __init__(self, config: TrainConfig, benchmark, dist: _Dist, device: torch.device, progress: bool) -> None:
        self.config, self.benchmark, self.dist, self.device, self.progress = config, benchmark, dist, device, progress
        self.classes = list(benchmark.seen_classes)
        self.run_dir = config.resolved_run_dir()
        self.last_path, self.best_path = self.run_dir / "last.pt", self.run_dir / "best.pt"
        if dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        resumed = load_checkpoint(self.last_path) if config.resume and self.last_path.is_file() else None
        if resumed is not None:
            _check_resumable(resumed.get("config", {}), config, self.last_path)
        elif dist.is_main and not config.resume:
            for stale in (self.last_path, self.best_path):
                stale.unlink(missing_ok=True)
        dist.barrier()
        self.state = _Progress.from_checkpoint(resumed, config.bad_image_fraction)
        self.trainer = None
        if self.state.epoch < config.epochs:
            self.trainer = SBKATrainer(config, self.classes, semantic_mask_of(benchmark, self.classes), device, dist)
            if resumed is not None:
                self.trainer.load_state_dict(resumed)
                set_rng_state(resumed["rng"])

    # ----------------------------------------------------------------- outputs
    def result(self, completed: bool) -> TrainResult:
        best = self.state.best
        return TrainResult(config=self.config, run_dir=self.run_dir, last_checkpoint=self.last_path,
                           best_checkpoint=self.best_path if best["epoch"] is not None else None,
                           best_val_acc=best["val_acc"], best_epoch=best["epoch"], history=self.state.history,
                           epochs=self.state.epoch_rows, bad_images=list(self.state.bad_log.bad), completed=completed,
                           student=self.trainer.student.eval() if self.trainer is not None else None)

    def checkpoint(self, path: Path) -> None:
        if self.dist.is_main:
            save_checkpoint({**self.trainer.state_dict(), **self.state.as_checkpoint(),
                             "config": self.config.to_dict(), "rng": rng_state()}, path)

    def write_logs(self) -> None:
        if self.dist.is_main:
            _write_logs(self.run_dir, self.state.history, self.state.epoch_rows, self.state.bad_log.bad,
                        {"config": self.config.to_dict(), "best_val_acc": self.state.best["val_acc"],
                         "best_epoch": self.state.best["epoch"], "seen_classes": self.classes,
                         "image_size": self.trainer.image_size})

    def stopping(self) -> bool:
        return bool(self.config.stop_after_steps) and self.state.global_step >= self.config.stop_after_steps

    # ----------------------------------------------------------------- the loop
    def run(self) -> TrainResult:
        from tqdm.auto import tqdm

        config, state, trainer, dist = self.config, self.state, self.trainer, self.dist
        if trainer is None:  # a finished run: nothing to do
            return self.result(True)
        if self.stopping():  # already stopped here: calling again must not creep on step by step
            return self.result(False)
        ic = trainer.image_config
        transform = ImageTransform(trainer.image_size, ic.mean, ic.std, augment=config.augment,
                                   interpolation=ic.interpolation)
        dataset = MixedSketchPhotoDataset(self.benchmark.items("train", "sketch"), self.benchmark.items("train", "photo"),
                                          self.classes, transform)
        sampler = MixedBatchSampler(len(dataset.items[0]), len(dataset.items[1]), config.sketches_per_batch,
                                    config.photos_per_batch, steps_per_epoch=config.steps_per_epoch,
                                    seed=config.seed, rank=dist.rank, world_size=dist.world_size)
        val_items = _validation_items(self.benchmark, self.classes, config.val_max_images, config.seed)
        if not val_items and dist.is_main:
            warnings.warn("no held-out seen-class sketches (test split): best.pt is simply the last epoch", stacklevel=3)
        if dist.is_main:
            (self.run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=1))
        loader = _build_loader(dataset, sampler, config, self.device)

        while state.epoch < config.epochs:
            epoch = state.epoch
            phase, lr = trainer.start_epoch(epoch)
            sampler.set_epoch(epoch, state.step_in_epoch)
            rows = [r for r in state.history if r["epoch"] == epoch]
            started = time.perf_counter() - sum(r["seconds"] for r in rows)
            bar = tqdm(loader, total=len(sampler), desc=f"epoch {epoch + 1}/{config.epochs} phase {phase}",
                       disable=not (self.progress and dist.is_main), leave=False)
            for batch in bar:
                rows.append(self.train_step(batch, epoch))
                bar.set_postfix(loss=f"{rows[-1]['loss_student']:.3f}", acc=f"{rows[-1]['train_acc']:.2f}")
                mid_epoch = state.step_in_epoch < sampler.steps_per_epoch
                every = config.checkpoint_every_steps
                if mid_epoch and (self.stopping() or (every and state.global_step % every == 0)):
                    self.checkpoint(self.last_path)
                if mid_epoch and self.stopping():
                    bar.close()
                    trainer.sync_buffers()
                    self.write_logs()
                    dist.barrier()
                    return self.result(False)
            bar.close()
            self.end_epoch(epoch, phase, lr, rows, val_items, time.perf_counter() - started)
            if self.stopping() and state.epoch < config.epochs:
                dist.barrier()
                return self.result(False)
        dist.barrier()
        return self.result(True)

    def train_step(self, batch, epoch: int) -> dict:
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
        row = {"step": state.global_step, "epoch": epoch, "phase": values["phase"], "lr": values["lr"],
               "loss_student": values["loss_student"], **{k: values.get(k) for k in LOSS_TERMS},
               "train_acc": values["train_acc"], "images": values["images"], "bad_images": values["bad_images"],
               "seconds": time.perf_counter() - tick}
        state.history.append(row)
        return row

    def end_epoch(self, epoch: int, phase: int, lr: float, rows: list[dict], val_items, seconds: float) -> None:
        state = self.state
        val_acc = self.trainer.validate(val_items, state.bad_log)
        state.epoch_rows.append(_epoch_row(epoch, phase, lr, rows, val_acc, seconds))
        # Select on held-out seen-class accuracy only; with nothing to select on, keep the latest.
        best_acc = state.best["val_acc"]
        improved = val_acc is None or state.best["epoch"] is None or best_acc is None or val_acc > best_acc
        if improved:
            state.best = {"val_acc": val_acc, "epoch": epoch}
        state.epoch, state.step_in_epoch = epoch + 1, 0
        self.checkpoint(self.last_path)
        if improved:
            self.checkpoint(self.best_path)
        self.write_logs()
        if self.progress and self.dist.is_main:
            shown = "n/a" if val_acc is None else f"{val_acc:.3f}"
            print(f"epoch {epoch + 1}/{self.config.epochs} (phase {phase}): loss {state.epoch_rows[-1]['loss_student']:.4f}, "
                  f"held-out seen-class sketch acc {shown}", flush=True)


def train(config: TrainConfig | dict, benchmark=None, *, progress: bool = True) -> TrainResult:
    """Train a student (and in phase 2 the teacher's head) with SBKA; see the module docstring.

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
        FloatingPointError: a loss term became NaN/inf (named, with the step).
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
    dist = _init_distributed(device)
    try:
        if benchmark is None:
            benchmark = open_training_benchmark(config, dist, progress=progress and dist.is_main)
        return _Run(config, benchmark, dist, device, progress).run()
    finally:
        if dist.initialized_here:
            torch.distributed.destroy_process_group()


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sbka_lite.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="YAML file of TrainConfig keys (configs/*.yaml)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one key (repeatable)")
    parser.add_argument("--smoke", action="store_true", help="shrink to a few tiny steps (CI)")
    parser.add_argument("--evaluate", action="store_true", help="afterwards, unseen-class retrieval metrics of best.pt")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    args = parser.parse_args(argv)
    try:
        overrides = parse_set_overrides(args.set)
        config = TrainConfig.from_yaml(args.config, overrides) if args.config else TrainConfig.from_dict(overrides, source="--set")
        if args.smoke:
            config = config.smoke()
    except (ConfigError, FileNotFoundError) as error:
        parser.error(str(error))
    if args.print_config:
        print(json.dumps(config.to_dict(), indent=1))
        return 0
    result = train(config, progress=not args.no_progress)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    summary = {"run_dir": str(result.run_dir), "completed": result.completed, "best_val_acc": result.best_val_acc,
               "best_epoch": result.best_epoch, "best_checkpoint": str(result.best_checkpoint),
               "bad_images": len(result.bad_images)}
    if args.evaluate and result.best_checkpoint is not None:
        from .checkpoint import load_student
        from .features import evaluate_unseen

        student, _ = load_student(result.best_checkpoint, device=get_device(config.device or None))
        benchmark = open_training_benchmark(config, progress=not args.no_progress)
        summary["unseen"] = evaluate_unseen(student, benchmark, progress=not args.no_progress)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
