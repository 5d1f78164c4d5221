"""The SBKA objective: its registry, which phase trains what, what is detached, photos only."""
import math

import pytest
import torch

from sbka_lite.losses import gaussian_alignment, soft_cross_entropy
from sbka_lite.models import StudentOutput
from sbka_lite.objective import TERMS, ObjectiveSettings, SBKAObjective, StepInputs


def _config(**changes):
    values = dict(alignment="bidirectional", gaussian=True, w_ka=1.0, w_gaussian=0.1, mask_scale=0.3,
                  teacher_grad_to_student=False, warmup_epochs=2)
    values.update(changes)
    return ObjectiveSettings(**values)


def _inputs(seed=0, photos=(False, True, True, False, True), classes=7):
    g = torch.Generator().manual_seed(seed)
    n = len(photos)
    is_photo = torch.tensor(photos)
    features = torch.randn(n, 6, generator=g, requires_grad=True)
    imagenet = torch.randn(n, classes, generator=g, requires_grad=True)
    seen = torch.randn(n, 3, generator=g, requires_grad=True)
    out = StudentOutput(embedding=features, seen_logits=seen, imagenet_logits=imagenet, features=features)
    teacher = torch.randn(int(is_photo.sum()), classes, generator=g, requires_grad=True)
    mask = (torch.rand(int(is_photo.sum()), classes, generator=g) > 0.5).float()
    labels = torch.randint(0, 3, (n,), generator=g)
    return StepInputs(out, labels, is_photo, teacher, mask, torch.randn(n, 6, generator=g))


def test_registry_names_every_term_once_with_its_side_and_weight():
    assert list(TERMS) == ["loss_cls", "loss_ka_student", "loss_ka_teacher", "loss_gaussian"]
    assert {name: t.trains for name, t in TERMS.items()} == {
        "loss_cls": "student", "loss_ka_student": "student", "loss_ka_teacher": "teacher", "loss_gaussian": "student"}
    assert TERMS["loss_ka_student"].weight == "w_ka" and TERMS["loss_gaussian"].weight == "w_gaussian"
    assert [t.symbol for t in TERMS.values()] == ["L_cls", "L_KA^S", "L_KA^T", "L_align"]


@pytest.mark.parametrize("alignment, gaussian, epoch, active", [
    ("none", False, 5, {"loss_cls"}),
    ("none", True, 5, {"loss_cls", "loss_gaussian"}),
    ("teacher_to_student", True, 5, {"loss_cls", "loss_ka_student", "loss_gaussian"}),
    ("bidirectional", True, 1, {"loss_cls", "loss_ka_student", "loss_gaussian"}),  # warm-up
    ("bidirectional", True, 2, {"loss_cls", "loss_ka_student", "loss_ka_teacher", "loss_gaussian"}),
])
def test_which_terms_each_phase_uses(alignment, gaussian, epoch, active):
    objective = SBKAObjective(_config(alignment=alignment, gaussian=gaussian))
    phase = objective.phase(epoch)
    assert {t.name for t in objective.active_terms(phase)} == active
    losses = objective(_inputs(), phase)
    assert set(losses.terms) == active
    assert (losses.teacher is not None) == ("loss_ka_teacher" in active)


def test_totals_are_the_papers_weighted_sums_on_photos_only():
    inputs = _inputs()
    objective = SBKAObjective(_config(w_ka=0.7, w_gaussian=0.2))
    losses = objective(inputs, phase=2)
    photos = inputs.is_photo
    cls = torch.nn.functional.cross_entropy(inputs.student.seen_logits, inputs.labels)
    ka_s = soft_cross_entropy(inputs.student.imagenet_logits[photos], inputs.teacher_logits, semantic_mask=inputs.mask_rows)
    ka_t = soft_cross_entropy(inputs.teacher_logits, inputs.student.imagenet_logits[photos], semantic_mask=inputs.mask_rows)
    align = gaussian_alignment(inputs.student.features, inputs.noise)
    assert losses.student.item() == pytest.approx((cls + 0.7 * ka_s + 0.2 * align).item(), rel=1e-6)
    assert losses.teacher.item() == pytest.approx(ka_t.item(), rel=1e-6)
    # a sketch's ImageNet logits do not enter: changing them changes nothing
    changed = inputs.student.imagenet_logits.detach().clone()
    changed[~photos] += 100.0
    out = inputs.student._replace(imagenet_logits=changed)
    again = objective(inputs._replace(student=out), phase=2)
    assert again.terms["loss_ka_student"].item() == pytest.approx(losses.terms["loss_ka_student"].item())


@pytest.mark.parametrize("official", [False, True])
def test_what_is_detached(official):
    inputs = _inputs()
    losses = SBKAObjective(_config(teacher_grad_to_student=official))(inputs, phase=2)
    # the student's total never reaches the teacher's logits
    teacher_grad = torch.autograd.grad(losses.student, inputs.teacher_logits, allow_unused=True)[0]
    assert teacher_grad is None or torch.count_nonzero(teacher_grad) == 0
    # the teacher's total reaches the student's logits only with the official switch
    student_grad = torch.autograd.grad(losses.teacher, inputs.student.imagenet_logits, allow_unused=True)[0]
    reached = student_grad is not None and torch.count_nonzero(student_grad) > 0
    assert reached == official
    if official:  # and then only the photos' rows
        assert torch.count_nonzero(student_grad[~inputs.is_photo]) == 0


def test_a_batch_without_photos_gives_zero_distillation_with_a_graph():
    inputs = _inputs(photos=(False, False, False))
    losses = SBKAObjective(_config())(inputs, phase=2)
    assert losses.terms["loss_ka_student"].item() == 0.0 and losses.terms["loss_ka_teacher"].item() == 0.0
    (losses.student + losses.teacher).backward()
    assert math.isfinite(losses.student.item())


def test_a_teacher_objective_without_teacher_logits_is_refused():
    with pytest.raises(ValueError, match="needs the teacher's logits"):
        SBKAObjective(_config())(_inputs()._replace(teacher_logits=None), phase=1)
