"""Where things live on disk, resolved from the repository root so JupyterLab, papermill and
pytest (which all start in different working directories) agree."""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
from tqdm.auto import tqdm


def shown(path: str | os.PathLike) -> str:
    """`path` as printed for a reader: relative to the checkout when inside it (``outputs/demo/03_training``),
    else with the home folder as ``~``; so executed notebooks and the site carry no build machine's paths."""
    path = Path(path).expanduser().resolve()
    for base, prefix in ((repo_root(), ""), (Path.home().resolve(), "~/")):
        try:
            relative = path.relative_to(base)
        except ValueError:
            continue
        return prefix + (relative.as_posix() if str(relative) != "." else ".")
    return str(path)


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
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp makes 0600; a file we write should look like any other
        with os.fdopen(handle, mode) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_sha256(path: str | os.PathLike, *, progress: bool = False) -> str:
    """The hex sha256 of a file's bytes, streamed; with `progress`, a bar for files over 256 MiB."""
    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.sha256()
    with open(path, "rb") as handle, tqdm(total=size, unit="B", unit_scale=True, desc=f"hashing {path.name}",
                                          disable=not progress or size < 256 * 2**20) as bar:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


_HELD: set[str] = set()  # lock files this process holds (flock would block on its own second open)


@contextlib.contextmanager
def exclusive(lock_path: str | os.PathLike, doing: str) -> Iterator[None]:
    """Hold an OS file lock on `lock_path` while `doing` (e.g. "training outputs/runs/x"): a second
    process waits, saying so, and then finds the work done. The kernel drops the lock when its holder
    dies, so a killed run never leaves it stuck. Without `fcntl` (Windows) nothing is serialised."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    path = Path(lock_path).absolute()
    if str(path) in _HELD:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            print(f"{holder} is {doing}; waiting for it to finish (lock: {shown(path)})", file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        _HELD.add(str(path))
        try:
            yield
        finally:
            _HELD.discard(str(path))
            fcntl.flock(handle, fcntl.LOCK_UN)


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
