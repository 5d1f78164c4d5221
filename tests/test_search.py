"""Photo search: the cache, exact and FAISS ranking, query inputs, bad input, the CLI and the pad."""
from __future__ import annotations

import base64
import io
import json
import os
import re
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from sbka_lite.checkpoint import save_checkpoint
from sbka_lite.data.synthetic import draw_photo, draw_sketch
from sbka_lite.features import Embedder
from sbka_lite.distances import exact_topk
from sbka_lite.models import Student
from sbka_lite.search import (
    MAX_PHOTO_PIXELS, EmbeddingCache, FaissIndex, ForeignFileError, ModelInfo, ModelMismatchError, SearchCacheWarning,
    SearchError, SearchHit, SketchSearch, contact_sheet, list_photos, main, precision_at_k_by_class, sketch_to_image,
)
from sbka_lite.search.pad import drawing_pad


class CountingEmbedder:
    """A transparent stand-in for a network: the embedding is the image's 2x2 colour thumbnail."""

    def __init__(self, backbone: str = "fake", key: str = "fake:1", dim: int = 12, fail_on_batch: int | None = None):
        self.info = ModelInfo(key=key, backbone=backbone, dim=dim, image_size=2)
        self.embedded = 0
        self.batches = 0
        self.fail_on_batch = fail_on_batch

    def preprocess(self, image: Image.Image) -> np.ndarray:
        thumb = np.asarray(image.convert("RGB").resize((2, 2), Image.BILINEAR), dtype=np.float32).reshape(-1)
        return np.resize(thumb, self.info.dim) + 1.0

    def embed_batch(self, prepared: list[np.ndarray]) -> np.ndarray:
        self.batches += 1
        if self.fail_on_batch is not None and self.batches == self.fail_on_batch:
            raise KeyboardInterrupt  # the user pressing Ctrl-C in the middle of a long folder
        self.embedded += len(prepared)
        matrix = np.stack(prepared)
        return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def write_photo(path: Path, seed: int, size: int = 24) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format={".png": "PNG", ".bmp": "BMP"}.get(path.suffix.lower(), "JPEG"))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    photos = tmp_path / "photos"
    write_photo(photos / "a.png", 1)
    write_photo(photos / "b.JPG", 2)
    write_photo(photos / "trip" / "c.jpeg", 3)
    write_photo(photos / "trip" / "deeper" / "d.png", 4)
    (photos / "notes.txt").write_text("not a photo")
    write_photo(photos / ".thumbnails" / "hidden.png", 5)
    return photos


def open_search(folder: Path, embedder, cache: Path, **kwargs) -> SketchSearch:
    return SketchSearch(folder, embedder=embedder, cache=cache, progress=False, batch_size=2, **kwargs)


def test_lists_photos_recursively_case_insensitive_skipping_hidden(folder):
    assert list(list_photos(folder)) == ["a.png", "b.JPG", "trip/c.jpeg", "trip/deeper/d.png"]


def test_subfolders_limit_the_search(folder, tmp_path):
    assert list(list_photos(folder, ["trip"])) == ["trip/c.jpeg", "trip/deeper/d.png"]
    with pytest.raises(SearchError, match="subfolders of .* not found: .*a_missing_one"):
        list_photos(folder, ["trip", "a_missing_one"])
    search = open_search(folder, CountingEmbedder(), tmp_path / "cache.npz", subfolders=["trip/deeper"])
    assert [p.name for p in search.paths] == ["d.png"]


def test_cache_embeds_only_added_and_changed_photos_and_drops_deleted(folder, tmp_path):
    cache = tmp_path / "cache.npz"
    first = CountingEmbedder()
    search = open_search(folder, first, cache)
    assert first.embedded == 4 and len(search) == 4 and cache.is_file()
    before = dict(zip(search.paths, search.embeddings))

    again = CountingEmbedder()
    reopened = open_search(folder, again, cache)
    assert again.embedded == 0 and reopened.last_update.reused == 4
    np.testing.assert_array_equal(reopened.embeddings, search.embeddings)

    write_photo(folder / "new" / "e.webp", 6)  # added
    changed = folder / "trip" / "c.jpeg"
    stat = changed.stat()
    write_photo(changed, 99)  # new content; bump the mtime so a coarse file-system clock cannot hide it
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    (folder / "a.png").unlink()  # deleted

    third = CountingEmbedder()
    updated = open_search(folder, third, cache)
    report = updated.last_update
    assert third.embedded == 2, "only the added and the changed photo may be embedded again"
    assert (report.embedded_new, report.embedded_changed, report.removed, report.reused) == (1, 1, 1, 2)
    assert [p.relative_to(folder).as_posix() for p in updated.paths] == [
        "b.JPG", "new/e.webp", "trip/c.jpeg", "trip/deeper/d.png"]
    after = dict(zip(updated.paths, updated.embeddings))
    np.testing.assert_array_equal(after[folder / "b.JPG"], before[folder / "b.JPG"])
    fresh = third.embed_batch([third.preprocess(Image.open(changed))])[0]
    np.testing.assert_allclose(after[changed], fresh, rtol=1e-6)
    assert not np.allclose(after[changed], before[changed])


def test_refresh_picks_up_changes_without_reopening(folder, tmp_path):
    embedder = CountingEmbedder()
    search = open_search(folder, embedder, tmp_path / "cache.npz")
    write_photo(folder / "later.png", 7)
    report = search.refresh()
    assert (report.embedded_new, embedder.embedded, len(search)) == (1, 5, 5)


def test_interrupted_embedding_keeps_what_was_done(folder, tmp_path):
    cache = tmp_path / "cache.npz"
    with pytest.raises(KeyboardInterrupt):
        open_search(folder, CountingEmbedder(fail_on_batch=2), cache)  # batch 1 (2 photos) done
    assert len(EmbeddingCache.load(cache).paths) == 2
    resumed = CountingEmbedder()
    search = open_search(folder, resumed, cache)
    assert resumed.embedded == 2 and len(search) == 4


def test_unreadable_photos_are_skipped_counted_listed_and_not_retried(folder, tmp_path):
    (folder / "garbage.jpg").write_bytes(b"this is not a jpeg at all")
    good = write_photo(tmp_path / "ok.png", 8)
    (folder / "truncated.png").write_bytes(good.read_bytes()[:60])
    cache = tmp_path / "cache.npz"
    search = open_search(folder, CountingEmbedder(), cache)
    assert len(search) == 4
    assert sorted(s.path.name for s in search.skipped) == ["garbage.jpg", "truncated.png"]
    assert all(s.reason for s in search.skipped)
    assert "2 unreadable skipped" in search.last_update.summary()
    assert search.query(np.full((16, 16), 255, np.uint8), k=10)  # the search still works

    again = CountingEmbedder()
    reopened = open_search(folder, again, cache)
    assert again.embedded == 0 and len(reopened.skipped) == 2  # listed again, not retried

    fixed = folder / "garbage.jpg"
    stat = fixed.stat()
    write_photo(fixed, 9)
    os.utime(fixed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    third = CountingEmbedder()
    repaired = open_search(folder, third, cache)
    assert third.embedded == 1 and len(repaired) == 5 and [s.path.name for s in repaired.skipped] == ["truncated.png"]


def replace_keeping_size_and_mtime(path: Path, content: bytes, in_place: bool) -> None:
    """Put `content` (same length) at `path` with the old mtime: ``cp -p`` (in place) or ``rsync -t`` (rename over)."""
    stat = path.stat()
    assert len(content) == stat.st_size
    time.sleep(0.02)  # file-system clocks tick in milliseconds: let the inode change time move
    if in_place:
        path.write_bytes(content)
    else:
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_bytes(content)
        os.replace(temporary, path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)


@pytest.mark.parametrize("in_place", [True, False], ids=["cp -p", "rsync -t"])
def test_a_photo_replaced_with_the_same_size_and_mtime_is_embedded_again(folder, tmp_path, in_place):
    photo = write_photo(folder / "e.bmp", 20)  # BMP: the size depends on the pixel count alone
    cache = tmp_path / "cache.npz"
    first = open_search(folder, CountingEmbedder(), cache)
    old = dict(zip(first.paths, first.embeddings))
    replace_keeping_size_and_mtime(photo, write_photo(tmp_path / "other.bmp", 21).read_bytes(), in_place)

    embedder = CountingEmbedder()
    search = open_search(folder, embedder, cache)
    assert embedder.embedded == 1 and search.last_update.embedded_changed == 1
    new = dict(zip(search.paths, search.embeddings))[photo]
    np.testing.assert_allclose(new, embedder.embed_batch([embedder.preprocess(Image.open(photo))])[0], rtol=1e-6)
    assert not np.allclose(new, old[photo])


def test_a_cached_failure_is_retried_when_the_file_is_fixed_or_its_permissions_change(folder, tmp_path):
    good = write_photo(tmp_path / "good.bmp", 22).read_bytes()
    broken = folder / "broken.bmp"
    broken.write_bytes(b"X" * len(good))  # not an image
    cache = tmp_path / "cache.npz"
    assert [s.path.name for s in open_search(folder, CountingEmbedder(), cache).skipped] == ["broken.bmp"]

    os.chmod(broken, 0o644)  # a permission change alone: the failure may have been a permission error
    retried = open_search(folder, CountingEmbedder(), cache)
    assert retried.last_update.embedded_changed == 1 and len(retried.skipped) == 1

    replace_keeping_size_and_mtime(broken, good, in_place=True)  # fixed by `cp -p` from a backup
    fixed = open_search(folder, CountingEmbedder(), cache)
    assert fixed.skipped == [] and broken in fixed.paths


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads a file whatever its permissions")
def test_a_photo_made_readable_again_is_searched(folder, tmp_path):
    photo = folder / "a.png"
    os.chmod(photo, 0)
    cache = tmp_path / "cache.npz"
    assert [s.path for s in open_search(folder, CountingEmbedder(), cache).skipped] == [photo]
    time.sleep(0.02)
    os.chmod(photo, 0o644)
    search = open_search(folder, CountingEmbedder(), cache)
    assert search.skipped == [] and photo in search.paths


class ZeroMeanEmbedder(CountingEmbedder):
    """Like a network on a blank page: a solid-colour image embeds to zeros (`nan`: to 0/0)."""

    def __init__(self, nan: bool = False):
        super().__init__()
        self.nan = nan

    def preprocess(self, image: Image.Image) -> np.ndarray:
        pixels = super().preprocess(image).reshape(4, 3)  # 2x2 pixels, RGB
        return (pixels - pixels.mean(0)).reshape(-1)

    def embed_batch(self, prepared: list[np.ndarray]) -> np.ndarray:
        self.embedded += len(prepared)
        matrix = np.stack(prepared)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        with np.errstate(invalid="ignore"):
            return (matrix / (norms if self.nan else np.maximum(norms, 1e-12))).astype(np.float32)


@pytest.mark.parametrize("nan", [False, True], ids=["zeros", "nan"])
def test_blank_photos_with_degenerate_embeddings_are_set_aside_listed_and_not_ranked(folder, tmp_path, nan, capsys,
                                                                                     monkeypatch, sketch_file):
    Image.new("RGB", (24, 24), "white").save(folder / "blank.png")
    Image.new("RGB", (30, 20), (90, 120, 200)).save(folder / "trip" / "sky.gif")
    cache = tmp_path / "cache.npz"
    search = open_search(folder, ZeroMeanEmbedder(nan), cache)
    assert len(search) == 4 and search.skipped == []
    assert [s.path for s in search.set_aside] == [folder / "blank.png", folder / "trip" / "sky.gif"]
    want = "not finite" if nan else "all zeros (blank or solid-colour image?)"
    assert all(want in s.reason for s in search.set_aside)
    assert "4 photos searchable" in search.last_update.summary() and "2 set aside" in search.last_update.summary()
    hits = search.query(write_photo(tmp_path / "sketch.png", 30), k=10)
    assert len(hits) == 4 and {h.path.name for h in hits} == {"a.png", "b.JPG", "c.jpeg", "d.png"}

    again = ZeroMeanEmbedder(nan)
    reopened = open_search(folder, again, cache)  # listed again from the cache, not re-embedded
    assert again.embedded == 0 and len(reopened.set_aside) == 2 and len(reopened) == 4

    monkeypatch.setattr("sbka_lite.search.engine.load_embedder", lambda *args, **kwargs: ZeroMeanEmbedder(nan))
    argv = ["--photos", str(folder), str(sketch_file), "--cache", str(cache), "--out", str(tmp_path / "s.png")]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "2 set aside" in captured.err and f"set aside (not ranked) {folder / 'blank.png'}: " in captured.err
    assert len(captured.out.strip().splitlines()) == 4 and "blank.png" not in captured.out


def test_a_folder_of_only_broken_photos_is_a_clear_error(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "x.png").write_bytes(b"nope")
    with pytest.raises(SearchError, match="none of the 1 photos .* could be read"):
        open_search(tmp_path / "p", CountingEmbedder(), tmp_path / "cache.npz")


def brute_force(queries: np.ndarray, gallery: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Independent check: every distance in float64, full sort."""
    d = np.sqrt(((queries[:, None, :].astype(np.float64) - gallery[None].astype(np.float64)) ** 2).sum(-1))
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(d, order, 1), order


@pytest.mark.parametrize("chunk_rows", [1000, 97, 1_000_000])
def test_exact_topk_equals_brute_force(chunk_rows):
    rng = np.random.default_rng(0)
    gallery = rng.standard_normal((3000, 48)).astype(np.float32)
    queries = rng.standard_normal((6, 48)).astype(np.float32)
    distances, indices = exact_topk(queries, torch.from_numpy(gallery), 10, chunk_rows=chunk_rows)
    want_d, want_i = brute_force(queries, gallery, 10)
    np.testing.assert_array_equal(indices, want_i)
    np.testing.assert_allclose(distances, want_d, rtol=1e-4)


def test_query_ranks_the_folder_like_brute_force(tmp_path):
    photos = tmp_path / "photos"
    for i in range(40):
        write_photo(photos / f"{i:02d}.png", 100 + i, size=8)
    search = open_search(photos, CountingEmbedder(), tmp_path / "cache.npz")
    sketch = write_photo(tmp_path / "sketch.png", 7, size=8)
    hits = search.query(sketch, k=7)
    want_d, want_i = brute_force(search.embed_sketch(sketch)[None], search.embeddings, 7)
    assert [h.path for h in hits] == [search.paths[i] for i in want_i[0]]
    np.testing.assert_allclose([h.distance for h in hits], want_d[0], rtol=1e-4, atol=1e-6)
    assert all(isinstance(h, SearchHit) for h in hits)
    assert len(search.query(sketch, k=500)) == 40  # k larger than the folder: everything, ranked


def test_equal_distances_keep_gallery_order():
    gallery = np.repeat(np.eye(4, dtype=np.float32), 3, axis=0)[::-1].copy()  # every row three times
    distances, indices = exact_topk(np.eye(4, dtype=np.float32)[:1], torch.from_numpy(gallery), 5)
    assert indices[0, :3].tolist() == [9, 10, 11] and np.allclose(distances[0, :3], 0)


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, dim)).astype(np.float32)
    points = centres[rng.integers(0, 50, n)] + 0.3 * rng.standard_normal((n, dim)).astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def test_faiss_results_checked_against_exact():
    pytest.importorskip("faiss")
    gallery, queries = clustered(8000, 32, 1), clustered(20, 32, 2)
    exact_d, exact_i = exact_topk(queries, torch.from_numpy(gallery), 10)
    probe_all = FaissIndex.build(gallery, nlist=64, nprobe=64)  # every cell probed: exact again
    d, i = probe_all.search(queries, 10)
    np.testing.assert_array_equal(i, exact_i)
    np.testing.assert_allclose(d, exact_d, rtol=1e-3, atol=1e-5)
    default = FaissIndex.build(gallery)
    _, approx_i = default.search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(approx_i, exact_i)])
    assert recall >= 0.8, f"IVF recall@10 {recall:.2f} with nprobe={default.nprobe} of {default.nlist} cells"


def test_query_with_faiss_backend_matches_exact_on_a_small_folder(tmp_path):
    pytest.importorskip("faiss")
    photos = tmp_path / "photos"
    for i in range(60):
        write_photo(photos / f"{i:02d}.png", 200 + i, size=8)
    search = open_search(photos, CountingEmbedder(), tmp_path / "cache.npz")
    search.faiss_index(nlist=1, nprobe=1)  # one cell: FAISS scans everything
    sketch = np.full((10, 10, 3), 120, np.uint8)
    exact, approx = search.query(sketch, k=5), search.query(sketch, k=5, backend="faiss")
    assert [h.path for h in approx] == [h.path for h in exact]
    np.testing.assert_allclose([h.distance for h in approx], [h.distance for h in exact], rtol=1e-3)


def test_cluster_matcher_ranks_by_its_own_scores(tmp_path):
    photos = tmp_path / "photos"
    for i in range(30):
        write_photo(photos / f"{i:02d}.png", 300 + i, size=8)
    search = open_search(photos, CountingEmbedder(), tmp_path / "cache.npz")
    sketch = np.full((10, 10, 3), 90, np.uint8)
    hits = search.query(sketch, k=5, matcher="cluster")
    matcher = search.cluster_matcher()
    assert matcher.n_components_ <= 10  # capped at a third of the folder
    scores = matcher.score(search.embed_sketch(sketch)[None])[0]
    want = np.argsort(scores, kind="stable")[:5]
    assert [h.path for h in hits] == [search.paths[i] for i in want]
    np.testing.assert_allclose([h.distance for h in hits], scores[want], rtol=1e-6)
    assert search.cluster_matcher() is matcher  # fitted once
    with pytest.raises(SearchError, match="backend='exact'"):
        search.query(sketch, matcher="cluster", backend="faiss")


def test_cluster_matching_on_a_tiny_folder_is_a_clear_error(folder, tmp_path):
    search = open_search(folder, CountingEmbedder(), tmp_path / "cache.npz")
    with pytest.raises(SearchError, match="at least 6 photos"):
        search.query(np.zeros((4, 4), np.uint8), matcher="cluster")


def test_sketch_inputs_path_pil_and_arrays_with_alpha_agree(tmp_path):
    strokes = Image.new("RGBA", (40, 30), (0, 0, 0, 0))  # a canvas: clear background, black ink
    ImageDraw.Draw(strokes).line([(3, 3), (35, 25)], fill=(0, 0, 0, 255), width=3)
    paper = Image.new("RGB", (40, 30), "white")
    ImageDraw.Draw(paper).line([(3, 3), (35, 25)], fill=(0, 0, 0), width=3)
    want = np.asarray(paper)
    strokes.save(tmp_path / "sketch.png")
    rgba = np.asarray(strokes)
    cases = {
        "path": tmp_path / "sketch.png", "str path": str(tmp_path / "sketch.png"), "pil rgba": strokes,
        "array rgba uint8": rgba, "array rgba float": rgba.astype(np.float32) / 255.0,
        "array rgb": want, "array grey": want[:, :, 0], "array grey x1": want[:, :, :1],
        "pil palette": paper.convert("P"),
    }
    for name, sketch in cases.items():
        image = sketch_to_image(sketch)
        assert image.mode == "RGB", name
        np.testing.assert_array_equal(np.asarray(image), want, err_msg=name)


@pytest.mark.parametrize("bad, message", [
    ("no/such/sketch.png", "sketch file not found"),
    (["not", "an", "image"], "must be an image file path, a PIL image or a numpy array"),
    (None, "got NoneType"),
    (np.zeros(10), "HxW"),
    (np.zeros((4, 4, 2)), "HxW"),
    (np.zeros((0, 0)), "HxW"),
    (np.zeros((4, 4), bool), "boolean"),
    (np.array([["a"]]), "numbers"),
    (np.full((4, 4), np.nan), "NaN"),
])
def test_a_query_that_is_not_an_image_is_a_clear_error(bad, message):
    with pytest.raises(SearchError, match=message):
        sketch_to_image(bad)


def test_a_text_file_as_sketch_is_a_clear_error(tmp_path):
    (tmp_path / "sketch.png").write_text("hello")
    with pytest.raises(SearchError, match="sketch.png is not an image"):
        sketch_to_image(tmp_path / "sketch.png")


def test_missing_and_empty_folders_are_named(tmp_path):
    with pytest.raises(SearchError, match="photo folder not found: .*nowhere"):
        open_search(tmp_path / "nowhere", CountingEmbedder(), tmp_path / "c.npz")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "readme.txt").write_text("no photos here")
    with pytest.raises(SearchError, match="no photos in .*empty"):
        open_search(tmp_path / "empty", CountingEmbedder(), tmp_path / "c.npz")
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(SearchError, match="not a folder"):
        open_search(tmp_path / "file.png", CountingEmbedder(), tmp_path / "c.npz")


def test_bad_query_arguments(folder, tmp_path):
    search = open_search(folder, CountingEmbedder(), tmp_path / "c.npz")
    sketch = np.zeros((8, 8), np.uint8)
    for k in (0, -1, 2.5, True):
        with pytest.raises(SearchError, match="k must be a positive integer"):
            search.query(sketch, k=k)
    with pytest.raises(SearchError, match="matcher"):
        search.query(sketch, matcher="nearest")
    with pytest.raises(SearchError, match="backend"):
        search.query(sketch, backend="annoy")


def test_our_unusable_caches_are_rebuilt_with_a_message(folder, tmp_path):
    cache = tmp_path / "cache.npz"
    open_search(folder, CountingEmbedder(), cache)
    header = json.loads(str(np.load(cache)["header"]))
    np.savez(cache, header=np.array(json.dumps(header)))  # ours, but its arrays are gone
    embedder = CountingEmbedder()
    with pytest.warns(SearchCacheWarning, match="could not be read"):
        open_search(folder, embedder, cache)
    assert embedder.embedded == 4

    format_1 = {k: v for k, v in header.items() if k != "kind"} | {"format": 1}  # as the first version wrote it
    np.savez(cache, header=np.array(json.dumps(format_1)), sizes=np.zeros(0, np.int64))
    with pytest.warns(SearchCacheWarning, match="cache format 1"):
        open_search(folder, CountingEmbedder(), cache)

    retrained = CountingEmbedder(key="fake:2")  # same backbone, new weights: old embeddings are stale
    with pytest.warns(SearchCacheWarning, match="another model"):
        open_search(folder, retrained, cache)
    assert retrained.embedded == 4

    moved = tmp_path / "moved"
    folder.rename(moved)
    with pytest.warns(SearchCacheWarning, match="another folder"):
        open_search(moved, CountingEmbedder(key="fake:2"), cache)


def test_a_file_that_is_not_our_cache_is_refused_never_overwritten(folder, tmp_path, sketch_file, monkeypatch, capsys):
    checkpoint = tmp_path / "best.pt"
    torch.save({"student": {"w": torch.arange(1000.0)}}, checkpoint)  # a zip archive, like a real checkpoint
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    other_npz = tmp_path / "features.npz"
    np.savez(other_npz, header=np.array(json.dumps({"format": 1})), x=np.ones(3))  # an npz, but not ours
    (tmp_path / "a_folder").mkdir()
    for target in (checkpoint, notes, other_npz, tmp_path / "a_folder"):
        before = target.read_bytes() if target.is_file() else None
        with pytest.raises(ForeignFileError, match=rf"refusing to overwrite {re.escape(str(target))}.*--cache"):
            open_search(folder, CountingEmbedder(), target)
        assert (target.read_bytes() if target.is_file() else None) == before, target
        with pytest.raises(ForeignFileError):
            EmbeddingCache(model=CountingEmbedder().info, folder=str(folder)).save(target)
    assert notes.read_text() == "my notes" and torch.load(checkpoint)["student"]["w"].shape == (1000,)

    monkeypatch.setattr("sbka_lite.search.engine.load_embedder", lambda *args, **kwargs: CountingEmbedder())
    assert main(["--photos", str(folder), str(sketch_file), "--cache", str(notes), "--out", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err
    assert f"refusing to overwrite {notes}" in err and "--cache PATH" in err and "delete it yourself" in err
    assert notes.read_text() == "my notes" and not (tmp_path / "s.png").exists()


def test_cache_of_another_backbone_or_size_is_an_error_naming_both(folder, tmp_path):
    cache = tmp_path / "cache.npz"
    open_search(folder, CountingEmbedder(), cache)
    with pytest.raises(ModelMismatchError, match=r"fake \(12-d.*other \(12-d"):
        open_search(folder, CountingEmbedder(backbone="other"), cache)
    with pytest.raises(ModelMismatchError, match=r"12-d.*6-d.*rebuild=True"):
        open_search(folder, CountingEmbedder(dim=6), cache)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SearchCacheWarning)
        rebuilt = open_search(folder, CountingEmbedder(dim=6), cache, rebuild=True)
    assert rebuilt.embeddings.shape == (4, 6)


def test_without_a_disk_cache_nothing_is_written_and_refresh_still_reuses(folder, tmp_path):
    embedder = CountingEmbedder()
    search = SketchSearch(folder, embedder=embedder, cache=False, progress=False)
    assert search.cache_path is None and len(search) == 4
    write_photo(folder / "more.png", 12)
    assert search.refresh().embedded_new == 1 and embedder.embedded == 5
    assert not list(tmp_path.rglob("*.npz"))


def test_contact_sheet_shows_sketch_and_hits_even_if_a_photo_vanished(folder, tmp_path):
    hits = [SearchHit(folder / "a.png", 0.1), SearchHit(folder / "gone.png", 0.2), SearchHit(folder / "b.JPG", 0.3)]
    sheet = contact_sheet(np.full((50, 50), 255, np.uint8), hits, thumb=64, columns=2)
    assert isinstance(sheet, Image.Image) and sheet.width > 3 * 64 and sheet.height > 2 * 64
    pixels = np.asarray(sheet)
    assert (pixels == (190, 190, 190)).all(-1).sum() > 1000  # the grey "unreadable" tile


# --- with the real model: the pretrained backbone at a small image size -----------------------

def synthetic_folder(root: Path, per_class: int = 3) -> Path:
    """A tiny photo folder of the procedural benchmark's photos (two classes) plus one broken file."""
    for name in ("house", "church"):
        for seed in range(per_class):
            (root / name).mkdir(parents=True, exist_ok=True)
            draw_photo(name, seed=seed, size=64).save(root / name / f"{name}_{seed}.png")
    (root / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return root


def write_student_checkpoint(path: Path, backbone: str = "tf_efficientnet_lite0", perturb: float = 0.0) -> Path:
    """A checkpoint in the trainer's format (random-init weights keep it quick and offline)."""
    torch.manual_seed(0)
    student = Student(backbone, 2, pretrained=False)
    with torch.no_grad():
        for parameter in student.parameters():
            parameter.add_(perturb)
    return save_checkpoint({"student": student.state_dict(), "backbone": backbone, "embedding_dim": student.embedding_dim,
                            "seen_classes": ["a", "b"], "image_size": 64}, path)


@pytest.fixture
def sketch_file(tmp_path) -> Path:
    draw_sketch("house", seed=11, size=96).save(tmp_path / "house_sketch.png")
    return tmp_path / "house_sketch.png"


def test_cli_on_a_tiny_generated_folder(tmp_path, sketch_file, capsys):
    photos = synthetic_folder(tmp_path / "photos")
    out = tmp_path / "contact.png"
    argv = ["--photos", str(photos), str(sketch_file), "--top", "4", "--image-size", "64",
            "--out", str(out), "--cache", str(tmp_path / "cache.npz"), "--device", "cpu"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 4
    ranks, distances, paths = zip(*(line.split(maxsplit=2) for line in lines))
    assert ranks == ("1", "2", "3", "4")
    assert list(map(float, distances)) == sorted(map(float, distances))
    assert all(Path(p).is_file() and Path(p).is_relative_to(photos) for p in paths)
    assert "broken.jpg" in captured.err and "1 unreadable skipped" in captured.err
    assert Image.open(out).size[0] > 5 * 64

    assert main(argv) == 0  # second run: everything from the cache
    assert "6 from cache, 0 new" in capsys.readouterr().err


def test_checkpoints_key_the_cache_by_content_and_another_backbone_is_named(tmp_path, sketch_file, capsys):
    photos = synthetic_folder(tmp_path / "photos", per_class=1)
    cache = tmp_path / "cache.npz"
    checkpoint = write_student_checkpoint(tmp_path / "best.pt")
    search = SketchSearch(photos, checkpoint, device="cpu", cache=cache, progress=False)
    assert search.model.key.startswith("sha256:") and search.model.image_size == 64  # the trained size
    assert len(search.query(sketch_file, k=2)) == 2

    write_student_checkpoint(tmp_path / "best.pt", perturb=1e-3)  # retrained: same path, new content
    with pytest.warns(SearchCacheWarning, match="another model"):
        SketchSearch(photos, checkpoint, device="cpu", cache=cache, progress=False)

    other = write_student_checkpoint(tmp_path / "resnet.pt", backbone="resnet10t")
    argv = ["--photos", str(photos), "--checkpoint", str(other), str(sketch_file), "--cache", str(cache), "--device", "cpu",
            "--out", str(tmp_path / "c.png")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "tf_efficientnet_lite0 (1280-d" in err and "resnet10t (512-d" in err and "--rebuild" in err
    with pytest.warns(SearchCacheWarning, match="rebuild was asked"):
        assert main(argv + ["--rebuild"]) == 0

    with pytest.raises(ModelMismatchError, match="resnet10t student, but backbone 'tf_efficientnet_lite0'"):
        SketchSearch(photos, other, backbone="tf_efficientnet_lite0", device="cpu", cache=False)
    (tmp_path / "not_a_checkpoint.pt").write_bytes(b"garbage")
    with pytest.raises(SearchError, match="not a readable sbka-lite checkpoint"):
        SketchSearch(photos, tmp_path / "not_a_checkpoint.pt", cache=False)
    with pytest.raises(SearchError, match="checkpoint not found"):
        SketchSearch(photos, tmp_path / "missing.pt", cache=False)


def test_cli_bad_input_exits_2_with_the_reason(tmp_path, sketch_file, capsys):
    photos = synthetic_folder(tmp_path / "photos", per_class=1)
    (tmp_path / "notes.png").write_text("not an image")
    assert main(["--photos", str(photos), str(tmp_path / "notes.png")]) == 2
    assert "notes.png is not an image" in capsys.readouterr().err
    assert main(["--photos", str(tmp_path / "missing"), str(sketch_file)]) == 2
    assert "photo folder not found" in capsys.readouterr().err
    assert main(["--photos", str(photos), str(sketch_file), "--top", "0"]) == 2
    assert "--top must be at least 1" in capsys.readouterr().err


# --- the drawing pad, driven headless through the same messages the browser sends ------------

def test_the_pad_shows_as_a_widget_in_jupyter_and_as_a_picture_elsewhere(folder, tmp_path):
    pytest.importorskip("ipycanvas")
    from IPython.core.formatters import DisplayFormatter

    box = drawing_pad(open_search(folder, CountingEmbedder(), tmp_path / "cache.npz"), k=3, size=64)
    data, _ = DisplayFormatter().format(box)  # what a kernel sends for the cell's output
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id  # the live pad
    picture = Image.open(io.BytesIO(base64.b64decode(data["image/jpeg"])))
    assert picture.size[0] >= 400  # a real picture of the pad, for static viewers and the website
    assert "VBox" not in data["text/plain"] and "Jupyter" in data["text/plain"]


def test_drawing_pad_draws_strokes_searches_and_clears(folder, tmp_path):
    pytest.importorskip("ipycanvas")
    search = open_search(folder, CountingEmbedder(), tmp_path / "cache.npz")
    box = drawing_pad(search, k=3, size=64, pen_width=4)
    pad = box.pad
    assert pad.run_search() == [] and "empty" in pad.status.value

    def send(event, x, y):
        pad.canvas._handle_frontend_event(None, {"event": event, "x": x, "y": y}, None)

    send("mouse_move", 5, 5)  # hovering without the pen down draws nothing
    send("mouse_down", 10, 10)
    for step in range(11, 50, 3):
        send("mouse_move", step, step)
    send("mouse_up", 50, 50)
    send("mouse_move", 60, 5)
    assert len(pad.strokes) == 1 and len(pad.strokes[0]) == 14
    sketch = pad.sketch()
    assert sketch.shape == (64, 64, 3)
    assert sketch[30, 30].tolist() == [0, 0, 0] and sketch[5, 60].tolist() == [255, 255, 255]

    hits = pad.run_search()
    assert [h.path for h in hits] == [h.path for h in search.query(sketch, k=3)]
    grid = pad.results.children[0]
    assert "sbka-results" in grid._dom_classes and len(grid.children) == 3
    assert "Top 3 of 4 photos" in pad.status.value

    pad.clear()
    assert pad.strokes == [] and pad.results.children == ()
    pad.load_sketch(np.zeros((20, 10), np.uint8))  # headless: a generated sketch instead of the mouse
    assert len(pad.run_search()) == 3


# --- what cannot be read is listed, never dropped or decoded whole ----------------------------

def test_a_looping_or_broken_link_is_listed_as_skipped(folder, tmp_path):
    os.symlink("loop.jpg", folder / "loop.jpg")  # a file link to itself: stat() fails with ELOOP
    os.symlink("ping.png", folder / "trip" / "pong.png")
    os.symlink("pong.png", folder / "trip" / "ping.png")
    os.symlink(tmp_path / "nowhere.png", folder / "gone.png")
    search = open_search(folder, CountingEmbedder(), tmp_path / "cache.npz")
    reasons = {s.path.relative_to(folder).as_posix(): s.reason for s in search.skipped}
    assert set(reasons) == {"loop.jpg", "trip/ping.png", "trip/pong.png", "gone.png"}
    assert all("symbolic link loop" in reasons[name] for name in ("loop.jpg", "trip/ping.png", "trip/pong.png"))
    assert "broken symbolic link" in reasons["gone.png"] and "nowhere.png" in reasons["gone.png"]
    assert len(search) == 4 and "4 unreadable skipped" in search.last_update.summary()
    assert len(open_search(folder, CountingEmbedder(), tmp_path / "cache.npz").skipped) == 4  # again from the cache


def test_a_huge_photo_is_skipped_with_its_size_not_decoded(folder, tmp_path):
    assert 8000 * 6000 > MAX_PHOTO_PIXELS
    Image.new("1", (8000, 6000), 1).save(folder / "huge.png")  # 48 MP, a few kB on disk
    embedder = CountingEmbedder()
    search = open_search(folder, embedder, tmp_path / "cache.npz")
    assert embedder.embedded == 4 and len(search) == 4
    [skipped] = search.skipped
    assert skipped.path == folder / "huge.png" and "too large: 8000x6000" in skipped.reason
    # the cap is the caller's: under a tiny one the JPEGs decode at half scale, the PNGs are refused
    capped = open_search(folder, CountingEmbedder(), tmp_path / "other.npz", max_pixels=23 * 23)
    assert sorted(p.name for p in capped.paths) == ["b.JPG", "c.jpeg"]
    assert {s.path.name for s in capped.skipped} == {"a.png", "d.png", "huge.png"}
    assert all("too large" in s.reason for s in capped.skipped)


def test_a_16_bit_greyscale_sketch_file_embeds_like_its_8_bit_version(tmp_path):
    grey = np.asarray(draw_sketch("house", seed=3, size=64).convert("L"))
    Image.fromarray(grey).save(tmp_path / "sketch8.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "sketch16.png")  # 0..65535, same drawing
    assert Image.open(tmp_path / "sketch16.png").mode.startswith("I")
    photos = synthetic_folder(tmp_path / "photos", per_class=1)
    student = Student("test_efficientnet", 2, pretrained=False)
    search = SketchSearch(photos, embedder=Embedder(student, image_size=32), cache=False, progress=False)
    eight, sixteen = search.embed_sketch(tmp_path / "sketch8.png"), search.embed_sketch(tmp_path / "sketch16.png")
    np.testing.assert_allclose(sixteen, eight, atol=1e-6)
    white = search.embed_sketch(np.full_like(grey, 255))
    assert np.linalg.norm(eight - white) > 1e-3  # the drawing matters: a white page embeds elsewhere


def test_precision_at_k_by_class_against_a_hand_count(tmp_path):
    gallery = [tmp_path / c / f"{i}.png" for c, n in (("cat", 2), ("dog", 3), ("owl", 5)) for i in range(n)]
    photo = {(p.parent.name, int(p.stem)): p for p in gallery}
    hits = {
        "cat": [SearchHit(photo["cat", 0], 0.1), SearchHit(photo["dog", 0], 0.2), SearchHit(photo["cat", 1], 0.3),
                SearchHit(photo["owl", 0], 0.4)],
        "dog": [SearchHit(photo["owl", 1], 0.1), SearchHit(photo["owl", 2], 0.2), SearchHit(photo["dog", 2], 0.3),
                SearchHit(photo["cat", 0], 0.4)],
    }
    rows = precision_at_k_by_class(hits, gallery)
    assert [r.query_class for r in rows] == ["cat", "dog"]  # best first
    cat, dog = rows
    assert (cat.precision_at_k, cat.chance, cat.ceiling, cat.most_retrieved, cat.k) == (0.5, 0.2, 0.5, "cat", 4)
    assert (dog.precision_at_k, dog.chance, dog.ceiling, dog.most_retrieved) == (0.25, 0.3, 0.75, "owl")
    with pytest.raises(ValueError, match="'fox' has no photo"):
        precision_at_k_by_class({"fox": hits["cat"]}, gallery)
