"""The SBKA losses against hand-written formulas, masks and gradient flow."""
import math

import pytest
import torch

from sbka_lite.losses import accuracy, classification_loss, gaussian_alignment, soft_cross_entropy


def _sce_by_hand(a, b, m, scale, rows):
    """-sum_c softmax(b + scale*m)_c log softmax(a)_c, looped in plain python over the chosen rows."""
    total = 0.0
    for i in rows:
        target = [b[i][c] + scale * m[i][c] for c in range(len(a[i]))]
        zt = sum(math.exp(t) for t in target)
        za = sum(math.exp(x) for x in a[i])
        total += -sum(math.exp(target[c]) / zt * (a[i][c] - math.log(za)) for c in range(len(a[i])))
    return total / len(rows)


def test_soft_cross_entropy_matches_formula_with_mask_and_sample_mask():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    m = (torch.rand(5, 7, generator=g) > 0.6).float()
    photos = torch.tensor([False, True, True, False, True])
    got = soft_cross_entropy(a, b, semantic_mask=m, mask_scale=0.3, sample_mask=photos)
    want = _sce_by_hand(a.tolist(), b.tolist(), m.tolist(), 0.3, rows=[1, 2, 4])
    assert got.item() == pytest.approx(want, rel=1e-5)
    # no masks: plain soft cross-entropy over all rows
    assert soft_cross_entropy(a, b).item() == pytest.approx(_sce_by_hand(a.tolist(), b.tolist(), torch.zeros(5, 7).tolist(), 0.3, range(5)), rel=1e-5)
    # the mask changes the target: a different number
    assert soft_cross_entropy(a, b, semantic_mask=m, mask_scale=0.3).item() != pytest.approx(soft_cross_entropy(a, b).item())


def test_soft_cross_entropy_gradient_is_softmax_difference():
    """d SCE / d a = (softmax(a) - softmax(b + 0.3 m)) / n: zero exactly at the target distribution."""
    a = torch.randn(3, 6, requires_grad=True)
    b, m = torch.randn(3, 6), torch.rand(3, 6)
    soft_cross_entropy(a, b, semantic_mask=m).backward()
    want = (a.detach().softmax(-1) - (b + 0.3 * m).softmax(-1)) / 3
    assert torch.allclose(a.grad, want, atol=1e-6)
    at_target = (b + 0.3 * m).clone().requires_grad_()
    soft_cross_entropy(at_target, b, semantic_mask=m).backward()
    assert at_target.grad.abs().max() < 1e-6


def test_empty_sample_mask_gives_zero_and_backward_works():
    a = torch.randn(4, 5, requires_grad=True)
    b = torch.randn(4, 5, requires_grad=True)
    loss = soft_cross_entropy(a, b, sample_mask=torch.zeros(4, dtype=torch.bool))
    assert loss.item() == 0.0 and not torch.isnan(loss)
    loss.backward()
    assert torch.count_nonzero(a.grad) == 0 and torch.count_nonzero(b.grad) == 0


def test_excluded_samples_cannot_poison_the_mean():
    a = torch.randn(3, 4)
    a[0, 0] = float("inf")  # a broken sketch row must not leak in as 0 * inf = nan
    loss = soft_cross_entropy(a, torch.randn(3, 4), sample_mask=torch.tensor([False, True, True]))
    assert torch.isfinite(loss)


def test_gradient_reaches_target_unless_detached():
    a = torch.randn(4, 5, requires_grad=True)
    b = torch.randn(4, 5, requires_grad=True)
    soft_cross_entropy(a, b).backward()
    assert a.grad.abs().sum() > 0 and b.grad.abs().sum() > 0
    a2, b2 = a.detach().clone().requires_grad_(), b.detach().clone().requires_grad_()
    soft_cross_entropy(a2, b2.detach()).backward()
    assert a2.grad.abs().sum() > 0 and b2.grad is None
    # only selected samples get gradient
    a3 = a.detach().clone().requires_grad_()
    soft_cross_entropy(a3, b.detach(), sample_mask=torch.tensor([True, False, True, False])).backward()
    assert a3.grad[[1, 3]].abs().sum() == 0 and a3.grad[[0, 2]].abs().sum() > 0


def test_soft_cross_entropy_rejects_bad_shapes():
    with pytest.raises(ValueError, match="semantic_mask"):
        soft_cross_entropy(torch.randn(2, 3), torch.randn(2, 3), semantic_mask=torch.zeros(2, 4))
    with pytest.raises(ValueError, match="sample_mask"):
        soft_cross_entropy(torch.randn(2, 3), torch.randn(2, 3), sample_mask=torch.ones(2))
    with pytest.raises(ValueError, match="must both be"):
        soft_cross_entropy(torch.randn(2, 3), torch.randn(3, 3))


def test_gaussian_alignment_is_kl_noise_to_features():
    g = torch.Generator().manual_seed(1)
    x, eps = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    p, q = eps.softmax(-1), x.softmax(-1)
    want = (p * (p.log() - q.log())).sum(-1).mean()
    assert gaussian_alignment(x, eps).item() == pytest.approx(want.item(), rel=1e-5)
    assert gaussian_alignment(eps, eps).item() == pytest.approx(0.0, abs=1e-6)
    features = x.clone().requires_grad_()
    gaussian_alignment(features, eps).backward()
    assert features.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="shape"):
        gaussian_alignment(x, eps[:, :3])


def test_classification_loss_and_accuracy():
    logits = torch.tensor([[2.0, 0.0], [0.0, 3.0], [1.0, 0.0]])
    labels = torch.tensor([0, 1, 1])
    want = -(logits.log_softmax(-1)[torch.arange(3), labels]).mean()
    assert classification_loss(logits, labels).item() == pytest.approx(want.item())
    assert accuracy(logits, labels) == pytest.approx(2 / 3)
    assert accuracy(logits[:0], labels[:0]) == 0.0


def test_losses_are_float32_under_half_inputs():
    a, b = torch.randn(3, 5).bfloat16(), torch.randn(3, 5).bfloat16()
    assert soft_cross_entropy(a, b).dtype == torch.float32
    assert gaussian_alignment(a, b).dtype == torch.float32


def test_photo_only_masked_sce_by_hand_on_two_classes():
    """Two classes, numbers small enough to do on paper.

    Photo row: target logits b = (0, 0), mask m = (1, 0), scale 0.3 -> target p = softmax(0.3, 0)
    = (0.57444, 0.42556); student logits a = (ln 3, 0) -> log softmax(a) = (ln 0.75, ln 0.25).
    SCE = -(0.57444 ln 0.75 + 0.42556 ln 0.25) = 0.16526 + 0.58995 = 0.75521.
    The sketch row (huge, wrong logits) must not count at all.
    """
    a = torch.tensor([[math.log(3.0), 0.0], [-50.0, 50.0]])
    b = torch.tensor([[0.0, 0.0], [50.0, -50.0]])
    m = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    photos = torch.tensor([True, False])
    p0 = 1 / (1 + math.exp(-0.3))
    want = -(p0 * math.log(0.75) + (1 - p0) * math.log(0.25))
    assert want == pytest.approx(0.75521, abs=1e-5)
    got = soft_cross_entropy(a, b, semantic_mask=m, mask_scale=0.3, sample_mask=photos)
    assert got.item() == pytest.approx(want, abs=1e-6)


def test_gaussian_alignment_pulls_features_toward_the_noise_distribution():
    """A gradient step on the features lowers KL(softmax(noise) || softmax(features)): the features'
    softmax moves toward the noise's, never away (the direction of the term)."""
    g = torch.Generator().manual_seed(3)
    noise = torch.randn(4, 16, generator=g)
    features = (5 * torch.randn(4, 16, generator=g)).requires_grad_()
    before = gaussian_alignment(features, noise)
    before.backward()
    # d KL / d features = softmax(features) - softmax(noise), row by row (batchmean divides by 4)
    want = (features.detach().softmax(-1) - noise.softmax(-1)) / 4
    assert torch.allclose(features.grad, want, atol=1e-6)
    stepped = (features - 1.0 * features.grad).detach()
    assert gaussian_alignment(stepped, noise) < before
    # zero exactly when the two distributions agree (any per-row shift of the noise)
    assert gaussian_alignment(noise + 2.0, noise).item() == pytest.approx(0.0, abs=1e-6)
