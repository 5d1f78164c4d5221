"""The engine: models and optimisers, and one step of forward -> objective -> backward -> step.

It knows nothing of SBKA beyond calling `sbka_lite.objective.SBKAObjective`: which terms exist,
which phase trains what and what is detached all live there. What lives here is the machinery:
devices, mixed precision (autocast + grad scaler), channels_last, DistributedDataParallel, and
validation on held-out seen-class sketches.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from .schedule import student_lr, teacher_lr
from .data.loading import BadImageLog, ImageListDataset, ImageTransform
from .device import autocast, needs_grad_scaler, seed_everything
from .distributed import DistContext
from .models import Teacher, image_config
from .objective import TERMS, SBKAObjective, StepInputs
from .pretrain import starting_student


class SBKATrainer:
    """Models, optimisers and one training step; `sbka_lite.train.train` drives it, benchmarks time it.

    Build it, call `start_epoch(epoch)`, then `step(batch, epoch, global_step)` for each `MixedBatch`.
    """

    def __init__(self, config, seen_classes: list[str], semantic_mask: torch.Tensor | None,
                 device: torch.device, dist: DistContext | None = None, *, progress: bool = True) -> None:
        self.config, self.device, self.dist = config, device, dist or DistContext()
        self.objective = SBKAObjective(config)
        self.seen_classes = list(seen_classes)
        seed_everything(config.seed)
        # the backbone's own (ImageNet) weights, or the photo world's (sbka_lite.pretrain)
        self.student = starting_student(config, len(seen_classes), progress=progress and self.dist.is_main,
                                        dist=self.dist)
        self.teacher = Teacher.from_student(self.student) if self.objective.uses_teacher else None
        if self.teacher is None:
            # No term reads the ImageNet head, so it is frozen (DDP needs every trainable parameter to get a gradient).
            self.student.imagenet_head.requires_grad_(False)
        self.image_config = image_config(self.student)
        self.image_size = config.image_size or self.image_config.input_size
        self.student.input_size = self.image_size
        self.mask = self._mask_matrix(semantic_mask).to(device)
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        self.student.to(device=device, memory_format=self.memory_format)
        if self.teacher is not None:
            self.teacher.to(device=device, memory_format=self.memory_format)
        self.optimizer = torch.optim.Adam([p for p in self.student.parameters() if p.requires_grad],
                                          lr=config.lr, weight_decay=config.weight_decay)
        self.teacher_optimizer = (
            torch.optim.Adam(list(self.teacher.head_parameters()), lr=config.lr * config.teacher_lr_factor,
                             weight_decay=config.weight_decay)
            if self.objective.teacher_learns else None
        )
        self.scaler = torch.amp.GradScaler(device.type) if config.amp and needs_grad_scaler(device) else None
        self.model: nn.Module = self.student
        if self.dist.active:
            self.model = nn.parallel.DistributedDataParallel(
                self.student, device_ids=[device.index] if device.type == "cuda" else None)

    def _mask_matrix(self, semantic_mask: torch.Tensor | None) -> torch.Tensor:
        width = self.student.imagenet_head.out_features
        mask = semantic_mask if semantic_mask is not None else torch.zeros(len(self.seen_classes), width)
        if tuple(mask.shape) != (len(self.seen_classes), width):
            raise ValueError(f"semantic mask has shape {tuple(mask.shape)}; expected ({len(self.seen_classes)}, {width}): "
                             "one row per seen class over the teacher's classes")
        return mask.float()

    def training_transform(self) -> ImageTransform:
        ic = self.image_config
        return ImageTransform(self.image_size, ic.mean, ic.std, augment=self.config.augment,
                              augment_style=self.config.augment_style, interpolation=ic.interpolation)

    # ----------------------------------------------------------------- schedule
    def phase(self, epoch: int) -> int:
        return self.objective.phase(epoch)

    def learning_rate(self, epoch: int) -> float:
        """The official decay, lr * lr_final_factor ** (epoch / epochs), times phase2_lr_scale in phase 2."""
        return student_lr(self.config, epoch, teacher_learns=self.objective.teacher_learns)

    def start_epoch(self, epoch: int) -> tuple[int, float]:
        lr, phase = self.learning_rate(epoch), self.phase(epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        if self.teacher_optimizer is not None:
            for group in self.teacher_optimizer.param_groups:
                group["lr"] = teacher_lr(self.config, epoch)
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
        phase = self.phase(epoch)
        images = batch.images.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
        labels = batch.labels.to(self.device, non_blocking=True)
        is_photo = batch.is_photo.to(self.device, non_blocking=True)
        with autocast(self.device, enabled=self.config.amp):
            out = self.model(images)
            teacher_logits = photo_mask = None
            if self.teacher is not None:  # the teacher's targets exist for photos only, so it sees only photos
                teacher_logits = self.teacher(images[is_photo].contiguous(memory_format=self.memory_format))
                photo_mask = self.mask[labels[is_photo]]
            noise = self._noise(out.features.shape, global_step) if self.objective.gaussian else None
            losses = self.objective(StepInputs(out, labels, is_photo, teacher_logits, photo_mask, noise), phase)
        values = self._reduced_values(losses.terms, losses.student, out.seen_logits, labels, len(batch.bad_paths))
        self._check_finite(values, epoch, global_step + 1)

        # One backward of the sum: the objective detached what must not cross, so each model's
        # gradient is that of its own total, as with the official two separate backward passes.
        total = losses.student if losses.teacher is None else losses.student + losses.teacher
        optimizers = [self.optimizer] + ([self.teacher_optimizer] if losses.teacher is not None else [])
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        (self.scaler.scale(total) if self.scaler else total).backward()
        if losses.teacher is not None:
            self.dist.average_gradients(self.teacher.head_parameters())  # the teacher is not DDP-wrapped
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
        values = {name: None for name in TERMS}
        values.update(zip(names, numbers[: len(names)]))
        values["images"], values["bad_images"] = int(numbers[-2]), int(numbers[-1])
        return values

    @staticmethod
    def _check_finite(values: dict[str, Any], epoch: int, step: int) -> None:
        # Name a broken term before the sum it poisons.
        for name, value in sorted(values.items(), key=lambda item: item[0] == "loss_student"):
            if isinstance(value, float) and not math.isfinite(value):
                raise FloatingPointError(
                    f"{name} = {value} at step {step} (epoch {epoch}); the step was not applied. "
                    "Try a lower lr, amp=False, or check the images of this batch")

    def non_finite_parameters(self) -> list[str]:
        """Names of the trainable tensors holding NaN or inf (a checkpoint of those would be poison)."""
        named = list(self.student.named_parameters())
        if self.teacher is not None:
            named += [(f"teacher.{name}", p) for name, p in self.teacher.head.named_parameters()]
        return [name for name, p in named if not torch.isfinite(p.detach()).all()]

    # ----------------------------------------------------------------- validation
    def sync_buffers(self) -> None:
        """Copy rank 0's BatchNorm statistics to every rank: DDP broadcasts buffers at the start of each
        forward, so after the last training step each replica still holds those of its own last batch."""
        self.dist.broadcast_buffers(self.student)

    @torch.no_grad()
    def validate(self, items: list[tuple[str, str]], bad_log: BadImageLog) -> tuple[float | None, float | None]:
        """Seen-class top-1 accuracy and mean cross-entropy of the student on held-out sketches
        (sharded over ranks); ``(None, None)`` without items. The loss breaks ties in selection:
        a small validation set saturates at convergence."""
        self.sync_buffers()
        if not items:
            return None, None
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
        counts = torch.zeros(4, dtype=torch.float64)  # correct, counted, failed, summed cross-entropy
        bad = []
        for images, positions, errors in loader:
            ok = torch.tensor([not e for e in errors])
            bad += [f"{mine[int(i)][0]} ({e})" for i, e in zip(positions, errors) if e]
            if not ok.any():
                continue
            images = images[ok].to(self.device).contiguous(memory_format=self.memory_format)
            with autocast(self.device, enabled=self.config.amp):
                logits = self.student(images).seen_logits
            truth = labels[positions[ok]]
            counts[0] += (logits.argmax(-1).cpu() == truth).sum().item()
            counts[1] += int(ok.sum())
            counts[3] += torch.nn.functional.cross_entropy(logits.float().cpu(), truth, reduction="sum").item()
        counts[2] = len(bad)
        self.student.train()
        totals = self.dist.all_reduce_sum(counts.to(self.device)).cpu()
        bad_log.update(int(totals[1]), bad, n_bad=int(totals[2]))
        if not totals[1]:
            return None, None
        return float(totals[0] / totals[1]), float(totals[3] / totals[1])

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        state = {
            "student": self.student.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "backbone": self.config.backbone,
            "embedding_dim": self.student.embedding_dim,
            "teacher_classes": self.student.imagenet_head.out_features,  # 1000, or the photo world's
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
