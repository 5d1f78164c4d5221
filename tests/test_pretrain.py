"""The photo world (a stand-in for ImageNet that knows unseen classes), its pretraining stage, the
runs that start from it, and the teacher-knowledge report."""
import numpy as np
import pytest
import torch

from sbka_lite.config import ConfigError, TrainConfig
from sbka_lite.data.synthetic import SEEN_CLASSES, UNSEEN_CLASSES, draw_photo
from sbka_lite.data.synthetic.instance import image_seed
from sbka_lite.data.synthetic.world import SIBLING_WEIGHT, photo_world_classes, world_mask, world_photo
from sbka_lite.pretrain import WorldSpec, final_loss, world_backbone

TINY_WORLD = WorldSpec("tf_efficientnet_lite0", image_size=64, steps=30, photos_per_class=1)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("outputs")
        patch.setenv("SBKA_OUTPUTS", str(folder))
        yield folder


@pytest.fixture(scope="module")
def world(outputs):
    return world_backbone(TINY_WORLD, progress=False)


def test_the_world_holds_both_kinds_of_unseen_class():
    world = photo_world_classes()
    known = [c for c in UNSEEN_CLASSES if c in world]
    unknown = [c for c in UNSEEN_CLASSES if c not in world]
    assert {"lighthouse", "canoe", "teapot"} <= set(known)  # split-1 style: the teacher has their photos
    assert {"violin", "acoustic guitar", "mouse (animal)"} <= set(unknown)  # split-2 style
    assert "house" not in world  # a seen class without an ImageNet counterpart stays outside, as in ImageNet


def test_world_mask_never_names_an_unseen_class():
    world = photo_world_classes()
    rows = world_mask(SEEN_CLASSES, world)
    assert rows.shape == (len(SEEN_CLASSES), len(world))
    unseen_columns = [world.index(c) for c in UNSEEN_CLASSES if c in world]
    assert not rows[:, unseen_columns].any()
    cat = rows[SEEN_CLASSES.index("cat")]
    assert cat[world.index("cat")] == 1.0 and cat[world.index("dog")] == SIBLING_WEIGHT
    assert cat[world.index("car")] == 0.0
    assert not rows[SEEN_CLASSES.index("house")].any()


def test_world_photos_are_fresh_instances_not_benchmark_images():
    ours = np.asarray(world_photo("teapot", 0, size=64))
    gallery = np.asarray(draw_photo("teapot", seed=image_seed(0, "teapot", "photo", "zero", 0), size=64))
    assert ours.shape == gallery.shape and not np.array_equal(ours, gallery)
    assert np.array_equal(ours, np.asarray(world_photo("teapot", 0, size=64)))  # deterministic


def test_pretraining_learns_the_world_and_is_cached(world, outputs):
    model, record = world
    assert model.get_classifier().out_features == len(photo_world_classes())
    assert final_loss(record, last=5) < np.mean(record["loss"][:5]) - 0.5, record["loss"]
    assert TINY_WORLD.cache_path().is_file() and str(outputs) in str(TINY_WORLD.cache_path())
    again, _ = world_backbone(TINY_WORLD, progress=False)  # from the cache: the same weights
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_a_photo_world_run_starts_student_and_teacher_from_the_world(world, outputs, tmp_path):
    from sbka_lite.checkpoint import load_student
    from sbka_lite.data.presets import synthetic_benchmark
    from sbka_lite.train import train

    bench = synthetic_benchmark(True, str(tmp_path / "bench"), progress=False)
    config = TrainConfig(pretraining="photo_world", pretraining_steps=TINY_WORLD.steps,
                         pretraining_photos_per_class=TINY_WORLD.photos_per_class, image_size=64, epochs=1,
                         warmup_epochs=0, steps_per_epoch=1, sketches_per_batch=2, photos_per_batch=4, num_workers=0,
                         freeze_norm=True, val_max_images=4, run_dir=str(tmp_path / "run"))
    result = train(config, bench, progress=False)
    student, _ = load_student(result.run_dir / "last.pt")
    assert student.imagenet_head.out_features == len(photo_world_classes())
    model, _ = world
    # One step moved the student off the world's weights, but it started there: most of its
    # backbone is within a small distance of the world's, and far from ImageNet's.
    from sbka_lite.models import build_backbone
    imagenet = build_backbone(pretrained=True)
    name = "conv_stem.weight"
    ours, start, other = (m.state_dict()[name] for m in (student.backbone, model, imagenet))
    assert (ours - start).norm() < 0.1 * (ours - other).norm()


def test_photo_world_needs_the_synthetic_benchmark_and_pretrained_weights():
    with pytest.raises(ConfigError, match="synthetic benchmark only"):
        TrainConfig(pretraining="photo_world", benchmark="sketchy")
    with pytest.raises(ConfigError, match="pretrained=True"):
        TrainConfig(pretraining="photo_world", pretrained=False)
    with pytest.raises(ConfigError, match="'imagenet' or 'photo_world'"):
        TrainConfig(pretraining="imagenet21k")


def test_teacher_knowledge_counts_top1_and_top5_as_by_hand(world, tmp_path):
    from sbka_lite.data.loading import ImageTransform
    from sbka_lite.data.presets import synthetic_benchmark
    from sbka_lite.models import image_config
    from sbka_lite.teacher_knowledge import knowledge_summary, synthetic_targets, teacher_knowledge
    from PIL import Image

    model, _ = world
    bench = synthetic_benchmark(True, str(tmp_path / "bench"), progress=False)
    targets = synthetic_targets("photo_world")
    table = teacher_knowledge(model, bench, targets, image_size=64, progress=False).set_index("class")
    config = image_config(model)
    transform = ImageTransform(64, config.mean, config.std, interpolation=config.interpolation)
    for name in ("lighthouse", "cat"):
        split = "zero" if name in UNSEEN_CLASSES else "train"
        paths = [p for p, c in bench.items(split, "photo") if c == name]
        with torch.no_grad():
            top = model.eval()(torch.stack([transform(Image.open(p).convert("RGB")) for p in paths])).topk(5).indices
        goal = photo_world_classes().index(name)
        assert table.loc[name, "top1"] == pytest.approx(float((top[:, 0] == goal).float().mean()))
        assert table.loc[name, "top5"] == pytest.approx(float((top == goal).any(1).float().mean()))
    assert not table.loc["violin", "known"] and np.isnan(table.loc["violin", "top1"])
    summary = knowledge_summary(table.reset_index())
    assert summary.loc["unseen", "classes_without"] == sum(c not in photo_world_classes() for c in bench.unseen_classes)


def test_the_world_does_not_depend_on_the_callers_thread_count():
    # Unpinned, 1 and 2 threads trained different worlds (pretraining loss 0.054 against 0.046 at 96 px),
    # so a run's start depended on OMP_NUM_THREADS and on how busy the machine was.
    from sbka_lite.pretrain import train_world_backbone

    spec = WorldSpec("tf_efficientnet_lite0", image_size=64, steps=4, photos_per_class=1)
    before = torch.get_num_threads()
    records = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            records.append(train_world_backbone(spec, progress=False)[1])
            assert torch.get_num_threads() == threads  # the caller's setting comes back
    finally:
        torch.set_num_threads(before)
    assert records[0]["loss"] == records[1]["loss"] and records[0]["threads"] == 1
