"""Backbone weights are real and loaded strictly; student and teacher behave as SBKA needs."""
import pytest
import torch
from PIL import Image

from sbka_lite.data.loading import ImageTransform
from sbka_lite.models import (
    DEFAULT_BACKBONE,
    PAPER_BACKBONE,
    Student,
    Teacher,
    build_backbone,
    image_config,
    input_size_of,
    load_state_dict_in_order,
)
from train_fakes import TINY_BACKBONE

CAT_CLASSES = {281, 282, 285}  # tabby, tiger cat, Egyptian cat


@pytest.fixture(scope="module")
def lite0():
    return build_backbone(DEFAULT_BACKBONE, pretrained=True).eval()


def test_offline_weights_classify_a_real_cat(lite0):
    from skimage.data import chelsea

    config = image_config(lite0)
    assert config.mean == (0.5, 0.5, 0.5) and config.std == (0.5, 0.5, 0.5) and config.input_size == 224
    transform = ImageTransform(config.input_size, config.mean, config.std, interpolation=config.interpolation)
    with torch.no_grad():
        probabilities = lite0(transform(Image.fromarray(chelsea()))[None]).softmax(-1)[0]
    top = int(probabilities.argmax())
    assert top in CAT_CLASSES, f"predicted ImageNet class {top}"
    assert probabilities[list(CAT_CLASSES)].sum() > 0.5


def test_random_weights_do_not_recognise_the_cat():
    """The cat test can fail: an unloaded network does not find the cat."""
    from skimage.data import chelsea

    torch.manual_seed(0)
    model = build_backbone(DEFAULT_BACKBONE, pretrained=False).eval()
    transform = ImageTransform(224, (0.5,) * 3, (0.5,) * 3)
    with torch.no_grad():
        probabilities = model(transform(Image.fromarray(chelsea()))[None]).softmax(-1)[0]
    assert probabilities[list(CAT_CLASSES)].sum() < 0.1


def test_strict_loading_rejects_wrong_shape_count_and_kind():
    import timm

    model = timm.create_model(TINY_BACKBONE, pretrained=False)
    good = {f"other.{i}.{k.rsplit('.', 1)[-1]}": v.clone() for i, (k, v) in enumerate(model.state_dict().items())}
    load_state_dict_in_order(model, good)  # renamed keys in the same order load fine

    keys = list(good)
    wrong_shape = dict(good)
    wrong_shape[keys[0]] = torch.zeros(1, 2, 3)
    with pytest.raises(ValueError, match=r"tensor #0 .* does not fit"):
        load_state_dict_in_order(model, wrong_shape)

    missing_one = dict(list(good.items())[:-1])
    with pytest.raises(ValueError, match="different architecture"):
        load_state_dict_in_order(model, missing_one)

    # same shapes, wrong kind (a bias where a weight belongs): e.g. swapped keys
    bn_weight = next(k for k in keys if k.endswith(".weight") and good[k].dim() == 1)
    position = keys.index(bn_weight)
    wrong_kind = {(k.rsplit(".", 1)[0] + ".bias" if i == position else k): v for i, (k, v) in enumerate(good.items())}
    with pytest.raises(ValueError, match=f"tensor #{position}"):
        load_state_dict_in_order(model, wrong_kind)


def test_unknown_and_offline_hub_backbones_fail_clearly(monkeypatch):
    with pytest.raises(ValueError, match="unknown timm backbone"):
        build_backbone("no_such_model_xyz")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="offline\\? use the default backbone"):
        build_backbone(PAPER_BACKBONE, pretrained=True)


def test_student_outputs_and_heads():
    torch.manual_seed(0)
    student = Student(TINY_BACKBONE, num_seen_classes=4, pretrained=False)
    out = student(torch.randn(3, 3, 32, 32))
    d = student.embedding_dim
    assert out.embedding.shape == (3, d) and out.features.shape == (3, d)
    assert out.seen_logits.shape == (3, 4) and out.imagenet_logits.shape == (3, 1000)
    assert torch.allclose(out.embedding.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert torch.allclose(out.embedding, torch.nn.functional.normalize(out.features, dim=-1), atol=1e-6)
    assert torch.allclose(out.imagenet_logits, student.backbone.get_classifier()(out.features), atol=1e-6)
    student.eval()
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(student.embed(x), student(x).embedding, atol=1e-6)
    # every part is trainable: backbone, seen head and ImageNet head
    loss = out.seen_logits.sum() + out.imagenet_logits.sum()
    loss.backward()
    assert student.seen_head.weight.grad is not None and student.imagenet_head.weight.grad is not None
    assert next(student.backbone.conv_stem.parameters()).grad is not None


def test_teacher_is_frozen_except_head_in_phase_two_and_keeps_bn_statistics():
    torch.manual_seed(0)
    student = Student(TINY_BACKBONE, num_seen_classes=2, pretrained=False)
    teacher = Teacher.from_student(student)
    assert torch.equal(teacher.head.weight, student.imagenet_head.weight)
    assert teacher.head.weight is not student.imagenet_head.weight  # a copy, not shared
    teacher.train()  # asking for train mode must not unfreeze BatchNorm
    assert not teacher.training and all(not m.training for m in teacher.modules())
    running = {k: v.clone() for k, v in teacher.state_dict().items() if "running" in k}
    assert running

    teacher.set_phase(1)
    assert not any(p.requires_grad for p in teacher.parameters())
    teacher.set_phase(2)
    trainable = {n for n, p in teacher.named_parameters() if p.requires_grad}
    assert trainable == {"backbone.classifier.weight", "backbone.classifier.bias"}

    logits = teacher(torch.randn(4, 3, 32, 32) * 3 + 1)
    logits.sum().backward()
    assert teacher.head.weight.grad is not None
    assert all(p.grad is None for n, p in teacher.named_parameters() if n not in trainable)
    for key, value in teacher.state_dict().items():
        if key in running:
            assert torch.equal(value, running[key]), f"BatchNorm statistic {key} moved"
    with pytest.raises(ValueError):
        teacher.set_phase(3)


def test_image_size_zero_means_the_backbones_pretrained_input_size_everywhere(tmp_path):
    from sbka_lite.build import build_model, world_of
    from train_fakes import tiny_config

    assert input_size_of(TINY_BACKBONE) == image_config(build_backbone(TINY_BACKBONE, pretrained=False)).input_size == 160
    assert input_size_of(DEFAULT_BACKBONE) == 224 and input_size_of(TINY_BACKBONE, 96) == 96
    with pytest.raises(ValueError, match="set image_size"):
        input_size_of("no_such_backbone_xyz")
    config = tiny_config(tmp_path, image_size=0, alignment="none", gaussian=False)
    assert build_model(config, ["a", "b"], None).student.input_size == 160
    # the photo world is rendered at the run's size, not a fixed 224
    assert world_of(config.replace(pretraining="photo_world", benchmark="synthetic", pretrained=True)).image_size == 160

