"""Search your own photos with one sketch.

    from sbka_lite.search import SketchSearch
    search = SketchSearch("~/Pictures", checkpoint="outputs/runs/sbka/best.pt")   # or no checkpoint
    for hit in search.query("my_sketch.png", k=10):
        print(hit.distance, hit.path)

    python -m sbka_lite.search --photos ~/Pictures --checkpoint best.pt my_sketch.png --top 10

The folder is embedded once, in batches (GPU when present), and cached on disk keyed by each
file's path, size and modification time and by the checkpoint's content hash: opening it again
embeds only new or changed photos and forgets deleted ones. Photos and sketches go through the
same evaluation preprocessing as training. Ranking is exact by default (`sbka_lite.metrics.exact_topk`, the engine's distance code); a FAISS
IVF index is optional for very large folders, and the fitted cluster matcher of
`sbka_lite.retrieval` is available as ``matcher="cluster"``.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont, ImageOps
from tqdm.auto import tqdm

from sbka_lite.data.errors import ImageReadError
from sbka_lite.data.decode import decode_image, to_rgb
from sbka_lite.data.loading import ImageTransform
from sbka_lite.models import DEFAULT_BACKBONE
from sbka_lite.search_index import (
    CacheUnusable, EmbeddingCache, FaissIndex, FileStamp, ModelInfo, ModelMismatchError,
    SearchCacheWarning, SearchError, default_cache_path, file_sha256, list_photos,
)
from sbka_lite.metrics import exact_topk, squared_norms

__all__ = [
    "SketchSearch", "SearchHit", "SkippedPhoto", "UpdateReport", "Embedder", "TorchEmbedder",
    "load_embedder", "sketch_to_image", "contact_sheet", "main",
    "SearchError", "ModelMismatchError", "SearchCacheWarning",
]

MIN_PHOTOS_FOR_CLUSTERS = 6


class SearchHit(NamedTuple):
    """One ranked photo: its path and its distance to the sketch (lower is closer)."""

    path: Path
    distance: float


class SkippedPhoto(NamedTuple):
    """A file that looked like a photo but could not be read; it is left out of the search."""

    path: Path
    reason: str


@dataclass
class UpdateReport:
    """What opening (or refreshing) the folder did."""

    photos: int = 0
    reused: int = 0
    embedded_new: int = 0
    embedded_changed: int = 0
    removed: int = 0
    skipped: list[SkippedPhoto] = field(default_factory=list)
    rebuilt_because: str | None = None

    def summary(self) -> str:
        text = (f"{self.photos} photos searchable: {self.reused} from cache, {self.embedded_new} new, "
                f"{self.embedded_changed} changed, {self.removed} removed")
        if self.skipped:
            text += f"; {len(self.skipped)} unreadable skipped (see .skipped)"
        return text


# --- turning a query into an image -----------------------------------------------------------

def _array_to_image(array: np.ndarray) -> Image.Image:
    if array.size == 0 or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise SearchError(f"a sketch array must be HxW, HxWx1, HxWx3 or HxWx4 (alpha); got shape {array.shape}")
    if array.dtype == bool:
        raise SearchError("a boolean sketch array is ambiguous (is True ink or paper?); "
                          "pass uint8 0..255 or floats 0..1 with black ink on white")
    if not np.issubdtype(array.dtype, np.number):
        raise SearchError(f"a sketch array must hold numbers; got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise SearchError("the sketch array holds NaN or infinite values")
        array = array * 255.0 if array.max(initial=0) <= 1.0 else array
    array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return Image.fromarray(np.ascontiguousarray(array))  # uint8 HxW -> L, HxWx3 -> RGB, HxWx4 -> RGBA


def sketch_to_image(sketch: Any) -> Image.Image:
    """An RGB PIL image from a sketch given as a file path, a PIL image or a numpy array.

    Arrays may be HxW (grey), HxWx3 or HxWx4, uint8 (0..255) or float (0..1, or 0..255 when
    anything exceeds 1); transparent
    pixels become white paper, so the RGBA strokes of a canvas read as ink on paper. Anything
    else raises `SearchError`.
    """
    if isinstance(sketch, (str, os.PathLike)):
        path = Path(sketch).expanduser()
        if not path.is_file():
            raise SearchError(f"sketch file not found: {path}")
        try:
            return decode_image(path)  # the training decoder: transparency becomes white paper
        except ImageReadError as error:
            raise SearchError(f"the sketch {path} is not an image that can be read ({error.reason})") from error
    if isinstance(sketch, Image.Image):
        return to_rgb(sketch)
    if isinstance(sketch, torch.Tensor):
        raise SearchError("pass the sketch as a PIL image, a numpy array or a path, not a tensor: "
                          "search applies the model's own preprocessing")
    if isinstance(sketch, np.ndarray):
        return to_rgb(_array_to_image(sketch))
    raise SearchError(f"a sketch must be an image file path, a PIL image or a numpy array; got {type(sketch).__name__}")


# --- the model side: anything that turns images into L2-normalised vectors -------------------

class Embedder(Protocol):
    """What `SketchSearch` needs from a model; tests inject a counting fake.

    `preprocess` runs in worker threads (one image at a time); `embed_batch` runs in the caller's
    thread and returns float32 [len(batch), info.dim].
    """

    info: ModelInfo

    def preprocess(self, image: Image.Image) -> Any: ...

    def embed_batch(self, prepared: list[Any]) -> np.ndarray: ...


class TorchEmbedder:
    """A torch model plus the evaluation preprocessing it was trained with.

    The model's ``embed(images)`` is used when it has one (the `Student`: it skips both heads);
    otherwise its forward output: a tensor, a dict with ``"embedding"`` or an object with an
    ``.embedding`` attribute. The result is L2-normalised here either way.
    """

    def __init__(self, model: torch.nn.Module, info: ModelInfo, preprocess, device: torch.device | str | None = None):
        from sbka_lite.device import get_device

        self.device = get_device(str(device) if device is not None else None)
        self.model = model.to(self.device).eval()
        self.info = info
        self._preprocess = preprocess

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        return self._preprocess(image)

    @torch.inference_mode()
    def embed_batch(self, prepared: list[torch.Tensor]) -> np.ndarray:
        from sbka_lite.device import autocast

        batch = torch.stack(prepared).to(self.device, non_blocking=True)
        with autocast(self.device):  # as evaluation does: mixed precision on GPUs, plain fp32 on CPU
            output = self.model.embed(batch) if hasattr(self.model, "embed") else self.model(batch)
        if isinstance(output, dict):
            output = output["embedding"]
        elif not isinstance(output, torch.Tensor):
            output = output.embedding
        output = torch.nn.functional.normalize(output.float().flatten(1), dim=1)
        return output.cpu().numpy()


def load_embedder(checkpoint: str | Path | None = None, *, backbone: str | None = None,
                  image_size: int | None = None, device: torch.device | str | None = None,
                  pretrained: bool = True) -> TorchEmbedder:
    """The embedding model for a search: a trainer checkpoint's student, or the pretrained backbone.

    With a checkpoint, its own backbone, embedding size and image size are used; passing a
    different `backbone` raises `ModelMismatchError` naming both. Without one, a `Student` around
    `backbone` (default EfficientNet-Lite0) with its pretrained weights: the same embedding the
    trainer starts from. `image_size` overrides the input size (smaller is faster, e.g. for tests).
    """
    from sbka_lite.models import Student, image_config

    if checkpoint is not None:
        from sbka_lite.checkpoint import CheckpointError, load_student

        checkpoint = Path(checkpoint).expanduser()
        if not checkpoint.is_file():
            raise SearchError(f"checkpoint not found: {checkpoint}")
        try:
            student, meta = load_student(checkpoint)
        except CheckpointError as error:
            raise SearchError(str(error)) from error
        name = str(meta["backbone"])
        if backbone is not None and backbone != name:
            raise ModelMismatchError(f"checkpoint {checkpoint} holds a {name} student, but backbone "
                                     f"{backbone!r} was asked for: drop --backbone or pass another checkpoint")
        key = file_sha256(checkpoint)
        size = image_size or meta.get("image_size")  # the size it was trained at
    else:
        name = backbone or DEFAULT_BACKBONE
        student = Student(name, num_seen_classes=1, pretrained=pretrained)
        key = f"pretrained:{name}" if pretrained else f"random-init:{name}"
        size = image_size
    config = image_config(student)
    size = int(size or config.input_size)
    info = ModelInfo(key=key, backbone=name, dim=int(student.embedding_dim), image_size=size,
                     preprocessing=f"mean={config.mean} std={config.std} {config.interpolation}")
    transform = ImageTransform(size, config.mean, config.std, augment=False, interpolation=config.interpolation)
    return TorchEmbedder(student, info, transform, device=device)


# --- the search ------------------------------------------------------------------------------

class SketchSearch:
    """A folder of photos, embedded and cached, that one sketch can query.

    Parameters
    ----------
    photos: the folder (searched recursively).
    subfolders: only these folders inside `photos` (e.g. a benchmark's unseen classes).
    checkpoint: a trainer checkpoint; None uses the pretrained `backbone` alone.
    backbone, image_size, device: passed to `load_embedder` (ignored when `embedder` is given).
    cache: True (default location under ``outputs/search-cache``), a file path, or False (no disk cache).
    rebuild: re-embed everything, even over a cache built by another backbone.
    embedder: any `Embedder` (tests inject fakes; advanced users their own model).
    """

    def __init__(self, photos: str | Path, checkpoint: str | Path | None = None, *,
                 backbone: str | None = None, image_size: int | None = None,
                 device: torch.device | str | None = None, cache: bool | str | Path = True,
                 rebuild: bool = False, batch_size: int = 64, workers: int | None = None,
                 embedder: Embedder | None = None, progress: bool = True,
                 subfolders: Sequence[str] | None = None) -> None:
        self.folder = Path(photos).expanduser().resolve()
        self.subfolders = [subfolders] if isinstance(subfolders, (str, Path)) else subfolders
        list_photos(self.folder, self.subfolders)  # fail on a missing or empty folder before loading any model
        self.embedder = embedder or load_embedder(checkpoint, backbone=backbone, image_size=image_size, device=device)
        self.cache_path: Path | None = (default_cache_path(self.folder) if cache is True
                                        else Path(cache).expanduser() if cache else None)
        self.batch_size, self.progress = int(batch_size), progress
        self.workers = workers or min(4, os.cpu_count() or 1)
        self._cache: EmbeddingCache | None = None
        self._gallery = self._gallery_sq = self._faiss = self._cluster = None
        self.last_update = self.refresh(rebuild=rebuild)

    # -- the gallery ---------------------------------------------------------------------------
    @property
    def model(self) -> ModelInfo:
        return self.embedder.info

    @property
    def paths(self) -> list[Path]:
        """Absolute paths of the searchable photos, in gallery order."""
        return [self.folder / rel for rel in self._cache.paths]

    @property
    def embeddings(self) -> np.ndarray:
        """float32 [n photos, dim], L2-normalised, in the order of `paths`."""
        return self._cache.embeddings

    @property
    def skipped(self) -> list[SkippedPhoto]:
        """Files that looked like photos but could not be read (never fatal)."""
        return [SkippedPhoto(self.folder / rel, reason) for rel, (_, reason) in sorted(self._cache.failed.items())]

    def __len__(self) -> int:
        return len(self._cache.paths)

    def __repr__(self) -> str:
        return f"SketchSearch({str(self.folder)!r}, {len(self)} photos, model={self.model.describe()})"

    def refresh(self, rebuild: bool = False) -> UpdateReport:
        """Rescan the folder: embed new and changed photos, drop deleted ones, save the cache."""
        current = list_photos(self.folder, self.subfolders)
        old, why = self._previous_cache(rebuild)
        report = UpdateReport(rebuilt_because=why)
        keep_rows, keep_failed, to_embed = [], {}, []
        old_rows = {rel: row for row, rel in enumerate(old.paths)} if old else {}
        for rel, stamp in current.items():
            if rel in old_rows and old.stamps[old_rows[rel]] == stamp:
                keep_rows.append(rel)
            elif old and rel in old.failed and old.failed[rel][0] == stamp:
                keep_failed[rel] = old.failed[rel]
            else:
                to_embed.append(rel)
        if old:
            known = set(old.paths) | set(old.failed)
            report.removed = len(known - set(current))
            report.embedded_changed = sum(rel in known for rel in to_embed)
        report.embedded_new = len(to_embed) - report.embedded_changed
        report.reused = len(keep_rows)

        vectors: dict[str, np.ndarray] = {rel: old.embeddings[old_rows[rel]] for rel in keep_rows}
        failed = dict(keep_failed)
        try:
            for rel, vector, reason in self._embed_files(to_embed):
                if vector is None:
                    failed[rel] = (current[rel], reason)
                else:
                    vectors[rel] = vector
        finally:
            # Even when interrupted, keep what was embedded so the next opening resumes from it.
            self._cache = self._assemble(current, vectors, failed)
            changed = bool(to_embed or report.removed or why or old is None)
            if changed and self.cache_path is not None:
                self._save_cache()
        report.photos = len(self._cache.paths)
        report.skipped = self.skipped
        self._gallery = self._gallery_sq = self._faiss = self._cluster = None
        if report.photos == 0:
            first = report.skipped[0] if report.skipped else None
            raise SearchError(f"none of the {len(current)} photos in {self.folder} could be read"
                              + (f" (first: {first.path}: {first.reason})" if first else ""))
        self.last_update = report
        return report

    def _previous_cache(self, rebuild: bool) -> tuple[EmbeddingCache | None, str | None]:
        """The cache worth reusing (or None) and, when one was thrown away, why."""
        if self._cache is not None and not rebuild:  # a refresh: what is in memory is current
            return self._cache, None
        if self.cache_path is None or not self.cache_path.exists():
            return None, None
        try:
            old = EmbeddingCache.load(self.cache_path)
        except CacheUnusable as error:
            return self._rebuild_message(f"{error}")
        mine = self.model
        if (old.model.backbone, old.model.dim) != (mine.backbone, mine.dim) and not rebuild:
            raise ModelMismatchError(
                f"the search cache {self.cache_path} holds {old.model.describe()} embeddings, but the model now is "
                f"{mine.describe()}: embeddings of different backbones or sizes cannot be compared. "
                "Pass rebuild=True (CLI: --rebuild) to re-embed the folder with this model, or another cache path.")
        if rebuild:
            return self._rebuild_message("a rebuild was asked for")
        if old.model != mine:
            return self._rebuild_message(f"it was built with another model or preprocessing ({old.model.describe()}; "
                                         f"now {mine.describe()})")
        if old.folder and Path(old.folder) != self.folder:
            return self._rebuild_message(f"it belongs to another folder ({old.folder})")
        return old, None

    def _rebuild_message(self, why: str) -> tuple[None, str]:
        warnings.warn(f"rebuilding the search cache {self.cache_path}: {why}", SearchCacheWarning, stacklevel=4)
        return None, why

    def _assemble(self, current: dict[str, FileStamp], vectors: dict[str, np.ndarray],
                  failed: dict[str, tuple[FileStamp, str]]) -> EmbeddingCache:
        rels = [rel for rel in current if rel in vectors]  # folder order, stable across openings
        matrix = (np.stack([vectors[rel] for rel in rels]).astype(np.float32) if rels
                  else np.zeros((0, self.model.dim), np.float32))
        return EmbeddingCache(model=self.model, folder=str(self.folder), paths=rels,
                              stamps=[current[rel] for rel in rels], embeddings=matrix, failed=failed)

    def _save_cache(self) -> None:
        try:
            self._cache.save(self.cache_path)
        except OSError as error:  # a read-only place should not stop the search itself
            warnings.warn(f"could not write the search cache {self.cache_path}: {error}", SearchCacheWarning, stacklevel=3)

    def _prepare(self, rel: str) -> tuple[Any, str | None]:
        try:
            return self.embedder.preprocess(decode_image(self.folder / rel)), None
        except (ImageReadError, OSError, ValueError, Image.DecompressionBombError) as error:
            return None, getattr(error, "reason", None) or str(error) or type(error).__name__

    def _embed_files(self, rels: Sequence[str]):
        """Yield (rel, vector or None, reason) for each file, decoding in threads, embedding in batches."""
        if not rels:
            return
        bar = tqdm(total=len(rels), desc=f"embedding {self.folder.name}", unit="photo", disable=not self.progress)
        try:
            with ThreadPoolExecutor(self.workers) as pool:
                for start in range(0, len(rels), self.batch_size):
                    batch = list(rels[start:start + self.batch_size])
                    prepared = list(pool.map(self._prepare, batch))
                    good = [i for i, (item, _) in enumerate(prepared) if item is not None]
                    matrix = self.embedder.embed_batch([prepared[i][0] for i in good]) if good else None
                    if matrix is not None and np.shape(matrix) != (len(good), self.model.dim):
                        raise ModelMismatchError(f"the embedder returned shape {np.shape(matrix)} for {len(good)} "
                                                 f"images; its info promises {self.model.dim}-d embeddings")
                    row = {i: r for r, i in enumerate(good)}
                    for i, rel in enumerate(batch):
                        if i in row:
                            yield rel, np.asarray(matrix[row[i]], dtype=np.float32), None
                        else:
                            yield rel, None, prepared[i][1]
                    bar.update(len(batch))
        finally:
            bar.close()

    # -- querying ------------------------------------------------------------------------------
    def embed_sketch(self, sketch: Any) -> np.ndarray:
        """The sketch's embedding (float32 [dim]) after the same preprocessing as the photos."""
        vector = self.embedder.embed_batch([self.embedder.preprocess(sketch_to_image(sketch))])
        return np.asarray(vector, dtype=np.float32).reshape(-1)

    def query(self, sketch: Any, k: int = 10, *, matcher: str = "one_to_one", backend: str = "exact") -> list[SearchHit]:
        """The `k` photos closest to `sketch`, nearest first.

        sketch: a path, PIL image or numpy array (see `sketch_to_image`).
        matcher: "one_to_one" (distance between the sketch and each photo) or "cluster"
            (the one-to-many cluster matcher of `sbka_lite.retrieval`, fitted on this folder
            once, label-free).
        backend: "exact" (default) or "faiss" (approximate IVF index; one-to-one only).
        """
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise SearchError(f"k must be a positive integer; got {k!r}")
        if matcher not in ("one_to_one", "cluster"):
            raise SearchError(f"matcher must be 'one_to_one' or 'cluster'; got {matcher!r}")
        if backend not in ("exact", "faiss"):
            raise SearchError(f"backend must be 'exact' or 'faiss'; got {backend!r}")
        query = self.embed_sketch(sketch)
        if matcher == "cluster":
            if backend != "exact":
                raise SearchError("the cluster matcher scores every photo; use backend='exact' with it")
            scores = np.asarray(self.cluster_matcher().score(query[None]), dtype=np.float64).reshape(-1)
            order = np.argsort(scores, kind="stable")[:k]
            distances, indices = scores[order], order
        elif backend == "faiss":
            distances, indices = self.faiss_index().search(query[None], k)
            keep = indices[0] >= 0  # IVF returns -1 when the probed cells hold fewer than k photos
            distances, indices = distances[0][keep], indices[0][keep]
        else:
            distances, indices = exact_topk(query[None], self._gallery_tensor(), k, gallery_sq_norms=self._gallery_sq)
            distances, indices = distances[0], indices[0]
        paths = self._cache.paths
        return [SearchHit(self.folder / paths[i], float(d)) for d, i in zip(distances, indices)]

    def _gallery_tensor(self) -> torch.Tensor:
        if self._gallery is None:
            device = getattr(self.embedder, "device", torch.device("cpu"))
            self._gallery = torch.from_numpy(self._cache.embeddings).to(device)
            self._gallery_sq = squared_norms(self._gallery)
        return self._gallery

    def faiss_index(self, **build_options) -> FaissIndex:
        """The FAISS IVF-Flat index over this folder, built on first use (needs faiss-cpu)."""
        if self._faiss is None or build_options:
            self._faiss = FaissIndex.build(self._cache.embeddings, **build_options)
        return self._faiss

    def cluster_matcher(self, matcher: Any = None):
        """The one-to-many matcher of `sbka_lite.retrieval`, fitted on this folder on first use.

        Pass a configured, unfitted `ClusterMatcher` to choose its settings. The default picks the
        number of subspaces M and components K from the folder alone (BIC, no labels), with the K
        candidates of `sbka_lite.retrieval.label_free_candidates` (the rule notebook 04 uses).
        """
        if matcher is None and self._cluster is not None:
            return self._cluster
        n = len(self)
        if n < MIN_PHOTOS_FOR_CLUSTERS:
            raise SearchError(f"cluster matching needs at least {MIN_PHOTOS_FOR_CLUSTERS} photos to find clusters; "
                              f"{self.folder} has {n}: use matcher='one_to_one'")
        if matcher is None:
            from sbka_lite.retrieval import ClusterMatcher, label_free_candidates

            matcher = ClusterMatcher(n_subspaces="auto", n_components="auto",
                                     candidate_components=label_free_candidates(n))
        self._cluster = matcher.fit(self._cache.embeddings)
        return self._cluster


# --- showing results -------------------------------------------------------------------------

def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()


def short_name(path: str | Path, limit: int = 24) -> str:
    """``folder/file.jpg``: enough of a path to tell photos apart in a caption."""
    name = "/".join(Path(path).parts[-2:])
    return name if len(name) <= limit else "..." + name[-(limit - 3):]


def _fit_width(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """Trim `text` from the left (keeping the file name) until it fits under a thumbnail."""
    while len(text) > 4 and draw.textlength(text, font=font) > width:
        text = "..." + text[4:]
    return text


def _thumbnail(image: Image.Image, size: int) -> Image.Image:
    image = ImageOps.contain(image, (size, size))  # scales small photos up as well as large ones down
    tile = Image.new("RGB", (size, size), "white")
    tile.paste(image, ((size - image.width) // 2, (size - image.height) // 2))
    return tile


def contact_sheet(sketch: Any, results: Sequence[SearchHit], *, thumb: int = 160, columns: int = 5) -> Image.Image:
    """The sketch beside its ranked photos, each captioned with rank, distance and file name.

    A photo that can no longer be read shows as a grey tile saying so.
    """
    sketch_image = sketch_to_image(sketch)
    columns = max(1, min(columns, len(results) or 1))
    rows = max(1, -(-len(results) // columns))
    caption, pad = max(14, thumb // 8), 8
    cell_w, cell_h = thumb + pad, thumb + 2 * caption + pad
    width = pad + cell_w * (columns + 1) + pad
    sheet = Image.new("RGB", (width, pad + rows * cell_h), "white")
    draw, font = ImageDraw.Draw(sheet), _font(max(10, caption - 3))
    sheet.paste(_thumbnail(sketch_image, thumb), (pad, pad))
    draw.rectangle([pad - 1, pad - 1, pad + thumb, pad + thumb], outline=(200, 30, 30), width=2)
    draw.text((pad, pad + thumb + 2), "sketch", fill=(200, 30, 30), font=font)
    for rank, hit in enumerate(results):
        row, col = divmod(rank, columns)
        x, y = pad + cell_w * (col + 1) + pad, pad + row * cell_h
        try:
            with Image.open(hit.path) as photo:
                tile = _thumbnail(to_rgb(photo), thumb)
        except (OSError, ValueError):
            tile = Image.new("RGB", (thumb, thumb), (190, 190, 190))
            ImageDraw.Draw(tile).text((6, thumb // 2 - 6), "unreadable", fill="black", font=font)
        sheet.paste(tile, (x, y))
        draw.text((x, y + thumb + 2), f"#{rank + 1}  d={hit.distance:.3f}", fill="black", font=font)
        draw.text((x, y + thumb + 2 + caption), _fit_width(draw, short_name(hit.path), font, thumb), fill=(90, 90, 90),
                  font=font)
    return sheet


# --- command line ------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sbka_lite.search",
        description="Rank the photos of a folder by how well they match one sketch.")
    parser.add_argument("sketch", help="the sketch image (png/jpg; transparent background reads as white)")
    parser.add_argument("--photos", required=True, help="folder of photos, searched recursively")
    parser.add_argument("--checkpoint", help="a checkpoint written by sbka_lite.train (default: pretrained backbone)")
    parser.add_argument("--backbone", help=f"backbone when no checkpoint is given (default {DEFAULT_BACKBONE})")
    parser.add_argument("--image-size", type=int, help="input size in pixels (default: the model's)")
    parser.add_argument("--top", type=int, default=10, help="how many photos to list (default 10)")
    parser.add_argument("--matcher", choices=["one_to_one", "cluster"], default="one_to_one")
    parser.add_argument("--faiss", action="store_true", help="approximate FAISS IVF search (needs faiss-cpu)")
    parser.add_argument("--out", help="contact sheet PNG (default outputs/search/<sketch>_top<k>.png)")
    parser.add_argument("--cache", help="cache file (default under outputs/search-cache)")
    parser.add_argument("--no-cache", action="store_true", help="embed the folder without reading or writing a cache")
    parser.add_argument("--rebuild", action="store_true", help="re-embed every photo, even over another model's cache")
    parser.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: GPU when present)")
    parser.add_argument("--batch-size", type=int, default=64)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit status (2 for bad input, with the reason on stderr)."""
    args = _parser().parse_args(argv)
    try:
        if args.top < 1:
            raise SearchError(f"--top must be at least 1; got {args.top}")
        query_image = sketch_to_image(args.sketch)  # fail on a bad sketch before embedding a folder
        search = SketchSearch(args.photos, args.checkpoint, backbone=args.backbone, image_size=args.image_size,
                              device=args.device, cache=False if args.no_cache else (args.cache or True),
                              rebuild=args.rebuild, batch_size=args.batch_size)
        print(search.last_update.summary(), file=sys.stderr)
        for skipped in search.skipped:
            print(f"  skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
        hits = search.query(query_image, k=args.top, matcher=args.matcher, backend="faiss" if args.faiss else "exact")
    except (SearchError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for rank, hit in enumerate(hits, 1):
        print(f"{rank:>3}  {hit.distance:.4f}  {hit.path}")
    if args.out:
        out = Path(args.out)
    else:
        from sbka_lite.paths import outputs_dir

        out = outputs_dir("search") / f"{Path(args.sketch).stem}_top{args.top}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(query_image, hits).save(out)
    print(f"contact sheet: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
