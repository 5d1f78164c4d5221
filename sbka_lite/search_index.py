"""The on-disk embedding cache and the nearest-neighbour index behind `sbka_lite.search`.

Nothing here knows about models or images: files and their stamps in, arrays out.

Cache format (one ``.npz`` file, written atomically, no pickles):

- ``header``: a JSON string: cache format, package version, the model's key (``sha256:<hex>``
  of the checkpoint file, or ``pretrained:<backbone>``), backbone, embedding dim, image size,
  preprocessing and the photo folder it was built for;
- ``paths`` (str, relative to the folder, POSIX), ``sizes`` (int64 bytes), ``mtimes``
  (int64 ns) and ``embeddings`` (float32 [n, dim]) for the photos that embedded;
- ``failed_paths``, ``failed_sizes``, ``failed_mtimes``, ``failed_reasons`` for the files that
  did not decode, so an unchanged broken file is listed again without being retried.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sbka_lite import __version__
from sbka_lite.paths import atomic_write

CACHE_FORMAT = 1
PHOTO_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})


class SearchError(ValueError):
    """Bad input to a photo search: a missing or empty folder, a query that is not an image."""


class ModelMismatchError(SearchError):
    """A model whose backbone or embedding size does not match the cache or checkpoint it meets."""


class CacheUnusable(Exception):
    """A cache file that cannot be used as it is (the message says why); it gets rebuilt."""


class SearchCacheWarning(UserWarning):
    """The embedding cache was rebuilt or could not be written; the message says why."""


@dataclass(frozen=True)
class FileStamp:
    """What tells a changed file from an unchanged one without reading it."""

    size: int
    mtime_ns: int


@dataclass(frozen=True)
class ModelInfo:
    """The identity of an embedding model, as far as the cache cares.

    `key` changes whenever the weights do; `backbone` and `dim` decide whether two models'
    embeddings are even comparable; `preprocessing` (mean/std) and `image_size` change the
    embeddings as surely as the weights.
    """

    key: str
    backbone: str
    dim: int
    image_size: int
    preprocessing: str = ""

    def describe(self) -> str:
        return f"{self.backbone} ({self.dim}-d, {self.image_size} px, {self.key})"


def list_photos(folder: str | Path, subfolders: Sequence[str] | None = None) -> dict[str, FileStamp]:
    """Every photo under `folder` (recursive), as POSIX path relative to it -> `FileStamp`.

    `subfolders` limits the walk to those folders inside `folder` (e.g. the unseen classes of a
    benchmark's photo folder); paths stay relative to `folder`. Extensions are matched
    case-insensitively against `PHOTO_EXTENSIONS`. Hidden files and folders (names starting
    with a dot: ``.thumbnails``, macOS ``._IMG.jpg`` resource forks) are skipped, and linked
    folders are not followed. Raises `SearchError` naming the folder when it (or a subfolder) is
    missing, is not a folder, or holds no photo.
    """
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise SearchError(f"photo folder not found: {folder} (pass the folder that holds your photos)")
    if not folder.is_dir():
        raise SearchError(f"photo folder is not a folder: {folder}")
    starts = [folder]
    if subfolders is not None:
        if isinstance(subfolders, (str, Path)):
            subfolders = [subfolders]
        starts = [folder / name for name in subfolders]
        missing = [str(start) for start in starts if not start.is_dir()]
        if missing or not starts:
            raise SearchError(f"subfolders of {folder} not found: {missing or 'none given'}")
    photos: dict[str, FileStamp] = {}
    for start in starts:
        for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in filenames:
                if name.startswith(".") or Path(name).suffix.lower() not in PHOTO_EXTENSIONS:
                    continue
                path = Path(dirpath) / name
                try:
                    stat = path.stat()
                except OSError:  # a dangling link or a file deleted while we walk
                    continue
                photos[path.relative_to(folder).as_posix()] = FileStamp(stat.st_size, stat.st_mtime_ns)
    if not photos:
        where = folder if subfolders is None else f"{folder} (subfolders {', '.join(map(str, subfolders))})"
        raise SearchError(
            f"no photos in {where}: looked recursively for {', '.join(sorted(PHOTO_EXTENSIONS))} "
            "(any case); put some photos there or point to another folder")
    return dict(sorted(photos.items()))


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """``sha256:<hex>`` of a file's content (the cache key of a checkpoint)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_bytes):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def default_cache_path(folder: str | Path) -> Path:
    """``<outputs>/search-cache/<folder name>-<hash of its absolute path>.npz``: one cache per folder."""
    from sbka_lite.paths import outputs_dir

    folder = Path(folder).expanduser().resolve()
    tag = hashlib.sha1(str(folder).encode()).hexdigest()[:12]
    return outputs_dir("search-cache") / f"{folder.name or 'root'}-{tag}.npz"


@dataclass
class EmbeddingCache:
    """Embeddings of a folder's photos, with the stamps they were computed from."""

    model: ModelInfo
    folder: str
    paths: list[str] = field(default_factory=list)
    stamps: list[FileStamp] = field(default_factory=list)
    embeddings: np.ndarray | None = None
    failed: dict[str, tuple[FileStamp, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.embeddings is None:
            self.embeddings = np.zeros((0, self.model.dim), dtype=np.float32)

    def header(self) -> dict[str, Any]:
        return {"format": CACHE_FORMAT, "sbka_lite": __version__, "folder": self.folder,
                "model_key": self.model.key, "backbone": self.model.backbone, "dim": self.model.dim,
                "image_size": self.model.image_size, "preprocessing": self.model.preprocessing}

    def save(self, path: str | Path) -> None:
        """Write the cache atomically: a temporary file beside `path`, then one rename."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        failed = sorted(self.failed.items())
        arrays = {
            "header": np.array(json.dumps(self.header())),
            "paths": np.array(self.paths, dtype=str),
            "sizes": np.array([s.size for s in self.stamps], dtype=np.int64),
            "mtimes": np.array([s.mtime_ns for s in self.stamps], dtype=np.int64),
            "embeddings": np.ascontiguousarray(self.embeddings, dtype=np.float32),
            "failed_paths": np.array([p for p, _ in failed], dtype=str),
            "failed_sizes": np.array([s.size for _, (s, _) in failed], dtype=np.int64),
            "failed_mtimes": np.array([s.mtime_ns for _, (s, _) in failed], dtype=np.int64),
            "failed_reasons": np.array([r for _, (_, r) in failed], dtype=str),
        }
        with atomic_write(path) as stream:
            np.savez(stream, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> "EmbeddingCache":
        """Read a cache; raises `CacheUnusable` saying why for a corrupt or foreign file."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                if header.get("format") != CACHE_FORMAT:
                    raise CacheUnusable(f"it has cache format {header.get('format')!r}, this version writes {CACHE_FORMAT}")
                model = ModelInfo(key=str(header["model_key"]), backbone=str(header["backbone"]),
                                  dim=int(header["dim"]), image_size=int(header["image_size"]),
                                  preprocessing=str(header.get("preprocessing", "")))
                paths = [str(p) for p in data["paths"]]
                stamps = [FileStamp(int(s), int(m)) for s, m in zip(data["sizes"], data["mtimes"])]
                embeddings = np.asarray(data["embeddings"], dtype=np.float32)
                failed = {str(p): (FileStamp(int(s), int(m)), str(r)) for p, s, m, r in zip(
                    data["failed_paths"], data["failed_sizes"], data["failed_mtimes"], data["failed_reasons"])}
        except CacheUnusable:
            raise
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as error:
            raise CacheUnusable(f"it could not be read ({type(error).__name__}: {error})") from error
        if not (len(paths) == len(stamps) == len(embeddings)) or embeddings.ndim != 2 or embeddings.shape[1] != model.dim:
            raise CacheUnusable(f"its arrays disagree ({len(paths)} paths, {len(stamps)} stamps, "
                                f"embeddings {embeddings.shape} for dim {model.dim})")
        if not np.isfinite(embeddings).all():
            raise CacheUnusable("it holds non-finite embeddings")
        return cls(model=model, folder=str(header.get("folder", "")), paths=paths, stamps=stamps,
                   embeddings=embeddings, failed=failed)


# --- exact search: the one place that ranks a gallery by Euclidean distance -----------------

# --- optional FAISS index for large galleries ------------------------------------------------

def import_faiss():
    """Import faiss lazily, with a message that says how to get it."""
    try:
        import faiss  # noqa: PLC0415
    except ImportError as error:
        raise ImportError("FAISS search needs the optional package faiss-cpu: pip install 'sbka-lite[faiss]' "
                          "(or pip install faiss-cpu); exact search (the default) needs nothing extra") from error
    return faiss


@dataclass
class FaissIndex:
    """An approximate index: IVF-Flat (k-means cells, exact distances inside the probed cells).

    IVF-Flat rather than HNSW: it builds in seconds for 10^5 1280-d vectors and in about two
    minutes for 10^6 on two CPU cores (HNSW's graph takes far longer at that size), it stores
    the vectors as they are, and its one knob, `nprobe`, trades recall for speed predictably.
    """

    index: Any
    nlist: int
    nprobe: int

    @classmethod
    def build(cls, embeddings: np.ndarray, *, nlist: int | None = None, nprobe: int | None = None,
              train_points_per_cell: int = 50, kmeans_iterations: int = 10, seed: int = 0) -> "FaissIndex":
        """Train `nlist` cells (default about sqrt(n)) on a sample, add every vector, probe `nprobe` cells
        (default nlist/16) per query."""
        faiss = import_faiss()
        embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        n, dim = embeddings.shape
        nlist = int(nlist or max(1, min(round(np.sqrt(n)), n // 39)))  # FAISS wants >= 39 points per cell
        nprobe = int(nprobe or max(1, nlist // 16))
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(dim), dim, nlist, faiss.METRIC_L2)
        index.cp.niter, index.cp.seed = kmeans_iterations, seed
        sample_size = min(n, train_points_per_cell * nlist)
        rng = np.random.default_rng(seed)
        sample = embeddings if sample_size == n else embeddings[np.sort(rng.choice(n, sample_size, replace=False))]
        index.train(sample)
        for start in range(0, n, 100_000):  # add in slices so the temporary copies stay small
            index.add(embeddings[start:start + 100_000])
        index.nprobe = min(nprobe, nlist)
        return cls(index=index, nlist=nlist, nprobe=index.nprobe)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(Euclidean distances [q, k], indices [q, k]); missing neighbours (k > probed points) are dropped."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(int(k), self.index.ntotal))
        sq, indices = self.index.search(queries, k)
        return np.sqrt(np.clip(sq, 0, None)), indices
