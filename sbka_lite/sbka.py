"""SBKA as one model: a batch in, the named loss terms and one total per optimiser out.

    model = SBKAModel(student, teacher, mask_rows, seen_classes, ObjectiveSettings(...), schedule)
    model.set_epoch(epoch)                                   # {"phase": 1 or 2}: what trains now
    out = model(images, labels, is_photo, epoch=epoch, step=step)
    out.terms      # {"loss_cls": ..., "loss_ka_student": ..., ...}, unweighted
    out.totals     # {"student": ..., "teacher": ...}: what each optimiser minimises this step

It owns what the method needs beyond the loss formulas (`sbka_lite.objective`): the student and
the teacher (built where they start by the caller: ImageNet or photo-world weights), the semantic
mask rows of the seen classes, the Gaussian noise of each step, the phase, which parameters each
optimiser trains and at which rate (`sbka_lite.schedule`). The trainer (`sbka_lite.trainer`) steps
whatever totals it is given and knows none of this.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np
import torch
from torch import nn

from .checkpoint import student_record
from .models import Student, Teacher
from .objective import TERMS, ObjectiveSettings, SBKAObjective, StepInputs
from .schedule import student_lr, teacher_lr


class StepOutput(NamedTuple):
    """One forward of the model on a batch."""

    terms: dict[str, torch.Tensor]  # every active loss term, unweighted, by log name
    totals: dict[str, torch.Tensor]  # optimiser group -> its weighted total (only the groups that learn this step)
    logits: torch.Tensor  # seen-class logits of the whole batch (training accuracy)


def _like(images: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """`images` in the memory layout of `like` (a photo sub-batch keeps the batch's channels_last)."""
    channels_last = like.dim() == 4 and like.is_contiguous(memory_format=torch.channels_last) and not like.is_contiguous()
    return images.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


class SBKAModel(nn.Module):
    """Student, teacher, mask rows, noise and phase of SBKA (`sbka_lite.objective` has the terms).

    Args:
        student: the `Student`, already where it starts.
        teacher: the `Teacher` (a copy of the student's start), or None when no term reads it
            (``alignment="none"``: the student's ImageNet head is then frozen).
        mask_rows: the semantic mask, one row per seen class over the teacher's classes (None: zeros).
        seen_classes: the seen-class names, in label order (kept in checkpoints).
        objective: `ObjectiveSettings`.
        schedule: anything `sbka_lite.schedule.student_lr` reads (lr, lr_final_factor, epochs,
            warmup_epochs, phase2_lr_scale, teacher_lr_factor).
        seed: draws the Gaussian noise of step s from (seed, s, rank), whatever the device or resume point.
        whole_teacher_in_checkpoint: store the teacher's whole backbone (a randomly initialised one,
            which cannot be rebuilt from pretrained weights), not only its head.
    """

    def __init__(self, student: Student, teacher: Teacher | None, mask_rows: torch.Tensor | None,
                 seen_classes: list[str], objective: ObjectiveSettings, schedule: Any, *, seed: int,
                 whole_teacher_in_checkpoint: bool = False) -> None:
        super().__init__()
        self.objective = SBKAObjective(objective)
        if (teacher is not None) != self.objective.uses_teacher:
            raise ValueError(f"alignment={objective.alignment!r} needs " + ("a teacher" if teacher is None else "no teacher"))
        self.student, self.teacher = student, teacher
        if teacher is None:
            # No term reads the ImageNet head, so it is frozen (DDP needs every trainable parameter to get a gradient).
            student.imagenet_head.requires_grad_(False)
        self.seen_classes = list(seen_classes)
        self.register_buffer("mask_rows", self._mask_rows(mask_rows), persistent=False)
        self.schedule, self.seed, self.rank = schedule, seed, 0
        self.whole_teacher_in_checkpoint = whole_teacher_in_checkpoint
        self.__dict__["_replica"] = None  # the student as DDP runs it (not a submodule: no second copy in state)

    def _mask_rows(self, rows: torch.Tensor | None) -> torch.Tensor:
        width = self.student.imagenet_head.out_features
        rows = rows if rows is not None else torch.zeros(len(self.seen_classes), width)
        if tuple(rows.shape) != (len(self.seen_classes), width):
            raise ValueError(f"semantic mask has shape {tuple(rows.shape)}; expected ({len(self.seen_classes)}, {width}): "
                             "one row per seen class over the teacher's classes")
        return rows.float()

    # ----------------------------------------------------------------- what trains, when, how fast
    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """One optimiser per group: the student's trainable weights, and the teacher's head when it learns."""
        groups = {"student": [p for p in self.student.parameters() if p.requires_grad]}
        if self.objective.teacher_learns:
            groups["teacher"] = list(self.teacher.head_parameters())
        return groups

    def learning_rates(self, epoch: int) -> dict[str, float]:
        rates = {"student": student_lr(self.schedule, epoch, teacher_learns=self.objective.teacher_learns)}
        if self.objective.teacher_learns:
            rates["teacher"] = teacher_lr(self.schedule, epoch)
        return rates

    def set_epoch(self, epoch: int) -> dict[str, int]:
        """Enter `epoch`: the teacher's head learns in phase 2 only. Returns what the logs record of it."""
        phase = self.objective.phase(epoch)
        if self.teacher is not None:
            self.teacher.set_phase(phase)
        self.train()
        return {"phase": phase}

    # ----------------------------------------------------------------- one batch
    def forward(self, images: torch.Tensor, labels: torch.Tensor, is_photo: torch.Tensor, *,
                epoch: int, step: int) -> StepOutput:
        out = (self._replica or self.student)(images)
        teacher_logits = rows = None
        if self.teacher is not None:  # the teacher's targets exist for photos only, so it sees only photos
            teacher_logits = self.teacher(_like(images[is_photo], images))
            rows = self.mask_rows[labels[is_photo]]
        noise = self._noise(out.features.shape, step, out.features.device) if self.objective.gaussian else None
        losses = self.objective(StepInputs(out, labels, is_photo, teacher_logits, rows, noise), self.objective.phase(epoch))
        totals = {"student": losses.student, **({"teacher": losses.teacher} if losses.teacher is not None else {})}
        return StepOutput(losses.terms, totals, out.seen_logits)

    def _noise(self, shape: torch.Size, step: int, device: torch.device) -> torch.Tensor:
        # Drawn on the CPU from (seed, step, rank): identical whatever the device or a resume point.
        seed = int(np.random.SeedSequence([self.seed, step, self.rank, 0x6A55]).generate_state(1)[0])
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(tuple(shape), generator=generator).to(device)

    @property
    def term_names(self) -> tuple[str, ...]:
        """Every loss term's log column, active or not (logs keep one column each)."""
        return tuple(TERMS)

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """Seen-class logits (held-out validation)."""
        return self.student(images).seen_logits

    # ----------------------------------------------------------------- replicas (DDP)
    def replicate(self, wrap: Callable[[nn.Module], nn.Module], rank: int) -> set[str]:
        """Run the student through `wrap` (DistributedDataParallel); returns the groups whose gradients
        it averages (the caller averages the others': the teacher's head is not wrapped)."""
        self.__dict__["_replica"], self.rank = wrap(self.student), rank
        return {"student"}

    # ----------------------------------------------------------------- checkpoints
    def checkpoint_state(self) -> dict[str, Any]:
        """The model's part of a checkpoint: the student's record (`sbka_lite.checkpoint`), and the teacher's."""
        state = student_record(self.student, self.seen_classes)
        if self.teacher is not None:
            # A pretrained teacher's backbone is rebuilt from the pretrained weights; a randomly
            # initialised one (tests) is stored whole.
            module = self.teacher.backbone if self.whole_teacher_in_checkpoint else self.teacher.head
            state["teacher"] = {"whole_backbone": self.whole_teacher_in_checkpoint, "state": module.state_dict()}
        return state

    def load_checkpoint_state(self, state: dict[str, Any]) -> None:
        self.student.load_state_dict(state["student"])
        if self.teacher is not None and "teacher" in state:
            part = state["teacher"]
            (self.teacher.backbone if part["whole_backbone"] else self.teacher.head).load_state_dict(part["state"])
