"""The one Embedder: eval mode, normalisation, preprocessing, batching, per-path failures, shared with search."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sbka_lite.data.decode import decode_image
from sbka_lite.data.errors import ImageReadError
from sbka_lite.data.loading import ImageTransform
from sbka_lite.features import Embedder, embed_files, extract_embeddings
from sbka_lite.unseen import embed_split, evaluate_unseen
from sbka_lite.models import Student, build_backbone, image_config, pooled_features
from sbka_lite.search import SketchSearch
from train_fakes import TINY_BACKBONE, FakeBenchmark, draw

SIZE = 32


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    paths = []
    for label in range(3):
        for seed in range(2):
            path = tmp_path / "photos" / f"c{label}" / f"{seed}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            draw(label, "photo", seed=10 * label + seed, size=40).save(path)
            paths.append(path)
    return paths


@pytest.fixture
def backbone() -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_backbone(TINY_BACKBONE, pretrained=False)
    with torch.no_grad():  # BatchNorm running statistics far from any batch's: eval and train modes disagree
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return model


def reference(model: torch.nn.Module, paths, size: int = SIZE) -> np.ndarray:
    """Independent: the model's own timm config, eval mode, the pooled feature divided by its norm."""
    config = image_config(model)
    transform = ImageTransform(size, config.mean, config.std, interpolation=config.interpolation)
    batch = torch.stack([transform(decode_image(p)) for p in paths])
    model.eval()
    with torch.no_grad():
        features = pooled_features(model, batch).double()
    model.train()
    return (features / features.norm(dim=1, keepdim=True)).float().numpy()


def test_embedder_is_eval_mode_normalised_and_restores_the_mode(backbone, photos):
    backbone.train()
    embedder = Embedder(backbone, image_size=SIZE)
    embeddings, kept, failed = embedder.embed_paths(photos, batch_size=4, progress=False)
    assert backbone.training, "the caller's train mode must be restored"
    assert kept == list(range(len(photos))) and failed == {}
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(embeddings, reference(backbone, photos), atol=1e-5)
    # eval mode: a photo's embedding does not depend on the batch it happens to be in
    alone = embedder.embed_images([decode_image(photos[0])])
    np.testing.assert_allclose(alone[0], embeddings[0], atol=1e-5)


def test_threads_batches_and_memory_format_do_not_change_embeddings(backbone, photos):
    plain = Embedder(backbone, image_size=SIZE, channels_last=False).embed_paths(photos, batch_size=64, progress=False)[0]
    for batch_size, workers in ((1, 0), (4, 3)):
        other = Embedder(backbone, image_size=SIZE).embed_paths(photos, batch_size=batch_size, workers=workers,
                                                                progress=False)[0]
        np.testing.assert_allclose(other, plain, atol=1e-5, err_msg=f"batch {batch_size}, workers {workers}")


def test_failures_are_reported_per_path_in_order(backbone, photos, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    mixed = [photos[0], broken, photos[1], tmp_path / "missing.png", photos[2]]
    items = list(embed_files(Embedder(backbone, image_size=SIZE), mixed, batch_size=2, progress=False))
    assert [item.position for item in items] == list(range(5))
    assert [item.embedding is None for item in items] == [False, True, False, True, False]
    assert all(items[i].reason for i in (1, 3))
    embeddings, kept, failed = Embedder(backbone, image_size=SIZE).embed_paths(mixed, batch_size=2, progress=False)
    assert kept == [0, 2, 4] and set(failed) == {str(broken), str(tmp_path / "missing.png")}
    np.testing.assert_allclose(embeddings, reference(backbone, [photos[0], photos[1], photos[2]]), atol=1e-5)
    with pytest.raises(ImageReadError) as info:  # evaluation refuses to drop an item
        extract_embeddings(backbone, mixed, progress=False)
    assert info.value.path == str(broken)


def test_a_size_cap_refuses_large_images_per_path(backbone, photos):
    embeddings, kept, failed = Embedder(backbone, image_size=SIZE).embed_paths(photos[:2], max_pixels=30 * 30,
                                                                               progress=False)
    assert kept == [] and len(failed) == 2 and all("40x40" in reason for reason in failed.values())


def test_search_and_evaluation_embed_a_photo_identically(backbone, photos, tmp_path):
    torch.manual_seed(1)
    student = Student(TINY_BACKBONE, 3, pretrained=False)
    student.input_size = SIZE
    evaluation = extract_embeddings(student, photos, batch_size=2, progress=False)
    search = SketchSearch(tmp_path / "photos", embedder=Embedder(student), cache=False, progress=False, batch_size=4)
    by_path = dict(zip(search.paths, search.embeddings))
    np.testing.assert_allclose(np.stack([by_path[p.resolve()] for p in photos]), evaluation, atol=1e-5)
    sketch = Image.open(photos[3])
    np.testing.assert_allclose(search.embed_sketch(sketch), evaluation[3], atol=1e-5)


def test_info_names_the_model_and_its_key_follows_the_weights(backbone):
    student = Student(TINY_BACKBONE, 2, pretrained=False)
    info = Embedder(student, image_size=48).info
    assert (info.backbone, info.dim, info.image_size) == (TINY_BACKBONE, student.embedding_dim, 48)
    assert "mean=" in info.preprocessing and info.key.startswith("weights:")
    assert Embedder(student, key="sha256:abc").info.key == "sha256:abc"
    with torch.no_grad():
        student.backbone.conv_stem.weight.add_(1e-3)
    assert Embedder(student, image_size=48).info.key != info.key


# ----------------------------------------------------------------------------- on a benchmark's lists


@pytest.fixture(scope="module")
def train_bench(tmp_path_factory):
    return FakeBenchmark(tmp_path_factory.mktemp("bench"))


def test_extract_embeddings_matches_the_student_and_names_bad_files(tmp_path, train_bench):
    torch.manual_seed(0)
    student = Student(TINY_BACKBONE, 3, pretrained=False)
    student.input_size = 32
    items = train_bench.items("zero", "photo")[:5]
    embeddings = extract_embeddings(student, items, batch_size=2, progress=False)
    assert embeddings.shape == (5, student.embedding_dim) and embeddings.dtype == np.float32
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1, atol=1e-5)
    assert student.training  # mode restored
    cfg = image_config(student)
    transform = ImageTransform(32, cfg.mean, cfg.std, interpolation=cfg.interpolation)
    student.eval()
    with torch.no_grad():
        direct = student.embed(torch.stack([transform(decode_image(p)) for p, _ in items])).numpy()
    assert np.allclose(embeddings, direct, atol=1e-5)
    # a plain timm backbone gives the same embedding as a student built around it
    assert np.allclose(extract_embeddings(student.backbone, [p for p, _ in items], image_size=32, progress=False), direct, atol=1e-5)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"nope")
    with pytest.raises(ImageReadError) as info:
        extract_embeddings(student, [items[0][0], str(broken)], progress=False)
    assert info.value.path == str(broken)
    emb, names = embed_split(student, train_bench, "zero", "sketch", max_items=3, progress=False)
    assert emb.shape[0] == 3 and set(names) <= set(train_bench.unseen_classes)


def test_evaluate_unseen_returns_retrieval_metrics(train_bench):
    torch.manual_seed(0)
    student = Student(TINY_BACKBONE, 3, pretrained=False)
    student.input_size = 32
    metrics = evaluate_unseen(student, train_bench, progress=False)
    assert 0 < metrics["map_all"] <= 1 and 0 <= metrics["prec_100"] <= 1
    assert metrics["n_queries"] == len(train_bench.items("zero", "sketch")) and metrics["ap"] == "voc"
