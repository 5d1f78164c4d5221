"""The procedural benchmark: SAKE layout, counts, determinism, a leakage-safe split, safe (re)writes,
the semantic mask and a visible modality gap. Everything runs on tiny images."""
import filecmp
import hashlib
import importlib.util
import json
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sbka_lite.data import synthetic as syn
from sbka_lite.data.synthetic import (
    IMAGENET_NAMES, LIST_NAMES, MATERIALS, SEEN_CLASSES, SYNTHETIC_CLASSES, UNSEEN_CLASSES, draw_photo, draw_sketch,
    list_synthetic_classes, make_synthetic_benchmark, semantic_mask,
)
from sbka_lite.data.synthetic import writer as synthetic_writer
from sbka_lite.data.synthetic.geometry import Variation, ellipse, shape
from sbka_lite.data.synthetic.registry import register_class

TINY = dict(image_size=32, sketches_per_class=2, test_sketches_per_class=1, photos_per_class=2,
            unseen_sketches_per_class=1, unseen_photos_per_class=2, progress=False)
# a small subset with awkward names on both sides of the split
SUBSET = ["house", "coffee mug", "flower (daisy)", "mouse (computer)", "lighthouse", "mouse (animal)", "acoustic guitar"]


def read_list(path: Path) -> list[tuple[str, int]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        rel, label = line.rsplit(" ", 1)  # paths may contain spaces: the label is the last field
        rows.append((rel, int(label)))
    return rows


def class_of(rel: str) -> str:
    return rel.split("/")[1]


@pytest.fixture(scope="module")
def full_tiny(tmp_path_factory) -> Path:
    """All 54 classes, a handful of 32-px images each, rendered in this process."""
    return make_synthetic_benchmark(tmp_path_factory.mktemp("syn") / "bench", seed=3, n_workers=1, **TINY)


def test_catalogue_families_and_split():
    assert len(SYNTHETIC_CLASSES) >= 40
    assert 0.75 <= len(SEEN_CLASSES) / len(SYNTHETIC_CLASSES) <= 0.85
    roles = {c.role for c in SYNTHETIC_CLASSES.values() if c.split == "unseen"}
    assert roles == {"unseen: new member of a seen family", "unseen: member of an unseen family"}
    assert any(" " in n for n in SEEN_CLASSES) and any("(" in n for n in SEEN_CLASSES)
    assert any("(" in n for n in UNSEEN_CLASSES)
    rows = list_synthetic_classes()
    assert [r["name"] for r in rows] == list(SYNTHETIC_CLASSES)
    assert all(set(r) >= {"family", "split", "role", "imagenet"} for r in rows)


def test_roles_follow_the_families():
    assert SYNTHETIC_CLASSES["lighthouse"].role == "unseen: new member of a seen family"  # buildings has seen members
    assert SYNTHETIC_CLASSES["sailboat"].role == "unseen: member of an unseen family"  # no boat is seen
    assert SYNTHETIC_CLASSES["house"].role == "seen"


def test_registry_takes_metadata_beside_the_builder():
    @register_class("test blob", family="test family", split="unseen", imagenet=(24,), palette={"fur": ((1, 2, 3),)})
    def test_blob(vary):
        """a disc

        Longer notes stay out of the description."""
        return [shape(ellipse(0, 0, vary.jitter(0.5), 0.5), "fur")]

    try:
        cls = SYNTHETIC_CLASSES["test blob"]
        assert (cls.family, cls.split, cls.imagenet, cls.description) == ("test family", "unseen", (24,), "a disc")
        assert cls.palette == (("fur", ((1, 2, 3),)),) and cls.build is test_blob
        assert cls.role == "unseen: member of an unseen family"
        assert np.asarray(draw_photo("test blob", seed=0, size=32)).std() > 0
    finally:
        del SYNTHETIC_CLASSES["test blob"]


def documented(vary):
    """a disc"""
    return []


@pytest.mark.parametrize("name, options, builder, match", [
    ("house", dict(family="buildings", split="seen"), documented, "already registered"),
    ("new", dict(family="x", split="train"), documented, "split must be one of"),
    ("new", dict(family="x", split="seen", imagenet=(5,)), documented, r"ImageNet indices \[5\]"),
    ("new", dict(family="x", split="seen", palette={"velvet": ((0, 0, 0),)}), documented, "unknown materials"),
    ("new", dict(family="x", split="seen"), lambda vary: [], "docstring"),
])
def test_registry_rejects_bad_registrations(name, options, builder, match):
    before = dict(SYNTHETIC_CLASSES)
    with pytest.raises(ValueError, match=match):
        register_class(name, **options)(builder)
    assert SYNTHETIC_CLASSES == before


def test_every_material_is_defined():
    used = set()
    for cls in SYNTHETIC_CLASSES.values():
        for s in range(5):
            used |= {p.material for p in cls.build(Variation(np.random.default_rng(s)))}
    assert used <= set(MATERIALS), f"undefined materials {used - set(MATERIALS)}"


@pytest.mark.parametrize("name", list(SYNTHETIC_CLASSES))
def test_every_class_draws_deterministically(name):
    sketch, photo = draw_sketch(name, seed=5, size=32), draw_photo(name, seed=5, size=32)
    assert sketch.size == photo.size == (32, 32) and sketch.mode == photo.mode == "RGB"
    assert np.array_equal(np.asarray(sketch), np.asarray(draw_sketch(name, seed=5, size=32)))
    assert np.array_equal(np.asarray(photo), np.asarray(draw_photo(name, seed=5, size=32)))
    assert not np.array_equal(np.asarray(photo), np.asarray(draw_photo(name, seed=6, size=32)))
    assert (np.asarray(sketch) < 128).any(), "a sketch must contain strokes"


def test_draw_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown synthetic class"):
        draw_sketch("unicorn", seed=0)
    with pytest.raises(ValueError, match="size"):
        draw_photo("house", seed=0, size=8)
    with pytest.raises(ValueError, match="seed"):
        draw_photo("house", seed=-1)


def test_layout_and_counts(full_tiny):
    zero = full_tiny / "zeroshot"
    assert sorted(p.name for p in zero.iterdir()) == sorted([*LIST_NAMES, "cname_cid.txt", "cname_cid_zero.txt", "cid_mask.pickle"])
    assert not (zero / "photo_filelist_test.txt").exists()
    n_seen, n_unseen = len(SEEN_CLASSES), len(UNSEEN_CLASSES)
    expected = {"sketch_filelist_train.txt": 2 * n_seen, "sketch_filelist_test.txt": n_seen, "photo_filelist_train.txt": 2 * n_seen,
                "sketch_filelist_zero.txt": n_unseen, "photo_filelist_zero.txt": 2 * n_unseen}
    for name, count in expected.items():
        rows = read_list(zero / name)
        assert len(rows) == count, name
        modality = name.split("_")[0]
        for rel, label in rows:
            assert rel.startswith(f"{modality}/") and not os.path.isabs(rel)
            assert rel.endswith(".png" if modality == "sketch" else ".jpg")
            with Image.open(full_tiny / rel) as im:
                assert im.size == (32, 32)
                assert im.format == ("PNG" if modality == "sketch" else "JPEG")
    cname = [line.rsplit(" ", 1) for line in (zero / "cname_cid.txt").read_text(encoding="utf-8").splitlines()]
    cname_zero = [line.rsplit(" ", 1) for line in (zero / "cname_cid_zero.txt").read_text(encoding="utf-8").splitlines()]
    assert [c for c, _ in cname] == SEEN_CLASSES and [int(i) for _, i in cname] == list(range(n_seen))
    assert [c for c, _ in cname_zero] == UNSEEN_CLASSES and [int(i) for _, i in cname_zero] == list(range(n_unseen))
    meta = json.loads((full_tiny / "synthetic_meta.json").read_text(encoding="utf-8"))
    assert meta["split"] == {"seen": SEEN_CLASSES, "unseen": UNSEEN_CLASSES}
    assert meta["parameters"]["seed"] == 3 and meta["version"] == syn.GENERATOR_VERSION
    assert {m["role"] for m in meta["classes"].values()} >= {"unseen: new member of a seen family", "unseen: member of an unseen family"}


def test_labels_follow_class_folders_and_names_with_spaces_survive(full_tiny):
    zero = full_tiny / "zeroshot"
    seen_id = {c: i for i, c in enumerate(SEEN_CLASSES)}
    unseen_id = {c: i for i, c in enumerate(UNSEEN_CLASSES)}
    for name in LIST_NAMES:
        ids = unseen_id if name.endswith("_zero.txt") else seen_id
        for rel, label in read_list(zero / name):
            assert ids[class_of(rel)] == label
    lines = (zero / "sketch_filelist_zero.txt").read_text(encoding="utf-8")
    assert "sketch/mouse (animal)/zero_0000.png 5" in lines.splitlines()
    assert (full_tiny / "sketch" / "mouse (animal)" / "zero_0000.png").is_file()


def test_split_is_leakage_safe(full_tiny):
    zero = full_tiny / "zeroshot"
    lists = {name: read_list(zero / name) for name in LIST_NAMES}
    train_test = {class_of(rel) for n in LIST_NAMES if not n.endswith("_zero.txt") for rel, _ in lists[n]}
    zero_classes = {class_of(rel) for n in LIST_NAMES if n.endswith("_zero.txt") for rel, _ in lists[n]}
    assert train_test == set(SEEN_CLASSES) and zero_classes == set(UNSEEN_CLASSES)
    assert not train_test & zero_classes
    paths = [rel for rows in lists.values() for rel, _ in rows]
    assert len(paths) == len(set(paths)), "a path appears in two lists"


def test_semantic_mask(full_tiny):
    with open(full_tiny / "zeroshot" / "cid_mask.pickle", "rb") as f:
        mask = pickle.load(f)
    assert sorted(mask) == list(range(len(SEEN_CLASSES)))
    for row in mask.values():
        assert row.dtype == np.float32 and row.shape == (1000,)
        assert set(np.unique(row)) <= {0.0, np.float32(syn.SIBLING_WEIGHT), 1.0}
    by_name = {c: mask[i] for i, c in enumerate(SEEN_CLASSES)}
    assert by_name["coffee mug"][504] == 1.0 and by_name["coffee mug"][883] == pytest.approx(0.3)  # a vase is a sibling
    assert by_name["mouse (computer)"][673] == 1.0
    assert not by_name["house"].any()  # no honest ImageNet counterpart
    unseen_indices = [i for c in UNSEEN_CLASSES for i in SYNTHETIC_CLASSES[c].imagenet]
    assert not np.stack(list(mask.values()))[:, unseen_indices].any(), "unseen classes leaked into the mask"
    assert semantic_mask(["house"])["house"].sum() == 0


def imagenet_descriptions() -> list[str]:
    """ImageNet-1k class descriptions from the lists timm ships (read directly: importing timm pulls in torch)."""
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("timm is not installed")
    info = Path(list(spec.submodule_search_locations)[0]) / "data" / "_info"
    lemma = dict(line.split("\t", 1) for line in (info / "imagenet_synset_to_lemma.txt").read_text().splitlines())
    return [lemma[s] for s in (info / "imagenet_synsets.txt").read_text().split()]


def test_imagenet_indices_name_the_right_classes():
    descriptions = imagenet_descriptions()
    assert len(descriptions) == 1000
    for cls in SYNTHETIC_CLASSES.values():
        assert set(cls.imagenet) <= set(IMAGENET_NAMES), cls.name
    for index, name in IMAGENET_NAMES.items():
        first = name.split(",")[0].strip().lower()
        assert descriptions[index].lower().startswith(first), (index, name, descriptions[index])


def tree_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_deterministic_byte_for_byte_and_independent_of_workers(tmp_path):
    a = make_synthetic_benchmark(tmp_path / "a", seed=11, classes=SUBSET, n_workers=1, **TINY)
    b = make_synthetic_benchmark(tmp_path / "b", seed=11, classes=SUBSET, n_workers=2, **{**TINY, "sketches_per_class": 20})
    c = make_synthetic_benchmark(tmp_path / "c", seed=11, classes=SUBSET, n_workers=2, **TINY)
    files = tree_files(a)
    assert files == tree_files(c) and len(files) > 30
    _, mismatch, errors = filecmp.cmpfiles(a, c, files, shallow=False)
    assert not mismatch and not errors
    # the first images of a class do not depend on how many are asked for
    assert filecmp.cmp(a / "sketch/house/train_0001.png", b / "sketch/house/train_0001.png", shallow=False)
    d = make_synthetic_benchmark(tmp_path / "d", seed=12, classes=SUBSET, n_workers=1, **TINY)
    assert not filecmp.cmp(a / "photo/house/train_0000.jpg", d / "photo/house/train_0000.jpg", shallow=False)


def test_skips_when_complete_and_refuses_to_overwrite(tmp_path, capsys):
    root = make_synthetic_benchmark(tmp_path / "bench", seed=1, classes=SUBSET, n_workers=1, **TINY)
    probe = root / "sketch" / "house" / "train_0000.png"
    stamp = probe.stat().st_mtime_ns
    assert make_synthetic_benchmark(root, seed=1, classes=SUBSET, n_workers=1, **{**TINY, "progress": True}) == root
    assert "already complete" in capsys.readouterr().out
    assert probe.stat().st_mtime_ns == stamp

    with pytest.raises(FileExistsError, match="seed"):
        make_synthetic_benchmark(root, seed=2, classes=SUBSET, n_workers=1, **TINY)
    make_synthetic_benchmark(root, seed=2, classes=SUBSET, n_workers=1, force=True, **TINY)
    assert json.loads((root / "synthetic_meta.json").read_text())["parameters"]["seed"] == 2
    assert [p.name for p in tmp_path.iterdir() if p.name != ".bench.lock"] == ["bench"], "temporary folders were left behind"

    (root / "sketch" / "house" / "train_0000.png").unlink()  # damaged: same parameters but incomplete
    with pytest.raises(FileExistsError, match="incomplete"):
        make_synthetic_benchmark(root, seed=2, classes=SUBSET, n_workers=1, **TINY)

    foreign = tmp_path / "my_photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"not ours")
    with pytest.raises(FileExistsError, match="not a synthetic benchmark"):
        make_synthetic_benchmark(foreign, classes=SUBSET, n_workers=1, force=True, **TINY)
    assert (foreign / "holiday.jpg").read_bytes() == b"not ours"

    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(FileExistsError, match="not a folder"):
        make_synthetic_benchmark(a_file, classes=SUBSET, n_workers=1, **TINY)


def test_empty_folder_is_filled(tmp_path):
    (tmp_path / "empty").mkdir()
    root = make_synthetic_benchmark(tmp_path / "empty", classes=SUBSET, n_workers=1, **TINY)
    assert (root / "synthetic_meta.json").is_file()


def test_interrupted_run_leaves_no_half_benchmark(tmp_path, monkeypatch):
    def crash(jobs, workers, progress):
        synthetic_writer._render_job(jobs[0])
        raise KeyboardInterrupt

    monkeypatch.setattr(synthetic_writer, "_render_all", crash)
    with pytest.raises(KeyboardInterrupt):
        make_synthetic_benchmark(tmp_path / "bench", classes=SUBSET, n_workers=1, **TINY)
    assert [p for p in tmp_path.iterdir() if p.name != ".bench.lock"] == []  # the lock file stays, empty of work


def test_stale_partial_folders_of_dead_runs_are_removed(tmp_path):
    stale = tmp_path / f".bench.partial-{2 ** 22 + 12345}-1"  # above Linux's default pid_max: no such process
    stale.mkdir()
    make_synthetic_benchmark(tmp_path / "bench", classes=SUBSET, n_workers=1, **TINY)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".bench.lock") == ["bench"]


@pytest.mark.parametrize("bad, match", [(dict(image_size=8), "image_size"), (dict(sketches_per_class=0), "sketches_per_class"),
                                        (dict(classes=["house", "dragon"]), "dragon"), (dict(classes=["house", "car"]), "unseen"),
                                        (dict(seed=-3), "seed"), (dict(n_workers=0), "n_workers")])
def test_bad_parameters_are_named(tmp_path, bad, match):
    with pytest.raises(ValueError, match=match):
        make_synthetic_benchmark(tmp_path / "x", **{**TINY, "classes": SUBSET, **bad})
    assert not (tmp_path / "x").exists()


def test_modality_gap_in_pixel_statistics():
    sketches = np.stack([np.asarray(draw_sketch(n, seed=s, size=64), dtype=np.float32) for n in SUBSET for s in range(3)])
    photos = np.stack([np.asarray(draw_photo(n, seed=s, size=64), dtype=np.float32) for n in SUBSET for s in range(3)])

    def saturation(x):
        return (x.max(-1) - x.min(-1)).mean()

    assert saturation(sketches) == 0.0, "sketches are grey ink on white"
    assert saturation(photos) > 15
    white = lambda x: (x.min(-1) > 245).mean()  # noqa: E731
    assert white(sketches) > 0.75 and white(photos) < 0.05
    assert sketches.mean() - photos.mean() > 60
    # sketches are sparse strokes: dark pixels are few; photos have mid-tones everywhere
    assert (sketches.mean(-1) < 128).mean() < 0.15 and ((photos.mean(-1) > 40) & (photos.mean(-1) < 215)).mean() > 0.5


def test_photo_and_sketch_are_independent_instances():
    # same seed, two modalities: different random streams, so the geometry is not shared pixel by pixel
    sketch = np.asarray(draw_sketch("car", seed=0, size=64).convert("L"), dtype=np.float32) < 128
    photo = np.asarray(draw_photo("car", seed=0, size=64).convert("L"), dtype=np.float32)
    assert sketch.any() and photo.std() > 10
    # sketch pose differs between seeds: stroke masks of two sketches of one class do not coincide
    other = np.asarray(draw_sketch("car", seed=1, size=64).convert("L"), dtype=np.float32) < 128
    overlap = (sketch & other).sum() / max(1, (sketch | other).sum())
    assert overlap < 0.5


def test_meta_is_json_with_sorted_keys(full_tiny):
    text = (full_tiny / "synthetic_meta.json").read_text(encoding="utf-8")
    meta = json.loads(text)
    assert text == json.dumps(meta, indent=2, sort_keys=True) + "\n"
    assert set(meta["families"]) == {c.family for c in SYNTHETIC_CLASSES.values()}
    assert all(re.fullmatch(r"\d+", k) for m in meta["classes"].values() for k in m["imagenet"])


# Digests of today's renderer (sha256 of the pixel array, first 16 hex digits), the first and the last class
# of every family at seed 1 and 48 px. The renderer is deterministic, so a change here means the benchmark's
# images changed: make such a change on purpose, bump GENERATOR_VERSION and update these digests (a Pillow or
# numpy upgrade that changes resampling or blur shows up here too).
RENDER_DIGESTS = [
    ("house", "b4248c94deb962f9", "dd2fde15bd0978e9"), ("lighthouse", "6d36db6fbe8e4093", "1e0769fc984ac25f"),
    ("car", "ab9992cc4f1008d5", "5cd81a4c4dabf2f6"), ("ambulance", "70b1c122b49dda40", "30ce3e4811578507"),
    ("coffee mug", "f18d6ff6257ea221", "b6cec3d5bbce5e59"), ("teapot", "5472d250bc593a6f", "58bf8c0422be702e"),
    ("pine tree", "6e1a01f2c1501495", "4193f1d27415782b"), ("mushroom", "c9b90f9d8cc500f1", "ea2b34358b5c730d"),
    ("table lamp", "bb5ee6610c062e4e", "f54a04409ae26588"), ("lantern", "376000cdf901d1c8", "9d7176807afcfb52"),
    ("cat", "2b9fba12a35f14e6", "0db6f21ea2b36ef8"), ("mouse (animal)", "3e917831c8e70336", "ba2afdbebb2f46e0"),
    ("hammer", "90a0ecbfa9ee6047", "dedd5f9de10d0e73"), ("paintbrush", "13aa101726e2607b", "28757edcb206abfc"),
    ("alarm clock", "23da619c932f77db", "88381ac87c562966"), ("stopwatch", "1be770e7755ab402", "7a241828e99183ac"),
    ("mouse (computer)", "864f2635d128a3e1", "aa28fe788c125aae"), ("laptop", "6d8670bccad1fd0c", "c4ad8da3cbb6e662"),
    ("sailboat", "1e698e7c8b223c21", "a58dd2b0035e8efe"), ("steamship", "eb3b1323fa7e7861", "f01c71cb2f85d488"),
    ("acoustic guitar", "ab9d6457125bd67d", "ee83d09f135e4a91"), ("violin", "b2d53fab533b08cd", "83fc45de92af0cb1"),
]
# The lists, class files and meta of `full_tiny` (labels, class order, meta fields), concatenated.
INDEX_DIGEST = "d144013fd731631d"


def pixel_digest(image: Image.Image) -> str:
    return hashlib.sha256(np.ascontiguousarray(np.asarray(image)).tobytes()).hexdigest()[:16]


def test_pinned_digests_cover_every_family():
    families = {SYNTHETIC_CLASSES[name].family for name, _, _ in RENDER_DIGESTS}
    assert families == {c.family for c in SYNTHETIC_CLASSES.values()}


@pytest.mark.parametrize("name, photo_digest, sketch_digest", RENDER_DIGESTS)
def test_renderer_output_is_pinned(name, photo_digest, sketch_digest):
    assert pixel_digest(draw_photo(name, seed=1, size=48)) == photo_digest
    assert pixel_digest(draw_sketch(name, seed=1, size=48)) == sketch_digest


def test_index_files_are_pinned(full_tiny):
    files = [*(f"zeroshot/{n}" for n in LIST_NAMES), "zeroshot/cname_cid.txt", "zeroshot/cname_cid_zero.txt", "synthetic_meta.json"]
    digest = hashlib.sha256(b"".join((full_tiny / rel).read_bytes() for rel in files)).hexdigest()[:16]
    assert digest == INDEX_DIGEST
