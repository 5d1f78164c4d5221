"""The on-disk embedding cache behind `sbka_lite.search`.

Nothing here knows about models or images: files and their stamps in, arrays out.

Cache format 2 (one ``.npz`` file, written atomically, no pickles):

- ``header``: a JSON string: ``"kind": "sbka_lite.search cache"``, cache format, package
  version, the model's key (``sha256:<hex>`` of the checkpoint file, or ``pretrained:<backbone>``),
  backbone, embedding dim, image size, preprocessing and the photo folder it was built for;
- ``paths`` (str, relative to the folder, POSIX), ``stamps`` (int64 [n, 4]: size, mtime ns,
  inode change time ns, inode; see `FileStamp`) and ``embeddings`` (float32 [n, dim]) for the
  photos that are searched;
- ``failed_paths``, ``failed_stamps``, ``failed_reasons`` for the files that did not decode, and
  ``set_aside_paths``, ``set_aside_stamps``, ``set_aside_reasons`` for those whose embedding is
  degenerate (all zeros or non-finite), so an unchanged file is listed again without being
  retried, and any change to it (even ``chmod``) retries it.

Format 1 stamped files by size and mtime alone; a format-1 cache is rebuilt on first use.

A cache is only ever written over a missing file or over one of our own caches (`is_our_cache`):
any other file at the cache path (a checkpoint, notes, a folder) is refused with `ForeignFileError`.
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
from sbka_lite.model_identity import ModelInfo
from sbka_lite.paths import atomic_write, outputs_dir
from sbka_lite.paths import file_sha256 as sha256_hex

from .errors import CacheUnusable, ForeignFileError
from .photos import FileStamp

__all__ = ["CACHE_FORMAT", "CACHE_KIND", "EmbeddingCache", "ModelInfo", "check_cache_path", "default_cache_path",
           "file_sha256", "is_our_cache"]

CACHE_FORMAT = 2
CACHE_KIND = "sbka_lite.search cache"
_FORMAT_1_KEYS = {"format", "sbka_lite", "model_key", "backbone", "dim"}  # before "kind" was written


def _read_header(path: Path) -> dict[str, Any]:
    """The JSON header of an ``.npz`` without reading its arrays (raises on anything else)."""
    with zipfile.ZipFile(path) as archive, archive.open("header.npy") as stream:
        header = json.loads(str(np.lib.format.read_array(stream, allow_pickle=False)))
    if not isinstance(header, dict):
        raise ValueError("its header is not a JSON object")
    return header


def is_our_cache(path: str | Path) -> tuple[bool, str]:
    """Whether `path` is a search cache this package wrote (any format), and if not, what it is."""
    path = Path(path)
    if path.is_dir():
        return False, "a folder"
    if not path.is_file():
        return False, "not a regular file"
    try:
        header = _read_header(path)
    except KeyError:
        return False, "an archive without a cache header"
    except zipfile.BadZipFile:
        return False, "not an .npz archive"
    except OSError as error:
        return False, f"unreadable, so it cannot be checked: {type(error).__name__}: {error.strerror or error}"
    except (ValueError, EOFError) as error:
        return False, f"its header is not a cache's: {type(error).__name__}: {error}"
    if header.get("kind") == CACHE_KIND or _FORMAT_1_KEYS <= set(header):
        return True, ""
    return False, "its header is not a cache's"


def check_cache_path(path: str | Path) -> None:
    """Raise `ForeignFileError` when `path` exists and is not one of our caches (it would be overwritten)."""
    path = Path(path)
    if not (path.exists() or path.is_symlink()):
        return
    ours, what = is_our_cache(path)
    if not ours:
        raise ForeignFileError(
            f"refusing to overwrite {path}: it is not a search cache this tool wrote ({what}). "
            "Choose another cache path (CLI: --cache PATH) or no cache (--no-cache); "
            "if that file is yours to discard, move or delete it yourself.")


def file_sha256(path: str | Path) -> str:
    """``sha256:<hex>`` of a file's content (the cache key of a checkpoint)."""
    return "sha256:" + sha256_hex(path)


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
    failed: dict[str, tuple[FileStamp, str]] = field(default_factory=dict)  # did not decode
    set_aside: dict[str, tuple[FileStamp, str]] = field(default_factory=dict)  # degenerate embedding

    def __post_init__(self) -> None:
        if self.embeddings is None:
            self.embeddings = np.zeros((0, self.model.dim), dtype=np.float32)

    def header(self) -> dict[str, Any]:
        return {"kind": CACHE_KIND, "format": CACHE_FORMAT, "sbka_lite": __version__, "folder": self.folder,
                "model_key": self.model.key, "backbone": self.model.backbone, "dim": self.model.dim,
                "image_size": self.model.image_size, "preprocessing": self.model.preprocessing}

    def save(self, path: str | Path) -> None:
        """Write the cache atomically (a temporary file beside `path`, then one rename).

        Raises `ForeignFileError`, writing nothing, when `path` holds a file that is not our cache.
        """
        path = Path(path)
        check_cache_path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {
            "header": np.array(json.dumps(self.header())),
            "paths": np.array(self.paths, dtype=str),
            "stamps": _stamp_array(self.stamps),
            "embeddings": np.ascontiguousarray(self.embeddings, dtype=np.float32),
        }
        for name, listed in (("failed", self.failed), ("set_aside", self.set_aside)):
            rows = sorted(listed.items())
            arrays[f"{name}_paths"] = np.array([p for p, _ in rows], dtype=str)
            arrays[f"{name}_stamps"] = _stamp_array([s for _, (s, _) in rows])
            arrays[f"{name}_reasons"] = np.array([r for _, (_, r) in rows], dtype=str)
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
                stamps = _stamps(data["stamps"])
                embeddings = np.asarray(data["embeddings"], dtype=np.float32)
                failed, set_aside = ({str(p): (stamp, str(r)) for p, stamp, r in zip(
                    data[f"{name}_paths"], _stamps(data[f"{name}_stamps"]), data[f"{name}_reasons"])}
                    for name in ("failed", "set_aside"))
        except CacheUnusable:
            raise
        except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError,
                zipfile.BadZipFile) as error:
            raise CacheUnusable(f"it could not be read ({type(error).__name__}: {error})") from error
        if not (len(paths) == len(stamps) == len(embeddings)) or embeddings.ndim != 2 or embeddings.shape[1] != model.dim:
            raise CacheUnusable(f"its arrays disagree ({len(paths)} paths, {len(stamps)} stamps, "
                                f"embeddings {embeddings.shape} for dim {model.dim})")
        if not np.isfinite(embeddings).all():
            raise CacheUnusable("it holds non-finite embeddings")
        return cls(model=model, folder=str(header.get("folder", "")), paths=paths, stamps=stamps,
                   embeddings=embeddings, failed=failed, set_aside=set_aside)


def _stamp_array(stamps: list[FileStamp]) -> np.ndarray:
    return np.array([s.as_tuple() for s in stamps], dtype=np.int64).reshape(-1, 4)


def _stamps(array: np.ndarray) -> list[FileStamp]:
    array = np.asarray(array, dtype=np.int64)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"stamps of shape {array.shape}, not [n, 4]")
    return [FileStamp(*map(int, row)) for row in array]
