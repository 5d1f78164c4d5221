"""Where things live on disk, resolved from the repository root so JupyterLab, papermill and
nbmake (which all start in different working directories) agree."""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


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


def run_dir(smoke: bool, override: str = "") -> Path:
    """The folder the notebook series shares (checkpoints, embeddings, results): one per size,
    so a smoke run in CI never overwrites the demo. ``override`` (a notebook's WORKDIR) wins."""
    folder = Path(override) if override else outputs_dir("smoke" if smoke else "demo")
    if not folder.is_absolute():
        folder = repo_root() / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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
