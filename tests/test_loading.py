"""Image decoding, augmentation and the mixed sketch/photo batches."""
import numpy as np
import pytest
import torch
from PIL import Image

from fakes import make_sketchy
from sbka_lite.data import open_benchmark
from sbka_lite.data.errors import ImageReadError
from sbka_lite.data.loading import (
    PHOTO,
    SKETCH,
    BadImageLog,
    ImageTransform,
    MixedBatchSampler,
    MixedSketchPhotoDataset,
    collate_mixed,
)
from sbka_lite.data.decode import decode_image as read_image
from train_fakes import FakeBenchmark

HALF = ((0.5,) * 3, (0.5,) * 3)


def test_read_image_converts_modes_and_whitens_transparency(tmp_path):
    grey = tmp_path / "grey.png"
    Image.new("L", (5, 4), 128).save(grey)
    image = read_image(str(grey))
    assert image.mode == "RGB" and image.size == (5, 4) and image.getpixel((0, 0)) == (128, 128, 128)

    transparent = tmp_path / "stroke.png"
    rgba = Image.new("RGBA", (4, 4), (0, 0, 0, 0))  # transparent black background ...
    rgba.putpixel((1, 1), (0, 0, 0, 255))  # ... with one opaque black stroke pixel
    rgba.save(transparent)
    image = read_image(str(transparent))
    assert image.getpixel((0, 0)) == (255, 255, 255) and image.getpixel((1, 1)) == (0, 0, 0)


@pytest.mark.parametrize("content", [b"garbage", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, None])
def test_read_image_names_the_unreadable_path(tmp_path, content):
    path = tmp_path / "broken image.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageReadError) as info:
        read_image(str(path))
    assert info.value.path == str(path) and str(path) in str(info.value)


def test_truncated_image_is_an_error(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ImageReadError):
        read_image(str(path))


def test_transform_resizes_and_normalises():
    transform = ImageTransform(24, *HALF)
    tensor = transform(Image.new("RGB", (40, 30), (255, 255, 255)))
    assert tensor.shape == (3, 24, 24) and tensor.dtype == torch.float32
    assert torch.allclose(tensor, torch.ones_like(tensor))  # white -> (1 - 0.5) / 0.5
    black = transform(Image.new("RGB", (10, 10), (0, 0, 0)))
    assert torch.allclose(black, -torch.ones_like(black))


def test_augmentation_parameters_follow_the_paper():
    transform = ImageTransform(112, *HALF, augment=True)
    rng = np.random.default_rng(0)
    draws = [transform.augmentation_params(rng) for _ in range(2000)]
    flips = np.mean([d["flip"] for d in draws])
    scaled = [d["scale"] for d in draws if d["scale"] != 1.0]
    rotated = [d["angle"] for d in draws if d["angle"] != 0.0]
    moved = [d["translate"] for d in draws if d["translate"] != (0, 0)]
    for share in (flips, len(scaled) / 2000, len(rotated) / 2000):
        assert 0.45 < share < 0.55  # each part with p = 0.5
    assert 0.7 <= min(scaled) and max(scaled) <= 1.3 and max(scaled) - min(scaled) > 0.5
    assert -30 <= min(rotated) and max(rotated) <= 30 and max(rotated) - min(rotated) > 50
    shifts = np.abs(np.array(moved))
    assert shifts.max() == 5  # 10 px at 224 px is 5 px at 112 px
    assert 0.4 < len(moved) / 2000 < 0.55  # some draws round to (0, 0)


def test_augmentation_is_deterministic_per_seed_and_fills_white():
    image = Image.new("RGB", (32, 32), (255, 255, 255))
    image.paste((0, 0, 0), (8, 8, 24, 24))
    transform = ImageTransform(32, *HALF, augment=True)
    one = transform(image, np.random.default_rng(7))
    assert torch.equal(one, transform(image, np.random.default_rng(7)))
    outputs = [transform(image, np.random.default_rng(s)) for s in range(12)]
    assert any(not torch.equal(outputs[0], o) for o in outputs[1:])
    assert all(torch.allclose(o[:, 0, 0], torch.ones(3)) for o in outputs)  # corners stay white
    with pytest.raises(ValueError, match="rng"):
        transform(image)


def _sampler(**kwargs):
    base = dict(num_sketches=10, num_photos=17, sketches_per_batch=2, photos_per_batch=4, seed=3)
    base.update(kwargs)
    return MixedBatchSampler(**base)


def test_sampler_composition_epoch_length_and_coverage():
    sampler = _sampler()
    assert len(sampler) == min(-(-10 // 2), -(-17 // 4)) == 5  # one pass keeps the last partial batch
    batches = list(sampler)
    assert len(batches) == 5
    for batch in batches[:-1]:
        assert [m for m, _, _ in batch] == [SKETCH] * 2 + [PHOTO] * 4
    assert [m for m, _, _ in batches[-1]] == [SKETCH] * 2 + [PHOTO] * 1  # 17 photos = 4 x 4 + 1
    sketches = [i for b in batches for m, i, _ in b if m == SKETCH]
    assert len(set(sketches)) == len(sketches)  # no repeats within one pass
    longer = _sampler(steps_per_epoch=9)  # more steps than data: permutations are chained
    assert len(list(longer)) == 9
    sketches = [i for b in longer for m, i, _ in b if m == SKETCH]
    assert set(sketches) == set(range(10))


def test_sampler_is_deterministic_per_seed_and_epoch_and_resumes_mid_epoch():
    a, b = _sampler(), _sampler()
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)
    assert list(_sampler(seed=4)) != list(a)
    full = list(a)
    a.set_epoch(0, start_step=2)
    assert len(a) == 3 and list(a) == full[2:]


def test_sampler_shards_are_the_single_process_batch():
    single = list(_sampler(sketches_per_batch=4, photos_per_batch=6))
    shards = [list(_sampler(sketches_per_batch=4, photos_per_batch=6, rank=r, world_size=2)) for r in range(2)]
    for step, batch in enumerate(single):
        together = shards[0][step] + shards[1][step]
        assert sorted(together) == sorted(batch)
        assert not set(shards[0][step]) & set(shards[1][step])
        assert sum(m == SKETCH for m, _, _ in shards[0][step]) == (2 if step < len(single) - 1 else 1)


def test_sampler_rejects_impossible_settings():
    with pytest.raises(ValueError, match="no training photos"):
        MixedBatchSampler(5, 0, 2, 4)
    with pytest.raises(ValueError, match="not both 0"):
        MixedBatchSampler(5, 5, 0, 0)
    with pytest.raises(ValueError, match="rank"):
        MixedBatchSampler(5, 5, 1, 1, rank=2, world_size=2)
    assert len(MixedBatchSampler(5, 0, 2, 0)) == 3  # sketches only is allowed (2 + 2 + 1)


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    return FakeBenchmark(tmp_path_factory.mktemp("fake"), per_class=4)


def _dataset(bench, size=24):
    transform = ImageTransform(size, *HALF, augment=True)
    return MixedSketchPhotoDataset(bench.items("train", "sketch"), bench.items("train", "photo"), bench.seen_classes, transform)


def test_mixed_batches_carry_labels_modality_and_match_across_worker_counts(fake):
    dataset = _dataset(fake)
    sampler = MixedBatchSampler(12, 12, 2, 4, seed=0)
    loaders = [torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=collate_mixed, num_workers=w) for w in (0, 2)]
    first, second = (list(loader) for loader in loaders)
    for x, y in zip(first, second):
        assert torch.equal(x.images, y.images) and torch.equal(x.labels, y.labels)
    batch = first[0]
    assert batch.images.shape == (6, 3, 24, 24)
    assert batch.is_photo.tolist() == [False, False, True, True, True, True]
    keys = list(sampler)[0]
    want = [fake.seen_classes.index(fake.items("train", "sketch" if m == SKETCH else "photo")[i][1]) for m, i, _ in keys]
    assert batch.labels.tolist() == want
    # sketches come out as grey strokes on white in all three channels
    sketch = batch.images[0]
    assert torch.allclose(sketch[0], sketch[1]) and torch.allclose(sketch[1], sketch[2])


def test_dataset_refuses_classes_outside_the_training_classes(fake):
    with pytest.raises(ValueError, match="outside the training classes"):
        MixedSketchPhotoDataset(fake.items("zero", "sketch"), [], fake.seen_classes, ImageTransform(16, *HALF))


def test_corrupt_training_images_are_dropped_counted_and_named(tmp_path):
    bench = FakeBenchmark(tmp_path, per_class=4)
    broken = bench.corrupt("train", "photo", 2)
    dataset = _dataset(bench)
    keys = [(PHOTO, 0, 1), (PHOTO, 1, 2), (PHOTO, 2, 3), (SKETCH, 0, 4)]
    batch = collate_mixed([dataset[k] for k in keys])
    assert batch.images.shape[0] == 2 and len(batch.bad_paths) == 2
    assert all(path in text for path, text in zip(broken, batch.bad_paths))
    log = BadImageLog(max_fraction=0.5, allowed=1)
    log.update(len(batch.labels), batch.bad_paths)
    assert (log.seen, log.failed) == (4, 2) and log.bad == batch.bad_paths
    with pytest.raises(ImageReadError, match="3 of 5 images failed"):
        log.update(0, ["x.png (broken)"])


def test_bad_image_log_tolerates_a_few_in_many():
    log = BadImageLog(max_fraction=0.01, allowed=2)
    log.update(1000, ["a (x)", "b (y)", "c (z)"])  # 3 of 1003: under 1 %
    assert log.failed == 3
    with pytest.raises(ImageReadError, match="first failures|First failures"):
        log.update(0, [f"{i} (bad)" for i in range(10)])


def test_a_16_bit_sketch_listed_in_a_benchmark_trains_like_its_8_bit_twin(tmp_path):
    # Issue 12 case 2: a 16-bit greyscale PNG decoded by a plain convert("RGB") was all white.
    # Through the real reader (the SAKE-layout fake), not the trainer's stand-in benchmark.
    fake = make_sketchy(tmp_path / "Sketchy")
    ink = np.full((40, 40), 255, dtype=np.uint8)
    ink[6:34, 18:22] = 0
    ink[18:22, 6:34] = 90  # a grey stroke too: the scaling must keep intermediate values
    eight_bit, sixteen_bit = (fake.root / rel for rel, _ in fake.lists[("train", "sketch")][:2])
    Image.fromarray(ink, mode="L").save(eight_bit)
    Image.fromarray(ink.astype(np.uint16) * 257).save(sixteen_bit)
    assert Image.open(sixteen_bit).mode.startswith("I") and Image.open(eight_bit).mode == "L"

    bench = open_benchmark(fake.root, "sketchy")
    sketches = bench.items("train", "sketch")
    assert [path for path, _ in sketches[:2]] == [str(eight_bit.resolve()), str(sixteen_bit.resolve())]
    dataset = MixedSketchPhotoDataset(sketches, bench.items("train", "photo"), bench.seen_classes,
                                      ImageTransform(32, *HALF, augment=True))
    twin, sixteen = (dataset[(SKETCH, index, 1234)] for index in (0, 1))
    assert twin["error"] == sixteen["error"] == ""
    torch.testing.assert_close(sixteen["image"], twin["image"], rtol=0, atol=0)
    assert sixteen["image"].min() < -0.9 and (sixteen["image"] < 0.5).float().mean() > 0.05  # ink, not a white page


def test_official_augmentation_is_skimages_affine_about_the_origin_before_the_resize():
    from skimage.transform import AffineTransform, warp

    from sbka_lite.data.augment import apply_official, official_params

    stored = np.zeros((40, 60, 3), dtype=np.uint8)
    stored[5:15, 5:25] = (255, 200, 100)  # a block near the top-left corner
    image = Image.fromarray(stored)
    params = {"apply": True, "flip": False, "scale": (1.2, 0.8), "rotation": 0.3, "translation": (4.0, -3.0)}
    got = np.asarray(apply_official(image, params))
    # the same map by hand: output(p) = input(T^-1 p), T = translate . rotate . scale about (0, 0)
    c, s = np.cos(0.3), np.sin(0.3)
    forward = np.array([[1.2 * c, -0.8 * s, 4.0], [1.2 * s, 0.8 * c, -3.0], [0, 0, 1]])
    want = warp(stored, AffineTransform(matrix=forward).inverse, preserve_range=True).astype(np.uint8)
    np.testing.assert_array_equal(got, want)
    assert got.shape == stored.shape and got[-1, -1].tolist() == [0, 0, 0]  # black fill, stored size kept
    flipped = np.asarray(apply_official(image, {**params, "flip": True, "scale": (1, 1), "rotation": 0.0,
                                                "translation": (0.0, 0.0)}))
    np.testing.assert_array_equal(flipped, stored[:, ::-1])
    # the 0.7 gate and the four 0.5 coins, over many draws
    draws = [official_params(np.random.default_rng(k)) for k in range(3000)]
    applied = [d for d in draws if d["apply"]]
    assert abs(len(applied) / 3000 - 0.7) < 0.03
    assert abs(np.mean([d["flip"] for d in applied]) - 0.5) < 0.04
    assert abs(np.mean([d["scale"] != (1.0, 1.0) for d in applied]) - 0.5) < 0.04
    assert any(d["scale"][0] != d["scale"][1] for d in applied)  # independent x and y scales
    assert max(abs(d["rotation"]) for d in applied) <= np.pi / 6 and max(abs(d["translation"][0]) for d in applied) <= 10


def test_the_official_style_augments_before_the_resize():
    stored = Image.fromarray(np.full((80, 80, 3), 255, dtype=np.uint8))
    transform = ImageTransform(16, *HALF, augment=True, augment_style="official")
    seen = {tuple(transform(stored, np.random.default_rng(k)).shape) for k in range(5)}
    assert seen == {(3, 16, 16)}
    # black corners appear after a shift on the stored image: a white image is not white any more
    means = [float(transform(stored, np.random.default_rng(k)).mean()) for k in range(20)]
    assert min(means) < max(means)
    with pytest.raises(ValueError, match="augment_style"):
        ImageTransform(16, *HALF, augment=True, augment_style="sideways")


def test_one_pass_keeps_the_last_partial_batch_like_zipped_loaders():
    # Sketchy split 1: 55,252 sketches / 70 and 68,401 photos / 140 -> 489 steps (not 488)
    sampler = MixedBatchSampler(55_252, 68_401, 70, 140, steps_per_epoch=0, seed=0)
    assert len(sampler) == 489
    small = MixedBatchSampler(10, 20, 4, 8, steps_per_epoch=0, seed=1)  # ceil: 3 and 3 steps
    batches = list(small)
    assert len(batches) == 3
    assert [sum(k[0] == 0 for k in b) for b in batches] == [4, 4, 2]  # sketches, the last partial
    assert [sum(k[0] == 1 for k in b) for b in batches] == [8, 8, 4]
    for modality, count in ((0, 10), (1, 20)):  # each image once: a pass, not a chain
        seen = [k[1] for b in batches for k in b if k[0] == modality]
        assert sorted(seen) == list(range(count))
    shards = [list(MixedBatchSampler(10, 20, 4, 8, seed=1, rank=r, world_size=2))[-1] for r in (0, 1)]
    assert sorted(shards[0] + shards[1]) == sorted(batches[-1])  # the partial batch is sharded too
