"""Where things live on disk, resolved from the repository root so JupyterLab, papermill and
nbmake (which all start in different working directories) agree."""
from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np


def repo_root() -> Path:
    """The checkout root: the first folder holding pyproject.toml above the package, else above cwd."""
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            if (folder / "pyproject.toml").is_file() and (folder / "sbka_lite").is_dir():
                return folder
    return Path.cwd().resolve()


def outputs_dir(*parts: str) -> Path:
    """A folder under ``<repo>/outputs`` (git-ignored; override with ``SBKA_OUTPUTS``), created on demand."""
    base = Path(os.environ.get("SBKA_OUTPUTS") or repo_root() / "outputs")
    folder = base.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def default_data_root() -> Path:
    """Where datasets go: ``SBKA_DATA_ROOT`` if set, else ``<repo>/data``."""
    return Path(os.environ.get("SBKA_DATA_ROOT") or repo_root() / "data")


def synthetic_root(smoke: bool, override: str = "") -> Path:
    """Where the generated benchmark of that size lives (``<data root>/synthetic[-smoke]``)."""
    if override:
        return Path(override).expanduser().resolve()
    return default_data_root() / ("synthetic-smoke" if smoke else "synthetic")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside `path`; on success it replaces `path` in one rename, on any error
    it is removed. A crash mid-write therefore never leaves a half-written checkpoint, cache or JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, mode) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json_atomic(path: str | os.PathLike, data: Any) -> Path:
    """Write JSON through a temp file + rename so an interrupted run never leaves half a file."""
    path = Path(path)
    with atomic_write(path, "w") as handle:
        json.dump(_plain(data), handle, indent=2, sort_keys=True)
    return path
