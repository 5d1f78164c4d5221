"""The engine: one optimisation step of any model that returns its losses, and validation.

    trainer = Trainer(model, device, lr=..., weight_decay=...)
    info, lr = trainer.start_epoch(epoch)
    values = trainer.step(batch, epoch, global_step)     # logged losses, accuracy, lr

The model (the method's is built by `sbka_lite.build.build_model`) says which parameter groups learn and at which rate, and,
given a batch, returns its loss terms and one total per group. What lives here is the machinery:
one Adam per group, devices, mixed precision (autocast + grad scaler), channels_last,
DistributedDataParallel, the finiteness checks, validation accuracy on held-out images, and the
optimisers' part of a checkpoint.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from .data.loading import BadImageLog, ImageTransform
from .device import autocast, needs_grad_scaler
from .distributed import DistContext
from .features import embed_files


class Trainer:
    """Optimisers and one training step of `model`; `sbka_lite.train.train` drives it, benchmarks time it.

    The model must provide ``parameter_groups()``, ``learning_rates(epoch)``, ``set_epoch(epoch)``,
    ``forward(images, labels, is_photo, epoch=, step=) -> StepOutput``, ``term_names``,
    ``predict(images)``, ``replicate(wrap, rank)`` and
    ``checkpoint_state()`` / ``load_checkpoint_state(state)``. The first parameter group is the
    run's own: its total is logged as ``loss_<group>``.
    """

    def __init__(self, model: nn.Module, device: torch.device, dist: DistContext | None = None, *, lr: float,
                 weight_decay: float, amp: bool = False, channels_last: bool = False,
                 eval_transform: ImageTransform | None = None, val_batch_size: int = 128, num_workers: int = 0) -> None:
        self.model, self.device, self.dist = model, device, dist or DistContext()
        self.amp, self.eval_transform = amp, eval_transform
        self.val_batch_size, self.num_workers = val_batch_size, num_workers
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        model.to(device=device, memory_format=self.memory_format)
        self.optimizers = {name: torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
                           for name, params in model.parameter_groups().items()}
        self.main_group = next(iter(self.optimizers))
        self.scaler = torch.amp.GradScaler(device.type) if amp and needs_grad_scaler(device) else None
        self.replicated: set[str] = set(self.optimizers)
        if self.dist.active:
            self.replicated = model.replicate(
                lambda module: nn.parallel.DistributedDataParallel(
                    module, device_ids=[device.index] if device.type == "cuda" else None), self.dist.rank)

    # ----------------------------------------------------------------- schedule
    def start_epoch(self, epoch: int) -> tuple[dict[str, Any], float]:
        """Set each optimiser's rate for `epoch`; returns what the model records of the epoch and the main rate."""
        info = self.model.set_epoch(epoch)
        rates = self.model.learning_rates(epoch)
        for name, optimizer in self.optimizers.items():
            for group in optimizer.param_groups:
                group["lr"] = rates[name]
        return info, rates[self.main_group]

    # ----------------------------------------------------------------- one step
    def step(self, batch, epoch: int, global_step: int) -> dict[str, float]:
        """One optimisation step on a `MixedBatch`; returns the (rank-averaged) loss terms."""
        images = batch.images.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
        labels = batch.labels.to(self.device, non_blocking=True)
        is_photo = batch.is_photo.to(self.device, non_blocking=True)
        with autocast(self.device, enabled=self.amp):
            out = self.model(images, labels, is_photo, epoch=epoch, step=global_step)
        values = self._reduced_values(out.terms, out.totals[self.main_group], out.logits, labels, len(batch.bad_paths))
        self._check_finite(values, epoch, global_step + 1)

        # One backward of the sum: the model detached what must not cross, so each group's gradient
        # is that of its own total, as with separate backward passes.
        optimizers = [self.optimizers[name] for name in out.totals]
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        total = sum(out.totals.values())
        (self.scaler.scale(total) if self.scaler else total).backward()
        for name in out.totals:
            if name not in self.replicated:  # DDP averaged the others' gradients during backward
                self.dist.average_gradients(p for group in self.optimizers[name].param_groups for p in group["params"])
        for optimizer in optimizers:
            if self.scaler:
                self.scaler.step(optimizer)
            else:
                optimizer.step()
        if self.scaler:
            self.scaler.update()
        values.update(lr=self.optimizers[self.main_group].param_groups[0]["lr"])
        return values

    def _reduced_values(self, terms, main_loss, logits, labels, n_bad) -> dict[str, float]:
        names = [f"loss_{self.main_group}", *terms, "train_acc"]
        with torch.no_grad():
            correct = (logits.argmax(-1) == labels).float().mean()
            local = torch.stack([main_loss.detach().float(), *(t.detach().float() for t in terms.values()),
                                 correct, torch.tensor(float(labels.numel()), device=self.device),
                                 torch.tensor(float(n_bad), device=self.device)])
            local[: len(names)] /= self.dist.world_size
            numbers = self.dist.all_reduce_sum(local).tolist()
        values = {name: None for name in self.model.term_names}
        values.update(zip(names, numbers[: len(names)]))
        values["images"], values["bad_images"] = int(numbers[-2]), int(numbers[-1])
        return values

    def _check_finite(self, values: dict[str, Any], epoch: int, step: int) -> None:
        # Name a broken term before the total it poisons.
        for name, value in sorted(values.items(), key=lambda item: item[0] == f"loss_{self.main_group}"):
            if isinstance(value, float) and not math.isfinite(value):
                raise FloatingPointError(
                    f"{name} = {value} at step {step} (epoch {epoch}); the step was not applied. "
                    "Try a lower lr, amp=False, or check the images of this batch")

    # ----------------------------------------------------------------- validation
    def sync_buffers(self) -> None:
        """Copy rank 0's buffers (BatchNorm statistics) to every rank: DDP broadcasts buffers at the start of
        each forward, so after the last training step each replica still holds those of its own last batch."""
        self.dist.broadcast_buffers(self.model)

    def validate(self, items: list[tuple[str, int]], bad_log: BadImageLog) -> tuple[float | None, float | None]:
        """Top-1 accuracy and mean cross-entropy of ``model.predict`` on held-out ``(path, label)`` items
        (sharded over ranks); ``(None, None)`` without items. The loss breaks ties in selection:
        a small validation set saturates at convergence."""
        self.sync_buffers()
        if not items:
            return None, None
        mine = items[self.dist.rank::self.dist.world_size]
        logits, truth, bad = [], [], []
        self.model.eval()
        try:
            for item in embed_files(_Predictions(self), [path for path, _ in mine], batch_size=self.val_batch_size,
                                    workers=self.num_workers, progress=False, desc="validating"):
                if item.embedding is None:
                    bad.append(f"{mine[item.position][0]} ({item.reason})")
                else:
                    logits.append(item.embedding)
                    truth.append(mine[item.position][1])
        finally:
            self.model.train()
        counts = torch.zeros(4, dtype=torch.float64)  # correct, counted, failed, summed cross-entropy
        if logits:
            scores, labels = torch.from_numpy(np.stack(logits)), torch.tensor(truth, dtype=torch.long)
            counts[0] = (scores.argmax(-1) == labels).sum().item()
            counts[1] = len(labels)
            counts[3] = torch.nn.functional.cross_entropy(scores, labels, reduction="sum").item()
        counts[2] = len(bad)
        totals = self.dist.all_reduce_sum(counts.to(self.device)).cpu()
        bad_log.update(int(totals[1]), bad, n_bad=int(totals[2]))
        if not totals[1]:
            return None, None
        return float(totals[0] / totals[1]), float(totals[3] / totals[1])

    # ----------------------------------------------------------------- state
    def _optimizer_key(self, name: str) -> str:
        return "optimizer" if name == self.main_group else f"{name}_optimizer"

    def state_dict(self) -> dict[str, Any]:
        """The model's checkpoint state, each optimiser's, and the grad scaler's."""
        state = {**self.model.checkpoint_state(), "grad_scaler": self.scaler.state_dict() if self.scaler else None}
        state.update({self._optimizer_key(name): optimizer.state_dict() for name, optimizer in self.optimizers.items()})
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_checkpoint_state(state)
        for name, optimizer in self.optimizers.items():
            if name == self.main_group or self._optimizer_key(name) in state:
                optimizer.load_state_dict(state[self._optimizer_key(name)])
        if self.scaler and state.get("grad_scaler"):
            self.scaler.load_state_dict(state["grad_scaler"])


class _Predictions:
    """The model's class scores per image, for `embed_files` (the package's one image-batching loop)."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.preprocess = trainer.eval_transform

    @torch.no_grad()
    def embed_batch(self, prepared: Sequence[torch.Tensor]) -> np.ndarray:
        t = self.trainer
        images = torch.stack(list(prepared)).to(t.device).contiguous(memory_format=t.memory_format)
        with autocast(t.device, enabled=t.amp):
            return t.model.predict(images).float().cpu().numpy()
