"""The on-disk embedding cache behind `sbka_lite.search`.

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
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sbka_lite import __version__
from sbka_lite.features import ModelInfo
from sbka_lite.paths import atomic_write, outputs_dir

from .errors import CacheUnusable
from .photos import FileStamp

__all__ = ["CACHE_FORMAT", "EmbeddingCache", "ModelInfo", "default_cache_path", "file_sha256"]

CACHE_FORMAT = 1


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """``sha256:<hex>`` of a file's content (the cache key of a checkpoint)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_bytes):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def default_cache_path(folder: str | Path) -> Path:
    """``<outputs>/search-cache/<folder name>-<hash of its absolute path>.npz``: one cache per folder."""
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
