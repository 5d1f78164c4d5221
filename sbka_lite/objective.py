"""The SBKA objective in one place: its terms, which phase uses which, and what is detached.

    student:  L_cls + w_ka * L_KA^S + w_gaussian * L_align
    teacher:  L_KA^T                       (phase 2 of "bidirectional" only; its head alone learns)

* ``L_cls``: cross-entropy over the seen classes, sketches and photos together.
* ``L_KA^S`` (teacher -> student): SCE(student's ImageNet logits; teacher's logits **detached**, m).
  The detach is what keeps the student's loss from training the teacher.
* ``L_KA^T`` (student -> teacher): SCE(teacher's logits; student's ImageNet logits, m). The
  target is detached unless ``teacher_grad_to_student`` (the official script does not detach,
  so its student also minimises L_KA^T; see `sbka_lite.config.TrainConfig`).
* ``L_align``: KL(softmax(eps) || softmax(x)), eps ~ N(0, I) drawn fresh each step.

Both distillation terms see **photos only**: a sketch has no teacher target, so the teacher never
even runs on sketches. ``m`` is the semantic mask row of each photo's class (SCE adds 0.3 m to
the target's logits, `sbka_lite.losses.soft_cross_entropy`).

A term is one entry of `TERMS`: its name (the column in every log), its symbol, which model's
total it joins, its weight (a config key), when it is on, and how it is computed. The trainer,
the logs, notebook 03 and the tests read this registry; adding a term is one `register_term`.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F

from .config import ALIGNMENTS
from .losses import classification_loss, gaussian_alignment, soft_cross_entropy
from .models import StudentOutput


class StepInputs(NamedTuple):
    """What the objective sees of one batch."""

    student: StudentOutput  # the student's outputs on the whole batch (sketches and photos)
    labels: torch.Tensor  # seen-class label of each image [B]
    is_photo: torch.Tensor  # bool [B]
    teacher_logits: torch.Tensor | None  # the teacher's logits on the photos only [P, C]; None: no teacher
    mask_rows: torch.Tensor | None  # semantic mask rows of those photos [P, C]
    noise: torch.Tensor | None  # N(0, I) with the features' shape; None when L_align is off


@dataclass(frozen=True)
class Term:
    name: str  # the log column, e.g. "loss_ka_student"
    symbol: str  # as written in the paper, e.g. "L_KA^S"
    trains: str  # "student" or "teacher": whose total it joins
    weight: str | None  # the config key of its weight (None: 1)
    description: str
    active: Callable[["SBKAObjective", int], bool]  # (objective, phase) -> on in this phase?
    compute: Callable[["SBKAObjective", StepInputs], torch.Tensor]


TERMS: dict[str, Term] = {}


def register_term(name: str, symbol: str, *, trains: str, weight: str | None, description: str,
                  active: Callable[["SBKAObjective", int], bool]):
    """Decorator: register ``compute(objective, inputs) -> scalar tensor`` as a loss term."""
    if trains not in ("student", "teacher"):
        raise ValueError(f"a term trains the 'student' or the 'teacher', not {trains!r}")

    def wrap(compute):
        TERMS[name] = Term(name, symbol, trains, weight, description, active, compute)
        return compute

    return wrap


def _photo_sce(logits: torch.Tensor, target_logits: torch.Tensor, mask_rows: torch.Tensor, scale: float) -> torch.Tensor:
    if logits.shape[0] == 0:  # a batch without photos: no distillation, but a graph so backward works
        return logits.sum() * 0.0 + target_logits.sum() * 0.0
    return soft_cross_entropy(logits, target_logits, semantic_mask=mask_rows, mask_scale=scale)


@register_term("loss_cls", "L_cls", trains="student", weight=None,
               description="cross-entropy over the seen classes, sketches and photos together",
               active=lambda objective, phase: True)
def _classification(objective: "SBKAObjective", inputs: StepInputs) -> torch.Tensor:
    return classification_loss(inputs.student.seen_logits, inputs.labels)


@register_term("loss_ka_student", "L_KA^S", trains="student", weight="w_ka",
               description="teacher -> student: the student's ImageNet logits on photos follow the teacher's (detached)",
               active=lambda objective, phase: objective.uses_teacher)
def _teacher_to_student(objective: "SBKAObjective", inputs: StepInputs) -> torch.Tensor:
    student_logits = inputs.student.imagenet_logits[inputs.is_photo]
    return _photo_sce(student_logits, inputs.teacher_logits.detach(), inputs.mask_rows, objective.mask_scale)


@register_term("loss_ka_teacher", "L_KA^T", trains="teacher", weight=None,
               description="student -> teacher: the teacher's head follows the student's ImageNet logits on photos",
               active=lambda objective, phase: objective.uses_teacher and phase == 2)
def _student_to_teacher(objective: "SBKAObjective", inputs: StepInputs) -> torch.Tensor:
    target = inputs.student.imagenet_logits[inputs.is_photo]
    if not objective.teacher_grad_to_student:
        target = target.detach()
    return _photo_sce(inputs.teacher_logits, target, inputs.mask_rows, objective.mask_scale)


@register_term("loss_gaussian", "L_align", trains="student", weight="w_gaussian",
               description="KL(softmax(N(0, I)) || softmax(feature)): pulls the features toward a Gaussian prior",
               active=lambda objective, phase: objective.gaussian)
def _gaussian(objective: "SBKAObjective", inputs: StepInputs) -> torch.Tensor:
    features = inputs.student.features
    if objective.gaussian_feature == "layernorm":
        # A BatchNorm backbone's pooled feature is unnormalised (post-ReLU6 for EfficientNet): the KL
        # to a softmax of noise is then minimised by a constant vector, i.e. every image embedded alike.
        # Per-sample LayerNorm (no affine) removes that direction, as ConvNeXt's head norm does.
        features = F.layer_norm(features.float(), features.shape[-1:])
    return gaussian_alignment(features, inputs.noise)


class Losses(NamedTuple):
    terms: dict[str, torch.Tensor]  # every active term, unweighted, by name
    student: torch.Tensor  # the student's weighted total
    teacher: torch.Tensor | None  # the teacher's total (None when it does not learn this step)


@dataclass(frozen=True)
class ObjectiveSettings:
    """The objective's knobs (the `TrainConfig` keys of the same names; `sbka_lite.train` picks them)."""

    alignment: str = "bidirectional"  # the teacher term: "none", "teacher_to_student" or "bidirectional"
    gaussian: bool = True  # L_align on or off
    w_ka: float = 1.0
    w_gaussian: float = 0.1
    mask_scale: float = 0.3
    teacher_grad_to_student: bool = False
    gaussian_feature: str = "raw"
    warmup_epochs: int = 10  # phase 2 starts at this epoch (when the teacher learns)

    @classmethod
    def pick(cls, source) -> "ObjectiveSettings":
        """The settings held by `source` (a `TrainConfig`, or anything with these attributes)."""
        return cls(**{f.name: getattr(source, f.name) for f in fields(cls)})


class SBKAObjective:
    """The loss of one step, given the models' outputs: ``objective(inputs, phase) -> Losses``.

    `settings` is an `ObjectiveSettings` (or anything with its attributes, every one of them).
    """

    def __init__(self, settings) -> None:
        if settings.alignment not in ALIGNMENTS:
            raise ValueError(f"alignment must be one of {ALIGNMENTS}, got {settings.alignment!r}")
        self.settings = settings
        self.alignment, self.gaussian = settings.alignment, settings.gaussian
        self.mask_scale, self.teacher_grad_to_student = settings.mask_scale, settings.teacher_grad_to_student
        self.gaussian_feature = settings.gaussian_feature

    @property
    def uses_teacher(self) -> bool:
        return self.alignment != "none"

    @property
    def teacher_learns(self) -> bool:
        return self.alignment == "bidirectional"

    def phase(self, epoch: int) -> int:
        """1 (warm-up: the teacher only teaches) or 2 (both directions): from epoch `warmup_epochs` on."""
        return 2 if self.teacher_learns and epoch >= self.settings.warmup_epochs else 1

    def active_terms(self, phase: int) -> list[Term]:
        return [term for term in TERMS.values() if term.active(self, phase)]

    def weight(self, term: Term) -> float:
        return 1.0 if term.weight is None else float(getattr(self.settings, term.weight))

    def __call__(self, inputs: StepInputs, phase: int) -> Losses:
        if self.uses_teacher and inputs.teacher_logits is None:
            raise ValueError(f"alignment={self.alignment!r} needs the teacher's logits on the photos")
        terms, totals = {}, {"student": None, "teacher": None}
        for term in self.active_terms(phase):
            value = terms[term.name] = term.compute(self, inputs)
            weighted = value if term.weight is None else self.weight(term) * value
            totals[term.trains] = weighted if totals[term.trains] is None else totals[term.trains] + weighted
        return Losses(terms, totals["student"], totals["teacher"])
